package adversary

import (
	"testing"

	"mattersim/clock"
)

// BenchmarkObserve is the tap cost per frame with one Matter rule that
// does not select the frame (the common case).
func BenchmarkObserve(b *testing.B) {
	var net recorder
	a := New(&net, mcspResponses)
	p := secureFrame(0, 1, 0x10, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Observe(clock.Time(i), p)
		i++
	}
}

// BenchmarkObserveReplay captures and replays every frame (a private copy
// per capture, an Inject per frame).
func BenchmarkObserveReplay(b *testing.B) {
	net := &discard{}
	a := New(net, Rule{})
	p := secureFrame(0, 1, 0x10, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Observe(clock.Time(i), p)
		i++
	}
}
