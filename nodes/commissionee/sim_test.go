package commissionee_test

// This test runs the Device on a simulated node (the adapter that makes
// virtual devices commissionable) and so imports the simulator: an
// external test package, outside the nodes layer's own import graph
// (nodes/deps_test.go checks the package, not its tests).

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/commissioner"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
	"mattersim/sim"
	"mattersim/tlv"
)

// simWall is the wall time of virtual time 0 in the test: certificates
// (the SDK test DAC chain, the minted fabric) are valid then.
var simWall = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	simPasscode     = 20202021
	simDeviceNodeID = 0x0000_0000_0000_0D01
)

// simCommissioner is a virtual controller on its own socket: PASE
// (nodes/pairing), the commissioner.Flow over the PASE session, CASE
// (StartCASE) and CommissioningComplete over it, then a read of OnOff
// over CASE. It is a sim.Handler; everything runs on virtual time.
type simCommissioner struct {
	t    testing.TB
	m    *session.Manager
	sock *sim.Socket
	peer netip.AddrPort
	fab  *commissioner.Fabric
	seed sim.Seeds

	p    *pairing.Initiator
	est  pairing.Established
	flow *commissioner.Flow
	cs   *commissioner.CASE
	cref session.Ref
	x    session.Exchange // the request in flight
	step commissioner.Step
	// reading: the final OnOff read over CASE is in flight.
	reading bool
	// After the flow: the answer to a request sent with send.
	replyOp      im.Opcode
	replyPayload []byte

	log        []string
	err        error
	done       bool
	onOff      bool
	paseAt     clock.Time
	commDoneAt clock.Time
}

func (c *simCommissioner) logf(now clock.Time, format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf("%v ctl: ", time.Duration(now))+fmt.Sprintf(format, args...))
}

func (c *simCommissioner) fail(now clock.Time, err error) {
	if c.err == nil && !c.done {
		c.err = err
		c.logf(now, "failed: %v", err)
	}
}

func (c *simCommissioner) start(now clock.Time) {
	var err error
	c.p, err = pairing.StartInitiator(now, c.m, pairing.InitiatorConfig{Peer: c.peer, Passcode: simPasscode,
		Rand: c.seed.ChaCha8(c.sock.Node().Index(), "test/pase")})
	if err != nil {
		c.fail(now, err)
	}
	c.flush(now)
}

func (c *simCommissioner) HandleDatagram(now clock.Time, from netip.AddrPort, b []byte) {
	c.m.HandleDatagram(now, from, b)
	c.flush(now)
}

func (c *simCommissioner) HandleTimer(now clock.Time) {
	if now >= c.m.NextDeadline() {
		c.m.HandleTimeout(now)
	}
	if c.p != nil && now >= c.p.Deadline() {
		c.p.HandleTimeout(now)
	}
	if c.cs != nil && now >= c.cs.Deadline() {
		c.cs.HandleTimeout(now)
	}
	c.flush(now)
}

func (c *simCommissioner) flush(now clock.Time) {
	for progressed := true; progressed; {
		progressed = false
		for o, ok := c.m.Poll(); ok; o, ok = c.m.Poll() {
			progressed = true
			if o.IsDatagram() {
				_ = c.sock.Send(o.To, o.Data)
				continue
			}
			c.event(now, o.Event)
		}
		if c.advance(now) {
			progressed = true
		}
	}
	at := c.m.NextDeadline()
	if c.p != nil {
		at = min(at, c.p.Deadline())
	}
	if c.cs != nil {
		at = min(at, c.cs.Deadline())
	}
	c.sock.SetTimer(at)
}

// advance moves the flow on when a handshake finished; it reports whether
// it did anything.
func (c *simCommissioner) advance(now clock.Time) bool {
	if c.err != nil || c.done {
		return false
	}
	switch {
	case c.flow == nil && c.p != nil && c.p.Done():
		if err := c.p.Err(); err != nil {
			c.fail(now, err)
			return false
		}
		c.est, _ = c.p.Session()
		c.paseAt = now
		c.logf(now, "PASE established (session %s)", c.est.Ref)
		var err error
		c.flow, err = commissioner.New(commissioner.Config{Fabric: c.fab, DeviceNodeID: simDeviceNodeID,
			Challenge: c.est.Result.AttestationChallenge, Rand: c.seed.ChaCha8(c.sock.Node().Index(), "test/flow"),
			Now: simWall.Add(time.Duration(now))})
		if err != nil {
			c.fail(now, err)
			return false
		}
		c.next(now)
		return true
	case c.cs != nil && c.cs.Done() && c.cref == (session.Ref{}):
		if err := c.cs.Err(); err != nil {
			c.fail(now, err)
			return false
		}
		c.cref, _, _ = c.cs.Session()
		c.logf(now, "CASE established (session %s)", c.cref)
		c.flow.CASEEstablished()
		c.next(now)
		return true
	}
	return false
}

