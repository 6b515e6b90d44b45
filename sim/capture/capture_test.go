package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/security"
)

var (
	addrI = netip.MustParseAddrPort("[fd00:6d73:696d::1]:5540")
	addrR = netip.MustParseAddrPort("[fd00:6d73:696d::2]:5540")
	keyA  = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	keyB  = [16]byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}
)

func testRecord(kind session.Kind) SessionRecord {
	return SessionRecord{
		Time: clock.Time(12_443_460), Kind: kind,
		Initiator: Endpoint{Addr: addrI, Node: 0x0000000100000001, SessionID: 23753},
		Responder: Endpoint{Addr: addrR, Node: 0x0000000200000005, SessionID: 27314},
		I2R:       keyA, R2I: keyB, Attestation: [16]byte{0xe8, 0x5e},
	}
}

// TestKeyLogRoundTrip: a record written is the record read back, the
// line has the documented shape, and the second side's report of the same
// session is not written again.
func TestKeyLogRoundTrip(t *testing.T) {
	var b bytes.Buffer
	l := NewKeyLog(&b)
	r := testRecord(session.PASE)
	require.True(t, l.Add(r))
	// The responder's view of the same session, without the peer's node id.
	k := session.Keys{Kind: session.PASE, LocalID: 27314, PeerID: 23753, Peer: addrI, I2R: keyA, R2I: keyB, AttestationChallenge: r.Attestation}
	dup := NewSessionRecord(r.Time+5, k, addrR, r.Responder.Node, 0)
	require.Equal(t, r.Initiator.Addr, dup.Initiator.Addr)
	require.Equal(t, r.Responder.SessionID, dup.Responder.SessionID)
	require.False(t, l.Add(dup), "the other side's report of a logged session")
	c := testRecord(session.CASE)
	c.Initiator.SessionID = 1
	require.True(t, l.Add(c))
	g := GroupRecord{Time: 2, KeySet: 0x42, Epoch: 1, SessionID: 0xa512, Operational: keyB}
	require.True(t, l.AddGroup(g))
	g2 := g
	g2.Time = 9
	require.False(t, l.AddGroup(g2), "another member's copy of the same key")
	require.NoError(t, l.Flush())
	require.Equal(t, 3, l.Records())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 4)
	require.True(t, strings.HasPrefix(lines[0], "# mattersim key log v1"))
	require.Equal(t, "SESSION t=0.012443460 kind=pase initiator=[fd00:6d73:696d::1]:5540 initiator_node=0x0000000100000001 initiator_sid=23753"+
		" responder=[fd00:6d73:696d::2]:5540 responder_node=0x0000000200000005 responder_sid=27314"+
		" i2r=0102030405060708090a0b0c0d0e0f10 r2i=f0e1d2c3b4a5968778695a4b3c2d1e0f attestation=e85e0000000000000000000000000000", lines[1])
	require.Equal(t, "GROUP t=0.000000002 keyset=66 epoch=1 group_sid=42258 key=f0e1d2c3b4a5968778695a4b3c2d1e0f", lines[3])
	got, err := ParseKeyLog(strings.NewReader(b.String() + "\nFUTURE x=1\n"))
	require.NoError(t, err)
	require.Equal(t, KeyLogRecords{Sessions: []SessionRecord{r, c}, Groups: []GroupRecord{g}}, got)
}

func TestParseKeyLogErrors(t *testing.T) {
	good := strings.TrimSuffix(string(func() []byte { r := testRecord(session.PASE); return r.AppendText(nil) }()), "\n")
	for i, tc := range []struct {
		from, to, want string
	}{
		{"t=0.012443460", "t=x", "t=x: not seconds"},                                                     // 1
		{"t=0.012443460", "t=0.0124434601", "more than 9 decimals"},                                      // 2
		{"kind=pase", "kind=tls", "kind=tls: want pase or case"},                                         // 3
		{"initiator=[fd00:6d73:696d::1]:5540", "initiator=fd00::1", "not [address]:port"},                // 4
		{"responder_sid=27314", "responder_sid=0", "not a session id"},                                   // 5
		{"i2r=0102030405060708090a0b0c0d0e0f10", "i2r=0102", "want 32 hex digits"},                       // 6
		{" attestation=e85e0000000000000000000000000000", "", "missing attestation="},                    // 7
		{"kind=pase", "kind", `field "kind" is not key=value`},                                           // 8
		{"initiator_node=0x0000000100000001", "initiator_node=zz", "not a 64-bit node id"},               // 9
		{good, "GROUP t=1 keyset=1 epoch=0 group_sid=7", "missing key="},                                 // 10
		{good, "GROUP t=1 keyset=70000 epoch=0 group_sid=7 key=00", "keyset=70000: not a 16-bit number"}, // 11
		{good, "GROUP t=1 keyset=1 epoch=0 group_sid=7 key=00", "key=00: want 32 hex digits"},            // 12
	} {
		line := strings.Replace(good, tc.from, tc.to, 1)
		require.NotEqual(t, good, line, "case %d", i+1)
		_, err := ParseKeyLog(strings.NewReader("# comment\n\n" + line + "\n"))
		var ke *KeyLogError
		require.ErrorAs(t, err, &ke, "case %d", i+1)
		require.Equal(t, 3, ke.Line, "case %d", i+1)
		require.Contains(t, err.Error(), tc.want, "case %d", i+1)
	}
}

