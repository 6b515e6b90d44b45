package nodes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"mattersim/clock"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/pase"
	"mattersim/session/spake2p"
)

// PASE establisher defaults.
const (
	// DefaultPASEIterations is the PBKDF2 iteration count of device
	// verifiers: the minimum the spec allows (spec 5.1.7.1, 1000..100000),
	// to keep simulated commissioning cheap.
	DefaultPASEIterations = 1000
	// DefaultPASEInFlight bounds the handshakes one controller runs at
	// once. A device serves one pairing at a time (spec 4.14.1; pase.ErrBusy
	// otherwise), so the bound is on the controller, across devices.
	DefaultPASEInFlight = 8
	// DefaultPASEBackoff is the delay before the first retry of a failed
	// pairing; it doubles with every retry up to MaxPASEBackoff.
	DefaultPASEBackoff = time.Second
	MaxPASEBackoff     = 16 * time.Second
	// DefaultPASEAttempts bounds the attempts per device. With the backoff
	// above they span more than a device's 30 s step timeout, so a device
	// left busy by a lost handshake is retried once it is free again.
	DefaultPASEAttempts = 8
)

// PASE is the Establisher that opens each controller↔device session by a
// PASE handshake over the network (spec 4.14.1), as a commissioner does:
// the device runs a pairing.Responder with a verifier computed from its
// passcode, the controller runs one pairing.Initiator per device, at most
// InFlight at once. Handshake messages are unsecured messages sent
// reliably, so MRP retransmits them on lossy links (spec 4.12).
//
// Every node involved gets a Handshaker (Node.SetHandshaker) that feeds
// the handshake machines with the node's session events and folds their
// timers into the node's timer. It also keeps every event of an unsecured
// session away from the workload: unsecured sessions carry only session
// establishment (spec 4.13.2.1), never application messages.
//
// A failed attempt (MRP give-up, timeout, device busy) is retried after a
// backoff (Backoff, doubling, at most MaxPASEBackoff) up to Attempts; a
// wrong passcode is final (retrying cannot help, and the device closes its
// window after 20 failures, spec 5.1.7.1's limit as in pase). done is
// called once per Establish, from inside the controller's input, when the
// device is paired or given up.
//
// The established session is a PASE session (session.PASE): it stays up
// for the run (the device's fail-safe is disabled; commissioning, which
// would follow with CASE, is not modelled). Set the exported fields before
// the first Establish. Not safe for concurrent use.
type PASE struct {
	// Passcode is what the controller tries for every device (spec 5.1.7.1).
	Passcode uint32
	// DevicePasscode returns the passcode device d was built with; nil
	// means Passcode for every device.
	DevicePasscode func(d *Node) uint32
	// Rand returns node n's seeded stream for handshake randomness (random
	// values and SPAKE2+ scalars) and, for a device, its salt. It is called
	// once per node. Required.
	Rand func(n *Node) io.Reader
	// Iterations is the PBKDF2 iteration count; 0 = DefaultPASEIterations.
	Iterations uint32
	// SharedSalt, when set (16..32 bytes), is every device's salt instead
	// of 32 bytes drawn from its stream. Verifiers are computed once per
	// distinct (passcode, salt), so devices that share both share one
	// verifier: large networks build without a PBKDF2 per device.
	SharedSalt []byte
	// InFlight bounds the handshakes per controller; 0 = DefaultPASEInFlight.
	InFlight int
	// Backoff is the first retry delay; 0 = DefaultPASEBackoff.
	Backoff time.Duration
	// Attempts bounds the attempts per device; 0 = DefaultPASEAttempts.
	Attempts int
	// Timeout bounds one handshake at the controller; 0 =
	// pairing.DefaultTimeout (30 s).
	Timeout time.Duration

	stats     PairingStats
	agents    map[*Node]*paseAgent // lookup only, never iterated
	verifiers map[string]spake2p.Verifier
}

var _ Establisher = (*PASE)(nil)

