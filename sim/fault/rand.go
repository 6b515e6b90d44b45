package fault

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// prob32 converts a probability in [0, 1] to netem's fixed point: a u32
// where 0 is never and MaxUint32 is always (iproute2 tc/q_netem.c
// get_percent: rint(p * UINT32_MAX)). Out-of-range values are clamped.
func prob32(p float64) uint32 {
	switch {
	case !(p > 0): // also NaN
		return 0
	case p >= 1:
		return math.MaxUint32
	}
	return uint32(math.Round(p * math.MaxUint32))
}

// below reports whether a uniform u32 draw r falls under probability a
// (netem's "rnd < a"), treating a = MaxUint32 as certain.
func below(r, a uint32) bool { return a == math.MaxUint32 || r < a }

// crand is netem's correlated uniform generator (sch_netem.c get_crandom):
// next = ((2^32 - rho) * U + rho * last) >> 32 with rho = corr * 2^32.
// With rho = 0 it is a plain uniform u32. The recurrence keeps the mean but
// shrinks the spread of the values, so a correlated "loss random 1% 25%"
// loses fewer than 1% of packets: a known netem property (its man page
// calls the correlated loss generator broken and points to gemodel). We
// keep it because users compare against netem.
//
// The zero value is uncorrelated. Not safe for concurrent use.
type crand struct {
	rho    uint32
	last   uint32
	seeded bool
}

func newCrand(corr float64) crand { return crand{rho: prob32(corr)} }

func (c *crand) next(rng *rand.Rand) uint32 {
	if c.rho == 0 {
		return rng.Uint32()
	}
	if !c.seeded {
		// netem init_crandom seeds last with a random value at setup; we
		// draw it lazily from the link's stream on first use.
		c.last = rng.Uint32()
		c.seeded = true
	}
	v := uint64(rng.Uint32())
	rho := uint64(c.rho) + 1
	ans := uint32((v*((1<<32)-rho) + uint64(c.last)*rho) >> 32)
	c.last = ans
	return ans
}

// pct formats a probability as netem prints percentages: "1%", "0.5%".
func pct(p float64) string {
	return strconv.FormatFloat(p*100, 'g', 6, 64) + "%"
}

// ParamError reports an out-of-range stage parameter.
type ParamError struct {
	Stage string  // e.g. "loss gemodel"
	Param string  // e.g. "p"
	Value float64 // the offending value
	Want  string  // the allowed range, e.g. "[0, 1]"
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("fault: %s: %s = %g, want %s", e.Stage, e.Param, e.Value, e.Want)
}

func checkProb(stage, param string, p float64) error {
	if !(p >= 0 && p <= 1) {
		return &ParamError{Stage: stage, Param: param, Value: p, Want: "[0, 1]"}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