// seal returns a secure unicast datagram to session sid sealed with key
// and the nonce node id node.
func seal(t *testing.T, sid uint16, key [16]byte, node message.NodeID, counter uint32, plain []byte) []byte {
	t.Helper()
	h := message.Header{SessionID: message.SessionID(sid), Counter: counter}
	return security.SealMessage(nil, security.NewCCM(security.Key(key)), &h, node, plain)
}

// plainMsg is a protocol header (I R, opcode 0x02, exchange 7, IM) and a
// TLV payload.
var plainMsg = []byte{0x05, 0x02, 0x07, 0x00, 0x01, 0x00, 0x15, 0x18}

func TestKeyringOpen(t *testing.T) {
	for _, kind := range []session.Kind{session.PASE, session.CASE} {
		t.Run(kind.String(), func(t *testing.T) {
			r := testRecord(kind)
			var ring Keyring
			ring.Add(r)
			iNode, rNode := message.NodeID(0), message.NodeID(0)
			if kind == session.CASE {
				iNode, rNode = r.Initiator.Node, r.Responder.Node
			}
			// Initiator → responder: the responder's session id, I2R, the
			// initiator's node id in the nonce.
			o := ring.Open(addrR, seal(t, 27314, keyA, iNode, 9, plainMsg))
			require.Equal(t, Decrypted, o.Status, "%v", o.Err)
			require.Equal(t, I2R, o.Dir)
			require.Equal(t, plainMsg, o.Plain)
			require.Equal(t, &ring.recs[0], o.Record)
			o = ring.Open(addrI, seal(t, 23753, keyB, rNode, 10, plainMsg))
			require.Equal(t, Decrypted, o.Status, "%v", o.Err)
			require.Equal(t, R2I, o.Dir)
			require.Equal(t, plainMsg, o.Plain)

			// Redirected to another address: no key for it there.
			o = ring.Open(netip.MustParseAddrPort("[fd00:6d73:696d::3]:5540"), seal(t, 27314, keyA, iNode, 9, plainMsg))
			require.Equal(t, NoKey, o.Status)
			require.True(t, errors.Is(o.Err, ErrNoKey))
			// Forged: the MIC matches no record.
			o = ring.Open(addrR, seal(t, 27314, keyB, iNode, 9, plainMsg))
			require.Equal(t, AuthFailed, o.Status)
			require.True(t, errors.Is(o.Err, ErrAuth))
		})
	}
	var ring Keyring
	for i, tc := range []struct {
		b    []byte
		want Status
	}{
		{[]byte{0x00, 0x00}, Malformed},                                                  // 1: short header
		{[]byte{0x00, 0x00, 0x00, 0x00, 1, 0, 0, 0, 5, 2}, Unsecured},                    // 2
		{[]byte{0x00, 0x01, 0x00, 0x00, 1, 0, 0, 0, 1, 2, 3}, Malformed},                 // 3: shorter than a MIC
		{append([]byte{0x00, 0x01, 0x00, 0x01, 1, 0, 0, 0}, make([]byte, 20)...), NoKey}, // 4: group
		{append([]byte{0x00, 0x01, 0x00, 0x10, 1, 0, 0, 0}, plainMsg...), Plaintext},     // 5
		{append([]byte{0x00, 0x01, 0x00, 0x00, 1, 0, 0, 0}, make([]byte, 20)...), NoKey}, // 6: empty ring
	} {
		o := ring.Open(addrR, tc.b)
		require.Equal(t, tc.want, o.Status, "case %d: %v", i+1, o.Err)
	}
}

// ipv6UDP builds a raw IPv6 packet carrying a UDP datagram.
func ipv6UDP(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, ipv6HeaderLen+udpHeaderLen, ipv6HeaderLen+udpHeaderLen+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(udpHeaderLen+len(payload)))
	b[6], b[7] = protoUDP, 64
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	u := b[ipv6HeaderLen:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(udpHeaderLen+len(payload)))
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[ipv6HeaderLen+6:], udpChecksum(b[8:24], b[24:40], b[ipv6HeaderLen:]))
	return b
}

