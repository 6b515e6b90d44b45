package nodes_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
)

// fakeNet is a minimal in-memory network for two or three nodes: every
// datagram arrives 1 ms after it is sent, in send order; each node has its
// one timer. It stands in for the simulator, which nodes must not import.
type fakeNet struct {
	now   clock.Time
	q     []pkt
	trs   []*fakeTr
	drop  func(p pkt) bool // drops a genuine datagram when true
	sent  []pkt            // every genuine datagram, for replays
	injIn bool             // the datagram being delivered is injected
}

type pkt struct {
	at       clock.Time
	from, to netip.AddrPort
	data     []byte
	injected bool
}

type fakeTr struct {
	net   *fakeNet
	addr  netip.AddrPort
	node  *nodes.Node
	timer clock.Time
	sets  int
}

func (t *fakeTr) Send(to netip.AddrPort, b []byte) error {
	p := pkt{at: t.net.now.Add(time.Millisecond), from: t.addr, to: to, data: append([]byte(nil), b...)}
	t.net.sent = append(t.net.sent, p)
	if t.net.drop != nil && t.net.drop(p) {
		return nil
	}
	t.net.q = append(t.net.q, p)
	return nil
}
func (t *fakeTr) SetTimer(at clock.Time)    { t.timer = at; t.sets++ }
func (t *fakeTr) LocalAddr() netip.AddrPort { return t.addr }
func (t *fakeTr) Injected() bool            { return t.net.injIn }

var (
	_ nodes.Transport = (*fakeTr)(nil)
	_ nodes.Marker    = (*fakeTr)(nil)
)

func (f *fakeNet) add(n *nodes.Node) *fakeTr {
	a := netip.AddrPortFrom(netip.AddrFrom16([16]byte{0xfd, 15: byte(len(f.trs) + 1)}), 5540)
	t := &fakeTr{net: f, addr: a, node: n, timer: clock.Never}
	n.Attach(t)
	f.trs = append(f.trs, t)
	return t
}

// inject queues a forged datagram, marked injected, to arrive in 1 ms.
func (f *fakeNet) inject(from, to netip.AddrPort, b []byte) {
	f.q = append(f.q, pkt{at: f.now.Add(time.Millisecond), from: from, to: to, data: b, injected: true})
}

// step runs the earliest datagram or timer at or before until.
func (f *fakeNet) step(until clock.Time) bool {
	at, qi, ti := clock.Never, -1, -1
	if len(f.q) > 0 {
		at, qi = f.q[0].at, 0
	}
	for i, t := range f.trs {
		if t.timer < at {
			at, qi, ti = t.timer, -1, i
		}
	}
	if at > until {
		return false
	}
	f.now = max(f.now, at)
	if ti >= 0 {
		t := f.trs[ti]
		t.timer = clock.Never
		t.node.HandleTimer(f.now)
		return true
	}
	p := f.q[qi]
	f.q = f.q[1:]
	for _, t := range f.trs {
		if t.addr == p.to {
			f.injIn = p.injected
			t.node.HandleDatagram(f.now, p.from, p.data)
			f.injIn = false
		}
	}
	return true
}

func (f *fakeNet) runUntil(t clock.Time) {
	for f.step(t) {
	}
	f.now = max(f.now, t)
}

func newNode(t *testing.T, i int, w nodes.Workload) *nodes.Node {
	t.Helper()
	m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{byte(i)}), rand.NewPCG(uint64(i), 1))
	require.NoError(t, err)
	return nodes.New(i, message.NodeID(0x1000+i), m, w)
}

// pair builds a controller (Reader) and a device (Responder) with an
// installed CASE session.
func pair(t *testing.T, interval time.Duration) (*fakeNet, *nodes.Node, *nodes.Node, *nodes.Reader, *nodes.Responder, nodes.Pair) {
	t.Helper()
	f := &fakeNet{}
	rd := &nodes.Reader{Interval: interval}
	rs := &nodes.Responder{Model: nodes.DeviceModel(1)}
	c, d := newNode(t, 0, rd), newNode(t, 1, rs)
	f.add(c)
	f.add(d)
	est := &nodes.InstallKeys{Keys: rand.NewChaCha8([32]byte{42})}
	var got nodes.Pair
	est.Establish(0, c, d, func(_ clock.Time, p nodes.Pair, err error) {
		require.NoError(t, err)
		got = p
	})
	rd.AddPeer(got.InitiatorRef)
	return f, c, d, rd, rs, got
}

