package pairing

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/pase"
	"mattersim/session/spake2p"
)

const testPasscode = 20202021

var testSalt = []byte("SPAKE2P Key Salt") // SDK Test Set #01 salt (connectedhomeip src/protocols/secure_channel/tests/TestPASESession.cpp)

// device builds a responder node with the interop light's data model
// behind an im.Server on its secure sessions.
func device(t testing.TB, n *testNet, seed uint64, cfg ResponderConfig) (*tnode, *Responder) {
	t.Helper()
	nd := n.add("device", "[fd00::d]:5540", seed)
	ver, err := spake2p.ComputeVerifier(testPasscode, testSalt, 1000)
	require.NoError(t, err)
	cfg.Verifier, cfg.Salt, cfg.Iterations = ver, testSalt, 1000
	if cfg.Rand == nil {
		cfg.Rand = seededReader(seed)
	}
	r, err := NewResponder(nd.m, cfg)
	require.NoError(t, err)
	nd.glue = append(nd.glue, r)
	nd.m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, AnyOpcode: true, Secure: true})
	srv := im.NewServer(im.NewLight(im.InteropBasicInfo(), 1).Node)
	nd.app = func(now clock.Time, ev session.Event) {
		if ev.Kind != session.EventMessage || !ev.Session.Secure() || ev.Protocol != message.ProtocolInteractionModel || ev.Exchange.Initiator {
			return
		}
		op, out, ok := srv.Handle(nil, im.Opcode(ev.Opcode), ev.Payload)
		if ok {
			require.NoError(t, nd.m.Send(now, ev.Exchange, session.Message{Protocol: message.ProtocolInteractionModel,
				Opcode: uint8(op), Payload: out, Reliable: true}))
		}
		require.NoError(t, nd.m.CloseExchange(now, ev.Exchange))
	}
	return nd, r
}

// controller adds an initiator node.
func controller(n *testNet, name, addr string, seed uint64) *tnode {
	return n.add(name, addr, seed)
}

func startPair(t testing.TB, n *testNet, nd *tnode, peer *tnode, passcode uint32, seed uint64, timeout time.Duration) *Initiator {
	t.Helper()
	var p *Initiator
	n.do(nd, func(now clock.Time) {
		var err error
		p, err = StartInitiator(now, nd.m, InitiatorConfig{Peer: peer.addr, Passcode: passcode,
			Rand: seededReader(seed), Timeout: timeout})
		require.NoError(t, err)
		nd.glue = append(nd.glue, p)
	})
	return p
}

func notices(r *Responder) []Notice {
	var ns []Notice
	for {
		n, ok := r.Poll()
		if !ok {
			return ns
		}
		ns = append(ns, n)
	}
}

func onlySecure(t testing.TB, m *session.Manager) {
	t.Helper()
	for _, ref := range m.Sessions() {
		require.True(t, ref.Secure(), "unsecured session %s left behind", ref)
	}
}

// readVendorName reads BasicInformation.VendorName over the PASE session
// of p and returns it.
func readVendorName(t testing.TB, n *testNet, nd *tnode, ref session.Ref) string {
	t.Helper()
	var got *im.ReportData
	var x session.Exchange
	prev := nd.app
	nd.app = func(now clock.Time, ev session.Event) {
		if ev.Kind == session.EventMessage && ev.Exchange == x {
			rd, err := im.ParseReadResponse(im.Opcode(ev.Opcode), ev.Payload)
			require.NoError(t, err)
			got = rd
			require.NoError(t, nd.m.CloseExchange(now, x))
		}
	}
	defer func() { nd.app = prev }()
	n.do(nd, func(now clock.Time) {
		var err error
		x, err = nd.m.NewExchange(ref)
		require.NoError(t, err)
		req := im.NewReadRequest(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName))
		require.NoError(t, nd.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel,
			Opcode: uint8(im.OpReadRequest), Payload: im.AppendReadRequest(nil, req), Reliable: true}))
	})
	n.runUntil(func() bool { return got != nil }, 30*time.Second)
	v, err := got.Value(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName))
	require.NoError(t, err)
	s, err := v.String()
	require.NoError(t, err)
	return s
}

