package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
)

// A tracked count's samples are the events before each grid instant; the
// grid doubles past MaxSamples and stays aligned; Finish adds the end.
func TestSeriesGrid(t *testing.T) {
	c, err := NewCollector([]string{"all"}, []int{0})
	require.NoError(t, err)
	require.NoError(t, c.Track("mrp.retransmissions", "mrp.retransmissions", "mrp.give_ups{group=all}"))
	var me *MetricError
	require.ErrorAs(t, c.Track("no.such"), &me)
	n := testNodes(t, 1)[0]
	c.Attach(n)
	// One retransmission every 50ms for 60s, the first at 0.
	end := clock.Time(60 * time.Second)
	for at := clock.Time(0); at < end; at += clock.Time(50 * time.Millisecond) {
		n.OnEvent(at, n, &session.Event{Kind: session.EventRetransmit}, false)
	}
	c.Finish(end, 0)
	s := c.Series()
	require.Len(t, s.Metrics, 2, "duplicates count once")
	// 60s of 100ms steps is 600 instants: one doubling, to 200ms.
	require.Equal(t, 200*time.Millisecond, s.Step)
	require.Len(t, s.Times, 301)
	v := s.Get("mrp.retransmissions")
	for k, at := range s.Times {
		// Events before at: one per 50ms from 0 (an event at exactly at
		// comes after the sample); the last sample holds every event.
		want := float64((at + 49*time.Millisecond) / (50 * time.Millisecond))
		if k == len(s.Times)-1 {
			want = 1200
		}
		require.Equal(t, want, v[k], "sample %d at %s", k, at)
	}
	require.Equal(t, 60*time.Second, s.Times[len(s.Times)-1])
	require.Nil(t, s.Get("other"))
	// Tracking after the run started is refused.
	require.True(t, errors.As(c.Track("mrp.acks"), &me))
}

// A long run keeps at most MaxSamples+1 samples.
func TestSeriesBounded(t *testing.T) {
	c, err := NewCollector([]string{"all"}, []int{0})
	require.NoError(t, err)
	require.NoError(t, c.Track("mrp.retransmissions"))
	n := testNodes(t, 1)[0]
	c.Attach(n)
	for at := clock.Time(0); at < clock.Time(24*time.Hour); at += clock.Time(7 * time.Second) {
		n.OnEvent(at, n, &session.Event{Kind: session.EventRetransmit}, false)
	}
	c.Finish(clock.Time(24*time.Hour), 0)
	s := c.Series()
	require.LessOrEqual(t, len(s.Times), MaxSamples+1)
	require.Greater(t, len(s.Times), MaxSamples/2)
	for k := 1; k < len(s.Times)-1; k++ {
		require.Equal(t, s.Step, s.Times[k]-s.Times[k-1])
	}
}

// Distributions resolve by name, with or without a group; their buckets
// add up to the count and span min..max.
func TestDistribution(t *testing.T) {
	name, kind, group, ok := LookupDistribution("read_latency{group=all}")
	require.True(t, ok)
	require.Equal(t, "read_latency", name)
	require.Equal(t, Duration, kind)
	require.Equal(t, "all", group)
	for _, bad := range []string{"read_latency.p99", "reads", "read_latency{group=}", "read_latency{grp=x}"} {
		_, _, _, ok := LookupDistribution(bad)
		require.False(t, ok, bad)
	}
	require.Contains(t, Distributions(), "mrp.transmissions")
	c, err := NewCollector([]string{"all"}, []int{0})
	require.NoError(t, err)
	n := testNodes(t, 1)[0]
	c.Attach(n)
	for _, a := range []int{1, 1, 2, 5} {
		n.OnEvent(0, n, &session.Event{Kind: session.EventAck, Attempt: a}, false)
	}
	h, k, err := c.Distribution("mrp.transmissions{group=all}")
	require.NoError(t, err)
	require.Equal(t, Value, k)
	require.Equal(t, []HistBucket{{1, 1, 2}, {2, 2, 1}, {5, 5, 1}}, h.Buckets())
	_, _, err = c.Distribution("mrp.transmissions{group=none}")
	require.Error(t, err)
}

// Recording events, sampling and compacting the grid included, allocates
// nothing once the metrics are tracked.
func TestSeriesRecordingAllocatesNothing(t *testing.T) {
	c, err := NewCollector([]string{"all"}, []int{0})
	require.NoError(t, err)
	require.NoError(t, c.Track("mrp.retransmissions", "read_latency.p99", "window.unicast.duplicate{group=all}"))
	n := testNodes(t, 1)[0]
	c.Attach(n)
	ev := &session.Event{Kind: session.EventRetransmit}
	at := clock.Time(0)
	allocs := testing.AllocsPerRun(2000, func() {
		n.OnEvent(at, n, ev, false)
		at += clock.Time(77 * time.Millisecond) // 2000 events over 154 s: compacts twice
	})
	require.Zero(t, allocs)
	require.Equal(t, 400*time.Millisecond, c.Series().Step)
}
