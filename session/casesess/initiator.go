package casesess

import (
	"crypto/ecdh"
	"crypto/subtle"
	"fmt"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/session/cert"
	"mattersim/session/security"
	"mattersim/session/status"
)

// InitiatorConfig configures the initiator of one CASE handshake.
type InitiatorConfig struct {
	// Fabric is the fabric on which to reach the peer, with our credentials.
	Fabric *Fabric
	// PeerNodeID is the node addressed; the responder's NOC must name it.
	PeerNodeID uint64
	// LocalSessionID is sent as initiatorSessionId (not 0).
	LocalSessionID uint16
	// Params are sent as initiatorSessionParams; nil omits them (the SDK
	// always sends its MRP configuration).
	Params *SessionParams
	// Rand supplies initiatorRandom and the ephemeral key. Required.
	Rand io.Reader
	// Epoch is the Matter epoch time of clock time 0: the responder's
	// certificates are validated at cert.TimeAt(Epoch, now).
	Epoch cert.Time
	// Resumption, when set, is searched for a record of the peer to offer a
	// resumption in Sigma1, and receives the record of a successful
	// handshake.
	Resumption *Resumption
	// StepTimeout bounds each wait for the responder (0 means
	// DefaultStepTimeout, negative disables).
	StepTimeout time.Duration
}

// Initiator is the initiator side of one CASE handshake (spec 4.14.2).
// Make it with NewInitiator; the zero value is not usable. It runs once.
// Not safe for concurrent use.
type Initiator struct {
	cfg      InitiatorConfig
	state    State
	deadline clock.Time

	tr       transcript
	random   [RandomLen]byte
	eph      *ecdh.PrivateKey
	ephPub   [PublicKeyLen]byte
	ipk      [IPKLen]byte
	resume   *Record // the record offered in Sigma1, if any
	shared   []byte
	newResID [ResumptionIDLen]byte
	result   Result
}

