package fault

import (
	"testing"
	"time"

	"mattersim/clock"
	"mattersim/session/message"
)

func benchStage(b *testing.B, s Stage) {
	frame := matterFrame(b, message.Header{SessionID: 0x1234, Counter: 1}, message.ProtocolHeader{}, make([]byte, 64))
	rng := newRNG(1)
	out := make([]Out, 0, 4)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		out, _ = s.Apply(clock.Time(i)*1e6, Packet{Data: frame, From: 0, To: 1}, rng, out[:0])
		i++
	}
}

func BenchmarkStage(b *testing.B) {
	for _, s := range []Spec{
		LossRandom{P: 0.01},
		LossRandom{P: 0.01, Corr: 0.25},
		LossGE{P: 0.01, R: 0.3, LossBad: 1},
		LossState{P13: 0.02, P31: 0.3, P32: 0.2, P23: 0.4, P14: 0.01},
		Delay{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond},
		Delay{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Dist: Normal},
		Delay{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Dist: Pareto},
		Delay{Delay: 10 * time.Millisecond, Reorder: 0.25, Gap: 5},
		Duplicate{P: 0.01},
		Corrupt{P: 0.01},
		Corrupt{P: 1, Scope: CorruptPayloadFixChecksum},
		Rate{Bits: 1_000_000},
		MTU{Bytes: 1280},
		Filter{Match: Match{From: []int{0}}, Stage: LossRandom{P: 0.01}},
		Filter{Match: Match{Matter: MatterMatch{Sessions: []message.SessionID{0x1234}}}, Stage: LossRandom{P: 0.01}},
	} {
		b.Run(s.String(), func(b *testing.B) { benchStage(b, s.New()) })
	}
}

// BenchmarkChainLossDelay is the common link: Gilbert-Elliott loss then
// normal jitter.
func BenchmarkChainLossDelay(b *testing.B) {
	benchStage(b, Specs{
		LossGE{P: 0.01, R: 0.3, LossBad: 1},
		Delay{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Dist: Normal},
	}.New())
}

// BenchmarkChainNetem is netem's full order: duplicate, loss, corrupt,
// delay with reorder, rate.
func BenchmarkChainNetem(b *testing.B) {
	benchStage(b, Specs{
		Duplicate{P: 0.01},
		LossRandom{P: 0.01},
		Corrupt{P: 0.001},
		Delay{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Dist: Normal, Reorder: 0.05, Gap: 3},
		Rate{Bits: 10_000_000},
	}.New())
}

func BenchmarkInspect(b *testing.B) {
	frame := matterFrame(b, message.Header{Counter: 1, HasSource: true, Source: 7},
		message.ProtocolHeader{Opcode: message.OpCASESigma1}, make([]byte, 64))
	b.ReportAllocs()
	for b.Loop() {
		f := Inspect(frame)
		if !f.Clear {
			b.Fatal("not clear")
		}
	}
}
