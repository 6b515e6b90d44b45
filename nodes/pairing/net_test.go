package pairing

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
)

// A small deterministic test network: Managers exchange datagrams through
// a queue ordered by (time, seq) on a virtual clock, with a seeded loss
// function. Each node routes its events to a handshake glue first, then to
// an application hook.

const latency = 5 * time.Millisecond

type pkt struct {
	at   clock.Time
	seq  int
	from netip.AddrPort
	to   netip.AddrPort
	data []byte
}

type tnode struct {
	name string
	addr netip.AddrPort
	m    *session.Manager
	// glue are the handshake machines on this node, asked in order.
	glue []glue
	// app sees every event no glue consumed.
	app    func(now clock.Time, ev session.Event)
	events []session.Event // every event, for assertions
}

type glue interface {
	HandleEvent(now clock.Time, ev session.Event) bool
	HandleTimeout(now clock.Time)
	Deadline() clock.Time
}

type testNet struct {
	t     testing.TB
	now   clock.Time
	seq   int
	q     []pkt
	nodes []*tnode
	// lose decides whether a datagram is lost; nil loses nothing.
	lose           func(p pkt) bool
	sent, dropped  int
	maxQueueLength int
}

func newNet(t testing.TB) *testNet { return &testNet{t: t} }

// seeded returns a Manager with deterministic entropy and jitter.
func seededManager(t testing.TB, seed uint64, cfg session.Config) *session.Manager {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	m, err := session.New(cfg, rand.NewChaCha8(s), rand.NewPCG(seed, 7))
	require.NoError(t, err)
	return m
}

// seededReader is a deterministic crypto stream for tests only.
func seededReader(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	s[31] = 0x5a
	return rand.NewChaCha8(s)
}

func (n *testNet) add(name, addr string, seed uint64) *tnode {
	nd := &tnode{name: name, addr: netip.MustParseAddrPort(addr), m: seededManager(n.t, seed, session.Config{})}
	n.nodes = append(n.nodes, nd)
	return nd
}

func (n *testNet) node(a netip.AddrPort) *tnode {
	for _, nd := range n.nodes {
		if nd.addr == a {
			return nd
		}
	}
	return nil
}

// drain empties nd's Manager: datagrams go on the wire (or are lost),
// events go to the glue and the app, which may produce more outputs.
func (n *testNet) drain(nd *tnode) {
	for {
		o, ok := nd.m.Poll()
		if !ok {
			return
		}
		if o.IsDatagram() {
			n.seq++
			p := pkt{at: n.now.Add(latency), seq: n.seq, from: nd.addr, to: o.To, data: slices.Clone(o.Data)}
			n.sent++
			if n.lose != nil && n.lose(p) {
				n.dropped++
				continue
			}
			n.q = append(n.q, p)
			continue
		}
		ev := o.Event
		ev.Payload = slices.Clone(ev.Payload)
		nd.events = append(nd.events, ev)
		consumed := false
		for _, g := range nd.glue {
			if g.HandleEvent(n.now, ev) {
				consumed = true
				break
			}
		}
		if !consumed && nd.app != nil {
			nd.app(n.now, ev)
		}
	}
}

// do runs f on nd at the current time and drains.
func (n *testNet) do(nd *tnode, f func(now clock.Time)) {
	f(n.now)
	n.drain(nd)
}

func (n *testNet) nextTime() clock.Time {
	t := clock.Never
	for _, p := range n.q {
		t = min(t, p.at)
	}
	for _, nd := range n.nodes {
		t = min(t, nd.m.NextDeadline())
		for _, g := range nd.glue {
			t = min(t, g.Deadline())
		}
	}
	return t
}

// step advances to the next instant and processes everything due then.
// It returns false when nothing is left to do before limit.
func (n *testNet) step(limit clock.Time) bool {
	t := n.nextTime()
	if t == clock.Never || t > limit {
		return false
	}
	if t > n.now {
		n.now = t
	}
	// Deliver due packets in (time, seq) order.
	slices.SortFunc(n.q, func(a, b pkt) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.seq - b.seq
	})
	for len(n.q) > 0 && n.q[0].at <= n.now {
		p := n.q[0]
		n.q = n.q[1:]
		if nd := n.node(p.to); nd != nil {
			nd.m.HandleDatagram(n.now, p.from, p.data)
			n.drain(nd)
		}
	}
	for _, nd := range n.nodes {
		if nd.m.NextDeadline() <= n.now {
			nd.m.HandleTimeout(n.now)
			n.drain(nd)
		}
		for _, g := range nd.glue {
			if g.Deadline() <= n.now {
				g.HandleTimeout(n.now)
				n.drain(nd)
			}
		}
	}
	return true
}

// runUntil steps until cond holds; it fails the test at limit.
func (n *testNet) runUntil(cond func() bool, d time.Duration) {
	n.t.Helper()
	limit := n.now.Add(d)
	for !cond() {
		if !n.step(limit) {
			n.t.Fatalf("condition not reached by %s (now %s)", limit, n.now)
		}
	}
}

// settle runs until nothing is left to do before now+d.
func (n *testNet) settle(d time.Duration) {
	limit := n.now.Add(d)
	for n.step(limit) {
	}
	n.now = max(n.now, limit)
}

// lossRate loses each datagram with probability rate, from a seeded stream.
func lossRate(seed uint64, rate float64) func(pkt) bool {
	r := rand.New(rand.NewPCG(seed, 99))
	return func(pkt) bool { return r.Float64() < rate }
}

func count(evs []session.Event, k session.EventKind) int {
	c := 0
	for _, e := range evs {
		if e.Kind == k {
			c++
		}
	}
	return c
}

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
