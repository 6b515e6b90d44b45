// Package pase implements Passcode-Authenticated Session Establishment
// (spec 4.14.1), both roles, as sans-I/O state machines over SPAKE2+
// (package spake2p, spec 3.10).
//
// The commissioner is the Initiator (SPAKE2+ prover, knows the passcode);
// the device is the Responder (SPAKE2+ verifier, stores only w0 and L).
// The exchange is PBKDFParamRequest → PBKDFParamResponse → Pake1 → Pake2 →
// Pake3 → StatusReport(success), all on one exchange of the unsecured
// session. The state machines know nothing of that exchange: the caller
// feeds each received (opcode, payload) with the current time and sends
// whatever Output asks for on the same exchange. They never read a clock,
// start timers or draw global randomness; randomness comes from the
// configured io.Reader and deadlines are reported by Deadline and enforced
// by HandleTimeout (and on every Handle).
//
// Rules enforced (both roles unless noted): passcode validity (spec
// 5.1.7.1), PBKDF iterations 1000..100000 and salt 16..32 bytes, passcode
// id 0, exact lengths of randoms, points and MACs, points on the curve and
// not the identity, the echoed initiator random, key confirmation in both
// directions. The responder serves one pairing at a time, answers a second
// PBKDFParamRequest with StatusReport BUSY, counts failed attempts and
// closes the commissioning window after MaxFailures (default 20; the SDK's
// kMaxFailedCommissioningAttempts cites spec section 13.3).
//
// The context of SPAKE2+ is SHA-256("CHIP PAKE V1 Commissioning" ||
// PBKDFParamRequest || PBKDFParamResponse) over the payload bytes exactly
// as sent and received, never re-encoded.
package pase

import (
	"crypto/hkdf"
	"crypto/sha256"
	"time"

	"mattersim/clock"
)

// ContextPrefix starts the SPAKE2+ context hash (spec 4.14.1.3;
// connectedhomeip kSpake2pContext, matter.js SPAKE_CONTEXT).
const ContextPrefix = "CHIP PAKE V1 Commissioning"

// InfoSessionKeys is the HKDF info of the session keys (spec 4.14.1.4).
const InfoSessionKeys = "SessionKeys"

// Defaults.
const (
	// DefaultMaxFailures is the number of failed attempts after which the
	// commissioning window closes (connectedhomeip
	// CommissioningWindowManager.cpp kMaxFailedCommissioningAttempts "Section
	// 13.3"; matter.js PASE_COMMISSIONING_MAX_ERRORS).
	DefaultMaxFailures = 20
	// DefaultPairingTimeout bounds a whole pairing on the responder, from
	// the PBKDFParamRequest (connectedhomeip kPASESessionEstablishmentTimeout,
	// matter.js PASE_PAIRING_TIMEOUT_MS).
	DefaultPairingTimeout = 60 * time.Second
	// DefaultStepTimeout bounds the wait for the peer's next message
	// (connectedhomeip PASESession.cpp kSpake2p_Response_Timeout; the SDK adds
	// the MRP acknowledgement allowance, which a caller may add here).
	DefaultStepTimeout = 30 * time.Second
	// DefaultBusyWait is the minimum wait sent in a BUSY StatusReport when no
	// pairing deadline is known (connectedhomeip CASEServer.cpp uses 5000 ms).
	DefaultBusyWait = 5 * time.Second
)

// State is the phase of a handshake.
type State uint8

// States. The responder cycles Idle → WaitPake1 → WaitPake3 → Established
// and returns to Idle after a failure; the initiator runs Idle →
// WaitPBKDFResponse → WaitPake2 → WaitStatus → Established or Failed.
const (
	StateIdle State = iota
	StateWaitPBKDFResponse
	StateWaitPake1
	StateWaitPake2
	StateWaitPake3
	StateWaitStatus
	StateEstablished
	StateFailed // initiator: the handshake failed; make a new Initiator to retry
	StateClosed // responder: commissioning window closed after too many failures
)

var stateNames = [...]string{"idle", "wait-pbkdf-response", "wait-pake1", "wait-pake2",
	"wait-pake3", "wait-status", "established", "failed", "closed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + itoa(int(s)) + ")"
}

// Output is what one input produces. When Send is set, the caller sends
// (Opcode, Payload) on the exchange the input arrived on (for Start, a new
// exchange). Done is set once the handshake has succeeded; Result then
// holds the session keys.
type Output struct {
	Send    bool
	Opcode  uint8
	Payload []byte
	Done    bool
}

// Result is what a successful PASE yields for installing the secure
// session (spec 4.14.1.4): the keys are HKDF-SHA256(Ke, salt empty,
// "SessionKeys", 48) split I2R || R2I || AttestationChallenge. The
// initiator encrypts with I2RKey, the responder with R2IKey.
type Result struct {
	I2RKey               [16]byte
	R2IKey               [16]byte
	AttestationChallenge [16]byte
	LocalSessionID       uint16
	PeerSessionID        uint16
	// PeerParams are the peer's session parameters with the spec defaults
	// for anything it left out, or all defaults when it sent none
	// (params.Params.Effective; Has still tells what it sent).
	PeerParams SessionParams
}

func deriveResult(ke [16]byte, local, peer uint16, pp *SessionParams) (Result, error) {
	out, err := hkdf.Key(sha256.New, ke[:], nil, InfoSessionKeys, 48)
	if err != nil {
		return Result{}, err
	}
	r := Result{LocalSessionID: local, PeerSessionID: peer}
	copy(r.I2RKey[:], out[0:16])
	copy(r.R2IKey[:], out[16:32])
	copy(r.AttestationChallenge[:], out[32:48])
	if pp != nil {
		r.PeerParams = pp.Effective()
	} else {
		r.PeerParams = SessionParams{}.Effective()
	}
	return r, nil
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// deadlineAfter returns now+d, or Never for a non-positive d.
func deadlineAfter(now clock.Time, d time.Duration) clock.Time {
	if d <= 0 {
		return clock.Never
	}
	return now.Add(d)
}
