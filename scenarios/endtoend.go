package scenarios

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/scenarios/metrics"
	"mattersim/session"
	"mattersim/sim"
	"mattersim/sim/simbench"
)

// EndToEnd is a prepared end-to-end benchmark network: k nodes, each a
// session core on a gVisor stack, joined in pairs by installed secure
// sessions (2 nodes: one pair; more: a random perfect matching). One message
// goes initiator core → initiator stack → switch → responder stack →
// responder core, whose Responder closes the exchange and so sends the
// standalone ack straight back: 2 encrypted datagrams per message, both
// counted. It is not safe for concurrent use.
type EndToEnd struct {
	e       *sim.Engine
	nodes   []*nodes.Node
	pairs   []nodes.Pair
	rng     *rand.Rand
	payload []byte
	msgs    uint64
}

// NewEndToEnd builds the network of k ≥ 2 nodes from seed. Sessions come
// from installed keys: PASE would cost a PBKDF2 per pair (about 1 ms), which
// at 10,000 nodes is setup, not the per-datagram cost being measured.
func NewEndToEnd(k int, seed uint64) (*EndToEnd, error) {
	if k < 2 {
		return nil, fmt.Errorf("scenarios: end-to-end network needs at least 2 nodes, got %d", k)
	}
	e := sim.New(seed)
	sn, err := sim.NewNetwork(e, sim.NetConfig{})
	if err != nil {
		return nil, err
	}
	seeds := e.Seeds()
	b := &EndToEnd{e: e, rng: seeds.Stream(sim.NoNode, "bench/pairs"), payload: make([]byte, simbench.PayloadSize)}
	for i := range k {
		snode, err := sn.AddNode()
		if err != nil {
			return nil, err
		}
		m, err := session.New(session.Config{}, seeds.ChaCha8(i, "session/entropy"), seeds.PCG(i, "session/jitter"))
		if err != nil {
			return nil, err
		}
		nd := nodes.New(i, DeviceNodeID(i), m, &nodes.Responder{})
		sock, err := snode.Bind(sim.MatterPort, nd)
		if err != nil {
			return nil, err
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
	var estErr error
	for i := 0; i+1 < k; i += 2 {
		est.Establish(0, b.nodes[order[i]], b.nodes[order[i+1]], func(_ clock.Time, p nodes.Pair, err error) {
			if err != nil {
				estErr = errors.Join(estErr, err)
				return
			}
			b.pairs = append(b.pairs, p)
		})
	}
	if estErr != nil {
		return nil, estErr
	}
	return b, nil
}

// EnableMetrics attaches a metrics Collector (one node group, "nodes") to
// every node and to the switch, as the default network has it always on:
// the end-to-end figure with metrics on.
func (b *EndToEnd) EnableMetrics() (*metrics.Collector, error) {
	c, err := metrics.NewCollector([]string{"nodes"}, make([]int, len(b.nodes)))
	if err != nil {
		return nil, err
	}
	for _, nd := range b.nodes {
		c.Attach(nd)
	}
	b.e.Network().Observe(c)
	return c, nil
}

// Send sends count messages, one at a time, each from a random pair in a
// random direction (2 nodes: always node 0 → node 1), running the engine
// to quiescence after each: the message and its ack are both delivered.
func (b *EndToEnd) Send(count int) error {
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
			return err
		}
		b.e.Run()
		b.msgs++
	}
	return nil
}

// Check reports an error unless every message sent so far was delivered
// once and acked, two datagrams each, with no retransmission.
func (b *EndToEnd) Check() error {
	var s nodes.Stats
	for _, nd := range b.nodes {
		s.Add(nd.Stats())
	}
	if s.Delivered != b.msgs || s.Acks != b.msgs || s.Sent != 2*b.msgs || s.Retransmissions != 0 {
		return fmt.Errorf("scenarios: %d messages: delivered %d, acked %d, datagrams %d, retransmissions %d",
			b.msgs, s.Delivered, s.Acks, s.Sent, s.Retransmissions)
	}
	return nil
}

// EndToEndResult is one end-to-end measurement next to its netstack floor.
type EndToEndResult struct {
	Nodes     int
	Datagrams int           // encrypted datagrams timed (messages + acks)
	Secure    time.Duration // wall time of the session-core traffic
	Floor     time.Duration // wall time of as many bare UDP datagrams
}

// PerDatagram returns the session-core cost per encrypted datagram.
func (r EndToEndResult) PerDatagram() time.Duration {
	return r.Secure / time.Duration(max(r.Datagrams, 1))
}

// FloorPerDatagram returns the netstack floor per datagram.
func (r EndToEndResult) FloorPerDatagram() time.Duration {
	return r.Floor / time.Duration(max(r.Datagrams, 1))
}

// Ratio returns session cost over floor (the target is ≤ 1.5).
func (r EndToEndResult) Ratio() float64 { return float64(r.Secure) / float64(max(r.Floor, 1)) }

// RunEndToEnd measures messages secure messages (2·messages datagrams) on
// a k-node network against the floor workload of BenchmarkNetstackDatagram
// (simbench.Datagrams) on its own k-node network. The two are interleaved in
// batches of 64 messages / 128 floor datagrams so both see the same machine
// load; each network is warmed with 1,000 messages first.
func RunEndToEnd(k, messages int, seed uint64) (EndToEndResult, error) {
	return runEndToEnd(k, messages, seed, false)
}

// RunEndToEndMetrics is RunEndToEnd with a metrics Collector on the
// session network (EnableMetrics): the cost of always-on metrics.
func RunEndToEndMetrics(k, messages int, seed uint64) (EndToEndResult, error) {
	return runEndToEnd(k, messages, seed, true)
}

func runEndToEnd(k, messages int, seed uint64, withMetrics bool) (EndToEndResult, error) {
	d, err := simbench.NewDatagrams(k, seed)
	if err != nil {
		return EndToEndResult{}, err
	}
	n, err := NewEndToEnd(k, seed)
	if err != nil {
		return EndToEndResult{}, err
	}
	if withMetrics {
		if _, err := n.EnableMetrics(); err != nil {
			return EndToEndResult{}, err
		}
	}
	if err := d.Send(1000); err != nil {
		return EndToEndResult{}, err
	}
	if err := n.Send(1000); err != nil {
		return EndToEndResult{}, err
	}
	r := EndToEndResult{Nodes: k, Datagrams: 2 * messages}
	const batch = 64
	for done := 0; done < messages; {
		m := min(batch, messages-done)
		t0 := time.Now()
		if err := d.Send(2 * m); err != nil {
			return r, err
		}
		t1 := time.Now()
		if err := n.Send(m); err != nil {
			return r, err
		}
		t2 := time.Now()
		r.Floor += t1.Sub(t0)
		r.Secure += t2.Sub(t1)
		done += m
	}
	return r, n.Check()
}
