package scenarios

import (
	"math/rand/v2"
	"slices"

	"mattersim/clock"
	"mattersim/sim"
	"mattersim/sim/fault"
)

// faultPlan applies a scenario's faults to the switch's directed links.
// Faults cover link sets and switch on and off on their schedules; a link
// runs the stages of every fault in force on it, in file order, and gets
// fresh stages (a Gilbert-Elliott model back in Good, an empty rate queue)
// when that set changes, never otherwise.
//
// It is one Spec installed on every link (Network.SetLinkSpec(-1, -1)):
// each link's stage finds its set from the frames it carries (their From
// and To), and looks again only when the plan's epoch moved, so a frame
// costs one comparison on top of its stages. Links are never enumerated:
// a fault on "every link" of 100,000 nodes costs nothing until a frame
// crosses a link.
type faultPlan struct {
	faults []planFault
	active []bool
	epoch  uint64
}

type planFault struct {
	spec     fault.Spec
	from, to []bool // nil: every node
	both     bool
}

func (f *planFault) covers(from, to int) bool {
	in := func(set []bool, i int) bool { return set == nil || (i >= 0 && i < len(set) && set[i]) }
	return (in(f.from, from) && in(f.to, to)) || (f.both && in(f.from, to) && in(f.to, from))
}

// newFaultPlan compiles the scenario's faults; selectors were checked by
// the loader.
func newFaultPlan(s *Scenario) (*faultPlan, error) {
	n := s.NodeCount()
	set := func(sels Selectors) ([]bool, error) {
		if len(sels) == 0 {
			return nil, nil
		}
		ix, err := s.Select(sels)
		if err != nil {
			return nil, err
		}
		b := make([]bool, n)
		for _, i := range ix {
			b[i] = true
		}
		return b, nil
	}
	p := &faultPlan{active: make([]bool, len(s.Faults))}
	for i := range s.Faults {
		f := &s.Faults[i]
		from, err := set(f.Links.From)
		if err != nil {
			return nil, err
		}
		to, err := set(f.Links.To)
		if err != nil {
			return nil, err
		}
		p.faults = append(p.faults, planFault{spec: f.Spec(), from: from, to: to, both: f.Links.Both})
	}
	return p, nil
}

// install puts the plan on every link of sn and schedules the faults'
// starts and ends on its engine: those at 0 are in force at once.
func (p *faultPlan) install(sn *sim.Network, s *Scenario) {
	if len(p.faults) == 0 {
		return
	}
	e := sn.Engine()
	for i := range s.Faults {
		start, end, open := s.Faults[i].Active()
		if start == 0 {
			p.active[i] = true
		} else {
			e.At(clock.Time(start), func(clock.Time) { p.set(i, true) })
		}
		if !open {
			e.At(clock.Time(end), func(clock.Time) { p.set(i, false) })
		}
	}
	sn.SetLinkSpec(-1, -1, planSpec{p})
}

func (p *faultPlan) set(i int, on bool) {
	if p.active[i] != on {
		p.active[i] = on
		p.epoch++
	}
}

// planSpec builds one link's planStage.
type planSpec struct{ p *faultPlan }

func (s planSpec) New() fault.Stage { return &planStage{p: s.p, epoch: ^uint64(0)} }
func (s planSpec) String() string   { return "scenario faults" }

// planStage is one directed link's stages under the plan.
type planStage struct {
	p     *faultPlan
	epoch uint64
	set   []int // faults in force on the link, in file order
	inner fault.Stage
}

// Apply runs p through the link's stages, rebuilding them first when the
// set of faults in force on the link changed.
func (st *planStage) Apply(now clock.Time, p fault.Packet, rng *rand.Rand, out []fault.Out) ([]fault.Out, fault.Drop) {
	if st.epoch != st.p.epoch {
		st.epoch = st.p.epoch
		var set []int
		for i := range st.p.faults {
			if st.p.active[i] && st.p.faults[i].covers(p.From, p.To) {
				set = append(set, i)
			}
		}
		if !slices.Equal(set, st.set) || (st.inner == nil && len(set) > 0) {
			st.set = set
			st.inner = nil
			switch len(set) {
			case 0:
			case 1:
				st.inner = st.p.faults[set[0]].spec.New()
			default:
				specs := make(fault.Specs, len(set))
				for j, i := range set {
					specs[j] = st.p.faults[i].spec
				}
				st.inner = specs.New()
			}
		}
	}
	if st.inner == nil {
		return append(out, fault.Out{P: p}), fault.Drop{}
	}
	return st.inner.Apply(now, p, rng, out)
}

func (st *planStage) String() string {
	if st.inner == nil {
		return "pass"
	}
	return st.inner.String()
}
