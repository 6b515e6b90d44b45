package pase

import (
	"errors"
	"fmt"
	"time"

	"mattersim/clock"
	"mattersim/session/status"
)

// Sentinel errors. Errors returned by the state machines wrap them, so test
// with errors.Is.
var (
	// ErrWrongPasscode: key confirmation failed. The initiator reports it when
	// cB does not verify or when the responder rejects its Pake3 with
	// INVALID_PARAMETER; the responder when cA does not verify.
	ErrWrongPasscode = errors.New("pase: wrong passcode (key confirmation failed)")
	// ErrTimeout: the peer did not answer before the deadline.
	ErrTimeout = errors.New("pase: handshake timed out")
	// ErrBusy: the responder is already pairing; the request was answered
	// with BUSY and the pairing in progress is undisturbed.
	ErrBusy = errors.New("pase: responder busy with another pairing")
	// ErrWindowClosed: the commissioning window is closed after too many
	// failed attempts (or by Close); no more pairings are served.
	ErrWindowClosed = errors.New("pase: commissioning window closed")
	// ErrUnexpectedMessage: an opcode that the current state does not expect.
	ErrUnexpectedMessage = errors.New("pase: unexpected message")
	// ErrFinished: input after the handshake ended.
	ErrFinished = errors.New("pase: handshake already finished")
	// ErrInvalidParameter: a well-formed message with a value the protocol
	// forbids (passcode id, session id 0, echoed random mismatch, PBKDF
	// parameters out of range, invalid point).
	ErrInvalidParameter = errors.New("pase: invalid parameter")
	// ErrAborted: the caller aborted the handshake.
	ErrAborted = errors.New("pase: handshake aborted")
	// ErrConfig: a configuration the state machine cannot run with.
	ErrConfig = errors.New("pase: invalid configuration")
)

// PeerStatusError reports a StatusReport from the peer that ended the
// handshake. It matches ErrWrongPasscode when the responder rejected the
// initiator's key confirmation, and ErrBusy for a BUSY report.
//
// Unless the report is a general SUCCESS (a success out of turn), it
// unwraps to a *status.Error carrying the same report, so callers that only
// know the status package can match it with errors.As.
type PeerStatusError struct {
	Status status.Report
	State  State // the state in which it arrived
	// WrongPasscode is set when the report is INVALID_PARAMETER in answer to
	// Pake3 (initiator) or to Pake2 (responder, the initiator's cB check).
	WrongPasscode bool
	// Wait is the minimum wait of a BUSY report.
	Wait time.Duration
}

func (e *PeerStatusError) Error() string {
	s := fmt.Sprintf("pase: peer sent StatusReport general=%d protocol=0x%08x code=%d in %s",
		uint16(e.Status.General), uint32(e.Status.Protocol), e.Status.Code, e.State)
	if e.WrongPasscode {
		s += " (wrong passcode)"
	}
	if e.isBusy() {
		s += fmt.Sprintf(" (busy, retry after %v)", e.Wait)
	}
	return s
}

// Is matches ErrWrongPasscode and ErrBusy as described above.
func (e *PeerStatusError) Is(target error) bool {
	switch target {
	case ErrWrongPasscode:
		return e.WrongPasscode
	case ErrBusy:
		return e.isBusy()
	}
	return false
}

// Unwrap returns the report as a *status.Error (status.Report.Err).
func (e *PeerStatusError) Unwrap() error { return e.Status.Err() }

func (e *PeerStatusError) isBusy() bool {
	return e.Status.Protocol == status.SecureChannel && e.Status.Code == status.CodeBusy
}

// TimeoutError reports an expired deadline; it matches ErrTimeout.
type TimeoutError struct {
	State    State
	Deadline clock.Time
	Now      clock.Time
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("pase: timed out in %s (deadline %s, now %s)", e.State, e.Deadline, e.Now)
}

// Is matches ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// AttemptError wraps the error that ended a responder pairing attempt with
// the failure count; it matches ErrWindowClosed when this failure closed
// the commissioning window.
type AttemptError struct {
	Err          error
	Failures     int
	MaxFailures  int
	WindowClosed bool
}

func (e *AttemptError) Error() string {
	s := fmt.Sprintf("%v (failed attempt %d/%d", e.Err, e.Failures, e.MaxFailures)
	if e.WindowClosed {
		s += "; commissioning window closed"
	}
	return s + ")"
}

func (e *AttemptError) Unwrap() error { return e.Err }

// Is matches ErrWindowClosed when the window closed.
func (e *AttemptError) Is(target error) bool { return target == ErrWindowClosed && e.WindowClosed }

func unexpected(op uint8, st State) error {
	return fmt.Errorf("%w: %s in %s", ErrUnexpectedMessage, opName(op), st)
}
