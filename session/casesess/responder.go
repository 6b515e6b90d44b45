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

// ResponderConfig configures the responder of one CASE handshake.
type ResponderConfig struct {
	// Fabrics are the node's fabrics; Sigma1's destination id selects one.
	Fabrics []*Fabric
	// LocalSessionID is sent as responderSessionId (not 0).
	LocalSessionID uint16
	// Params are sent as responderSessionParams; nil omits them.
	Params *SessionParams
	// Rand supplies responderRandom, the ephemeral key and the new
	// resumption id. Required.
	Rand io.Reader
	// Epoch is the Matter epoch time of clock time 0: the initiator's
	// certificates are validated at cert.TimeAt(Epoch, now).
	Epoch cert.Time
	// Resumption, when set, is searched for the resumption id a Sigma1
	// offers and receives the record of a successful handshake.
	Resumption *Resumption
	// StepTimeout bounds the wait for Sigma3 or the final StatusReport (0
	// means DefaultStepTimeout, negative disables).
	StepTimeout time.Duration
}

// Responder is the responder side of one CASE handshake (spec 4.14.2): the
// driver makes one for each Sigma1 that opens an exchange (the SDK's
// CASEServer holds one CASESession and answers BUSY while it is in use;
// that policy belongs to the driver). Make it with NewResponder; the zero
// value is not usable. It runs once. Not safe for concurrent use.
type Responder struct {
	cfg      ResponderConfig
	state    State
	deadline clock.Time

	tr       transcript
	fabric   *Fabric
	ipk      [IPKLen]byte
	eph      *ecdh.PrivateKey
	ephPub   [PublicKeyLen]byte
	peerPub  [PublicKeyLen]byte
	shared   []byte
	peerSID  uint16
	peerPar  *SessionParams
	newResID [ResumptionIDLen]byte
	resumed  *Record
	result   Result
}

// NewResponder validates cfg.
func NewResponder(cfg ResponderConfig) (*Responder, error) {
	switch {
	case cfg.Rand == nil:
		return nil, fmt.Errorf("%w: Rand is nil", ErrConfig)
	case cfg.LocalSessionID == 0:
		return nil, fmt.Errorf("%w: session id 0 is reserved for unsecured messages (spec 4.4.1.3)", ErrConfig)
	}
	for _, f := range cfg.Fabrics {
		if f == nil || f.Key == nil || f.RCAC == nil || len(f.IPKs) == 0 {
			return nil, fmt.Errorf("%w: incomplete Fabric (use NewFabric)", ErrConfig)
		}
	}
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = DefaultStepTimeout
	}
	return &Responder{cfg: cfg, state: StateIdle, deadline: clock.Never}, nil
}

// State returns the current state.
func (r *Responder) State() State { return r.state }

// Deadline returns when the current wait times out, or clock.Never.
func (r *Responder) Deadline() clock.Time {
	if r.waiting() {
		return r.deadline
	}
	return clock.Never
}

// Result returns the session once established.
func (r *Responder) Result() (Result, bool) { return r.result, r.state == StateEstablished }

func (r *Responder) waiting() bool { return r.state == StateWaitSigma3 || r.state == StateWaitStatus }

func (r *Responder) terminal(s State) {
	r.state = s
	r.deadline = clock.Never
	r.eph, r.shared = nil, nil
	r.tr = transcript{}
	if s != StateEstablished {
		r.result = Result{}
	}
}

func (r *Responder) fail(err error, report bool) (Output, error) {
	r.terminal(StateFailed)
	if report {
		return reportOutput(reportFor(err)), err
	}
	return Output{}, err
}

// Abort ends a handshake in progress and returns the INVALID_PARAMETER
// report to send (empty when nothing was in progress).
func (r *Responder) Abort() Output {
	if !r.waiting() {
		return Output{}
	}
	out, _ := r.fail(ErrAborted, true)
	return out
}

// HandleTimeout fails the handshake if now is at or past the deadline.
// Nothing is sent.
func (r *Responder) HandleTimeout(now clock.Time) (Output, error) {
	if r.waiting() && now >= r.deadline {
		return r.fail(&TimeoutError{State: r.state, Deadline: r.deadline, Now: now}, false)
	}
	return Output{}, nil
}