// NewInitiator validates cfg.
func NewInitiator(cfg InitiatorConfig) (*Initiator, error) {
	switch {
	case cfg.Rand == nil:
		return nil, fmt.Errorf("%w: Rand is nil", ErrConfig)
	case cfg.Fabric == nil || cfg.Fabric.Key == nil || cfg.Fabric.RCAC == nil || len(cfg.Fabric.IPKs) == 0:
		return nil, fmt.Errorf("%w: incomplete Fabric (use NewFabric)", ErrConfig)
	case cfg.LocalSessionID == 0:
		return nil, fmt.Errorf("%w: session id 0 is reserved for unsecured messages (spec 4.4.1.3)", ErrConfig)
	case cfg.PeerNodeID == 0:
		return nil, fmt.Errorf("%w: peer node id 0", ErrConfig)
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

// Result returns the session once established.
func (i *Initiator) Result() (Result, bool) { return i.result, i.state == StateEstablished }

// Resuming reports whether Sigma1 offered a resumption.
func (i *Initiator) Resuming() bool { return i.resume != nil }

func (i *Initiator) waiting() bool {
	return i.state == StateWaitSigma2 || i.state == StateWaitSigma2OrResume || i.state == StateWaitStatus
}

func (i *Initiator) terminal(s State) {
	i.state = s
	i.deadline = clock.Never
	i.eph = nil
	i.tr = transcript{}
	i.shared = nil
	if s != StateEstablished {
		i.result = Result{}
	}
}

// fail ends the handshake; with report set Output carries the
// StatusReport to send (INVALID_PARAMETER: connectedhomeip
// HandleSigma2_and_SendSigma3, matter.js CaseClient.pair).
func (i *Initiator) fail(err error, report bool) (Output, error) {
	i.terminal(StateFailed)
	if report {
		return reportOutput(reportFor(err)), err
	}
	return Output{}, err
}

// Abort ends a handshake in progress from outside and returns the
// FAILURE/INVALID_PARAMETER report that tells the responder at once
// (empty when nothing was in progress).
func (i *Initiator) Abort() Output {
	if !i.waiting() {
		return Output{}
	}
	out, _ := i.fail(ErrAborted, true)
	return out
}

// Start builds Sigma1 (spec 4.14.2.2; SDK SendSigma1): a fresh
// initiatorRandom and ephemeral key, the destination id of the peer with
// the initiator IPK, our session parameters, and, when the resumption table
// holds a record of the peer, its resumption id with initiatorResumeMIC.
func (i *Initiator) Start(now clock.Time) (Output, error) {
	if i.state != StateIdle {
		return Output{}, fmt.Errorf("%w: Start in %s", ErrFinished, i.state)
	}
	f := i.cfg.Fabric
	if _, err := io.ReadFull(i.cfg.Rand, i.random[:]); err != nil {
		return i.fail(fmt.Errorf("casesess: reading initiator random: %w", err), false)
	}
	eph, err := ephemeralKey(i.cfg.Rand)
	if err != nil {
		return i.fail(err, false)
	}
	i.eph = eph
	copy(i.ephPub[:], eph.PublicKey().Bytes())
	i.ipk = f.initiatorIPK()
	m := Sigma1{InitiatorRandom: i.random, InitiatorSessionID: i.cfg.LocalSessionID,
		InitiatorEphPubKey: i.ephPub, Params: i.cfg.Params}
	if m.DestinationID, err = DestinationID(i.ipk, i.random, f.RCAC.PublicKey, f.FabricID, i.cfg.PeerNodeID); err != nil {
		return i.fail(fmt.Errorf("%w: %w", ErrConfig, err), false)
	}
	i.state = StateWaitSigma2
	if rec, ok := i.cfg.Resumption.ByPeer(Peer{FabricIndex: f.Index, NodeID: i.cfg.PeerNodeID}); ok {
		i.resume = &rec
		rid := rec.ResumptionID
		mic := resumeMIC(rec.SharedSecret, i.random, rid, InfoSigma1Resume, NonceSigma1Resume)
		m.ResumptionID, m.ResumeMIC = &rid, &mic
		i.state = StateWaitSigma2OrResume
	}
	out := m.Append(nil)
	i.tr = newTranscript()
	i.tr.add(out)
	i.deadline = deadlineAfter(now, i.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpSigma1, Payload: out}, nil
}

// HandleTimeout fails the handshake if now is at or past the deadline.
// Nothing is sent.
func (i *Initiator) HandleTimeout(now clock.Time) (Output, error) {
	if i.waiting() && now >= i.deadline {
		return i.fail(&TimeoutError{State: i.state, Deadline: i.deadline, Now: now}, false)
	}
	return Output{}, nil
}

// Handle processes one message from the responder on the CASE exchange.
// Any error ends the handshake (StateFailed); when the error was detected
// locally in a message of the expected type, Output carries the
// StatusReport to send.
func (i *Initiator) Handle(now clock.Time, opcode uint8, payload []byte) (Output, error) {
	if !i.waiting() {
		return Output{}, fmt.Errorf("%w: %s in %s", ErrFinished, opName(opcode), i.state)
	}
	if now >= i.deadline {
		return i.fail(&TimeoutError{State: i.state, Deadline: i.deadline, Now: now}, false)
	}
	switch {
	case opcode == OpStatusReport:
		return i.handleStatus(payload)
	case opcode == OpSigma2 && (i.state == StateWaitSigma2 || i.state == StateWaitSigma2OrResume):
		// A Sigma2 answering a resumption offer is the responder's fallback
		// to a full handshake (SDK kSentSigma1Resume accepts CASE_Sigma2).
		return i.handleSigma2(now, payload)
	case opcode == OpSigma2Resume && i.state == StateWaitSigma2OrResume:
		return i.handleSigma2Resume(payload)
	}
	// No report, as connectedhomeip CASESession::OnMessageReceived aborts on
	// CHIP_ERROR_INVALID_MESSAGE_TYPE without one (matter.js sends
	// INVALID_PARAMETER).
	return i.fail(unexpected(opcode, i.state), false)
}

func (i *Initiator) handleStatus(payload []byte) (Output, error) {
	s, err := status.Decode(payload)
	if err != nil {
		return i.fail(&MessageError{Opcode: OpStatusReport, Reason: "too short", Err: err}, false)
	}
	if i.state == StateWaitStatus && s.IsSessionEstablished() {
		// The responder accepted Sigma3: keep the resumption record (SDK
		// OnSuccessStatusReport saves mNewResumptionId).
		if i.cfg.Resumption != nil {
			i.cfg.Resumption.Save(Record{Peer: Peer{FabricIndex: i.cfg.Fabric.Index, NodeID: i.result.PeerNodeID},
				ResumptionID: i.newResID, SharedSecret: i.shared, PeerCATs: i.result.PeerCATs})
		}
		i.terminal(StateEstablished)
		return Output{Done: true}, nil
	}
	e := &PeerStatusError{Status: s, State: i.state}
	if w, ok := s.BusyWait(); ok {
		e.Wait = w
	}
	return i.fail(e, false)
}

// handleSigma2 checks Sigma2 (spec 4.14.2.3; SDK HandleSigma2) and builds
// Sigma3 (spec 4.14.2.4; SDK SendSigma3a/b/c).
func (i *Initiator) handleSigma2(now clock.Time, payload []byte) (Output, error) {
	var m Sigma2
	if err := m.Decode(payload); err != nil {
		return i.fail(err, true)
	}
	if m.ResponderSessionID == 0 {
		return i.fail(fmt.Errorf("%w: responderSessionId 0 is reserved", ErrInvalidParameter), true)
	}
	shared, err := sharedSecret(i.eph, m.ResponderEphPubKey[:])
	if err != nil {
		return i.fail(fmt.Errorf("%w: responderEphPubKey: %w", ErrInvalidParameter, err), true)
	}
	s2k := sigma2Key(shared, i.ipk[:], m.ResponderRandom[:], m.ResponderEphPubKey[:], i.tr.sum())
	i.tr.add(payload) // exactly as received
	plain, err := open(s2k, NonceTBEData2, m.Encrypted2)
	if err != nil {
		return i.fail(fmt.Errorf("%w: encrypted2: %w", ErrDecrypt, err), true)
	}
	tbe, err := DecodeTBEData(OpSigma2, plain, true)
	if err != nil {
		return i.fail(err, true)
	}
	f := i.cfg.Fabric
	v, pub, err := f.verifyPeer(tbe, cert.VerifyOptions{Epoch: i.cfg.Epoch, Now: now})
	if err != nil {
		return i.fail(err, true)
	}
	if v.NodeID != i.cfg.PeerNodeID {
		return i.fail(&CredentialError{Reason: fmt.Sprintf("responder NOC names node 0x%016X, we addressed 0x%016X",
			v.NodeID, i.cfg.PeerNodeID), Err: ErrPeerIdentity}, true)
	}
	if !verify(pub, AppendTBSData(nil, tbe.NOC, tbe.ICAC, m.ResponderEphPubKey[:], i.ephPub[:]), tbe.Signature) {
		return i.fail(fmt.Errorf("%w: Sigma2", ErrSignature), true)
	}

	// Sigma3.
	sig, err := sign(f.Key, AppendTBSData(nil, f.NOC, f.ICAC, i.ephPub[:], m.ResponderEphPubKey[:]))
	if err != nil {
		return i.fail(err, true)
	}
	tbe3 := TBEData{NOC: f.NOC, ICAC: f.ICAC, Signature: sig}
	s3k := sigma3Key(shared, i.ipk[:], i.tr.sum())
	m3 := Sigma3{Encrypted3: seal(s3k, NonceTBEData3, tbe3.Append(nil))}
	out := m3.Append(nil)
	i.tr.add(out)
	keys, err := security.DeriveSessionKeys(shared, sessionSalt(i.ipk[:], i.tr.sum()), InfoSessionKeys)
	if err != nil {
		return i.fail(err, true)
	}
	i.shared = shared
	i.newResID = *tbe.ResumptionID
	i.result = Result{Keys: keys, LocalSessionID: i.cfg.LocalSessionID, PeerSessionID: m.ResponderSessionID,
		FabricIndex: f.Index, LocalNodeID: f.NodeID, PeerNodeID: v.NodeID, PeerCATs: v.CATs,
		PeerParams: effective(m.Params)}
	i.eph = nil
	i.state = StateWaitStatus
	i.deadline = deadlineAfter(now, i.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpSigma3, Payload: out}, nil
}

// handleSigma2Resume checks a Sigma2_Resume (spec 4.14.2.5; SDK
// HandleSigma2Resume): the MIC under S2RK = HKDF(shared secret,
// initiatorRandom || new resumption id, "Sigma2_Resume") with nonce
// "NCASE_SigmaS2". On success the session keys come from the stored
// shared secret, the record is saved with the new resumption id, and
// StatusReport SUCCESS is sent.
func (i *Initiator) handleSigma2Resume(payload []byte) (Output, error) {
	var m Sigma2Resume
	if err := m.Decode(payload); err != nil {
		return i.fail(err, true)
	}
	if m.ResponderSessionID == 0 {
		return i.fail(fmt.Errorf("%w: responderSessionID 0 is reserved", ErrInvalidParameter), true)
	}
	rec := i.resume
	want := resumeMIC(rec.SharedSecret, i.random, m.ResumptionID, InfoSigma2Resume, NonceSigma2Resume)
	if subtle.ConstantTimeCompare(want[:], m.Sigma2ResumeMIC[:]) != 1 {
		return i.fail(ErrResumeMIC, true)
	}
	keys, err := security.DeriveSessionKeys(rec.SharedSecret, resumptionSalt(i.random, rec.ResumptionID), InfoSessionResumptionKeys)
	if err != nil {
		return i.fail(err, true)
	}
	f := i.cfg.Fabric
	i.cfg.Resumption.Save(Record{Peer: rec.Peer, ResumptionID: m.ResumptionID, SharedSecret: rec.SharedSecret, PeerCATs: rec.PeerCATs})
	i.result = Result{Keys: keys, LocalSessionID: i.cfg.LocalSessionID, PeerSessionID: m.ResponderSessionID,
		FabricIndex: f.Index, LocalNodeID: f.NodeID, PeerNodeID: rec.Peer.NodeID,
		PeerCATs: append([]uint32(nil), rec.PeerCATs...), PeerParams: effective(m.Params), Resumed: true}
	i.terminal(StateEstablished)
	out := reportOutput(status.SessionEstablished())
	out.Done = true
	return out, nil
}
