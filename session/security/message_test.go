package security

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/message"
)

func parseUint(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 0, 64)
	require.NoError(t, err, s)
	return n
}

// TestWorkedMessages reproduces testdata/messages.txt byte for byte: nonce,
// ciphertext and MIC, privacy nonce, obfuscated header, and the reverse path.
func TestWorkedMessages(t *testing.T) {
	recs := readRecords(t, "messages.txt")
	for _, name := range []string{"unicast", "group"} {
		v := recs[name]
		t.Run(name, func(t *testing.T) {
			c := NewCCM(key(t, v["key"]))
			node := message.NodeID(parseUint(t, v["node"]))
			clr, plain, wire := unhex(t, v["header"]), unhex(t, v["plain"]), unhex(t, v["wire"])

			var h message.Header
			n, err := h.Decode(clr)
			require.NoError(t, err)
			require.Equal(t, len(clr), n)
			nonce := Nonce(h.Flags, h.Counter, node)
			requireBytes(t, unhex(t, v["nonce"]), nonce[:])

			// Seal: header || ciphertext || MIC.
			out := SealMessage(nil, c, &h, node, plain)
			requireBytes(t, append(bytes.Clone(clr), unhex(t, v["sealed"])...), out)

			// Seal in place gives the same bytes without growing the buffer.
			buf := make([]byte, 0, 128)
			buf = h.Append(buf)
			buf = append(buf, plain...)
			p0 := &buf[:1][0]
			buf = SealInPlace(c, buf, h.Len(), node)
			require.Same(t, p0, &buf[:1][0], "sealed in place")
			requireBytes(t, out, buf)

			if pk, ok := v["privacykey"]; ok {
				priv := NewPrivacy(key(t, pk))
				pn := PrivacyNonce(h.SessionID, out[len(out)-MICSize:])
				requireBytes(t, unhex(t, v["pnonce"]), pn[:])
				require.NoError(t, priv.Obfuscate(out))
			}
			requireBytes(t, wire, out, "wire bytes")

			// Receive path: de-obfuscate if P, decode, open.
			rx := bytes.Clone(wire)
			require.Equal(t, h.Flags.Privacy(), message.SecurityFlags(rx[3]).Privacy())
			if pk, ok := v["privacykey"]; ok {
				require.NoError(t, NewPrivacy(key(t, pk)).Deobfuscate(rx))
			}
			var g message.Header
			hl, err := g.Decode(rx)
			require.NoError(t, err)
			require.Equal(t, h, g)
			pt, err := OpenMessage(nil, c, rx, hl, node)
			require.NoError(t, err)
			requireBytes(t, plain, pt)

			// The wrong nonce node id fails authentication.
			_, err = OpenMessage(nil, c, rx, hl, node+1)
			require.ErrorIs(t, err, ErrAuthentication)

			// In-place open returns the plaintext inside the datagram.
			pt, err = OpenMessage(rx[hl:hl], c, rx, hl, node)
			require.NoError(t, err)
			requireBytes(t, plain, pt)
			requireBytes(t, plain, rx[hl:hl+len(plain)])
		})
	}
}

func TestPrivacyNonceVector(t *testing.T) {
	v := readRecords(t, "messages.txt")["privacy-nonce"]
	pn := PrivacyNonce(message.SessionID(parseUint(t, v["sid"])), unhex(t, v["mic"]))
	requireBytes(t, unhex(t, v["pnonce"]), pn[:])
}

