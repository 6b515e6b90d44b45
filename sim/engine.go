package sim

import (
	"time"

	"mattersim/clock"
	"mattersim/clock/netclock"
	"mattersim/clock/queue"
)

// evKind says what an event does. Events are typed values, not closures, so
// the packet path allocates nothing per event (house style 3).
type evKind uint8

const (
	evTimer    evKind = iota + 1 // obj is *Timer, gen its generation
	evNetTimer                   // obj is *netclock.Timer, gen its generation
	evDeliver                    // data is a frame for node to; gen is the frame ID
	evInject                     // data is a frame entering the switch from node from
	evDrain                      // sockets made readable outside a delivery
)

// Frame flags carried by delivery and injection events.
const (
	flagMulticast uint8 = 1 << iota
	flagInjected
	flagCorrupted
)

// event is one entry of the queue (clock/queue orders it by time, then
// insertion sequence). at repeats the queue's key for dispatch.
type event struct {
	at    clock.Time
	gen   uint64 // timer generation or frame ID
	data  []byte
	obj   any // *Timer or *netclock.Timer
	from  int32
	to    int32
	kind  evKind
	flags uint8
}

// Engine is a single-threaded discrete-event loop on a virtual clock. Events
// run in (time, insertion sequence) order, so two events never tie and
// same-instant events run in the order they were scheduled; a run is a pure
// function of its inputs and seed (house style 3).
//
// The zero value is not usable; call New. An Engine is not safe for
// concurrent use: everything, including network callbacks, runs on the
// goroutine that calls Run.
type Engine struct {
	clk    clock.Virtual
	q      queue.Queue[event]
	done   uint64 // live events processed
	seeds  Seeds
	net    *Network
	trace  *Trace
	tclock *netclock.Clock
}

// New returns an engine at virtual time 0 whose randomness derives from seed.
func New(seed uint64) *Engine {
	e := &Engine{seeds: Seeds{Root: seed}}
	e.tclock = netclock.New(e)
	return e
}

// Now returns the current virtual time.
func (e *Engine) Now() clock.Time { return e.clk.Now() }

// Clock returns the engine's virtual clock, for code that takes a
// clock.Clock. Do not Set it; the loop owns it.
func (e *Engine) Clock() clock.Clock { return &e.clk }

// NetClock returns the gVisor tcpip.Clock on this engine's virtual time.
func (e *Engine) NetClock() *netclock.Clock { return e.tclock }

// Seeds returns the run's seed tree.
func (e *Engine) Seeds() Seeds { return e.seeds }

// Network returns the network attached with NewNetwork, or nil.
func (e *Engine) Network() *Network { return e.net }

// SetTrace attaches a trace writer (nil turns tracing off). Tracing off costs
// one nil check per traced point.
func (e *Engine) SetTrace(t *Trace) { e.trace = t }

// Trace returns the attached trace writer, or nil.
func (e *Engine) Trace() *Trace { return e.trace }

// Processed returns how many live events have run (stale timer entries are
// not counted).
func (e *Engine) Processed() uint64 { return e.done }

// Pending returns the number of queued entries, including stale timer
// entries not yet discarded.
func (e *Engine) Pending() int { return e.q.Len() }

// ScheduleTimer implements netclock.Scheduler.
func (e *Engine) ScheduleTimer(at clock.Time, t *netclock.Timer, gen uint64) {
	e.push(event{at: at, kind: evNetTimer, obj: t, gen: gen})
}

var _ netclock.Scheduler = (*Engine)(nil)

// push queues ev after every event already queued for its instant.
// Scheduling in the past is a programming error: it would break the
// monotonic clock.
func (e *Engine) push(ev event) {
	if ev.at < e.clk.Now() {
		panic("sim: event scheduled in the past at " + ev.at.String() + ", now " + e.clk.Now().String())
	}
	e.q.Push(ev.at, ev)
}

// pop removes and returns the earliest event. The queue must be non-empty.
func (e *Engine) pop() event {
	_, ev := e.q.Pop()
	return ev
}

// Next returns the time of the earliest queued entry (which may be a stale
// timer), or clock.Never when the queue is empty.
func (e *Engine) Next() clock.Time {
	return e.q.Next()
}

// Step runs the earliest live event, discarding stale timer entries on the
// way. It reports false when the queue is empty.
func (e *Engine) Step() bool {
	for e.q.Len() > 0 {
		if e.dispatch(e.pop()) {
			return true
		}
	}
	return false
}

