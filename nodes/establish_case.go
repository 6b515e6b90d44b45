package nodes

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/message"
	"mattersim/session/params"
)

// CASE establisher defaults.
const (
	// DefaultCASEInFlight bounds the handshakes one controller runs at once
	// (as DefaultPASEInFlight).
	DefaultCASEInFlight = 8
	// DefaultCASEBackoff is the delay before the first retry of a failed
	// handshake; it doubles with every retry up to MaxCASEBackoff.
	DefaultCASEBackoff = time.Second
	MaxCASEBackoff     = 16 * time.Second
	// DefaultCASEAttempts bounds the attempts per Establish call. The
	// Client asks again later when its operations fall due.
	DefaultCASEAttempts = 8
	// DefaultResumptionCapacity is the size of each node's resumption
	// table: connectedhomeip CHIP_CONFIG_CASE_SESSION_RESUME_CACHE_SIZE,
	// 3 × CHIP_CONFIG_MAX_FABRICS (16) (src/lib/core/CHIPConfig.h).
	DefaultResumptionCapacity = 48
)

// CASE is the Establisher that opens each controller↔device session by a
// CASE handshake over the network (spec 4.14.2), as an operational
// controller does (connectedhomeip OperationalSessionSetup →
// CASESession::EstablishSession): every node holds credentials on one
// fabric (Credentials), a device answers Sigma1 on its unsecured sessions
// (CASEServer), a controller runs one casesess.Initiator per device, at
// most InFlight at once. Handshake messages are unsecured messages sent
// reliably, so MRP retransmits them on lossy links (spec 4.12).
//
// Resumption (spec 4.14.2.5). Each node keeps a bounded resumption table
// (casesess.Resumption, ResumptionCapacity records) that survives reboots
// and power cycles: the SDK persists its records
// (DefaultSessionResumptionStorage in the node's key-value store). Like
// CASESession::EstablishSession, an initiator offers a resumption
// (Sigma1 with resumptionID and initiatorResumeMIC) whenever its table
// holds a record of the peer, whatever the reason the previous session
// went (defunct after an MRP give-up, closed, evicted, a reboot of either
// end); the responder answers Sigma2_Resume when its table still holds
// the record, and falls back to a full handshake (Sigma2) otherwise
// (unknown id, evicted record). Every successful handshake, full or
// resumed, replaces the peer's record with a fresh resumption id at both
// ends. So a full CASE happens the first time, after a record was evicted,
// and after a failed resumption attempt left the two ends with different
// ids.
//
// A failed attempt (MRP give-up, timeout, a StatusReport, BUSY) is retried
// after a backoff (Backoff, doubling, at most MaxCASEBackoff) up to
// Attempts; done is called once per Establish, from inside the
// controller's input, when the session is installed or given up. Every
// attempt's end is also emitted as a CASEHandshake NodeEvent on the
// controller (Outcome, Latency of the attempt, ResumeOffered, Resumed,
// Cause), which the case.* metrics count; the establishment as a whole is
// emitted as the Pairing* events, as PASE does.
//
// Pair.ResponderRef is the device's session after a full handshake, and
// zero after a resumption (the device installs its session when the
// controller's final StatusReport arrives, after done).
//
// Deviation: a device serves any number of handshakes at once (one
// casesess.Responder per Sigma1 exchange), where the SDK's CASEServer
// holds one CASESession and answers BUSY to a second initiator; in a
// simulation each device has one controller, so nothing is lost.
//
// Set the exported fields before the first Establish. Not safe for
// concurrent use.
type CASE struct {
	// Credentials returns node n's fabric (NOC, key, root, IPK). It is
	// called once per node. Required.
	Credentials func(n *Node) (*casesess.Fabric, error)
	// Rand returns node n's seeded stream for handshake randomness
	// (random values, ephemeral keys, resumption ids). It is called once
	// per node. Required.
	Rand func(n *Node) io.Reader
	// Epoch is the Matter epoch time of virtual time 0, at which
	// certificates are validated (cert.TimeAt).
	Epoch cert.Time
	// InFlight bounds the handshakes per controller; 0 = DefaultCASEInFlight.
	InFlight int
	// Backoff is the first retry delay; 0 = DefaultCASEBackoff.
	Backoff time.Duration
	// Attempts bounds the attempts per Establish; 0 = DefaultCASEAttempts.
	Attempts int
	// Timeout bounds each wait for the peer; 0 = casesess.DefaultStepTimeout.
	Timeout time.Duration
	// ResumptionCapacity returns node n's resumption table size (called
	// once per node): 0 means DefaultResumptionCapacity, negative disables
	// resumption. nil gives every node DefaultResumptionCapacity. A
	// controller serving more devices than that needs a larger table to
	// resume them all (the SDK's default is sized for devices; a
	// controller build raises CHIP_CONFIG_CASE_SESSION_RESUME_CACHE_SIZE).
	ResumptionCapacity func(n *Node) int

	stats  CASEStats
	agents map[*Node]*caseAgent // lookup only, never iterated
	order  []*caseAgent         // creation order, for Pending
}

