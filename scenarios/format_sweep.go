package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"

	"mattersim/scenarios/metrics"
)

// Sweep is the grid mattersim sweep runs the scenario over (README
// "Sweeps: mattersim sweep"); mattersim run ignores it.
type Sweep struct {
	// The axes of the grid, in order; the grid is their product, the last
	// axis varying fastest. mattersim sweep --sweep replaces them all.
	Axes []SweepAxis `yaml:"axes"`
	// Repetitions per point, at least 1; mattersim sweep --reps overrides
	// it. Absent: 3.
	Reps int `yaml:"reps" jsonschema:"minimum=1"`
	// Runs in parallel, at least 1; --workers overrides it. Absent: the
	// number of cores.
	Workers int `yaml:"workers" jsonschema:"minimum=1"`
	// Conditions on the aggregate, each METRIC.STAT OP VALUE [at
	// PARAM=VALUE,...]: STAT is mean, ci_low or ci_high (the 95% interval
	// of the mean over the repetitions); the condition must hold at every
	// point of the grid, or at the points with those values (e.g.
	// reads.answered_ratio.ci_low >= 0.95 at loss=10%).
	Aggregate []AggregateAssertion `yaml:"aggregate"`
}

// SweepAxis is one swept parameter.
type SweepAxis struct {
	// The parameter swept: one the scenario declares in parameters.
	Param string `yaml:"param" jsonschema:"required,pattern=^[a-z_][a-z0-9_]*$"`
	// Its values, as after --sweep PARAM=: a string V1,V2,... whose items
	// may be ranges START..END/STEP (0%..45%/5%), or a list of such items.
	Values SweepValues `yaml:"values" jsonschema:"required"`
}

// SweepValues are an axis's values, ranges expanded (ExpandValues).
type SweepValues []string

var sweepValuesType = reflect.TypeFor[SweepValues]()

// decodeSweepValues reads a string or a list of scalars, each expanded
// by ExpandValues.
func (d *decoder) decodeSweepValues(n ast.Node, path string, v reflect.Value) {
	var out SweepValues
	read := func(e ast.Node, p string) {
		e, ok := d.deref(e, p)
		if !ok {
			return
		}
		d.pos[p] = e
		s, note, ok := d.readScalar(e, p, "values (V1,V2,... or START..END/STEP)")
		if !ok {
			return
		}
		if s.kind == kindNull {
			d.errorf(e, p, "want a value, got nothing")
			return
		}
		vs, err := ExpandValues(s.text)
		if err != nil {
			d.errorf(e, p, "%v%s", err, note)
			return
		}
		out = append(out, vs...)
	}
	if seq, ok := n.(*ast.SequenceNode); ok {
		if len(seq.Values) == 0 {
			d.errorf(n, path, "an axis needs at least one value")
		}
		for i, e := range seq.Values {
			read(e, path+"["+strconv.Itoa(i)+"]")
		}
	} else {
		read(n, path)
	}
	v.Set(reflect.ValueOf(out))
}

// UnmarshalYAML reads a string or a list of scalars (no parameters).
func (sv *SweepValues) UnmarshalYAML(n ast.Node) error {
	nodes := []ast.Node{n}
	if seq, ok := n.(*ast.SequenceNode); ok {
		nodes = seq.Values
	}
	*sv = nil
	for _, e := range nodes {
		s, err := plainScalar(e)
		if err != nil {
			return err
		}
		vs, err := ExpandValues(s.text)
		if err != nil {
			return err
		}
		*sv = append(*sv, vs...)
	}
	return nil
}

// JSONSchema describes an axis's values.
func (SweepValues) JSONSchema() *jsonschema.Schema {
	item := &jsonschema.Schema{AnyOf: []*jsonschema.Schema{{Type: "string"}, {Type: "number"}}}
	return &jsonschema.Schema{
		Description: "V1,V2,... (items may be ranges START..END/STEP), or a list of such items",
		AnyOf:       []*jsonschema.Schema{{Type: "string", Examples: []any{"5%,10%,20%", "0%..45%/5%"}}, {Type: "array", Items: item, MinItems: ptr(uint64(1))}},
	}
}

// AggStat is the statistic of a point's metric an aggregate assertion
// compares.
type AggStat uint8

