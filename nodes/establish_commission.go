package nodes

import (
	"errors"
	"fmt"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/commissioner"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/message"
	"mattersim/session/pase"
)

// Commission establisher defaults.
const (
	// DefaultCommissionInFlight bounds the commissionings one controller
	// runs at once (as DefaultCASEInFlight).
	DefaultCommissionInFlight = 8
	// DefaultCommissionBackoff is the delay before the first retry of a
	// failed attempt; it doubles up to MaxCommissionBackoff. A failed
	// commissioning whose disarm did not reach the device leaves its
	// fail-safe armed, and its window not listening, until the fail-safe
	// expires (60 s): a retry's PBKDFParamRequest is acked and ignored
	// meanwhile and that attempt times out at the PASE step, so the retry
	// backs off longer than a CASE retry.
	DefaultCommissionBackoff = 5 * time.Second
	MaxCommissionBackoff     = 60 * time.Second
	// DefaultCommissionAttempts bounds the attempts per Establish call.
	DefaultCommissionAttempts = 8
	// DefaultCommissionStepTimeout bounds the wait for the answer to one
	// commissioning request (the SDK's DeviceCommissioner sends each
	// command with a response timeout; MRP gives up sooner on an unacked
	// request).
	DefaultCommissionStepTimeout = 30 * time.Second
)

// CommissionStep is where a commissioning attempt stopped: PASE, one of
// the commissioner.Flow steps, or the CASE handshake.
type CommissionStep uint8

// Commissioning steps, in order: CommissionPASE, then the Flow's steps
// (commissioner.Step + 2: arm-fail-safe … read-back).
const (
	CommissionPASE CommissionStep = 1
)

// FlowStep is the CommissionStep of a Flow step.
func FlowStep(s commissioner.Step) CommissionStep { return CommissionStep(s) + 2 }

// CommissionSteps are the steps' metric names, in CommissionStep order
// from CommissionPASE.
var CommissionSteps = []string{"pase", "arm_fail_safe", "read_location", "set_regulatory", "dac_request",
	"pai_request", "attestation", "csr", "add_root", "add_noc", "case", "complete", "read_back"}

func (s CommissionStep) String() string {
	if s >= 1 && int(s) <= len(CommissionSteps) {
		return CommissionSteps[s-1]
	}
	return fmt.Sprintf("CommissionStep(%d)", uint8(s))
}

