package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"

	"mattersim/scenarios/metrics"
)

// CompareOp is an assertion's comparison.
type CompareOp uint8

// Comparisons.
const (
	OpEQ CompareOp = iota + 1
	OpNE
	OpLT
	OpLE
	OpGT
	OpGE
)

var compareNames = [...]string{"", "==", "!=", "<", "<=", ">", ">="}

func (o CompareOp) String() string {
	if int(o) < len(compareNames) {
		return compareNames[o]
	}
	return "?"
}

// Assertion is one condition on a run's metrics, written METRIC OP VALUE:
//
//	replays.accepted == 0
//	reads.answered_ratio >= 0.999        (or 99.9%)
//	read_latency.p99 <= 2s
//	reads.answered_ratio{group=lights} >= 0.99
//
// METRIC is a name of the catalogue (package scenarios/metrics, table in
// docs/scenario-metrics.md), optionally with a node-group label; OP one of
// == != < <= > >=; VALUE a number for counts and values, a probability
// (fraction or percentage) for ratios, a duration with a unit for
// durations.
type Assertion struct {
	// Text is the assertion as written (after parameter substitution).
	Text string
	// Metric is the catalogue entry; Group the node group of a
	// {group=NAME} label, or "".
	Metric metrics.Desc
	Group  string
	Op     CompareOp
	// Value is the bound in the metric's unit: a count, a fraction for a
	// ratio, nanoseconds for a duration.
	Value float64
}

var assertionRE = regexp.MustCompile(`^\s*([a-z0-9_.]+(\{[^}]*\})?)\s*(==|!=|<=|>=|<|>)\s*(\S+)\s*$`)

// assertionPattern is the schema's rough shape of an assertion (the loader
// checks names and values).
const assertionPattern = `^\s*[a-z0-9_.]+(\{group=[a-z][a-z0-9_-]*\})?\s*(==|!=|<=|>=|<|>)\s*\S+\s*$`

// ParseAssertion parses an assertion and checks its metric and bound
// (whether a {group=NAME} exists is the loader's check).
func ParseAssertion(text string) (Assertion, error) {
	m := assertionRE.FindStringSubmatch(text)
	if m == nil {
		return Assertion{}, fmt.Errorf("%q is not an assertion (want METRIC OP VALUE, e.g. reads.answered_ratio >= 0.999; OP is one of == != < <= > >=)", text)
	}
	ref, op, val := m[1], m[3], m[4]
	d, group, ok := metrics.Lookup(ref)
	if !ok {
		return Assertion{}, unknownMetric(ref)
	}
	a := Assertion{Text: strings.TrimSpace(text), Metric: d, Group: group}
	for i, n := range compareNames {
		if n == op {
			a.Op = CompareOp(i)
		}
	}
	switch d.Kind {
	case metrics.Count:
		v, err := strconv.ParseUint(val, 10, 63)
		if err != nil {
			return a, fmt.Errorf("%s is a count: the bound must be a whole number, got %q", d.Name, val)
		}
		a.Value = float64(v)
	case metrics.Ratio:
		p, err := ParseProbability(val)
		if err != nil {
			return a, fmt.Errorf("%s is a ratio: %v", d.Name, err)
		}
		a.Value = float64(p)
	case metrics.Duration:
		dur, err := ParseDuration(val)
		if err != nil {
			return a, fmt.Errorf("%s is a duration: %v", d.Name, err)
		}
		a.Value = float64(dur)
	default:
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return a, fmt.Errorf("%s is a number: the bound must be a number, got %q", d.Name, val)
		}
		a.Value = f
	}
	return a, nil
}

