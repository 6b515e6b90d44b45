package session

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the sending API (house style 11c).
var (
	ErrNoSession      = errors.New("session: no such session")
	ErrNoExchange     = errors.New("session: no such exchange")
	ErrBusy           = errors.New("session: exchange already has an unacknowledged reliable message")
	ErrTooLarge       = errors.New("session: message exceeds the UDP payload limit")
	ErrExhausted      = errors.New("session: message counter exhausted; session closed")
	ErrNoLocalID      = errors.New("session: no free local session id")
	ErrInvalidSession = errors.New("session: invalid secure session parameters")
	ErrExchangeClosed = errors.New("session: exchange is closed")
	ErrTableFull      = errors.New("session: unsecured session table full of sessions in use")
)

// EntropyError reports that the injected random source failed.
type EntropyError struct {
	What string // what was being drawn
	Err  error
}

var _ error = (*EntropyError)(nil)

func (e *EntropyError) Error() string {
	return fmt.Sprintf("session: reading randomness for %s: %v", e.What, e.Err)
}

func (e *EntropyError) Unwrap() error { return e.Err }
