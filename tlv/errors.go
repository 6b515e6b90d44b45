package tlv

import "fmt"

// Kind classifies a DecodeError. A Kind is itself an error, so callers can
// test the class with errors.Is(err, tlv.KindTruncated).
type Kind uint8

// Decode error kinds.
const (
	KindTruncated       Kind = iota + 1 // a field runs past the end of the input
	KindReservedType                    // element type 0x19..0x1F (spec A.7, element type field)
	KindBadTag                          // tag not allowed here (spec A.6 container rules: array members anonymous, structure members tagged, end-of-container anonymous)
	KindMissingEnd                      // input ends inside a container (no end-of-container)
	KindUnexpectedEnd                   // end-of-container outside any container
	KindTooDeep                         // nesting deeper than Limits.MaxDepth
	KindTooManyElements                 // more elements than Limits.MaxElements
	KindBadUTF8                         // UTF-8 string is not valid UTF-8 (spec A.11.2)
	KindWrongType                       // accessor does not match the element type
	KindOverflow                        // integer does not fit the requested type
	KindState                           // call not valid in the reader's current position
)

var kindNames = [...]string{
	KindTruncated:       "truncated",
	KindReservedType:    "reserved element type",
	KindBadTag:          "tag not allowed here",
	KindMissingEnd:      "missing end-of-container",
	KindUnexpectedEnd:   "unexpected end-of-container",
	KindTooDeep:         "nesting too deep",
	KindTooManyElements: "too many elements",
	KindBadUTF8:         "invalid UTF-8",
	KindWrongType:       "wrong type",
	KindOverflow:        "integer does not fit",
	KindState:           "invalid reader state",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + itoa(uint64(k)) + ")"
}

// Error makes Kind usable as an errors.Is target.
func (k Kind) Error() string { return "tlv: " + k.String() }

// DecodeError reports malformed input or a mismatched access. It is
// returned as *DecodeError; match it with errors.As, or its Kind with
// errors.Is.
type DecodeError struct {
	Offset int    // byte offset in the input where the problem lies
	Tag    Tag    // tag of the element concerned, when known (else anonymous)
	Kind   Kind   // class of failure
	Reason string // human-readable detail; may be empty
}

var _ error = (*DecodeError)(nil)

// Error returns "tlv: offset 12: <reason>".
func (e *DecodeError) Error() string {
	r := e.Reason
	if r == "" {
		r = e.Kind.String()
	}
	if e.Tag.Form != Anonymous {
		return fmt.Sprintf("tlv: offset %d: %s (tag %s)", e.Offset, r, e.Tag)
	}
	return fmt.Sprintf("tlv: offset %d: %s", e.Offset, r)
}

// Unwrap returns the Kind, so errors.Is(err, KindX) works.
func (e *DecodeError) Unwrap() error { return e.Kind }
