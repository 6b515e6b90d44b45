package metrics

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"mattersim/clock"
)

// Time series of tracked metrics, for plots (reports/plot). A tracked
// metric is sampled on a regular grid of virtual instants 0, Δ, 2Δ, ...:
// the sample at t is the metric's value after every event before t, so
// the difference of two successive samples of a count is exactly the
// number of events in [t, t+Δ). The grid starts at SeriesStep and doubles
// whenever it would hold more than MaxSamples instants (every other sample
// is dropped), so a run of any length keeps at most MaxSamples+1 samples
// and its grid is a function of the run's events alone: the same run
// gives the same series. Finish adds a last sample at the end of the run,
// after its last events.

// SeriesStep is the first sampling step of a series.
const SeriesStep = 100 * time.Millisecond

// MaxSamples bounds the grid's samples; the step doubles past it.
const MaxSamples = 512

// tracker samples the tracked metrics. The zero value tracks nothing.
type tracker struct {
	refs  []tracked
	step  clock.Time
	next  clock.Time
	times []clock.Time
	vals  [][]float64 // [ref][sample]
	final bool        // the last sample is Finish's
}

type tracked struct {
	ref string
	d   Desc
	get func(c *Collector) float64
}

// Track asks the collector to sample the metric references refs (Value's
// syntax) over the run; duplicates count once. Call it before the first
// event. An unknown reference is a *MetricError and tracks nothing.
func (c *Collector) Track(refs ...string) error {
	var add []tracked
	for _, ref := range refs {
		if slices.ContainsFunc(c.tr.refs, func(t tracked) bool { return t.ref == ref }) ||
			slices.ContainsFunc(add, func(t tracked) bool { return t.ref == ref }) {
			continue
		}
		get, d, err := c.resolve(ref)
		if err != nil {
			return err
		}
		add = append(add, tracked{ref, d, get})
	}
	if len(add) == 0 {
		return nil
	}
	if len(c.tr.times) > 0 {
		return &MetricError{add[0].ref, "tracked after the run started"}
	}
	if c.tr.step == 0 {
		c.tr.step = clock.Time(SeriesStep)
		c.tr.times = make([]clock.Time, 0, MaxSamples+1)
	}
	for _, t := range add {
		c.tr.refs = append(c.tr.refs, t)
		c.tr.vals = append(c.tr.vals, make([]float64, 0, MaxSamples+1))
	}
	return nil
}

// resolve returns a function computing ref.
func (c *Collector) resolve(ref string) (func(c *Collector) float64, Desc, error) {
	d, group, ok := Lookup(ref)
	if !ok {
		return nil, Desc{}, &MetricError{ref, "no such metric (or a group label on a metric that has none)"}
	}
	g := getters[d.Name]
	if group == "" {
		if g.overall != nil {
			return g.overall, d, nil
		}
		return func(c *Collector) float64 { return g.grouped(c, &c.tot, -1) }, d, nil
	}
	for i, name := range c.groups {
		if name == group {
			return func(c *Collector) float64 { return g.grouped(c, &c.per[i], i) }, d, nil
		}
	}
	return nil, d, &MetricError{ref, fmt.Sprintf("no node group %q (groups: %s)", group, strings.Join(c.groups, ", "))}
}

// tick samples every grid instant up to now, before the event at now is
// recorded.
func (c *Collector) tick(now clock.Time) {
	t := &c.tr
	for t.step > 0 && !t.final && now >= t.next {
		if len(t.times) == MaxSamples {
			t.compact()
			if now < t.next {
				break
			}
		}
		t.sample(c, t.next)
		t.next += t.step
	}
}

func (t *tracker) sample(c *Collector, at clock.Time) {
	t.times = append(t.times, at)
	for i := range t.refs {
		t.vals[i] = append(t.vals[i], t.refs[i].get(c))
	}
}

// compact keeps the samples at even multiples of the step and doubles it.
func (t *tracker) compact() {
	keep := func(xs []float64) []float64 {
		n := 0
		for i := 0; i < len(xs); i += 2 {
			xs[n] = xs[i]
			n++
		}
		return xs[:n]
	}
	n := 0
	for i := 0; i < len(t.times); i += 2 {
		t.times[n] = t.times[i]
		n++
	}
	t.times = t.times[:n]
	for i := range t.vals {
		t.vals[i] = keep(t.vals[i])
	}
	t.step *= 2
	t.next = t.times[n-1] + t.step
}

