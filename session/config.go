package session

import (
	"time"

	"mattersim/session/counter"
	"mattersim/session/mrp"
)

// Defaults for the session table (not fixed by the spec; the SDK's
// CHIP_CONFIG_SECURE_SESSION_POOL_SIZE is platform dependent, 16 on Linux).
const (
	DefaultMaxSessions          = 16
	DefaultMaxUnsecuredSessions = 8
	// DefaultMaxExchanges bounds the responder exchanges peers can make us
	// open. The SDK's whole exchange pool is
	// CHIP_CONFIG_MAX_EXCHANGE_CONTEXTS (16); we bound only the exchanges
	// unsolicited messages open, more loosely, so that a simulated device
	// serving many controllers is not limited by it.
	DefaultMaxExchanges = 64
	DefaultWindowSize   = counter.DefaultWindowSize // MSG_COUNTER_WINDOW_SIZE (spec 4.6.5.1)
	MaxWindowSize       = counter.MaxWindowSize     // research extension: the bitmap is 64 bits
)

// Config holds the per-node parameters of a Manager. The zero value is
// valid and means the spec defaults everywhere; every field can be
// overridden so the simulator can sweep it. Config is a plain value.
type Config struct {
	// MRP constants (spec 4.12.8). See mrp.Config for the zero/negative rules.
	MRP mrp.Config
	// Local holds the MRP intervals this node advertises. The core uses
	// them for nothing but Info; handshakes put them in session parameters.
	Local mrp.Intervals
	// MaxSessions bounds the secure sessions (installed and reserved ids).
	// Reserving an id beyond it evicts a session in the SDK's order
	// (ReserveLocalIDFor; connectedhomeip SecureSessionTable
	// DefaultEvictionPolicy), without a CloseSession, as the SDK does.
	// Default 16.
	MaxSessions int
	// MaxUnsecuredSessions bounds the unsecured session table. When it is
	// full, the least recently active entry that is idle (no exchanges, so
	// no pending ack and no retransmission) is recycled; if none is idle
	// the new session is refused: OpenUnsecured returns ErrTableFull and a
	// received message is dropped with EventTableFull (connectedhomeip
	// UnauthenticatedSessionTable.h FindLeastRecentUsedEntry picks only
	// entries nobody holds). Default 8.
	MaxUnsecuredSessions int
	// MaxExchanges bounds the exchanges opened by unsolicited messages
	// (responder exchanges, spec 4.10.5.2) open at once across the
	// Manager, released or not yet; a message that would open one more is
	// dropped with EventTableFull, without an ack. Exchanges we open
	// (NewExchange) are not limited. Default DefaultMaxExchanges.
	MaxExchanges int
	// UnsecuredLinger is how long RetireSession keeps an unsecured session
	// before removing it, so that a peer still retransmitting its last
	// handshake message (our ack was lost) is acked again rather than
	// meeting an unknown session. 0 means the peer's worst-case
	// retransmission span towards us: the sum of the MRP backoffs of
	// MaxTransmissions transmissions at the larger of our Local intervals,
	// with full jitter (spec 4.12.2.1). Negative removes at once.
	UnsecuredLinger time.Duration
	// WindowSize is the reception window width in counters (spec 4.6.5.1,
	// MSG_COUNTER_WINDOW_SIZE, default 32) for every session's window
	// (counter.Window). 0 or negative means the default; sizes other than
	// 32 are a research extension, and values above MaxWindowSize (64) are
	// limited to 64, the width of the window's bitmap.
	WindowSize int
	// UnencryptedInit is how an unencrypted session's reception window
	// starts on its first counter (counter.Init): InitDefault and InitSDK
	// leave the bitmap empty, as the SDK does (matter.js PR #4098: a full
	// bitmap stalls PASE when a duplicated request makes the standalone ack
	// overtake the response); InitSpec sets it to all ones (spec 4.6.5.4).
	UnencryptedInit counter.Init
	// Group holds the group messaging and message counter synchronization
	// parameters (groups.go); the zero value means the defaults.
	Group GroupConfig
}

// normalize fills defaults.
func (c Config) normalize() Config {
	c.MRP = c.MRP.Normalize()
	c.Local = c.Local.Normalize()
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessions > 0xFFFF {
		c.MaxSessions = 0xFFFF
	}
	if c.MaxUnsecuredSessions <= 0 {
		c.MaxUnsecuredSessions = DefaultMaxUnsecuredSessions
	}
	if c.MaxExchanges <= 0 {
		c.MaxExchanges = DefaultMaxExchanges
	}
	if c.UnsecuredLinger == 0 {
		i := max(c.Local.Idle, c.Local.Active)
		for n := range c.MRP.MaxTransmissions {
			c.UnsecuredLinger += c.MRP.Backoff(i, n, 1)
		}
	}

	if c.WindowSize <= 0 {
		c.WindowSize = DefaultWindowSize
	}
	if c.WindowSize > MaxWindowSize {
		c.WindowSize = MaxWindowSize
	}
	if c.UnencryptedInit > counter.InitSDK {
		c.UnencryptedInit = counter.InitDefault
	}
	c.Group = c.Group.normalize()
	return c
}

// windowInit returns the initialisation of new windows of policy p.
func (c *Config) windowInit(p counter.Policy) counter.Init {
	switch p {
	case counter.PolicyUnencrypted:
		return c.UnencryptedInit
	case counter.PolicyGroup:
		return c.Group.WindowInit
	}
	return counter.InitDefault
}
