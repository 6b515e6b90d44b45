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
	"mattersim/session/mrp"
	"mattersim/session/params"
	"mattersim/session/pase"
	"mattersim/session/status"
)

// DefaultTimeout bounds a whole initiator handshake when
// InitiatorConfig.Timeout is 0. It is the SDK's wait for each PASE message
// (connectedhomeip PASESession.cpp kSpake2p_Response_Timeout, 30 s).
const DefaultTimeout = pase.DefaultStepTimeout

// InitiatorConfig configures one commissioner-side handshake.
type InitiatorConfig struct {
	Peer     netip.AddrPort
	Passcode uint32
	// Rand supplies initiatorRandom and the SPAKE2+ scalar x: crypto/rand
	// on real networks, a seeded stream in simulations. Required.
	Rand io.Reader
	// Params are sent as initiatorSessionParams; nil sends the Manager's
	// Config().Local MRP intervals.
	Params *pase.SessionParams
	// PBKDF, when set, are the device's PBKDF parameters known in advance
	// (hasPBKDFParameters = true). matter.js devices pick a random salt at
	// every start, so leave it nil for them (docs/interop.md §5).
	PBKDF *pase.PBKDFParams
	// Timeout bounds the whole handshake on the Manager's clock, and each
	// wait for the peer. 0 means DefaultTimeout; negative disables it (MRP
	// give-up still ends a handshake with a silent peer).
	Timeout time.Duration
	// PeerIntervals are the peer's MRP intervals known before the
	// handshake: the SII/SAI/SAT keys of its DNS-SD TXT record (spec
	// 4.3.4). The unsecured session takes them before the
	// PBKDFParamRequest goes out, so its first retransmission already
	// follows them, as the SDK creates the session with the resolved
	// node's config (connectedhomeip CHIPDeviceController.cpp
	// EstablishPASEConnection: CreateUnauthenticatedSession(peerAddress,
	// params.GetMRPConfig())). The PBKDFParamResponse's session
	// parameters replace them. Zero fields mean the spec defaults.
	PeerIntervals mrp.Intervals
}

// Established describes a PASE session a handshake installed.
type Established struct {
	Ref  session.Ref // the secure session in the Manager
	Peer netip.AddrPort
	// Result holds the session ids, keys, attestation challenge and the
	// peer's session parameters (with defaults filled in).
	Result pase.Result
}

// Initiator runs one commissioner-side PASE handshake on a session.Manager
// (spec 4.14.1). Start it with StartInitiator; it ends with Done reporting
// true and either Session or Err set. Feed it every event drained from the
// Manager through HandleEvent and call HandleTimeout at Deadline.
//
// The zero value is not usable. Not safe for concurrent use; it must be
// driven from the goroutine that drives the Manager.
type Initiator struct {
	m            *session.Manager
	cfg          InitiatorConfig
	hs           *pase.Initiator
	localID      uint16
	unsec        session.Ref
	x            session.Exchange
	start        clock.Time
	endBy        clock.Time
	last         uint8 // opcode of the last handshake message we sent
	requestAcked bool  // the PBKDFParamRequest was acknowledged (and not yet answered)

	done    bool
	retired bool // the unsecured session has been retired
	cleaned bool // the unsecured session has been removed
	est     Established
	err     error
}

