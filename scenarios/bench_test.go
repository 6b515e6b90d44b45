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
// sessions; floor on its own 10,000-node network with random pairs); each
// also with a metrics Collector on every node and the switch
// (/metrics=on, as the default network runs). Results: BENCHMARKS.md.
func BenchmarkEndToEndSecure(b *testing.B) {
	for _, c := range []struct {
		k       int
		metrics bool
	}{{2, false}, {2, true}, {10000, false}, {10000, true}} {
		name := fmt.Sprintf("nodes=%d", c.k)
		if c.metrics {
			name += "/metrics=on"
		}
		k := c.k
		b.Run(name, func(b *testing.B) {
			d := cachedDatagrams(b, k)
			n := cachedE2E(b, k, c.metrics)
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
	benchE2E   = map[[2]int]*EndToEnd{}
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

// cachedE2E builds the session network once per size (and metrics
// setting), warmed with 1,000 messages.
func cachedE2E(b *testing.B, k int, withMetrics bool) *EndToEnd {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := [2]int{k, 0}
	if withMetrics {
		key[1] = 1
	}
	if n := benchE2E[key]; n != nil {
		return n
	}
	n, err := NewEndToEnd(k, 1)
	if err != nil {
		b.Fatal(err)
	}
	if withMetrics {
		if _, err := n.EnableMetrics(); err != nil {
			b.Fatal(err)
		}
	}
	if err := n.Send(1000); err != nil {
		b.Fatal(err)
	}
	benchE2E[key] = n
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
