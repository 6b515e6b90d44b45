package mcsp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/message"
	"mattersim/session/security"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func readVectors(t *testing.T) [][]string {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, strings.Fields(l))
	}
	require.NoError(t, sc.Err())
	return out
}

func challenge(t *testing.T, s string) Challenge {
	var c Challenge
	require.Equal(t, ChallengeSize, copy(c[:], unhex(t, s)))
	return c
}

// The group key of the datagram vectors (connectedhomeip
// TestGroupOperationalCredentials.cpp, epoch key 10..1f).
func vectorKey() security.GroupKeys {
	var epoch security.Key
	for i := range epoch {
		epoch[i] = 0x10 + byte(i)
	}
	return security.DeriveGroupKeys(epoch, [8]byte{0x87, 0xe1, 0xb0, 0x04, 0xe2, 0x35, 0xa1, 0x30})
}

type datagramVector struct {
	flags    message.SecurityFlags
	counter  uint32
	src, dst message.NodeID
	exFlags  message.ExchangeFlags
	opcode   uint8
	ack      uint32
	payload  []byte
}

func vectorDatagrams() map[string]datagramVector {
	ch := Challenge{1, 2, 3, 4, 5, 6, 7, 8}
	req := Request{Challenge: ch}.Append(nil)
	rsp := Response{Counter: 0x12345678, Response: ch}.Append(nil)
	const group = message.SecurityFlags(message.SessionGroup)
	pcg := message.PrivacyFlag | message.ControlFlag | group
	const a, b = message.NodeID(0x1122334455667788), message.NodeID(0xaa)
	return map[string]datagramVector{
		"request":       {pcg, 0x100, a, b, message.InitiatorFlag | message.ReliableFlag, message.OpMsgCounterSyncReq, 0, req},
		"response":      {pcg, 0x200, b, a, message.AckFlag | message.ReliableFlag, message.OpMsgCounterSyncRsp, 0x100, rsp},
		"ack":           {pcg, 0x101, a, b, message.InitiatorFlag | message.AckFlag, message.OpStandaloneAck, 0x200, nil},
		"request-clear": {message.ControlFlag | group, 0x100, a, b, message.InitiatorFlag | message.ReliableFlag, message.OpMsgCounterSyncReq, 0, req},
	}
}

func TestVectors(t *testing.T) {
	k := vectorKey()
	require.Equal(t, message.SessionID(0xa512), k.SessionID)
	enc := security.NewCCM(k.Operational)
	priv := security.NewPrivacy(k.Privacy)
	dgs := vectorDatagrams()
	counts := map[string]int{}
	for _, l := range readVectors(t) {
		counts[l[0]]++
		switch l[0] {
		case "req":
			r, err := DecodeRequest(unhex(t, l[1]))
			require.NoError(t, err)
			require.Equal(t, challenge(t, l[2]), r.Challenge)
			require.Equal(t, unhex(t, l[1]), r.Append(nil))
		case "rsp":
			r, err := DecodeResponse(unhex(t, l[1]))
			require.NoError(t, err)
			c, err := strconv.ParseUint(l[2], 0, 32)
			require.NoError(t, err)
			require.Equal(t, uint32(c), r.Counter)
			require.Equal(t, challenge(t, l[3]), r.Response)
			require.Equal(t, unhex(t, l[1]), r.Append(nil))
		case "bad":
			p := unhex(t, l[1])
			var err error
			if l[2] == "req" {
				_, err = DecodeRequest(p)
			} else {
				_, err = DecodeResponse(p)
			}
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, len(p), de.Len)
		case "datagram":
			v, ok := dgs[l[1]]
			require.True(t, ok, l[1])
			clear, wire := unhex(t, l[2]), unhex(t, l[3])
			// Encode as the session core does: header, seal, obfuscate.
			h := message.Header{SessionID: k.SessionID, Flags: v.flags, Counter: v.counter, HasSource: true, Source: v.src,
				DestKind: message.DestinationNode, DestNode: v.dst}
			require.True(t, h.IsValidMCSPMessage())
			ph := message.ProtocolHeader{Flags: v.exFlags, Opcode: v.opcode, ExchangeID: 0x1234, ProtocolID: message.ProtocolSecureChannel, AckCounter: v.ack}
			pt := append(ph.Append(nil), v.payload...)
			got := security.SealMessage(nil, enc, &h, v.src, pt)
			require.Equal(t, clear, got, "%s: sealed", l[1])
			if v.flags.Privacy() {
				require.NoError(t, priv.Obfuscate(got))
			}
			require.Equal(t, wire, got, "%s: on the wire", l[1])
			// Decode: de-obfuscate, header, open, protocol header, payload.
			in := bytes.Clone(wire)
			if v.flags.Privacy() {
				require.NoError(t, priv.Deobfuscate(in))
			}
			var dh message.Header
			n, err := dh.Decode(in)
			require.NoError(t, err)
			require.Equal(t, h.Counter, dh.Counter)
			require.Equal(t, v.dst, dh.DestNode)
			opened, err := security.OpenMessage(nil, enc, in, n, dh.Source)
			require.NoError(t, err)
			var dph message.ProtocolHeader
			pn, err := dph.Decode(opened)
			require.NoError(t, err)
			require.Equal(t, v.opcode, dph.Opcode)
			require.True(t, bytes.Equal(v.payload, opened[pn:]), "%s: payload", l[1])
		default:
			t.Fatalf("unknown vector kind %q", l[0])
		}
	}
	require.Equal(t, map[string]int{"req": 1, "rsp": 1, "bad": 6, "datagram": 4}, counts, "every vector ran")
}

func TestDecodeErrorText(t *testing.T) {
	_, err := DecodeResponse(make([]byte, 3))
	require.EqualError(t, err, "mcsp: MsgCounterSyncRsp payload is 3 bytes, want 12")
	require.Equal(t, "0102030405060708", Challenge{1, 2, 3, 4, 5, 6, 7, 8}.String())
}

// FuzzMCSP decodes arbitrary bytes as both payloads; whatever decodes
// re-encodes to the same bytes, and every other input is a DecodeError.
func FuzzMCSP(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(binary.LittleEndian.AppendUint32(nil, 0x12345678))
	f.Add(append(binary.LittleEndian.AppendUint32(nil, 0), 8, 7, 6, 5, 4, 3, 2, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err == nil {
			if !bytes.Equal(req.Append(nil), b) {
				t.Fatalf("request round trip: %x -> %x", b, req.Append(nil))
			}
		} else if de, ok := err.(*DecodeError); !ok || de.Len != len(b) || len(b) == RequestLen {
			t.Fatalf("request: unexpected error %v", err)
		}
		rsp, err := DecodeResponse(b)
		if err == nil {
			if !bytes.Equal(rsp.Append(nil), b) {
				t.Fatalf("response round trip: %x -> %x", b, rsp.Append(nil))
			}
			again, err := DecodeResponse(rsp.Append(nil))
			if err != nil || again != rsp {
				t.Fatalf("response re-decode: %v %+v %+v", err, again, rsp)
			}
		} else if de, ok := err.(*DecodeError); !ok || de.Len != len(b) || len(b) == ResponseLen {
			t.Fatalf("response: unexpected error %v", err)
		}
	})
}