// Spec 4.14.1: a complete PASE between two Managers, both sessions
// installed with matching keys and ids, unsecured sessions removed, then
// an encrypted IM read over it (spec 8.4.3).
func TestSpec_4_14_1_PASEThenRead(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, testPasscode, 3, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.NoError(t, p.Err())
	est, ok := p.Session()
	require.True(t, ok)

	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeEstablished, ns[0].Kind)
	require.Equal(t, ctl.addr, ns[0].Peer)
	// Keys and ids agree crosswise.
	require.Equal(t, est.Result.I2RKey, ns[0].Result.I2RKey)
	require.Equal(t, est.Result.R2IKey, ns[0].Result.R2IKey)
	require.Equal(t, est.Result.LocalSessionID, ns[0].Result.PeerSessionID)
	require.Equal(t, est.Result.PeerSessionID, ns[0].Result.LocalSessionID)
	require.Equal(t, est.Ref.LocalID, est.Result.LocalSessionID)
	require.Equal(t, ns[0].Session.LocalID, ns[0].Result.LocalSessionID)
	info, ok := ctl.m.SessionInfo(est.Ref)
	require.True(t, ok)
	require.Equal(t, session.PASE, info.Kind)
	require.Equal(t, est.Result.PeerSessionID, info.PeerID)

	// The device drops its unsecured session once its StatusReport is
	// acked; the controller retires its own and keeps it for the linger
	// (a lost final ack is then answered again), then removes it.
	n.settle(time.Second)
	onlySecure(t, dev.m)
	require.False(t, p.Idle())
	require.Len(t, ctl.m.Sessions(), 2)
	n.settle(ctl.m.Config().UnsecuredLinger)
	require.True(t, p.Idle())
	onlySecure(t, ctl.m)

	require.Equal(t, im.InteropBasicInfo().VendorName, readVendorName(t, n, ctl, est.Ref))

	// CloseSession (spec 4.11.1.4) frees the device's pairing slot.
	n.do(ctl, func(now clock.Time) { require.NoError(t, ctl.m.CloseSession(now, est.Ref)) })
	n.settle(time.Second)
	ns = notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeReleased, ns[0].Kind)
	require.Empty(t, dev.m.Sessions())

	p2 := startPair(t, n, ctl, dev, testPasscode, 4, 0)
	n.runUntil(p2.Done, 10*time.Second)
	require.NoError(t, p2.Err())
}

// Spec 4.12 under loss: with 20% of datagrams lost in both directions MRP
// retransmits the handshake messages and every handshake completes; the
// read over the new session completes too.
func TestPASEUnderLoss(t *testing.T) {
	retransmits, dropped := 0, 0
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			n := newNet(t)
			n.lose = lossRate(seed, 0.20)
			dev, r := device(t, n, seed*10, ResponderConfig{})
			ctl := controller(n, "ctl", "[fd00::c]:40000", seed*10+1)
			p := startPair(t, n, ctl, dev, testPasscode, seed*10+2, 0)
			n.runUntil(p.Done, 60*time.Second)
			require.NoError(t, p.Err())
			est, _ := p.Session()
			n.runUntil(func() bool {
				for _, no := range notices(r) {
					if no.Kind == NoticeEstablished {
						return true
					}
				}
				return false
			}, 60*time.Second)
			require.Equal(t, im.InteropBasicInfo().VendorName, readVendorName(t, n, ctl, est.Ref))
			n.settle(30 * time.Second)
			onlySecure(t, ctl.m)
			onlySecure(t, dev.m)
			retransmits += count(ctl.events, session.EventRetransmit) + count(dev.events, session.EventRetransmit)
			dropped += n.dropped
		})
	}
	require.Greater(t, dropped, 20, "the loss function lost too little")
	require.Positive(t, retransmits, "20%% loss never made MRP retransmit a message")
}