func TestReadOverSecureSession(t *testing.T) {
	f, c, d, rd, rs, p := pair(t, time.Second)
	require.True(t, p.InitiatorRef.Secure())
	require.True(t, p.ResponderRef.Secure())
	require.Equal(t, uint64(1), c.Stats().SessionsOpened)
	require.Equal(t, uint64(1), d.Stats().SessionsOpened)

	c.Start(0)
	// Start armed the transport timer at the first read (one peer: offset 0).
	require.Equal(t, clock.Time(0), f.trs[0].timer)
	f.runUntil(clock.Time(10*time.Second - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(time.Minute))

	s := rd.Stats()
	require.Equal(t, uint64(10), s.Requests) // reads at 0, 1 s, ..., 9 s
	require.Equal(t, s.Requests, s.Answered)
	require.Zero(t, rd.InFlight())
	require.Equal(t, uint64(10), rs.Stats().Requests)
	require.Equal(t, uint64(10), rs.Stats().Responses)
	// Each read: request, response, and the standalone ack the controller
	// flushes when it closes the exchange. Device: one response per read.
	require.Equal(t, uint64(20), c.Stats().Sent)
	require.Equal(t, uint64(10), d.Stats().Sent)
	require.Equal(t, uint64(10), c.Stats().Delivered)
	require.Equal(t, uint64(10), d.Stats().Delivered)
	require.Equal(t, uint64(10), c.Stats().Acks)
	require.Equal(t, uint64(10), d.Stats().Acks)
	// Quiescent: no timer left on either node.
	require.Equal(t, clock.Never, f.trs[0].timer)
	require.Equal(t, clock.Never, f.trs[1].timer)
}

func TestReadGiveUpAndTimeout(t *testing.T) {
	f, c, d, rd, _, _ := pair(t, time.Minute)
	ctrl, dev := f.trs[0].addr, f.trs[1].addr
	// First read: every controller datagram lost → MRP give-up.
	// Second read: every response lost (standalone acks, 34 bytes, pass)
	// → the device gives its response up and the controller, whose request
	// was acked, times out.
	phase := 1
	f.drop = func(p pkt) bool {
		return (phase == 1 && p.from == ctrl) || (phase == 2 && p.from == dev && len(p.data) > 40)
	}
	c.Start(0)
	f.runUntil(clock.Time(50 * time.Second))
	require.Equal(t, uint64(1), rd.Stats().GaveUp)
	require.Equal(t, uint64(1), c.Stats().GiveUps)
	phase = 2
	f.runUntil(clock.Time(2*time.Minute - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(5 * time.Minute))
	s := rd.Stats()
	require.Equal(t, uint64(2), s.Requests)
	require.Equal(t, uint64(1), s.TimedOut)
	require.Zero(t, s.Answered)
	require.Equal(t, uint64(1), d.Stats().GiveUps)
	require.Equal(t, uint64(4+1), c.Stats().Retransmissions) // read 1: 5 transmissions; read 2: 1 retransmission, acked
	require.Equal(t, uint64(4), d.Stats().Retransmissions)
	require.Equal(t, clock.Never, f.trs[0].timer)
}

func TestInjectedVerdicts(t *testing.T) {
	f, c, d, _, _, _ := pair(t, time.Minute)
	ctrl, dev := f.trs[0].addr, f.trs[1].addr
	// Lose the first request so its later injection is a first copy.
	lost := false
	f.drop = func(p pkt) bool {
		if !lost && p.from == ctrl {
			lost = true
			return true
		}
		return false
	}
	c.Start(0)
	f.runUntil(clock.Time(10 * time.Second))
	c.Stop(f.now)
	f.runUntil(clock.Time(time.Minute))
	require.Equal(t, uint64(1), c.Stats().Retransmissions)
	first := f.sent[0].data // the lost request (its retransmission was delivered)
	last := f.sent[len(f.sent)-1]
	require.Equal(t, ctrl, last.from)

	// 1. A replay of a delivered message: duplicate.
	f.inject(ctrl, dev, first)
	// 2. A tampered copy: MIC failure (spec 4.7.2).
	bad := append([]byte(nil), first...)
	bad[len(bad)-1] ^= 1
	f.inject(ctrl, dev, bad)
	// 3. Not a Matter message at all.
	f.inject(ctrl, dev, []byte{1, 2})
	// 4. An unknown session id.
	unk := append([]byte(nil), first...)
	unk[1] ^= 0xff
	f.inject(ctrl, dev, unk)
	f.runUntil(f.now.Add(time.Second))
	in := d.Stats().Injected
	require.Equal(t, nodes.InjectedStats{Received: 4, Duplicate: 1, MICFailure: 1, Malformed: 1, UnknownSession: 1}, in)
	require.Equal(t, uint64(4), in.Refused())
	// Injected verdicts also reach the general counters (the lost first
	// copy means no genuine duplicate).
	require.Equal(t, uint64(1), d.Stats().Duplicates)
	require.Equal(t, uint64(1), d.Stats().MICFailures)

	// 5. A message the receiver never got (sent while the device was cut
	// off), delivered by the adversary: new to the window, delivered.
	f.drop = func(p pkt) bool { return p.from == ctrl }
	_ = c.Do(f.now, func(m *session.Manager) error {
		ex, err := m.NewExchange(m.Sessions()[0])
		require.NoError(t, err)
		return m.Send(f.now, ex, session.Message{Protocol: nodes.SenderProtocol, Vendor: nodes.SenderVendor, Opcode: 1, Payload: []byte("x")})
	})
	f.drop = nil
	f.inject(ctrl, dev, f.sent[len(f.sent)-1].data)
	f.runUntil(f.now.Add(time.Second))
	require.Equal(t, uint64(1), d.Stats().Injected.Accepted)
	require.Equal(t, uint64(5), d.Stats().Injected.Received)
}

func TestInstallKeysNeedsKeys(t *testing.T) {
	f := &fakeNet{}
	a, b := newNode(t, 0, nil), newNode(t, 1, nil)
	f.add(a)
	f.add(b)
	var err error
	(&nodes.InstallKeys{}).Establish(0, a, b, func(_ clock.Time, _ nodes.Pair, e error) { err = e })
	require.ErrorContains(t, err, "no key stream")
	require.Empty(t, a.Manager().Sessions())
}

// The periodic one-way workload: reliable sends are acked at once (the
// device's Responder closes the exchange, flushing the ack), and a send
// whose transmissions are all lost is given up.
func TestSenderOneWay(t *testing.T) {
	f, c, d, _, rs, p := pair(t, time.Hour)
	snd := &nodes.Sender{Peer: p.InitiatorRef, Interval: time.Second, Reliable: true, Size: 16}
	c2 := nodes.New(0, c.NodeID(), c.Manager(), nodes.Workloads{snd})
	c2.Attach(f.trs[0])
	f.trs[0].node = c2
	c2.Start(0)
	f.runUntil(clock.Time(5*time.Second + 500*time.Millisecond))
	require.Equal(t, uint64(5), snd.Stats().Sent) // at 1 s ... 5 s
	require.Equal(t, uint64(5), snd.Stats().Acked)
	require.Equal(t, uint64(5), rs.Stats().OneWay)
	require.Zero(t, rs.Stats().Requests)
	require.Equal(t, uint64(5), d.Stats().Sent) // one standalone ack each, sent at once

	ctrl := f.trs[0].addr
	f.drop = func(q pkt) bool { return q.from == ctrl }
	f.runUntil(clock.Time(6*time.Second + 1))
	c2.Stop(f.now)
	f.runUntil(clock.Time(time.Minute))
	require.Equal(t, uint64(6), snd.Stats().Sent)
	require.Equal(t, uint64(1), snd.Stats().GaveUp)
	require.Equal(t, clock.Never, f.trs[0].timer)
}
