package scenarios

import (
	"fmt"
	"os"
	"runtime"
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

// BenchmarkBuild measures building the default network (no run): gVisor
// stacks, session cores, sessions installed (keys) or PASE responders with
// their verifiers computed in parallel across cores (pase). Metrics:
// nodes/s (build throughput) and B/node (live heap after the build, per
// node, idle: nothing has run). One build per iteration; run with
// -benchtime 1x for the 100,000-node case (~20 s, ~3.5 GB).
func BenchmarkBuild(b *testing.B) {
	for _, c := range []struct {
		est   Establishment
		nodes int
	}{{EstablishKeys, 10000}, {EstablishPASE, 10000}, {EstablishKeys, 100000}, {EstablishCASE, 1000}, {EstablishCASE, 10000}} {
		b.Run(fmt.Sprintf("%s/nodes=%d", c.est, c.nodes), func(b *testing.B) {
			var wall time.Duration
			var heap uint64
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				t0 := time.Now()
				d, err := Build(Options{Seed: 1, Nodes: c.nodes, Establish: c.est, Controllers: (c.nodes + MaxDevicesPerController - 1) / MaxDevicesPerController})
				if err != nil {
					b.Fatal(err)
				}
				wall += time.Since(t0)
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap += after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
				runtime.KeepAlive(d)
			}
			b.ReportMetric(float64(c.nodes*b.N)/wall.Seconds(), "nodes/s")
			b.ReportMetric(float64(heap)/float64(c.nodes*b.N), "B/node")
		})
	}
}

// TestDefault100kNodes builds and runs 100,000 nodes (2 controllers,
// installed keys): every device is read once. Opt-in (MATTERSIM_SCALE=1):
// ~45 s and ~3.5 GB. Figures: BENCHMARKS.md.
func TestDefault100kNodes(t *testing.T) {
	if os.Getenv("MATTERSIM_SCALE") == "" {
		t.Skip("set MATTERSIM_SCALE=1 to build and run 100,000 nodes (~45 s, ~3.5 GB)")
	}
	start := time.Now()
	d, err := Build(Options{Seed: 1, Nodes: 100000, Controllers: 2, LossPercent: 5, Duration: 10 * time.Second,
		ReadInterval: 10 * time.Second, Establish: EstablishKeys})
	if err != nil {
		t.Fatal(err)
	}
	build := time.Since(start)
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Reads.Sent != 99998 || s.Unfinished.Total() != 0 || s.Replays.Failures() != 0 {
		t.Fatalf("reads %+v, unfinished %+v, replay failures %d", s.Reads, s.Unfinished, s.Replays.Failures())
	}
	t.Logf("100k nodes: build %s (%.0f nodes/s), run %s (virtual %s), %d events, %d reads answered",
		build.Round(time.Millisecond), 100000/build.Seconds(), s.Wall.Round(time.Millisecond),
		s.Virtual.Round(time.Millisecond), s.Events, s.Reads.Answered)
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
