package casesess

import (
	"errors"
	"fmt"

	"mattersim/session/internal/tlvstruct"
	"mattersim/session/message"
	"mattersim/session/params"
	"mattersim/tlv"
)

// Secure Channel opcodes of CASE (spec 4.14.2; connectedhomeip
// src/protocols/secure_channel/Constants.h MsgType::CASE_Sigma1..).
const (
	OpSigma1       = message.OpCASESigma1       // 0x30
	OpSigma2       = message.OpCASESigma2       // 0x31
	OpSigma3       = message.OpCASESigma3       // 0x32
	OpSigma2Resume = message.OpCASESigma2Resume // 0x33
	OpStatusReport = message.OpStatusReport     // 0x40
)

// Sizes fixed by the protocol (connectedhomeip CASESession.cpp and
// CHIPCryptoPAL.h; matter.js CaseMessages.ts).
const (
	RandomLen       = 32 // initiatorRandom, responderRandom (kSigmaParamRandomNumberSize)
	DestinationLen  = 32 // destinationId, an HMAC-SHA256 (kSHA256_Hash_Length)
	PublicKeyLen    = 65 // uncompressed P-256 point (kP256_PublicKey_Length)
	ResumptionIDLen = 16 // SessionResumptionStorage::kResumptionIdSize
	MICLen          = 16 // CHIP_CRYPTO_AEAD_MIC_LENGTH_BYTES
	SignatureLen    = 64 // raw r||s (kP256_ECDSA_Signature_Length_Raw)
	IPKLen          = 16 // kIPKSize
	MaxCertLen      = 400
)

// Largest encrypted2 and encrypted3 the SDK accepts (ParseSigma2 and
// ParseSigma3): TLV::EstimateStructOverhead (4 octets per member plus 2)
// of NOC, ICAC (kMaxCHIPCertLength 400 each), signature (64), resumption id
// (16, Sigma2 only) and kCaseOverheadForFutureTBEData (128).
const (
	MaxEncrypted2Len = (MaxCertLen + 4) + (MaxCertLen + 4) + (SignatureLen + 4) + (ResumptionIDLen + 4) + (128 + 4) + 2
	MaxEncrypted3Len = (MaxCertLen + 4) + (MaxCertLen + 4) + (SignatureLen + 4) + (128 + 4) + 2
)

// SessionParams are the session parameters (MRP intervals and revisions)
// carried in Sigma1 tag 5, Sigma2 tag 5 and Sigma2_Resume tag 4 (spec
// 4.12.8); only the fields marked present are sent.
type SessionParams = params.Params

// Sigma1 opens CASE, initiator to responder (spec 4.14.2.2; SDK
// Sigma1Tags). The message types are plain values; Decode copies what it
// keeps out of its input. ResumptionID and ResumeMIC are both set or both nil
// (a Sigma1 with one of them is malformed, as the SDK and matter.js
// rule).
type Sigma1 struct {
	InitiatorRandom    [RandomLen]byte
	InitiatorSessionID uint16
	DestinationID      [DestinationLen]byte
	InitiatorEphPubKey [PublicKeyLen]byte
	Params             *SessionParams // tag 5, optional
	ResumptionID       *[ResumptionIDLen]byte
	ResumeMIC          *[MICLen]byte
}

// Sigma2 answers Sigma1 with the responder's share and its encrypted
// credentials (spec 4.14.2.3; SDK Sigma2Tags).
type Sigma2 struct {
	ResponderRandom    [RandomLen]byte
	ResponderSessionID uint16
	ResponderEphPubKey [PublicKeyLen]byte
	Encrypted2         []byte // TBEData2 sealed with S2K, MIC last
	Params             *SessionParams
}

// Sigma2Resume answers a Sigma1 whose resumption the responder accepted
// (spec 4.14.2.5; SDK Sigma2ResumeTags).
type Sigma2Resume struct {
	ResumptionID       [ResumptionIDLen]byte // the new one
	Sigma2ResumeMIC    [MICLen]byte
	ResponderSessionID uint16
	Params             *SessionParams // tag 4
}

// Sigma3 carries the initiator's encrypted credentials (spec 4.14.2.4).
type Sigma3 struct {
	Encrypted3 []byte // TBEData3 sealed with S3K, MIC last
}

// TBEData is the plaintext of encrypted2 (with ResumptionID) and
// encrypted3 (without): the sender's NOC and ICAC in Matter TLV form and
// its signature over the TBSData (SDK TBEDataTags: NOC 1, ICAC 2,
// signature 3, resumption id 4).
type TBEData struct {
	NOC          []byte
	ICAC         []byte // nil when the NOC is issued by the root
	Signature    [SignatureLen]byte
	ResumptionID *[ResumptionIDLen]byte // Sigma2 only
}

func ctx(n uint8) tlv.Tag { return tlv.ContextTag(n) }