// Statistics.
const (
	StatMean   AggStat = iota // the mean over the repetitions
	StatCILow                 // the low end of its 95% interval
	StatCIHigh                // the high end
)

var aggStatNames = []string{"mean", "ci_low", "ci_high"}

func (s AggStat) String() string { return aggStatNames[s] }

// AggregateAssertion is a condition on the aggregate of a sweep, written
// METRIC.STAT OP VALUE [at PARAM=VALUE,...]:
//
//	reads.answered_ratio.ci_low >= 0.95
//	read_latency.p99.mean <= 2s at loss=10%
//	unfinished.ci_high <= 0.5 at loss=0%,burst_r=30%
//
// METRIC is an overall metric of the catalogue (no {group=...}); VALUE is
// read as in a run's assertions (a probability for a ratio, a duration
// for a duration), except that a count's bound may have a fraction (a
// mean of counts). Without at, it must hold at every point; with at, at
// every point with those values (at least one).
type AggregateAssertion struct {
	// Text is the assertion as written.
	Text string
	Stat AggStat
	// Metric, Op and Value are as in an Assertion (Value in the metric's
	// unit: a fraction, nanoseconds for a duration).
	Metric metrics.Desc
	Op     CompareOp
	Value  float64
	// At are the PARAM=VALUE pairs of the at clause, in order.
	At []AxisValue
}

// AxisValue is one PARAM=VALUE of an at clause.
type AxisValue struct{ Param, Value string }

var aggregateRE = regexp.MustCompile(`^\s*([a-z0-9_.]+)\s*(==|!=|<=|>=|<|>)\s*(\S+)(?:\s+at\s+(\S+))?\s*$`)

const aggregatePattern = `^\s*[a-z0-9_.]+\.(mean|ci_low|ci_high)\s*(==|!=|<=|>=|<|>)\s*\S+(\s+at\s+\S+)?\s*$`

// ParseAggregateAssertion parses an aggregate assertion.
func ParseAggregateAssertion(text string) (AggregateAssertion, error) {
	m := aggregateRE.FindStringSubmatch(text)
	if m == nil {
		return AggregateAssertion{}, fmt.Errorf("%q is not an aggregate assertion (want METRIC.STAT OP VALUE [at PARAM=VALUE,...], e.g. reads.answered_ratio.ci_low >= 0.95 at loss=10%%)", text)
	}
	ref, op, val, at := m[1], m[2], m[3], m[4]
	i := strings.LastIndexByte(ref, '.')
	stat := -1
	if i > 0 {
		for k, n := range aggStatNames {
			if ref[i+1:] == n {
				stat = k
			}
		}
	}
	if stat < 0 {
		if _, _, ok := metrics.Lookup(ref); ok || i < 0 {
			return AggregateAssertion{}, fmt.Errorf("%s: name a statistic after the metric: %s.mean, .ci_low or .ci_high", ref, ref)
		}
		if _, _, ok := metrics.Lookup(ref[:i]); ok {
			return AggregateAssertion{}, fmt.Errorf("%s: unknown statistic %q (want mean, ci_low or ci_high)", ref, ref[i+1:])
		}
		return AggregateAssertion{}, fmt.Errorf("%s: want METRIC.STAT, STAT one of mean, ci_low, ci_high: %w", ref, unknownMetric(ref))
	}
	a := AggregateAssertion{Text: strings.Join(strings.Fields(text), " "), Stat: AggStat(stat)}
	inner, err := ParseAssertion(ref[:i] + " " + op + " " + val)
	if err != nil && inner.Metric.Kind == metrics.Count && inner.Metric.Name != "" {
		f, ferr := strconv.ParseFloat(val, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return a, fmt.Errorf("%s is a count: the bound must be a number >= 0, got %q", inner.Metric.Name, val)
		}
		inner.Value, err = f, nil
	}
	if err != nil {
		return a, err
	}
	a.Metric, a.Op, a.Value = inner.Metric, inner.Op, inner.Value
	if at != "" {
		seen := map[string]bool{}
		for _, kv := range strings.Split(at, ",") {
			p, v, ok := strings.Cut(kv, "=")
			switch {
			case !ok || v == "":
				return a, fmt.Errorf("at %s: want PARAM=VALUE,...", at)
			case !paramNameRE.MatchString(p):
				return a, fmt.Errorf("at %s: %q is not a parameter name", at, p)
			case seen[p]:
				return a, fmt.Errorf("at %s: %s given twice", at, p)
			}
			seen[p] = true
			a.At = append(a.At, AxisValue{p, v})
		}
	}
	return a, nil
}

