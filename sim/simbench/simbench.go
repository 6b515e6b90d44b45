// Package simbench holds the simulator's benchmark workloads, shared by the
// Go benchmarks in package sim and by `mattersim bench`, so both print the
// same figures for the same code.
//
// Nothing here is safe for concurrent use; each value owns one engine.
package simbench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"time"

	"mattersim/clock"
	"mattersim/sim"
)

// PayloadSize is the UDP payload of the datagram benchmarks.
const PayloadSize = 64

type counter struct{ n uint64 }

func (c *counter) HandleDatagram(clock.Time, netip.AddrPort, []byte) { c.n++ }
func (c *counter) HandleTimer(clock.Time)                            {}

// Datagrams is a prepared datagram benchmark: nodes nodes with a socket on
// sim.MatterPort each. Every datagram goes sender stack → switch → event
// queue → receiver stack → socket handler, one engine step per datagram.
// The zero value is not usable; call NewDatagrams.
type Datagrams struct {
	e       *sim.Engine
	n       *sim.Network
	socks   []*sim.Socket
	dst     []netip.AddrPort
	rx      counter
	rng     *rand.Rand
	payload []byte
	sent    uint64
}

// NewDatagrams builds the network with a gVisor stack per node. With 2
// nodes every datagram goes from node 0 to node 1; with more, each picks a
// random pair (distinct nodes) from the seeded stream (NoNode,
// "bench/pairs").
func NewDatagrams(nodes int, seed uint64) (*Datagrams, error) {
	return NewDatagramsMode(sim.ModeNetstack, nodes, seed)
}

// NewDatagramsMode is NewDatagrams in network mode m.
func NewDatagramsMode(m sim.Mode, nodes int, seed uint64) (*Datagrams, error) {
	if nodes < 2 {
		return nil, errors.New("simbench: need at least 2 nodes")
	}
	e := sim.New(seed)
	n, err := sim.NewNetwork(e, sim.NetConfig{Mode: m})
	if err != nil {
		return nil, err
	}
	d := &Datagrams{e: e, n: n, payload: make([]byte, PayloadSize), rng: e.Seeds().Stream(sim.NoNode, "bench/pairs")}
	for i := range nodes {
		nd, err := n.AddNode()
		if err != nil {
			return nil, err
		}
		s, err := nd.Bind(sim.MatterPort, &d.rx)
		if err != nil {
			return nil, err
		}
		d.socks = append(d.socks, s)
		d.dst = append(d.dst, netip.AddrPortFrom(sim.Addr(i), sim.MatterPort))
	}
	return d, nil
}

// Engine returns the benchmark's engine.
func (d *Datagrams) Engine() *sim.Engine { return d.e }

// Send sends count datagrams, running the engine one step after each.
func (d *Datagrams) Send(count int) error {
	k := len(d.socks)
	for range count {
		from, to := 0, 1
		if k > 2 {
			from = d.rng.IntN(k)
			to = d.rng.IntN(k - 1)
			if to >= from {
				to++
			}
		}
		if err := d.socks[from].Send(d.dst[to], d.payload); err != nil {
			return err
		}
		d.e.Step()
		d.sent++
	}
	if d.rx.n != d.sent {
		return fmt.Errorf("simbench: sent %d datagrams, received %d", d.sent, d.rx.n)
	}
	return nil
}

// Received returns the number of datagrams received so far.
func (d *Datagrams) Received() uint64 { return d.rx.n }

// DatagramResult is a timed run of Datagrams.
type DatagramResult struct {
	Nodes, Count      int
	Build, Wall       time.Duration
	Allocs, HeapBytes uint64 // during the sends
}

// PerDatagram returns the wall time per datagram.
func (r DatagramResult) PerDatagram() time.Duration {
	return r.Wall / time.Duration(max(r.Count, 1))
}