// PairingStats counts a PASE establisher's handshakes. Attempts =
// Succeeded + Failed + (handshakes in flight). A plain value.
type PairingStats struct {
	Devices   uint64 // Establish calls
	Attempts  uint64 // handshakes started by controllers
	Succeeded uint64 // handshakes that installed a PASE session
	Failed    uint64 // attempts that failed, by cause:
	// WrongPasscode: key confirmation failed (final, no retry).
	WrongPasscode uint64
	NoAck         uint64 // MRP gave up on a handshake message (pairing.ErrNoAck)
	TimedOut      uint64 // no answer in time (pase.ErrTimeout)
	Busy          uint64 // the device was pairing with someone else (pase.ErrBusy)
	// BusyRetries: retries scheduled after a BUSY's minimum wait (part of Retries).
	BusyRetries   uint64
	OtherFailures uint64
	Retries       uint64 // attempts scheduled after a failure
	GaveUp        uint64 // devices never paired: wrong passcode, or out of attempts
	// DeviceFailures and DeviceRefused are the responders' view: failed
	// pairings they counted (pairing.NoticeFailed), requests refused
	// without a pairing (pairing.NoticeRefused: busy, window closed).
	DeviceFailures uint64
	DeviceRefused  uint64
	// Aborted: attempts cut short because the controller powered off or
	// rebooted (counted in Failed; the device is queued again).
	Aborted uint64
	// Verifiers computed (one PBKDF2 each).
	Verifiers uint64
	// Handshake latency of the successful attempts: StartInitiator to the
	// session installed at the controller.
	LatencySum time.Duration
	LatencyMax time.Duration
}

// Stats returns the counters.
func (p *PASE) Stats() PairingStats { return p.stats }

// Establish pairs initiator (the controller) with responder (a device):
// it sets up the device's responder (its verifier, computed or shared)
// and queues the handshake at the controller, which starts it at once if
// fewer than InFlight are running. done is called later, in virtual time.
//
// The controller's node emits the establishment as NodeEvents
// (PairingQueued, PairingStarted and PairingFailed per attempt,
// PairingEnded), which metrics count.
func (p *PASE) Establish(now clock.Time, ctl, dev *Node, done func(now clock.Time, pr Pair, err error)) {
	p.stats.Devices++
	ctl.Emit(now, NodeEvent{Kind: PairingQueued, Peer: dev.index})
	fail := func(err error) { p.policy().giveUp(now, ctl, dev, done, 0, err) }
	if p.Rand == nil {
		fail(errors.New("no random stream"))
		return
	}
	da, err := p.agent(dev)
	if err != nil {
		fail(err)
		return
	}
	if err := p.device(da); err != nil {
		fail(err)
		return
	}
	ca, err := p.agent(ctl)
	if err != nil {
		fail(err)
		return
	}
	ca.ctl.add(now, &paseJob{dev: dev, done: done})
}

// policy is the PASE schedule of every controller's establishLoop.
func (p *PASE) policy() establishPolicy {
	return establishPolicy{name: "PASE",
		inFlight: positiveOr(p.InFlight, DefaultPASEInFlight), attempts: positiveOr(p.Attempts, DefaultPASEAttempts),
		backoff: positiveOr(p.Backoff, DefaultPASEBackoff), maxBackoff: MaxPASEBackoff,
		started: &p.stats.Attempts, failed: &p.stats.Failed, retries: &p.stats.Retries, gaveUp: &p.stats.GaveUp,
	}
}

// agent returns n's handshake agent, installing it as n's Handshaker.
func (p *PASE) agent(n *Node) (*paseAgent, error) {
	if a := p.agents[n]; a != nil {
		return a, nil
	}
	if n.hs != nil {
		return nil, fmt.Errorf("node %d already has a Handshaker", n.index)
	}
	if p.agents == nil {
		p.agents = make(map[*Node]*paseAgent)
	}
	a := &paseAgent{p: p, n: n, rnd: p.Rand(n)}
	a.ctl = establishLoop[*pairing.Initiator]{n: n, hs: a}
	p.agents[n] = a
	n.SetHandshaker(a)
	return a, nil
}

