package spake2p

import (
	"errors"
	"fmt"
)

// Sentinel errors; wrapped errors keep them matchable with errors.Is.
var (
	ErrInvalidPoint    = errors.New("spake2p: not a valid uncompressed P-256 point")
	ErrIdentityPoint   = errors.New("spake2p: point at infinity")
	ErrInvalidScalar   = errors.New("spake2p: scalar out of range")
	ErrInvalidLength   = errors.New("spake2p: wrong length")
	ErrConfirmation    = errors.New("spake2p: key confirmation mismatch")
	ErrRandomExhausted = errors.New("spake2p: random source keeps yielding scalars out of range")
)

// PasscodeError reports a passcode that spec 5.1.7.1 forbids.
type PasscodeError struct {
	Passcode uint32
	Reason   string
}

func (e *PasscodeError) Error() string {
	return fmt.Sprintf("spake2p: invalid passcode %08d: %s", e.Passcode, e.Reason)
}

// ParamError reports a PBKDF parameter outside its allowed range.
type ParamError struct {
	Param    string // "iterations" or "salt length"
	Value    int
	Min, Max int
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("spake2p: PBKDF %s %d outside %d..%d", e.Param, e.Value, e.Min, e.Max)
}
