package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// exactQuantile is the naive model: the nearest-rank quantile of sorted.
func exactQuantile(sorted []int64, q float64) float64 {
	if q <= 0 {
		return float64(sorted[0])
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return float64(sorted[min(max(rank, 1), len(sorted))-1])
}

// Property: on random samples of several shapes (uniform small, log-
// uniform over 12 decades, heavy ties), every quantile is within
// HistRelativeError of the exact nearest-rank quantile, and count, min,
// max and mean are exact.
func TestHistQuantilesAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() int64{
		"small":   func() int64 { return rng.Int64N(300) },
		"logunif": func() int64 { return int64(math.Exp(rng.Float64() * math.Log(1e12))) },
		"ties":    func() int64 { return []int64{5, 1_000_000, 2_000_000_000}[rng.IntN(3)] },
		"latency": func() int64 { return int64(1e6 + rng.ExpFloat64()*5e7) },
	}
	for _, name := range []string{"small", "logunif", "ties", "latency"} {
		gen := gens[name]
		for _, n := range []int{1, 2, 7, 100, 10000} {
			var h Hist
			vs := make([]int64, n)
			var sum float64
			for i := range vs {
				vs[i] = gen()
				sum += float64(vs[i])
				h.Record(vs[i])
			}
			slices.Sort(vs)
			require.Equal(t, uint64(n), h.Count())
			require.Equal(t, vs[0], h.Min())
			require.Equal(t, vs[n-1], h.Max())
			require.InDelta(t, sum/float64(n), h.Mean(), 1e-6*math.Abs(sum/float64(n))+1e-9)
			for _, q := range []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(vs, q)
				got := h.Quantile(q)
				require.InDelta(t, want, got, want*HistRelativeError+1e-9, "%s n=%d q=%v", name, n, q)
			}
		}
	}
}

// Every value maps to a bucket whose range holds it; buckets tile the
// integers without gaps.
func TestHistBuckets(t *testing.T) {
	prevHi := int64(-1)
	for i := range histBuckets - 1 {
		lo, hi := bucketRange(i)
		require.Equal(t, uint64(prevHi+1), lo, "bucket %d", i)
		require.Equal(t, i, bucket(lo))
		require.Equal(t, i, bucket(hi))
		require.LessOrEqual(t, float64(hi-lo), float64(lo)*2*HistRelativeError+0.5)
		prevHi = int64(hi)
	}
	require.Equal(t, histBuckets-1, bucket(math.MaxUint64))
	var h Hist
	require.Zero(t, h.Quantile(0.5))
	h.Record(-5)
	require.Equal(t, int64(0), h.Min())
	var m Hist
	m.Merge(&h)
	h.Record(1000)
	m.Merge(&h)
	require.Equal(t, uint64(3), m.Count())
	c := m.Clone()
	c.Record(1)
	require.Equal(t, uint64(3), m.Count())
}

func BenchmarkHistRecord(b *testing.B) {
	var h Hist
	h.Record(0)
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i) * 7919)
	}
}
