package nodes

import (
	"errors"
	"fmt"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/session"
)

// Pair is an established secure session seen from both ends. A plain value.
type Pair struct {
	Initiator, Responder       *Node
	InitiatorRef, ResponderRef session.Ref
}

// Establisher opens a secure session between an initiator (controller) and
// a responder (device). It is the seam where a handshake (PASE, spec 4.14.1;
// CASE, spec 4.14.2) replaces pre-shared keys: an implementation that runs
// a handshake over the network calls done when it completes, later in
// virtual time; InstallKeys calls it before returning.
type Establisher interface {
	Establish(now clock.Time, initiator, responder *Node, done func(now clock.Time, p Pair, err error))
}

// InstallKeys is the handshake-free Establisher: it draws the two session
// keys (I2R, R2I; spec 4.13.2.6) from Keys, has each core reserve its local
// session id as it would for a handshake (Manager.ReserveLocalID, spec
// 4.13.2.1), and installs the session on both ends with
// Manager.InstallSecureSession, each naming the other's id as peer id.
//
// Keys is a deterministic stream in simulations (sim.Seeds.ChaCha8): the
// keys are not secret, which is fine for a simulation and nothing else.
// Kind is session.CASE (nonces use the operational node ids, spec 4.8.1.1)
// when zero. The zero value has no key stream and fails. Not safe for
// concurrent use.
type InstallKeys struct {
	Keys io.Reader
	Kind session.Kind
}

var _ Establisher = (*InstallKeys)(nil)

// Establish installs the session at now and calls done before returning.
// It stands in for CASE (spec 4.14.2), which a later issue brings: a
// controller re-establishing a lost session with installed keys is what
// it would do with CASE, minus the handshake's messages and time. The
// device is reached directly (its Do), not over the network; a device that
// is powered off fails the attempt (CauseUnreachable). The controller
// emits PairingQueued, PairingStarted, then PairingEnded (succeeded, no
// latency) or PairingFailed and PairingEnded (gave up: one attempt).
func (k *InstallKeys) Establish(now clock.Time, a, b *Node, done func(now clock.Time, p Pair, err error)) {
	a.Emit(now, NodeEvent{Kind: PairingQueued, Peer: b.index})
	a.Emit(now, NodeEvent{Kind: PairingStarted, Peer: b.index, Attempt: 1})
	p, err := k.install(now, a, b)
	if err != nil {
		c := CauseOther
		if errors.Is(err, ErrDown) {
			c = CauseUnreachable
		}
		a.Emit(now, NodeEvent{Kind: PairingFailed, Peer: b.index, Attempt: 1, Cause: c, Err: err})
		a.Emit(now, NodeEvent{Kind: PairingEnded, Peer: b.index, Attempt: 1, Outcome: PairingGaveUp, Err: err})
	} else {
		a.Emit(now, NodeEvent{Kind: PairingEnded, Peer: b.index, Attempt: 1, Outcome: PairingSucceeded})
	}
	done(now, p, err)
}