// Wrong passcode: the initiator detects that cB does not verify and says
// so with a typed error; it tells the device (FAILURE/INVALID_PARAMETER),
// which counts the failed attempt and serves the next pairing.
func TestWrongPasscode(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{MaxFailures: 3})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)

	p := startPair(t, n, ctl, dev, 20202022, 3, 0)
	n.runUntil(p.Done, 10*time.Second)
	err := p.Err()
	require.ErrorIs(t, err, pase.ErrWrongPasscode)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, RoleInitiator, pe.Role)
	require.Equal(t, dev.addr, pe.Peer)
	require.Contains(t, err.Error(), "wrong passcode")
	_, ok := p.Session()
	require.False(t, ok)

	n.settle(10 * time.Second) // past the controller's linger
	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeFailed, ns[0].Kind)
	require.ErrorIs(t, ns[0].Err, pase.ErrWrongPasscode)
	require.Contains(t, ns[0].Err.Error(), "wrong passcode")
	require.Equal(t, 1, ns[0].Failures)
	require.Equal(t, 1, r.Failures())
	require.Empty(t, ctl.m.Sessions())
	require.Empty(t, dev.m.Sessions())

	// The window stays open below MaxFailures.
	p2 := startPair(t, n, ctl, dev, testPasscode, 4, 0)
	n.runUntil(p2.Done, 10*time.Second)
	require.NoError(t, p2.Err())
}

// The responder closes its window after MaxFailures (matter.js 20, SDK
// kMaxFailedCommissioningAttempts); later requests are refused.
func TestWindowClosesAfterMaxFailures(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{MaxFailures: 2})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	for i := range 2 {
		p := startPair(t, n, ctl, dev, 11112222, uint64(10+i), 0)
		n.runUntil(p.Done, 10*time.Second)
		require.ErrorIs(t, p.Err(), pase.ErrWrongPasscode)
		n.settle(time.Second)
	}
	ns := notices(r)
	require.Len(t, ns, 2)
	require.ErrorIs(t, ns[1].Err, pase.ErrWindowClosed)

	p := startPair(t, n, ctl, dev, testPasscode, 20, 2*time.Second)
	n.runUntil(p.Done, 10*time.Second)
	require.ErrorIs(t, p.Err(), pase.ErrTimeout) // a closed window answers nothing
	// ... but acknowledges the request, which is how pair can tell.
	require.Contains(t, p.Err().Error(), "it acknowledged our PBKDFParamRequest but never answered; its commissioning window is closed")
	ns = notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeRefused, ns[0].Kind)
	require.ErrorIs(t, ns[0].Err, pase.ErrWindowClosed)
}

// AbortTimedOut, for a caller whose deadline passes just before the
// handshake's timer: the same timeout error the timer would give, with
// the closed-window hint when the request was acked and ignored.
func TestAbortTimedOut(t *testing.T) {
	n := newNet(t)
	dev, _ := device(t, n, 1, ResponderConfig{MaxFailures: 1})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, 11112222, 10, 0)
	n.runUntil(p.Done, 10*time.Second)
	n.settle(time.Second)
	p = startPair(t, n, ctl, dev, testPasscode, 11, 2*time.Second)
	n.settle(1900 * time.Millisecond)
	require.False(t, p.Done())
	n.do(ctl, func(now clock.Time) { p.AbortTimedOut(now, 2*time.Second) })
	require.ErrorIs(t, p.Err(), pase.ErrTimeout)
	require.Contains(t, p.Err().Error(), "timed out after 2s waiting for PBKDFParamResponse from [fd00::d]:5540: it acknowledged our PBKDFParamRequest")
}

