package pase

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/session/spake2p"
)

// ResponderConfig configures the device side of PASE.
type ResponderConfig struct {
	// Verifier is (w0, L); the device never holds the passcode. Make it with
	// spake2p.ComputeVerifier.
	Verifier   spake2p.Verifier
	Salt       []byte // 16..32 bytes
	Iterations uint32 // 1000..100000
	// LocalSessionID is the session id sent as responderSessionId (not 0).
	// SetLocalSessionID changes it between pairings.
	LocalSessionID uint16
	// Params are sent as responderSessionParams; nil omits them.
	Params *SessionParams
	// Rand supplies responderRandom and the scalar y. Required.
	Rand io.Reader
	// MaxFailures closes the window after this many failed attempts
	// (0 means DefaultMaxFailures).
	MaxFailures int
	// PairingTimeout bounds a pairing from its PBKDFParamRequest; StepTimeout
	// bounds each wait for the initiator's next message. 0 takes the
	// default, a negative value disables the bound.
	PairingTimeout time.Duration
	StepTimeout    time.Duration
	// IgnoreWhileBusy drops a second PBKDFParamRequest silently, as matter.js
	// does, instead of answering BUSY.
	IgnoreWhileBusy bool
}

// Responder is the device side of PASE for one commissioning window: it
// serves one pairing at a time and counts failures across pairings. Make
// it with NewResponder; the zero value is not usable. Not safe for
// concurrent use.
type Responder struct {
	cfg      ResponderConfig
	state    State
	failures int
	deadline clock.Time // step deadline of the pairing in progress
	endBy    clock.Time // whole-pairing deadline

	ctxHash       hash.Hash
	peerSessionID uint16
	peerParams    *SessionParams
	y             spake2p.Scalar
	x, yPt        spake2p.Point
	keys          spake2p.Keys
	result        Result
}

// NewResponder validates cfg and returns a Responder waiting for a
// PBKDFParamRequest.
func NewResponder(cfg ResponderConfig) (*Responder, error) {
	if cfg.Rand == nil {
		return nil, fmt.Errorf("%w: Rand is nil", ErrConfig)
	}
	if err := spake2p.CheckPBKDFParams(int(cfg.Iterations), cfg.Salt); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := spake2p.CheckPoint(cfg.Verifier.L[:]); err != nil {
		return nil, fmt.Errorf("%w: verifier L: %w", ErrConfig, err)
	}
	if _, err := spake2p.ScalarFromBytes(cfg.Verifier.W0[:]); err != nil {
		return nil, fmt.Errorf("%w: verifier w0: %w", ErrConfig, err)
	}
	if cfg.LocalSessionID == 0 {
		return nil, fmt.Errorf("%w: session id 0 is reserved for unsecured messages (spec 4.4.1.3)", ErrConfig)
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.PairingTimeout == 0 {
		cfg.PairingTimeout = DefaultPairingTimeout
	}
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = DefaultStepTimeout
	}
	cfg.Salt = append([]byte(nil), cfg.Salt...)
	return &Responder{cfg: cfg, state: StateIdle, deadline: clock.Never, endBy: clock.Never}, nil
}

// State returns the current state.
func (r *Responder) State() State { return r.state }

// Failures returns the number of failed attempts so far.
func (r *Responder) Failures() int { return r.failures }

// Deadline returns when the pairing in progress times out, or clock.Never.
func (r *Responder) Deadline() clock.Time {
	if !r.busy() {
		return clock.Never
	}
	return min(r.deadline, r.endBy)
}

// Result returns the session keys once the handshake is established.
func (r *Responder) Result() (Result, bool) { return r.result, r.state == StateEstablished }

// SetLocalSessionID sets the session id offered by the next pairing.
func (r *Responder) SetLocalSessionID(id uint16) error {
	if id == 0 {
		return fmt.Errorf("%w: session id 0 is reserved", ErrConfig)
	}
	r.cfg.LocalSessionID = id
	return nil
}

// Release ends an established pairing (its PASE session closed or its
// fail-safe expired), so the responder serves the next PBKDFParamRequest.
// The failure count is kept, as matter.js does.
func (r *Responder) Release() {
	if r.state == StateEstablished {
		r.reset(StateIdle)
	}
}

// Abort ends the pairing in progress from outside (its exchange gave up,
// its unsecured session was evicted): the attempt counts as failed, as on a
// timeout. It returns the *AttemptError (nil when no pairing was in
// progress). Nothing is sent.
func (r *Responder) Abort(reason error) error {
	if !r.busy() {
		return nil
	}
	if reason == nil {
		reason = ErrAborted
	}
	return r.fail(reason)
}

