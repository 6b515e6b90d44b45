package pairing

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/params"
	"mattersim/session/pase"
	"mattersim/session/spake2p"
)

// DefaultFailSafe is how long an established PASE session may live before
// the responder closes it, as matter.js arms a 60 s fail-safe per PASE
// session (docs/interop.md §5; spec 11.10.6.2 ArmFailSafe's default).
const DefaultFailSafe = 60 * time.Second

// ResponderConfig configures the device side: one commissioning window.
type ResponderConfig struct {
	// Verifier is (w0, L) (spake2p.ComputeVerifier); the device never keeps
	// the passcode. Salt (16..32 bytes) and Iterations (1000..100000) are
	// sent to initiators that ask for them.
	Verifier   spake2p.Verifier
	Salt       []byte
	Iterations uint32
	// Rand supplies responderRandom and the scalar y. Required.
	Rand io.Reader
	// Params are sent as responderSessionParams; nil sends the Manager's
	// Config().Local MRP intervals.
	Params *pase.SessionParams
	// MaxFailures closes the window after this many failed attempts (0:
	// pase.DefaultMaxFailures, 20).
	MaxFailures int
	// PairingTimeout and StepTimeout bound a pairing and each wait in it
	// (0: the pase defaults, 60 s and 30 s; negative: no bound).
	PairingTimeout time.Duration
	StepTimeout    time.Duration
	// IgnoreWhileBusy drops a second PBKDFParamRequest silently, as
	// matter.js does, instead of answering StatusReport BUSY.
	IgnoreWhileBusy bool
	// ReopenAfter re-opens a window closed by MaxFailures failed attempts
	// this long after it closed, with the count reset (pase.Responder
	// Reopen). 0 keeps it closed, as the SDK does until an administrator
	// opens a new window (spec 13.3: exit commissioning mode after 20
	// failed attempts; connectedhomeip CommissioningWindowManager.cpp,
	// kMaxFailedCommissioningAttempts); for a stand-alone device that
	// means until restart.
	ReopenAfter time.Duration
	// FailSafe closes an established PASE session (CloseSession) after this
	// long, so the next pairing can start even if the commissioner vanished
	// (0: DefaultFailSafe; negative: never).
	FailSafe time.Duration
}

// NoticeKind classifies a Notice.
type NoticeKind uint8

// Notice kinds.
const (
	// NoticeEstablished: a pairing succeeded; Session is the PASE session.
	NoticeEstablished NoticeKind = iota + 1
	// NoticeFailed: a pairing attempt failed (wrong passcode, malformed
	// message, timeout, ...) and was counted; Err says why.
	NoticeFailed
	// NoticeRefused: a PBKDFParamRequest was refused without starting a
	// pairing (busy, or the window is closed); nothing was counted.
	NoticeRefused
	// NoticeFailSafe: the fail-safe closed an established PASE session.
	NoticeFailSafe
	// NoticeReleased: the PASE session of the last pairing closed; the
	// responder serves the next PBKDFParamRequest.
	NoticeReleased
	// NoticeReopened: a window closed by too many failures re-opened
	// (ResponderConfig.ReopenAfter).
	NoticeReopened
)

func (k NoticeKind) String() string {
	switch k {
	case NoticeEstablished:
		return "established"
	case NoticeFailed:
		return "failed"
	case NoticeRefused:
		return "refused"
	case NoticeFailSafe:
		return "fail-safe"
	case NoticeReleased:
		return "released"
	case NoticeReopened:
		return "reopened"
	}
	return fmt.Sprintf("notice(%d)", uint8(k))
}

// Notice reports the outcome of a pairing attempt on a Responder, for logs
// and traces. A plain value.
type Notice struct {
	Kind     NoticeKind
	At       clock.Time
	Peer     netip.AddrPort
	Session  session.Ref // NoticeEstablished, NoticeFailSafe, NoticeReleased
	Result   pase.Result // NoticeEstablished
	Err      error       // NoticeFailed, NoticeRefused: an *Error
	Failures int         // failed attempts so far (the window closes at MaxFailures)
}

