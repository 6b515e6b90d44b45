package session

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/session/security"
)

// Test keys (arbitrary constants; spec 4.13.2.6 names them I2R and R2I).
var (
	testI2R = [16]byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
	testR2I = [16]byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}
	addrA   = netip.MustParseAddrPort("[fd00::a]:5540")
	addrB   = netip.MustParseAddrPort("[fd00::b]:5540")
)

// constSource is a rand.Source that always returns v, so MRP jitter is a
// fixed r = float64(v>>11)/2^53.
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

// jitterHalf makes r = 0.5.
const jitterHalf = constSource(1 << 52)

func newManager(t testing.TB, cfg Config, seed uint64, jitter rand.Source) *Manager {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	m, err := New(cfg, rand.NewChaCha8(s), jitter)
	require.NoError(t, err)
	// The test protocol is handled on both kinds of session, and Secure
	// Channel on unsecured ones, as a PASE/CASE responder registers it.
	m.RegisterUnsolicited(Unsolicited{Protocol: testProto, AnyOpcode: true, Secure: true})
	m.RegisterUnsolicited(Unsolicited{Protocol: testProto, AnyOpcode: true})
	m.RegisterUnsolicited(Unsolicited{Protocol: message.ProtocolSecureChannel, AnyOpcode: true})
	return m
}

// testProto is the protocol id of test application messages.
const testProto = message.ProtocolID(4)

// node is one side of a test pair.
type node struct {
	name string
	m    *Manager
	addr netip.AddrPort
	ref  Ref
	enc  *security.CCM // to decode our sent datagrams in traces
	last Exchange      // exchange of the last delivered message
}

// pair is two Managers sharing a secure (PASE) session, a the initiator.
type pair struct {
	a, b *node
	now  clock.Time
}

func newPair(t testing.TB, cfg Config, seed uint64, jitter func() rand.Source) *pair {
	p := &pair{
		a: &node{name: "a", m: newManager(t, cfg, seed, jitter()), addr: addrA},
		b: &node{name: "b", m: newManager(t, cfg, seed+1, jitter()), addr: addrB},
	}
	ida, err := p.a.m.ReserveLocalID(0)
	require.NoError(t, err)
	idb, err := p.b.m.ReserveLocalID(0)
	require.NoError(t, err)
	p.a.ref, err = p.a.m.InstallSecureSession(0, SecureSession{Kind: PASE, Initiator: true, LocalID: ida, PeerID: idb, Peer: addrB, I2RKey: testI2R, R2IKey: testR2I})
	require.NoError(t, err)
	p.b.ref, err = p.b.m.InstallSecureSession(0, SecureSession{Kind: PASE, LocalID: idb, PeerID: ida, Peer: addrA, I2RKey: testI2R, R2IKey: testR2I})
	require.NoError(t, err)
	p.a.enc = security.NewCCM(testI2R)
	p.b.enc = security.NewCCM(testR2I)
	return p
}

func (p *pair) peer(n *node) *node {
	if n == p.a {
		return p.b
	}
	return p.a
}

// describe decodes a datagram sent by n for traces.
func describe(n *node, b []byte) string {
	var h message.Header
	hl, err := h.Decode(b)
	if err != nil {
		return "undecodable: " + err.Error()
	}
	pt := b[hl:]
	if h.IsSecure() {
		pt, err = security.OpenMessage(nil, n.enc, b, hl, 0)
		if err != nil {
			return "unopenable"
		}
	}
	var ph message.ProtocolHeader
	pn, err := ph.Decode(pt)
	if err != nil {
		return "bad protocol header"
	}
	s := fmt.Sprintf("ctr=%#x x=%d", h.Counter, ph.ExchangeID)
	if ph.Flags.Initiator() {
		s += " I"
	}
	if ph.Flags.Reliable() {
		s += " R"
	}
	if ph.Flags.Ack() {
		s += fmt.Sprintf(" A=%#x", ph.AckCounter)
	}
	s += fmt.Sprintf(" proto=%#x op=%#x len=%d", uint16(ph.ProtocolID), ph.Opcode, len(pt)-pn)
	return s
}

// ---- a tiny deterministic virtual network for property tests ----

type netEvent struct {
	at   clock.Time
	seq  uint64
	to   int
	from netip.AddrPort
	data []byte
}

type eventQueue []netEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(netEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

var _ heap.Interface = (*eventQueue)(nil)

// vnet wires Managers by address with loss and latency from a seeded stream.
type vnet struct {
	nodes   []*node
	q       eventQueue
	seq     uint64
	now     clock.Time
	rng     *rand.Rand
	loss    float64
	latency func() time.Duration
	onEvent func(i int, e Event)
}

func (v *vnet) index(a netip.AddrPort) int {
	for i, n := range v.nodes {
		if n.addr == a {
			return i
		}
	}
	return -1
}

// drain moves node i's outputs to the network and the event hook.
func (v *vnet) drain(i int) {
	n := v.nodes[i]
	for {
		o, ok := n.m.Poll()
		if !ok {
			return
		}
		if !o.IsDatagram() {
			if v.onEvent != nil {
				v.onEvent(i, o.Event)
			}
			continue
		}
		if v.rng.Float64() < v.loss {
			continue
		}
		to := v.index(o.To)
		if to < 0 {
			continue
		}
		v.seq++
		heap.Push(&v.q, netEvent{at: v.now.Add(v.latency()), seq: v.seq, to: to, from: n.addr, data: append([]byte(nil), o.Data...)})
	}
}

// step runs the earliest thing (a delivery or a node timer); false if idle.
func (v *vnet) step() bool {
	next := clock.Never
	who := -1
	for i, n := range v.nodes {
		if d := n.m.NextDeadline(); d < next {
			next, who = d, i
		}
	}
	if len(v.q) > 0 && v.q[0].at <= next {
		e := heap.Pop(&v.q).(netEvent)
		v.now = e.at
		v.nodes[e.to].m.HandleDatagram(v.now, e.from, e.data)
		v.drain(e.to)
		return true
	}
	if who < 0 {
		return false
	}
	v.now = next
	v.nodes[who].m.HandleTimeout(v.now)
	v.drain(who)
	return true
}

func clockAt(ms int) clock.Time { return clock.Time(int64(ms) * int64(time.Millisecond)) }