// TestPrivacyIsAnInvolution: Deobfuscate after Obfuscate restores the bytes
// (so a receiver can undo a wrong-key attempt), only bytes 4..4+PrivacyLen
// change, and MX is never touched (spec 4.9.3).
func TestPrivacyIsAnInvolution(t *testing.T) {
	k := Key{1, 2, 3}
	priv := NewPrivacy(k)
	c := NewCCM(Key{9})
	h := message.Header{SessionID: 0x1234, Flags: message.PrivacyFlag | message.GroupSessionFlag | message.ExtensionsFlag,
		Counter: 77, HasSource: true, Source: 5, DestKind: message.DestinationGroup, DestGroup: 9, Extensions: []byte{0xE1, 0xE2}}
	msg := SealMessage(nil, c, &h, h.Source, []byte{0, 1, 2, 3, 4, 5, 6})
	orig := bytes.Clone(msg)
	require.NoError(t, priv.Obfuscate(msg))
	end := message.PrivacyHeaderOffset + h.PrivacyLen()
	require.Equal(t, orig[:4], msg[:4], "flags and session id stay clear")
	require.NotEqual(t, orig[4:end], msg[4:end])
	require.Equal(t, orig[end:], msg[end:], "MX, ciphertext and MIC untouched")
	require.NoError(t, NewPrivacy(Key{7}).Deobfuscate(msg)) // wrong key
	require.NoError(t, NewPrivacy(Key{7}).Deobfuscate(msg)) // undo it
	require.NoError(t, priv.Deobfuscate(msg))
	require.Equal(t, orig, msg)
	var g message.Header
	n, err := g.Decode(msg)
	require.NoError(t, err)
	_, err = OpenMessage(nil, c, msg, n, 5)
	require.NoError(t, err)
}

func TestPrivacyErrors(t *testing.T) {
	p := NewPrivacy(Key{})
	require.ErrorIs(t, p.Obfuscate([]byte{0, 0, 0}), ErrShort)
	require.ErrorIs(t, p.Obfuscate(make([]byte, 4+4+15)), ErrShort, "one byte short of a MIC")
	require.NoError(t, p.Obfuscate(make([]byte, 4+4+16)))
	var de *message.DecodeError
	require.ErrorAs(t, p.Obfuscate(append([]byte{0x03}, make([]byte, 40)...)), &de)
	require.Equal(t, message.ReasonReservedDSIZ, de.Reason)
}

func TestOpenMessageErrors(t *testing.T) {
	c := NewCCM(Key{})
	h := message.Header{SessionID: 1, Counter: 2}
	msg := SealMessage(nil, c, &h, 0, []byte{1, 2, 3, 4, 5, 6})
	_, err := OpenMessage(nil, c, msg[:8+15], 8, 0)
	require.ErrorIs(t, err, ErrShort)
	_, err = OpenMessage(nil, c, msg, 7, 0)
	require.ErrorIs(t, err, ErrShort)
	// Every header byte is authenticated (AAD), including the counter that
	// also feeds the nonce.
	for i := range 8 {
		bad := bytes.Clone(msg)
		bad[i] ^= 0x10
		_, err := OpenMessage(nil, c, bad, 8, 0)
		require.ErrorIs(t, err, ErrAuthentication, "header byte %d", i)
	}
	// Reserved security-flag bits reach the nonce and AAD as received.
	h2 := message.Header{SessionID: 1, Flags: 0x1c, Counter: 3}
	msg2 := SealMessage(nil, c, &h2, 0, []byte{1})
	_, err = OpenMessage(nil, c, msg2, 8, 0)
	require.NoError(t, err)
}

func TestNonceLayout(t *testing.T) {
	n := Nonce(0x81, 0x12345678, 0x1122334455667788)
	require.Equal(t, byte(0x81), n[0])
	require.Equal(t, uint32(0x12345678), binary.LittleEndian.Uint32(n[1:]))
	require.Equal(t, uint64(0x1122334455667788), binary.LittleEndian.Uint64(n[5:]))
}

