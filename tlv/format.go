package tlv

import (
	"encoding/hex"
	"io"
	"math"
	"strconv"
)

// Format renders TLV bytes as indented text, one element per line:
//
//	struct {
//	  1: uint8 42
//	  2: utf8 "Hello!"
//	  3: bytes[2] 0a0b
//	  Matter::100000: array [
//	    int16 -300
//	  ]
//	  0xFFF1::0xDEED:1: null
//	}
//
// Tags are written as Tag.String does, anonymous tags are omitted. Integers
// show their encoded width (int8..int64, uint8..uint64); a string whose
// length field is wider than needed shows it ("utf8/len16"). Empty
// containers print on one line ("struct {}"). On error Format returns the
// text rendered so far together with the *DecodeError.
func Format(b []byte) (string, error) {
	out, err := AppendFormat(nil, b)
	return string(out), err
}

// AppendFormat appends Format's text to dst.
func AppendFormat(dst, b []byte) ([]byte, error) {
	var r Reader
	r.Reset(b)
	for {
		err := r.Next()
		if err == io.EOF {
			if r.depth == 0 {
				return dst, nil
			}
			if err := r.Exit(); err != nil {
				return dst, err
			}
			dst = appendIndent(dst, r.depth)
			dst = append(dst, closer(r.kinds[r.depth])...)
			dst = append(dst, '\n')
			continue
		}
		if err != nil {
			return dst, err
		}
		line := appendIndent(dst, r.depth)
		if r.tag.Form != Anonymous {
			line = append(r.tag.appendText(line), ": "...)
		}
		var ferr error
		line, ferr = appendValue(line, &r)
		if ferr != nil {
			return dst, ferr
		}
		dst = line
		if r.typ.IsContainer() {
			if err := r.Enter(); err != nil {
				return dst, err
			}
			// Peek: an empty container closes on the same line.
			cp := r
			if cp.Next() == io.EOF && cp.depth == r.depth {
				dst = append(dst, closer(r.kinds[r.depth-1])...)
				dst = append(dst, '\n')
				r = cp
				if err := r.Exit(); err != nil {
					return dst, err
				}
				continue
			}
		}
		dst = append(dst, '\n')
	}
}

func closer(t Type) string {
	if t == Struct {
		return "}"
	}
	return "]"
}

func appendIndent(b []byte, depth int) []byte {
	for i := 0; i < depth; i++ {
		b = append(b, "  "...)
	}
	return b
}

func appendValue(b []byte, r *Reader) ([]byte, error) {
	switch r.typ {
	case Int:
		b = append(b, "int"...)
		b = strconv.AppendInt(b, int64(8*r.width()), 10)
		b = append(b, ' ')
		return strconv.AppendInt(b, int64(r.val), 10), nil
	case Uint:
		b = append(b, "uint"...)
		b = strconv.AppendInt(b, int64(8*r.width()), 10)
		b = append(b, ' ')
		return strconv.AppendUint(b, r.val, 10), nil
	case Bool:
		return strconv.AppendBool(append(b, "bool "...), r.val == 1), nil
	case Float32:
		return strconv.AppendFloat(append(b, "float32 "...), float64(math.Float32frombits(uint32(r.val))), 'g', -1, 32), nil
	case Float64:
		return strconv.AppendFloat(append(b, "float64 "...), math.Float64frombits(r.val), 'g', -1, 64), nil
	case UTF8:
		s, err := r.String()
		if err != nil {
			return b, err
		}
		b = append(b, "utf8"...)
		b = appendLenWidth(b, r)
		return strconv.AppendQuote(append(b, ' '), s), nil
	case Bytes:
		v, _ := r.Bytes()
		b = append(b, "bytes"...)
		b = appendLenWidth(b, r)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ']')
		if len(v) > 0 {
			b = hex.AppendEncode(append(b, ' '), v)
		}
		return b, nil
	case Null:
		return append(b, "null"...), nil
	case Struct:
		return append(b, "struct {"...), nil
	case Array:
		return append(b, "array ["...), nil
	case List:
		return append(b, "list ["...), nil
	}
	return b, nil
}

// appendLenWidth notes a length field wider than the shortest one.
func appendLenWidth(b []byte, r *Reader) []byte {
	if w := r.width(); w != uintWidth(uint64(r.vlen)) {
		b = append(b, "/len"...)
		b = strconv.AppendInt(b, int64(8*w), 10)
	}
	return b
}