// ReopenAfter: the window closed by MaxFailures re-opens that long after
// the failure that closed it, with the count reset; a correct pairing then
// succeeds. Before that instant a request is refused.
func TestWindowReopensAfter(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{MaxFailures: 1, ReopenAfter: 30 * time.Second})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, 11112222, 10, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.ErrorIs(t, p.Err(), pase.ErrWrongPasscode)
	n.settle(time.Second) // the device learns of the failure from our StatusReport
	ns := notices(r)
	require.Len(t, ns, 1)
	require.ErrorIs(t, ns[0].Err, pase.ErrWindowClosed)
	closedAt := ns[0].At
	require.Equal(t, closedAt.Add(30*time.Second), r.Deadline())

	p = startPair(t, n, ctl, dev, testPasscode, 11, 2*time.Second)
	n.runUntil(p.Done, 10*time.Second)
	require.ErrorIs(t, p.Err(), pase.ErrTimeout)
	ns = notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeRefused, ns[0].Kind)

	n.settle(40 * time.Second)
	ns = notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeReopened, ns[0].Kind)
	require.Equal(t, closedAt.Add(30*time.Second), ns[0].At)
	require.Equal(t, 0, r.Failures())

	p = startPair(t, n, ctl, dev, testPasscode, 12, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.NoError(t, p.Err())
}

// The failed attempt that closes the window is named by its cause; only a
// request refused because the window is already closed says "refused".
func TestWindowClosingErrorNamesCause(t *testing.T) {
	peer := netip.MustParseAddrPort("[fd00::c]:40000")
	cause := fmt.Errorf("%w: pA is not on the curve", pase.ErrInvalidParameter)
	closing := &Error{Role: RoleResponder, Peer: peer, Waiting: "Pake1",
		Err: &pase.AttemptError{Err: cause, Failures: 20, MaxFailures: 20, WindowClosed: true}}
	require.ErrorIs(t, closing, pase.ErrWindowClosed)
	require.Contains(t, closing.Error(), "pA is not on the curve")
	require.Contains(t, closing.Error(), "failed attempt 20/20; commissioning window closed")
	require.NotContains(t, closing.Error(), "refused")

	refused := &Error{Role: RoleResponder, Peer: peer, Err: pase.ErrWindowClosed}
	require.Contains(t, refused.Error(), "refused a PBKDFParamRequest from [fd00::c]:40000: commissioning window closed")
}

// Timeouts on the Manager's clock: with a silent peer the handshake ends at
// the configured timeout, naming what it waited for.
func TestTimeoutSilentPeer(t *testing.T) {
	n := newNet(t)
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	nowhere := &tnode{addr: ctl.addr}
	nowhere.addr = netipMust("[fd00::99]:5540")
	start := n.now
	p := startPair(t, n, ctl, nowhere, testPasscode, 3, 2*time.Second)
	n.runUntil(p.Done, 10*time.Second)
	require.ErrorIs(t, p.Err(), pase.ErrTimeout)
	require.Equal(t, start.Add(2*time.Second), n.now)
	require.Equal(t, "timed out after 2s waiting for PBKDFParamResponse from [fd00::99]:5540", p.Err().Error())
	n.settle(30 * time.Second)
	require.Empty(t, ctl.m.Sessions())
}

// Spec 4.12.2.1: with a long timeout, MRP gives up on the unacknowledged
// PBKDFParamRequest first, and that ends the handshake with ErrNoAck.
func TestGiveUpSilentPeer(t *testing.T) {
	n := newNet(t)
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	nowhere := &tnode{addr: netipMust("[fd00::99]:5540")}
	p := startPair(t, n, ctl, nowhere, testPasscode, 3, time.Minute)
	n.runUntil(p.Done, time.Minute)
	require.ErrorIs(t, p.Err(), ErrNoAck)
	require.Less(t, n.now, clock.Time(0).Add(time.Minute))
	require.Contains(t, p.Err().Error(), "PBKDFParamRequest sent 5 times")
	n.settle(10 * time.Second) // past the linger
	require.Empty(t, ctl.m.Sessions())
}

