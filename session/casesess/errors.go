package casesess

import (
	"errors"
	"fmt"
	"time"

	"mattersim/clock"
	"mattersim/session/status"
)

// Sentinel errors. Errors returned by the state machines wrap them, so
// test with errors.Is.
var (
	// ErrConfig: a configuration the state machine cannot run with.
	ErrConfig = errors.New("casesess: invalid configuration")
	// ErrTimeout: the peer did not answer before the deadline.
	ErrTimeout = errors.New("casesess: handshake timed out")
	// ErrUnexpectedMessage: an opcode the current state does not expect.
	ErrUnexpectedMessage = errors.New("casesess: unexpected message")
	// ErrFinished: input after the handshake ended.
	ErrFinished = errors.New("casesess: handshake already finished")
	// ErrInvalidParameter: a well-formed message with a value the protocol
	// forbids (session id 0, an ephemeral key off the curve).
	ErrInvalidParameter = errors.New("casesess: invalid parameter")
	// ErrNoSharedTrustRoots: the Sigma1 destination id names none of the
	// responder's fabrics (the responder's verdict, or the initiator
	// learning it from StatusReport NO_SHARED_TRUST_ROOTS).
	ErrNoSharedTrustRoots = errors.New("casesess: no shared trust roots")
	// ErrDecrypt: encrypted2 or encrypted3 failed its MIC (wrong IPK or
	// shared secret, or tampered bytes).
	ErrDecrypt = errors.New("casesess: TBEData does not decrypt")
	// ErrCredentials matches every *CredentialError: the peer's certificates
	// do not decode or chain to our root, or name another fabric or node.
	ErrCredentials = errors.New("casesess: peer credentials rejected")
	// ErrPeerIdentity: the peer's NOC is valid but names another fabric id
	// or (initiator) another node than the one addressed.
	ErrPeerIdentity = errors.New("casesess: peer identity differs from the expected one")
	// ErrSignature: the TBSData signature does not verify with the NOC key.
	ErrSignature = errors.New("casesess: TBSData signature does not verify")
	// ErrResumeMIC: the Sigma2_Resume MIC does not verify.
	ErrResumeMIC = errors.New("casesess: sigma2ResumeMIC does not verify")
	// ErrBusy: the responder answered BUSY.
	ErrBusy = errors.New("casesess: responder busy")
	// ErrAborted: the caller aborted the handshake.
	ErrAborted = errors.New("casesess: handshake aborted")
)

// CredentialError reports why the peer's credentials were refused. It
// matches ErrCredentials and unwraps to the cause: a *cert.VerifyError (so
// errors.Is(err, cert.CheckExpired) works), a *cert.DecodeError, or
// ErrPeerIdentity.
type CredentialError struct {
	Reason string
	Err    error
}

var _ error = (*CredentialError)(nil)

func (e *CredentialError) Error() string {
	s := "casesess: peer credentials: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CredentialError) Unwrap() error { return e.Err }

// Is matches ErrCredentials.
func (e *CredentialError) Is(target error) bool { return target == ErrCredentials }

// PeerStatusError reports a StatusReport from the peer that ended the
// handshake. It matches ErrNoSharedTrustRoots and ErrBusy for those codes
// and unwraps to a *status.Error (status.Report.Err).
type PeerStatusError struct {
	Status status.Report
	State  State
	Wait   time.Duration // the minimum wait of a BUSY report
}

var _ error = (*PeerStatusError)(nil)

func (e *PeerStatusError) Error() string {
	return fmt.Sprintf("casesess: peer sent StatusReport %s in %s", e.Status, e.State)
}

// Is matches ErrNoSharedTrustRoots and ErrBusy.
func (e *PeerStatusError) Is(target error) bool {
	sc := e.Status.Protocol == status.SecureChannel
	switch target {
	case ErrNoSharedTrustRoots:
		return sc && e.Status.Code == status.CodeNoSharedTrustRoots
	case ErrBusy:
		return sc && e.Status.Code == status.CodeBusy
	}
	return false
}

// Unwrap returns the report as a *status.Error.
func (e *PeerStatusError) Unwrap() error { return e.Status.Err() }

// TimeoutError reports an expired deadline; it matches ErrTimeout.
type TimeoutError struct {
	State    State
	Deadline clock.Time
	Now      clock.Time
}

var _ error = (*TimeoutError)(nil)

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("casesess: timed out in %s (deadline %s, now %s)", e.State, e.Deadline, e.Now)
}

// Is matches ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

func unexpected(op uint8, st State) error {
	return fmt.Errorf("%w: %s in %s", ErrUnexpectedMessage, opName(op), st)
}

// reportFor is the StatusReport a side sends when err ends the handshake
// locally: NO_SHARED_TRUST_ROOTS when no fabric matched the destination
// id, INVALID_PARAMETER otherwise, both with general code FAILURE
// (connectedhomeip CASESession::HandleSigma1_and_SendSigma2: KEY_NOT_FOUND
// → kProtocolCodeNoSharedRoot, any other error → kProtocolCodeInvalidParam;
// HandleSigma2_and_SendSigma3, HandleSigma3a/c and HandleSigma2Resume send
// kProtocolCodeInvalidParam; PairingSession::SendStatusReport uses general
// FAILURE for every code but success; matter.js CaseServer sends
// NoSharedTrustRoots for FabricNotFoundError and InvalidParam otherwise).
func reportFor(err error) status.Report {
	if errors.Is(err, ErrNoSharedTrustRoots) {
		return status.NoSharedTrustRoots()
	}
	return status.InvalidParam()
}