// Commission is the Establisher that commissions each device its
// controller serves, then reaches it over CASE, as a Matter commissioner
// does (connectedhomeip DeviceCommissioner, on-network commissioning):
// PASE with the device's passcode (spec 4.14.1, nodes/pairing), the
// commissioner.Flow over the PASE session (ArmFailSafe, regulatory
// config, device attestation against the SDK test PAA and CD signer,
// CSR, AddTrustedRootCertificate, AddNOC from the controller's fabric;
// spec 5.5), CASE on the new fabric (spec 4.14.2), CommissioningComplete
// and a read-back over CASE. The CASE session is the one the Client's
// traffic runs over. Devices run their own commissionable stack
// (nodes/commissionee.Handshaker); Commission is the controllers' side
// only.
//
// A device commissioned once is never commissioned again by the same
// controller: a later Establish (the session went defunct, either end
// rebooted) runs CASE only, offering a resumption when the controller's
// table (ResumptionCapacity) has a record. If that CASE fails with
// no_shared_trust_roots (the device lost the fabric) the device is
// commissioned again.
//
// Schedule: the one of the PASE and CASE establishers (establishLoop): at
// most InFlight attempts per controller, a failed attempt retried after a
// doubling backoff (Backoff, at most MaxCommissionBackoff) up to
// Attempts. A failed commissioning attempt disarms the device's fail-safe
// over the PASE session when it can (ArmFailSafe with ExpiryLengthSeconds
// 0, commissioner.Flow.Disarm, then the PASE session is closed), as
// connectedhomeip DeviceCommissioner::CleanupCommissioning does on an
// error before network setup (DisarmFailsafeRequest, then
// CleanupDoneAfterError releases the PASE session) and matter.js
// ControllerCommissioningFlow #resetFailsafeTimer: the device rolls back
// and listens for PASE again at once. When the disarm is lost (a
// partition, the session gone) the device rolls back when the fail-safe
// expires; until then it acks and ignores a retry's PBKDFParamRequest
// (the window stops listening at PASE establishment), so that retry fails
// at the PASE step after Timeout and a later one succeeds. Every commissioning
// attempt is emitted as CommissionStarted and CommissionEnded (the
// commission.* metrics), every CASE handshake (during commissioning or
// after) as CASEHandshake (case.*), the establishment as Pairing* events.
//
// Set the exported fields before the first Establish. Not safe for
// concurrent use.
type Commission struct {
	// Fabric returns controller ctl's fabric: root, issuer key, its own
	// NOC and IPK. Called once per controller. Required.
	Fabric func(ctl *Node) (*commissioner.Fabric, error)
	// Passcode returns device dev's setup passcode. Required.
	Passcode func(dev *Node) uint32
	// Rand returns node n's seeded stream (PASE, nonces, CASE). Called
	// once per controller. Required.
	Rand func(n *Node) io.Reader
	// Epoch is the Matter epoch time of virtual time 0: certificates are
	// validated and attestation checked at that time plus now.
	Epoch cert.Time
	// FailSafe is ArmFailSafe's expiry in seconds; 0 =
	// commissioner.DefaultFailSafe.
	FailSafe uint16
	// InFlight bounds the attempts per controller; 0 = DefaultCommissionInFlight.
	InFlight int
	// Backoff is the first retry delay; 0 = DefaultCommissionBackoff.
	Backoff time.Duration
	// Attempts bounds the attempts per Establish; 0 = DefaultCommissionAttempts.
	Attempts int
	// Timeout bounds each wait for the device (a PASE or CASE step, a
	// commissioning request's answer); 0 = DefaultCommissionStepTimeout.
	Timeout time.Duration
	// ResumptionCapacity returns controller n's resumption table size: 0
	// means DefaultResumptionCapacity, negative disables resumption; nil
	// gives DefaultResumptionCapacity.
	ResumptionCapacity func(n *Node) int

	stats  CommissionStats
	agents map[*Node]*commAgent // lookup only, never iterated
	order  []*commAgent
}

var _ Establisher = (*Commission)(nil)

// CommissionStats counts a Commission establisher's work. A plain value.
type CommissionStats struct {
	Establishments uint64 // Establish calls
	Attempts       uint64 // attempts started (commissioning or CASE only)
	Failed         uint64 // attempts that failed
	Retries        uint64
	GaveUp         uint64
	// Commissioning attempts: started, succeeded (CommissioningComplete
	// answered with success), failed by step (CommissionSteps order).
	Commissionings  uint64
	Commissioned    uint64
	CommissionFails [13]uint64
	// CASE-only attempts (re-establishments of commissioned devices).
	CASEOnly uint64
	// Recovered: devices whose attempt failed at or after
	// CommissioningComplete and whose CASE-only retry found them
	// commissioned (CommissionRecovered).
	Recovered uint64
	// Recommissions: commissioned devices whose CASE found no shared
	// trust root and that were commissioned again.
	Recommissions uint64
	// Time from the first attempt's start to CommissioningComplete, of
	// the devices commissioned.
	TimeSum, TimeMax time.Duration
}

// Stats returns the counters.
func (c *Commission) Stats() CommissionStats { return c.stats }

// Pending returns the establishments not finished, over every controller.
func (c *Commission) Pending() (queued, active, waiting int) {
	for _, a := range c.order {
		q, ac, w := a.ctl.pending()
		queued, active, waiting = queued+q, active+ac, waiting+w
	}
	return queued, active, waiting
}

// Commissioned reports whether ctl has commissioned dev.
func (c *Commission) Commissioned(ctl, dev *Node) bool {
	a := c.agents[ctl]
	return a != nil && a.done[dev]
}

// Establish commissions dev from ctl (or, once commissioned, opens a CASE
// session): queued at the controller, started at once if a slot is free.
func (c *Commission) Establish(now clock.Time, ctl, dev *Node, done func(now clock.Time, pr Pair, err error)) {
	c.stats.Establishments++
	ctl.Emit(now, NodeEvent{Kind: PairingQueued, Peer: dev.index})
	a, err := c.agent(ctl)
	if err != nil {
		c.policy().giveUp(now, ctl, dev, done, 0, err)
		return
	}
	a.ctl.add(now, &commJob{dev: dev, done: done})
}