// One pairing at a time (matter.js PaseServer, SDK PASESession): a second
// commissioner gets StatusReport BUSY; the first completes undisturbed.
func TestBusy(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{})
	a := controller(n, "a", "[fd00::a]:40000", 2)
	b := controller(n, "b", "[fd00::b]:40000", 3)
	pa := startPair(t, n, a, dev, testPasscode, 4, 0)
	n.step(n.now.Add(latency)) // a's request reaches the device first
	pb := startPair(t, n, b, dev, testPasscode, 5, 0)
	n.runUntil(func() bool { return pa.Done() && pb.Done() }, 10*time.Second)
	require.NoError(t, pa.Err())
	require.ErrorIs(t, pb.Err(), pase.ErrBusy)
	var got []NoticeKind
	for _, no := range notices(r) {
		got = append(got, no.Kind)
	}
	require.ElementsMatch(t, []NoticeKind{NoticeEstablished, NoticeRefused}, got)
	require.Equal(t, 0, r.Failures())
	n.settle(10 * time.Second) // past the controllers' linger
	onlySecure(t, dev.m)
	onlySecure(t, b.m)
}

// The fail-safe closes an established PASE session whose commissioner went
// quiet, and the next pairing is served.
func TestFailSafe(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{FailSafe: 5 * time.Second})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, testPasscode, 3, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.NoError(t, p.Err())
	n.settle(10 * time.Second)
	var kinds []NoticeKind
	for _, no := range notices(r) {
		kinds = append(kinds, no.Kind)
	}
	require.Equal(t, []NoticeKind{NoticeEstablished, NoticeFailSafe}, kinds)
	require.Empty(t, dev.m.Sessions())
	est, _ := p.Session()
	_, stillThere := ctl.m.SessionInfo(est.Ref)
	require.False(t, stillThere, "the device's CloseSession should have closed the controller's session")

	p2 := startPair(t, n, ctl, dev, testPasscode, 4, 0)
	n.runUntil(p2.Done, 10*time.Second)
	require.NoError(t, p2.Err())
}

// Abort sends FAILURE on the handshake exchange: the device ends the
// pairing at once (counted) instead of waiting for its timeout.
func TestAbortFreesDevice(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, testPasscode, 3, 0)
	n.runUntil(func() bool { return dev.m.NextDeadline() != clock.Never && r.State() == pase.StateWaitPake1 }, time.Second)
	cause := errors.New("interrupted")
	n.do(ctl, func(now clock.Time) { p.Abort(now, cause) })
	require.ErrorIs(t, p.Err(), cause)
	n.settle(10 * time.Second) // past the controller's linger
	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeFailed, ns[0].Kind)
	require.Equal(t, pase.StateIdle, r.State())
	require.Empty(t, dev.m.Sessions())
	require.Empty(t, ctl.m.Sessions())
}

// Finding 4 (lost final ack): the controller's standalone ack of the
// device's final StatusReport is lost; the device retransmits it, and the
// controller's retired unsecured session, still there, acks it again, so
// the device does not give up (connectedhomeip keeps the entry until the
// table reuses it). Removing the session at once left the retransmissions
// to meet an unknown session until the device gave up.
func TestLostFinalAckIsAckedAgain(t *testing.T) {
	n := newNet(t)
	dev, _ := device(t, n, 1, ResponderConfig{})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	var p *Initiator
	lost := 0
	n.lose = func(pk pkt) bool {
		if lost == 0 && p != nil && p.Done() && pk.from == ctl.addr {
			lost++
			return true
		}
		return false
	}
	p = startPair(t, n, ctl, dev, testPasscode, 3, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.NoError(t, p.Err())
	n.settle(ctl.m.Config().UnsecuredLinger + time.Second)
	require.Equal(t, 1, lost)
	require.Zero(t, count(dev.events, session.EventGiveUp), "the device gave up on its StatusReport")
	require.Positive(t, count(dev.events, session.EventRetransmit))
	require.Positive(t, count(ctl.events, session.EventDuplicate), "the retransmission was re-acked")
	require.True(t, p.Idle())
	onlySecure(t, ctl.m)
	onlySecure(t, dev.m)
}

func TestConfigErrors(t *testing.T) {
	m := seededManager(t, 1, session.Config{})
	peer := netipMust("[::1]:5540")
	for i, tc := range []struct {
		cfg  InitiatorConfig
		want error
	}{
		{InitiatorConfig{Peer: peer, Passcode: 20202021}, pase.ErrConfig},                        // 1: no Rand
		{InitiatorConfig{Peer: peer, Passcode: 12345678, Rand: seededReader(1)}, pase.ErrConfig}, // 2: invalid passcode (spec 5.1.7.1)
		{InitiatorConfig{Passcode: 20202021, Rand: seededReader(1)}, pase.ErrConfig},             // 3: no peer
	} {
		_, err := StartInitiator(0, m, tc.cfg)
		require.ErrorIs(t, err, tc.want, "case %d", i+1)
	}
	require.Empty(t, m.Sessions(), "failed starts leave nothing behind")
	_, err := NewResponder(m, ResponderConfig{Rand: seededReader(1), Salt: []byte("short"), Iterations: 1000})
	require.ErrorIs(t, err, pase.ErrConfig)
}

// rawRequest opens an unsecured exchange from nd to peer and sends a
// PBKDFParamRequest on it, with no Initiator behind it.
func rawRequest(t testing.TB, n *testNet, nd, peer *tnode, sessionID uint16) session.Exchange {
	t.Helper()
	var x session.Exchange
	n.do(nd, func(now clock.Time) {
		ref, err := nd.m.OpenUnsecured(now, peer.addr)
		require.NoError(t, err)
		x, err = nd.m.NewExchange(ref)
		require.NoError(t, err)
		sendRaw(t, nd, now, x, pase.OpPBKDFParamRequest, (&pase.PBKDFParamRequest{InitiatorSessionID: sessionID}).Append(nil))
	})
	return x
}

func sendRaw(t testing.TB, nd *tnode, now clock.Time, x session.Exchange, op uint8, payload []byte) {
	t.Helper()
	require.NoError(t, nd.m.Send(now, x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: op, Payload: payload, Reliable: true}))
}

