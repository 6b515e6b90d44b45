package counter

import (
	"errors"
	"fmt"
)

// ErrExhausted is returned by Secure.Next once 0xFFFFFFFF has been used: a
// secure session counter never wraps, so the session must be closed and
// re-established (spec 4.6.1-4.6.3; connectedhomeip MessageCounter.h
// CHIP_ERROR_MESSAGE_COUNTER_EXHAUSTED). Match it with errors.Is.
var ErrExhausted = errors.New("counter: secure session message counter exhausted")

// Kind names an outbound counter (spec 4.6.1).
type Kind uint8

// Outbound counter kinds.
const (
	KindUnencrypted  Kind = iota + 1 // global unencrypted, wraps, not persisted
	KindSecure                       // per secure unicast session, never wraps
	KindGroupData                    // global group data (C=0), persisted
	KindGroupControl                 // global group control (C=1, MCSP), persisted
)

var kindNames = [...]string{
	KindUnencrypted:  "unencrypted",
	KindSecure:       "secure",
	KindGroupData:    "group-data",
	KindGroupControl: "group-control",
}

// String returns the kind's name, or "kind(N)".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Unencrypted is the node's global unencrypted message counter (spec
// 4.6.1): random initial value in [1, 2^28] at boot, +1 per message,
// wrapping mod 2^32, never persisted. The zero value starts at 0 (use
// NewUnencrypted for a spec start). Not safe for concurrent use.
type Unencrypted struct {
	next uint32
}

// NewUnencrypted returns a counter with a random initial value drawn from src.
func NewUnencrypted(src Source) *Unencrypted { return &Unencrypted{next: InitialValue(src)} }

// UnencryptedAt returns a counter whose next value is v (research and tests).
func UnencryptedAt(v uint32) *Unencrypted { return &Unencrypted{next: v} }

// Next returns the counter for the next message and advances, wrapping
// 0xFFFFFFFF to 0.
func (c *Unencrypted) Next() uint32 {
	v := c.next
	c.next++
	return v
}

// Peek returns the value Next would return, without advancing.
func (c *Unencrypted) Peek() uint32 { return c.next }

// Secure is a secure unicast session's outbound counter (spec 4.6.1-4.6.3):
// random initial value in [1, 2^28] when the session is created, +1 per new
// message (MRP retransmissions resend the same encrypted bytes, so they do
// not call Next). It never wraps: the value 0xFFFFFFFF is used once, and
// every later Next returns ErrExhausted. The zero value starts at 0 (use
// NewSecure). Not safe for concurrent use.
type Secure struct {
	next      uint32
	exhausted bool
}

// NewSecure returns a session counter with a random initial value from src.
func NewSecure(src Source) *Secure { return &Secure{next: InitialValue(src)} }

// SecureAt returns a session counter whose next value is v, for example
// 0xFFFFFFF0 to study exhaustion.
func SecureAt(v uint32) *Secure { return &Secure{next: v} }

// Next returns the counter for the next message, or ErrExhausted once
// 0xFFFFFFFF has been handed out.
func (c *Secure) Next() (uint32, error) {
	if c.exhausted {
		return 0, ErrExhausted
	}
	v := c.next
	if v == 0xFFFFFFFF {
		c.exhausted = true
	} else {
		c.next++
	}
	return v, nil
}

// Peek returns the value Next would return and whether one is left.
func (c *Secure) Peek() (uint32, bool) { return c.next, !c.exhausted }

// Exhausted reports whether every value has been used.
func (c *Secure) Exhausted() bool { return c.exhausted }