// Handle processes one message from the initiator: Sigma1 first, then
// Sigma3 or the StatusReport that ends a resumption. Any error ends the
// handshake; when it was detected locally Output carries the StatusReport
// to send (NO_SHARED_TRUST_ROOTS or INVALID_PARAMETER, see reportFor).
func (r *Responder) Handle(now clock.Time, opcode uint8, payload []byte) (Output, error) {
	switch r.state {
	case StateIdle:
		if opcode != OpSigma1 {
			return Output{}, unexpected(opcode, r.state)
		}
		return r.handleSigma1(now, payload)
	case StateWaitSigma3, StateWaitStatus:
		if now >= r.deadline {
			return r.fail(&TimeoutError{State: r.state, Deadline: r.deadline, Now: now}, false)
		}
		switch {
		case opcode == OpStatusReport:
			return r.handleStatus(payload)
		case opcode == OpSigma3 && r.state == StateWaitSigma3:
			return r.handleSigma3(now, payload)
		}
		return r.fail(unexpected(opcode, r.state), false) // no report, as the SDK (see Initiator.Handle)
	}
	return Output{}, fmt.Errorf("%w: %s in %s", ErrFinished, opName(opcode), r.state)
}

func (r *Responder) handleStatus(payload []byte) (Output, error) {
	s, err := status.Decode(payload)
	if err != nil {
		return r.fail(&MessageError{Opcode: OpStatusReport, Reason: "too short", Err: err}, false)
	}
	if r.state == StateWaitStatus && s.IsSessionEstablished() {
		// The initiator accepted Sigma2_Resume (SDK OnSuccessStatusReport
		// saves the new resumption id).
		if r.cfg.Resumption != nil {
			r.cfg.Resumption.Save(Record{Peer: r.resumed.Peer, ResumptionID: r.newResID,
				SharedSecret: r.resumed.SharedSecret, PeerCATs: r.resumed.PeerCATs})
		}
		r.terminal(StateEstablished)
		return Output{Done: true}, nil
	}
	e := &PeerStatusError{Status: s, State: r.state}
	if w, ok := s.BusyWait(); ok {
		e.Wait = w
	}
	return r.fail(e, false)
}

// handleSigma1 checks Sigma1 (spec 4.14.2.2; SDK HandleSigma1) and answers
// Sigma2_Resume when it offers a resumption we hold a record of with a
// valid initiatorResumeMIC, else Sigma2 (an unknown resumption id or a bad
// MIC falls back to the full handshake, as SDK HandleSigma1 and matter.js
// CaseServer do).
func (r *Responder) handleSigma1(now clock.Time, payload []byte) (Output, error) {
	var m Sigma1
	if err := m.Decode(payload); err != nil {
		return r.fail(err, true)
	}
	if m.InitiatorSessionID == 0 {
		return r.fail(fmt.Errorf("%w: initiatorSessionId 0 is reserved", ErrInvalidParameter), true)
	}
	r.tr = newTranscript()
	r.tr.add(payload) // exactly as received
	r.peerSID, r.peerPar = m.InitiatorSessionID, m.Params
	if m.ResumptionRequested() {
		if out, ok, err := r.tryResume(now, &m); ok || err != nil {
			return out, err
		}
	}

	f, ipk, ok := matchDestination(r.cfg.Fabrics, m.DestinationID, m.InitiatorRandom)
	if !ok {
		return r.fail(ErrNoSharedTrustRoots, true)
	}
	r.fabric, r.ipk, r.peerPub = f, ipk, m.InitiatorEphPubKey
	var rr [RandomLen]byte
	if _, err := io.ReadFull(r.cfg.Rand, rr[:]); err != nil {
		return r.fail(fmt.Errorf("casesess: reading responder random: %w", err), true)
	}
	eph, err := ephemeralKey(r.cfg.Rand)
	if err != nil {
		return r.fail(err, true)
	}
	r.eph = eph
	copy(r.ephPub[:], eph.PublicKey().Bytes())
	if r.shared, err = sharedSecret(eph, m.InitiatorEphPubKey[:]); err != nil {
		return r.fail(fmt.Errorf("%w: initiatorEphPubKey: %w", ErrInvalidParameter, err), true)
	}
	if _, err := io.ReadFull(r.cfg.Rand, r.newResID[:]); err != nil {
		return r.fail(fmt.Errorf("casesess: reading resumption id: %w", err), true)
	}
	s2k := sigma2Key(r.shared, ipk[:], rr[:], r.ephPub[:], r.tr.sum())
	sig, err := sign(f.Key, AppendTBSData(nil, f.NOC, f.ICAC, r.ephPub[:], m.InitiatorEphPubKey[:]))
	if err != nil {
		return r.fail(err, true)
	}
	rid := r.newResID
	tbe := TBEData{NOC: f.NOC, ICAC: f.ICAC, Signature: sig, ResumptionID: &rid}
	m2 := Sigma2{ResponderRandom: rr, ResponderSessionID: r.cfg.LocalSessionID, ResponderEphPubKey: r.ephPub,
		Encrypted2: seal(s2k, NonceTBEData2, tbe.Append(nil)), Params: r.cfg.Params}
	out := m2.Append(nil)
	r.tr.add(out) // exactly as sent
	r.state = StateWaitSigma3
	r.deadline = deadlineAfter(now, r.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpSigma2, Payload: out}, nil
}

