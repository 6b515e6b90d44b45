package fault

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const samples = 200_000

func TestLossRandomRate(t *testing.T) {
	for _, p := range []float64{0, 0.01, 0.1, 0.5, 1} {
		res := run(t, LossRandom{P: p}.New(), samples, 1, []byte{1})
		require.InDelta(t, p, lossRate(res), binomTol(p, samples)+1e-9, "P=%g", p)
	}
}

// Netem's correlation makes successive draws depend on each other: at P=50%
// the marginal stays 50% by symmetry, while P(loss | previous loss) rises.
func TestLossRandomCorrelation(t *testing.T) {
	condLoss := func(corr float64) (rate, cond float64) {
		res := run(t, LossRandom{P: 0.5, Corr: corr}.New(), samples, 2, []byte{1})
		var prevLost, both int
		for i := 1; i < len(res); i++ {
			if res[i-1] == nil {
				prevLost++
				if res[i] == nil {
					both++
				}
			}
		}
		return lossRate(res), float64(both) / float64(prevLost)
	}
	r0, c0 := condLoss(0)
	r1, c1 := condLoss(0.75)
	require.InDelta(t, 0.5, r0, binomTol(0.5, samples))
	require.InDelta(t, 0.5, c0, 0.01)
	require.InDelta(t, 0.5, r1, 0.02)
	require.Greater(t, c1, 0.7, "correlated losses should cluster")
}

func geRuns(res [][]Out) (bursts int, meanBurst float64) {
	run, total := 0, 0
	for _, r := range res {
		if r == nil {
			run++
			continue
		}
		if run > 0 {
			bursts++
			total += run
			run = 0
		}
	}
	return bursts, float64(total) / float64(bursts)
}

func TestLossGE(t *testing.T) {
	cases := []struct {
		name string
		s    LossGE
	}{
		{"gilbert", LossGE{P: 0.01, R: 0.3, LossBad: 1}},
		{"gilbert-elliott", LossGE{P: 0.05, R: 0.2, LossBad: 0.7, LossGood: 0.02}},
		{"bernoulli-defaults", GEDefaults(0.05)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 4 * samples // bursty: more samples for the same precision
			res := run(t, c.s.New(), n, 3, []byte{1})
			want := c.s.StationaryLoss()
			require.InDelta(t, want, lossRate(res), 0.06*want, "stationary loss")
		})
	}
	// With 1-h = 100% and 1-k = 0% the loss bursts are the Bad sojourns:
	// geometric with mean 1/r.
	s := LossGE{P: 0.01, R: 0.3, LossBad: 1}
	res := run(t, s.New(), 4*samples, 4, []byte{1})
	_, mean := geRuns(res)
	require.InDelta(t, 1/s.R, mean, 0.15)
	require.InDelta(t, 0.01/0.31, s.StationaryLoss(), 1e-12)
}

// stationaryByIteration computes the 4-state chain's loss by power
// iteration of its transition matrix: an independent check of the closed
// form.
func stationaryByIteration(s LossState) float64 {
	P := [4][4]float64{
		{1 - s.P13 - s.P14, 0, s.P13, s.P14},
		{0, 1 - s.P23, s.P23, 0},
		{s.P31, s.P32, 1 - s.P31 - s.P32, 0},
		{1, 0, 0, 0},
	}
	pi := [4]float64{1, 0, 0, 0}
	for range 100000 {
		var nx [4]float64
		for i := range 4 {
			for j := range 4 {
				nx[j] += pi[i] * P[i][j]
			}
		}
		pi = nx
	}
	return pi[2] + pi[3]
}

func TestLossState(t *testing.T) {
	cases := []LossState{
		{P13: 0.02, P31: 0.3, P32: 0.2, P23: 0.4, P14: 0.01},
		{P13: 0.05, P31: 0.5, P23: 1},
		{P13: 0.01, P31: 0.1, P32: 0.5, P23: 0.05, P14: 0.03},
		StateDefaults(0.05),
	}
	for _, s := range cases {
		t.Run(s.String(), func(t *testing.T) {
			want := s.StationaryLoss()
			require.InDelta(t, stationaryByIteration(s), want, 1e-9, "closed form vs iteration")
			res := run(t, s.New(), 4*samples, 5, []byte{1})
			require.InDelta(t, want, lossRate(res), 0.06*want)
		})
	}
	require.InDelta(t, 0.05, StateDefaults(0.05).StationaryLoss(), 1e-12)
}

func TestLossValidate(t *testing.T) {
	var pe *ParamError
	require.ErrorAs(t, LossRandom{P: 1.5}.Validate(), &pe)
	require.Equal(t, "P", pe.Param)
	require.ErrorAs(t, LossGE{P: 0.1, R: -0.1}.Validate(), &pe)
	require.Equal(t, "r", pe.Param)
	require.ErrorAs(t, LossState{P13: 0.6, P14: 0.6}.Validate(), &pe)
	require.Equal(t, "p13+p14", pe.Param)
	require.NoError(t, LossState{P13: 0.1, P31: 0.5}.Validate())
	require.NoError(t, GEDefaults(0.2).Validate())
}