func (k *InstallKeys) install(now clock.Time, a, b *Node) (Pair, error) {
	p := Pair{Initiator: a, Responder: b}
	if k.Keys == nil {
		return p, fmt.Errorf("nodes: establish %d→%d: no key stream", a.index, b.index)
	}
	kind := k.Kind
	if kind == 0 {
		kind = session.CASE
	}
	var keys [32]byte
	if _, err := io.ReadFull(k.Keys, keys[:]); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: keys: %w", a.index, b.index, err)
	}
	// The initiator's id is reserved with the peer as the eviction hint,
	// as the SDK's CASE initiator allocates its session
	// (AllocateSecureSession with the peer's ScopedNodeId): a full table
	// evicts first from that fabric and that peer (an old session to the
	// same peer before anyone else's). The responder gives no hint, as
	// CASEServer prepares its session before knowing who will connect.
	hint := session.Peer{}
	if kind == session.CASE {
		hint = session.Peer{Fabric: 1, Node: b.nodeID}
	}
	var idA, idB uint16
	if err := a.Do(now, func(m *session.Manager) (err error) { idA, err = m.ReserveLocalIDFor(now, hint); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: initiator id: %w", a.index, b.index, err)
	}
	if err := b.Do(now, func(m *session.Manager) (err error) { idB, err = m.ReserveLocalID(now); return }); err != nil {
		_ = a.Do(now, func(m *session.Manager) error { m.ReleaseLocalID(idA); return nil })
		return p, fmt.Errorf("nodes: establish %d→%d: responder id: %w", a.index, b.index, err)
	}
	s := session.SecureSession{Kind: kind, I2RKey: [16]byte(keys[:16]), R2IKey: [16]byte(keys[16:])}
	sa, sb := s, s
	sa.Initiator, sa.LocalID, sa.PeerID, sa.Peer = true, idA, idB, b.Addr()
	sb.Initiator, sb.LocalID, sb.PeerID, sb.Peer = false, idB, idA, a.Addr()
	if kind == session.CASE {
		// One fabric (index 1) for the whole simulated network.
		sa.LocalNodeID, sa.PeerNodeID, sa.FabricIndex = a.nodeID, b.nodeID, 1
		sb.LocalNodeID, sb.PeerNodeID, sb.FabricIndex = b.nodeID, a.nodeID, 1
	}
	var err error
	if err = a.Do(now, func(m *session.Manager) (err error) { p.InitiatorRef, err = m.InstallSecureSession(now, sa); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: install at initiator: %w", a.index, b.index, err)
	}
	if err = b.Do(now, func(m *session.Manager) (err error) { p.ResponderRef, err = m.InstallSecureSession(now, sb); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: install at responder: %w", a.index, b.index, err)
	}
	return p, nil
}

// The PASE and CASE establishers schedule a controller's establishments
// the same way (connectedhomeip OperationalSessionSetup's reattempts, as
// the two establishers' doc comments say): a FIFO queue, at most inFlight
// handshakes at once, a failed attempt retried after a doubling backoff
// (at least the wait a BUSY asked for) until attempts run out, and the
// attempts a power-off cuts queued again at the front. establishLoop is
// that schedule, written once so the two cannot drift apart; what differs,
// how an attempt starts, times out and is counted, stays with each
// establisher behind handshakes.

// handshake is an attempt in flight as the loop sees it: something with a
// timeout.
type handshake interface{ Deadline() clock.Time }

// establishment is one Establish call at one controller, across its
// attempts. hs is the attempt in flight (zero between attempts).
type establishment[H handshake] struct {
	dev     *Node
	done    func(now clock.Time, pr Pair, err error)
	attempt int        // attempts started
	first   clock.Time // the first attempt's start
	started clock.Time // the current attempt's start
	hs      H
}

// handshakes is an establisher's part of its controllers' loops.
type handshakes[H handshake] interface {
	// policy returns the limits and counters, read when used (the
	// exported fields are set until the first Establish).
	policy() establishPolicy
	// start begins attempt j.attempt, already counted and emitted as
	// PairingStarted: it ends in establishLoop.activate, or in
	// establishLoop.failed when the handshake cannot begin.
	start(now clock.Time, j *establishment[H])
	// timeout runs the due timeout of the attempt active at index i and
	// reports whether that ended it (establishLoop.take).
	timeout(now clock.Time, i int) bool
	// aborted accounts for j's attempt cut by a power-off, beyond the
	// Failed count and PairingFailed event the loop gives it.
	aborted(now clock.Time, j *establishment[H])
}

// establishPolicy is an establisher's schedule: the name its errors carry,
// its limits with the defaults applied, and its stats' counters.
type establishPolicy struct {
	name                string // "PASE", "CASE"
	inFlight, attempts  int
	backoff, maxBackoff time.Duration
	// Counters in the establisher's stats.
	started, failed, retries, gaveUp *uint64
}

// positiveOr returns v, or def when v is not positive: the exported
// fields' "0 = default".
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// giveUp ends an establishment without a session: done gets the error,
// attempt is the last one started (0: none).
func (p establishPolicy) giveUp(now clock.Time, ctl, dev *Node, done func(clock.Time, Pair, error), attempt int, err error) {
	*p.gaveUp++
	err = fmt.Errorf("nodes: %s %d→%d: %w", p.name, ctl.index, dev.index, err)
	ctl.Emit(now, NodeEvent{Kind: PairingEnded, Peer: dev.index, Attempt: attempt, Outcome: PairingGaveUp, Err: err})
	done(now, Pair{Initiator: ctl, Responder: dev}, err)
}

// establishLoop is a controller's establishments: queued, active (in
// start order) and waiting out a backoff. n is the controller.
type establishLoop[H handshake] struct {
	n       *Node
	hs      handshakes[H]
	queue   []*establishment[H] // ready to start, FIFO
	active  []*establishment[H] // in flight, in start order
	retries timerQueue          // waiting out a backoff (key: index in waiting)
	waiting []*establishment[H]
}

// add queues j at the controller, inside one of its inputs, and starts it
// at once if a slot is free.
func (l *establishLoop[H]) add(now clock.Time, j *establishment[H]) {
	_ = l.n.Do(now, func(*session.Manager) error {
		l.queue = append(l.queue, j)
		l.pump(now)
		return nil
	})
}

// pump starts queued establishments while slots are free.
func (l *establishLoop[H]) pump(now clock.Time) {
	for !l.n.down && len(l.queue) > 0 && len(l.active) < l.hs.policy().inFlight {
		j := l.queue[0]
		l.queue = l.queue[1:]
		j.attempt++
		*l.hs.policy().started++
		if j.attempt == 1 {
			j.first = now
		}
		j.started = now
		l.n.Emit(now, NodeEvent{Kind: PairingStarted, Peer: j.dev.index, Attempt: j.attempt})
		l.hs.start(now, j)
	}
}

// activate makes h j's attempt in flight.
func (l *establishLoop[H]) activate(j *establishment[H], h H) {
	j.hs = h
	l.active = append(l.active, j)
}

// take ends the active attempt at i: it returns the establishment and its
// handshake, which the establishment no longer holds. The caller ends it
// with succeeded or failed.
func (l *establishLoop[H]) take(i int) (*establishment[H], H) {
	j := l.active[i]
	l.active = append(l.active[:i], l.active[i+1:]...)
	h := j.hs
	var zero H
	j.hs = zero
	return j, h
}

// succeeded ends j with session pr.
func (l *establishLoop[H]) succeeded(now clock.Time, j *establishment[H], pr Pair) {
	l.n.Emit(now, NodeEvent{Kind: PairingEnded, Peer: j.dev.index, Attempt: j.attempt,
		Outcome: PairingSucceeded, Latency: now.Sub(j.first)})
	j.done(now, pr, nil)
}

// failed counts j's failed attempt and gives j up (final, or out of
// attempts) or schedules a retry after the backoff, at least wait (a
// BUSY's requested delay, 0 if none: connectedhomeip
// OperationalSessionSetup::ScheduleSessionSetupReattempt takes the larger
// of the two). It reports whether it scheduled a retry.
func (l *establishLoop[H]) failed(now clock.Time, j *establishment[H], err error, cause PairingCause, final bool, wait time.Duration) bool {
	p := l.hs.policy()
	*p.failed++
	l.n.Emit(now, NodeEvent{Kind: PairingFailed, Peer: j.dev.index, Attempt: j.attempt, Cause: cause, Err: err})
	if final || j.attempt >= p.attempts {
		p.giveUp(now, l.n, j.dev, j.done, j.attempt, fmt.Errorf("gave up after %d attempts: %w", j.attempt, err))
		return false
	}
	*p.retries++
	b := p.backoff
	for k := 1; k < j.attempt && b < p.maxBackoff; k++ {
		b *= 2
	}
	b = max(min(b, p.maxBackoff), wait)
	l.waiting = append(l.waiting, j)
	l.retries.push(timerEntry{at: now.Add(b), key: len(l.waiting) - 1})
	return true
}

// handleTimer runs the active attempts' due timeouts, queues the retries
// that are due and starts what it can.
func (l *establishLoop[H]) handleTimer(now clock.Time) {
	for i := 0; i < len(l.active); {
		if l.active[i].hs.Deadline() <= now && l.hs.timeout(now, i) {
			continue
		}
		i++
	}
	for l.retries.len() > 0 && l.retries.top().at <= now {
		t := l.retries.pop()
		l.queue = append(l.queue, l.waiting[t.key])
		l.waiting[t.key] = nil
	}
	if l.retries.len() == 0 {
		l.waiting = l.waiting[:0]
	}
	l.pump(now)
}

// deadline returns the earliest attempt timeout or retry.
func (l *establishLoop[H]) deadline() clock.Time {
	t := clock.Never
	for _, j := range l.active {
		t = min(t, j.hs.Deadline())
	}
	if l.retries.len() > 0 {
		t = min(t, l.retries.top().at)
	}
	return t
}

// powerOff cuts the attempts in flight (the core that ran them is gone):
// each counts as failed (CauseAborted) and its establishment goes back to
// the front of the queue, to start again once the node is up; retries
// waiting out a backoff keep waiting.
func (l *establishLoop[H]) powerOff(now clock.Time) {
	cut := l.active
	l.active = nil
	var zero H
	for _, j := range cut {
		l.hs.aborted(now, j)
		j.hs = zero
		*l.hs.policy().failed++
		l.n.Emit(now, NodeEvent{Kind: PairingFailed, Peer: j.dev.index, Attempt: j.attempt, Cause: CauseAborted, Err: ErrDown})
	}
	l.queue = append(cut, l.queue...)
}

// pending returns the establishments queued, active and waiting.
func (l *establishLoop[H]) pending() (queued, active, waiting int) {
	for _, j := range l.waiting {
		if j != nil {
			waiting++
		}
	}
	return len(l.queue), len(l.active), waiting
}