// next sends the flow's next request, starts CASE, or the final read.
func (c *simCommissioner) next(now clock.Time) {
	if err := c.flow.Err(); err != nil {
		c.fail(now, err)
		return
	}
	if c.flow.Done() {
		c.commDoneAt = now
		c.logf(now, "commissioned: fabric index %d", c.flow.Result().FabricIndex)
		c.reading = true
		c.send(now, c.cref, im.OpReadRequest,
			im.AppendReadRequest(nil, im.NewReadRequest(im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff))))
		return
	}
	if c.flow.Step() == commissioner.StepCASE {
		caseFab, err := c.fab.CASEFabric(1)
		if err != nil {
			c.fail(now, err)
			return
		}
		epoch := cert.Time(simWall.Unix() - 946684800)
		c.cs, err = commissioner.StartCASE(now, c.m, commissioner.CASEConfig{Peer: c.peer, Fabric: caseFab,
			PeerNodeID: simDeviceNodeID, Rand: c.seed.ChaCha8(c.sock.Node().Index(), "test/case"), Epoch: epoch})
		if err != nil {
			c.fail(now, err)
		}
		return
	}
	req, ok := c.flow.Next()
	if !ok {
		c.fail(now, c.flow.Err())
		return
	}
	c.step = req.Step
	ref := c.est.Ref
	if req.OverCASE {
		ref = c.cref
	}
	c.send(now, ref, req.Opcode, req.Payload)
}

func (c *simCommissioner) send(now clock.Time, ref session.Ref, op im.Opcode, payload []byte) {
	x, err := c.m.NewExchange(ref)
	if err == nil {
		err = c.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel, Opcode: uint8(op),
			Payload: payload, Reliable: true})
	}
	if err != nil {
		c.fail(now, err)
		return
	}
	c.x = x
}

func (c *simCommissioner) event(now clock.Time, ev session.Event) {
	if c.p != nil && c.p.HandleEvent(now, ev) {
		return
	}
	if c.cs != nil && c.cs.HandleEvent(now, ev) {
		return
	}
	switch {
	case ev.Kind == session.EventMessage && ev.Exchange == c.x:
		// The payload is the core's until the next call on it: use it
		// before closing the exchange.
		defer func(x session.Exchange) { _ = c.m.CloseExchange(now, x) }(c.x)
		c.x = session.Exchange{}
		if c.done {
			c.replyOp, c.replyPayload = im.Opcode(ev.Opcode), slices.Clone(ev.Payload)
			return
		}
		if c.reading {
			rep, err := im.ParseReadResponse(im.Opcode(ev.Opcode), ev.Payload)
			if err == nil {
				var v im.Value
				if v, err = rep.Value(im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)); err == nil {
					c.onOff, err = v.Bool()
				}
			}
			if err != nil {
				c.fail(now, err)
				return
			}
			c.logf(now, "OnOff over CASE = %v", c.onOff)
			c.done = true
			return
		}
		if err := c.flow.Handle(im.Opcode(ev.Opcode), ev.Payload); err != nil {
			c.fail(now, err)
			return
		}
		c.logf(now, "%s answered", c.step)
		c.next(now)
	case ev.Kind == session.EventGiveUp && ev.Exchange == c.x:
		c.fail(now, fmt.Errorf("no answer (sent %d times)", ev.Attempt))
	case ev.Kind == session.EventMessage && !ev.Exchange.Initiator:
		_ = c.m.CloseExchange(now, ev.Exchange)
	}
}

// simRun builds a two-node network with seed, commissions the virtual
// device from the virtual controller and returns the transcript (both
// sides' lines with their virtual times), the controller and the device.
func simRun(t testing.TB, seed uint64) ([]string, *simCommissioner, *commissionee.Handshaker) {
	lines, c, h, _ := simRunEngine(t, seed)
	return *lines, c, h
}