// settleBounded is settle with a cap on the number of steps, so that a
// responder whose deadline stays in the past fails the test instead of
// hanging it.
func settleBounded(t testing.TB, n *testNet, d time.Duration) {
	t.Helper()
	limit := n.now.Add(d)
	for i := 0; n.step(limit); i++ {
		require.Less(t, i, 10000, "the network never settles at %s (a deadline stuck in the past?)", n.now)
	}
	n.now = max(n.now, limit)
}

// A second PBKDFParamRequest (new counter) on the exchange
// of the pairing in progress is answered BUSY and changes nothing; the
// glue used to treat pase's ErrBusy as the end of the attempt, freeing the
// slot while pase still waited for Pake1, and its deadline then stayed in
// the past forever (the driver spun at 100% CPU).
func TestSecondRequestOnSameExchange(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{StepTimeout: time.Second})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	x := rawRequest(t, n, ctl, dev, 7)
	settleBounded(t, n, 100*time.Millisecond)
	require.Equal(t, pase.StateWaitPake1, r.State())
	n.do(ctl, func(now clock.Time) {
		sendRaw(t, ctl, now, x, pase.OpPBKDFParamRequest, (&pase.PBKDFParamRequest{InitiatorSessionID: 8}).Append(nil))
	})
	settleBounded(t, n, 100*time.Millisecond)
	require.Empty(t, notices(r), "a refused request must not end the pairing")
	require.True(t, r.active)
	require.Equal(t, pase.StateWaitPake1, r.State())

	settleBounded(t, n, 2*time.Second) // past the step timeout
	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeFailed, ns[0].Kind)
	require.ErrorIs(t, ns[0].Err, pase.ErrTimeout)
	require.Equal(t, pase.StateIdle, r.State())
	require.Equal(t, clock.Never, r.Deadline())
	require.False(t, r.active)
}