func (c *Commission) policy() establishPolicy {
	return establishPolicy{name: "commission",
		inFlight: positiveOr(c.InFlight, DefaultCommissionInFlight), attempts: positiveOr(c.Attempts, DefaultCommissionAttempts),
		backoff: positiveOr(c.Backoff, DefaultCommissionBackoff), maxBackoff: MaxCommissionBackoff,
		started: &c.stats.Attempts, failed: &c.stats.Failed, retries: &c.stats.Retries, gaveUp: &c.stats.GaveUp,
	}
}

func (c *Commission) timeout() time.Duration {
	return positiveOr(c.Timeout, DefaultCommissionStepTimeout)
}

// agent returns controller n's agent, installing it as n's Handshaker.
func (c *Commission) agent(n *Node) (*commAgent, error) {
	if a := c.agents[n]; a != nil {
		return a, nil
	}
	if n.hs != nil {
		return nil, fmt.Errorf("node %d already has a Handshaker", n.index)
	}
	if c.Fabric == nil || c.Passcode == nil || c.Rand == nil {
		return nil, fmt.Errorf("%w: nodes.Commission needs Fabric, Passcode and Rand", commissioner.ErrConfig)
	}
	fab, err := c.Fabric(n)
	if err != nil {
		return nil, fmt.Errorf("node %d fabric: %w", n.index, err)
	}
	cf, err := fab.CASEFabric(commFabricIndex)
	if err != nil {
		return nil, fmt.Errorf("node %d fabric: %w", n.index, err)
	}
	a := &commAgent{c: c, n: n, rnd: c.Rand(n), fab: fab, cf: cf, done: make(map[*Node]bool), late: make(map[*Node]bool)}
	capacity := 0
	if c.ResumptionCapacity != nil {
		capacity = c.ResumptionCapacity(n)
	}
	if capacity >= 0 {
		a.res = casesess.NewResumption(positiveOr(capacity, DefaultResumptionCapacity))
	}
	a.ctl = establishLoop[*commAttempt]{n: n, hs: a}
	if c.agents == nil {
		c.agents = make(map[*Node]*commAgent)
	}
	c.agents[n] = a
	c.order = append(c.order, a)
	n.SetHandshaker(a)
	return a, nil
}

// commFabricIndex is the controller's local index of its own fabric.
const commFabricIndex = 1

type commJob = establishment[*commAttempt]

// commAttempt is one attempt in flight: a commissioning (PASE, the Flow,
// CASE, the Flow's last requests) or a CASE-only re-establishment.
type commAttempt struct {
	caseOnly bool
	pase     *pairing.Initiator
	paseRef  session.Ref
	chal     [16]byte
	flow     *commissioner.Flow
	cs       *commissioner.CASE
	csStart  clock.Time
	cref     session.Ref
	x        session.Exchange // the request in flight
	step     CommissionStep   // where the attempt is
	waitTill clock.Time       // the request's answer deadline
	complete clock.Time       // CommissioningComplete answered
	ended    bool
}

func (h *commAttempt) Deadline() clock.Time {
	t := h.waitTill
	if h.pase != nil && !h.pase.Done() {
		t = min(t, h.pase.Deadline())
	}
	if h.cs != nil && !h.cs.Done() {
		t = min(t, h.cs.Deadline())
	}
	return t
}

// commAgent is a controller's Handshaker. Its fabric, resumption table
// and the set of devices it commissioned outlive the node's cores (a
// controller keeps them in storage).
type commAgent struct {
	c    *Commission
	n    *Node
	rnd  io.Reader
	fab  *commissioner.Fabric
	cf   *casesess.Fabric
	res  *casesess.Resumption
	done map[*Node]bool // devices commissioned; lookup only
	// late holds the devices whose last commissioning attempt failed at
	// or after CommissioningComplete and that are retried with CASE only
	// (lookup only).
	late map[*Node]bool

	ctl establishLoop[*commAttempt]
	// Finished handshakes still cleaning up their unsecured sessions, and
	// PASE sessions of ended attempts (their events are consumed).
	pases []*pairing.Initiator
	cases []*commissioner.CASE
	old   map[session.Ref]bool // lookup only
	// Disarms of failed attempts awaiting their answer, in send order.
	disarms []commDisarm
}

