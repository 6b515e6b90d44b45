package scenarios

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAggregateAssertion(t *testing.T) {
	for i, tc := range []struct {
		text  string
		stat  AggStat
		bound float64 // Bound(): reporting unit
		at    string
		err   string
	}{
		{text: "reads.answered_ratio.ci_low >= 0.95", stat: StatCILow, bound: 0.95},                                                 // 1
		{text: "reads.answered_ratio.ci_low >= 95%", stat: StatCILow, bound: 0.95},                                                  // 2: a probability
		{text: "read_latency.p99.mean <= 2s at loss=10%", stat: StatMean, bound: 2, at: "loss=10%"},                                 // 3: seconds
		{text: "read_latency.p99.ci_high < 250ms at loss=0%,burst_r=30%", stat: StatCIHigh, bound: 0.25, at: "loss=0%,burst_r=30%"}, // 4
		{text: "unfinished.mean <= 0.5", stat: StatMean, bound: 0.5},                                                                // 5: a count's mean
		{text: "unfinished.ci_high == 0", stat: StatCIHigh, bound: 0},                                                               // 6
		{text: "reads.answered_ratio >= 0.95", err: "name a statistic after the metric"},                                            // 7
		{text: "reads.answered_ratio.median >= 0.95", err: `unknown statistic "median"`},                                            // 8
		{text: "no.such.mean >= 1", err: "unknown metric"},                                                                          // 9
		{text: "unfinished.mean <= -1", err: "the bound must be a number >= 0"},                                                     // 10
		{text: "read_latency.p99.mean <= 2", err: "is a duration"},                                                                  // 11
		{text: "reads.answered_ratio.mean >= 0.9 at loss", err: "want PARAM=VALUE"},                                                 // 12
		{text: "reads.answered_ratio.mean >= 0.9 at loss=1%,loss=2%", err: "loss given twice"},                                      // 13
		{text: "reads.answered_ratio.mean >= 0.9 when loss=1%", err: "is not an aggregate assertion"},                               // 14
	} {
		a, err := ParseAggregateAssertion(tc.text)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "case %d", i+1)
			continue
		}
		require.NoError(t, err, "case %d", i+1)
		require.Equal(t, tc.stat, a.Stat, "case %d", i+1)
		require.InDelta(t, tc.bound, a.Bound(), 1e-12, "case %d", i+1)
		require.Equal(t, tc.at, a.AtText(), "case %d", i+1)
	}
	a, err := ParseAggregateAssertion("read_latency.p99.mean <= 2s at loss=10%")
	require.NoError(t, err)
	require.True(t, a.Holds(2))
	require.False(t, a.Holds(2.001))
	require.True(t, a.Selects(map[string]string{"loss": "10%", "phase": "5m"}))
	require.False(t, a.Selects(map[string]string{"loss": "0.1"}), "values match as written")
}

// The shipped mrp-loss declares its grid: the range expands, and the
// block comes through Resolve.
func TestShippedSweepBlock(t *testing.T) {
	s, err := Open("mrp-loss", Overrides{CI: true})
	require.NoError(t, err)
	require.Len(t, s.Sweep.Axes, 1)
	require.Equal(t, SweepAxis{Param: "loss", Values: SweepValues{"0%", "10%", "20%", "30%"}}, s.Sweep.Axes[0])
	require.Equal(t, 5, s.Sweep.Reps)
	require.Len(t, s.Sweep.Aggregate, 2)
	require.Equal(t, "loss=10%", s.Sweep.Aggregate[1].AtText())

	s, err = LoadBytes("list.yaml", []byte(`name: l
duration: 10s
nodes: [{name: c, role: controller}, {name: d}]
parameters: {loss: 5%}
faults: [{loss: {p: "${loss}"}}]
sweep:
  axes: [{param: loss, values: [1%, "2%..4%/1%", 0.5]}]
`), Overrides{})
	require.NoError(t, err)
	require.Equal(t, SweepValues{"1%", "2%", "3%", "4%", "0.5"}, s.Sweep.Axes[0].Values)
}

// An aggregate assertion that parses reparses from its Text to the same
// value; nothing panics.
func FuzzParseAggregateAssertion(f *testing.F) {
	for _, s := range []string{"reads.answered_ratio.ci_low >= 0.95", "read_latency.p99.mean <= 2s at loss=10%",
		"unfinished.ci_high <= 0.5 at loss=0%,burst_r=30%", "x.mean == 1", "reads.answered_ratio >= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseAggregateAssertion(text)
		if err != nil {
			return
		}
		b, err := ParseAggregateAssertion(a.Text)
		if err != nil {
			t.Fatalf("%q parsed, its text %q does not: %v", text, a.Text, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: %+v, then %+v", text, a, b)
		}
	})
}