var _ Establisher = (*CASE)(nil)

// CASEStats counts a CASE establisher's handshakes. A plain value.
type CASEStats struct {
	Establishments uint64 // Establish calls
	Attempts       uint64 // handshakes started by controllers
	ResumeOffered  uint64 // attempts whose Sigma1 offered a resumption
	Full           uint64 // full handshakes that installed a session
	Resumed        uint64 // resumptions that installed a session (Sigma2_Resume)
	Fallbacks      uint64 // resumption offers answered by a full handshake
	Failed         uint64 // attempts that failed
	Retries        uint64 // attempts scheduled after a failure
	GaveUp         uint64 // Establish calls that ended without a session
	// DeviceEstablished and DeviceFailed are the responders' view.
	DeviceEstablished uint64
	DeviceFailed      uint64
	// Handshake latency of the successful attempts at the controller.
	LatencySum time.Duration
	LatencyMax time.Duration
}

// Stats returns the counters.
func (c *CASE) Stats() CASEStats { return c.stats }

// Pending returns the establishments not finished, over every controller:
// queued, running a handshake, and waiting out a retry backoff.
func (c *CASE) Pending() (queued, active, waiting int) {
	for _, a := range c.order {
		q, ac, w := a.ctl.pending()
		queued, active, waiting = queued+q, active+ac, waiting+w
	}
	return queued, active, waiting
}

// Prepare installs the CASE agents of nodes before the first Establish,
// so that devices answer Sigma1 from time 0 (a device only ever seen as a
// responder gets its agent here, or on its first Establish).
func (c *CASE) Prepare(ns []*Node) error {
	for _, n := range ns {
		if _, err := c.agent(n); err != nil {
			return err
		}
	}
	return nil
}

// Establish opens a CASE session from ctl (initiator) to dev (responder):
// it queues the handshake at the controller, which starts it at once if
// fewer than InFlight are running. done is called later, in virtual time.
func (c *CASE) Establish(now clock.Time, ctl, dev *Node, done func(now clock.Time, pr Pair, err error)) {
	c.stats.Establishments++
	ctl.Emit(now, NodeEvent{Kind: PairingQueued, Peer: dev.index})
	if _, err := c.agent(dev); err != nil {
		c.policy().giveUp(now, ctl, dev, done, 0, err)
		return
	}
	ca, err := c.agent(ctl)
	if err != nil {
		c.policy().giveUp(now, ctl, dev, done, 0, err)
		return
	}
	ca.ctl.add(now, &caseJob{dev: dev, done: done})
}

// policy is the CASE schedule of every controller's establishLoop.
func (c *CASE) policy() establishPolicy {
	return establishPolicy{name: "CASE",
		inFlight: positiveOr(c.InFlight, DefaultCASEInFlight), attempts: positiveOr(c.Attempts, DefaultCASEAttempts),
		backoff: positiveOr(c.Backoff, DefaultCASEBackoff), maxBackoff: MaxCASEBackoff,
		started: &c.stats.Attempts, failed: &c.stats.Failed, retries: &c.stats.Retries, gaveUp: &c.stats.GaveUp,
	}
}