// commDisarm is a failed attempt's ArmFailSafe(0) in flight on its PASE
// session, which is closed when it is answered, MRP gives up, or until.
type commDisarm struct {
	ref   session.Ref
	x     session.Exchange
	until clock.Time
}

var (
	_ Handshaker               = (*commAgent)(nil)
	_ Lifecycle                = (*commAgent)(nil)
	_ handshakes[*commAttempt] = (*commAgent)(nil)
)

func (a *commAgent) policy() establishPolicy { return a.c.policy() }

func (a *commAgent) start(now clock.Time, j *commJob) {
	h := &commAttempt{waitTill: clock.Never, caseOnly: a.done[j.dev]}
	a.ctl.activate(j, h)
	if h.caseOnly {
		a.c.stats.CASEOnly++
		a.startCASE(now, j, h)
		return
	}
	a.c.stats.Commissionings++
	a.n.Emit(now, NodeEvent{Kind: CommissionStarted, Peer: j.dev.index, Attempt: j.attempt})
	h.step = CommissionPASE
	init, err := pairing.StartInitiator(now, a.n.m, pairing.InitiatorConfig{
		Peer: j.dev.Addr(), Passcode: a.c.Passcode(j.dev), Rand: a.rnd, Timeout: a.c.timeout(),
	})
	if err != nil {
		a.end(now, j, err)
		return
	}
	h.pase = init
}

func (a *commAgent) startCASE(now clock.Time, j *commJob, h *commAttempt) {
	h.step = FlowStep(commissioner.StepCASE)
	h.csStart = now
	cs, err := commissioner.StartCASE(now, a.n.m, commissioner.CASEConfig{Peer: j.dev.Addr(), Fabric: a.cf,
		PeerNodeID: uint64(j.dev.nodeID), Rand: a.rnd, Epoch: a.c.Epoch, Resumption: a.res, Timeout: a.c.timeout()})
	if err != nil {
		a.end(now, j, err)
		return
	}
	h.cs = cs
}

// index returns j's index among the active attempts, or -1.
func (a *commAgent) index(j *commJob) int {
	for i, k := range a.ctl.active {
		if k == j {
			return i
		}
	}
	return -1
}

// advance moves attempt j on after its handshakes progressed.
func (a *commAgent) advance(now clock.Time, j *commJob) {
	h := j.hs
	if h == nil || h.ended {
		return
	}
	switch {
	case h.flow == nil && h.pase != nil && h.pase.Done():
		if err := h.pase.Err(); err != nil {
			a.end(now, j, err)
			return
		}
		est, _ := h.pase.Session()
		h.paseRef, h.chal = est.Ref, est.Result.AttestationChallenge
		flow, err := commissioner.New(commissioner.Config{Fabric: a.fab, DeviceNodeID: uint64(j.dev.nodeID),
			Challenge: h.chal, Rand: a.rnd, FailSafe: a.c.FailSafe, Now: time.Unix(int64(a.c.Epoch)+946684800, 0).UTC().Add(time.Duration(now))})
		if err != nil {
			a.end(now, j, err)
			return
		}
		h.flow = flow
		a.next(now, j)
	case h.cs != nil && h.cs.Done() && h.cref == (session.Ref{}):
		err := h.cs.Err()
		ref, res, _ := h.cs.Session()
		ev := NodeEvent{Kind: CASEHandshake, Peer: j.dev.index, Attempt: j.attempt, Latency: now.Sub(h.csStart),
			ResumeOffered: h.cs.Resuming()}
		if err != nil {
			ev.Outcome, ev.Cause, ev.Err = Failed, caseCause(err), err
			a.n.Emit(now, ev)
			a.end(now, j, err)
			return
		}
		ev.Outcome, ev.Resumed = PairingSucceeded, res.Resumed
		a.n.Emit(now, ev)
		h.cref = ref
		if h.caseOnly {
			a.end(now, j, nil)
			return
		}
		h.flow.CASEEstablished()
		a.next(now, j)
	}
}

