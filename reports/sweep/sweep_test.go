package sweep

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

// Wilson score intervals against values computed independently (Python,
// math module) from
// (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964.
func TestWilson(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		{3, 3, 0.438503, 1},
		{0, 10, 0, 0.277533},
		{5, 10, 0.236593, 0.763407},
		{99, 100, 0.945514, 0.998233},
	} {
		iv := Wilson(tc.k, tc.n)
		require.InDelta(t, tc.lo, iv.Low, 1e-5, "%d/%d", tc.k, tc.n)
		require.InDelta(t, tc.hi, iv.Hi, 1e-5, "%d/%d", tc.k, tc.n)
	}
	require.Equal(t, Interval{}, Wilson(0, 0))
}

// Student t: {1,2,3} has mean 2 and s = 1; t(0.975, 2) = 4.302653, so the
// half width is 4.302653/√3 = 2.484138.
func TestMeanCI(t *testing.T) {
	iv := MeanCI([]float64{1, 2, 3})
	require.Equal(t, 3, iv.N)
	require.InDelta(t, 2, iv.Mean, 1e-12)
	require.InDelta(t, 2-2.484138, iv.Low, 1e-5)
	require.InDelta(t, 2+2.484138, iv.Hi, 1e-5)
	one := MeanCI([]float64{7})
	require.Equal(t, Interval{N: 1, Mean: 7, Low: 7, Hi: 7}, one)
}

func TestGrid(t *testing.T) {
	pts := Grid([]Axis{{"a", []string{"1", "2"}}, {"b", []string{"x", "y", "z"}}})
	require.Len(t, pts, 6)
	require.Equal(t, "a=1,b=x", pts[0].Label([]Axis{{Param: "a"}, {Param: "b"}}))
	require.Equal(t, "a=2,b=z", pts[5].Label([]Axis{{Param: "a"}, {Param: "b"}}))
	require.NotEqual(t, Seed(1, "a=1", 0), Seed(1, "a=1", 1))
	require.NotEqual(t, Seed(1, "a=1", 0), Seed(1, "a=2", 0))
	require.Equal(t, Seed(1, "a=1", 0), Seed(1, "a=1", 0))
}

// The aggregate does not depend on the number of workers: one worker and
// two give byte-identical tables.
func TestSweepDeterministic(t *testing.T) {
	f, err := scenarios.OpenFile("mrp-loss")
	require.NoError(t, err)
	run := func(workers int) (string, string) {
		res, err := Execute(Config{File: f, Base: scenarios.Overrides{CI: true}, Reps: 2, Workers: workers,
			Axes: []Axis{{Param: "loss", Values: []string{"5%", "30%"}}}})
		require.NoError(t, err)
		var m, a bytes.Buffer
		require.NoError(t, res.WriteMetrics(&m))
		require.NoError(t, res.WriteAssertions(&a))
		return m.String(), a.String()
	}
	m1, a1 := run(1)
	m2, a2 := run(2)
	require.Equal(t, m1, m2)
	require.Equal(t, a1, a2)
	require.Contains(t, m1, "0,5%,reads.sent,2,")
	require.Contains(t, a1, "1,30%,reads.answered_ratio >= 0.99,2,")
}

func TestSweepBadValue(t *testing.T) {
	f, err := scenarios.OpenFile("mrp-loss")
	require.NoError(t, err)
	_, err = Execute(Config{File: f, Reps: 1, Workers: 1, Axes: []Axis{{Param: "loss", Values: []string{"500"}}}})
	require.ErrorContains(t, err, "point loss=500")
	_, err = Execute(Config{File: f, Reps: 1, Workers: 1, Axes: []Axis{{Param: "nosuch", Values: []string{"1"}}}})
	require.Error(t, err)
}

// Aggregate from records alone (what merge reads back): means and
// intervals per point, aggregate assertions per point they select, and
// the ones whose at clause selects nothing listed apart.
func TestAggregateChecks(t *testing.T) {
	axes := []Axis{{Param: "loss", Values: []string{"0%", "10%"}}}
	rec := func(loss string, ratio float64, holds bool) Record {
		return Record{Parameters: map[string]string{"loss": loss}, Metrics: map[string]float64{"reads.answered_ratio": ratio},
			Assertions: []RecordAssertion{{Text: "reads.answered_ratio >= 0.99", Holds: holds}}}
	}
	recs := []Record{rec("0%", 1, true), rec("0%", 0.98, false), rec("10%", 0.9, false), rec("10%", 0.9, false)}
	var checks []scenarios.AggregateAssertion
	for _, text := range []string{"reads.answered_ratio.mean >= 0.95", "reads.answered_ratio.ci_high <= 0.9 at loss=10%", "reads.answered_ratio.mean >= 0 at loss=5%"} {
		a, err := scenarios.ParseAggregateAssertion(text)
		require.NoError(t, err)
		checks = append(checks, a)
	}
	res, err := Aggregate(axes, 2, recs, checks)
	require.NoError(t, err)
	require.InDelta(t, 0.99, res.Agg[0].Metrics["reads.answered_ratio"].Mean, 1e-12)
	require.Equal(t, 1, res.Agg[0].Assertions[0].Held)
	require.Equal(t, 0, res.Agg[1].Assertions[0].Held)
	require.Len(t, res.Checks, 3)
	require.Equal(t, []bool{true, false, true}, []bool{res.Checks[0].Holds, res.Checks[1].Holds, res.Checks[2].Holds})
	require.InDelta(t, 0.9, res.Checks[2].Observed, 1e-12, "ci_high of two equal values is the value")
	require.Equal(t, 1, res.ChecksFailed())
	require.Len(t, res.Unchecked, 1)
	var b bytes.Buffer
	require.NoError(t, res.WriteChecks(&b))
	require.Equal(t, "point,loss,assertion,observed,holds\n0,0%,reads.answered_ratio.mean >= 0.95,0.99,true\n"+
		"1,10%,reads.answered_ratio.mean >= 0.95,0.9,false\n1,10%,reads.answered_ratio.ci_high <= 0.9 at loss=10%,0.9,true\n", b.String())
	b.Reset()
	require.NoError(t, res.WriteTable(&b, nil))
	require.Contains(t, b.String(), "✗ reads.answered_ratio.mean >= 0.95        holds at 1/2 points; fails at loss=10% (0.9)")
	require.Contains(t, b.String(), "- reads.answered_ratio.mean >= 0 at loss=5% not checked: no point of this grid is at loss=5%")

	_, err = Aggregate(axes, 2, recs[:3], nil)
	require.ErrorContains(t, err, "3 runs for 2 points × 2 reps")
}

// The shards' plans partition the grid, round-robin over the runs.
func TestShardPlans(t *testing.T) {
	p := Plan{Axes: []Axis{{Param: "a", Values: []string{"1", "2", "3"}}}, Reps: 2}
	seen := map[string]int{}
	for i := range 4 {
		sp := NewPlan(p, Shard{Index: i, Count: 4})
		for _, r := range sp.Runs {
			seen[r]++
		}
		if i == 1 {
			require.Equal(t, []string{"0-1", "2-1"}, sp.Runs)
		}
	}
	require.Len(t, seen, 6)
	for r, n := range seen {
		require.Equal(t, 1, n, r)
	}
	require.Len(t, NewPlan(p, Shard{}).Runs, 6)
	for _, bad := range []string{"4/4", "-1/2", "1", "a/b", "0/0"} {
		_, err := ParseShard(bad)
		require.Error(t, err, bad)
	}
}
