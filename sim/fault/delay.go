package fault

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"mattersim/clock"
)

// Dist is the jitter distribution of a Delay stage (netem "distribution").
type Dist uint8

const (
	// Uniform jitter on [delay-jitter, delay+jitter): netem's default
	// when no table is loaded (sch_netem.c tabledist, dist == NULL).
	// Standard deviation jitter/√3.
	Uniform Dist = iota
	// Normal jitter: delay + jitter·Z, Z standard normal (netem's
	// normal.dist table is the inverse normal CDF; we compute it).
	Normal
	// Pareto jitter: delay + jitter·t with t = (4/3)·(X − 1.5), X Pareto
	// with x_m = 1 and α = 3, capped at t = 32767/8192 as iproute2's
	// netem/pareto.c table is (t's mean is −0.0329 and its standard
	// deviation 0.821 after the cap, not 0 and 1).
	Pareto
	// ParetoNormal jitter: t = (Z + 3·t_pareto)/4 taken at the SAME
	// quantile u (iproute2 netem/paretonormal.c builds its table entry i
	// from the normal and Pareto values of one index: the two are
	// comonotonic, not independent).
	ParetoNormal
)

var distNames = [...]string{"uniform", "normal", "pareto", "paretonormal"}

func (d Dist) String() string {
	if int(d) < len(distNames) {
		return distNames[d]
	}
	return "dist(" + strconv.Itoa(int(d)) + ")"
}

// ParseDist maps a netem distribution name to a Dist.
func ParseDist(s string) (Dist, error) {
	for i, n := range distNames {
		if n == s {
			return Dist(i), nil
		}
	}
	return 0, fmt.Errorf("fault: unknown distribution %q (want uniform, normal, pareto or paretonormal)", s)
}

// netem's table cap: entries are s16 scaled by NETEM_DIST_SCALE = 8192.
const tableMax = 32767.0 / 8192

// quantile maps u in (0, 1) to the distribution's standardised value t;
// the delay is then delay + jitter·t.
func (d Dist) quantile(u float64) float64 {
	switch d {
	case Normal:
		return math.Sqrt2 * math.Erfinv(2*u-1)
	case Pareto:
		return paretoT(u)
	case ParetoNormal:
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		return (z + 3*paretoT(u)) / 4
	default:
		return 2*u - 1
	}
}

func paretoT(u float64) float64 {
	t := (4.0 / 3.0) * (math.Pow(1-u, -1.0/3) - 1.5)
	return math.Min(t, tableMax)
}

// Delay is netem's "delay TIME [JITTER [CORRELATION]] [distribution
// DIST] [reorder P [CORRELATION] [gap DISTANCE]]" (sch_netem.c
// netem_enqueue and tabledist). Each packet gets delay + jitter·t with t
// drawn from Dist through netem's correlated uniform (see crand); the
// result is clamped at 0, like a negative netem time_to_send that is
// already due. Independent per-packet delays reorder packets when the
// jitter exceeds their spacing, as in netem since 3.x (tfifo sorted by
// time to send); put a Rate stage after it to keep order.
//
// Reordering, exactly as netem: with Gap = g > 0, a packet is sent at once
// (0 delay) when at least g−1 packets have been delayed since the last
// immediate one and a correlated draw falls within Reorder; every other
// packet is delayed. tc sets gap to 1 when reorder is given without gap;
// so do we. Distributions are computed analytically instead of from
// netem's 4096-entry tables (quantised to 1/8192 of jitter); see Dist.
//
// The zero value passes packets with no delay.
type Delay struct {
	Delay       time.Duration // mean (base) delay
	Jitter      time.Duration // netem's sigma
	Corr        float64       // correlation of successive jitter draws
	Dist        Dist
	Reorder     float64 // probability of sending immediately (needs Gap >= 1)
	ReorderCorr float64
	Gap         int // reorder at most every Gap-th packet; 0 with Reorder > 0 means 1
}