// finish records the last sample: the values at the end of the run.
func (t *tracker) finish(c *Collector, now clock.Time) {
	if t.step == 0 || t.final {
		return
	}
	c.tick(now)
	if n := len(t.times); n > 0 && t.times[n-1] == now {
		t.times = t.times[:n-1]
		for i := range t.vals {
			t.vals[i] = t.vals[i][:n-1]
		}
	}
	t.sample(c, now)
	t.final = true
}

// Series is the tracked metrics over virtual time (Track): Times[k] is
// the k-th sample's instant, Metrics[i].Values[k] the value of the i-th
// tracked metric then. A plain value.
type Series struct {
	// Step is the grid's final step (the last sample may be closer).
	Step    time.Duration
	Times   []time.Duration
	Metrics []SeriesMetric
}

// SeriesMetric is one tracked metric's samples.
type SeriesMetric struct {
	Ref    string
	Desc   Desc
	Values []float64
}

// Series returns a copy of the samples so far.
func (c *Collector) Series() Series {
	t := &c.tr
	s := Series{Step: time.Duration(t.step), Times: make([]time.Duration, len(t.times))}
	for i, at := range t.times {
		s.Times[i] = time.Duration(at)
	}
	for i, r := range t.refs {
		s.Metrics = append(s.Metrics, SeriesMetric{Ref: r.ref, Desc: r.d, Values: slices.Clone(t.vals[i])})
	}
	return s
}

// Get returns the samples of ref, or nil.
func (s Series) Get(ref string) []float64 {
	for _, m := range s.Metrics {
		if m.Ref == ref {
			return m.Values
		}
	}
	return nil
}

// LookupDistribution resolves a distribution reference: a distribution's
// name (read_latency, mrp.transmissions), optionally with {group=NAME}.
// It returns the name, the kind of its values (Duration or Value) and the
// group; ok is false for a name that is no distribution or a bad label.
func LookupDistribution(ref string) (name string, kind Kind, group string, ok bool) {
	base, label, hasLabel := strings.Cut(ref, "{")
	dg, found := dists[base]
	if !found {
		return "", 0, "", false
	}
	if hasLabel {
		d, g, ok := Lookup(base + ".count{" + label)
		if !ok || !d.Grouped {
			return "", 0, "", false
		}
		group = g
	}
	return base, dg.kind, group, true
}

// Distributions returns the distribution names, sorted.
func Distributions() []string {
	out := make([]string, 0, len(dists))
	for n := range dists {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Distribution returns a copy of the histogram of the distribution ref
// (LookupDistribution's syntax) and the kind of its values: nanoseconds
// for Duration, plain numbers for Value.
func (c *Collector) Distribution(ref string) (Hist, Kind, error) {
	name, kind, group, ok := LookupDistribution(ref)
	if !ok {
		return Hist{}, 0, &MetricError{ref, "no such distribution (or a bad group label)"}
	}
	s := &c.tot
	if group != "" {
		i := slices.Index(c.groups, group)
		if i < 0 {
			return Hist{}, kind, &MetricError{ref, fmt.Sprintf("no node group %q (groups: %s)", group, strings.Join(c.groups, ", "))}
		}
		s = &c.per[i]
	}
	return dists[name].hist(s).Clone(), kind, nil
}

// HistBucket is one non-empty bucket of a Hist: Count values in [Lo, Hi].
type HistBucket struct {
	Lo, Hi int64
	Count  uint64
}

// Buckets returns the non-empty buckets in increasing order, the first's
// Lo raised to Min and the last's Hi lowered to Max.
func (h *Hist) Buckets() []HistBucket {
	var out []HistBucket
	for i, n := range h.counts {
		if n == 0 {
			continue
		}
		lo, hi := bucketRange(i)
		out = append(out, HistBucket{Lo: int64(lo), Hi: int64(hi), Count: n})
	}
	if len(out) > 0 {
		out[0].Lo = max(out[0].Lo, h.min)
		out[len(out)-1].Hi = min(out[len(out)-1].Hi, h.max)
	}
	return out
}
