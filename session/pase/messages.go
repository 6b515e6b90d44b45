package pase

import (
	"errors"
	"fmt"
	"io"

	"mattersim/session/message"
	"mattersim/session/params"
	"mattersim/session/spake2p"
	"mattersim/tlv"
)

// Secure Channel opcodes of PASE (spec 4.14.1; connectedhomeip
// src/protocols/secure_channel/Constants.h).
const (
	OpPBKDFParamRequest  = message.OpPBKDFParamRequest  // 0x20
	OpPBKDFParamResponse = message.OpPBKDFParamResponse // 0x21
	OpPake1              = message.OpPASEPake1          // 0x22
	OpPake2              = message.OpPASEPake2          // 0x23
	OpPake3              = message.OpPASEPake3          // 0x24
	OpStatusReport       = message.OpStatusReport       // 0x40
)

// RandomLen is the length of initiatorRandom and responderRandom.
const RandomLen = 32

// DefaultPasscodeID is the only passcode id Matter defines
// (connectedhomeip kDefaultCommissioningPasscodeId).
const DefaultPasscodeID = 0

// SessionParams are the session parameters a peer advertises in tag 5 of
// PBKDFParamRequest and PBKDFParamResponse (spec 4.12.8). It is
// params.Params: only the fields marked present (Set) are sent, and a
// decoded value keeps exactly the fields the peer sent; Effective fills in
// the spec defaults.
type SessionParams = params.Params

// PBKDFParams are the PBKDF2 parameters a device advertises
// (pbkdf_parameters, spec 4.14.1.2).
type PBKDFParams struct {
	Iterations uint32
	Salt       []byte
}

// PBKDFParamRequest is the first PASE message, initiator to responder
// (spec 4.14.1.2). Params is nil when the optional session parameters
// (tag 5) are absent.
type PBKDFParamRequest struct {
	InitiatorRandom    [RandomLen]byte
	InitiatorSessionID uint16
	PasscodeID         uint16
	HasPBKDFParameters bool
	Params             *SessionParams
}

// PBKDFParamResponse answers a PBKDFParamRequest (spec 4.14.1.2). PBKDF
// is nil when the request said hasPBKDFParameters; Params is nil when the
// session parameters are absent.
type PBKDFParamResponse struct {
	InitiatorRandom    [RandomLen]byte
	ResponderRandom    [RandomLen]byte
	ResponderSessionID uint16
	PBKDF              *PBKDFParams
	Params             *SessionParams
}

// Pake1 carries the prover's share pA = X (spec 4.14.1.3).
type Pake1 struct{ PA spake2p.Point }

// Pake2 carries the verifier's share pB = Y and confirmation cB.
type Pake2 struct {
	PB spake2p.Point
	CB [spake2p.ConfirmLen]byte
}

// Pake3 carries the prover's confirmation cA.
type Pake3 struct{ CA [spake2p.ConfirmLen]byte }

func ctx(n uint8) tlv.Tag { return tlv.ContextTag(n) }

// Append encodes m as an anonymous TLV structure with context tags in
// increasing order (the SDK decoder requires the order).
func (m *PBKDFParamRequest) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.InitiatorRandom[:])
	w.PutUint(ctx(2), uint64(m.InitiatorSessionID))
	w.PutUint(ctx(3), uint64(m.PasscodeID))
	w.PutBool(ctx(4), m.HasPBKDFParameters)
	if m.Params != nil {
		m.Params.Encode(w, ctx(5))
	}
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m (spec 4.14.1.2).
func (m *PBKDFParamResponse) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.InitiatorRandom[:])
	w.PutBytes(ctx(2), m.ResponderRandom[:])
	w.PutUint(ctx(3), uint64(m.ResponderSessionID))
	if m.PBKDF != nil {
		w.StartStruct(ctx(4))
		w.PutUint(ctx(1), uint64(m.PBKDF.Iterations))
		w.PutBytes(ctx(2), m.PBKDF.Salt)
		w.EndContainer()
	}
	if m.Params != nil {
		m.Params.Encode(w, ctx(5))
	}
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m.
func (m *Pake1) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.PA[:])
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m.
func (m *Pake2) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.PB[:])
	w.PutBytes(ctx(2), m.CB[:])
	w.EndContainer()
	return w.Bytes()
}

// Append encodes m.
func (m *Pake3) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), m.CA[:])
	w.EndContainer()
	return w.Bytes()
}

