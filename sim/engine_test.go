package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

func ms(n int) clock.Time { return clock.Time(time.Duration(n) * time.Millisecond) }

func TestSameInstantRunsInInsertionOrder(t *testing.T) {
	e := New(1)
	var got []int
	for i := range 50 {
		// Alternate two instants; within an instant, insertion order wins.
		at := ms(10)
		if i%2 == 1 {
			at = ms(5)
		}
		e.At(at, func(clock.Time) { got = append(got, i) })
	}
	require.Equal(t, 50, e.Run())
	var want []int
	for i := 1; i < 50; i += 2 {
		want = append(want, i)
	}
	for i := 0; i < 50; i += 2 {
		want = append(want, i)
	}
	require.Equal(t, want, got)
	require.Equal(t, ms(10), e.Now())
}

func TestHeapMatchesSortedModel(t *testing.T) {
	// Property: for random times, the engine's order equals a stable sort by
	// time of the insertion order.
	e := New(7)
	rng := e.Seeds().Stream(NoNode, "test")
	type rec struct {
		at  clock.Time
		idx int
	}
	var want, got []rec
	for i := range 2000 {
		at := clock.Time(rng.IntN(100))
		want = append(want, rec{at, i})
		e.At(at, func(now clock.Time) { got = append(got, rec{now, i}) })
	}
	e.Run()
	// stable sort of want by at
	for i := 1; i < len(want); i++ {
		for j := i; j > 0 && want[j].at < want[j-1].at; j-- {
			want[j], want[j-1] = want[j-1], want[j]
		}
	}
	require.Equal(t, want, got)
}

func TestTimerStopResetSet(t *testing.T) {
	e := New(1)
	var fired []clock.Time
	tm := e.NewTimer(func(now clock.Time) { fired = append(fired, now) })
	require.Equal(t, clock.Never, tm.Deadline())
	require.False(t, tm.Stop())

	tm.Reset(10 * time.Millisecond)
	require.Equal(t, ms(10), tm.Deadline())
	tm.Reset(20 * time.Millisecond) // replaces; 10 ms entry goes stale
	require.Equal(t, 2, e.Pending())
	require.Equal(t, 1, e.Run(), "stale entries are skipped, not counted")
	require.Equal(t, []clock.Time{ms(20)}, fired)
	require.Equal(t, clock.Never, tm.Deadline())

	tm.Set(ms(30))
	require.True(t, tm.Stop())
	require.Equal(t, 0, e.Run())
	require.Equal(t, ms(20), e.Now(), "a stale entry neither counts nor moves the clock")

	tm.Set(ms(5)) // in the past: fires now
	e.Run()
	require.Equal(t, []clock.Time{ms(20), ms(20)}, fired, "a past instant fires at now")
}

func TestTimerRearmFromCallback(t *testing.T) {
	e := New(1)
	n := 0
	var tm *Timer
	tm = e.NewTimer(func(now clock.Time) {
		n++
		if n < 5 {
			tm.Reset(time.Second)
		}
	})
	tm.Reset(time.Second)
	require.Equal(t, 5, e.Run())
	require.Equal(t, clock.Time(5*time.Second), e.Now())
}

func TestRunVariants(t *testing.T) {
	e := New(1)
	for i := 1; i <= 10; i++ {
		e.At(ms(i), func(clock.Time) {})
	}
	require.Equal(t, 3, e.RunUntil(ms(3)))
	require.Equal(t, ms(3), e.Now())
	require.Equal(t, 0, e.RunUntil(ms(3)), "already run")
	require.Equal(t, 2, e.RunEvents(2))
	require.Equal(t, ms(5), e.Now())
	require.Equal(t, 1, e.RunFor(1500*time.Microsecond))
	require.Equal(t, ms(6)+clock.Time(500*time.Microsecond), e.Now())
	require.Equal(t, 4, e.Run())
	require.Equal(t, ms(10), e.Now())
	require.False(t, e.Step())
	require.Equal(t, uint64(10), e.Processed())
	require.Equal(t, clock.Never, e.Next())
	require.Equal(t, 0, e.RunUntil(clock.Never))
	require.Equal(t, ms(10), e.Now(), "RunUntil(Never) leaves the clock at the last event")
}

func TestSchedulingInThePastPanics(t *testing.T) {
	e := New(1)
	e.RunUntil(ms(10))
	require.Panics(t, func() { e.push(event{at: ms(5), kind: evTimer}) })
}

func TestNetClockTimersShareTheQueue(t *testing.T) {
	// gVisor timers and simulator timers interleave in one (time, seq) order.
	e := New(1)
	var got []string
	e.At(ms(1), func(clock.Time) { got = append(got, "sim1") })
	e.NetClock().AfterFunc(time.Millisecond, func() { got = append(got, "net1") })
	e.NetClock().AfterFunc(0, func() { got = append(got, "net0") })
	x := e.NetClock().AfterFunc(time.Millisecond, func() { got = append(got, "stopped") })
	require.True(t, x.Stop())
	e.Run()
	require.Equal(t, []string{"net0", "sim1", "net1"}, got)
	require.Equal(t, int64(ms(1)), e.NetClock().NowNanoseconds())
}

func TestSeedsStreamsIndependent(t *testing.T) {
	s := Seeds{Root: 42}
	a1 := s.Stream(3, "mrp").Uint64()
	// Creating other streams first does not shift this one.
	_ = s.Stream(4, "mrp").Uint64()
	_ = s.Stream(3, "loss").Uint64()
	require.Equal(t, a1, s.Stream(3, "mrp").Uint64())
	require.NotEqual(t, a1, s.Stream(4, "mrp").Uint64())
	require.NotEqual(t, a1, s.Stream(3, "loss").Uint64())
	require.NotEqual(t, a1, Seeds{Root: 43}.Stream(3, "mrp").Uint64())
	require.NotEqual(t, s.Stream(NoNode, "x").Uint64(), s.Stream(0, "x").Uint64())
	var b1, b2 [32]byte
	s.ChaCha8(1, "key").Read(b1[:])
	s.ChaCha8(1, "key").Read(b2[:])
	require.Equal(t, b1, b2)
}
