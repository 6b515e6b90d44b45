// Package sweep runs a scenario over a grid of parameter values, with
// repetitions per point, and aggregates the results: per point and
// metric the mean with a 95% Student t confidence interval, per point and
// assertion the pass rate with a 95% Wilson interval.
//
// Each run is a single-threaded, deterministic simulation; runs go in
// parallel on Workers goroutines, and every result is stored by its index,
// so the output does not depend on the number of workers or on scheduling.
// The seed of repetition r of point k is derived from the scenario's seed,
// the point's parameter values and r (Seed), so adding a point or a
// repetition does not change the others.
package sweep

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// Axis is one swept parameter and its values, in order.
type Axis struct {
	Param  string
	Values []string
}

// Point is one combination of axis values (in axis order).
type Point struct {
	Index  int
	Values map[string]string
}

// Label names the point: "loss=10%,timeout=400ms".
func (p Point) Label(axes []Axis) string {
	parts := make([]string, len(axes))
	for i, a := range axes {
		parts[i] = a.Param + "=" + p.Values[a.Param]
	}
	return strings.Join(parts, ",")
}

// Grid returns the cartesian product of the axes, the last axis varying
// fastest.
func Grid(axes []Axis) []Point {
	pts := []Point{{Values: map[string]string{}}}
	for _, a := range axes {
		var next []Point
		for _, p := range pts {
			for _, v := range a.Values {
				m := make(map[string]string, len(p.Values)+1)
				for k, x := range p.Values {
					m[k] = x
				}
				m[a.Param] = v
				next = append(next, Point{Values: m})
			}
		}
		pts = next
	}
	for i := range pts {
		pts[i].Index = i
	}
	return pts
}

// Seed derives the seed of repetition rep of the point labelled label from
// the scenario's seed: the first 8 bytes of SHA-256(seed, label, rep).
func Seed(base uint64, label string, rep int) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], base)
	h.Write(b[:])
	h.Write([]byte(label))
	binary.LittleEndian.PutUint64(b[:], uint64(rep))
	h.Write(b[:])
	return binary.LittleEndian.Uint64(h.Sum(nil)[:8])
}

// Config is a sweep.
type Config struct {
	File    *scenarios.File
	Base    scenarios.Overrides // --set, --ci, --force; Seed replaces the file's base seed
	Axes    []Axis
	Reps    int   // repetitions per point, at least 1
	Workers int   // parallel runs, at least 1
	Shard   Shard // the slice of the runs to execute; the zero value is all of them
	// Checks are the aggregate assertions, evaluated on the aggregate
	// (Result.Checks; those whose at clause selects no point of the grid
	// go to Result.Unchecked).
	Checks  []scenarios.AggregateAssertion
	Version string
	// WriteRun, when set, is handed each run as soon as its JSON is made
	// (from the worker's goroutine, so concurrently for different runs),
	// and the run's JSON is then dropped from the Result: a sweep of many
	// runs holds only their records.
	WriteRun  func(r *Run) error
	OnRunDone func(done, total int)
}

// Run is one finished run: its metrics.json (JSON) and the record read
// back from it, which is all the aggregate uses (the resolved scenario
// and the collector are dropped once the JSON is written, so a sweep of
// many runs holds only their reports).
type Run struct {
	Point, Rep int
	Seed       uint64
	JSON       []byte
	Record     Record
	Err        error
}

// Dir names the run's directory under runs/: POINT-REP.
func (r Run) Dir() string { return RunName(r.Point, r.Rep) }

// RunName names run rep of point k: "k-rep", its directory under runs/.
func RunName(point, rep int) string { return fmt.Sprintf("%d-%d", point, rep) }

// Result is a finished sweep: the runs executed (every run of the grid,
// or a shard's), by (point, rep), and for a whole grid the aggregate.
type Result struct {
	Axes   []Axis
	Points []Point
	Reps   int
	Runs   []Run      // the executed runs, point-major
	Agg    []PointAgg // nil for a shard: merge aggregates
	// Checks are the verdicts of the aggregate assertions, by assertion
	// and then by point.
	Checks []CheckVerdict
	// Unchecked are the aggregate assertions whose at clause selects no
	// point of this grid (--sweep replaced the file's axes).
	Unchecked []scenarios.AggregateAssertion
}

