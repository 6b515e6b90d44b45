package capture

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"mattersim/session"
)

// FuzzParseKeyLog: no input panics, and whatever parses writes back as
// lines that parse to the same records.
func FuzzParseKeyLog(f *testing.F) {
	var b bytes.Buffer
	l := NewKeyLog(&b)
	l.Add(testRecord(session.PASE))
	l.Add(testRecord(session.CASE))
	l.AddGroup(GroupRecord{Time: 5, KeySet: 0x42, SessionID: 0xa512, Operational: keyA})
	_ = l.Flush()
	f.Add(b.String())
	f.Add("SESSION t=1 kind=pase\n")
	f.Add("GROUP t=0.5 keyset=0x10 epoch=2 group_sid=7 key=00112233445566778899aabbccddeeff\n")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ParseKeyLog(strings.NewReader(s))
		if err != nil {
			return
		}
		var out []byte
		for i := range recs.Sessions {
			out = recs.Sessions[i].AppendText(out)
		}
		for i := range recs.Groups {
			out = recs.Groups[i].AppendText(out)
		}
		again, err := ParseKeyLog(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("written records do not parse: %v\n%s", err, out)
		}
		if len(again.Sessions) != len(recs.Sessions) || len(again.Groups) != len(recs.Groups) {
			t.Fatalf("record count changed: %d/%d → %d/%d", len(recs.Sessions), len(recs.Groups), len(again.Sessions), len(again.Groups))
		}
		for i := range recs.Sessions {
			if again.Sessions[i] != recs.Sessions[i] {
				t.Fatalf("session %d: %+v → %+v", i, recs.Sessions[i], again.Sessions[i])
			}
		}
		for i := range recs.Groups {
			if again.Groups[i] != recs.Groups[i] {
				t.Fatalf("group %d: %+v → %+v", i, recs.Groups[i], again.Groups[i])
			}
		}
	})
}

// FuzzPlaintextRewrite: no packet panics Rewrite (or Open under it); a
// rewritten packet is well formed (IPv6 and UDP lengths match the bytes)
// and never on port 5540.
func FuzzPlaintextRewrite(f *testing.F) {
	var ring Keyring
	ring.Add(testRecord(session.PASE))
	ring.AddGroup(GroupRecord{SessionID: 0xa512, Operational: keyA})
	p := NewPlaintexter(&ring)
	f.Add(ipv6UDP(addrI, addrR, []byte{0, 0, 0, 0, 1, 0, 0, 0, 5, 2, 7, 0, 1, 0}))
	f.Add(ipv6UDP(addrI, addrR, []byte{0, 0xb2, 0x6a, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	f.Add(ipv6UDP(addrI, addrR, []byte{0x06, 0x12, 0xa5, 0x81, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		in := append([]byte(nil), pkt...)
		out := p.Rewrite(pkt)
		if !bytes.Equal(in, pkt) {
			t.Fatal("Rewrite modified its input")
		}
		if bytes.Equal(out, pkt) {
			return
		}
		if len(out) < ipv6HeaderLen+udpHeaderLen || int(binary.BigEndian.Uint16(out[4:])) != len(out)-ipv6HeaderLen ||
			int(binary.BigEndian.Uint16(out[ipv6HeaderLen+4:])) != len(out)-ipv6HeaderLen {
			t.Fatalf("rewritten packet has inconsistent lengths: %x", out)
		}
		for _, off := range []int{0, 2} {
			if binary.BigEndian.Uint16(out[ipv6HeaderLen+off:]) == MatterPort {
				t.Fatalf("rewritten packet still on port %d", MatterPort)
			}
		}
	})
}