// tryResume answers Sigma2_Resume if the offered resumption id is known,
// its fabric still exists and initiatorResumeMIC verifies under S1RK (SDK
// TryResumeSession). ok is false to fall back to the full handshake.
func (r *Responder) tryResume(now clock.Time, m *Sigma1) (Output, bool, error) {
	rec, ok := r.cfg.Resumption.ByID(*m.ResumptionID)
	if !ok {
		return Output{}, false, nil
	}
	var f *Fabric
	for _, c := range r.cfg.Fabrics {
		if c.Index == rec.Peer.FabricIndex {
			f = c
			break
		}
	}
	if f == nil {
		return Output{}, false, nil
	}
	want := resumeMIC(rec.SharedSecret, m.InitiatorRandom, rec.ResumptionID, InfoSigma1Resume, NonceSigma1Resume)
	if subtle.ConstantTimeCompare(want[:], m.ResumeMIC[:]) != 1 {
		return Output{}, false, nil
	}
	if _, err := io.ReadFull(r.cfg.Rand, r.newResID[:]); err != nil {
		out, err := r.fail(fmt.Errorf("casesess: reading resumption id: %w", err), true)
		return out, true, err
	}
	keys, err := security.DeriveSessionKeys(rec.SharedSecret, resumptionSalt(m.InitiatorRandom, rec.ResumptionID), InfoSessionResumptionKeys)
	if err != nil {
		out, err := r.fail(err, true)
		return out, true, err
	}
	r.fabric, r.resumed = f, &rec
	m2 := Sigma2Resume{ResumptionID: r.newResID, ResponderSessionID: r.cfg.LocalSessionID, Params: r.cfg.Params,
		Sigma2ResumeMIC: resumeMIC(rec.SharedSecret, m.InitiatorRandom, r.newResID, InfoSigma2Resume, NonceSigma2Resume)}
	r.result = Result{Keys: keys, LocalSessionID: r.cfg.LocalSessionID, PeerSessionID: m.InitiatorSessionID,
		FabricIndex: f.Index, LocalNodeID: f.NodeID, PeerNodeID: rec.Peer.NodeID,
		PeerCATs: append([]uint32(nil), rec.PeerCATs...), PeerParams: effective(m.Params), Resumed: true}
	r.state = StateWaitStatus
	r.deadline = deadlineAfter(now, r.cfg.StepTimeout)
	return Output{Send: true, Opcode: OpSigma2Resume, Payload: m2.Append(nil)}, true, nil
}

// handleSigma3 checks Sigma3 (spec 4.14.2.4; SDK HandleSigma3a/b/c):
// decryption under S3K, the initiator's chain against the fabric's root at
// the configured time, its fabric id, the TBSData3 signature; then derives
// the session keys, saves the resumption record and sends StatusReport
// SUCCESS.
func (r *Responder) handleSigma3(now clock.Time, payload []byte) (Output, error) {
	var m Sigma3
	if err := m.Decode(payload); err != nil {
		return r.fail(err, true)
	}
	s3k := sigma3Key(r.shared, r.ipk[:], r.tr.sum())
	r.tr.add(payload) // exactly as received
	plain, err := open(s3k, NonceTBEData3, m.Encrypted3)
	if err != nil {
		return r.fail(fmt.Errorf("%w: encrypted3: %w", ErrDecrypt, err), true)
	}
	tbe, err := DecodeTBEData(OpSigma3, plain, false)
	if err != nil {
		return r.fail(err, true)
	}
	f := r.fabric
	v, pub, err := f.verifyPeer(tbe, cert.VerifyOptions{Epoch: r.cfg.Epoch, Now: now})
	if err != nil {
		return r.fail(err, true)
	}
	if !verify(pub, AppendTBSData(nil, tbe.NOC, tbe.ICAC, r.peerPub[:], r.ephPub[:]), tbe.Signature) {
		return r.fail(fmt.Errorf("%w: Sigma3", ErrSignature), true)
	}
	keys, err := security.DeriveSessionKeys(r.shared, sessionSalt(r.ipk[:], r.tr.sum()), InfoSessionKeys)
	if err != nil {
		return r.fail(err, true)
	}
	if r.cfg.Resumption != nil {
		r.cfg.Resumption.Save(Record{Peer: Peer{FabricIndex: f.Index, NodeID: v.NodeID}, ResumptionID: r.newResID,
			SharedSecret: r.shared, PeerCATs: v.CATs})
	}
	r.result = Result{Keys: keys, LocalSessionID: r.cfg.LocalSessionID, PeerSessionID: r.peerSID,
		FabricIndex: f.Index, LocalNodeID: f.NodeID, PeerNodeID: v.NodeID, PeerCATs: v.CATs,
		PeerParams: effective(r.peerPar)}
	r.terminal(StateEstablished)
	out := reportOutput(status.SessionEstablished())
	out.Done = true
	return out, nil
}