func TestPlaintextRewrite(t *testing.T) {
	var ring Keyring
	ring.Add(testRecord(session.PASE))
	p := NewPlaintexter(&ring)

	wire := seal(t, 27314, keyA, 0, 9, plainMsg)
	pkt := ipv6UDP(addrI, addrR, wire)
	orig := append([]byte(nil), pkt...)
	got := p.Rewrite(pkt)
	require.Equal(t, orig, pkt, "input not modified")
	plainAddr := func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr(), PlaintextPort) }
	hdr := append([]byte(nil), wire[:8]...)
	hdr[3] |= byte(PlaintextFlag)
	require.Equal(t, ipv6UDP(plainAddr(addrI), plainAddr(addrR), append(hdr, plainMsg...)), got)
	require.Equal(t, uint64(1), p.Decrypted)

	// No key: the ciphertext stays, on the plaintext port.
	wire2 := seal(t, 999, keyA, 0, 9, plainMsg)
	got = p.Rewrite(ipv6UDP(addrI, addrR, wire2))
	require.Equal(t, ipv6UDP(plainAddr(addrI), plainAddr(addrR), wire2), got)
	require.Equal(t, uint64(1), p.Kept)

	// Not Matter, not UDP, not IPv6, truncated: as is.
	other := ipv6UDP(netip.MustParseAddrPort("[fd00::1]:1000"), netip.MustParseAddrPort("[fd00::2]:2000"), []byte{1, 2, 3})
	require.Equal(t, other, p.Rewrite(other))
	icmp := append([]byte(nil), pkt...)
	icmp[6] = 58
	require.Equal(t, icmp, p.Rewrite(icmp))
	for _, short := range [][]byte{nil, pkt[:30], pkt[:50]} {
		require.Equal(t, short, p.Rewrite(short))
	}
}

// TestKeyringOpenGroup: a group message with the privacy flag is
// de-obfuscated and decrypted with the GROUP record of its group session
// id (nonce: the source node id), whichever of several candidates holds
// the key; without its key it is NoKey, with a wrong one AuthFailed.
func TestKeyringOpenGroup(t *testing.T) {
	op := security.Key(keyA)
	const sid = 0xa512
	h := message.Header{SessionID: sid, Flags: message.GroupSessionFlag | message.PrivacyFlag, Counter: 77,
		Source: 0x0000000200000003, HasSource: true, DestKind: message.DestinationGroup, DestGroup: 0x0101}
	wire := security.SealMessage(nil, security.NewCCM(op), &h, h.Source, plainMsg)
	clear := h.Append(nil)
	require.NoError(t, security.NewPrivacy(security.DerivePrivacyKey(op)).Obfuscate(wire))
	require.NotEqual(t, clear, wire[:len(clear)], "obfuscated")

	var ring Keyring
	o := ring.Open(addrR, wire)
	require.Equal(t, NoKey, o.Status)
	ring.AddGroup(GroupRecord{KeySet: 1, SessionID: sid, Operational: keyB}) // same id, other key
	o = ring.Open(addrR, wire)
	require.Equal(t, AuthFailed, o.Status)
	ring.AddLog(KeyLogRecords{Groups: []GroupRecord{{KeySet: 2, SessionID: sid, Operational: keyA}}})
	require.Equal(t, 2, ring.Len())
	before := append([]byte(nil), wire...)
	o = ring.Open(addrR, wire)
	require.Equal(t, Decrypted, o.Status, "%v", o.Err)
	require.Equal(t, before, wire, "datagram not modified")
	require.Equal(t, plainMsg, o.Plain)
	require.Equal(t, clear, o.Clear)
	require.Equal(t, h.Counter, o.Header.Counter)
	require.Equal(t, h.Source, o.Header.Source)
	require.EqualValues(t, 2, o.Group.KeySet)

	// In a plaintext capture the header is written in the clear, P kept.
	p := NewPlaintexter(&ring)
	src, dst := netip.MustParseAddrPort("[fd00:6d73:696d::4]:5540"), netip.MustParseAddrPort("[ff35:40:fd00::101]:5540")
	got := p.Rewrite(ipv6UDP(src, dst, wire))
	hdr := append([]byte(nil), clear...)
	hdr[3] |= byte(PlaintextFlag)
	want := ipv6UDP(netip.AddrPortFrom(src.Addr(), PlaintextPort), netip.AddrPortFrom(dst.Addr(), PlaintextPort), append(hdr, plainMsg...))
	require.Equal(t, want, got)
}

// BenchmarkPlaintextRewrite: one secure ReadRequest-sized message
// decrypted and rewritten, as --pcap-plaintext does for every frame.
func BenchmarkPlaintextRewrite(b *testing.B) {
	var ring Keyring
	ring.Add(testRecord(session.PASE))
	p := NewPlaintexter(&ring)
	h := message.Header{SessionID: 27314, Counter: 9}
	wire := security.SealMessage(nil, security.NewCCM(keyA), &h, 0, append(plainMsg, make([]byte, 21)...))
	pkt := ipv6UDP(addrI, addrR, wire)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		p.Rewrite(pkt)
	}
}
