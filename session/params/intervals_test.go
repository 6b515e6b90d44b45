package params

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session/mrp"
)

// FromIntervals sends SII, SAI and SAT only, with zero intervals taking the
// spec defaults; Intervals reads them back, nil meaning "none sent".
func TestFromIntervalsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out mrp.Intervals
	}{
		{"defaults", mrp.Intervals{}, mrp.Intervals{Idle: 500 * time.Millisecond, Active: 300 * time.Millisecond, ActiveThreshold: 4 * time.Second}},
		{"set", mrp.Intervals{Idle: time.Second, Active: 200 * time.Millisecond, ActiveThreshold: time.Second},
			mrp.Intervals{Idle: time.Second, Active: 200 * time.Millisecond, ActiveThreshold: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := FromIntervals(tc.in)
			for f := IdleInterval; f <= MaxTCPMessageSize; f++ {
				require.Equal(t, f <= ActiveThreshold, p.Has(f), "field %v", f)
			}
			require.Equal(t, tc.out, p.Intervals())
			q, err := Parse(p.Append(nil))
			require.NoError(t, err)
			require.Equal(t, tc.out, q.Intervals())
		})
	}
	var none *Params
	require.Equal(t, mrp.Intervals{}, none.Intervals())
}