// StartInitiator reserves a local session id, opens an unsecured session
// (with cfg.PeerIntervals) and an exchange towards cfg.Peer and sends the
// PBKDFParamRequest, with R set. Errors returned here are configuration or table errors; handshake
// failures come later through Err.
func StartInitiator(now clock.Time, m *session.Manager, cfg InitiatorConfig) (*Initiator, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil Manager", pase.ErrConfig)
	}
	if !cfg.Peer.IsValid() {
		return nil, fmt.Errorf("%w: invalid peer address", pase.ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Params == nil {
		cfg.Params = params.FromIntervals(m.Config().Local)
	}
	id, err := m.ReserveLocalID(now)
	if err != nil {
		return nil, err
	}
	hs, err := pase.NewInitiator(pase.InitiatorConfig{
		Passcode:       cfg.Passcode,
		LocalSessionID: id,
		Params:         cfg.Params,
		Rand:           cfg.Rand,
		PBKDF:          cfg.PBKDF,
		StepTimeout:    cfg.Timeout,
	})
	if err != nil {
		m.ReleaseLocalID(id)
		return nil, err
	}
	ref, err := m.OpenUnsecured(now, cfg.Peer)
	if err != nil {
		m.ReleaseLocalID(id)
		return nil, err
	}
	_ = m.SetPeerIntervals(ref, cfg.PeerIntervals)
	// PASESession::Pair: "the peer is assumed to be active", so the first
	// retry of PBKDFParamRequest uses the active interval.
	_ = m.MarkPeerActive(now, ref)
	x, err := m.NewExchange(ref)
	if err != nil {
		m.ReleaseLocalID(id)
		_ = m.RemoveSession(now, ref)
		return nil, err
	}
	p := &Initiator{m: m, cfg: cfg, hs: hs, localID: id, unsec: ref, x: x, start: now,
		endBy: clock.Never}
	if cfg.Timeout > 0 {
		p.endBy = now.Add(cfg.Timeout)
	}
	out, err := hs.Start(now)
	if err == nil {
		err = p.send(now, out)
	}
	if err != nil {
		m.ReleaseLocalID(id)
		_ = m.RemoveSession(now, ref)
		return nil, err
	}
	return p, nil
}

// Done reports whether the handshake has ended (successfully or not).
func (p *Initiator) Done() bool { return p.done }

// Err returns the *Error that ended the handshake, or nil.
func (p *Initiator) Err() error { return p.err }

// Session returns the installed PASE session once the handshake succeeded.
func (p *Initiator) Session() (Established, bool) { return p.est, p.done && p.err == nil }

// Exchange returns the handshake exchange (on the unsecured session).
func (p *Initiator) Exchange() session.Exchange { return p.x }

// Idle reports whether the handshake has ended and its unsecured session
// is gone: its last message (the final ack, or our failure report) has
// been acknowledged or given up on, and the session, retired then
// (session.Manager.RetireSession), has lingered long enough to ack the
// peer's retransmissions of its final message, or was recycled.
func (p *Initiator) Idle() bool { return p.done && p.cleaned }

// Settled reports whether the handshake has ended and its exchange is
// released: our last message (the final ack, or our failure report) has
// been acknowledged or given up on, so the peer has heard the outcome.
// Unlike Idle it does not wait for the unsecured session's linger; a
// caller about to exit waits for Settled.
func (p *Initiator) Settled() bool { return p.done && (p.retired || p.cleaned) }

// Deadline returns when HandleTimeout has work: the handshake timeout, or
// clock.Never once it has ended.
func (p *Initiator) Deadline() clock.Time {
	if p.done {
		return clock.Never
	}
	return min(p.endBy, p.hs.Deadline())
}

// HandleTimeout fails the handshake with a timeout if its deadline is due.
func (p *Initiator) HandleTimeout(now clock.Time) {
	if p.done {
		return
	}
	waiting := awaited(p.hs.State())
	if now >= p.endBy {
		p.fail(now, waiting, &pase.TimeoutError{State: p.hs.State(), Deadline: p.endBy, Now: now}, p.cfg.Timeout)
		return
	}
	if _, err := p.hs.HandleTimeout(now); err != nil {
		p.fail(now, waiting, err, now.Sub(p.start).Round(time.Millisecond))
	}
}

// Abort ends a handshake in progress with cause: it sends StatusReport
// FAILURE/INVALID_PARAMETER on the handshake exchange, which frees the
// device's pairing slot at once (matter.js otherwise waits 60 s;
// docs/interop.md §5).
func (p *Initiator) Abort(now clock.Time, cause error) {
	if p.done {
		return
	}
	msg := session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: pase.OpStatusReport, Payload: status.InvalidParam().Append(nil), Reliable: true}
	if err := p.m.Send(now, p.x, msg); errors.Is(err, session.ErrBusy) {
		// Our last handshake message is still unacknowledged: send the
		// report once, without R, rather than not at all.
		msg.Reliable = false
		_ = p.m.Send(now, p.x, msg)
	}
	p.fail(now, awaited(p.hs.State()), cause, 0)
}

// AbortTimedOut is Abort for a caller whose own deadline for the
// handshake passed (a moment before the handshake's timer would have
// fired): the error is the handshake's timeout, as HandleTimeout would
// give, with after as the time waited.
func (p *Initiator) AbortTimedOut(now clock.Time, after time.Duration) {
	if p.done {
		return
	}
	p.Abort(now, &pase.TimeoutError{State: p.hs.State(), Deadline: p.endBy, Now: now})
	if e, ok := p.err.(*Error); ok {
		e.After = after
	}
}

