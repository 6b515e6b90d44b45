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