// New returns a fresh stage for one directed link.
func (s Delay) New() Stage {
	d := &delayStage{cfg: s, name: s.String(), delayCor: newCrand(s.Corr), reorderCor: newCrand(s.ReorderCorr),
		reorder: prob32(s.Reorder), gap: s.Gap}
	if s.Reorder > 0 && d.gap <= 0 {
		d.gap = 1
	}
	if s.Reorder <= 0 {
		d.gap = 0
	}
	return d
}

// Validate reports negative times or probabilities outside [0, 1].
func (s Delay) Validate() error {
	if s.Delay < 0 || s.Jitter < 0 {
		return &ParamError{Stage: "delay", Param: "time", Value: float64(min(s.Delay, s.Jitter)), Want: ">= 0"}
	}
	if s.Gap < 0 {
		return &ParamError{Stage: "delay", Param: "gap", Value: float64(s.Gap), Want: ">= 0"}
	}
	if int(s.Dist) >= len(distNames) {
		return &ParamError{Stage: "delay", Param: "distribution", Value: float64(s.Dist), Want: "0..3"}
	}
	return firstErr(checkProb("delay", "correlation", s.Corr), checkProb("reorder", "P", s.Reorder),
		checkProb("reorder", "correlation", s.ReorderCorr))
}

func (s Delay) String() string {
	str := "delay " + s.Delay.String()
	if s.Jitter != 0 {
		str += " " + s.Jitter.String()
		if s.Corr != 0 {
			str += " " + pct(s.Corr)
		}
		str += " distribution " + s.Dist.String()
	}
	if s.Reorder > 0 {
		str += " reorder " + pct(s.Reorder)
		if s.ReorderCorr != 0 {
			str += " " + pct(s.ReorderCorr)
		}
		str += " gap " + strconv.Itoa(max(s.Gap, 1))
	}
	return str
}

// Mean returns the expected delay of the distribution before clamping at
// 0 and without reordering.
func (s Delay) Mean() time.Duration {
	switch s.Dist {
	case Pareto:
		return s.Delay + time.Duration(float64(s.Jitter)*paretoMean)
	case ParetoNormal:
		return s.Delay + time.Duration(float64(s.Jitter)*paretoMean*0.75)
	}
	return s.Delay
}

// Closed forms of the capped Pareto t (see Dist Pareto): X = min(Pareto(1,
// 3), c) with c = 1.5 + 0.75·tableMax; E[X] = 1 + (1 − c⁻²)/2, E[X²] =
// 1 + 2(1 − c⁻¹).
var (
	paretoCap  = 1.5 + 0.75*tableMax
	paretoEX   = 1 + (1-1/(paretoCap*paretoCap))/2
	paretoEX2  = 1 + 2*(1-1/paretoCap)
	paretoMean = (4.0 / 3.0) * (paretoEX - 1.5)
	paretoSD   = (4.0 / 3.0) * math.Sqrt(paretoEX2-paretoEX*paretoEX)
)

type delayStage struct {
	name                 string
	cfg                  Delay
	delayCor, reorderCor crand
	reorder              uint32
	gap                  int
	counter              int
}

func (d *delayStage) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	// sch_netem.c: if (q->gap == 0 || q->counter < q->gap - 1 ||
	// q->reorder < get_crandom(&q->reorder_cor)) delay; else send now.
	if d.gap == 0 || d.counter < d.gap-1 || d.reorder < d.reorderCor.next(rng) {
		d.counter++
		return append(out, Out{P: p, Delay: d.sample(rng)}), Drop{}
	}
	d.counter = 0
	return append(out, Out{P: p}), Drop{}
}

func (d *delayStage) sample(rng *rand.Rand) time.Duration {
	if d.cfg.Jitter == 0 {
		return max(d.cfg.Delay, 0)
	}
	// Midpoint of the u32 cell keeps u strictly inside (0, 1).
	u := (float64(d.delayCor.next(rng)) + 0.5) / (1 << 32)
	v := float64(d.cfg.Delay) + float64(d.cfg.Jitter)*d.cfg.Dist.quantile(u)
	if v <= 0 {
		return 0
	}
	return time.Duration(math.Round(v))
}

func (d *delayStage) String() string { return d.name }

var _ Spec = Delay{}
