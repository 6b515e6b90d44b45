// Package clock is mattersim's single notion of time.
//
// A Time is a count of nanoseconds since the epoch of a run: the start of a
// simulation, or the moment a real-time driver started. Session code never
// reads a clock; it is handed a Time with every input (DEVELOPERS.md, house
// style 1 and 2). Drivers own a Clock: the simulator a Virtual one, the real
// UDP adapter a Real one.
package clock

import (
	"math"
	"strconv"
	"time"
)

// Time is nanoseconds since the run's epoch. The zero value is the epoch.
// Times compare with < and ==; durations are plain time.Duration.
type Time int64

// Never is a Time later than any reachable instant: "no deadline".
const Never Time = math.MaxInt64

// Add returns t+d, saturating at Never.
func (t Time) Add(d time.Duration) Time {
	if d > 0 && t > Never-Time(d) {
		return Never
	}
	return t + Time(d)
}

// Sub returns the duration t-u.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Before reports whether t is earlier than u.
func (t Time) Before(u Time) bool { return t < u }

// After reports whether t is later than u.
func (t Time) After(u Time) bool { return t > u }

// Duration returns t as the duration since the epoch.
func (t Time) Duration() time.Duration { return time.Duration(t) }

// String formats t as seconds since the epoch with nanosecond precision,
// e.g. "12.000250000s", so traces sort and diff well.
func (t Time) String() string {
	if t == Never {
		return "never"
	}
	neg := t < 0
	if neg {
		t = -t
	}
	s := strconv.FormatInt(int64(t)/1e9, 10) + "." + pad9(int64(t)%1e9) + "s"
	if neg {
		return "-" + s
	}
	return s
}

func pad9(v int64) string {
	s := strconv.FormatInt(v, 10)
	for len(s) < 9 {
		s = "0" + s
	}
	return s
}

// Clock tells the current time. Implementations say whether they are safe
// for concurrent use.
type Clock interface {
	Now() Time
}

// Virtual is a clock that only moves when told to. Its zero value reads the
// epoch. It is not safe for concurrent use: the simulator owns it.
type Virtual struct {
	now Time
}

// Now returns the virtual time.
func (v *Virtual) Now() Time { return v.now }

// Set moves the clock to t. Moving backwards is a programming error.
func (v *Virtual) Set(t Time) {
	if t < v.now {
		panic("clock: virtual time moved backwards from " + v.now.String() + " to " + t.String())
	}
	v.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (v *Virtual) Advance(d time.Duration) Time {
	v.Set(v.now.Add(d))
	return v.now
}

// Real is the wall clock, read monotonically from the moment it was made.
// It is safe for concurrent use.
type Real struct {
	start time.Time
}

// NewReal returns a real clock whose epoch is now.
func NewReal() *Real { return &Real{start: time.Now()} }

// Now returns the time elapsed since the clock was made.
func (r *Real) Now() Time { return Time(time.Since(r.start)) }

// Epoch returns the wall-clock instant of Time 0, for reports and pcap
// timestamps in real-time mode.
func (r *Real) Epoch() time.Time { return r.start }

// Deadline returns the wall-clock instant of t.
func (r *Real) Deadline(t Time) time.Time { return r.start.Add(time.Duration(t)) }

var (
	_ Clock = (*Virtual)(nil)
	_ Clock = (*Real)(nil)
)
