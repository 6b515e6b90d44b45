package im

import (
	"errors"
	"io"

	"mattersim/tlv"
)

// Value is one encoded TLV element with an anonymous tag: an attribute's
// data or a command's fields. The codecs re-tag it when they place it in a
// message. A nil Value means "absent". Values returned by decoders are
// fresh copies that do not alias the input.
type Value []byte

// ErrBadValue reports a Value that is not a single anonymous TLV element.
var ErrBadValue = errors.New("im: value is not one anonymous TLV element")

// tagSizes is the tag length for each tag control (spec A.8).
var tagSizes = [8]int{0, 1, 2, 4, 2, 4, 6, 8}

// NewValue encodes one anonymous element with fn, e.g.
// NewValue(func(w *tlv.Writer) { w.PutString(tlv.AnonymousTag(), "x") }).
func NewValue(fn func(w *tlv.Writer)) Value {
	w := tlv.NewWriter(nil)
	fn(w)
	return Value(w.Bytes())
}

// StringValue, UintValue, IntValue and BoolValue encode scalar values.
func StringValue(s string) Value {
	return NewValue(func(w *tlv.Writer) { w.PutString(tlv.AnonymousTag(), s) })
}

// UintValue encodes an unsigned integer in its shortest width.
func UintValue(v uint64) Value {
	return NewValue(func(w *tlv.Writer) { w.PutUint(tlv.AnonymousTag(), v) })
}

// BoolValue encodes a boolean.
func BoolValue(v bool) Value {
	return NewValue(func(w *tlv.Writer) { w.PutBool(tlv.AnonymousTag(), v) })
}

// EmptyStruct is the anonymous empty structure, the CommandFields of a
// command with no fields (On/Off Off, On, Toggle).
func EmptyStruct() Value { return Value{0x15, 0x18} }

// reader positions a Reader on the value's single element.
func (v Value) reader() (*tlv.Reader, error) {
	r := tlv.NewReader(v)
	if err := r.Next(); err != nil {
		if err == io.EOF {
			return nil, ErrBadValue
		}
		return nil, err
	}
	if !r.Tag().IsAnonymous() {
		return nil, ErrBadValue
	}
	return r, nil
}

// String decodes a UTF-8 string value (copied).
func (v Value) String() (string, error) {
	r, err := v.reader()
	if err != nil {
		return "", err
	}
	s, err := r.String()
	return string([]byte(s)), err
}

// Uint decodes an unsigned integer of any width.
func (v Value) Uint() (uint64, error) {
	r, err := v.reader()
	if err != nil {
		return 0, err
	}
	return r.Uint()
}

// Bool decodes a boolean.
func (v Value) Bool() (bool, error) {
	r, err := v.reader()
	if err != nil {
		return false, err
	}
	return r.Bool()
}

// Format renders the value with tlv.Format.
func (v Value) Format() string {
	s, err := tlv.Format(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}

// putValue writes v as the member with context tag n; an empty or
// malformed value is written as null so encoders never fail.
func putValue(w *tlv.Writer, n uint8, v Value) {
	if len(v) == 0 {
		w.PutNull(tlv.ContextTag(n))
		return
	}
	skip := 1 + tagSizes[v[0]>>5]
	if skip > len(v) {
		w.PutNull(tlv.ContextTag(n))
		return
	}
	w.AppendRaw([]byte{0x20 | v[0]&0x1F, n})
	w.AppendRaw(v[skip:])
}

// rawValue copies the reader's current element as an anonymous Value.
func rawValue(r *tlv.Reader) (Value, error) {
	raw, err := r.Raw()
	if err != nil {
		return nil, err
	}
	skip := 1 + tagSizes[raw[0]>>5]
	out := make(Value, 0, len(raw)-skip+1)
	out = append(out, raw[0]&0x1F)
	return append(out, raw[skip:]...), nil
}
