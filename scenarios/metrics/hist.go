package metrics

import (
	"math"
	"math/bits"
)

// histBits is the number of mantissa bits of Hist buckets: 2^histBits
// buckets per power of two.
const histBits = 7

// HistRelativeError bounds the relative error of a Hist quantile: the
// reported value is the midpoint of the bucket holding the exact
// (nearest-rank) quantile, and a bucket is at most 2^-histBits of its lower
// bound wide, so |reported - exact| <= exact * 2^-(histBits+1) (0.39%).
// Values below 2^histBits (128) are exact.
const HistRelativeError = 1.0 / (1 << (histBits + 1))

// histMaxShift bounds the range: values at or above 2^48 (2^48 ns is 3.3
// days) share the top bucket, where the error bound no longer holds
// (quantiles there are clamped to Max; count, sum, min and max stay exact).
const histMaxShift = 40

const histBuckets = (histMaxShift + 2) << histBits

// Hist is a log-linear histogram of non-negative integers (nanoseconds,
// transmission counts) with a bounded relative error (HistRelativeError)
// and exact count, sum, min and max. Record costs a few instructions and
// never allocates once the buckets exist (the first Record allocates them,
// ~43 KiB). It is a plain value except for its bucket slice: copy with
// Clone. The zero value is empty and usable. Not safe for concurrent use.
type Hist struct {
	counts   []uint64
	n        uint64
	sum      float64
	min, max int64
}

// bucket returns v's bucket index: v itself below 2^(histBits+1); above,
// the top histBits+1 bits of v after shifting by shift, offset by shift
// blocks of 2^histBits.
func bucket(v uint64) int {
	if v < 2<<histBits {
		return int(v)
	}
	shift := bits.Len64(v) - histBits - 1
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return shift<<histBits + int(v>>uint(shift))
}

// bucketRange returns the values [lo, hi] of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2<<histBits {
		return uint64(i), uint64(i)
	}
	shift := i>>histBits - 1
	m := uint64(i - shift<<histBits)
	lo = m << uint(shift)
	return lo, lo + 1<<uint(shift) - 1
}

// Record adds one value; a negative one counts as 0.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	h.counts[bucket(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count returns the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Min and Max return the extreme values (0 when empty).
func (h *Hist) Min() int64 { return h.min }

// Max returns the largest value recorded (0 when empty).
func (h *Hist) Max() int64 { return h.max }

// Mean returns the exact mean (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the nearest-rank q-quantile (q in [0, 1]): within
// HistRelativeError of the smallest recorded value v such that at least
// ceil(q·Count) values are <= v, clamped to [Min, Max]; 0 when empty.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	if !(q > 0) {
		return float64(h.min)
	}
	if q >= 1 {
		return float64(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := float64(lo) + float64(hi-lo)/2
			return min(max(mid, float64(h.min)), float64(h.max))
		}
	}
	return float64(h.max)
}

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Clone returns a deep copy of h.
func (h *Hist) Clone() Hist {
	c := *h
	if h.counts != nil {
		c.counts = append([]uint64(nil), h.counts...)
	}
	return c
}
