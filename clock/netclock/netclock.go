// Package netclock adapts mattersim's virtual time to gVisor's tcpip.Clock,
// so that every simulated netstack reads the simulator's clock and arms its
// timers in the simulator's event queue.
//
// Two rules learned integrating gVisor's stack (pkg/tcpip/stack):
//   - AfterFunc never runs its callback synchronously, even for d <= 0: the
//     stack arms timers while holding its own locks (DAD calls AfterFunc(0)),
//     so a synchronous call would deadlock. The callback is queued at now.
//   - Stop and Reset are lazy: each arming carries a generation number and a
//     stale queue entry is ignored when it falls due. Nothing is removed from
//     the queue.
//
// A Clock is not safe for concurrent use; like the simulator that owns it,
// it lives on one goroutine.
package netclock

import (
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"

	"mattersim/clock"
)

// Epoch is the wall-clock instant reported by Now at virtual time 0. The
// stack only uses Now for receive timestamps; a fixed epoch keeps runs
// reproducible.
var Epoch = time.Unix(0, 0).UTC()

// Scheduler is what a Clock needs from the simulator: the current virtual
// time and a way to queue a timer firing. The simulator calls
// (*Timer).Fire(gen) when the entry falls due, in (time, insertion) order.
type Scheduler interface {
	// Now returns the current virtual time.
	Now() clock.Time
	// ScheduleTimer queues t to fire at at with generation gen. It must not
	// call t.Fire itself.
	ScheduleTimer(at clock.Time, t *Timer, gen uint64)
}

// Clock implements tcpip.Clock on a Scheduler. The zero value is not usable;
// call New. Not safe for concurrent use.
type Clock struct {
	s Scheduler
	// AfterFuncs counts AfterFunc calls, so tests and benchmarks can check
	// that a quiet stack arms no timers.
	AfterFuncs uint64
}

var _ tcpip.Clock = (*Clock)(nil)

// New returns a Clock that reads and schedules through s.
func New(s Scheduler) *Clock { return &Clock{s: s} }

// NowNanoseconds returns the virtual time in nanoseconds since the epoch of
// the run.
func (c *Clock) NowNanoseconds() int64 { return int64(c.s.Now()) }

// Now returns Epoch plus the virtual time.
func (c *Clock) Now() time.Time { return Epoch.Add(time.Duration(c.s.Now())) }

// NowMonotonic returns the virtual time as a monotonic reading.
func (c *Clock) NowMonotonic() tcpip.MonotonicTime {
	return tcpip.MonotonicTime{}.Add(time.Duration(c.s.Now()))
}

// AfterFunc arms a timer that calls f once, d after now (at now if d <= 0).
// f runs later from the simulator loop, never inside AfterFunc.
func (c *Clock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	c.AfterFuncs++
	t := &Timer{c: c, f: f}
	t.Reset(d)
	return t
}

// Timer is a tcpip.Timer in virtual time. Not safe for concurrent use.
type Timer struct {
	c     *Clock
	f     func()
	gen   uint64
	armed bool
}

var _ tcpip.Timer = (*Timer)(nil)

// Stop cancels the pending firing. It reports whether the timer was armed.
func (t *Timer) Stop() bool {
	was := t.armed
	t.armed = false
	t.gen++
	return was
}

// Reset (re)arms the timer to fire d after now, cancelling any pending
// firing. d <= 0 fires at now, after the events already queued for now.
func (t *Timer) Reset(d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.gen++
	t.armed = true
	now := t.c.s.Now()
	t.c.s.ScheduleTimer(now.Add(d), t, t.gen)
}

// Live reports whether an entry queued with gen is still current: Fire(gen)
// would run the callback.
func (t *Timer) Live(gen uint64) bool { return gen == t.gen && t.armed }

// Fire is called by the Scheduler when an entry queued with gen falls due.
// It runs the callback only if gen is the timer's current generation and the
// timer is armed; it reports whether it ran.
func (t *Timer) Fire(gen uint64) bool {
	if gen != t.gen || !t.armed {
		return false
	}
	t.armed = false
	t.f()
	return true
}
