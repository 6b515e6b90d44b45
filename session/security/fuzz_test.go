package security

import (
	"bytes"
	"testing"

	"mattersim/session/message"
)

var fuzzKey = Key{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}

// FuzzOpen feeds arbitrary datagrams through the receive path with a fixed
// key: de-obfuscate (when P is set), decode, open. It must never panic. The
// seeds are messages sealed with the fixed key (the 2.5 unicast vector among
// them), which must open and whose plaintext must re-seal to the same bytes.
func FuzzOpen(f *testing.F) {
	for _, v := range readRecords(f, "messages.txt") {
		if w, ok := v["wire"]; ok && v["key"] == "000102030405060708090a0b0c0d0e0f" {
			f.Add(unhex(f, w), uint64(parseUint(f, v["node"])))
		}
	}
	c := NewCCM(fuzzKey)
	seeds := []message.Header{
		{SessionID: 1, Counter: 1},
		{SessionID: 0x5555, Counter: 0xFFFFFFFF, HasSource: true, Source: 7, DestKind: message.DestinationNode, DestNode: 9},
		{SessionID: 0xa512, Flags: message.PrivacyFlag | message.GroupSessionFlag, Counter: 3, HasSource: true, Source: 7,
			DestKind: message.DestinationGroup, DestGroup: 0x0101},
	}
	for i, h := range seeds {
		msg := SealMessage(nil, c, &h, h.Source, bytes.Repeat([]byte{byte(i)}, 6+10*i))
		if h.Flags.Privacy() {
			if err := NewPrivacy(fuzzKey).Obfuscate(msg); err != nil {
				f.Fatal(err)
			}
		}
		f.Add(msg, uint64(h.Source))
	}
	priv := NewPrivacy(fuzzKey)
	f.Fuzz(func(t *testing.T, datagram []byte, node uint64) {
		d := bytes.Clone(datagram)
		if len(d) >= 4 && message.SecurityFlags(d[3]).Privacy() {
			if err := priv.Deobfuscate(d); err != nil {
				return
			}
		}
		var h message.Header
		n, err := h.Decode(d)
		if err != nil {
			return
		}
		pt, err := OpenMessage(nil, c, d, n, message.NodeID(node))
		if err != nil {
			return
		}
		// Authentic: re-sealing reproduces the datagram exactly.
		again := SealInPlace(c, append(bytes.Clone(d[:n]), pt...), n, message.NodeID(node))
		if h.Flags.Privacy() {
			if err := priv.Obfuscate(again); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(again, datagram) {
			t.Fatalf("re-seal\n got %x\nwant %x", again, datagram)
		}
	})
}
