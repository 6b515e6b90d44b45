package fault

import (
	"math/rand/v2"
	"strings"

	"mattersim/clock"
)

// LossRandom is netem's "loss random P [C]": each packet is lost with
// probability P, drawn through netem's correlated generator with
// correlation C (sch_netem.c loss_event, CLG_RANDOM). Probabilities are
// fractions: 0.01 is 1%. The zero value loses nothing.
type LossRandom struct {
	P    float64 // loss probability
	Corr float64 // correlation with the previous draw (netem's, see crand)
}

// New returns a fresh stage for one directed link.
func (s LossRandom) New() Stage {
	return &lossRandom{cfg: s, name: s.String(), p: prob32(s.P), c: newCrand(s.Corr)}
}

// Validate reports a probability outside [0, 1].
func (s LossRandom) Validate() error {
	return firstErr(checkProb("loss random", "P", s.P), checkProb("loss random", "correlation", s.Corr))
}

func (s LossRandom) String() string {
	str := "loss random " + pct(s.P)
	if s.Corr != 0 {
		str += " " + pct(s.Corr)
	}
	return str
}

type lossRandom struct {
	cfg  LossRandom
	name string
	p    uint32
	c    crand
}

func (l *lossRandom) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	// sch_netem.c: q->loss && q->loss >= get_crandom(&q->loss_cor).
	if l.p != 0 && l.p >= l.c.next(rng) {
		return out, Drop{Stage: l.String(), Reason: "loss"}
	}
	return append(out, Out{P: p}), Drop{}
}

func (l *lossRandom) String() string { return l.name }

// LossGE is netem's "loss gemodel p [r [1-h [1-k]]]", the Gilbert-Elliott
// two-state model (sch_netem.c loss_gilb_ell; man tc-netem):
//   - P is the probability of going Good → Bad, R of going Bad → Good;
//   - LossBad ("1-h") is the loss probability in the Bad state;
//   - LossGood ("1-k") is the loss probability in the Good state.
//
// For each packet the state's transition is drawn, then the loss, using the
// loss probability of the state the packet found (as netem does: the switch
// case is on the old state). Stationary loss is
// π_B·(1-h) + π_G·(1-k) with π_B = p/(p+r); with 1-h = 1 and 1-k = 0 the
// mean loss burst is 1/r packets.
//
// The zero value never leaves Good and loses nothing. Use GEDefaults for
// netem's defaults when only p (or p and r) are given.
type LossGE struct {
	P        float64 // p: Good → Bad
	R        float64 // r: Bad → Good
	LossBad  float64 // 1-h: loss probability in Bad
	LossGood float64 // 1-k: loss probability in Good
}

// GEDefaults returns the model netem builds from "loss gemodel p": r = 1-p,
// 1-h = 100%, 1-k = 0% (man tc-netem; iproute2 fixed r's default in 2019).
// That is Bernoulli loss with probability p.
func GEDefaults(p float64) LossGE { return LossGE{P: p, R: 1 - p, LossBad: 1} }

// New returns a fresh stage, starting in Good, for one directed link.
func (s LossGE) New() Stage {
	return &lossGE{cfg: s, name: s.String(), a1: prob32(s.P), a2: prob32(s.R), bad: prob32(s.LossBad), good: prob32(s.LossGood)}
}

// Validate reports a probability outside [0, 1].
func (s LossGE) Validate() error {
	const st = "loss gemodel"
	return firstErr(checkProb(st, "p", s.P), checkProb(st, "r", s.R),
		checkProb(st, "1-h", s.LossBad), checkProb(st, "1-k", s.LossGood))
}

func (s LossGE) String() string {
	return "loss gemodel p " + pct(s.P) + " r " + pct(s.R) + " 1-h " + pct(s.LossBad) + " 1-k " + pct(s.LossGood)
}

// StationaryLoss returns the long-run loss rate π_B·(1-h) + π_G·(1-k).
func (s LossGE) StationaryLoss() float64 {
	if s.P+s.R == 0 {
		return s.LossGood // never leaves Good
	}
	pb := s.P / (s.P + s.R)
	return pb*s.LossBad + (1-pb)*s.LossGood
}

type lossGE struct {
	name              string
	cfg               LossGE
	a1, a2, bad, good uint32
	inBad             bool
}

func (l *lossGE) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	// Two draws per packet in both states, as netem: transition, then loss.
	lost := false
	if !l.inBad {
		if below(rng.Uint32(), l.a1) {
			l.inBad = true
		}
		lost = below(rng.Uint32(), l.good)
	} else {
		if below(rng.Uint32(), l.a2) {
			l.inBad = false
		}
		lost = below(rng.Uint32(), l.bad)
	}
	if lost {
		return out, Drop{Stage: l.String(), Reason: "loss"}
	}
	return append(out, Out{P: p}), Drop{}
}

