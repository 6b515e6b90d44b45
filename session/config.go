package session

import (
	"mattersim/session/mrp"
)

// Defaults for the session table (not fixed by the spec; the SDK's
// CHIP_CONFIG_SECURE_SESSION_POOL_SIZE is platform dependent, 16 on Linux).
const (
	DefaultMaxSessions          = 16
	DefaultMaxUnsecuredSessions = 8
	DefaultWindowSize           = 32 // MSG_COUNTER_WINDOW_SIZE (spec 4.6.5.1)
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
	// Installing one more evicts the least recently active session, which
	// is sent CloseSession (spec 4.13.2.1). Default 16.
	MaxSessions int
	// MaxUnsecuredSessions bounds the unsecured session table; the least
	// recently active entry is recycled. Default 8.
	MaxUnsecuredSessions int
	// WindowSize is the reception window width in counters (spec 4.6.5.1,
	// MSG_COUNTER_WINDOW_SIZE, default 32). Values above 32 are limited to 32:
	// the window is a 32-bit bitmap.
	WindowSize int
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
	if c.WindowSize <= 0 || c.WindowSize > 32 {
		c.WindowSize = DefaultWindowSize
	}
	return c
}
