package casesess

import (
	"crypto/sha256"
	"hash"
	"strconv"
	"time"

	"mattersim/clock"
	"mattersim/session/security"
	"mattersim/session/status"
)

// DefaultStepTimeout bounds the wait for the peer's next message. The SDK
// computes it from the peer's MRP parameters plus the expected processing
// time (CASESession.cpp kExpectedHighProcessingTime 30 s,
// ComputeSigma2ResponseTimeout); a driver that knows the MRP allowance may
// add it.
const DefaultStepTimeout = 30 * time.Second

// State is the phase of a handshake.
type State uint8

// States. The initiator runs Idle → WaitSigma2 (or WaitSigma2OrResume when
// it offered a resumption) → WaitStatus → Established; the responder runs
// Idle → WaitSigma3 → Established, or Idle → WaitStatus → Established for a
// resumption. Failed ends either after an error.
const (
	StateIdle State = iota
	StateWaitSigma2
	StateWaitSigma2OrResume
	StateWaitSigma3
	StateWaitStatus
	StateEstablished
	StateFailed
)

var stateNames = [...]string{"idle", "wait-sigma2", "wait-sigma2-or-resume", "wait-sigma3", "wait-status",
	"established", "failed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Output is what one input produces. When Send is set, the caller sends
// (Opcode, Payload) on the exchange the input arrived on (for Start, a new
// exchange of the unsecured session). Done is set once the handshake has
// succeeded; Result then holds the session.
type Output struct {
	Send    bool
	Opcode  uint8
	Payload []byte
	Done    bool
}

// Result is what a successful CASE yields for installing the secure
// session (spec 4.14.2.6): the keys are HKDF-SHA256(shared secret, salt,
// info, 48) split I2R || R2I || AttestationChallenge, with salt = IPK ||
// SHA-256(Sigma1 || Sigma2 || Sigma3) and info "SessionKeys" after a full
// handshake, salt = initiatorRandom || the resumption id of Sigma1 and info
// "SessionResumptionKeys" after a resumption. The initiator encrypts with
// I2R, the responder with R2I.
type Result struct {
	Keys           security.SessionKeys
	LocalSessionID uint16
	PeerSessionID  uint16
	FabricIndex    uint8
	LocalNodeID    uint64
	PeerNodeID     uint64
	PeerCATs       []uint32 // from the peer's NOC (or the resumption record)
	// PeerParams are the peer's session parameters with the spec defaults
	// for anything it left out (params.Params.Effective).
	PeerParams SessionParams
	// Resumed is set when the session came from a resumption (Sigma2_Resume).
	Resumed bool
}

func effective(p *SessionParams) SessionParams {
	if p == nil {
		return SessionParams{}.Effective()
	}
	return p.Effective()
}

func reportOutput(r status.Report) Output {
	return Output{Send: true, Opcode: OpStatusReport, Payload: r.Append(nil)}
}

// transcript is the running SHA-256 over the Sigma messages exactly as
// sent and received (spec 4.14.2: TranscriptHash, never a re-encoding).
type transcript struct{ h hash.Hash }

func newTranscript() transcript   { return transcript{sha256.New()} }
func (t transcript) add(b []byte) { t.h.Write(b) }
func (t transcript) sum() []byte  { return t.h.Sum(nil) }
func deadlineAfter(now clock.Time, d time.Duration) clock.Time {
	if d <= 0 {
		return clock.Never
	}
	return now.Add(d)
}
