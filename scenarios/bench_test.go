package scenarios

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"mattersim/sim/simbench"
)

// BenchmarkEndToEndSecure measures one encrypted Matter datagram delivered
// session core to session core through two gVisor stacks, counting the
// messages and their standalone acks, next to the floor under it:
// BenchmarkNetstackDatagram's workload (simbench.Datagrams: a bare 64-byte
// UDP datagram, stack to stack, no session core). The two are interleaved in
// batches of 64 messages / 128 floor datagrams inside one loop, so both
// see the same machine load (this VM is shared and noisy). Each op is one
// message + its ack + two floor datagrams; the metrics:
//
//	ns/datagram        session core to session core, per datagram
//	floor-ns/datagram  the netstack floor, per datagram
//	x-floor            their ratio (target ≤ 1.5)
//
// Sub-benchmarks: 2 nodes, and 10,000 nodes with random pairs (5,000
// sessions; floor on its own 10,000-node network with random pairs).
// Results: BENCHMARKS.md.
func BenchmarkEndToEndSecure(b *testing.B) {
	for _, k := range []int{2, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", k), func(b *testing.B) {
			d := cachedDatagrams(b, k)
			n := cachedE2E(b, k)
			var floor, sess time.Duration
			const batch = 64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				m := min(batch, b.N-done)
				t0 := time.Now()
				if err := d.Send(2 * m); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := n.Send(m); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				floor += t1.Sub(t0)
				sess += t2.Sub(t1)
				done += m
			}
			b.StopTimer()
			if err := n.Check(); err != nil {
				b.Fatal(err)
			}
			dg := float64(2 * b.N)
			b.ReportMetric(float64(sess.Nanoseconds())/dg, "ns/datagram")
			b.ReportMetric(float64(floor.Nanoseconds())/dg, "floor-ns/datagram")
			b.ReportMetric(float64(sess)/float64(max(floor, 1)), "x-floor")
		})
	}
}

var (
	benchMu    sync.Mutex
	benchDgram = map[int]*simbench.Datagrams{}
	benchE2E   = map[int]*EndToEnd{}
)

// cachedDatagrams builds the netstack floor network once per size and test
// binary run, warmed with 1,000 datagrams.
func cachedDatagrams(b *testing.B, k int) *simbench.Datagrams {
	benchMu.Lock()
	defer benchMu.Unlock()
	if d := benchDgram[k]; d != nil {
		return d
	}
	d, err := simbench.NewDatagrams(k, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Send(1000); err != nil {
		b.Fatal(err)
	}
	benchDgram[k] = d
	return d
}

// cachedE2E builds the session network once per size, warmed with 1,000
// messages.
func cachedE2E(b *testing.B, k int) *EndToEnd {
	benchMu.Lock()
	defer benchMu.Unlock()
	if n := benchE2E[k]; n != nil {
		return n
	}
	n, err := NewEndToEnd(k, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Send(1000); err != nil {
		b.Fatal(err)
	}
	benchE2E[k] = n
	return n
}

// TestEndToEndSecureWorkload checks the benchmark's workload: every message
// is delivered and acked, two datagrams each, on 2 and 100 nodes.
func TestEndToEndSecureWorkload(t *testing.T) {
	for _, k := range []int{2, 100} {
		n, err := NewEndToEnd(k, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Send(500); err != nil {
			t.Fatal(err)
		}
		if err := n.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkLoadScenario parses and checks each shipped scenario (issue
// target: ≤ 10 ms for the largest: replay-attack has the most text,
// building-5000 the most nodes).
func BenchmarkLoadScenario(b *testing.B) {
	for _, sh := range Shipped() {
		b.Run(sh.Name, func(b *testing.B) {
			b.SetBytes(int64(len(sh.Data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := LoadBytes(sh.File, sh.Data, Overrides{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolveScenario resolves an already parsed file (what a sweep
// pays per variant).
func BenchmarkResolveScenario(b *testing.B) {
	sh, _ := LookupShipped("building-5000")
	f, err := Parse(sh.File, sh.Data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Resolve(Overrides{}); err != nil {
			b.Fatal(err)
		}
	}
}