// Selects reports whether the assertion applies at a point with these
// parameter values: every at pair matches (no at: every point).
func (a AggregateAssertion) Selects(values map[string]string) bool {
	for _, kv := range a.At {
		if values[kv.Param] != kv.Value {
			return false
		}
	}
	return true
}

// AtText writes the at clause's pairs: "loss=10%,burst_r=30%".
func (a AggregateAssertion) AtText() string {
	parts := make([]string, len(a.At))
	for i, kv := range a.At {
		parts[i] = kv.Param + "=" + kv.Value
	}
	return strings.Join(parts, ",")
}

// Bound returns the bound in the reporting unit of the metric (seconds
// for a duration), the unit of the aggregate's values.
func (a AggregateAssertion) Bound() float64 {
	if a.Metric.Kind == metrics.Duration {
		return a.Value / float64(time.Second)
	}
	return a.Value
}

// Holds reports whether observed v (in the reporting unit) satisfies the
// assertion.
func (a AggregateAssertion) Holds(v float64) bool {
	return Assertion{Op: a.Op, Value: a.Bound()}.Holds(v)
}

func (a AggregateAssertion) String() string { return a.Text }

func (a *AggregateAssertion) setScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf("want an aggregate assertion METRIC.STAT OP VALUE [at PARAM=VALUE,...], got %s", s.describe())
	}
	v, err := ParseAggregateAssertion(s.text)
	*a = v
	return err
}

// MarshalText writes the assertion as written.
func (a AggregateAssertion) MarshalText() ([]byte, error) { return []byte(a.Text), nil }

// UnmarshalYAML reads an aggregate assertion scalar.
func (a *AggregateAssertion) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, a) }

// JSONSchema describes an aggregate assertion.
func (AggregateAssertion) JSONSchema() *jsonschema.Schema {
	return schemaString(aggregatePattern, "METRIC.STAT OP VALUE [at PARAM=VALUE,...]: STAT one of mean, ci_low, ci_high",
		"reads.answered_ratio.ci_low >= 0.95", "read_latency.p99.mean <= 2s at loss=10%")
}

// sweep checks the sweep block: axes over declared parameters, each
// swept once, and aggregate assertions whose at clauses name declared
// parameters.
func (c *checker) sweep() {
	first := map[string]int{}
	for i, a := range c.s.Sweep.Axes {
		p := fmt.Sprintf("sweep.axes[%d]", i)
		if _, ok := c.d.params[a.Param]; !ok && a.Param != "" {
			c.errf(p+".param", "the scenario has no parameter %s%s", a.Param, c.d.paramList())
		}
		if j, dup := first[a.Param]; dup {
			c.errf(p+".param", "%s is swept twice (also sweep.axes[%d])", a.Param, j)
		}
		first[a.Param] = i
		if !c.anyBad(p+".values") && len(a.Values) == 0 && c.written(p+".values") {
			c.errf(p+".values", "an axis needs at least one value")
		}
	}
	axes := c.s.Sweep.Axes
	for i, a := range c.s.Sweep.Aggregate {
		p := fmt.Sprintf("sweep.aggregate[%d]", i)
		for _, kv := range a.At {
			j := slices.IndexFunc(axes, func(x SweepAxis) bool { return x.Param == kv.Param })
			switch {
			case j < 0 && len(axes) > 0:
				c.errf(p, "at %s=%s: %s is not an axis of sweep.axes", kv.Param, kv.Value, kv.Param)
			case j < 0:
				if _, ok := c.d.params[kv.Param]; !ok {
					c.errf(p, "at %s=%s: the scenario has no parameter %s%s", kv.Param, kv.Value, kv.Param, c.d.paramList())
				}
			case !slices.Contains(axes[j].Values, kv.Value):
				c.errf(p, "at %s=%s: not a value of sweep.axes[%d] (%s)", kv.Param, kv.Value, j, strings.Join(axes[j].Values, ","))
			}
		}
	}
}
