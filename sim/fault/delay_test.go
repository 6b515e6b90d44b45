package fault

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func delays(t *testing.T, s Delay, n int, seed uint64) []float64 {
	res := run(t, s.New(), n, seed, []byte{1})
	x := make([]float64, n)
	for i, r := range res {
		require.Len(t, r, 1)
		x[i] = float64(r[0].Delay)
	}
	return x
}

func TestDelayDistributions(t *testing.T) {
	const mu, sigma = 100 * time.Millisecond, 10 * time.Millisecond
	cases := []struct {
		dist     Dist
		mean, sd float64 // in units of sigma, around mu
	}{
		{Uniform, 0, 1 / math.Sqrt(3)},
		{Normal, 0, 1},
		{Pareto, paretoMean, paretoSD},
		{ParetoNormal, 0.75 * paretoMean, -1}, // sd: no closed form checked
	}
	for _, c := range cases {
		t.Run(c.dist.String(), func(t *testing.T) {
			x := delays(t, Delay{Delay: mu, Jitter: sigma, Dist: c.dist}, samples, 6)
			m, sd := meanSD(x)
			// The mean's standard error is sd/√n ≈ 0.0022σ; allow 0.01σ.
			require.InDelta(t, float64(mu)+c.mean*float64(sigma), m, 0.01*float64(sigma), "mean")
			if c.sd > 0 {
				require.InDelta(t, c.sd*float64(sigma), sd, 0.01*float64(sigma), "standard deviation")
			}
			require.InDelta(t, 0, lag1(x), 0.01, "no correlation asked")
		})
	}
	// Closed forms used above, recomputed by numeric integration of the
	// capped Pareto quantile over u.
	var s1, s2 float64
	const steps = 2_000_000
	for i := range steps {
		v := paretoT((float64(i) + 0.5) / steps)
		s1 += v
		s2 += v * v
	}
	s1 /= steps
	require.InDelta(t, paretoMean, s1, 1e-3)
	require.InDelta(t, paretoSD, math.Sqrt(s2/steps-s1*s1), 2e-3)
	require.InDelta(t, -0.0329, paretoMean, 1e-4)
}

func TestDelayUniformBounds(t *testing.T) {
	x := delays(t, Delay{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}, 10000, 7)
	for _, v := range x {
		require.GreaterOrEqual(t, v, float64(30*time.Millisecond))
		require.Less(t, v, float64(70*time.Millisecond))
	}
}

func TestDelayClampsAtZero(t *testing.T) {
	x := delays(t, Delay{Delay: time.Millisecond, Jitter: 10 * time.Millisecond, Dist: Normal}, 10000, 8)
	zeros := 0
	for _, v := range x {
		require.GreaterOrEqual(t, v, 0.0)
		if v == 0 {
			zeros++
		}
	}
	// P(Z < -0.1) ≈ 46%.
	require.InDelta(t, 0.46, float64(zeros)/10000, 0.03)
}

func TestDelayCorrelation(t *testing.T) {
	x := delays(t, Delay{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Corr: 0.75}, samples, 9)
	require.Greater(t, lag1(x), 0.6, "lag-1 autocorrelation should follow rho")
	m, _ := meanSD(x)
	require.InDelta(t, float64(100*time.Millisecond), m, float64(time.Millisecond)*0.2)
}

func TestDelayConstant(t *testing.T) {
	x := delays(t, Delay{Delay: 30 * time.Millisecond}, 100, 10)
	for _, v := range x {
		require.Equal(t, float64(30*time.Millisecond), v)
	}
}

func TestReorder(t *testing.T) {
	immediate := func(s Delay) ([]bool, float64) {
		res := run(t, s.New(), samples, 11, []byte{1})
		imm := make([]bool, len(res))
		k := 0
		for i, r := range res {
			if r[0].Delay == 0 {
				imm[i] = true
				k++
			}
		}
		return imm, float64(k) / float64(len(res))
	}
	// gap 1 (tc's default when only reorder is given): each packet is sent
	// at once with probability P.
	_, f := immediate(Delay{Delay: 10 * time.Millisecond, Reorder: 0.25})
	require.InDelta(t, 0.25, f, binomTol(0.25, samples))
	// gap 5: after an immediate packet, the next 4 are always delayed;
	// then each goes at once with probability P. Renewal cycle length
	// 4 + 1/P, so the fraction is 1/(4 + 1/P) = 1/8.
	imm, f := immediate(Delay{Delay: 10 * time.Millisecond, Reorder: 0.25, Gap: 5})
	require.InDelta(t, 0.125, f, 0.005)
	last := -100
	for i, v := range imm {
		if v {
			require.GreaterOrEqual(t, i-last, 5, "immediate packets at %d and %d closer than gap", last, i)
			last = i
		}
	}
	// No reorder: nothing immediate.
	_, f = immediate(Delay{Delay: 10 * time.Millisecond, Gap: 5})
	require.Zero(t, f)
}

func TestDelayStringAndParse(t *testing.T) {
	require.Equal(t, "delay 100ms 10ms 25% distribution normal reorder 25% 50% gap 5",
		Delay{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Corr: 0.25, Dist: Normal,
			Reorder: 0.25, ReorderCorr: 0.5, Gap: 5}.String())
	require.Equal(t, "delay 10ms reorder 1% gap 1", Delay{Delay: 10 * time.Millisecond, Reorder: 0.01}.String())
	for i, n := range distNames {
		d, err := ParseDist(n)
		require.NoError(t, err)
		require.Equal(t, Dist(i), d)
	}
	_, err := ParseDist("gamma")
	require.Error(t, err)
	var pe *ParamError
	require.ErrorAs(t, Delay{Delay: -1}.Validate(), &pe)
	require.ErrorAs(t, Delay{Reorder: 2}.Validate(), &pe)
}