func simRunEngine(t testing.TB, seed uint64) (*[]string, *simCommissioner, *commissionee.Handshaker, *sim.Engine) {
	t.Helper()
	e := sim.New(seed)
	sn, err := sim.NewNetwork(e, sim.NetConfig{})
	require.NoError(t, err)
	seeds := e.Seeds()
	devNode, err := sn.AddNode()
	require.NoError(t, err)
	ctlNode, err := sn.AddNode()
	require.NoError(t, err)

	// The device: a nodes.Node on the Matter port with the commissionee
	// as its Handshaker and no workload.
	dm, err := session.New(session.Config{}, seeds.ChaCha8(0, "core/entropy"), seeds.PCG(0, "core/jitter"))
	require.NoError(t, err)
	dn := nodes.New(0, 0, dm, nil)
	dsock, err := devNode.Bind(sim.MatterPort, dn)
	require.NoError(t, err)
	dn.Attach(dsock)
	epoch := cert.Time(simWall.Unix() - 946684800)
	h, err := commissionee.NewHandshaker(dn, commissionee.Config{Passcode: simPasscode,
		Rand: seeds.ChaCha8(0, "commissionee/rand"), Epoch: func(clock.Time) cert.Time { return epoch },
		Info: im.InteropBasicInfo(), DataVersion: uint32(seeds.Stream(0, "commissionee/dataversion").Uint64())})
	require.NoError(t, err)
	lines := new([]string)
	h.Notify = func(now clock.Time, _ *nodes.Node, nt commissionee.Notice) {
		*lines = append(*lines, fmt.Sprintf("%v dev %s: %s", time.Duration(now), nt.Kind, nt.Text))
	}

	// The controller, with a fabric minted from the seed.
	tf, err := testca.Mint(testca.Options{Seed: seed, FabricID: 1, FirstNodeID: 0x1_0000})
	require.NoError(t, err)
	fab, err := commissioner.FabricFromTestCA(tf, 0)
	require.NoError(t, err)
	cm, err := session.New(session.Config{}, seeds.ChaCha8(1, "core/entropy"), seeds.PCG(1, "core/jitter"))
	require.NoError(t, err)
	cm.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, Opcode: uint8(im.OpReportData), Secure: true})
	c := &simCommissioner{t: t, m: cm, peer: netip.AddrPortFrom(devNode.Addr(), sim.MatterPort), fab: fab, seed: seeds}
	c.sock, err = ctlNode.Bind(sim.MatterPort, c)
	require.NoError(t, err)

	c.start(e.Now())
	e.RunUntil(clock.Time(2 * time.Minute))
	// The device's lines, then the controller's, each with its time (the
	// device's later lines are appended as they come).
	*lines = append(*lines, c.log...)
	return lines, c, h, e
}

// TestSimCommissioning: a virtual controller commissions a virtual device
// inside the simulator — PASE, the whole commissioner.Flow over the PASE
// session (attestation with the SDK test DAC/PAI/CD, CSR, root, AddNOC),
// CASE, CommissioningComplete over CASE — then reads OnOff over CASE. The
// device's window closes at CommissioningComplete and it advertises one
// operational instance. Two runs with the same seed give the same
// transcript; another seed gives another one.
func TestSimCommissioning(t *testing.T) {
	start := time.Now()
	a, c, h := simRun(t, 7)
	wall := time.Since(start)
	require.NoError(t, c.err, "transcript:\n%s", strings.Join(a, "\n"))
	require.True(t, c.done, "transcript:\n%s", strings.Join(a, "\n"))
	require.False(t, c.onOff)
	d := h.Device()
	require.False(t, d.WindowOpen())
	ops := d.Operational()
	require.Len(t, ops, 1)
	require.Equal(t, uint64(simDeviceNodeID), ops[0].NodeID)
	joined := strings.Join(a, "\n")
	for _, want := range []string{"dev pase-established", "dev fabric-added", "dev case-established",
		"dev commissioned", "dev window-closed", "ctl: commissioned: fabric index 1", "ctl: OnOff over CASE = false"} {
		require.Contains(t, joined, want)
	}
	t.Logf("transcript:\n%s", joined)
	t.Logf("virtual time PASE %v, commissioned %v; wall (CPU-bound) %v per commissioning run",
		time.Duration(c.paseAt), time.Duration(c.commDoneAt), wall)

	b, _, _ := simRun(t, 7)
	require.Equal(t, a, b, "same seed, different runs")
	other, _, _ := simRun(t, 8)
	require.NotEqual(t, a, other, "the seed changes nothing")
}

