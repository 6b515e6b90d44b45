package scenarios

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/sim"
	"mattersim/sim/simbench"
)

// e2e is a prepared end-to-end benchmark network: k nodes, each a session
// core on a gVisor stack, joined in pairs by installed secure sessions (2
// nodes: one pair; more: a random perfect matching). One message goes
// initiator core → initiator stack → switch → responder stack → responder
// core, whose Responder closes the exchange and so sends the standalone ack
// straight back: 2 encrypted datagrams per message, both counted.
type e2e struct {
	e       *sim.Engine
	nodes   []*nodes.Node
	pairs   []nodes.Pair
	rng     *rand.Rand
	payload []byte
	msgs    uint64
}

func newE2E(tb testing.TB, k int) *e2e {
	tb.Helper()
	e := sim.New(1)
	sn, err := sim.NewNetwork(e, sim.NetConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	seeds := e.Seeds()
	b := &e2e{e: e, rng: seeds.Stream(sim.NoNode, "bench/pairs"), payload: make([]byte, simbench.PayloadSize)}
	for i := range k {
		snode, err := sn.AddNode()
		if err != nil {
			tb.Fatal(err)
		}
		m, err := session.New(session.Config{}, seeds.ChaCha8(i, "session/entropy"), seeds.PCG(i, "session/jitter"))
		if err != nil {
			tb.Fatal(err)
		}
		nd := nodes.New(i, DeviceNodeID(i), m, &nodes.Responder{})
		sock, err := snode.Bind(sim.MatterPort, nd)
		if err != nil {
			tb.Fatal(err)
		}
		nd.Attach(sock)
		b.nodes = append(b.nodes, nd)
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	if k > 2 {
		b.rng.Shuffle(k, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	est := &nodes.InstallKeys{Keys: seeds.ChaCha8(sim.NoNode, "establish/keys")}
	for i := 0; i+1 < k; i += 2 {
		est.Establish(0, b.nodes[order[i]], b.nodes[order[i+1]], func(_ clock.Time, p nodes.Pair, err error) {
			if err != nil {
				tb.Fatal(err)
			}
			b.pairs = append(b.pairs, p)
		})
	}
	return b
}

// send sends count messages, one at a time, each from a random pair in a
// random direction (2 nodes: always node 0 → node 1), running the engine
// to quiescence after each: the message and its ack are both delivered.
func (b *e2e) send(tb testing.TB, count int) {
	for range count {
		p := b.pairs[0]
		from, ref := p.Initiator, p.InitiatorRef
		if len(b.pairs) > 1 {
			p = b.pairs[b.rng.IntN(len(b.pairs))]
			from, ref = p.Initiator, p.InitiatorRef
			if b.rng.IntN(2) == 1 {
				from, ref = p.Responder, p.ResponderRef
			}
		}
		now := b.e.Now()
		err := from.Do(now, func(m *session.Manager) error {
			ex, err := m.NewExchange(ref)
			if err != nil {
				return err
			}
			if err := m.Send(now, ex, session.Message{Protocol: nodes.SenderProtocol, Vendor: nodes.SenderVendor,
				Opcode: 1, Payload: b.payload, Reliable: true}); err != nil {
				return err
			}
			return m.CloseExchange(now, ex)
		})
		if err != nil {
			tb.Fatal(err)
		}
		b.e.Run()
		b.msgs++
	}
}

func (b *e2e) check(tb testing.TB) {
	var s nodes.Stats
	for _, nd := range b.nodes {
		s.Add(nd.Stats())
	}
	if s.Delivered != b.msgs || s.Acks != b.msgs || s.Sent != 2*b.msgs || s.Retransmissions != 0 {
		tb.Fatalf("%d messages: delivered %d, acked %d, datagrams %d, retransmissions %d",
			b.msgs, s.Delivered, s.Acks, s.Sent, s.Retransmissions)
	}
}

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
// Results: docs/bench/endtoend.md.
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
				n.send(b, m)
				t2 := time.Now()
				floor += t1.Sub(t0)
				sess += t2.Sub(t1)
				done += m
			}
			b.StopTimer()
			n.check(b)
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
	benchE2E   = map[int]*e2e{}
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
func cachedE2E(b *testing.B, k int) *e2e {
	benchMu.Lock()
	defer benchMu.Unlock()
	if n := benchE2E[k]; n != nil {
		return n
	}
	n := newE2E(b, k)
	n.send(b, 1000)
	benchE2E[k] = n
	return n
}

// TestEndToEndSecureWorkload checks the benchmark's workload: every message
// is delivered and acked, two datagrams each, on 2 and 100 nodes.
func TestEndToEndSecureWorkload(t *testing.T) {
	for _, k := range []int{2, 100} {
		n := newE2E(t, k)
		n.send(t, 500)
		n.check(t)
	}
}
