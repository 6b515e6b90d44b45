package message

import "fmt"

// Reason classifies a decode failure, so that callers can count drops by
// cause without parsing strings.
type Reason uint8

// Decode failure reasons.
const (
	ReasonTruncated           Reason = iota + 1 // input ends inside a field
	ReasonVersion                               // message flags version != 0 (spec 4.4.1.1)
	ReasonReservedDSIZ                          // DSIZ = 3 (spec 4.4.1.1)
	ReasonReservedSessionType                   // session type 2 or 3 (spec 4.4.1.3)
	ReasonGroupDestOnUnicast                    // DSIZ = 2 with a unicast session type (spec 4.4.1.3)
)

var reasonNames = [...]string{
	ReasonTruncated:           "truncated",
	ReasonVersion:             "unsupported version",
	ReasonReservedDSIZ:        "reserved DSIZ value 3",
	ReasonReservedSessionType: "reserved session type",
	ReasonGroupDestOnUnicast:  "group destination on a unicast session",
}

// String returns a short description of r.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// DecodeError reports malformed header bytes. Field names the header field
// being read, Offset is its byte offset in the input given to the decoder.
type DecodeError struct {
	Field  string
	Offset int
	Reason Reason
}

var _ error = (*DecodeError)(nil)

func (e *DecodeError) Error() string {
	return fmt.Sprintf("message: %s at offset %d: %s", e.Field, e.Offset, e.Reason)
}

func truncated(field string, off int) error {
	return &DecodeError{Field: field, Offset: off, Reason: ReasonTruncated}
}
