package sim_test

import (
	"sync"
	"testing"
	"time"

	"mattersim/sim"
	"mattersim/sim/simbench"
)

// BenchmarkNetstackDatagram measures one 64-byte UDP datagram from node A
// through A's gVisor stack, the switch and the event queue into node B's
// stack and socket handler: the floor under every simulated message.
func BenchmarkNetstackDatagram(b *testing.B) {
	d, err := simbench.NewDatagrams(2, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Send(1000); err != nil { // warm pools
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := d.Send(b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDirectDatagram is BenchmarkNetstackDatagram in ModeDirect: the
// same 64-byte datagram, frame and switch, with no gVisor stack on either
// side. Run both in one invocation to compare (BENCHMARKS.md).
func BenchmarkDirectDatagram(b *testing.B) {
	d, err := simbench.NewDatagramsMode(sim.ModeDirect, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Send(1000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := d.Send(b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDatagramModes interleaves the two benchmarks above in batches
// of 64 datagrams inside one loop, so both modes see the same machine load
// (this VM is shared and noisy), and reports each mode's time per datagram
// and their ratio (x-faster: netstack / direct; goal ≥ 10).
func BenchmarkDatagramModes(b *testing.B) {
	var ds [2]*simbench.Datagrams
	for i, m := range []sim.Mode{sim.ModeNetstack, sim.ModeDirect} {
		d, err := simbench.NewDatagramsMode(m, 2, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Send(1000); err != nil {
			b.Fatal(err)
		}
		ds[i] = d
	}
	var wall [2]time.Duration
	const batch = 64
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		m := min(batch, b.N-done)
		for i, d := range ds {
			t0 := time.Now()
			if err := d.Send(m); err != nil {
				b.Fatal(err)
			}
			wall[i] += time.Since(t0)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(wall[0].Nanoseconds())/n, "netstack-ns/datagram")
	b.ReportMetric(float64(wall[1].Nanoseconds())/n, "direct-ns/datagram")
	b.ReportMetric(float64(wall[0])/float64(max(wall[1], 1)), "x-faster")
}

var (
	net10kOnce sync.Once
	net10k     *simbench.Datagrams
	net10kErr  error
)

// BenchmarkNetstackDatagram10k is BenchmarkNetstackDatagram on 10,000 nodes
// with a random (sender, receiver) pair per datagram: every datagram touches
// two cold stacks. The network is built once per test binary run.
func BenchmarkNetstackDatagram10k(b *testing.B) {
	net10kOnce.Do(func() { net10k, net10kErr = simbench.NewDatagrams(10000, 1) })
	if net10kErr != nil {
		b.Fatal(net10kErr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := net10k.Send(b.N); err != nil {
		b.Fatal(err)
	}
}

var (
	direct1MOnce sync.Once
	direct1M     *simbench.Datagrams
	direct1MErr  error
)

// BenchmarkDirectDatagram1M is BenchmarkDirectDatagram on 10^6 nodes with a
// random (sender, receiver) pair per datagram: every datagram touches two
// cold nodes (the netstack mode would need some 17 GB for the stacks
// alone). The network is built once per test binary run.
func BenchmarkDirectDatagram1M(b *testing.B) {
	direct1MOnce.Do(func() { direct1M, direct1MErr = simbench.NewDatagramsMode(sim.ModeDirect, 1000000, 1) })
	if direct1MErr != nil {
		b.Fatal(direct1MErr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := direct1M.Send(b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIdleNode builds 1,000 idle nodes per op (stack, NIC, 2
// addresses, route, one bound socket) and reports the build time and live
// heap per node (HeapAlloc delta after GC).
func BenchmarkIdleNode(b *testing.B) {
	var build time.Duration
	var heap, objs float64
	for range b.N {
		m, err := simbench.IdleNodes(1000, 1)
		if err != nil {
			b.Fatal(err)
		}
		build += m.BuildPerNode()
		heap += m.PerNode()
		objs += m.ObjectsPerNode()
	}
	n := float64(b.N)
	b.ReportMetric(float64(build.Nanoseconds())/n, "build-ns/node")
	b.ReportMetric(heap/n, "heap-B/node")
	b.ReportMetric(objs/n, "objects/node")
}

// BenchmarkIdleNodeDirect is BenchmarkIdleNode in ModeDirect: 1,000 idle
// nodes per op (node, one bound socket and its timer, no stack); heap-B/node
// is the live heap per idle node.
func BenchmarkIdleNodeDirect(b *testing.B) {
	var build time.Duration
	var heap, objs float64
	for range b.N {
		m, err := simbench.IdleNodesMode(sim.ModeDirect, 1000, 1)
		if err != nil {
			b.Fatal(err)
		}
		build += m.BuildPerNode()
		heap += m.PerNode()
		objs += m.ObjectsPerNode()
	}
	n := float64(b.N)
	b.ReportMetric(float64(build.Nanoseconds())/n, "build-ns/node")
	b.ReportMetric(heap/n, "heap-B/node")
	b.ReportMetric(objs/n, "objects/node")
}

// BenchmarkBuild10k builds a 10,000-node network per op and reports the
// build time (build-s, GC after the build excluded) and heap per node.
func BenchmarkBuild10k(b *testing.B) {
	var build time.Duration
	var heap float64
	for range b.N {
		m, err := simbench.IdleNodes(10000, 1)
		if err != nil {
			b.Fatal(err)
		}
		build += m.Build
		heap += m.PerNode()
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s")
	b.ReportMetric(heap/float64(b.N), "heap-B/node")
}

// BenchmarkVirtualSpeedup200 runs 200 nodes with periodic echo traffic (a
// request to a random node every 10 s ± 1 s each, echoed) for 10 minutes of
// virtual time per op and reports virtual seconds per wall second.
func BenchmarkVirtualSpeedup200(b *testing.B) {
	var wall, virt time.Duration
	var dg uint64
	for range b.N {
		s, err := simbench.RunSpeedup(200, 10*time.Minute, 10*time.Second, 1)
		if err != nil {
			b.Fatal(err)
		}
		wall += s.Wall
		virt += s.Virtual
		dg += s.Datagrams
	}
	b.ReportMetric(float64(virt)/float64(wall), "x-realtime")
	b.ReportMetric(float64(dg)/float64(b.N), "datagrams/op")
}