// Responder serves PASE on a session.Manager for one commissioning window:
// one pairing at a time, failures counted across pairings (pase.Responder).
// Make it with NewResponder; the zero value is not usable. Not safe for
// concurrent use: drive it from the goroutine that drives the Manager.
type Responder struct {
	m   *session.Manager
	cfg ResponderConfig
	hs  *pase.Responder

	// The pairing in progress (active) or the last one established.
	active  bool
	unsec   session.Ref
	x       session.Exchange
	peer    netip.AddrPort
	localID uint16

	est        session.Ref // established PASE session, zero if none
	estPeer    netip.AddrPort
	failSafeAt clock.Time
	reopenAt   clock.Time // when a window closed by failures re-opens, or Never

	// closing holds handshake exchanges whose unsecured session is removed
	// once the exchange is released (its last reliable message acked).
	closing ClosingExchanges
	notices []Notice
}

// NewResponder validates cfg and returns a Responder serving PASE on m.
func NewResponder(m *session.Manager, cfg ResponderConfig) (*Responder, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil Manager", pase.ErrConfig)
	}
	if cfg.Params == nil {
		cfg.Params = params.FromIntervals(m.Config().Local)
	}
	if cfg.FailSafe == 0 {
		cfg.FailSafe = DefaultFailSafe
	}
	hs, err := pase.NewResponder(pase.ResponderConfig{
		Verifier:        cfg.Verifier,
		Salt:            cfg.Salt,
		Iterations:      cfg.Iterations,
		LocalSessionID:  1, // replaced by a reserved id for every pairing
		Params:          cfg.Params,
		Rand:            cfg.Rand,
		MaxFailures:     cfg.MaxFailures,
		PairingTimeout:  cfg.PairingTimeout,
		StepTimeout:     cfg.StepTimeout,
		IgnoreWhileBusy: cfg.IgnoreWhileBusy,
	})
	if err != nil {
		return nil, err
	}
	// PBKDFParamRequest on an unsecured session is the one unsolicited
	// message PASE takes (connectedhomeip PASESession registers it).
	m.RegisterUnsolicited(paseRequest)
	if cfg.ReopenAfter < 0 {
		return nil, fmt.Errorf("%w: ReopenAfter %v is negative", pase.ErrConfig, cfg.ReopenAfter)
	}
	return &Responder{m: m, cfg: cfg, hs: hs, failSafeAt: clock.Never, reopenAt: clock.Never,
		closing: make(ClosingExchanges)}, nil
}

// paseRequest is the registration a Responder makes on its Manager
// (session.Manager.RegisterUnsolicited): PBKDFParamRequest on unsecured
// sessions (spec 4.14.1.2).
var paseRequest = session.Unsolicited{Protocol: message.ProtocolSecureChannel, Opcode: pase.OpPBKDFParamRequest}

// Failures returns the number of failed attempts so far.
func (r *Responder) Failures() int { return r.hs.Failures() }

// State returns the state of the underlying pase.Responder.
func (r *Responder) State() pase.State { return r.hs.State() }

// Poll returns the next notice, in order, and false once there are none.
func (r *Responder) Poll() (Notice, bool) {
	if len(r.notices) == 0 {
		return Notice{}, false
	}
	n := r.notices[0]
	r.notices = r.notices[1:]
	if len(r.notices) == 0 {
		r.notices = nil
	}
	return n, true
}

// Deadline returns when HandleTimeout has work: the pairing timeout, the
// fail-safe of the established session or the re-opening of a closed
// window, or clock.Never.
func (r *Responder) Deadline() clock.Time {
	return min(r.hs.Deadline(), r.failSafeAt, r.reopenAt)
}

