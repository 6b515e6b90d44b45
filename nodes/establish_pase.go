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
	fail := func(err error) {
		p.stats.GaveUp++
		err = fmt.Errorf("nodes: PASE %d→%d: %w", ctl.index, dev.index, err)
		ctl.Emit(now, NodeEvent{Kind: PairingEnded, Peer: dev.index, Outcome: PairingGaveUp, Err: err})
		done(now, Pair{Initiator: ctl, Responder: dev}, err)
	}
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
	j := &paseJob{dev: dev, done: done}
	_ = ctl.Do(now, func(*session.Manager) error {
		ca.queue = append(ca.queue, j)
		ca.pump(now)
		return nil
	})
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

// paseJob is one device to pair, at one controller.
type paseJob struct {
	dev     *Node
	done    func(now clock.Time, pr Pair, err error)
	attempt int
	init    *pairing.Initiator
	started clock.Time
	first   clock.Time // the first attempt's start
	lastErr error
}

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
	queue   []*paseJob           // ready to start, FIFO
	active  []*paseJob           // in flight, in start order
	closing []*pairing.Initiator // finished, cleaning their unsecured session up
	retries timerQueue           // jobs waiting out a backoff (key: index in waiting)
	waiting []*paseJob
}

var (
	_ Handshaker = (*paseAgent)(nil)
	_ Lifecycle  = (*paseAgent)(nil)
)

func (a *paseAgent) inFlight() int {
	if a.p.InFlight > 0 {
		return a.p.InFlight
	}
	return DefaultPASEInFlight
}

// pump starts queued jobs while slots are free.
func (a *paseAgent) pump(now clock.Time) {
	for len(a.queue) > 0 && len(a.active) < a.inFlight() {
		j := a.queue[0]
		a.queue = a.queue[1:]
		a.start(now, j)
	}
}

func (a *paseAgent) start(now clock.Time, j *paseJob) {
	j.attempt++
	a.p.stats.Attempts++
	if j.attempt == 1 {
		j.first = now
	}
	a.n.Emit(now, NodeEvent{Kind: PairingStarted, Peer: j.dev.index, Attempt: j.attempt})
	init, err := pairing.StartInitiator(now, a.n.m, pairing.InitiatorConfig{
		Peer: j.dev.Addr(), Passcode: a.p.Passcode, Rand: a.rnd, Timeout: a.p.Timeout,
	})
	if err != nil {
		a.failed(now, j, err, errors.Is(err, pase.ErrConfig))
		return
	}
	j.init, j.started = init, now
	a.active = append(a.active, j)
}

// check ends the active job at i if its handshake is done; it reports
// whether it did.
func (a *paseAgent) check(now clock.Time, i int) bool {
	j := a.active[i]
	if !j.init.Done() {
		return false
	}
	a.active = append(a.active[:i], a.active[i+1:]...)
	if !j.init.Idle() {
		a.closing = append(a.closing, j.init)
	}
	init := j.init
	j.init = nil
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
		a.n.Emit(now, NodeEvent{Kind: PairingEnded, Peer: j.dev.index, Attempt: j.attempt,
			Outcome: PairingSucceeded, Latency: now.Sub(j.first)})
		j.done(now, pr, nil)
	} else {
		err := init.Err()
		a.failed(now, j, err, errors.Is(err, pase.ErrWrongPasscode))
	}
	a.pump(now)
	return true
}

// failed counts a failed attempt and retries it or gives the device up.
func (a *paseAgent) failed(now clock.Time, j *paseJob, err error, final bool) {
	s := &a.p.stats
	s.Failed++
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
	j.lastErr = err
	a.n.Emit(now, NodeEvent{Kind: PairingFailed, Peer: j.dev.index, Attempt: j.attempt, Cause: pairingCause(err), Err: err})
	attempts := a.p.Attempts
	if attempts <= 0 {
		attempts = DefaultPASEAttempts
	}
	if final || j.attempt >= attempts {
		s.GaveUp++
		err = fmt.Errorf("nodes: PASE %d→%d: gave up after %d attempts: %w", a.n.index, j.dev.index, j.attempt, err)
		a.n.Emit(now, NodeEvent{Kind: PairingEnded, Peer: j.dev.index, Attempt: j.attempt, Outcome: PairingGaveUp, Err: err})
		j.done(now, Pair{Initiator: a.n, Responder: j.dev}, err)
		return
	}
	s.Retries++
	b := a.p.Backoff
	if b <= 0 {
		b = DefaultPASEBackoff
	}
	for k := 1; k < j.attempt && b < MaxPASEBackoff; k++ {
		b *= 2
	}
	b = min(b, MaxPASEBackoff)
	if w, ok := pairing.BusyWait(err); ok && w > 0 {
		// The device said when to come back: wait at least that long
		// (connectedhomeip OperationalSessionSetup
		// ScheduleSessionSetupReattempt takes the larger of its backoff
		// and the requested busy delay).
		b = max(b, w)
		s.BusyRetries++
	}
	a.waiting = append(a.waiting, j)
	a.retries.push(timerEntry{at: now.Add(b), key: len(a.waiting) - 1})
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
	for i := 0; !taken && i < len(a.active); i++ {
		if a.active[i].init.HandleEvent(now, *ev) {
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
	for i := 0; i < len(a.active); {
		if a.active[i].init.Deadline() <= now {
			a.active[i].init.HandleTimeout(now)
			if a.check(now, i) {
				continue
			}
		}
		i++
	}
	for a.retries.len() > 0 && a.retries.top().at <= now {
		t := a.retries.pop()
		a.queue = append(a.queue, a.waiting[t.key])
		a.waiting[t.key] = nil
	}
	if a.retries.len() == 0 {
		a.waiting = a.waiting[:0]
	}
	a.pump(now)
}

// Deadline returns the earliest handshake timeout or retry.
func (a *paseAgent) Deadline() clock.Time {
	t := clock.Never
	if a.resp != nil {
		t = a.resp.Deadline()
	}
	for _, j := range a.active {
		t = min(t, j.init.Deadline())
	}
	if a.retries.len() > 0 {
		t = min(t, a.retries.top().at)
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
	if len(a.active) == 0 {
		return
	}
	cut := a.active
	a.active = nil
	for _, j := range cut {
		j.init = nil
		s := &a.p.stats
		s.Failed++
		s.Aborted++
		a.n.Emit(now, NodeEvent{Kind: PairingFailed, Peer: j.dev.index, Attempt: j.attempt, Cause: CauseAborted, Err: ErrDown})
	}
	a.queue = append(cut, a.queue...)
}

// Boot (Lifecycle): a device gets a fresh responder on the new core; a
// controller starts its queued handshakes.
func (a *paseAgent) Boot(now clock.Time, _ *Node) {
	if a.rcfg.Verifier != (spake2p.Verifier{}) {
		if r, err := pairing.NewResponder(a.n.m, a.rcfg); err == nil {
			a.resp = r
		}
	}
	a.pump(now)
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
		queued += len(a.queue)
		active += len(a.active)
		for _, j := range a.waiting {
			if j != nil {
				waiting++
			}
		}
	}
	return queued, active, waiting
}