func (l *lossGE) String() string { return l.name }

// LossState is netem's "loss state p13 [p31 [p32 [p23 [p14]]]]", the
// 4-state Markov model of Salsano et al. (sch_netem.c loss_4state; man
// tc-netem):
//   - state 1: good reception (gap period); 1 → 3 with P13, 1 → 4 with P14;
//   - state 2: good reception within a burst; 2 → 3 with P23;
//   - state 3: burst loss; 3 → 1 with P31, 3 → 2 with P32;
//   - state 4: isolated loss; 4 → 1 always.
//
// One draw per packet moves the chain; the packet is lost when the chain
// lands in state 3 or 4. The zero value stays in state 1 (no loss). Use
// StateDefaults for netem's defaults when only p13 is given.
type LossState struct {
	P13, P31, P32, P23, P14 float64
}

// StateDefaults returns what "loss state p13" means in iproute2: p31 =
// 1-p13, p32 = 0, p23 = 100%, p14 = 0, i.e. Bernoulli loss with
// probability p13.
func StateDefaults(p13 float64) LossState {
	return LossState{P13: p13, P31: 1 - p13, P23: 1}
}

// New returns a fresh stage, starting in state 1, for one directed link.
func (s LossState) New() Stage {
	return &lossState{cfg: s, name: s.String(), state: 1,
		a1: uint64(prob32(s.P13)), a2: uint64(prob32(s.P31)), a3: uint64(prob32(s.P32)),
		a4: uint64(prob32(s.P14)), a5: uint64(prob32(s.P23))}
}

// Validate reports a probability outside [0, 1], or outgoing probabilities
// of a state summing to more than 1.
func (s LossState) Validate() error {
	const st = "loss state"
	if err := firstErr(checkProb(st, "p13", s.P13), checkProb(st, "p31", s.P31), checkProb(st, "p32", s.P32),
		checkProb(st, "p23", s.P23), checkProb(st, "p14", s.P14)); err != nil {
		return err
	}
	if s.P13+s.P14 > 1 {
		return &ParamError{Stage: st, Param: "p13+p14", Value: s.P13 + s.P14, Want: "<= 1"}
	}
	if s.P31+s.P32 > 1 {
		return &ParamError{Stage: st, Param: "p31+p32", Value: s.P31 + s.P32, Want: "<= 1"}
	}
	return nil
}

func (s LossState) String() string {
	var b strings.Builder
	b.WriteString("loss state p13 " + pct(s.P13) + " p31 " + pct(s.P31) + " p32 " + pct(s.P32) +
		" p23 " + pct(s.P23) + " p14 " + pct(s.P14))
	return b.String()
}

// StationaryLoss returns π3 + π4 of the chain, from the balance equations
// π1·p13 = π3·p31, π2·p23 = π3·p32, π4 = π1·p14. It returns 0 when state 3
// is absorbing or unreachable in a way the formula cannot express (p31 = 0
// with p13 > 0 means every packet is eventually lost: 1).
func (s LossState) StationaryLoss() float64 {
	if s.P13 == 0 {
		return s.P14 / (1 + s.P14)
	}
	if s.P31 == 0 {
		return 1
	}
	r3 := s.P13 / s.P31 // π3/π1
	r2 := 0.0
	if s.P32 > 0 {
		if s.P23 == 0 {
			return 0 // absorbed in state 2 (good) eventually
		}
		r2 = r3 * s.P32 / s.P23
	}
	pi1 := 1 / (1 + r2 + r3 + s.P14)
	return pi1 * (r3 + s.P14)
}

type lossState struct {
	name               string
	cfg                LossState
	a1, a2, a3, a4, a5 uint64
	state              int8
}

func (l *lossState) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	rnd := uint64(rng.Uint32())
	lost := false
	switch l.state {
	case 1: // good, gap period
		switch {
		case rnd < l.a4:
			l.state, lost = 4, true
		case rnd < l.a1+l.a4:
			l.state, lost = 3, true
		}
	case 2: // good, within a burst
		if rnd < l.a5 {
			l.state, lost = 3, true
		}
	case 3: // burst loss
		switch {
		case rnd < l.a3:
			l.state = 2
		case rnd < l.a2+l.a3:
			l.state = 1
		default:
			lost = true
		}
	case 4: // isolated loss
		l.state = 1
	}
	if lost {
		return out, Drop{Stage: l.String(), Reason: "loss"}
	}
	return append(out, Out{P: p}), Drop{}
}

func (l *lossState) String() string { return l.name }

var (
	_ Spec = LossRandom{}
	_ Spec = LossGE{}
	_ Spec = LossState{}
)