// next sends the flow's next request, starts CASE, or ends the attempt.
func (a *commAgent) next(now clock.Time, j *commJob) {
	h := j.hs
	f := h.flow
	if err := f.Err(); err != nil {
		a.end(now, j, err)
		return
	}
	if f.Done() {
		a.end(now, j, nil)
		return
	}
	if f.Step() == commissioner.StepCASE {
		a.startCASE(now, j, h)
		return
	}
	h.step = FlowStep(f.Step())
	req, ok := f.Next()
	if !ok {
		a.end(now, j, f.Err())
		return
	}
	ref := h.paseRef
	if req.OverCASE {
		ref = h.cref
	}
	x, err := a.n.m.NewExchange(ref)
	if err == nil {
		err = a.n.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel, Opcode: uint8(req.Opcode),
			Payload: req.Payload, Reliable: true})
	}
	if err != nil {
		a.end(now, j, fmt.Errorf("sending %s: %w", f.Step(), err))
		return
	}
	h.x, h.waitTill = x, now.Add(a.c.timeout())
}

// errStepTimeout: no answer to a commissioning request in time.
var errStepTimeout = errors.New("nodes: commissioning request not answered in time")

// end finishes j's attempt: err nil is a success (the device commissioned
// or the CASE session re-established).
func (a *commAgent) end(now clock.Time, j *commJob, err error) {
	i := a.index(j)
	if i < 0 {
		return
	}
	_, h := a.ctl.take(i)
	h.ended = true
	a.retire(now, h, err != nil)
	s := &a.c.stats
	if err == nil {
		if !h.caseOnly {
			a.done[j.dev] = true
			s.Commissioned++
			d := h.complete.Sub(j.first)
			s.TimeSum += d
			s.TimeMax = max(s.TimeMax, d)
			a.n.Emit(now, NodeEvent{Kind: CommissionEnded, Peer: j.dev.index, Attempt: j.attempt,
				Outcome: PairingSucceeded, Latency: d})
		} else if a.late[j.dev] {
			delete(a.late, j.dev)
			s.Recovered++
			a.n.Emit(now, NodeEvent{Kind: CommissionRecovered, Peer: j.dev.index, Attempt: j.attempt,
				Latency: now.Sub(j.first)})
		}
		a.ctl.succeeded(now, j, Pair{Initiator: a.n, Responder: j.dev, InitiatorRef: h.cref})
		a.ctl.pump(now)
		return
	}
	cause := commCause(err)
	if h.caseOnly {
		if errors.Is(err, casesess.ErrNoSharedTrustRoots) {
			// The device lost our fabric (a factory reset): commission it again.
			delete(a.done, j.dev)
			delete(a.late, j.dev)
			s.Recommissions++
		}
	} else {
		if int(h.step) >= 1 && int(h.step) <= len(s.CommissionFails) {
			s.CommissionFails[h.step-1]++
		}
		if h.step >= FlowStep(commissioner.StepComplete) {
			// CommissioningComplete may have been committed (its answer
			// lost, or the read-back failed after it): the device's window
			// is closed then and a new PASE would be ignored until we gave
			// up. Retry with CASE only; if the device rolled back (our
			// disarm, or its fail-safe), that CASE finds no shared trust
			// root and the device is commissioned again.
			a.done[j.dev] = true
			a.late[j.dev] = true
		}
		a.n.Emit(now, NodeEvent{Kind: CommissionEnded, Peer: j.dev.index, Attempt: j.attempt, Outcome: Failed,
			Step: h.step, Cause: cause, Err: err, Latency: now.Sub(j.started)})
	}
	var wait time.Duration
	if w, ok := pairing.BusyWait(err); ok && w > 0 {
		wait = w
	}
	var pse *casesess.PeerStatusError
	if errors.As(err, &pse) && pse.Wait > 0 {
		wait = pse.Wait
	}
	a.ctl.failed(now, j, fmt.Errorf("%s: %w", h.step, err), cause, errors.Is(err, pase.ErrWrongPasscode), wait)
	a.ctl.pump(now)
}

// commCause classifies a failed attempt.
func commCause(err error) PairingCause {
	if c := pairingCause(err); c != CauseOther {
		return c
	}
	if errors.Is(err, errStepTimeout) {
		return CauseTimedOut
	}
	return caseCause(err)
}