// agent returns n's CASE agent, installing it as n's Handshaker.
func (c *CASE) agent(n *Node) (*caseAgent, error) {
	if a := c.agents[n]; a != nil {
		return a, nil
	}
	if n.hs != nil {
		return nil, fmt.Errorf("node %d already has a Handshaker", n.index)
	}
	if c.Rand == nil || c.Credentials == nil {
		return nil, fmt.Errorf("%w: nodes.CASE needs Rand and Credentials", casesess.ErrConfig)
	}
	fab, err := c.Credentials(n)
	if err != nil {
		return nil, fmt.Errorf("node %d credentials: %w", n.index, err)
	}
	if fab == nil {
		return nil, fmt.Errorf("%w: no credentials for node %d", casesess.ErrConfig, n.index)
	}
	if c.agents == nil {
		c.agents = make(map[*Node]*caseAgent)
	}
	a := &caseAgent{c: c, n: n, rnd: c.Rand(n), fabric: fab,
		serving: make(map[session.Exchange]*caseResp), closing: make(map[session.Exchange]session.Ref)}
	a.ctl = establishLoop[caseAttempt]{n: n, hs: a}
	capacity := 0
	if c.ResumptionCapacity != nil {
		capacity = c.ResumptionCapacity(n)
	}
	if capacity >= 0 {
		if capacity == 0 {
			capacity = DefaultResumptionCapacity
		}
		a.res = casesess.NewResumption(capacity)
	}
	c.agents[n] = a
	c.order = append(c.order, a)
	n.SetHandshaker(a)
	if !n.down {
		n.m.RegisterUnsolicited(sigma1)
	}
	return a, nil
}

// sigma1 is the registration a CASE responder makes on its Manager: Sigma1
// on unsecured sessions (connectedhomeip CASEServer registers
// CASE_Sigma1 as its unsolicited handler).
var sigma1 = session.Unsolicited{Protocol: message.ProtocolSecureChannel, Opcode: casesess.OpSigma1}

// caseJob is one establishment at one controller.
type caseJob = establishment[caseAttempt]

// caseAttempt is a controller's attempt in flight: the handshake, the
// session id it reserved, and its unsecured session and exchange.
type caseAttempt struct {
	init    *casesess.Initiator
	localID uint16
	unsec   session.Ref
	x       session.Exchange
}

func (h caseAttempt) Deadline() clock.Time { return h.init.Deadline() }

// caseResp is one handshake a device serves.
type caseResp struct {
	r       *casesess.Responder
	x       session.Exchange
	localID uint16
	peer    netip.AddrPort
}

// caseAgent is a node's Handshaker: a device's responders and/or a
// controller's initiators. Its fabric and resumption table outlive the
// node's cores (they stand for what a node keeps in flash).
type caseAgent struct {
	c      *CASE
	n      *Node
	rnd    io.Reader
	fabric *casesess.Fabric
	res    *casesess.Resumption

	// Device role: handshakes in progress, by exchange, and in order.
	serving map[session.Exchange]*caseResp // lookup only
	resps   []*caseResp
	lastEst session.Ref // the responder's last established session

	// Controller role.
	ctl establishLoop[caseAttempt]

	// closing maps handshake exchanges (both roles) whose unsecured
	// session is retired once the exchange is released.
	closing map[session.Exchange]session.Ref // lookup only
}

var (
	_ Handshaker              = (*caseAgent)(nil)
	_ Lifecycle               = (*caseAgent)(nil)
	_ handshakes[caseAttempt] = (*caseAgent)(nil)
)

func (a *caseAgent) policy() establishPolicy { return a.c.policy() }

// start begins one attempt: a local session id reserved with the peer as
// eviction hint (the SDK's AllocateSecureSession with the peer's
// ScopedNodeId), an unsecured session and exchange to the device, Sigma1.
func (a *caseAgent) start(now clock.Time, j *caseJob) {
	m := a.n.m
	fail := func(err error) {
		a.failed(now, j, err, false)
	}
	id, err := m.ReserveLocalIDFor(now, session.Peer{Fabric: a.fabric.Index, Node: j.dev.nodeID})
	if err != nil {
		fail(err)
		return
	}
	init, err := casesess.NewInitiator(casesess.InitiatorConfig{
		Fabric: a.fabric, PeerNodeID: uint64(j.dev.nodeID), LocalSessionID: id,
		Params: params.FromIntervals(a.n.m.Config().Local), Rand: a.rnd, Epoch: a.c.Epoch, Resumption: a.res, StepTimeout: a.c.Timeout,
	})
	if err != nil {
		m.ReleaseLocalID(id)
		fail(err)
		return
	}
	ref, err := m.OpenUnsecured(now, j.dev.Addr())
	if err != nil {
		m.ReleaseLocalID(id)
		fail(err)
		return
	}
	_ = m.MarkPeerActive(now, ref)
	x, err := m.NewExchange(ref)
	if err != nil {
		m.ReleaseLocalID(id)
		_ = m.RemoveSession(now, ref)
		fail(err)
		return
	}
	out, err := init.Start(now)
	if err == nil {
		err = a.send(now, x, out)
	}
	if init.Resuming() {
		a.c.stats.ResumeOffered++
	}
	a.ctl.activate(j, caseAttempt{init: init, localID: id, unsec: ref, x: x})
	if err != nil {
		a.end(now, len(a.ctl.active)-1, err)
	}
}