func TestKDFVectors(t *testing.T) {
	for i, l := range readLines(t, "kdf.txt") {
		t.Run(l[0]+"-"+strconv.Itoa(i), func(t *testing.T) {
			switch l[0] {
			case "session":
				salt := unhex(t, l[2])
				k, err := DeriveSessionKeys(unhex(t, l[1]), salt, l[3])
				require.NoError(t, err)
				requireBytes(t, unhex(t, l[4]), k.I2R[:])
				requireBytes(t, unhex(t, l[5]), k.R2I[:])
				requireBytes(t, unhex(t, l[6]), k.AttestationChallenge[:])
			case "group":
				var cfid [8]byte
				copy(cfid[:], unhex(t, l[2]))
				g := DeriveGroupKeys(key(t, l[1]), cfid)
				requireBytes(t, unhex(t, l[3]), g.Operational[:])
				require.Equal(t, message.SessionID(parseUint(t, l[4])), g.SessionID)
				requireBytes(t, unhex(t, l[5]), g.Privacy[:])
				require.Equal(t, g.Operational, DeriveGroupOperationalKey(key(t, l[1]), cfid))
				require.Equal(t, g.SessionID, GroupSessionID(g.Operational))
				require.Equal(t, g.Privacy, DerivePrivacyKey(g.Operational))
			case "cfid":
				pub := unhex(t, l[1])
				want := unhex(t, l[3])
				got, err := CompressedFabricID(pub, parseUint(t, l[2]))
				require.NoError(t, err)
				requireBytes(t, want, got[:])
				got, err = CompressedFabricID(pub[1:], parseUint(t, l[2]))
				require.NoError(t, err, "64-byte form")
				requireBytes(t, want, got[:])
				_, err = CompressedFabricID(pub[:33], 1)
				require.Error(t, err)
				bad := bytes.Clone(pub)
				bad[0] = 0x02
				_, err = CompressedFabricID(bad, 1)
				require.Error(t, err)
			default:
				t.Fatalf("unknown kind %q", l[0])
			}
		})
	}
}

func TestDeriveSessionKeysRejectsEmptyIKM(t *testing.T) {
	_, err := DeriveSessionKeys(nil, nil, InfoSessionKeys)
	require.Error(t, err)
}

// TestSealOpenProperty: random headers of every shape seal and open back,
// with and without privacy, into fresh and in-place buffers.
func TestSealOpenProperty(t *testing.T) {
	c := NewCCM(Key{0xAB})
	priv := NewPrivacy(Key{0xCD})
	for i := range 500 {
		h := message.Header{SessionID: message.SessionID(i * 7), Counter: uint32(i) * 2654435761,
			HasSource: i%2 == 0, Source: message.NodeID(i) << 40, DestKind: message.DestinationKind(i % 3)}
		if h.DestKind == message.DestinationGroup {
			h.Flags = message.GroupSessionFlag
			if i%4 == 0 {
				h.Flags |= message.PrivacyFlag
			}
		}
		if h.DestKind == message.DestinationNode {
			h.DestNode = 42
		}
		plain := bytes.Repeat([]byte{byte(i)}, i%90)
		msg := SealMessage(nil, c, &h, h.Source, plain)
		if h.Flags.Privacy() {
			require.NoError(t, priv.Obfuscate(msg))
			require.NoError(t, priv.Deobfuscate(msg))
		}
		var g message.Header
		n, err := g.Decode(msg)
		require.NoError(t, err)
		pt, err := OpenMessage(nil, c, msg, n, h.Source)
		require.NoError(t, err)
		requireBytes(t, plain, pt)
	}
}

// TestZeroAllocs asserts the allocation budget of the message path (the
// benchmarks report the same; this makes a regression fail plain go test).
func TestZeroAllocs(t *testing.T) {
	c := NewCCM(Key{1})
	priv := NewPrivacy(Key{2})
	h := message.Header{SessionID: 0xa512, Flags: message.PrivacyFlag | message.GroupSessionFlag, Counter: 1,
		HasSource: true, Source: 7, DestKind: message.DestinationGroup, DestGroup: 1}
	buf := make([]byte, 0, 256)
	plain := make([]byte, 64)
	out := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = h.Append(buf[:0])
		buf = append(buf, plain...)
		buf = SealInPlace(c, buf, h.Len(), h.Source)
		if err := priv.Obfuscate(buf); err != nil {
			t.Fatal(err)
		}
		if err := priv.Deobfuscate(buf); err != nil {
			t.Fatal(err)
		}
		var g message.Header
		n, err := g.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = OpenMessage(out[:0], c, buf, n, g.Source); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