// TestSimCommissioningWindow: after CommissioningComplete a new PASE
// attempt gets no answer (the window is closed: the PBKDFParamRequest is
// acked and ignored) and times out; RemoveFabric of the only fabric over
// CASE re-opens the window, and PASE succeeds again. Then the window
// follows connectedhomeip CommissioningWindowManager.cpp: withdrawn while
// that PASE session's fail-safe runs (a further PASE gets no answer),
// back when the fail-safe expires (a failed attempt), and back at once
// when the commissioner closes its PASE session.
func TestSimCommissioningWindow(t *testing.T) {
	lines, c, h, e := simRunEngine(t, 7)
	require.True(t, c.done, "transcript:\n%s", strings.Join(*lines, "\n"))
	d := h.Device()
	require.False(t, d.WindowOpen())

	pase := func() *pairing.Initiator {
		now := e.Now()
		p, err := pairing.StartInitiator(now, c.m, pairing.InitiatorConfig{Peer: c.peer, Passcode: simPasscode,
			Rand: c.seed.ChaCha8(c.sock.Node().Index(), "test/pase2"), Timeout: 5 * time.Second})
		require.NoError(t, err)
		c.p = p
		c.flush(now)
		e.RunFor(20 * time.Second)
		require.True(t, p.Done())
		return p
	}
	require.Error(t, pase().Err(), "PASE succeeded with the window closed")

	// RemoveFabric(1) over CASE.
	now := e.Now()
	c.send(now, c.cref, im.OpInvokeRequest, im.AppendInvokeRequest(nil, im.NewInvokeRequest(
		im.CommandPath{Endpoint: 0, Cluster: im.ClusterOperationalCredentials, Command: im.OCCmdRemoveFabric},
		im.NewValue(func(w *tlv.Writer) {
			w.StartStruct(tlv.AnonymousTag())
			w.PutUint(tlv.ContextTag(0), 1)
			w.EndContainer()
		}))))
	c.flush(now)
	e.RunFor(5 * time.Second)
	require.Equal(t, im.OpInvokeResponse, c.replyOp)
	require.Empty(t, d.Operational())
	require.True(t, d.WindowOpen())
	require.Contains(t, strings.Join(*lines, "\n"), "dev window-opened: commissioning window re-opened: no fabric left")

	require.NoError(t, pase().Err(), "PASE failed with the window open again")
	all := strings.Join(*lines, "\n")
	require.Contains(t, all, "dev pase-refused: PASE request from")
	require.Contains(t, all, "ignored: the commissioning window is closed (commissioned; it re-opens when the last fabric is removed)")
	require.NotContains(t, all, "after too many failed attempts", "a commissioned device blamed failed attempts")
	require.Equal(t, 2, strings.Count(all, "dev pase-established"), all)

	// PASE established: the window stops listening and advertising
	// (CommissioningWindowManager::OnSessionEstablished → StopAdvertisement),
	// so a second commissioner's PASE gets no answer.
	require.False(t, d.WindowOpen(), "window still advertised with a PASE session up")
	require.Contains(t, strings.Join(*lines, "\n"), "dev window-closed: commissioning window: PASE session established")
	require.Error(t, pase().Err(), "a second PASE succeeded while the first one's fail-safe ran")
	require.Contains(t, strings.Join(*lines, "\n"), "ignored: a commissioning is in progress (PASE session established)")
	// The fail-safe (60 s from the second PASE) expires without
	// CommissioningComplete: a failed attempt, and the window listens
	// and advertises again (HandleFailedAttempt → AdvertiseAndListenForPASE).
	e.RunFor(30 * time.Second)
	require.True(t, d.WindowOpen(), "window not re-opened at fail-safe expiry:\n%s", strings.Join(*lines, "\n"))
	require.Contains(t, strings.Join(*lines, "\n"), "dev window-opened: commissioning window: fail-safe expired without CommissioningComplete (failed attempts 1)")
	p := pase()
	require.NoError(t, p.Err(), "PASE failed after the fail-safe re-opened the window")
	require.False(t, d.WindowOpen())
	// The commissioner closing its PASE session expires the fail-safe at
	// once (OnSessionReleased → ExpireFailSafeIfArmed): open again now.
	est, _ := p.Session()
	now = e.Now()
	require.NoError(t, c.m.CloseSession(now, est.Ref))
	c.flush(now)
	e.RunFor(time.Second)
	require.True(t, d.WindowOpen(), "window not re-opened when the PASE session closed:\n%s", strings.Join(*lines, "\n"))
	require.False(t, d.Fabrics().Armed())
}

// BenchmarkSimCommissioning: one whole commissioning inside the simulator
// (network build, PBKDF2 verifier, PASE, the Flow with attestation, CASE,
// CommissioningComplete, a read), CPU time per run.
func BenchmarkSimCommissioning(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_, c, _ := simRun(b, uint64(i))
		if !c.done {
			b.Fatalf("run %d: %v", i, c.err)
		}
	}
}