// A wrong opcode that ends the attempt and closes the
// window (MaxFailures reached) is a failure like any other: noticed, and
// the slot freed. It used to be taken for a stray message.
func TestWrongOpcodeClosingWindow(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{MaxFailures: 1})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	x := rawRequest(t, n, ctl, dev, 7)
	settleBounded(t, n, 100*time.Millisecond)
	require.Equal(t, pase.StateWaitPake1, r.State())
	n.do(ctl, func(now clock.Time) {
		sendRaw(t, ctl, now, x, pase.OpPake3, (&pase.Pake3{}).Append(nil))
	})
	settleBounded(t, n, time.Second)
	require.Equal(t, pase.StateClosed, r.State())
	require.False(t, r.active)
	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeFailed, ns[0].Kind)
	require.ErrorIs(t, ns[0].Err, pase.ErrWindowClosed)
	require.ErrorIs(t, ns[0].Err, pase.ErrUnexpectedMessage)
	settleBounded(t, n, 10*time.Second)
	require.Empty(t, dev.m.Sessions())
}

// A PBKDFParamRequest arriving exactly at a stale
// pairing's deadline, before HandleTimeout ran, starts a real pairing (the
// stale one is expired first), not a phantom one the glue does not track.
func TestRequestAtStaleDeadline(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{StepTimeout: time.Second})
	a := controller(n, "a", "[fd00::a]:40000", 2)
	b := controller(n, "b", "[fd00::b]:40000", 3)
	rawRequest(t, n, a, dev, 7) // reaches the device at 5 ms, then silence
	settleBounded(t, n, time.Second)
	require.Equal(t, clock.Time(0).Add(time.Second), n.now)
	require.Equal(t, pase.StateWaitPake1, r.State())
	require.Equal(t, clock.Time(0).Add(time.Second+latency), r.Deadline())
	pb := startPair(t, n, b, dev, testPasscode, 5, 0) // arrives at 1.005 s
	n.runUntil(pb.Done, 10*time.Second)
	require.NoError(t, pb.Err())
	var kinds []NoticeKind
	for _, no := range notices(r) {
		kinds = append(kinds, no.Kind)
	}
	require.Equal(t, []NoticeKind{NoticeFailed, NoticeEstablished}, kinds)
}

// MRP giving up on a handshake message ends the pairing
// at once (pase.Responder.Abort) instead of at the step timeout.
func TestGiveUpFreesResponder(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{StepTimeout: time.Minute, PairingTimeout: time.Minute})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	rawRequest(t, n, ctl, dev, 7)
	n.lose = func(p pkt) bool { return p.from == ctl.addr } // ctl never acks the response
	n.runUntil(func() bool { return count(dev.events, session.EventGiveUp) > 0 }, time.Minute)
	require.Less(t, n.now, clock.Time(0).Add(30*time.Second))
	ns := notices(r)
	require.Len(t, ns, 1)
	require.Equal(t, NoticeFailed, ns[0].Kind)
	require.ErrorIs(t, ns[0].Err, ErrNoAck)
	require.Equal(t, pase.StateIdle, r.State())
	require.False(t, r.active)
}

// After a failure the initiator is Settled as soon as
// the device acked its FAILURE report (one round trip), well before Idle
// (the unsecured session's linger), which is what `mattersim pair` waits
// for before exiting.
func TestSettledBeforeIdle(t *testing.T) {
	n := newNet(t)
	dev, r := device(t, n, 1, ResponderConfig{})
	ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
	p := startPair(t, n, ctl, dev, 20202022, 3, 0)
	n.runUntil(p.Done, 10*time.Second)
	require.ErrorIs(t, p.Err(), pase.ErrWrongPasscode)
	doneAt := n.now
	require.False(t, p.Settled(), "the FAILURE report is not acked yet")
	n.runUntil(p.Settled, time.Second)
	require.LessOrEqual(t, n.now.Sub(doneAt), 2*latency+100*time.Millisecond)
	require.False(t, p.Idle(), "Settled does not wait for the linger")
	require.Equal(t, 1, r.Failures(), "the device heard the failure")
	n.runUntil(p.Idle, ctl.m.Config().UnsecuredLinger+time.Second)
	require.True(t, p.Settled())
}