// Append encodes m as the SDK's EncodeSigma1 does: tags 1-4, the session
// parameters (5) when set, then resumption id (6) and resume MIC (7).
func (m *Sigma1) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.InitiatorRandom[:])
	w.PutUint(ctx(2), uint64(m.InitiatorSessionID))
	w.PutBytes(ctx(3), m.DestinationID[:])
	w.PutBytes(ctx(4), m.InitiatorEphPubKey[:])
	if m.Params != nil {
		m.Params.Encode(w, ctx(5))
	}
	if m.ResumptionID != nil && m.ResumeMIC != nil {
		w.PutBytes(ctx(6), m.ResumptionID[:])
		w.PutBytes(ctx(7), m.ResumeMIC[:])
	}
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m (SDK EncodeSigma2).
func (m *Sigma2) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.ResponderRandom[:])
	w.PutUint(ctx(2), uint64(m.ResponderSessionID))
	w.PutBytes(ctx(3), m.ResponderEphPubKey[:])
	w.PutBytes(ctx(4), m.Encrypted2)
	if m.Params != nil {
		m.Params.Encode(w, ctx(5))
	}
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m (SDK EncodeSigma2Resume).
func (m *Sigma2Resume) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.ResumptionID[:])
	w.PutBytes(ctx(2), m.Sigma2ResumeMIC[:])
	w.PutUint(ctx(3), uint64(m.ResponderSessionID))
	if m.Params != nil {
		m.Params.Encode(w, ctx(4))
	}
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m (SDK SendSigma3c).
func (m *Sigma3) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.Encrypted3)
	w.EndContainer()
	return w.Bytes()
}

// Append encodes the TBEData (SDK PrepareSigma2 / SendSigma3b).
func (m *TBEData) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.NOC)
	if len(m.ICAC) > 0 {
		w.PutBytes(ctx(2), m.ICAC)
	}
	w.PutBytes(ctx(3), m.Signature[:])
	if m.ResumptionID != nil {
		w.PutBytes(ctx(4), m.ResumptionID[:])
	}
	w.EndContainer()
	return w.Bytes()
}

// AppendTBSData appends the to-be-signed data of Sigma2 and Sigma3 (spec
// 4.14.2.3 sigma-2-tbsdata, 4.14.2.4 sigma-3-tbsdata; SDK ConstructTBSData,
// TBSDataTags): sender NOC (1), sender ICAC (2, if any), sender ephemeral
// public key (3), receiver ephemeral public key (4).
func AppendTBSData(b, noc, icac, senderPub, receiverPub []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), noc)
	if len(icac) > 0 {
		w.PutBytes(ctx(2), icac)
	}
	w.PutBytes(ctx(3), senderPub)
	w.PutBytes(ctx(4), receiverPub)
	w.EndContainer()
	return w.Bytes()
}

// structWalker reads a CASE message (tlvstruct.Walker); bytes after the
// structure are refused (the SDK ignores them).
type structWalker struct{ tlvstruct.Walker }

// newWalker returns a walker whose errors are MessageErrors of opcode op.
func newWalker(op uint8) *structWalker {
	s := &structWalker{}
	s.RefuseTrailing = true
	s.Fail = func(field, reason string, err error) error {
		return &MessageError{Opcode: op, Field: field, Reason: reason, Err: err}
	}
	return s
}

// Decode parses a Sigma1 as the SDK's ParseSigma1 does: members 1-4 in
// order with exact lengths, then the optional session parameters (5),
// resumption id (6) and resume MIC (7) in that order; one of 6 and 7
// without the other is an error.
func (m *Sigma1) Decode(b []byte) error {
	*m = Sigma1{}
	s := newWalker(OpSigma1)
	if err := s.Open(b); err != nil {
		return err
	}
	if err := s.ExpectBytes(1, m.InitiatorRandom[:], "initiatorRandom"); err != nil {
		return err
	}
	var err error
	if m.InitiatorSessionID, err = s.ExpectU16(2, "initiatorSessionId"); err != nil {
		return err
	}
	if err := s.ExpectBytes(3, m.DestinationID[:], "destinationId"); err != nil {
		return err
	}
	if err := s.ExpectBytes(4, m.InitiatorEphPubKey[:], "initiatorEphPubKey"); err != nil {
		return err
	}
	if m.Params, err = s.SessionParams(5, "initiatorSessionParams"); err != nil {
		return err
	}
	if ok, err := s.Optional(6); err != nil {
		return err
	} else if ok {
		m.ResumptionID = new([ResumptionIDLen]byte)
		if err := s.FixedBytes(m.ResumptionID[:], "resumptionID"); err != nil {
			return err
		}
	}
	if ok, err := s.Optional(7); err != nil {
		return err
	} else if ok {
		m.ResumeMIC = new([MICLen]byte)
		if err := s.FixedBytes(m.ResumeMIC[:], "initiatorResumeMIC"); err != nil {
			return err
		}
	}
	if (m.ResumptionID == nil) != (m.ResumeMIC == nil) {
		return s.Fail("resumptionID", "resumptionID and initiatorResumeMIC must come together", nil)
	}
	return s.Close()
}

// ResumptionRequested reports whether m asks to resume a session.
func (m *Sigma1) ResumptionRequested() bool { return m.ResumptionID != nil && m.ResumeMIC != nil }