func (a *caseAgent) timeout(now clock.Time, i int) bool {
	if _, err := a.ctl.active[i].hs.init.HandleTimeout(now); err != nil {
		a.end(now, i, err)
		return true
	}
	return false
}

func (a *caseAgent) aborted(now clock.Time, j *caseJob) {
	a.n.Emit(now, NodeEvent{Kind: CASEHandshake, Peer: j.dev.index, Attempt: j.attempt, Outcome: Failed,
		Latency: now.Sub(j.started), ResumeOffered: j.hs.init.Resuming(), Cause: CauseAborted, Err: ErrDown})
}

func (a *caseAgent) send(now clock.Time, x session.Exchange, out casesess.Output) error {
	if !out.Send {
		return nil
	}
	return a.n.m.Send(now, x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
}

// end finishes the active job at i: err nil installs the session.
func (a *caseAgent) end(now clock.Time, i int, err error) {
	j, h := a.ctl.take(i)
	init := h.init
	m := a.n.m
	var ref session.Ref
	res, ok := init.Result()
	if err == nil && !ok {
		err = errors.New("casesess: handshake ended without a session")
	}
	if err == nil {
		ref, err = m.InstallSecureSession(now, session.SecureSession{
			Kind: session.CASE, Initiator: true, LocalID: res.LocalSessionID, PeerID: res.PeerSessionID,
			LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID),
			Peer: j.dev.Addr(), I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I,
			AttestationChallenge: res.Keys.AttestationChallenge,
			PeerIntervals:        res.PeerParams.Intervals(), FabricIndex: res.FabricIndex,
		})
		if err != nil {
			err = fmt.Errorf("installing the CASE session: %w", err)
		}
	}
	a.retire(now, h.x)
	if err != nil {
		m.ReleaseLocalID(h.localID)
		a.failed(now, j, err, init.Resuming())
		a.ctl.pump(now)
		return
	}
	s := &a.c.stats
	d := now.Sub(j.started)
	s.LatencySum += d
	s.LatencyMax = max(s.LatencyMax, d)
	if res.Resumed {
		s.Resumed++
	} else {
		s.Full++
		if init.Resuming() {
			s.Fallbacks++
		}
	}
	a.n.Emit(now, NodeEvent{Kind: CASEHandshake, Peer: j.dev.index, Attempt: j.attempt, Outcome: PairingSucceeded,
		Latency: d, ResumeOffered: init.Resuming(), Resumed: res.Resumed})
	pr := Pair{Initiator: a.n, Responder: j.dev, InitiatorRef: ref}
	if da := a.c.agents[j.dev]; da != nil && !res.Resumed {
		// After a full handshake the device installed its session before
		// sending the StatusReport that ended ours. After a resumption it
		// installs it on our final StatusReport, later: ResponderRef
		// stays zero.
		pr.ResponderRef = da.lastEst
	}
	a.ctl.succeeded(now, j, pr)
	a.ctl.pump(now)
}

// failed emits a failed attempt's CASEHandshake and retries it or gives
// up.
func (a *caseAgent) failed(now clock.Time, j *caseJob, err error, offered bool) {
	cause := caseCause(err)
	a.n.Emit(now, NodeEvent{Kind: CASEHandshake, Peer: j.dev.index, Attempt: j.attempt, Outcome: Failed,
		Latency: now.Sub(j.started), ResumeOffered: offered, Cause: cause, Err: err})
	// A BUSY's requested delay bounds the retry's wait from below.
	var wait time.Duration
	var pse *casesess.PeerStatusError
	if errors.As(err, &pse) && pse.Wait > 0 {
		wait = pse.Wait
	}
	a.ctl.failed(now, j, err, cause, false, wait)
}

