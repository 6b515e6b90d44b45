package im

import (
	"io"

	"mattersim/tlv"
)

// cmdFields is the decoded CommandFields of a server-side command: the
// context-tagged members of the structure, each with the reader
// positioned on it. Unknown tags are ignored (spec 7.19.2.2 forward
// compatibility).
type cmdFields map[uint8][]byte

// parseFields splits a CommandFields structure into its context members
// (raw, each re-tagged anonymous). An absent Value is an empty structure.
func parseFields(v Value) (cmdFields, bool) {
	out := cmdFields{}
	if v == nil {
		return out, true
	}
	r := tlv.NewReader(v)
	if err := r.Next(); err != nil || r.Type() != tlv.Struct {
		return nil, false
	}
	if err := r.Enter(); err != nil {
		return nil, false
	}
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false
		}
		t := r.Tag()
		val, err := rawValue(r)
		if err != nil {
			return nil, false
		}
		if t.Form == tlv.Context {
			out[uint8(t.Number)] = val
		}
	}
	if err := r.Exit(); err != nil {
		return nil, false
	}
	return out, true
}

func (f cmdFields) reader(n uint8) *tlv.Reader {
	v, ok := f[n]
	if !ok {
		return nil
	}
	r := tlv.NewReader(v)
	if r.Next() != nil {
		return nil
	}
	return r
}

func (f cmdFields) uint(n uint8) (uint64, bool) {
	r := f.reader(n)
	if r == nil {
		return 0, false
	}
	v, err := r.Uint()
	return v, err == nil
}

func (f cmdFields) bytes(n uint8) ([]byte, bool) {
	r := f.reader(n)
	if r == nil {
		return nil, false
	}
	b, err := r.Bytes()
	if err != nil {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func (f cmdFields) str(n uint8) (string, bool) {
	r := f.reader(n)
	if r == nil {
		return "", false
	}
	s, err := r.String()
	return string([]byte(s)), err == nil
}

func (f cmdFields) has(n uint8) bool { _, ok := f[n]; return ok }

// respStruct encodes response command fields with fn writing the members.
func respStruct(fn func(w *tlv.Writer)) Value {
	return NewValue(func(w *tlv.Writer) {
		w.StartStruct(tlv.AnonymousTag())
		fn(w)
		w.EndContainer()
	})
}