// device gives a's node a PASE responder, once.
func (p *PASE) device(a *paseAgent) error {
	if a.resp != nil {
		return nil
	}
	if a.rcfg.Verifier != (spake2p.Verifier{}) {
		// Built before and lost with a core: Boot rebuilds it on the
		// next one (a node that is off has none).
		if a.n.down {
			return nil
		}
		r, err := pairing.NewResponder(a.n.m, a.rcfg)
		a.resp = r
		return err
	}
	iter := p.Iterations
	if iter == 0 {
		iter = DefaultPASEIterations
	}
	salt, key, code, err := p.saltKey(a, iter)
	if err != nil {
		return err
	}
	a.salt = salt
	ver, ok := p.verifiers[key]
	if !ok {
		var err error
		if ver, err = spake2p.ComputeVerifier(code, salt, int(iter)); err != nil {
			return fmt.Errorf("verifier: %w", err)
		}
		if p.verifiers == nil {
			p.verifiers = make(map[string]spake2p.Verifier)
		}
		p.verifiers[key] = ver
		p.stats.Verifiers++
	}
	a.rcfg = pairing.ResponderConfig{
		Verifier: ver, Salt: salt, Iterations: iter, Rand: a.rnd,
		FailSafe: -1, // the session is the run's; see PASE
	}
	r, err := pairing.NewResponder(a.n.m, a.rcfg)
	if err != nil {
		return err
	}
	a.resp = r
	return nil
}

// paseJob is one device to pair, at one controller; its attempt in flight
// is a pairing.Initiator.
type paseJob = establishment[*pairing.Initiator]

// paseAgent is a node's Handshaker: a device's responder and/or a
// controller's initiators.
type paseAgent struct {
	p   *PASE
	n   *Node
	rnd io.Reader

	// Device role.
	resp    *pairing.Responder
	rcfg    pairing.ResponderConfig // to rebuild resp on a fresh core (Boot)
	salt    []byte                  // drawn once (Precompute or the first Establish)
	lastEst session.Ref             // the responder's last established session

	// Controller role.
	ctl     establishLoop[*pairing.Initiator]
	closing []*pairing.Initiator // finished, cleaning their unsecured session up
}

var (
	_ Handshaker                     = (*paseAgent)(nil)
	_ Lifecycle                      = (*paseAgent)(nil)
	_ handshakes[*pairing.Initiator] = (*paseAgent)(nil)
)

func (a *paseAgent) policy() establishPolicy { return a.p.policy() }

func (a *paseAgent) start(now clock.Time, j *paseJob) {
	init, err := pairing.StartInitiator(now, a.n.m, pairing.InitiatorConfig{
		Peer: j.dev.Addr(), Passcode: a.p.Passcode, Rand: a.rnd, Timeout: a.p.Timeout,
	})
	if err != nil {
		a.failed(now, j, err, errors.Is(err, pase.ErrConfig))
		return
	}
	a.ctl.activate(j, init)
}

func (a *paseAgent) timeout(now clock.Time, i int) bool {
	a.ctl.active[i].hs.HandleTimeout(now)
	return a.check(now, i)
}

func (a *paseAgent) aborted(clock.Time, *paseJob) { a.p.stats.Aborted++ }

// check ends the active job at i if its handshake is done; it reports
// whether it did.
func (a *paseAgent) check(now clock.Time, i int) bool {
	if !a.ctl.active[i].hs.Done() {
		return false
	}
	j, init := a.ctl.take(i)
	if !init.Idle() {
		a.closing = append(a.closing, init)
	}
	if est, ok := init.Session(); ok {
		s := &a.p.stats
		s.Succeeded++
		d := now.Sub(j.started)
		s.LatencySum += d
		s.LatencyMax = max(s.LatencyMax, d)
		pr := Pair{Initiator: a.n, Responder: j.dev, InitiatorRef: est.Ref}
		if da := a.p.agents[j.dev]; da != nil {
			pr.ResponderRef = da.lastEst
		}
		a.ctl.succeeded(now, j, pr)
	} else {
		err := init.Err()
		a.failed(now, j, err, errors.Is(err, pase.ErrWrongPasscode))
	}
	a.ctl.pump(now)
	return true
}