// RunDatagrams builds nodes nodes and times count datagrams (after a short
// warm-up of min(count, 1000) datagrams).
func RunDatagrams(nodes, count int, seed uint64) (DatagramResult, error) {
	start := time.Now()
	d, err := NewDatagrams(nodes, seed)
	if err != nil {
		return DatagramResult{}, err
	}
	r := DatagramResult{Nodes: nodes, Count: count, Build: time.Since(start)}
	if err := d.Send(min(count, 1000)); err != nil {
		return r, err
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	err = d.Send(count)
	r.Wall = time.Since(t0)
	runtime.ReadMemStats(&m1)
	r.Allocs = m1.Mallocs - m0.Mallocs
	r.HeapBytes = m1.TotalAlloc - m0.TotalAlloc
	return r, err
}

// Memory is the heap cost of idle nodes.
type Memory struct {
	Nodes     int
	HeapBytes uint64 // HeapAlloc delta after GC
	Objects   uint64 // HeapObjects delta after GC
	Build     time.Duration
}

// PerNode returns heap bytes per idle node.
func (m Memory) PerNode() float64 { return float64(m.HeapBytes) / float64(max(m.Nodes, 1)) }

// ObjectsPerNode returns heap objects per idle node.
func (m Memory) ObjectsPerNode() float64 { return float64(m.Objects) / float64(max(m.Nodes, 1)) }

// BuildPerNode returns the build time per node.
func (m Memory) BuildPerNode() time.Duration { return m.Build / time.Duration(max(m.Nodes, 1)) }

// IdleNodes builds nodes idle nodes (stack, NIC, two addresses, route, one
// bound UDP socket) and measures build time and the live heap they hold
// (runtime.MemStats.HeapAlloc delta after two GCs).
func IdleNodes(nodes int, seed uint64) (Memory, error) {
	return IdleNodesMode(sim.ModeNetstack, nodes, seed)
}

// IdleNodesMode is IdleNodes in network mode m (ModeDirect: no stack, the
// node and its socket).
func IdleNodesMode(m sim.Mode, nodes int, seed uint64) (Memory, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	e := sim.New(seed)
	n, err := sim.NewNetwork(e, sim.NetConfig{Mode: m})
	if err != nil {
		return Memory{}, err
	}
	var rx counter
	for range nodes {
		nd, err := n.AddNode()
		if err != nil {
			return Memory{}, err
		}
		if _, err := nd.Bind(sim.MatterPort, &rx); err != nil {
			return Memory{}, err
		}
	}
	build := time.Since(start)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(n)
	return Memory{
		Nodes:     nodes,
		HeapBytes: m1.HeapAlloc - min(m0.HeapAlloc, m1.HeapAlloc),
		Objects:   m1.HeapObjects - min(m0.HeapObjects, m1.HeapObjects),
		Build:     build,
	}, nil
}

// Speedup is a virtual-time run compared with the wall clock.
type Speedup struct {
	Nodes     int
	Interval  time.Duration
	Virtual   time.Duration
	Wall      time.Duration
	Build     time.Duration
	Datagrams uint64 // delivered
	Events    uint64
}

// Factor returns virtual time divided by wall time.
func (s Speedup) Factor() float64 { return float64(s.Virtual) / float64(max(s.Wall, 1)) }

// RunSpeedup builds nodes nodes running sim.App with periodic echo traffic:
// every node sends a 64-byte request to a random node every interval (plus
// up to interval/10 jitter, first send at a random instant in the first
// interval) and the peer echoes it. It runs virtual time and reports the
// wall time of the run (build excluded).
func RunSpeedup(nodes int, virtual, interval time.Duration, seed uint64) (Speedup, error) {
	if nodes < 2 || interval <= 0 || virtual <= 0 {
		return Speedup{}, errors.New("simbench: need >= 2 nodes and positive durations")
	}
	start := time.Now()
	e := sim.New(seed)
	n, err := sim.NewNetwork(e, sim.NetConfig{})
	if err != nil {
		return Speedup{}, err
	}
	peers := make([]netip.AddrPort, nodes)
	for i := range peers {
		peers[i] = netip.AddrPortFrom(sim.Addr(i), sim.MatterPort)
	}
	for range nodes {
		nd, err := n.AddNode()
		if err != nil {
			return Speedup{}, err
		}
		a, err := sim.BindApp(nd, sim.MatterPort)
		if err != nil {
			return Speedup{}, err
		}
		a.Peers, a.Echo, a.Interval, a.Jitter, a.Size = peers, true, interval, interval/10, PayloadSize
		a.Start(clock.Time(nd.Rand("bench/start").Int64N(int64(interval))))
	}
	s := Speedup{Nodes: nodes, Interval: interval, Virtual: virtual, Build: time.Since(start)}
	t0 := time.Now()
	e.RunUntil(clock.Time(virtual))
	s.Wall = time.Since(t0)
	s.Datagrams = n.Stats().Delivered
	s.Events = e.Processed()
	return s, nil
}