// caseCause classifies a failed attempt: by the StatusReport that ended
// it (received or sent), or by the local cause.
func caseCause(err error) PairingCause {
	switch {
	case errors.Is(err, ErrDown), errors.Is(err, casesess.ErrAborted):
		return CauseAborted
	case errors.Is(err, pairing.ErrNoAck):
		return CauseNoAck
	case errors.Is(err, casesess.ErrTimeout):
		return CauseTimedOut
	case errors.Is(err, casesess.ErrBusy):
		return CauseBusy
	case errors.Is(err, casesess.ErrNoSharedTrustRoots):
		return CauseNoSharedTrustRoots
	}
	var pse *casesess.PeerStatusError
	var me *casesess.MessageError
	if errors.As(err, &pse) || errors.As(err, &me) ||
		errors.Is(err, casesess.ErrInvalidParameter) || errors.Is(err, casesess.ErrDecrypt) ||
		errors.Is(err, casesess.ErrCredentials) || errors.Is(err, casesess.ErrPeerIdentity) ||
		errors.Is(err, casesess.ErrSignature) || errors.Is(err, casesess.ErrResumeMIC) ||
		errors.Is(err, casesess.ErrUnexpectedMessage) {
		return CauseInvalidParameter
	}
	return CauseOther
}

// retire closes a handshake exchange; its unsecured session is retired
// once the exchange is released (its last reliable message acked), so a
// retransmission of the peer's last message is still acked.
func (a *caseAgent) retire(now clock.Time, x session.Exchange) {
	a.closing[x] = x.Session
	if err := a.n.m.CloseExchange(now, x); err != nil {
		delete(a.closing, x)
		_ = a.n.m.RetireSession(now, x.Session)
	}
}

// HandleEvent feeds ev to the handshakes it concerns; events of unsecured
// sessions nobody took are consumed too (an unsolicited message's
// exchange closed), so that no workload sees an unsecured message.
func (a *caseAgent) HandleEvent(now clock.Time, _ *Node, ev *session.Event) bool {
	if ev.Session == (session.Ref{}) || ev.Session.Secure() {
		return false
	}
	if ev.Kind == session.EventExchangeClosed {
		if ref, ok := a.closing[ev.Exchange]; ok {
			delete(a.closing, ev.Exchange)
			_ = a.n.m.RetireSession(now, ref)
			return true
		}
	}
	for i, j := range a.ctl.active {
		if ev.Session == j.hs.unsec {
			a.initiatorEvent(now, i, ev)
			return true
		}
	}
	if r := a.serving[ev.Exchange]; r != nil {
		a.responderEvent(now, r, ev)
		return true
	}
	if ev.Kind == session.EventMessage && !ev.Exchange.Initiator {
		if ev.Protocol == message.ProtocolSecureChannel && ev.Opcode == casesess.OpSigma1 {
			a.sigma1(now, ev)
			return true
		}
		_ = a.n.m.CloseExchange(now, ev.Exchange)
	}
	return true
}

func (a *caseAgent) initiatorEvent(now clock.Time, i int, ev *session.Event) {
	j := a.ctl.active[i]
	switch ev.Kind {
	case session.EventMessage:
		if ev.Exchange != j.hs.x || ev.Protocol != message.ProtocolSecureChannel {
			return
		}
		out, err := j.hs.init.Handle(now, ev.Opcode, ev.Payload)
		if serr := a.send(now, j.hs.x, out); err == nil && serr != nil {
			err = serr
		}
		if err != nil || out.Done {
			a.end(now, i, err)
		}
	case session.EventGiveUp:
		if ev.Exchange == j.hs.x {
			a.end(now, i, fmt.Errorf("%w: CASE message to node %d", pairing.ErrNoAck, j.dev.index))
		}
	case session.EventSessionClosed:
		a.end(now, i, fmt.Errorf("nodes: CASE unsecured session closed (%s)", ev.Reason))
	}
}

