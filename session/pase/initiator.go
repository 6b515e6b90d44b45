package pase

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/session/spake2p"
)

// InitiatorConfig configures the commissioner side of PASE.
type InitiatorConfig struct {
	Passcode uint32 // checked against spec 5.1.7.1
	// LocalSessionID is sent as initiatorSessionId (not 0).
	LocalSessionID uint16
	// Params are sent as initiatorSessionParams; nil omits them.
	Params *SessionParams
	// Rand supplies initiatorRandom and the scalar x. Required.
	Rand io.Reader
	// PBKDF, when set, are the device's PBKDF parameters known in advance
	// (from a QR code's TLV data, or an enhanced commissioning window): the
	// request then says hasPBKDFParameters and the response omits them.
	PBKDF *PBKDFParams
	// StepTimeout bounds each wait for the responder (0 means
	// DefaultStepTimeout, negative disables).
	StepTimeout time.Duration
}

// Initiator is the commissioner side of one PASE handshake. Make it with
// NewInitiator; the zero value is not usable. It runs once: after
// StateEstablished or StateFailed, make a new one. Not safe for concurrent
// use.
type Initiator struct {
	cfg      InitiatorConfig
	state    State
	deadline clock.Time

	ctxHash       hash.Hash
	random        [RandomLen]byte
	peerSessionID uint16
	peerParams    *SessionParams
	w0, w1, x     spake2p.Scalar
	xPt           spake2p.Point
	result        Result
}

// NewInitiator validates cfg.
func NewInitiator(cfg InitiatorConfig) (*Initiator, error) {
	if cfg.Rand == nil {
		return nil, fmt.Errorf("%w: Rand is nil", ErrConfig)
	}
	if err := spake2p.CheckPasscode(cfg.Passcode); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.LocalSessionID == 0 {
		return nil, fmt.Errorf("%w: session id 0 is reserved for unsecured messages (spec 4.4.1.3)", ErrConfig)
	}
	if cfg.PBKDF != nil {
		if err := spake2p.CheckPBKDFParams(int(cfg.PBKDF.Iterations), cfg.PBKDF.Salt); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		p := *cfg.PBKDF
		p.Salt = append([]byte(nil), p.Salt...)
		cfg.PBKDF = &p
	}
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = DefaultStepTimeout
	}
	return &Initiator{cfg: cfg, state: StateIdle, deadline: clock.Never}, nil
}

// State returns the current state.
func (i *Initiator) State() State { return i.state }

// Deadline returns when the current wait times out, or clock.Never.
func (i *Initiator) Deadline() clock.Time {
	if i.waiting() {
		return i.deadline
	}
	return clock.Never
}

// Result returns the session keys once the responder has confirmed.
func (i *Initiator) Result() (Result, bool) { return i.result, i.state == StateEstablished }

func (i *Initiator) waiting() bool {
	return i.state == StateWaitPBKDFResponse || i.state == StateWaitPake2 || i.state == StateWaitStatus
}

func (i *Initiator) terminal(s State) {
	i.state = s
	i.deadline = clock.Never
	i.ctxHash = nil
	i.w0, i.w1, i.x = spake2p.Scalar{}, spake2p.Scalar{}, spake2p.Scalar{}
}

// fail ends the handshake; with report set it also asks to send
// FAILURE/INVALID_PARAMETER so the device frees its pairing slot at once.
func (i *Initiator) fail(err error, report bool) (Output, error) {
	i.terminal(StateFailed)
	i.result = Result{}
	if report {
		return failureOutput(), err
	}
	return Output{}, err
}

// Abort ends a handshake in progress from outside and returns the
// FAILURE/INVALID_PARAMETER report that frees the device's pairing slot at
// once (docs/interop.md §5: matter.js otherwise stays busy for 60 s). The
// Output is empty when no handshake was in progress.
func (i *Initiator) Abort() Output {
	if !i.waiting() {
		return Output{}
	}
	out, _ := i.fail(ErrAborted, true)
	return out
}

// Start builds the PBKDFParamRequest to send on a new exchange.
func (i *Initiator) Start(now clock.Time) (Output, error) {
	if i.state != StateIdle {
		return Output{}, fmt.Errorf("%w: Start in %s", ErrFinished, i.state)
	}
	if _, err := io.ReadFull(i.cfg.Rand, i.random[:]); err != nil {
		return i.fail(fmt.Errorf("pase: reading initiator random: %w", err), false)
	}
	req := PBKDFParamRequest{
		InitiatorRandom:    i.random,
		InitiatorSessionID: i.cfg.LocalSessionID,
		PasscodeID:         DefaultPasscodeID,
		HasPBKDFParameters: i.cfg.PBKDF != nil,
		Params:             i.cfg.Params,
	}
	out := req.Append(nil)
	i.ctxHash = sha256.New()
	i.ctxHash.Write([]byte(ContextPrefix))
	i.ctxHash.Write(out)
	i.state = StateWaitPBKDFResponse
	i.deadline = deadlineAfter(now, i.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpPBKDFParamRequest, Payload: out}, nil
}

// HandleTimeout fails the handshake if now is at or past the deadline.
// Nothing is sent (the responder times out on its own).
func (i *Initiator) HandleTimeout(now clock.Time) (Output, error) {
	if i.waiting() && now >= i.deadline {
		return i.fail(&TimeoutError{State: i.state, Deadline: i.deadline, Now: now}, false)
	}
	return Output{}, nil
}