// structWalker reads the members of the top-level anonymous structure of
// a PASE message. Unknown tags are skipped (spec A.11 forward
// compatibility; matter.js sends session-parameter tag 8). A member that
// appears twice is rejected: it would make the message ambiguous.
type structWalker struct {
	r    tlv.Reader
	op   uint8
	seen uint32
}

func (s *structWalker) open(b []byte) error {
	s.r.Reset(b)
	if err := s.r.Next(); err != nil {
		if err == io.EOF {
			return s.fail("", "empty payload", nil)
		}
		return s.fail("", "bad TLV", err)
	}
	if s.r.Type() != tlv.Struct || !s.r.Tag().IsAnonymous() {
		return s.fail("", fmt.Sprintf("top element is %s with tag %s, want an anonymous structure", s.r.Type(), s.r.Tag()), nil)
	}
	if err := s.r.Enter(); err != nil {
		return s.fail("", "bad TLV", err)
	}
	return nil
}

// next moves to the next member; it returns its context tag number, or
// done at the end of the structure. Non-context members are skipped.
func (s *structWalker) next() (n uint32, done bool, err error) {
	for {
		err := s.r.Next()
		if err == io.EOF {
			if err := s.r.Exit(); err != nil {
				return 0, true, s.fail("", "bad TLV", err)
			}
			// Anything after the structure is not part of the message.
			if err := s.r.Next(); err != io.EOF {
				if err == nil {
					return 0, true, s.fail("", "trailing data after the structure", nil)
				}
				return 0, true, s.fail("", "bad TLV", err)
			}
			return 0, true, nil
		}
		if err != nil {
			return 0, false, s.fail("", "bad TLV", err)
		}
		t := s.r.Tag()
		if t.Form != tlv.Context {
			continue
		}
		if t.Number < 32 {
			if s.seen&(1<<t.Number) != 0 {
				return 0, false, s.fail(fmt.Sprintf("tag %d", t.Number), "duplicate member", nil)
			}
			s.seen |= 1 << t.Number
		}
		return t.Number, false, nil
	}
}

func (s *structWalker) has(n uint32) bool { return s.seen&(1<<n) != 0 }

func (s *structWalker) fail(field, reason string, err error) error {
	return &MessageError{Opcode: s.op, Field: field, Reason: reason, Err: err}
}

func (s *structWalker) require(fields ...field) error {
	for _, f := range fields {
		if !s.has(f.n) {
			return s.fail(f.name, "missing", nil)
		}
	}
	return nil
}

type field = struct {
	n    uint32
	name string
}

func (s *structWalker) fixedBytes(dst []byte, name string) error {
	b, err := s.r.Bytes()
	if err != nil {
		return s.fail(name, "not an octet string", err)
	}
	if len(b) != len(dst) {
		return s.fail(name, fmt.Sprintf("%d bytes, want %d", len(b), len(dst)), nil)
	}
	copy(dst, b)
	return nil
}

func (s *structWalker) u16(name string) (uint16, error) {
	v, err := s.r.Uint16()
	if err != nil {
		return 0, s.fail(name, "not an unsigned 16-bit integer", err)
	}
	return v, nil
}

// sessionParams decodes the session-parameter structure as sent (absent
// fields stay absent; spec 4.12.8).
func (s *structWalker) sessionParams(name string) (*SessionParams, error) {
	p, err := params.Decode(&s.r)
	if err != nil {
		return nil, s.fail(name, "bad session parameters", err)
	}
	return &p, nil
}

// Decode parses a PBKDFParamRequest. Integers of any width are accepted;
// unknown members are ignored; the required members 1-4 must be present.
func (m *PBKDFParamRequest) Decode(b []byte) error {
	*m = PBKDFParamRequest{}
	s := structWalker{op: OpPBKDFParamRequest}
	if err := s.open(b); err != nil {
		return err
	}
	for {
		n, done, err := s.next()
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch n {
		case 1:
			err = s.fixedBytes(m.InitiatorRandom[:], "initiatorRandom")
		case 2:
			m.InitiatorSessionID, err = s.u16("initiatorSessionId")
		case 3:
			m.PasscodeID, err = s.u16("passcodeId")
		case 4:
			if m.HasPBKDFParameters, err = s.r.Bool(); err != nil {
				err = s.fail("hasPBKDFParameters", "not a boolean", err)
			}
		case 5:
			m.Params, err = s.sessionParams("initiatorSessionParams")
		}
		if err != nil {
			return err
		}
	}
	return s.require(field{1, "initiatorRandom"}, field{2, "initiatorSessionId"},
		field{3, "passcodeId"}, field{4, "hasPBKDFParameters"})
}

