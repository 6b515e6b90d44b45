package message

import "testing"

// BenchmarkMessageHeaderDecode decodes a group header with source and
// destination (the longest common form). Budget: <= 50 ns, 0 allocs.
func BenchmarkMessageHeaderDecode(b *testing.B) {
	raw := []byte{0x06, 0x12, 0xa5, 0x81, 0x78, 0x56, 0x34, 0x12,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x01, 0x01}
	var h Header
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := h.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageHeaderAppend encodes the same header into a reused buffer.
func BenchmarkMessageHeaderAppend(b *testing.B) {
	h := Header{SessionID: 0xa512, Flags: PrivacyFlag | GroupSessionFlag, Counter: 0x12345678,
		HasSource: true, Source: 0x1122334455667788, DestKind: DestinationGroup, DestGroup: 0x0101}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}

// BenchmarkProtocolHeaderDecode decodes an exchange header with an ack counter.
func BenchmarkProtocolHeaderDecode(b *testing.B) {
	raw := []byte{0x06, 0x21, 0xd3, 0x64, 0x00, 0x00, 0x0a, 0x4f, 0xf2, 0x17, 0x15, 0x18}
	var p ProtocolHeader
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