// HandleEvent consumes ev if it concerns the handshake (its exchange or
// its unsecured session) and reports whether it did. Events of the
// installed secure session are left to the caller.
func (p *Initiator) HandleEvent(now clock.Time, ev session.Event) bool {
	if ev.Session != p.unsec {
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		if ev.Exchange != p.x || ev.Protocol != message.ProtocolSecureChannel || p.done {
			return true
		}
		p.handleMessage(now, ev)
	case session.EventAck:
		if ev.Exchange == p.x && p.hs.State() == pase.StateWaitPBKDFResponse {
			p.requestAcked = true
		}
	case session.EventGiveUp:
		if ev.Exchange == p.x && !p.done {
			p.fail(now, awaited(p.hs.State()),
				fmt.Errorf("%w: %s sent %d times", ErrNoAck, opName(p.last), ev.Attempt), 0)
		}
	case session.EventExchangeClosed:
		if ev.Exchange == p.x && p.done {
			p.cleanup(now)
		}
	case session.EventSessionClosed:
		p.cleaned = true
		if !p.done {
			p.fail(now, awaited(p.hs.State()), fmt.Errorf("pairing: unsecured session closed (%s)", ev.Reason), 0)
		}
	}
	return true
}

func (p *Initiator) handleMessage(now clock.Time, ev session.Event) {
	waiting := awaited(p.hs.State())
	if ev.Opcode == pase.OpPBKDFParamResponse && p.hs.State() == pase.StateWaitPBKDFResponse {
		// Apply the device's MRP intervals to the rest of the handshake
		// (spec 4.12.8); pase decodes the message again, authoritatively.
		var resp pase.PBKDFParamResponse
		if resp.DecodeWanted(ev.Payload, p.cfg.PBKDF != nil) == nil && resp.Params != nil {
			_ = p.m.SetPeerIntervals(p.unsec, resp.Params.Intervals())
		}
	}
	out, err := p.hs.Handle(now, ev.Opcode, ev.Payload)
	if err != nil {
		if out.Send {
			_ = p.send(now, out) // our FAILURE report: frees the device's slot
		}
		p.fail(now, waiting, err, now.Sub(p.start).Round(time.Millisecond))
		return
	}
	if out.Send {
		if err := p.send(now, out); err != nil {
			p.fail(now, waiting, err, 0)
			return
		}
	}
	if out.Done {
		p.establish(now, ev.From)
	}
}

func (p *Initiator) establish(now clock.Time, from netip.AddrPort) {
	res, _ := p.hs.Result()
	peer := from
	if !peer.IsValid() {
		peer = p.cfg.Peer
	}
	ref, err := p.m.InstallSecureSession(now, session.SecureSession{
		Kind:                 session.PASE,
		Initiator:            true,
		LocalID:              res.LocalSessionID,
		PeerID:               res.PeerSessionID,
		Peer:                 peer,
		I2RKey:               res.I2RKey,
		R2IKey:               res.R2IKey,
		AttestationChallenge: res.AttestationChallenge,
		PeerIntervals:        res.PeerParams.Intervals(),
	})
	if err != nil {
		p.fail(now, "", fmt.Errorf("pairing: installing the PASE session: %w", err), 0)
		return
	}
	p.done = true
	p.est = Established{Ref: ref, Peer: peer, Result: res}
	// The StatusReport's ack goes out as a standalone ack now; once the
	// exchange is released the unsecured session is removed.
	p.closeExchange(now)
}

func (p *Initiator) send(now clock.Time, out pase.Output) error {
	p.last = out.Opcode
	return p.m.Send(now, p.x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
}

func (p *Initiator) fail(now clock.Time, waiting string, err error, after time.Duration) {
	if p.done {
		return
	}
	p.done = true
	p.err = &Error{Role: RoleInitiator, Peer: p.cfg.Peer, Waiting: waiting, After: after, Err: err,
		AckedOnly: p.requestAcked && waiting == "PBKDFParamResponse"}
	p.m.ReleaseLocalID(p.localID)
	p.closeExchange(now)
}

// closeExchange closes the handshake exchange; the unsecured session goes
// when the exchange is released (EventExchangeClosed), or now if the
// exchange is already gone.
func (p *Initiator) closeExchange(now clock.Time) {
	if err := p.m.CloseExchange(now, p.x); err != nil {
		if errors.Is(err, session.ErrNoExchange) || errors.Is(err, session.ErrNoSession) {
			p.cleanup(now)
		}
	}
}

// cleanup retires the unsecured session rather than removing it: if our
// ack of the responder's final StatusReport is lost, its retransmissions
// still find the session and are acked again (the SDK keeps the entry
// until its table reuses it). Idle turns true when the session closes.
func (p *Initiator) cleanup(now clock.Time) {
	if p.cleaned || p.retired {
		return
	}
	p.retired = true
	if err := p.m.RetireSession(now, p.unsec); err != nil {
		p.cleaned = true
	}
}