// retire hands h's finished handshakes to cleanup and, on failure, closes
// the attempt's secure sessions (the device's fail-safe is left to expire).
func (a *commAgent) retire(now clock.Time, h *commAttempt, failed bool) {
	if h.x != (session.Exchange{}) {
		_ = a.n.m.CloseExchange(now, h.x)
		h.x = session.Exchange{}
	}
	if h.pase != nil {
		if !h.pase.Done() {
			h.pase.HandleTimeout(clock.Never)
		}
		if !h.pase.Idle() {
			a.pases = append(a.pases, h.pase)
		}
	}
	if h.cs != nil {
		if !h.cs.Done() {
			h.cs.Abort(now, errors.New("nodes: commissioning attempt ended"))
		}
		if !h.cs.Idle() {
			a.cases = append(a.cases, h.cs)
		}
	}
	if a.old == nil {
		a.old = make(map[session.Ref]bool)
	}
	if h.paseRef != (session.Ref{}) {
		// The device closes the PASE session at CommissioningComplete; on
		// failure we disarm the fail-safe over it, then close ours. Either
		// way its events are ours.
		a.old[h.paseRef] = true
		if failed && !a.disarm(now, h) {
			_ = a.n.m.CloseSession(now, h.paseRef)
		}
	}
	if failed && h.cref != (session.Ref{}) {
		a.old[h.cref] = true
		_ = a.n.m.CloseSession(now, h.cref)
	}
}

// disarm sends the failed attempt's ArmFailSafe(0) on its PASE session
// (DeviceCommissioner::CleanupCommissioning: DisarmFailsafeRequest over the
// commissionee proxy, whose answer or failure leads to
// CleanupDoneAfterError, which releases the PASE session). It reports
// whether it did: nothing to disarm (the fail-safe not armed yet, or
// CommissioningComplete answered) or the session gone is false.
func (a *commAgent) disarm(now clock.Time, h *commAttempt) bool {
	if h.flow == nil {
		return false
	}
	req, ok := h.flow.Disarm()
	if !ok {
		return false
	}
	x, err := a.n.m.NewExchange(h.paseRef)
	if err != nil {
		return false
	}
	if err := a.n.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel, Opcode: uint8(req.Opcode),
		Payload: req.Payload, Reliable: true}); err != nil {
		_ = a.n.m.CloseExchange(now, x)
		return false
	}
	a.disarms = append(a.disarms, commDisarm{ref: h.paseRef, x: x, until: now.Add(a.c.timeout())})
	return true
}

// disarmed ends disarm i: its exchange and PASE session are closed.
func (a *commAgent) disarmed(now clock.Time, i int) {
	d := a.disarms[i]
	a.disarms = append(a.disarms[:i], a.disarms[i+1:]...)
	_ = a.n.m.CloseExchange(now, d.x)
	_ = a.n.m.CloseSession(now, d.ref)
}

func (a *commAgent) timeout(now clock.Time, i int) bool {
	j := a.ctl.active[i]
	h := j.hs
	if h.pase != nil && !h.pase.Done() && h.pase.Deadline() <= now {
		h.pase.HandleTimeout(now)
	}
	if h.cs != nil && !h.cs.Done() && h.cs.Deadline() <= now {
		h.cs.HandleTimeout(now)
	}
	if h.waitTill <= now {
		a.end(now, j, fmt.Errorf("%w (%s)", errStepTimeout, h.step))
		return true
	}
	a.advance(now, j)
	return h.ended
}

func (a *commAgent) aborted(now clock.Time, j *commJob) {
	h := j.hs
	if !h.caseOnly {
		a.n.Emit(now, NodeEvent{Kind: CommissionEnded, Peer: j.dev.index, Attempt: j.attempt, Outcome: Failed,
			Step: h.step, Cause: CauseAborted, Err: ErrDown, Latency: now.Sub(j.started)})
		if int(h.step) >= 1 && int(h.step) <= len(a.c.stats.CommissionFails) {
			a.c.stats.CommissionFails[h.step-1]++
		}
	}
	if h.cs != nil && !h.cs.Done() {
		a.n.Emit(now, NodeEvent{Kind: CASEHandshake, Peer: j.dev.index, Attempt: j.attempt, Outcome: Failed,
			Latency: now.Sub(h.csStart), ResumeOffered: h.cs.Resuming(), Cause: CauseAborted, Err: ErrDown})
	}
}