// HandleTimeout expires a pairing whose deadline passed (counted as a
// failure), closes an established session whose fail-safe expired and
// re-opens a window whose ReopenAfter passed.
func (r *Responder) HandleTimeout(now clock.Time) {
	r.reopen(now)
	r.expire(now)
	if r.est != (session.Ref{}) && now >= r.failSafeAt {
		ref, peer := r.est, r.estPeer
		r.release()
		_ = r.m.CloseSession(now, ref)
		r.notify(Notice{Kind: NoticeFailSafe, At: now, Peer: peer, Session: ref})
	}
}

// reopen re-opens a window closed by failures once its ReopenAfter passed.
func (r *Responder) reopen(now clock.Time) {
	if now < r.reopenAt {
		return
	}
	r.reopenAt = clock.Never
	r.hs.Reopen()
	r.notify(Notice{Kind: NoticeReopened, At: now})
}

// expire ends the pairing in progress if its deadline passed. pase is
// always asked, even when no pairing is tracked here, so that pase's
// deadline moves on and Deadline never stays in the past (a driver would
// otherwise re-arm its timer at the same instant forever).
func (r *Responder) expire(now clock.Time) {
	waiting := awaited(r.hs.State())
	_, err := r.hs.HandleTimeout(now)
	if r.active && ended(err) {
		r.failed(now, waiting, err)
	}
}

// ended reports whether err from pase.Responder ended the pairing attempt
// (an *AttemptError: counted, pase back to idle or closed). ErrBusy,
// ErrWindowClosed and ErrUnexpectedMessage on their own are refusals or
// strays that leave the pairing in progress as it was.
func ended(err error) bool {
	var ae *pase.AttemptError
	return errors.As(err, &ae)
}

// Close closes the commissioning window at now: PBKDFParamRequests are
// then acked and ignored (refused, NoticeRefused). A pairing in progress
// is ended (NoticeFailed, not counted as a failure); an established PASE
// session is left alone. A re-opening ReopenAfter had scheduled is
// cancelled: the window stays closed until Reopen.
func (r *Responder) Close(now clock.Time) {
	r.reopenAt = clock.Never
	if r.active {
		waiting := awaited(r.hs.State())
		r.hs.Close()
		r.failed(now, waiting, pase.ErrWindowClosed)
		r.reopenAt = clock.Never
		return
	}
	r.hs.Close()
}

// FailCommissioning counts an established pairing whose commissioning
// failed (its fail-safe expired before CommissioningComplete) as a failed
// attempt and serves the next PBKDFParamRequest, even after Close; at
// MaxFailures the window closes instead (pase Responder.FailCommissioning,
// connectedhomeip CommissioningWindowManager::HandleFailedAttempt). It
// queues a NoticeFailed, and does nothing while a pairing is in progress.
func (r *Responder) FailCommissioning(now clock.Time, reason error) {
	if r.active {
		return
	}
	err := r.hs.FailCommissioning(reason)
	if err == nil {
		return
	}
	if r.cfg.ReopenAfter > 0 && r.hs.State() == pase.StateClosed {
		r.reopenAt = now.Add(r.cfg.ReopenAfter)
	}
	r.notify(Notice{Kind: NoticeFailed, At: now, Peer: r.estPeer, Failures: r.hs.Failures(),
		Err: &Error{Role: RoleResponder, Peer: r.estPeer, Err: err}})
}

// Reopen opens a closed window again with the failure count reset (pase
// Responder.Reopen), as an administrator opening a new basic window
// does; it does nothing to an open one. No notice: the caller knows.
func (r *Responder) Reopen() {
	r.reopenAt = clock.Never
	r.hs.Reopen()
}

