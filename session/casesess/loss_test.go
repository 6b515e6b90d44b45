package casesess

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
)

// A lossy run over the real session core: two session.Managers exchange
// datagrams through a queue ordered by (time, seq) on the virtual clock
// with a seeded loss function (the pattern of nodes/pairing net_test.go),
// and a minimal CASE glue on each side sends every handshake message on one
// exchange of the unsecured session with R set, so MRP (spec 4.12)
// retransmits what the loss eats. Once both sides are established the
// glue installs the CASE sessions and the initiator sends a reliable
// message on it, which must arrive decrypted.

const lossLatency = 5 * time.Millisecond

type lpkt struct {
	at       clock.Time
	seq      int
	from, to netip.AddrPort
	data     []byte
}

type lnode struct {
	addr   netip.AddrPort
	m      *session.Manager
	events []session.Event
	handle func(now clock.Time, ev session.Event)
	dl     func() clock.Time
	tick   func(now clock.Time)
}

type lnet struct {
	t             *testing.T
	now           clock.Time
	seq           int
	q             []lpkt
	nodes         []*lnode
	lose          func() bool
	sent, dropped int
}

func (n *lnet) add(addr string, seed uint64) *lnode {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	m, err := session.New(session.Config{}, rand.NewChaCha8(s), rand.NewPCG(seed, 7))
	require.NoError(n.t, err)
	nd := &lnode{addr: netip.MustParseAddrPort(addr), m: m,
		dl: func() clock.Time { return clock.Never }, tick: func(clock.Time) {}}
	n.nodes = append(n.nodes, nd)
	return nd
}

func (n *lnet) drain(nd *lnode) {
	for {
		o, ok := nd.m.Poll()
		if !ok {
			return
		}
		if o.IsDatagram() {
			n.seq++
			n.sent++
			if n.lose() {
				n.dropped++
				continue
			}
			n.q = append(n.q, lpkt{at: n.now.Add(lossLatency), seq: n.seq, from: nd.addr, to: o.To, data: slices.Clone(o.Data)})
			continue
		}
		ev := o.Event
		ev.Payload = slices.Clone(ev.Payload)
		nd.events = append(nd.events, ev)
		if nd.handle != nil {
			nd.handle(n.now, ev)
		}
	}
}

func (n *lnet) step(limit clock.Time) bool {
	t := clock.Never
	for _, p := range n.q {
		t = min(t, p.at)
	}
	for _, nd := range n.nodes {
		t = min(t, nd.m.NextDeadline(), nd.dl())
	}
	if t == clock.Never || t > limit {
		return false
	}
	n.now = max(n.now, t)
	slices.SortFunc(n.q, func(a, b lpkt) int {
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
		for _, nd := range n.nodes {
			if nd.addr == p.to {
				nd.m.HandleDatagram(n.now, p.from, p.data)
				n.drain(nd)
			}
		}
	}
	for _, nd := range n.nodes {
		if nd.m.NextDeadline() <= n.now {
			nd.m.HandleTimeout(n.now)
			n.drain(nd)
		}
		if nd.dl() <= n.now {
			nd.tick(n.now)
			n.drain(nd)
		}
	}
	return true
}

func (n *lnet) runUntil(cond func() bool, d time.Duration) {
	n.t.Helper()
	limit := n.now.Add(d)
	for !cond() {
		if !n.step(limit) {
			n.t.Fatalf("condition not reached by %s (now %s)", limit, n.now)
		}
	}
}

func send(now clock.Time, m *session.Manager, x session.Exchange, out Output) error {
	return m.Send(now, x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
}

// caseSides wires an initiator on ctl and a responder on dev and returns
// functions reporting the installed sessions (or the handshake errors).
type caseRun struct {
	iRef, rRef session.Ref
	iRes, rRes Result
	iErr, rErr error
	iDone      bool
	rDone      bool
}

func wireCASE(t *testing.T, n *lnet, ctl, dev *lnode, fab *testca.Fabric, seed uint64, iTab, rTab *Resumption) *caseRun {
	run := &caseRun{}
	now := n.now
	ctlFab, devFab := fabricOf(t, fab, 1, 0), fabricOf(t, fab, 1, 1)

	// Responder: a CASE responder per Sigma1 exchange.
	dev.m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolSecureChannel, Opcode: OpSigma1})
	dev.m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, AnyOpcode: true, Secure: true})
	var resp *Responder
	var rx session.Exchange
	rRand := seeded(seed + 1)
	dev.dl = func() clock.Time {
		if resp == nil {
			return clock.Never
		}
		return resp.Deadline()
	}
	dev.tick = func(now clock.Time) {
		if _, err := resp.HandleTimeout(now); err != nil {
			run.rErr, run.rDone = err, true
		}
	}
	dev.handle = func(now clock.Time, ev session.Event) {
		if ev.Kind != session.EventMessage || ev.Protocol != message.ProtocolSecureChannel {
			return
		}
		if resp == nil && ev.Opcode == OpSigma1 {
			id, err := dev.m.ReserveLocalID(now)
			require.NoError(t, err)
			resp, err = NewResponder(ResponderConfig{Fabrics: []*Fabric{devFab}, LocalSessionID: id, Params: rParams,
				Rand: rRand, Epoch: testEpoch, Resumption: rTab})
			require.NoError(t, err)
			rx = ev.Exchange
		}
		if resp == nil || ev.Exchange != rx || run.rDone {
			return
		}
		out, err := resp.Handle(now, ev.Opcode, ev.Payload)
		if out.Send {
			require.NoError(t, send(now, dev.m, rx, out))
		}
		if err != nil {
			run.rErr, run.rDone = err, true
			return
		}
		if out.Done {
			res, _ := resp.Result()
			ref, err := dev.m.InstallSecureSession(now, session.SecureSession{Kind: session.CASE,
				LocalID: res.LocalSessionID, PeerID: res.PeerSessionID, Peer: ev.From,
				LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID),
				I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I, FabricIndex: res.FabricIndex})
			require.NoError(t, err)
			run.rRef, run.rRes, run.rDone = ref, res, true
			_ = dev.m.CloseExchange(now, rx)
		}
	}

	// Initiator.
	id, err := ctl.m.ReserveLocalID(now)
	require.NoError(t, err)
	ini, err := NewInitiator(InitiatorConfig{Fabric: ctlFab, PeerNodeID: fab.NodeID(1), LocalSessionID: id,
		Params: iParams, Rand: seeded(seed), Epoch: testEpoch, Resumption: iTab})
	require.NoError(t, err)
	unsec, err := ctl.m.OpenUnsecured(now, dev.addr)
	require.NoError(t, err)
	_ = ctl.m.MarkPeerActive(now, unsec)
	ix, err := ctl.m.NewExchange(unsec)
	require.NoError(t, err)
	ctl.dl = ini.Deadline
	ctl.tick = func(now clock.Time) {
		if _, err := ini.HandleTimeout(now); err != nil {
			run.iErr, run.iDone = err, true
		}
	}
	ctl.handle = func(now clock.Time, ev session.Event) {
		if ev.Session != unsec || ev.Exchange != ix || run.iDone {
			return
		}
		switch ev.Kind {
		case session.EventGiveUp:
			run.iErr, run.iDone = fmt.Errorf("MRP gave up after %d transmissions", ev.Attempt), true
			return
		case session.EventMessage:
		default:
			return
		}
		out, err := ini.Handle(now, ev.Opcode, ev.Payload)
		if out.Send {
			require.NoError(t, send(now, ctl.m, ix, out))
		}
		if err != nil {
			run.iErr, run.iDone = err, true
			return
		}
		if out.Done {
			res, _ := ini.Result()
			ref, err := ctl.m.InstallSecureSession(now, session.SecureSession{Kind: session.CASE, Initiator: true,
				LocalID: res.LocalSessionID, PeerID: res.PeerSessionID, Peer: dev.addr,
				LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID),
				I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I, FabricIndex: res.FabricIndex})
			require.NoError(t, err)
			run.iRef, run.iRes, run.iDone = ref, res, true
			_ = ctl.m.CloseExchange(now, ix)
		}
	}
	out, err := ini.Start(now)
	require.NoError(t, err)
	require.NoError(t, send(now, ctl.m, ix, out))
	n.drain(ctl)
	return run
}