// dispatch advances the clock to ev.at and runs ev, unless ev is a stale
// timer entry; it reports whether the event was live.
func (e *Engine) dispatch(ev event) bool {
	switch ev.kind {
	case evTimer:
		t := ev.obj.(*Timer)
		if ev.gen != t.gen || !t.armed {
			return false // stale: neither counted nor moves the clock
		}
		e.clk.Set(ev.at)
		t.fire()
	case evNetTimer:
		t := ev.obj.(*netclock.Timer)
		if !t.Live(ev.gen) {
			return false
		}
		e.clk.Set(ev.at)
		t.Fire(ev.gen)
	case evDeliver:
		e.clk.Set(ev.at)
		e.net.deliver(&ev)
	case evInject:
		e.clk.Set(ev.at)
		e.net.inject(&ev)
	case evDrain:
		e.clk.Set(ev.at)
		e.net.drainReady()
	default:
		panic("sim: unknown event kind")
	}
	e.done++
	return true
}

// RunUntil runs every event due at or before t, then leaves the clock at t
// (or at the last event time when t is clock.Never). It returns the number of
// live events run.
func (e *Engine) RunUntil(t clock.Time) int {
	n := 0
	for e.q.Len() > 0 && e.q.Next() <= t {
		if e.dispatch(e.pop()) {
			n++
		}
	}
	if t != clock.Never && t > e.clk.Now() {
		e.clk.Set(t)
	}
	return n
}

// StepUntil runs the earliest live event due at or before t, discarding
// stale timer entries on the way, and reports whether one ran. Calling it
// until it reports false runs what RunUntil(t) runs, one event at a time,
// so a caller can stop between any two events (an interrupt).
func (e *Engine) StepUntil(t clock.Time) bool {
	for e.q.Len() > 0 && e.q.Next() <= t {
		if e.dispatch(e.pop()) {
			return true
		}
	}
	return false
}

// RunFor runs for d of virtual time from now; see RunUntil.
func (e *Engine) RunFor(d time.Duration) int { return e.RunUntil(e.clk.Now().Add(d)) }

// RunEvents runs at most n live events and returns how many ran.
func (e *Engine) RunEvents(n int) int {
	i := 0
	for i < n && e.Step() {
		i++
	}
	return i
}

// Run runs until quiescence: no event is left in the queue. It returns the
// number of live events run. A workload that re-arms itself forever never
// quiesces; use RunUntil or RunEvents for those.
func (e *Engine) Run() int {
	n := 0
	for e.Step() {
		n++
	}
	return n
}

// Timer is a cancelable one-shot timer in virtual time, re-armable any number
// of times. Stop and re-arming are lazy: they bump a generation so that the
// old queue entry is skipped when it falls due. The zero value is not usable;
// call Engine.NewTimer. Not safe for concurrent use.
type Timer struct {
	e     *Engine
	f     func(now clock.Time)
	gen   uint64
	at    clock.Time
	armed bool
}

// NewTimer returns a stopped timer that calls f from the event loop when it
// fires. f may re-arm the timer.
func (e *Engine) NewTimer(f func(now clock.Time)) *Timer {
	return &Timer{e: e, f: f, at: clock.Never}
}

// AfterFunc returns a timer armed to call f d after now.
func (e *Engine) AfterFunc(d time.Duration, f func(now clock.Time)) *Timer {
	t := e.NewTimer(f)
	t.Reset(d)
	return t
}

// At calls f at virtual time at (at now if at is in the past). It is for
// scenario scripting and schedules, not the packet path.
func (e *Engine) At(at clock.Time, f func(now clock.Time)) *Timer {
	t := e.NewTimer(f)
	t.Set(at)
	return t
}

// Set arms the timer for instant at, replacing any pending firing. A time in
// the past fires at now (after events already queued for now); clock.Never
// stops the timer.
func (t *Timer) Set(at clock.Time) {
	t.gen++
	if at == clock.Never {
		t.armed = false
		t.at = clock.Never
		return
	}
	if now := t.e.clk.Now(); at < now {
		at = now
	}
	t.armed = true
	t.at = at
	t.e.push(event{at: at, kind: evTimer, obj: t, gen: t.gen})
}

// Reset arms the timer d after now, replacing any pending firing.
func (t *Timer) Reset(d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.Set(t.e.clk.Now().Add(d))
}

// Stop cancels a pending firing and reports whether one was pending.
func (t *Timer) Stop() bool {
	was := t.armed
	t.Set(clock.Never)
	return was
}

// Deadline returns when the timer fires, or clock.Never when it is stopped.
func (t *Timer) Deadline() clock.Time { return t.at }

func (t *Timer) fire() {
	t.armed = false
	t.at = clock.Never
	t.f(t.e.clk.Now())
}