// Decode parses a Sigma2 as the SDK's ParseSigma2 does; encrypted2 must be
// longer than a MIC and at most MaxEncrypted2Len octets.
func (m *Sigma2) Decode(b []byte) error {
	*m = Sigma2{}
	s := newWalker(OpSigma2)
	if err := s.Open(b); err != nil {
		return err
	}
	if err := s.ExpectBytes(1, m.ResponderRandom[:], "responderRandom"); err != nil {
		return err
	}
	var err error
	if m.ResponderSessionID, err = s.ExpectU16(2, "responderSessionId"); err != nil {
		return err
	}
	if err := s.ExpectBytes(3, m.ResponderEphPubKey[:], "responderEphPubKey"); err != nil {
		return err
	}
	if err := s.Expect(4, "encrypted2"); err != nil {
		return err
	}
	if m.Encrypted2, err = s.VarBytes("encrypted2", MICLen+1, MaxEncrypted2Len); err != nil {
		return err
	}
	if m.Params, err = s.SessionParams(5, "responderSessionParams"); err != nil {
		return err
	}
	return s.Close()
}

// Decode parses a Sigma2_Resume (SDK ParseSigma2Resume).
func (m *Sigma2Resume) Decode(b []byte) error {
	*m = Sigma2Resume{}
	s := newWalker(OpSigma2Resume)
	if err := s.Open(b); err != nil {
		return err
	}
	if err := s.ExpectBytes(1, m.ResumptionID[:], "resumptionID"); err != nil {
		return err
	}
	if err := s.ExpectBytes(2, m.Sigma2ResumeMIC[:], "sigma2ResumeMIC"); err != nil {
		return err
	}
	var err error
	if m.ResponderSessionID, err = s.ExpectU16(3, "responderSessionID"); err != nil {
		return err
	}
	if m.Params, err = s.SessionParams(4, "responderSessionParams"); err != nil {
		return err
	}
	return s.Close()
}

// Decode parses a Sigma3 (SDK ParseSigma3); encrypted3 must be longer than
// a MIC and at most MaxEncrypted3Len octets.
func (m *Sigma3) Decode(b []byte) error {
	*m = Sigma3{}
	s := newWalker(OpSigma3)
	if err := s.Open(b); err != nil {
		return err
	}
	if err := s.Expect(1, "encrypted3"); err != nil {
		return err
	}
	var err error
	if m.Encrypted3, err = s.VarBytes("encrypted3", MICLen+1, MaxEncrypted3Len); err != nil {
		return err
	}
	return s.Close()
}

// DecodeTBEData parses a decrypted TBEData2 (withResumption) or TBEData3
// as the SDK's ParseSigma2TBEData / ParseSigma3TBEData do: NOC (1, at most
// 400 octets), ICAC (2, optional, at most 400), signature (3, exactly 64),
// then for Sigma2 the resumption id (4, 16 octets); later members are
// skipped. op names the message for errors.
func DecodeTBEData(op uint8, b []byte, withResumption bool) (*TBEData, error) {
	m := &TBEData{}
	s := newWalker(op)
	if err := s.Open(b); err != nil {
		return nil, err
	}
	if err := s.Expect(1, "TBEData.senderNOC"); err != nil {
		return nil, err
	}
	var err error
	if m.NOC, err = s.VarBytes("TBEData.senderNOC", 1, MaxCertLen); err != nil {
		return nil, err
	}
	if ok, err := s.Optional(2); err != nil {
		return nil, err
	} else if ok {
		if m.ICAC, err = s.VarBytes("TBEData.senderICAC", 1, MaxCertLen); err != nil {
			return nil, err
		}
	}
	if err := s.ExpectBytes(3, m.Signature[:], "TBEData.signature"); err != nil {
		return nil, err
	}
	if withResumption {
		m.ResumptionID = new([ResumptionIDLen]byte)
		if err := s.ExpectBytes(4, m.ResumptionID[:], "TBEData.resumptionID"); err != nil {
			return nil, err
		}
	}
	return m, s.Close()
}

// MessageError reports a malformed CASE message.
type MessageError struct {
	Opcode uint8
	Field  string // empty when the message as a whole is bad
	Reason string
	Err    error // underlying TLV error, if any
}

var _ error = (*MessageError)(nil)

func (e *MessageError) Error() string {
	s := "casesess: " + opName(e.Opcode)
	if e.Field != "" {
		s += " " + e.Field
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *MessageError) Unwrap() error { return e.Err }

// Is makes every MessageError match ErrMalformed.
func (e *MessageError) Is(target error) bool { return target == ErrMalformed }

// ErrMalformed matches every *MessageError.
var ErrMalformed = errors.New("casesess: malformed message")

func opName(op uint8) string {
	switch op {
	case OpSigma1:
		return "Sigma1"
	case OpSigma2:
		return "Sigma2"
	case OpSigma3:
		return "Sigma3"
	case OpSigma2Resume:
		return "Sigma2_Resume"
	case OpStatusReport:
		return "StatusReport"
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}
