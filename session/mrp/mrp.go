// Package mrp holds the timing rules of the Message Reliability Protocol
// (Matter Core Specification 4.12): the retransmission backoff of spec
// 4.12.2.1, the transmission limit and the standalone-acknowledgement delay.
// The per-exchange bookkeeping (retransmission entries, pending acks) lives
// in package session, which owns the exchanges.
//
// Everything here is a pure function of its inputs; randomness (the jitter
// draw) is passed in by the caller.
package mrp

import (
	"math"
	"time"
)

// Spec defaults (spec 4.12.8, table "MRP parameters"; connectedhomeip
// src/messaging/ReliableMessageProtocolConfig.h: CHIP_CONFIG_RMP_DEFAULT_MAX_RETRANS 4
// retransmissions = 5 transmissions, CHIP_CONFIG_RMP_DEFAULT_ACK_TIMEOUT 200 ms;
// src/messaging/ReliableMessageMgr.cpp GetBackoff: base 16/10, margin 1127/1024,
// jitter (1024+rand8)/1024, threshold 1).
const (
	DefaultMaxTransmissions     = 5
	DefaultBackoffBase          = 1.6
	DefaultBackoffJitter        = 0.25
	DefaultBackoffMargin        = 1.1
	DefaultBackoffThreshold     = 1
	DefaultStandaloneAckTimeout = 200 * time.Millisecond
)

// Config holds the MRP constants of one node. The zero value means the spec
// defaults: a zero field takes its default. BackoffJitter and
// BackoffThreshold have a meaningful zero, so a negative value selects 0.
// Config is a plain value, safe to copy.
type Config struct {
	// MaxTransmissions counts the first transmission and every retry
	// (MRP_MAX_TRANSMISSIONS, default 5).
	MaxTransmissions int
	// BackoffBase is MRP_BACKOFF_BASE (default 1.6), at least 1.
	BackoffBase float64
	// BackoffJitter is MRP_BACKOFF_JITTER (default 0.25; negative = none).
	BackoffJitter float64
	// BackoffMargin is MRP_BACKOFF_MARGIN (default 1.1).
	BackoffMargin float64
	// BackoffThreshold is MRP_BACKOFF_THRESHOLD (default 1; negative = 0).
	BackoffThreshold int
	// StandaloneAckTimeout is MRP_STANDALONE_ACK_TIMEOUT (default 200 ms).
	StandaloneAckTimeout time.Duration
}

// Normalize returns c with every zero field replaced by its default and the
// negative sentinels turned into zeros.
func (c Config) Normalize() Config {
	if c.MaxTransmissions <= 0 {
		c.MaxTransmissions = DefaultMaxTransmissions
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffBase < 1 {
		c.BackoffBase = 1
	}
	switch {
	case c.BackoffJitter == 0:
		c.BackoffJitter = DefaultBackoffJitter
	case c.BackoffJitter < 0:
		c.BackoffJitter = 0
	}
	if c.BackoffMargin <= 0 {
		c.BackoffMargin = DefaultBackoffMargin
	}
	switch {
	case c.BackoffThreshold == 0:
		c.BackoffThreshold = DefaultBackoffThreshold
	case c.BackoffThreshold < 0:
		c.BackoffThreshold = 0
	}
	if c.StandaloneAckTimeout <= 0 {
		c.StandaloneAckTimeout = DefaultStandaloneAckTimeout
	}
	return c
}

// Backoff returns the retransmission timeout of spec 4.12.2.1 for a message
// already sent n+1 times (n = 0 is the wait after the first transmission):
//
//	t = i · MRP_BACKOFF_MARGIN · MRP_BACKOFF_BASE^max(0, n − MRP_BACKOFF_THRESHOLD) · (1 + r · MRP_BACKOFF_JITTER)
//
// i is the peer's active or idle interval and r a uniform draw in [0, 1).
// c must be normalized. The result is truncated to whole nanoseconds. Unlike
// the SDK (which clamps the exponent at 4 and computes in integer
// milliseconds) this is the spec's real-valued formula; with the default 5
// transmissions the exponent never exceeds 3, so the clamp never matters.
func (c Config) Backoff(i time.Duration, n int, r float64) time.Duration {
	e := n - c.BackoffThreshold
	if e < 0 {
		e = 0
	}
	t := float64(i) * c.BackoffMargin * math.Pow(c.BackoffBase, float64(e)) * (1 + r*c.BackoffJitter)
	if t >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(t)
}

// Intervals are the MRP timing parameters a node advertises (spec 4.12.8,
// session parameters SII/SAI/SAT). The zero value means the spec defaults.
type Intervals struct {
	Idle            time.Duration // SESSION_IDLE_INTERVAL, default 500 ms
	Active          time.Duration // SESSION_ACTIVE_INTERVAL, default 300 ms
	ActiveThreshold time.Duration // SESSION_ACTIVE_THRESHOLD, default 4000 ms
}

// Spec defaults of the session parameters (spec 4.12.8).
const (
	DefaultIdleInterval    = 500 * time.Millisecond
	DefaultActiveInterval  = 300 * time.Millisecond
	DefaultActiveThreshold = 4000 * time.Millisecond
)

// Normalize returns v with zero fields replaced by the spec defaults.
func (v Intervals) Normalize() Intervals {
	if v.Idle <= 0 {
		v.Idle = DefaultIdleInterval
	}
	if v.Active <= 0 {
		v.Active = DefaultActiveInterval
	}
	if v.ActiveThreshold <= 0 {
		v.ActiveThreshold = DefaultActiveThreshold
	}
	return v
}

// Base returns the interval i of the backoff formula for a peer with these
// intervals: the active interval if the peer is in active mode, that is if
// a message was received from it within its active threshold, else the idle
// interval (spec 4.12.2.1, 4.12.8). lastRx is how long ago the last message
// from the peer arrived; heard is false if nothing arrived yet.
func (v Intervals) Base(sinceLastRx time.Duration, heard bool) time.Duration {
	if heard && sinceLastRx < v.ActiveThreshold {
		return v.Active
	}
	return v.Idle
}
