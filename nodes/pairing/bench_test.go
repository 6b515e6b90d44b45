package pairing

import (
	"testing"
	"time"

	"mattersim/clock"
)

// BenchmarkPairing runs complete PASE handshakes between two Managers on the
// virtual test network: pase state machines, this glue, the session core's
// framing, AES-CCM-free unsecured messages, MRP acks and session install,
// then CloseSession. Compare with session/pase BenchmarkPASE (state machines
// only) and with matter.js (BENCHMARKS.md).
func BenchmarkPairing(b *testing.B) {
	n := newNet(b)
	dev, _ := device(b, n, 1, ResponderConfig{})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	rnd := seededReader(3)
	b.ReportAllocs()
	for b.Loop() {
		var p *Initiator
		n.do(ctl, func(now clock.Time) {
			var err error
			p, err = StartInitiator(now, ctl.m, InitiatorConfig{Peer: dev.addr, Passcode: testPasscode, Rand: rnd})
			if err != nil {
				b.Fatal(err)
			}
		})
		ctl.glue = append(ctl.glue[:0], p)
		for !p.Done() {
			if !n.step(n.now.Add(time.Minute)) {
				b.Fatal("stalled")
			}
		}
		if p.Err() != nil {
			b.Fatal(p.Err())
		}
		est, _ := p.Session()
		n.do(ctl, func(now clock.Time) { _ = ctl.m.CloseSession(now, est.Ref) })
		n.settle(time.Second)
		dev.events, ctl.events = dev.events[:0], ctl.events[:0]
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