func countKind(evs []session.Event, k session.EventKind) int {
	c := 0
	for _, e := range evs {
		if e.Kind == k {
			c++
		}
	}
	return c
}

// Spec 4.12 under loss: with 20% of datagrams lost in both directions MRP
// retransmits the CASE messages, every full handshake and every
// resumption completes, and a reliable message on the new CASE session
// arrives decrypted at the responder.
func TestCASEUnderLoss(t *testing.T) {
	fab := mint(t, testca.Options{Seed: 21, ICAC: true})
	retransmits, dropped := 0, 0
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			n := &lnet{t: t, lose: func() bool { return r.Float64() < 0.20 }}
			ctl := n.add("[fd00::c]:5540", seed*10)
			dev := n.add("[fd00::d]:5540", seed*10+1)
			iTab, rTab := NewResumption(0), NewResumption(0)
			for round, resumed := range []bool{false, true} {
				run := wireCASE(t, n, ctl, dev, fab, seed*100+uint64(round), iTab, rTab)
				n.runUntil(func() bool { return run.iDone && run.rDone }, 2*time.Minute)
				require.NoError(t, run.iErr)
				require.NoError(t, run.rErr)
				require.Equal(t, resumed, run.iRes.Resumed)
				require.Equal(t, run.iRes.Keys, run.rRes.Keys)

				// A reliable message on the CASE session reaches the device.
				x, err := ctl.m.NewExchange(run.iRef)
				require.NoError(t, err)
				payload := []byte(fmt.Sprintf("hello over CASE, round %d", round))
				require.NoError(t, ctl.m.Send(n.now, x, session.Message{Protocol: message.ProtocolInteractionModel,
					Opcode: 0x02, Payload: payload, Reliable: true}))
				n.drain(ctl)
				got := func() bool {
					for _, ev := range dev.events {
						if ev.Kind == session.EventMessage && ev.Session == run.rRef && string(ev.Payload) == string(payload) {
							return true
						}
					}
					return false
				}
				n.runUntil(got, 2*time.Minute)
				require.Zero(t, countKind(dev.events, session.EventMICFailure))
			}
			retransmits += countKind(ctl.events, session.EventRetransmit) + countKind(dev.events, session.EventRetransmit)
			dropped += n.dropped
		})
	}
	t.Logf("%d datagrams lost, %d retransmissions", dropped, retransmits)
	require.Greater(t, dropped, 20, "the loss function lost too little")
	require.Positive(t, retransmits, "20%% loss never made MRP retransmit a message")
}
