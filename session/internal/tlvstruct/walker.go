// Package tlvstruct reads the members of a secure-channel message's
// top-level anonymous TLV structure in tag order, as connectedhomeip's
// PASESession.cpp and CASESession.cpp parse theirs: each required member
// with Next(ContextTag(n)) in sequence (missing, out of order or preceded
// by an unknown tag is an error), optional members only where they belong,
// and whatever follows the known members skipped by ExitContainer
// ("future-proofing"). PASE and CASE share it; each supplies its own error
// type through Walker.Fail.
package tlvstruct

import (
	"fmt"
	"io"

	"mattersim/session/params"
	"mattersim/tlv"
)

// Walker walks one message. Fail builds the error for a member (field "" for
// the message as a whole); it must be set. RefuseTrailing makes Close refuse
// bytes after the structure (CASE); otherwise they are ignored, as the
// SDK's handlers stop at ExitContainer (PASE).
type Walker struct {
	R              tlv.Reader
	Fail           func(field, reason string, err error) error
	RefuseTrailing bool

	cur bool // a member has been read and not consumed (after Optional)
	end bool // the end of the structure was reached
}

func ctx(n uint8) tlv.Tag { return tlv.ContextTag(n) }

// Open starts on b, which must hold an anonymous structure.
func (s *Walker) Open(b []byte) error {
	s.R.Reset(b)
	s.cur, s.end = false, false
	if err := s.R.Next(); err != nil {
		if err == io.EOF {
			return s.Fail("", "empty payload", nil)
		}
		return s.Fail("", "bad TLV", err)
	}
	if s.R.Type() != tlv.Struct || !s.R.Tag().IsAnonymous() {
		return s.Fail("", fmt.Sprintf("top element is %s with tag %s, want an anonymous structure", s.R.Type(), s.R.Tag()), nil)
	}
	if err := s.R.Enter(); err != nil {
		return s.Fail("", "bad TLV", err)
	}
	return nil
}

// Read moves to the next member unless one is pending; it reports false
// at the end of the structure.
func (s *Walker) Read() (bool, error) {
	if s.cur {
		return true, nil
	}
	if s.end {
		return false, nil
	}
	switch err := s.R.Next(); {
	case err == io.EOF:
		s.end = true
		return false, nil
	case err != nil:
		return false, s.Fail("", "bad TLV", err)
	}
	s.cur = true
	return true, nil
}

// Expect reads the next member, which must have context tag n (SDK
// TLVReader::Next(ContextTag(n))).
func (s *Walker) Expect(n uint8, name string) error {
	ok, err := s.Read()
	if err != nil {
		return err
	}
	if !ok {
		return s.Fail(name, "missing", nil)
	}
	if t := s.R.Tag(); t != ctx(n) {
		return s.Fail(name, fmt.Sprintf("want context tag %d next, found tag %s", n, t), nil)
	}
	s.cur = false
	return nil
}

// Optional reports whether the next member has context tag n, consuming
// it if so; otherwise the member stays pending.
func (s *Walker) Optional(n uint8) (bool, error) {
	ok, err := s.Read()
	if err != nil || !ok {
		return false, err
	}
	if s.R.Tag() != ctx(n) {
		return false, nil
	}
	s.cur = false
	return true, nil
}

// Close skips the members after the known ones and leaves the structure;
// with RefuseTrailing it refuses anything after it.
func (s *Walker) Close() error {
	if err := s.R.Exit(); err != nil {
		return s.Fail("", "bad TLV", err)
	}
	if !s.RefuseTrailing {
		return nil
	}
	switch err := s.R.Next(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return s.Fail("", "bad TLV after the structure", err)
	}
	return s.Fail("", "bytes after the structure", nil)
}

// FixedBytes reads the current member as an octet string of len(dst).
func (s *Walker) FixedBytes(dst []byte, name string) error {
	b, err := s.R.Bytes()
	if err != nil {
		return s.Fail(name, "not an octet string", err)
	}
	if len(b) != len(dst) {
		return s.Fail(name, fmt.Sprintf("%d bytes, want %d", len(b), len(dst)), nil)
	}
	copy(dst, b)
	return nil
}

// ExpectBytes reads member n as a fixed-length octet string.
func (s *Walker) ExpectBytes(n uint8, dst []byte, name string) error {
	if err := s.Expect(n, name); err != nil {
		return err
	}
	return s.FixedBytes(dst, name)
}

// VarBytes reads the current member as an octet string of minLen..maxLen
// octets and copies it.
func (s *Walker) VarBytes(name string, minLen, maxLen int) ([]byte, error) {
	b, err := s.R.Bytes()
	if err != nil {
		return nil, s.Fail(name, "not an octet string", err)
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, s.Fail(name, fmt.Sprintf("%d bytes, want %d..%d", len(b), minLen, maxLen), nil)
	}
	return append([]byte(nil), b...), nil
}

// ExpectU16 reads member n as an unsigned integer that fits 16 bits.
func (s *Walker) ExpectU16(n uint8, name string) (uint16, error) {
	if err := s.Expect(n, name); err != nil {
		return 0, err
	}
	v, err := s.R.Uint16()
	if err != nil {
		return 0, s.Fail(name, "not an unsigned 16-bit integer", err)
	}
	return v, nil
}

// SessionParams decodes the optional session-parameter structure at tag n
// if it is the next member (SDK ReadSessionParamsIfPresent); absent fields
// stay absent (spec 4.12.8).
func (s *Walker) SessionParams(n uint8, name string) (*params.Params, error) {
	ok, err := s.Optional(n)
	if err != nil || !ok {
		return nil, err
	}
	p, err := params.Decode(&s.R)
	if err != nil {
		return nil, s.Fail(name, "bad session parameters", err)
	}
	return &p, nil
}
