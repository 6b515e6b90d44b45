package netclock

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"

	"mattersim/clock"
)

// fakeSched is a naive scheduler: a list sorted by (at, seq) on every run.
type fakeSched struct {
	now clock.Time
	seq uint64
	q   []entry
}

type entry struct {
	at  clock.Time
	seq uint64
	t   *Timer
	gen uint64
}

func (s *fakeSched) Now() clock.Time { return s.now }
func (s *fakeSched) ScheduleTimer(at clock.Time, t *Timer, gen uint64) {
	s.seq++
	s.q = append(s.q, entry{at, s.seq, t, gen})
}

// run fires every entry due at or before until, in (at, seq) order, and
// returns how many callbacks ran.
func (s *fakeSched) run(until clock.Time) int {
	ran := 0
	for {
		sort.Slice(s.q, func(i, j int) bool {
			if s.q[i].at != s.q[j].at {
				return s.q[i].at < s.q[j].at
			}
			return s.q[i].seq < s.q[j].seq
		})
		if len(s.q) == 0 || s.q[0].at > until {
			s.now = until
			return ran
		}
		e := s.q[0]
		s.q = s.q[1:]
		s.now = e.at
		if e.t.Fire(e.gen) {
			ran++
		}
	}
}

func TestNowAndMonotonic(t *testing.T) {
	s := &fakeSched{now: clock.Time(1500 * time.Millisecond)}
	c := New(s)
	require.Equal(t, int64(1.5e9), c.NowNanoseconds())
	require.Equal(t, Epoch.Add(1500*time.Millisecond), c.Now())
	m0 := c.NowMonotonic()
	s.now += clock.Time(time.Second)
	require.Equal(t, time.Second, c.NowMonotonic().Sub(m0))
	require.Equal(t, tcpip.MonotonicTime{}.Add(2500*time.Millisecond), c.NowMonotonic())
}

func TestAfterFuncNeverSynchronous(t *testing.T) {
	s := &fakeSched{}
	c := New(s)
	ran := false
	c.AfterFunc(0, func() { ran = true })
	require.False(t, ran, "AfterFunc(0) must queue, not call (deadlock in DAD)")
	c.AfterFunc(-time.Second, func() {})
	require.Equal(t, clock.Time(0), s.q[1].at, "negative delay fires at now")
	require.Equal(t, 2, s.run(0))
	require.True(t, ran)
	require.Equal(t, uint64(2), c.AfterFuncs)
}

func TestTimerOrderStopReset(t *testing.T) {
	s := &fakeSched{}
	c := New(s)
	var got []string
	rec := func(name string) func() { return func() { got = append(got, name+"@"+s.now.String()) } }

	a := c.AfterFunc(10*time.Millisecond, rec("a"))
	b := c.AfterFunc(10*time.Millisecond, rec("b")) // same instant: after a
	x := c.AfterFunc(5*time.Millisecond, rec("x"))
	y := c.AfterFunc(20*time.Millisecond, rec("y"))

	require.True(t, x.Stop(), "armed timer: Stop reports true")
	require.False(t, x.Stop(), "second Stop reports false")
	y.Reset(1 * time.Millisecond) // earlier than everything; old entry goes stale
	s.run(clock.Time(15 * time.Millisecond))
	require.Equal(t, []string{"y@0.001000000s", "a@0.010000000s", "b@0.010000000s"}, got)
	require.False(t, a.Stop(), "fired timer: Stop reports false")

	// Reset a fired timer re-arms it; the stale y entry at 20 ms must not fire.
	got = nil
	a.Reset(10 * time.Millisecond) // 25 ms
	s.run(clock.Time(30 * time.Millisecond))
	require.Equal(t, []string{"a@0.025000000s"}, got)

	// Reset of a stopped timer re-arms it.
	got = nil
	x.Reset(0)
	s.run(clock.Time(30 * time.Millisecond))
	require.Equal(t, []string{"x@0.030000000s"}, got)
	_ = b
}

func TestStaleGenerationIgnored(t *testing.T) {
	s := &fakeSched{}
	c := New(s)
	n := 0
	tm := c.AfterFunc(time.Millisecond, func() { n++ }).(*Timer)
	tm.Reset(2 * time.Millisecond)
	tm.Reset(3 * time.Millisecond)
	require.Len(t, s.q, 3)
	require.Equal(t, 1, s.run(clock.Time(time.Second)))
	require.Equal(t, 1, n)
}