// HandleEvent consumes ev if it belongs to PASE (a Secure Channel message
// on an unsecured session, or an event of a handshake exchange) and
// reports whether it did. It also watches the established PASE session:
// when it closes the responder serves the next pairing (the event is not
// consumed, so the caller sees it too).
func (r *Responder) HandleEvent(now clock.Time, ev session.Event) bool {
	if ev.Session.Secure() {
		if ev.Kind == session.EventSessionClosed && ev.Session == r.est {
			ref, peer := r.est, r.estPeer
			r.release()
			r.notify(Notice{Kind: NoticeReleased, At: now, Peer: peer, Session: ref})
		}
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolSecureChannel || ev.Exchange.Initiator {
			return false
		}
		// A pairing whose deadline passed ends before the message is looked
		// at, even if HandleTimeout has not run yet: otherwise a new
		// PBKDFParamRequest would be served by pase (which expires the stale
		// pairing itself) while this glue still tracked the old one.
		r.reopen(now)
		r.expire(now)
		if r.active && ev.Exchange == r.x {
			r.step(now, ev)
			return true
		}
		if ev.Opcode != pase.OpPBKDFParamRequest {
			// Not ours to answer, but a Secure Channel exchange opened on
			// an unsecured session has no other owner: close it so it is
			// not left open (it acks the message if asked).
			_ = r.m.CloseExchange(now, ev.Exchange)
			return true
		}
		r.request(now, ev)
		return true
	case session.EventExchangeClosed:
		if r.closing.Released(now, r.m, ev.Exchange, r.inUse) {
			return true
		}
	case session.EventGiveUp:
		// A handshake message we sent was never acked (spec 4.12.2.1): the
		// peer is gone, so end the pairing now (counted, as a timeout
		// would be) and free the slot for the next commissioner instead
		// of holding it until the step timeout.
		if r.active && ev.Exchange == r.x {
			waiting := awaited(r.hs.State())
			if err := r.hs.Abort(ErrNoAck); err != nil {
				r.failed(now, waiting, err)
			}
			return true
		}
		return r.closing.Has(ev.Exchange)
	case session.EventSessionClosed:
		if r.active && ev.Session == r.unsec {
			// Evicted from the unsecured table: the pairing cannot go on; it
			// fails at its step timeout.
			return true
		}
	}
	if r.active && ev.Exchange == r.x {
		return true
	}
	return r.closing.Has(ev.Exchange)
}

// request handles a PBKDFParamRequest on a new exchange.
func (r *Responder) request(now clock.Time, ev session.Event) {
	if r.hs.State() != pase.StateIdle {
		// Busy or closed: pase answers BUSY (or nothing) and counts nothing.
		out, err := r.hs.Handle(now, ev.Opcode, ev.Payload)
		if out.Send {
			_ = r.m.Send(now, ev.Exchange, session.Message{Protocol: message.ProtocolSecureChannel,
				Opcode: out.Opcode, Payload: out.Payload})
		}
		r.retire(now, ev.Exchange)
		if err == nil {
			err = errors.New("pairing: request refused")
		}
		r.notify(Notice{Kind: NoticeRefused, At: now, Peer: ev.From, Failures: r.hs.Failures(),
			Err: &Error{Role: RoleResponder, Peer: ev.From, Err: err}})
		return
	}
	id, err := r.m.ReserveLocalID(now)
	if err != nil {
		r.retire(now, ev.Exchange)
		r.notify(Notice{Kind: NoticeRefused, At: now, Peer: ev.From, Failures: r.hs.Failures(),
			Err: &Error{Role: RoleResponder, Peer: ev.From, Err: err}})
		return
	}
	if err := r.hs.SetLocalSessionID(id); err != nil {
		r.m.ReleaseLocalID(id)
		r.retire(now, ev.Exchange)
		return
	}
	r.active, r.unsec, r.x, r.peer, r.localID = true, ev.Session, ev.Exchange, ev.From, id
	var req pase.PBKDFParamRequest
	if req.Decode(ev.Payload) == nil && req.Params != nil {
		// The initiator's MRP intervals govern our retransmissions for the
		// rest of the handshake (spec 4.12.8).
		_ = r.m.SetPeerIntervals(ev.Session, req.Params.Intervals())
	}
	r.step(now, ev)
}

