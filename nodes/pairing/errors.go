package pairing

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mattersim/session/pase"
)

// ErrNoAck reports that MRP gave up on a handshake message: it was sent
// MaxTransmissions times without an acknowledgement (spec 4.12.2.1). On a
// real network this is what an absent or unreachable peer looks like.
var ErrNoAck = errors.New("pairing: handshake message never acknowledged")

// Role says which side of PASE a node played.
type Role uint8

// Roles.
const (
	RoleInitiator Role = iota + 1 // commissioner, SPAKE2+ prover
	RoleResponder                 // device, SPAKE2+ verifier
)

func (r Role) String() string {
	switch r {
	case RoleInitiator:
		return "initiator"
	case RoleResponder:
		return "responder"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Error is a failed PASE handshake. Err is the cause: it matches
// pase.ErrWrongPasscode, pase.ErrTimeout, pase.ErrBusy, pase.ErrWindowClosed,
// ErrNoAck, a *pase.PeerStatusError, a session sentinel, ... through
// errors.Is/As.
type Error struct {
	Role    Role
	Peer    netip.AddrPort
	Waiting string        // the message we were waiting for ("PBKDFParamResponse"), if any
	After   time.Duration // for timeouts: how long we waited in all
	// AckedOnly: the peer acknowledged our PBKDFParamRequest (MRP) but
	// never answered it. A device does that when its commissioning window
	// is closed (spec 13.3: after 20 failed attempts; the SDK acks an
	// unsolicited message it has no handler for) or, as matter.js does,
	// while it is busy with another commissioner.
	AckedOnly bool
	Err       error
}

var _ error = (*Error)(nil)

func (e *Error) Error() string {
	var pse *pase.PeerStatusError
	switch {
	case errors.Is(e.Err, pase.ErrWrongPasscode) && errors.As(e.Err, &pse):
		if e.Role == RoleInitiator {
			return fmt.Sprintf("wrong passcode: %s rejected the PASE confirmation (StatusReport FAILURE/INVALID_PARAMETER)", e.Peer)
		}
		return fmt.Sprintf("wrong passcode: %s rejected our PASE confirmation (StatusReport FAILURE/INVALID_PARAMETER)", e.Peer)
	case errors.Is(e.Err, pase.ErrWrongPasscode):
		if e.Role == RoleInitiator {
			return fmt.Sprintf("wrong passcode: the PASE confirmation cB from %s did not verify", e.Peer)
		}
		return fmt.Sprintf("wrong passcode: the PASE confirmation cA from %s did not verify", e.Peer)
	case errors.Is(e.Err, pase.ErrTimeout) && e.AckedOnly:
		return fmt.Sprintf("timed out after %v waiting for %s from %s: it acknowledged our PBKDFParamRequest but never answered; "+
			"its commissioning window is closed (a device closes it once commissioned, and after too many failed attempts) or it is busy with another commissioner",
			e.After, e.Waiting, e.Peer)
	case errors.Is(e.Err, pase.ErrTimeout):
		if e.After > 0 {
			return fmt.Sprintf("timed out after %v waiting for %s from %s", e.After, e.Waiting, e.Peer)
		}
		return fmt.Sprintf("timed out waiting for %s from %s", e.Waiting, e.Peer)
	case errors.Is(e.Err, ErrNoAck):
		return fmt.Sprintf("no answer from %s: %v (nothing listening there, or unreachable)", e.Peer, e.Err)
	case errors.Is(e.Err, pase.ErrBusy) && e.Role == RoleResponder:
		return fmt.Sprintf("refused a PBKDFParamRequest from %s: busy with another pairing", e.Peer)
	case errors.Is(e.Err, pase.ErrWindowClosed) && e.Role == RoleResponder && !errors.As(e.Err, new(*pase.AttemptError)):
		// A refusal because the window is already closed. The failed
		// attempt that closed it is an *AttemptError and is named by its
		// own cause below (its text ends "commissioning window closed").
		return fmt.Sprintf("refused a PBKDFParamRequest from %s: commissioning window closed after too many failed attempts", e.Peer)
	case errors.Is(e.Err, pase.ErrBusy):
		return fmt.Sprintf("%s is busy with another pairing: %v", e.Peer, e.Err)
	}
	if e.Waiting != "" {
		return fmt.Sprintf("PASE %s with %s failed waiting for %s: %v", e.Role, e.Peer, e.Waiting, e.Err)
	}
	return fmt.Sprintf("PASE %s with %s failed: %v", e.Role, e.Peer, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// opName names a Secure Channel opcode for messages.
func opName(op uint8) string {
	switch op {
	case pase.OpPBKDFParamRequest:
		return "PBKDFParamRequest"
	case pase.OpPBKDFParamResponse:
		return "PBKDFParamResponse"
	case pase.OpPake1:
		return "Pake1"
	case pase.OpPake2:
		return "Pake2"
	case pase.OpPake3:
		return "Pake3"
	case pase.OpStatusReport:
		return "StatusReport"
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}

// awaited names what a handshake in state s waits for.
func awaited(s pase.State) string {
	switch s {
	case pase.StateWaitPBKDFResponse:
		return "PBKDFParamResponse"
	case pase.StateWaitPake1:
		return "Pake1"
	case pase.StateWaitPake2:
		return "Pake2"
	case pase.StateWaitPake3:
		return "Pake3"
	case pase.StateWaitStatus:
		return "the PASE StatusReport"
	}
	return ""
}

// BusyWait reports whether err is a BUSY answer from the peer (StatusReport
// BUSY, spec 4.11.1.3 / Appendix D) and the minimum wait it asked for,
// after which an initiator retries (a responder still holding a pairing,
// e.g. a PASE session whose CloseSession was lost, answers BUSY with a
// wait; connectedhomeip CASESession/OperationalSessionSetup retry after
// it). A BUSY without a wait reports 0.
func BusyWait(err error) (time.Duration, bool) {
	var pse *pase.PeerStatusError
	if !errors.Is(err, pase.ErrBusy) || !errors.As(err, &pse) {
		return 0, false
	}
	return pse.Wait, true
}