// FailCommissioning counts as a failed attempt a commissioning whose PASE
// session was established (or closed by Close after that) but whose
// fail-safe expired before CommissioningComplete, and serves pairings
// again, or closes the window at MaxFailures (connectedhomeip
// src/app/server/CommissioningWindowManager.cpp OnPlatformEvent
// kFailSafeTimerExpired → HandleFailedAttempt). It returns the
// *AttemptError; nil, counting nothing, while a pairing is in progress.
func (r *Responder) FailCommissioning(reason error) error {
	if r.busy() {
		return nil
	}
	if reason == nil {
		reason = ErrAborted
	}
	return r.fail(reason)
}

// Close closes the commissioning window: no further pairings.
func (r *Responder) Close() { r.reset(StateClosed) }

// Reopen opens a closed commissioning window again with the failure count
// reset, as an administrator opening a new window would (the
// Administrator Commissioning cluster's OpenCommissioningWindow). It does
// nothing to an open window.
func (r *Responder) Reopen() {
	if r.state == StateClosed {
		r.failures = 0
		r.reset(StateIdle)
	}
}

func (r *Responder) busy() bool { return r.state == StateWaitPake1 || r.state == StateWaitPake3 }

func (r *Responder) reset(s State) {
	r.state = s
	r.deadline, r.endBy = clock.Never, clock.Never
	r.ctxHash = nil
	r.peerParams = nil
	r.y, r.x, r.yPt, r.keys = spake2p.Scalar{}, spake2p.Point{}, spake2p.Point{}, spake2p.Keys{}
	if s != StateEstablished {
		r.result = Result{}
	}
}

// fail ends the attempt in progress: it counts the failure, possibly
// closes the window, and returns the error wrapped in an *AttemptError.
func (r *Responder) fail(err error) error {
	r.failures++
	closed := r.failures >= r.cfg.MaxFailures
	if closed {
		r.reset(StateClosed)
	} else {
		r.reset(StateIdle)
	}
	return &AttemptError{Err: err, Failures: r.failures, MaxFailures: r.cfg.MaxFailures, WindowClosed: closed}
}

// failWithReport fails the attempt and asks to send FAILURE/INVALID_PARAMETER.
func (r *Responder) failWithReport(err error) (Output, error) {
	return failureOutput(), r.fail(err)
}

// HandleTimeout expires the pairing in progress if now is at or past its
// deadline; an expiry counts as a failed attempt. Nothing is sent.
func (r *Responder) HandleTimeout(now clock.Time) (Output, error) {
	if !r.busy() {
		return Output{}, nil
	}
	if dl := r.Deadline(); now >= dl {
		return Output{}, r.fail(&TimeoutError{State: r.state, Deadline: dl, Now: now})
	}
	return Output{}, nil
}

// Handle processes one message received on the PASE exchange (or, for a
// PBKDFParamRequest, on a new exchange). Errors are typed: *AttemptError
// when the message ended a pairing attempt (Output then usually carries the
// FAILURE StatusReport to send), ErrBusy with a BUSY report for a second
// request, ErrUnexpectedMessage for a message no pairing expects (nothing
// sent, nothing counted), ErrWindowClosed once the window is closed.
func (r *Responder) Handle(now clock.Time, opcode uint8, payload []byte) (Output, error) {
	if r.state == StateClosed {
		return Output{}, ErrWindowClosed
	}
	if r.busy() {
		if dl := r.Deadline(); now >= dl {
			err := r.fail(&TimeoutError{State: r.state, Deadline: dl, Now: now})
			if opcode != OpPBKDFParamRequest || r.state == StateClosed {
				return Output{}, err
			}
			// The stale pairing is gone; serve the new request below.
		}
	}
	switch r.state {
	case StateIdle:
		if opcode != OpPBKDFParamRequest {
			return Output{}, unexpected(opcode, r.state)
		}
		return r.handleRequest(now, payload)
	case StateWaitPake1, StateWaitPake3:
		switch opcode {
		case OpPBKDFParamRequest:
			return r.busyReply(r.Deadline().Sub(now))
		case OpStatusReport:
			return r.handlePeerStatus(payload)
		}
		want := uint8(OpPake1)
		if r.state == StateWaitPake3 {
			want = OpPake3
		}
		if opcode != want {
			return r.failWithReport(unexpected(opcode, r.state))
		}
		if opcode == OpPake1 {
			return r.handlePake1(now, payload)
		}
		return r.handlePake3(payload)
	case StateEstablished:
		if opcode == OpPBKDFParamRequest {
			return r.busyReply(DefaultBusyWait)
		}
		return Output{}, unexpected(opcode, r.state)
	}
	return Output{}, unexpected(opcode, r.state)
}

