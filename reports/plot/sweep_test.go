package plot

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/reports/sweep"
	"mattersim/scenarios"
)

// aggregate builds a sweep result over axes with metric m = f(point) at
// every point (interval ±0.1), as sweep.Execute or a merge of shards
// would.
func aggregate(axes []sweep.Axis, m string, f func(p sweep.Point) float64) *sweep.Result {
	res := &sweep.Result{Axes: axes, Points: sweep.Grid(axes), Reps: 3}
	for _, p := range res.Points {
		v := f(p)
		res.Agg = append(res.Agg, sweep.PointAgg{Point: p, Metrics: map[string]sweep.Interval{m: {N: 3, Mean: v, Low: v - 0.1, Hi: v + 0.1}}})
	}
	return res
}

func loadTiny(t *testing.T) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load("testdata/tiny-plots.yaml", scenarios.Overrides{})
	require.NoError(t, err)
	return s
}

// The declared sweep figure is drawn against its x parameter, one line
// per value of the other axes; the same aggregate gives the same bytes;
// the run's other figures are listed as not drawn.
func TestSweepFigures(t *testing.T) {
	s := loadTiny(t)
	axes := []sweep.Axis{{Param: "loss", Values: []string{"0%", "10%", "20%"}}, {Param: "seed_hint", Values: []string{"a", "b"}}}
	res := aggregate(axes, "reads.answered_ratio", func(p sweep.Point) float64 { return float64(p.Index) / 10 })
	a, err := Sweep(s, res)
	require.NoError(t, err)
	b, err := Sweep(s, res)
	require.NoError(t, err)
	require.Len(t, a.Figures, 1)
	f := a.Figures[0]
	require.Equal(t, "answered-vs-loss", f.Name)
	require.False(t, f.NoData)
	require.Equal(t, string(f.SVG), string(b.Figures[0].SVG))
	require.Equal(t, f.PNG, b.Figures[0].PNG)
	svg := string(f.SVG)
	for _, want := range []string{"loss (%)", "reads.answered_ratio (seed_hint=a)", "reads.answered_ratio (seed_hint=b)"} {
		require.Contains(t, svg, want)
	}
	require.Len(t, a.Skipped, 5, "the run's figures")
}

// A sweep that does not vary the figure's x says so in the figure; a
// scenario without sweep plots gets one per assertion metric, against the
// first axis, which may be nominal.
func TestSweepNoDataAndDefaults(t *testing.T) {
	s := loadTiny(t)
	axes := []sweep.Axis{{Param: "method", Values: []string{"pase", "keys"}}}
	res := aggregate(axes, "reads.answered_ratio", func(sweep.Point) float64 { return 1 })
	set, err := Sweep(s, res)
	require.NoError(t, err)
	require.True(t, set.Figures[0].NoData)
	require.Contains(t, string(set.Figures[0].SVG), "the sweep does not vary loss")

	s.Plots = nil
	set, err = Sweep(s, res)
	require.NoError(t, err)
	require.Len(t, set.Figures, 1)
	require.Equal(t, "sweep-reads_answered_ratio", set.Figures[0].Name)
	require.Contains(t, string(set.Figures[0].SVG), "pase")
	require.Empty(t, set.Skipped)
}

func TestXAxis(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		xs      []float64
		unit    string
		nominal bool
	}{
		{[]string{"1", "2.5"}, []float64{1, 2.5}, "", false},
		{[]string{"5%", "40%"}, []float64{5, 40}, "%", false},
		{[]string{"100ms", "2s"}, []float64{0.1, 2}, "s", false},
		{[]string{"5%", "0.4"}, []float64{0, 1}, "", true},
		{[]string{"pase", "keys"}, []float64{0, 1}, "", true},
	} {
		xs, unit, nominal := xAxis(tc.in)
		require.Equal(t, tc.xs, xs, "%v", tc.in)
		require.Equal(t, tc.unit, unit, "%v", tc.in)
		require.Equal(t, tc.nominal, nominal, "%v", tc.in)
	}
}
