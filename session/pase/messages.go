package pase

import (
	"errors"
	"fmt"
	"io"

	"mattersim/session/internal/tlvstruct"
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

// structWalker reads a PASE message (tlvstruct.Walker); bytes after the
// structure are ignored, as the SDK's handlers stop at ExitContainer
// (connectedhomeip PASESession.cpp).
type structWalker struct{ tlvstruct.Walker }

// newWalker returns a walker whose errors are MessageErrors of opcode op.
func newWalker(op uint8) *structWalker {
	s := &structWalker{}
	s.RefuseTrailing = false
	s.Fail = func(field, reason string, err error) error {
		return &MessageError{Opcode: op, Field: field, Reason: reason, Err: err}
	}
	return s
}

// Decode parses a PBKDFParamRequest: members 1-4 in order, then the
// optional session parameters (5); integers of any width that fit.
func (m *PBKDFParamRequest) Decode(b []byte) error {
	*m = PBKDFParamRequest{}
	s := newWalker(OpPBKDFParamRequest)
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
	if m.PasscodeID, err = s.ExpectU16(3, "passcodeId"); err != nil {
		return err
	}
	if err := s.Expect(4, "hasPBKDFParameters"); err != nil {
		return err
	}
	if m.HasPBKDFParameters, err = s.R.Bool(); err != nil {
		return s.Fail("hasPBKDFParameters", "not a boolean", err)
	}
	if m.Params, err = s.SessionParams(5, "initiatorSessionParams"); err != nil {
		return err
	}
	return s.Close()
}

// Decode parses a PBKDFParamResponse: members 1-3 in order, then the
// PBKDF parameters (4) if they come next, then the optional session
// parameters (5). The salt is copied. An initiator reads the reply to its
// own request with DecodeWanted, which follows the SDK exactly.
func (m *PBKDFParamResponse) Decode(b []byte) error { return m.decode(b, pbkdfOptional) }

// DecodeWanted parses a PBKDFParamResponse to a request whose
// hasPBKDFParameters was known, as connectedhomeip
// HandlePBKDFParamResponse does: with known = false the pbkdf_parameters
// member (4) is required in place; with known = true it is not looked
// for, so a member 4 the responder sent anyway ends the known members
// (the session parameters behind it are skipped, as in the SDK).
func (m *PBKDFParamResponse) DecodeWanted(b []byte, known bool) error {
	if known {
		return m.decode(b, pbkdfAbsent)
	}
	return m.decode(b, pbkdfRequired)
}

type pbkdfRule uint8

const (
	pbkdfOptional pbkdfRule = iota
	pbkdfRequired
	pbkdfAbsent
)

func (m *PBKDFParamResponse) decode(b []byte, rule pbkdfRule) error {
	*m = PBKDFParamResponse{}
	s := newWalker(OpPBKDFParamResponse)
	if err := s.Open(b); err != nil {
		return err
	}
	if err := s.ExpectBytes(1, m.InitiatorRandom[:], "initiatorRandom"); err != nil {
		return err
	}
	if err := s.ExpectBytes(2, m.ResponderRandom[:], "responderRandom"); err != nil {
		return err
	}
	var err error
	if m.ResponderSessionID, err = s.ExpectU16(3, "responderSessionId"); err != nil {
		return err
	}
	switch rule {
	case pbkdfRequired:
		if err := s.Expect(4, "pbkdf_parameters"); err != nil {
			return err
		}
		if m.PBKDF, err = s.pbkdfParams(); err != nil {
			return err
		}
	case pbkdfOptional:
		ok, err := s.Optional(4)
		if err != nil {
			return err
		}
		if ok {
			if m.PBKDF, err = s.pbkdfParams(); err != nil {
				return err
			}
		}
	}
	if m.Params, err = s.SessionParams(5, "responderSessionParams"); err != nil {
		return err
	}
	return s.Close()
}

// pbkdfParams reads the pbkdf_parameters structure: iterations (1) then
// salt (2), members after them skipped (SDK: Next(kIterations),
// Next(kSalt), ExitContainer).
func (s *structWalker) pbkdfParams() (*PBKDFParams, error) {
	const name = "pbkdf_parameters"
	if s.R.Type() != tlv.Struct {
		return nil, s.Fail(name, fmt.Sprintf("is %s, want a structure", s.R.Type()), nil)
	}
	if err := s.R.Enter(); err != nil {
		return nil, s.Fail(name, "bad TLV", err)
	}
	p := &PBKDFParams{}
	next := func(n uint8, field string) error {
		switch err := s.R.Next(); {
		case err == io.EOF:
			return s.Fail(name+"."+field, "missing", nil)
		case err != nil:
			return s.Fail(name, "bad TLV", err)
		}
		if t := s.R.Tag(); t != ctx(n) {
			return s.Fail(name+"."+field, fmt.Sprintf("want context tag %d next, found tag %s", n, t), nil)
		}
		return nil
	}
	if err := next(1, "iterations"); err != nil {
		return nil, err
	}
	var err error
	if p.Iterations, err = s.R.Uint32(); err != nil {
		return nil, s.Fail(name+".iterations", "not an unsigned 32-bit integer", err)
	}
	if err := next(2, "salt"); err != nil {
		return nil, err
	}
	salt, err := s.R.Bytes()
	if err != nil {
		return nil, s.Fail(name+".salt", "not an octet string", err)
	}
	p.Salt = append([]byte(nil), salt...)
	if err := s.R.Exit(); err != nil {
		return nil, s.Fail(name, "bad TLV", err)
	}
	return p, nil
}

type field = struct {
	n    uint8
	name string
}

// decodeFixed parses the Pake messages: fixed-length octet strings at
// context tags 1, 2, ... in order.
func decodeFixed(op uint8, b []byte, fields []field, dsts [][]byte) error {
	s := newWalker(op)
	if err := s.Open(b); err != nil {
		return err
	}
	for i, f := range fields {
		if err := s.ExpectBytes(f.n, dsts[i], f.name); err != nil {
			return err
		}
	}
	return s.Close()
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