// Decode parses a PBKDFParamResponse. The salt aliases nothing: it is
// copied.
func (m *PBKDFParamResponse) Decode(b []byte) error {
	*m = PBKDFParamResponse{}
	s := structWalker{op: OpPBKDFParamResponse}
	if err := s.open(b); err != nil {
		return err
	}
	for {
		n, done, err := s.next()
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch n {
		case 1:
			err = s.fixedBytes(m.InitiatorRandom[:], "initiatorRandom")
		case 2:
			err = s.fixedBytes(m.ResponderRandom[:], "responderRandom")
		case 3:
			m.ResponderSessionID, err = s.u16("responderSessionId")
		case 4:
			m.PBKDF, err = s.pbkdfParams()
		case 5:
			m.Params, err = s.sessionParams("responderSessionParams")
		}
		if err != nil {
			return err
		}
	}
	return s.require(field{1, "initiatorRandom"}, field{2, "responderRandom"}, field{3, "responderSessionId"})
}

func (s *structWalker) pbkdfParams() (*PBKDFParams, error) {
	const name = "pbkdf_parameters"
	if s.r.Type() != tlv.Struct {
		return nil, s.fail(name, fmt.Sprintf("is %s, want a structure", s.r.Type()), nil)
	}
	if err := s.r.Enter(); err != nil {
		return nil, s.fail(name, "bad TLV", err)
	}
	p := &PBKDFParams{}
	var haveIt, haveSalt bool
	for {
		err := s.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.fail(name, "bad TLV", err)
		}
		switch s.r.Tag() {
		case ctx(1):
			if p.Iterations, err = s.r.Uint32(); err != nil {
				return nil, s.fail(name+".iterations", "not an unsigned 32-bit integer", err)
			}
			haveIt = true
		case ctx(2):
			salt, err := s.r.Bytes()
			if err != nil {
				return nil, s.fail(name+".salt", "not an octet string", err)
			}
			p.Salt = append([]byte(nil), salt...)
			haveSalt = true
		}
	}
	if err := s.r.Exit(); err != nil {
		return nil, s.fail(name, "bad TLV", err)
	}
	if !haveIt {
		return nil, s.fail(name+".iterations", "missing", nil)
	}
	if !haveSalt {
		return nil, s.fail(name+".salt", "missing", nil)
	}
	return p, nil
}

// decodeSingle parses the Pake messages: a structure whose required
// members are fixed-length octet strings.
func decodeFixed(op uint8, b []byte, fields []field, dsts [][]byte) error {
	s := structWalker{op: op}
	if err := s.open(b); err != nil {
		return err
	}
	for {
		n, done, err := s.next()
		if err != nil {
			return err
		}
		if done {
			break
		}
		if n >= 1 && int(n) <= len(fields) {
			if err := s.fixedBytes(dsts[n-1], fields[n-1].name); err != nil {
				return err
			}
		}
	}
	return s.require(fields...)
}

// Decode parses a Pake1; pA must be 65 bytes (curve membership is checked
// by the responder).
func (m *Pake1) Decode(b []byte) error {
	*m = Pake1{}
	return decodeFixed(OpPake1, b, []field{{1, "pA"}}, [][]byte{m.PA[:]})
}

// Decode parses a Pake2: pB 65 bytes, cB 32 bytes.
func (m *Pake2) Decode(b []byte) error {
	*m = Pake2{}
	return decodeFixed(OpPake2, b, []field{{1, "pB"}, {2, "cB"}}, [][]byte{m.PB[:], m.CB[:]})
}

// Decode parses a Pake3: cA 32 bytes (the SDK rejects other lengths).
func (m *Pake3) Decode(b []byte) error {
	*m = Pake3{}
	return decodeFixed(OpPake3, b, []field{{1, "cA"}}, [][]byte{m.CA[:]})
}

// MessageError reports a malformed PASE message.
type MessageError struct {
	Opcode uint8
	Field  string // empty when the message as a whole is bad
	Reason string
	Err    error // underlying TLV or crypto error, if any
}

func (e *MessageError) Error() string {
	s := "pase: " + opName(e.Opcode)
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
var ErrMalformed = errors.New("pase: malformed message")

func opName(op uint8) string {
	switch op {
	case OpPBKDFParamRequest:
		return "PBKDFParamRequest"
	case OpPBKDFParamResponse:
		return "PBKDFParamResponse"
	case OpPake1:
		return "Pake1"
	case OpPake2:
		return "Pake2"
	case OpPake3:
		return "Pake3"
	case OpStatusReport:
		return "StatusReport"
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}