// Handle processes one message from the responder on the PASE exchange.
// Any error ends the handshake (StateFailed); when the error was detected
// locally, Output carries the FAILURE StatusReport to send.
func (i *Initiator) Handle(now clock.Time, opcode uint8, payload []byte) (Output, error) {
	if !i.waiting() {
		return Output{}, fmt.Errorf("%w: %s in %s", ErrFinished, opName(opcode), i.state)
	}
	if now >= i.deadline {
		return i.fail(&TimeoutError{State: i.state, Deadline: i.deadline, Now: now}, false)
	}
	if opcode == OpStatusReport {
		return i.handleStatus(payload)
	}
	switch {
	case i.state == StateWaitPBKDFResponse && opcode == OpPBKDFParamResponse:
		return i.handleResponse(now, payload)
	case i.state == StateWaitPake2 && opcode == OpPake2:
		return i.handlePake2(now, payload)
	}
	return i.fail(unexpected(opcode, i.state), true)
}

func (i *Initiator) handleStatus(payload []byte) (Output, error) {
	s, err := decodeStatus(payload)
	if err != nil {
		return i.fail(err, false)
	}
	if i.state == StateWaitStatus && s.IsSessionEstablished() {
		i.terminal(StateEstablished)
		return Output{Done: true}, nil
	}
	e := &PeerStatusError{Status: s, State: i.state}
	if isInvalidParam(s) && i.state == StateWaitStatus {
		e.WrongPasscode = true // the responder's cA check failed (spec 4.14.1.3)
	}
	if w, ok := s.BusyWait(); ok {
		e.Wait = w
	}
	return i.fail(e, false)
}

func (i *Initiator) handleResponse(now clock.Time, payload []byte) (Output, error) {
	var resp PBKDFParamResponse
	if err := resp.DecodeWanted(payload, i.cfg.PBKDF != nil); err != nil {
		return i.fail(err, true)
	}
	if !bytes.Equal(resp.InitiatorRandom[:], i.random[:]) {
		return i.fail(fmt.Errorf("%w: echoed initiatorRandom differs from ours", ErrInvalidParameter), true)
	}
	if resp.ResponderSessionID == 0 {
		return i.fail(fmt.Errorf("%w: responderSessionId 0 is reserved", ErrInvalidParameter), true)
	}
	pb := i.cfg.PBKDF // known in advance
	if pb == nil {
		pb = resp.PBKDF // DecodeWanted required it
		// Range-check what the device sent (spec 3.9); a device must not make
		// us run 2^32 iterations.
		if err := spake2p.CheckPBKDFParams(int(pb.Iterations), pb.Salt); err != nil {
			return i.fail(fmt.Errorf("%w: %w", ErrInvalidParameter, err), true)
		}
	}
	w0, w1, err := spake2p.ComputeW0W1(i.cfg.Passcode, pb.Salt, int(pb.Iterations))
	if err != nil {
		return i.fail(err, true)
	}
	x, err := spake2p.RandomScalar(i.cfg.Rand)
	if err != nil {
		return i.fail(err, true)
	}
	xPt, err := spake2p.ProverShare(x, w0)
	if err != nil {
		return i.fail(err, true)
	}
	i.ctxHash.Write(payload) // exactly as received
	i.peerSessionID = resp.ResponderSessionID
	i.peerParams = resp.Params
	i.w0, i.w1, i.x, i.xPt = w0, w1, x, xPt
	i.state = StateWaitPake2
	i.deadline = deadlineAfter(now, i.cfg.StepTimeout)
	p1 := Pake1{PA: xPt}
	return Output{Send: true, Opcode: OpPake1, Payload: p1.Append(nil)}, nil
}

func (i *Initiator) handlePake2(now clock.Time, payload []byte) (Output, error) {
	var m Pake2
	if err := m.Decode(payload); err != nil {
		return i.fail(err, true)
	}
	z, v, err := spake2p.ProverSecrets(i.x, i.w0, i.w1, m.PB[:])
	if err != nil {
		return i.fail(fmt.Errorf("%w: pB: %w", ErrInvalidParameter, err), true)
	}
	var context [sha256.Size]byte
	i.ctxHash.Sum(context[:0])
	tt := spake2p.Transcript{Context: context[:], X: i.xPt, Y: m.PB, Z: z, V: v, W0: i.w0}
	keys := spake2p.DeriveKeys(tt.Sum())
	if err := keys.VerifyB(i.xPt, m.CB[:]); err != nil {
		return i.fail(ErrWrongPasscode, true)
	}
	res, err := deriveResult(keys.Ke, i.cfg.LocalSessionID, i.peerSessionID, i.peerParams)
	if err != nil {
		return i.fail(err, true)
	}
	i.result = res
	i.w0, i.w1, i.x = spake2p.Scalar{}, spake2p.Scalar{}, spake2p.Scalar{}
	i.state = StateWaitStatus
	i.deadline = deadlineAfter(now, i.cfg.StepTimeout)
	p3 := Pake3{CA: keys.ConfirmA(m.PB)}
	return Output{Send: true, Opcode: OpPake3, Payload: p3.Append(nil)}, nil
}