// Close closes the window from outside (a device commissioned): a request
// is then refused (acked, no answer: the initiator times out), a pairing
// in progress is ended without counting a failure, a ReopenAfter timer is
// cancelled; Reopen serves pairings again.
func TestCloseAndReopen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		during bool // Close while a pairing is in progress
	}{{"idle", false}, {"during a pairing", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t)
			dev, r := device(t, n, 1, ResponderConfig{ReopenAfter: time.Second})
			ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
			if tc.during {
				p := startPair(t, n, ctl, dev, testPasscode, 3, 2*time.Second)
				n.step(n.now.Add(latency)) // the request is in; the device answered
				require.True(t, r.State() != pase.StateIdle)
				n.do(dev, func(now clock.Time) { r.Close(now) })
				ns := notices(r)
				require.Len(t, ns, 1)
				require.Equal(t, NoticeFailed, ns[0].Kind)
				require.ErrorIs(t, ns[0].Err, pase.ErrWindowClosed)
				n.runUntil(p.Done, 10*time.Second)
				require.Error(t, p.Err())
			} else {
				n.do(dev, func(now clock.Time) { r.Close(now) })
			}
			require.Equal(t, 0, r.Failures())
			require.Equal(t, clock.Never, r.Deadline(), "no re-opening scheduled")
			p := startPair(t, n, ctl, dev, testPasscode, 4, 2*time.Second)
			n.runUntil(p.Done, 10*time.Second)
			require.ErrorIs(t, p.Err(), pase.ErrTimeout)
			ns := notices(r)
			require.NotEmpty(t, ns)
			require.Equal(t, NoticeRefused, ns[len(ns)-1].Kind)
			n.settle(5 * time.Second)
			require.Equal(t, pase.StateClosed, r.State(), "ReopenAfter re-opened a window Close closed")

			r.Reopen()
			p = startPair(t, n, ctl, dev, testPasscode, 5, 0)
			n.runUntil(p.Done, 10*time.Second)
			require.NoError(t, p.Err())
		})
	}
}

// Spec 4.12.2.1, 4.3.4: intervals known before the handshake (a TXT
// record's SII/SAI) time the first retransmission of PBKDFParamRequest
// already, as the SDK creates the unsecured session with the resolved
// node's MRP config; without them it follows the spec defaults. The peer
// is taken as active (PASESession::Pair), so the base is the active
// interval. The jitter comes from the Manager's seeded stream, hence bounds.
func TestFirstRetransmissionUsesPeerIntervals(t *testing.T) {
	cases := []struct {
		name string
		iv   mrp.Intervals
		base time.Duration // the interval the first backoff multiplies
	}{
		{"advertised 2s", mrp.Intervals{Idle: 2 * time.Second, Active: 2 * time.Second}, 2 * time.Second},
		{"advertised active only", mrp.Intervals{Active: 1500 * time.Millisecond}, 1500 * time.Millisecond},
		{"idle long, active short", mrp.Intervals{Idle: 5 * time.Second, Active: 800 * time.Millisecond}, 800 * time.Millisecond},
		{"none: spec defaults", mrp.Intervals{}, mrp.DefaultActiveInterval},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t)
			ctl := controller(n, "ctl", "[fd00::c]:40000", 2)
			nowhere := netipMust("[fd00::99]:5540")
			var sends []clock.Time
			n.lose = func(p pkt) bool {
				if p.to == nowhere {
					sends = append(sends, p.at.Add(-latency))
				}
				return true
			}
			start := n.now
			n.do(ctl, func(now clock.Time) {
				p, err := StartInitiator(now, ctl.m, InitiatorConfig{Peer: nowhere, Passcode: testPasscode,
					Rand: seededReader(3), Timeout: time.Minute, PeerIntervals: tc.iv})
				require.NoError(t, err)
				ctl.glue = append(ctl.glue, p)
			})
			n.runUntil(func() bool { return len(sends) >= 2 }, 10*time.Second)
			require.Equal(t, start, sends[0])
			c := mrp.Config{}.Normalize()
			lo, hi := start.Add(c.Backoff(tc.base, 0, 0)), start.Add(c.Backoff(tc.base, 0, 1))
			require.GreaterOrEqual(t, sends[1], lo, "first retransmission before the %s-based backoff", tc.base)
			require.Less(t, sends[1], hi, "first retransmission after the %s-based backoff", tc.base)
		})
	}
}