// HandleEvent takes the events of the attempts' handshakes, sessions
// and requests; the CASE session of a finished attempt belongs to the
// workload.
func (a *commAgent) HandleEvent(now clock.Time, _ *Node, ev *session.Event) bool {
	for _, j := range a.ctl.active {
		h := j.hs
		if h.pase != nil && h.pase.HandleEvent(now, *ev) {
			a.advance(now, j)
			return true
		}
		if h.cs != nil && h.cs.HandleEvent(now, *ev) {
			a.advance(now, j)
			return true
		}
		if ev.Session == (session.Ref{}) || (ev.Session != h.paseRef && ev.Session != h.cref) {
			continue
		}
		switch {
		case ev.Kind == session.EventMessage && ev.Exchange == h.x:
			h.x, h.waitTill = session.Exchange{}, clock.Never
			err := h.flow.Handle(im.Opcode(ev.Opcode), ev.Payload)
			_ = a.n.m.CloseExchange(now, ev.Exchange)
			if err != nil {
				a.end(now, j, err)
				return true
			}
			if h.step == FlowStep(commissioner.StepComplete) {
				h.complete = now
			}
			a.next(now, j)
		case ev.Kind == session.EventGiveUp && ev.Exchange == h.x:
			a.end(now, j, fmt.Errorf("%w: %s request to node %d", pairing.ErrNoAck, h.step, j.dev.index))
		case ev.Kind == session.EventSessionClosed && ev.Session == h.paseRef && h.cref != (session.Ref{}):
			// The device closes the PASE sessions at CommissioningComplete
			// (and the flow is over CASE by then).
			h.paseRef = session.Ref{}
		case ev.Kind == session.EventSessionClosed:
			a.end(now, j, fmt.Errorf("nodes: commissioning session closed (%s)", ev.Reason))
		case ev.Kind == session.EventMessage && !ev.Exchange.Initiator:
			_ = a.n.m.CloseExchange(now, ev.Exchange)
		}
		return true
	}
	for i := 0; i < len(a.pases); i++ {
		if a.pases[i].HandleEvent(now, *ev) {
			if a.pases[i].Idle() {
				a.pases = append(a.pases[:i], a.pases[i+1:]...)
			}
			return true
		}
	}
	for i := 0; i < len(a.cases); i++ {
		if a.cases[i].HandleEvent(now, *ev) {
			if a.cases[i].Idle() {
				a.cases = append(a.cases[:i], a.cases[i+1:]...)
			}
			return true
		}
	}
	for i, d := range a.disarms {
		switch {
		case ev.Exchange == d.x && (ev.Kind == session.EventMessage || ev.Kind == session.EventGiveUp):
			// Answered or not, the attempt is over (OnDisarmFailsafe,
			// OnDisarmFailsafeFailure → CleanupDoneAfterError).
			a.disarmed(now, i)
			return true
		case ev.Session == d.ref && ev.Kind == session.EventSessionClosed:
			// The device expired the fail-safe and closed the session first.
			a.disarms = append(a.disarms[:i], a.disarms[i+1:]...)
			delete(a.old, ev.Session)
			return true
		}
	}
	if a.old[ev.Session] {
		if ev.Kind == session.EventSessionClosed {
			delete(a.old, ev.Session)
		}
		if ev.Kind == session.EventMessage && !ev.Exchange.Initiator {
			_ = a.n.m.CloseExchange(now, ev.Exchange)
		}
		return true
	}
	if ev.Session == (session.Ref{}) || ev.Session.Secure() {
		return false
	}
	if ev.Kind == session.EventMessage && !ev.Exchange.Initiator {
		_ = a.n.m.CloseExchange(now, ev.Exchange)
	}
	return true
}

// HandleTimer runs the due timeouts and retries.
func (a *commAgent) HandleTimer(now clock.Time, _ *Node) {
	for i := 0; i < len(a.disarms); {
		if a.disarms[i].until <= now {
			a.disarmed(now, i)
			continue
		}
		i++
	}
	a.ctl.handleTimer(now)
}

// Deadline is the earliest attempt timeout, retry or disarm timeout.
func (a *commAgent) Deadline() clock.Time {
	t := a.ctl.deadline()
	for _, d := range a.disarms {
		t = min(t, d.until)
	}
	return t
}

// PowerOff (Lifecycle): the attempts in flight are cut (queued again);
// handshakes cleaning up are gone with the core.
func (a *commAgent) PowerOff(now clock.Time, _ *Node) {
	a.pases, a.cases, a.old, a.disarms = nil, nil, nil, nil
	a.ctl.powerOff(now)
}

// Boot (Lifecycle): queued attempts start.
func (a *commAgent) Boot(now clock.Time, _ *Node) { a.ctl.pump(now) }