// Execute runs the sweep, or the runs of c.Shard.
func Execute(c Config) (*Result, error) {
	if c.Reps < 1 {
		return nil, fmt.Errorf("sweep: reps %d: at least 1", c.Reps)
	}
	if c.Workers < 1 {
		return nil, fmt.Errorf("sweep: workers %d: at least 1", c.Workers)
	}
	if err := c.Shard.check(); err != nil {
		return nil, err
	}
	pts := Grid(c.Axes)
	if n := len(pts) * c.Reps; n > MaxRuns {
		return nil, fmt.Errorf("sweep: %d points × %d reps is more than %d runs", len(pts), c.Reps, MaxRuns)
	}
	res := &Result{Axes: c.Axes, Points: pts, Reps: c.Reps}
	// Resolve every point first: a bad value fails the sweep (every shard
	// alike) before anything runs. A run's scenario differs from its
	// point's only in the seed; it is resolved when the run starts, so a
	// large sweep does not hold every run's scenario at once.
	ovs := make([]scenarios.Overrides, len(pts))
	for k, p := range pts {
		ov := c.Base
		ov.Set = make(map[string]string, len(c.Base.Set)+len(p.Values))
		for n, v := range c.Base.Set {
			ov.Set[n] = v
		}
		for n, v := range p.Values {
			ov.Set[n] = v
		}
		s0, err := c.File.Resolve(ov)
		if err != nil {
			return nil, fmt.Errorf("sweep: point %s: %w", p.Label(c.Axes), err)
		}
		ovs[k] = ov
		for r := range c.Reps {
			if c.Shard.Owns(k*c.Reps + r) {
				res.Runs = append(res.Runs, Run{Point: k, Rep: r, Seed: Seed(s0.Seed, p.Label(c.Axes), r)})
			}
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range c.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				run := &res.Runs[i]
				ov := ovs[run.Point]
				ov.Seed = &run.Seed
				sc, err := c.File.Resolve(ov)
				var sum scenarios.Summary
				var vs []scenarios.Verdict
				if err == nil {
					sum, vs, err = runOne(sc)
				}
				if err == nil {
					run.JSON, err = runJSON(run, sc, sum, vs, c.Version)
				}
				if err == nil {
					run.Record, err = ReadRecord(run.JSON)
				}
				if err == nil && c.WriteRun != nil {
					err = c.WriteRun(run)
					run.JSON = nil
				}
				run.Err = err
				if c.OnRunDone != nil {
					mu.Lock()
					done++
					c.OnRunDone(done, len(res.Runs))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range res.Runs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i := range res.Runs {
		if err := res.Runs[i].Err; err != nil {
			r := &res.Runs[i]
			return nil, fmt.Errorf("sweep: point %s rep %d: %w", pts[r.Point].Label(c.Axes), r.Rep, err)
		}
	}
	if c.Shard.Whole() {
		recs := make([]Record, len(res.Runs))
		for i, r := range res.Runs {
			recs[i] = r.Record
		}
		agg, err := Aggregate(c.Axes, c.Reps, recs, c.Checks)
		if err != nil {
			return nil, err
		}
		res.Agg, res.Checks, res.Unchecked = agg.Agg, agg.Checks, agg.Unchecked
	}
	return res, nil
}

func runOne(s *scenarios.Scenario) (scenarios.Summary, []scenarios.Verdict, error) {
	d, err := scenarios.NewNet(s, scenarios.RunConfig{})
	if err != nil {
		return scenarios.Summary{}, nil, err
	}
	sum, err := d.Run()
	if err != nil {
		return sum, nil, err
	}
	vs, err := s.Evaluate(d.Metrics)
	return sum, vs, err
}

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	N       int
	Mean    float64
	Low, Hi float64
}

// MeanCI returns the mean of xs and its 95% Student t interval
// (mean ± t(0.975, n-1) · s/√n); with one value the interval is the value.
func MeanCI(xs []float64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(n)
	if n == 1 {
		return Interval{N: 1, Mean: mean, Low: mean, Hi: mean}
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	h := t * sd / math.Sqrt(float64(n))
	return Interval{N: n, Mean: mean, Low: mean - h, Hi: mean + h}
}

// Wilson returns the proportion k/n and its 95% Wilson score interval.
func Wilson(k, n int) Interval {
	if n == 0 {
		return Interval{}
	}
	const z = 1.959963984540054 // 97.5% normal quantile
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return Interval{N: n, Mean: p, Low: max(0, centre-half), Hi: min(1, centre+half)}
}

// PointAgg is the aggregate of one point.
type PointAgg struct {
	Point      Point
	Metrics    map[string]Interval // overall value of every catalogue metric
	Assertions []AssertionAgg
}

// AssertionAgg is one assertion's pass rate at a point.
type AssertionAgg struct {
	Text string
	Pass Interval // Wilson
	Held int
}

// Aggregate builds the result of a whole grid from the records of its
// runs, one per (point, rep), in point-major order: what sweep computes
// after running, and what merge computes from the runs' metrics.json read
// back, so the two write the same bytes.
func Aggregate(axes []Axis, reps int, recs []Record, checks []scenarios.AggregateAssertion) (*Result, error) {
	pts := Grid(axes)
	if len(recs) != len(pts)*reps {
		return nil, fmt.Errorf("sweep: %d runs for %d points × %d reps", len(recs), len(pts), reps)
	}
	res := &Result{Axes: axes, Points: pts, Reps: reps, Agg: make([]PointAgg, len(pts))}
	for k, p := range pts {
		runs := recs[k*reps : (k+1)*reps]
		vals := map[string][]float64{}
		for _, r := range runs {
			for name, v := range r.Metrics {
				vals[name] = append(vals[name], v)
			}
		}
		agg := PointAgg{Point: p, Metrics: make(map[string]Interval, len(vals))}
		for name, xs := range vals {
			agg.Metrics[name] = clip(name, MeanCI(xs))
		}
		for ai, v := range runs[0].Assertions {
			held := 0
			for _, r := range runs {
				if len(r.Assertions) != len(runs[0].Assertions) || r.Assertions[ai].Text != v.Text {
					return nil, fmt.Errorf("sweep: point %d: runs disagree on the assertions", k)
				}
				if r.Assertions[ai].Holds {
					held++
				}
			}
			agg.Assertions = append(agg.Assertions, AssertionAgg{Text: v.Text, Held: held, Pass: Wilson(held, len(runs))})
		}
		res.Agg[k] = agg
	}
	for _, a := range checks {
		n := len(res.Checks)
		for _, pa := range res.Agg {
			if !a.Selects(pa.Point.Values) {
				continue
			}
			iv, ok := pa.Metrics[a.Metric.Name]
			if !ok {
				return nil, fmt.Errorf("sweep: %s: point %d has no metric %s", a.Text, pa.Point.Index, a.Metric.Name)
			}
			obs := [...]float64{iv.Mean, iv.Low, iv.Hi}[a.Stat]
			res.Checks = append(res.Checks, CheckVerdict{Assertion: a, Point: pa.Point.Index, Observed: obs, Holds: a.Holds(obs)})
		}
		if len(res.Checks) == n {
			res.Unchecked = append(res.Unchecked, a)
		}
	}
	return res, nil
}

// MaxRuns bounds the runs of one sweep.
const MaxRuns = 1_000_000

// CheckVerdict is an aggregate assertion checked at one point.
type CheckVerdict struct {
	Assertion scenarios.AggregateAssertion
	Point     int
	Observed  float64 // the statistic, in the metric's reporting unit
	Holds     bool
}

// MetricNames returns the catalogue's names, sorted (the rows of the
// aggregate table).
func MetricNames() []string {
	var names []string
	for _, d := range metrics.Names() {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return names
}

// clip keeps an interval inside its metric's range: counts and durations
// are never negative, ratios lie in [0, 1] (a t interval over few runs
// can reach past them).
func clip(name string, iv Interval) Interval {
	d, _, ok := metrics.Lookup(name)
	if !ok {
		return iv
	}
	switch d.Kind {
	case metrics.Ratio:
		iv.Low, iv.Hi = max(iv.Low, 0), min(iv.Hi, 1)
	case metrics.Count, metrics.Duration:
		iv.Low = max(iv.Low, 0)
	}
	return iv
}