// unknownMetric explains a reference Lookup refused.
func unknownMetric(ref string) error {
	name, label, hasLabel := strings.Cut(ref, "{")
	if hasLabel {
		if d, _, ok := metrics.Lookup(name); ok {
			if !d.Grouped {
				return fmt.Errorf("metric %s has no per-group value (drop the {%s)", name, label)
			}
			return fmt.Errorf("bad label {%s in %q (want {group=NAME})", label, ref)
		}
	}
	for _, f := range metrics.DistributionFields {
		if _, _, ok := metrics.Lookup(name + "." + f); ok {
			return fmt.Errorf("%s is a distribution: name a field, e.g. %s.p99 (fields: %s)", name, name, strings.Join(metrics.DistributionFields, ", "))
		}
	}
	hint := ""
	if s := closestMetric(name); s != "" {
		hint = fmt.Sprintf("; did you mean %s?", s)
	}
	return fmt.Errorf("unknown metric %q (see docs/scenario-metrics.md%s)", name, hint)
}

func closestMetric(name string) string {
	best, bestD := "", 4
	for _, d := range metrics.Names() {
		if dist := editDistance(name, d.Name); dist < bestD {
			best, bestD = d.Name, dist
		}
	}
	return best
}

// Holds reports whether observed v (in the metric's unit, see Value)
// satisfies the assertion.
func (a Assertion) Holds(v float64) bool {
	switch a.Op {
	case OpEQ:
		return v == a.Value
	case OpNE:
		return v != a.Value
	case OpLT:
		return v < a.Value
	case OpLE:
		return v <= a.Value
	case OpGT:
		return v > a.Value
	case OpGE:
		return v >= a.Value
	}
	return false
}

// Ref returns the metric reference, with its group label if any.
func (a Assertion) Ref() string {
	if a.Group != "" {
		return a.Metric.Name + "{group=" + a.Group + "}"
	}
	return a.Metric.Name
}

func (a Assertion) String() string { return a.Text }

func (a *Assertion) setScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf("want an assertion METRIC OP VALUE, got %s", s.describe())
	}
	v, err := ParseAssertion(s.text)
	*a = v
	return err
}

// MarshalText writes the assertion as written.
func (a Assertion) MarshalText() ([]byte, error) { return []byte(a.Text), nil }

// UnmarshalYAML reads an assertion scalar.
func (a *Assertion) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, a) }

// JSONSchema describes an assertion.
func (Assertion) JSONSchema() *jsonschema.Schema {
	return schemaString(assertionPattern, "METRIC OP VALUE: a metric of the catalogue (docs/scenario-metrics.md), optionally {group=NAME}; OP one of == != < <= > >=",
		"reads.answered_ratio >= 0.999", "read_latency.p99 <= 2s", "replays.accepted == 0")
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Verdict is an assertion checked against a run's metrics. Observed and
// Bound are in the metric's reporting unit (metrics.Collector.Value:
// counts, fractions for ratios, seconds for durations).
type Verdict struct {
	Assertion Assertion
	Observed  float64
	Bound     float64
	Holds     bool
}

// Unit names the unit of Observed and Bound: "count", "ratio",
// "seconds" or "value".
func (v Verdict) Unit() string {
	if v.Assertion.Metric.Kind == metrics.Duration {
		return "seconds"
	}
	return v.Assertion.Metric.Kind.String()
}

// Evaluate checks every assertion of the scenario on the collector's
// metrics, in file order.
func (s *Scenario) Evaluate(c *metrics.Collector) ([]Verdict, error) {
	out := make([]Verdict, 0, len(s.Assertions))
	for _, a := range s.Assertions {
		v, _, err := c.Value(a.Ref())
		if err != nil {
			return nil, err
		}
		vd := Verdict{Assertion: a, Observed: v, Bound: a.Value}
		cmp := v
		if a.Metric.Kind == metrics.Duration {
			// Value reports seconds; the bound is in nanoseconds.
			vd.Bound = a.Value / float64(time.Second)
			cmp = math.Round(v * float64(time.Second))
		}
		vd.Holds = a.Holds(cmp)
		out = append(out, vd)
	}
	return out, nil
}

// FormatValue writes a metric value of kind k for people: counts whole,
// ratios as fractions, durations with a unit.
func FormatValue(k metrics.Kind, v float64) string {
	switch k {
	case metrics.Count:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case metrics.Duration:
		return round(time.Duration(math.Round(v * float64(time.Second)))).String()
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