// failed counts a failed attempt by cause and retries it or gives the
// device up.
func (a *paseAgent) failed(now clock.Time, j *paseJob, err error, final bool) {
	s := &a.p.stats
	switch {
	case errors.Is(err, pase.ErrWrongPasscode):
		s.WrongPasscode++
	case errors.Is(err, pairing.ErrNoAck):
		s.NoAck++
	case errors.Is(err, pase.ErrTimeout):
		s.TimedOut++
	case errors.Is(err, pase.ErrBusy):
		s.Busy++
	default:
		s.OtherFailures++
	}
	// The device said when to come back: the retry waits at least that
	// long.
	var wait time.Duration
	if w, ok := pairing.BusyWait(err); ok && w > 0 {
		wait = w
	}
	if a.ctl.failed(now, j, err, pairingCause(err), final, wait) && wait > 0 {
		s.BusyRetries++
	}
}

// HandleEvent offers ev to the responder, then to the initiators; events
// of unsecured sessions nobody took are consumed too (and an unsolicited
// message's exchange closed, which sends its ack), so that no workload
// ever sees an unsecured message.
func (a *paseAgent) HandleEvent(now clock.Time, _ *Node, ev *session.Event) bool {
	taken := false
	if a.resp != nil {
		taken = a.resp.HandleEvent(now, *ev)
		a.notices()
	}
	for i := 0; !taken && i < len(a.ctl.active); i++ {
		if a.ctl.active[i].hs.HandleEvent(now, *ev) {
			taken = true
			a.check(now, i)
		}
	}
	for i := 0; !taken && i < len(a.closing); i++ {
		if a.closing[i].HandleEvent(now, *ev) {
			taken = true
			if a.closing[i].Idle() {
				a.closing = append(a.closing[:i], a.closing[i+1:]...)
			}
		}
	}
	if taken {
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

// notices counts the responder's outcomes.
func (a *paseAgent) notices() {
	for {
		nt, ok := a.resp.Poll()
		if !ok {
			return
		}
		switch nt.Kind {
		case pairing.NoticeEstablished:
			a.lastEst = nt.Session
		case pairing.NoticeFailed:
			a.p.stats.DeviceFailures++
		case pairing.NoticeRefused:
			a.p.stats.DeviceRefused++
		}
	}
}

// HandleTimer runs the responder's and the initiators' due timeouts and
// starts the retries that are due.
func (a *paseAgent) HandleTimer(now clock.Time, _ *Node) {
	if a.resp != nil && a.resp.Deadline() <= now {
		a.resp.HandleTimeout(now)
		a.notices()
	}
	a.ctl.handleTimer(now)
}

// Deadline returns the earliest handshake timeout or retry.
func (a *paseAgent) Deadline() clock.Time {
	t := a.ctl.deadline()
	if a.resp != nil {
		t = min(t, a.resp.Deadline())
	}
	return t
}

// pairingCause classifies a failed attempt's error.
func pairingCause(err error) PairingCause {
	switch {
	case errors.Is(err, pase.ErrWrongPasscode):
		return CauseWrongPasscode
	case errors.Is(err, pairing.ErrNoAck):
		return CauseNoAck
	case errors.Is(err, pase.ErrTimeout):
		return CauseTimedOut
	case errors.Is(err, pase.ErrBusy):
		return CauseBusy
	case errors.Is(err, ErrDown):
		return CauseAborted
	}
	return CauseOther
}

// PowerOff (Lifecycle): the node's core is gone. A device forgets its
// responder's state (a fresh one is built on Boot from the same verifier,
// which a device keeps in flash). A controller's handshakes in flight are
// cut: each counts as a failed attempt (CauseAborted) and its device goes
// back to the front of the queue, to be started again once the node is up;
// retries waiting out a backoff keep waiting.
func (a *paseAgent) PowerOff(now clock.Time, _ *Node) {
	a.resp, a.lastEst = nil, session.Ref{}
	a.closing = nil
	a.ctl.powerOff(now)
}

// Boot (Lifecycle): a device gets a fresh responder on the new core; a
// controller starts its queued handshakes.
func (a *paseAgent) Boot(now clock.Time, _ *Node) {
	if a.rcfg.Verifier != (spake2p.Verifier{}) {
		if r, err := pairing.NewResponder(a.n.m, a.rcfg); err == nil {
			a.resp = r
		}
	}
	a.ctl.pump(now)
}

// Precompute prepares the PASE responders of devs before their first
// Establish: each device's salt is drawn from its stream (as Establish
// would), then the SPAKE2+ verifiers (one PBKDF2 each, spec 3.10; the
// expensive part of building a large network) are computed on up to
// workers goroutines (0: GOMAXPROCS). It is a pure precomputation:
// results are stored by device index, so the network built is the same
// whatever the scheduling or the number of workers (house style 3).
// Devices that share a (passcode, salt) share one computation.
func (p *PASE) Precompute(devs []*Node, workers int) error {
	if p.Rand == nil {
		return errors.New("nodes: PASE: no random stream")
	}
	iter := p.Iterations
	if iter == 0 {
		iter = DefaultPASEIterations
	}
	type job struct {
		key  string
		code uint32
		salt []byte
		ver  spake2p.Verifier
		err  error
	}
	var jobs []*job
	byKey := map[string]*job{} // lookup only
	agents := make([]*paseAgent, len(devs))
	keys := make([]string, len(devs))
	for i, dev := range devs {
		a, err := p.agent(dev)
		if err != nil {
			return err
		}
		agents[i] = a
		if a.resp != nil || a.rcfg.Verifier != (spake2p.Verifier{}) {
			continue
		}
		salt, key, code, err := p.saltKey(a, iter)
		if err != nil {
			return fmt.Errorf("nodes: PASE device %d: %w", dev.index, err)
		}
		a.salt, keys[i] = salt, key
		if _, ok := p.verifiers[key]; ok || byKey[key] != nil {
			continue
		}
		j := &job{key: key, code: code, salt: salt}
		byKey[key] = j
		jobs = append(jobs, j)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for range min(workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				j.ver, j.err = spake2p.ComputeVerifier(j.code, j.salt, int(iter))
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, j := range jobs { // in device order
		if j.err != nil {
			return fmt.Errorf("nodes: PASE verifier: %w", j.err)
		}
		if p.verifiers == nil {
			p.verifiers = make(map[string]spake2p.Verifier)
		}
		p.verifiers[j.key] = j.ver
		p.stats.Verifiers++
	}
	for i, a := range agents {
		if keys[i] == "" {
			continue
		}
		if err := p.device(a); err != nil {
			return fmt.Errorf("nodes: PASE device %d: %w", devs[i].index, err)
		}
	}
	return nil
}

// saltKey draws (or takes) a's salt and returns it with its verifier cache
// key and the device's passcode.
func (p *PASE) saltKey(a *paseAgent, iter uint32) (salt []byte, key string, code uint32, err error) {
	salt = a.salt
	if salt == nil {
		salt = p.SharedSalt
	}
	if salt == nil {
		salt = make([]byte, 32)
		if _, err := io.ReadFull(a.rnd, salt); err != nil {
			return nil, "", 0, fmt.Errorf("salt: %w", err)
		}
	}
	code = p.Passcode
	if p.DevicePasscode != nil {
		code = p.DevicePasscode(a.n)
	}
	key = string(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, code), iter)) + string(salt)
	return salt, key, code, nil
}

// Verifier returns the SPAKE2+ verifier device dev's responder uses.
func (p *PASE) Verifier(dev *Node) (spake2p.Verifier, bool) {
	a := p.agents[dev]
	if a == nil || a.rcfg.Verifier == (spake2p.Verifier{}) {
		return spake2p.Verifier{}, false
	}
	return a.rcfg.Verifier, true
}

// Pending returns the establishments not finished, over every controller:
// queued and never started (or cut by a power-off and queued again),
// running a handshake, and waiting out a retry backoff.
func (p *PASE) Pending() (queued, active, waiting int) {
	for _, a := range p.agents { // sums: order does not matter
		q, ac, w := a.ctl.pending()
		queued, active, waiting = queued+q, active+ac, waiting+w
	}
	return queued, active, waiting
}