func (r *Responder) busyReply(wait time.Duration) (Output, error) {
	if r.cfg.IgnoreWhileBusy {
		return Output{}, ErrBusy
	}
	return busyOutput(wait), ErrBusy
}

func (r *Responder) handlePeerStatus(payload []byte) (Output, error) {
	s, err := decodeStatus(payload)
	if err != nil {
		return Output{}, r.fail(err)
	}
	// The initiator rejecting our Pake2 with INVALID_PARAMETER means its cB
	// check failed: the passcodes differ.
	e := &PeerStatusError{Status: s, State: r.state,
		WrongPasscode: r.state == StateWaitPake3 && isInvalidParam(s)}
	return Output{}, r.fail(e)
}

func (r *Responder) handleRequest(now clock.Time, payload []byte) (Output, error) {
	var req PBKDFParamRequest
	if err := req.Decode(payload); err != nil {
		return r.failWithReport(err)
	}
	if req.PasscodeID != DefaultPasscodeID {
		return r.failWithReport(fmt.Errorf("%w: passcodeId %d, only 0 is defined", ErrInvalidParameter, req.PasscodeID))
	}
	if req.InitiatorSessionID == 0 {
		return r.failWithReport(fmt.Errorf("%w: initiatorSessionId 0 is reserved", ErrInvalidParameter))
	}
	resp := PBKDFParamResponse{
		InitiatorRandom:    req.InitiatorRandom,
		ResponderSessionID: r.cfg.LocalSessionID,
		Params:             r.cfg.Params,
	}
	if _, err := io.ReadFull(r.cfg.Rand, resp.ResponderRandom[:]); err != nil {
		return r.failWithReport(fmt.Errorf("pase: reading responder random: %w", err))
	}
	// Spec 4.14.1.2: pbkdf_parameters only when the initiator lacks them.
	if !req.HasPBKDFParameters {
		resp.PBKDF = &PBKDFParams{Iterations: r.cfg.Iterations, Salt: r.cfg.Salt}
	}
	out := resp.Append(nil)

	r.ctxHash = sha256.New()
	r.ctxHash.Write([]byte(ContextPrefix))
	r.ctxHash.Write(payload) // exactly as received
	r.ctxHash.Write(out)     // exactly as sent
	r.peerSessionID = req.InitiatorSessionID
	r.peerParams = req.Params
	r.state = StateWaitPake1
	r.endBy = deadlineAfter(now, r.cfg.PairingTimeout)
	r.deadline = deadlineAfter(now, r.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpPBKDFParamResponse, Payload: out}, nil
}

func (r *Responder) handlePake1(now clock.Time, payload []byte) (Output, error) {
	var m Pake1
	if err := m.Decode(payload); err != nil {
		return r.failWithReport(err)
	}
	y, err := spake2p.RandomScalar(r.cfg.Rand)
	if err != nil {
		return r.failWithReport(err)
	}
	yPt, err := spake2p.VerifierShare(y, r.cfg.Verifier.W0)
	if err != nil {
		return r.failWithReport(err)
	}
	z, v, err := spake2p.VerifierSecrets(y, r.cfg.Verifier, m.PA[:])
	if err != nil {
		return r.failWithReport(fmt.Errorf("%w: pA: %w", ErrInvalidParameter, err))
	}
	var context [sha256.Size]byte
	r.ctxHash.Sum(context[:0])
	tt := spake2p.Transcript{Context: context[:], X: m.PA, Y: yPt, Z: z, V: v, W0: r.cfg.Verifier.W0}
	r.keys = spake2p.DeriveKeys(tt.Sum())
	r.y, r.x, r.yPt = y, m.PA, yPt
	p2 := Pake2{PB: yPt, CB: r.keys.ConfirmB(m.PA)}
	r.state = StateWaitPake3
	r.deadline = deadlineAfter(now, r.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpPake2, Payload: p2.Append(nil)}, nil
}

func (r *Responder) handlePake3(payload []byte) (Output, error) {
	var m Pake3
	if err := m.Decode(payload); err != nil {
		return r.failWithReport(err)
	}
	if err := r.keys.VerifyA(r.yPt, m.CA[:]); err != nil {
		return r.failWithReport(ErrWrongPasscode)
	}
	res, err := deriveResult(r.keys.Ke, r.cfg.LocalSessionID, r.peerSessionID, r.peerParams)
	if err != nil {
		return r.failWithReport(err)
	}
	r.reset(StateEstablished)
	r.result = res
	out := successOutput()
	out.Done = true
	return out, nil
}
