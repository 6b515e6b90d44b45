package session

import (
	"testing"

	"mattersim/session/message"
)

// benchReceive feeds pre-sealed 64-byte-payload messages with increasing
// counters on one exchange: decode, window check, open (AES-CCM), commit,
// exchange dispatch and ack scheduling. With R set, each message replaces
// the previous pending ack, which the protocol makes us flush as a
// standalone ack (connectedhomeip ReliableMessageContext::HandleNeedsAckInner),
// so that variant includes sealing one ack per message.
func benchReceive(b *testing.B, flags message.ExchangeFlags) {
	p := newPair(b, Config{}, 3, pcg)
	m := p.b.m
	const batch = 1 << 14
	payload := make([]byte, 64)
	msgs := make([][]byte, batch)
	base := uint32(1000)
	seal := func() {
		for i := range msgs {
			msgs[i] = sealTo(&testing.T{}, testI2R, p.b.ref.LocalID, base+uint32(i), flags, 5, payload)
		}
		base += batch
	}
	seal()
	drainAll(m)
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%batch == 0 {
			b.StopTimer()
			seal()
			b.StartTimer()
		}
		m.HandleDatagram(0, addrA, msgs[i%batch])
		for {
			o, ok := m.Poll()
			if !ok {
				break
			}
			if o.Event.Kind != 0 && o.Event.Kind != EventMessage {
				b.Fatalf("unexpected %s", o.Event)
			}
		}
	}
}

// BenchmarkReceiveSecure64 is the reference figure (BENCHMARKS.md):
// an encrypted message with a 64-byte payload and R=1 on an open exchange.
func BenchmarkReceiveSecure64(b *testing.B) {
	benchReceive(b, message.InitiatorFlag|message.ReliableFlag)
}

// BenchmarkReceiveSecure64NoAck is the same without R: no ack to flush.
func BenchmarkReceiveSecure64NoAck(b *testing.B) {
	benchReceive(b, message.InitiatorFlag)
}