// step feeds one message of the pairing in progress to pase.
func (r *Responder) step(now clock.Time, ev session.Event) {
	waiting := awaited(r.hs.State())
	if waiting == "" {
		waiting = "PBKDFParamRequest"
	}
	r.peer = ev.From
	out, err := r.hs.Handle(now, ev.Opcode, ev.Payload)
	var serr error
	if out.Send {
		serr = r.m.Send(now, r.x, session.Message{Protocol: message.ProtocolSecureChannel,
			Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
	}
	switch {
	case ended(err):
		// pase ended the attempt (counted; idle again, or the window closed).
		r.failed(now, waiting, err)
	case err != nil:
		// A refusal (ErrBusy for a second PBKDFParamRequest, whose BUSY
		// report went out above) or a stray message: the pairing in
		// progress goes on unchanged, and so must our view of it.
	case serr != nil && out.Done:
		// Established in pase but the final StatusReport could not be sent:
		// give the slot back (nothing counted: the passcode was right).
		r.hs.Release()
		r.failed(now, waiting, serr)
	case serr != nil:
		r.failed(now, waiting, r.hs.Abort(serr))
	case out.Done:
		r.establish(now)
	}
}

func (r *Responder) establish(now clock.Time) {
	res, _ := r.hs.Result()
	ref, err := r.m.InstallSecureSession(now, session.SecureSession{
		Kind:                 session.PASE,
		LocalID:              res.LocalSessionID,
		PeerID:               res.PeerSessionID,
		Peer:                 r.peer,
		I2RKey:               res.I2RKey,
		R2IKey:               res.R2IKey,
		AttestationChallenge: res.AttestationChallenge,
		PeerIntervals:        res.PeerParams.Intervals(),
	})
	r.active = false
	r.retire(now, r.x)
	if err != nil {
		r.hs.Release()
		r.m.ReleaseLocalID(r.localID)
		r.notify(Notice{Kind: NoticeFailed, At: now, Peer: r.peer, Failures: r.hs.Failures(),
			Err: &Error{Role: RoleResponder, Peer: r.peer, Err: fmt.Errorf("pairing: installing the PASE session: %w", err)}})
		return
	}
	r.est, r.estPeer = ref, r.peer
	if r.cfg.FailSafe > 0 {
		r.failSafeAt = now.Add(r.cfg.FailSafe)
	}
	r.notify(Notice{Kind: NoticeEstablished, At: now, Peer: r.peer, Session: ref, Result: res,
		Failures: r.hs.Failures()})
}

// failed ends the pairing in progress after pase counted the failure.
func (r *Responder) failed(now clock.Time, waiting string, err error) {
	r.active = false
	r.m.ReleaseLocalID(r.localID)
	r.retire(now, r.x)
	if r.cfg.ReopenAfter > 0 && r.hs.State() == pase.StateClosed {
		r.reopenAt = now.Add(r.cfg.ReopenAfter)
	}
	r.notify(Notice{Kind: NoticeFailed, At: now, Peer: r.peer, Failures: r.hs.Failures(),
		Err: &Error{Role: RoleResponder, Peer: r.peer, Waiting: waiting, Err: err}})
}

// release forgets the established session and frees the pairing slot.
func (r *Responder) release() {
	r.est, r.estPeer, r.failSafeAt = session.Ref{}, netip.AddrPort{}, clock.Never
	r.hs.Release()
}

// retire closes a handshake exchange; its unsecured session is removed
// once the exchange is released.
func (r *Responder) retire(now clock.Time, x session.Exchange) {
	r.closing.Close(now, r.m, x, r.inUse)
}

// inUse reports whether ref is the unsecured session of the pairing in
// progress, which a closing exchange's cleanup must leave alone.
func (r *Responder) inUse(ref session.Ref) bool { return r.active && ref == r.unsec }

func (r *Responder) notify(n Notice) { r.notices = append(r.notices, n) }