// sigma1 starts serving a handshake opened by a Sigma1.
func (a *caseAgent) sigma1(now clock.Time, ev *session.Event) {
	m := a.n.m
	id, err := m.ReserveLocalID(now)
	if err != nil {
		a.c.stats.DeviceFailed++
		a.retire(now, ev.Exchange)
		return
	}
	r, err := casesess.NewResponder(casesess.ResponderConfig{
		Fabrics: []*casesess.Fabric{a.fabric}, LocalSessionID: id, Params: params.FromIntervals(a.n.m.Config().Local),
		Rand: a.rnd, Epoch: a.c.Epoch, Resumption: a.res, StepTimeout: a.c.Timeout,
	})
	if err != nil {
		m.ReleaseLocalID(id)
		a.c.stats.DeviceFailed++
		a.retire(now, ev.Exchange)
		return
	}
	cr := &caseResp{r: r, x: ev.Exchange, localID: id, peer: ev.From}
	a.serving[ev.Exchange] = cr
	a.resps = append(a.resps, cr)
	a.responderEvent(now, cr, ev)
}

func (a *caseAgent) responderEvent(now clock.Time, cr *caseResp, ev *session.Event) {
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolSecureChannel {
			return
		}
		cr.peer = ev.From
		out, err := cr.r.Handle(now, ev.Opcode, ev.Payload)
		if serr := a.send(now, cr.x, out); err == nil && serr != nil {
			err = serr
		}
		if err != nil {
			a.served(now, cr, err)
		} else if cr.r.State() == casesess.StateEstablished {
			a.served(now, cr, nil)
		}
	case session.EventGiveUp:
		a.served(now, cr, fmt.Errorf("%w: CASE message to %s", pairing.ErrNoAck, cr.peer))
	case session.EventSessionClosed:
		a.served(now, cr, fmt.Errorf("nodes: CASE unsecured session closed (%s)", ev.Reason))
	}
}

// served ends a device-side handshake: err nil installs the session.
func (a *caseAgent) served(now clock.Time, cr *caseResp, err error) {
	delete(a.serving, cr.x)
	for k, r := range a.resps {
		if r == cr {
			a.resps = append(a.resps[:k], a.resps[k+1:]...)
			break
		}
	}
	m := a.n.m
	if err == nil {
		res, _ := cr.r.Result()
		var ref session.Ref
		ref, err = m.InstallSecureSession(now, session.SecureSession{
			Kind: session.CASE, LocalID: res.LocalSessionID, PeerID: res.PeerSessionID,
			LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID),
			Peer: cr.peer, I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I,
			AttestationChallenge: res.Keys.AttestationChallenge,
			PeerIntervals:        res.PeerParams.Intervals(), FabricIndex: res.FabricIndex,
		})
		if err == nil {
			a.lastEst = ref
			a.c.stats.DeviceEstablished++
		}
	}
	if err != nil {
		m.ReleaseLocalID(cr.localID)
		a.c.stats.DeviceFailed++
	}
	a.retire(now, cr.x)
}

// HandleTimer runs the handshakes' due timeouts and starts the retries
// that are due.
func (a *caseAgent) HandleTimer(now clock.Time, _ *Node) {
	for k := 0; k < len(a.resps); {
		cr := a.resps[k]
		if cr.r.Deadline() <= now {
			if _, err := cr.r.HandleTimeout(now); err != nil {
				a.served(now, cr, err)
				continue
			}
		}
		k++
	}
	a.ctl.handleTimer(now)
}

// Deadline returns the earliest handshake timeout or retry.
func (a *caseAgent) Deadline() clock.Time {
	t := a.ctl.deadline()
	for _, cr := range a.resps {
		t = min(t, cr.r.Deadline())
	}
	return t
}

// PowerOff (Lifecycle): the node's core is gone, and with it every
// handshake in progress. A controller's attempts in flight each count as
// failed (CauseAborted) and go back to the front of the queue, started
// again once the node is up; retries waiting out a backoff keep waiting.
// The fabric and the resumption table stay (flash).
func (a *caseAgent) PowerOff(now clock.Time, _ *Node) {
	for _, cr := range a.resps {
		delete(a.serving, cr.x)
	}
	a.resps, a.lastEst = nil, session.Ref{}
	clear(a.closing)
	a.ctl.powerOff(now)
}

// Boot (Lifecycle): the new core answers Sigma1; a controller starts its
// queued handshakes.
func (a *caseAgent) Boot(now clock.Time, _ *Node) {
	a.n.m.RegisterUnsolicited(sigma1)
	a.ctl.pump(now)
}
