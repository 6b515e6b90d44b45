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
)

// The value types of the scenario format. Each reads one YAML scalar
// (setScalar, shared by the loader and by UnmarshalYAML, goccy/go-yaml's
// NodeUnmarshaler), prints back in the same notation (String) and
// describes itself to the JSON Schema (JSONSchema, invopop/jsonschema).
//
// Conventions, one for the whole format (README "Scenarios"):
//   - durations carry a unit (Go syntax: 400ms, 1.5s, 2m, 1h30m); 0 needs
//     none; never negative;
//   - sizes carry a unit, SI or IEC (64B, 1.5kB, 1KiB, 2MiB); 0 needs none;
//   - bit rates carry a unit as in tc (250kbit, 1Mbit, 1Gbit, 64Kibit);
//   - a probability is a bare number, a fraction in [0, 1] (0.05), or a
//     percentage with a % sign (5%); a bare number above 1 is an error.

// scalarKind is the YAML type of a scalar, as resolved by the YAML core
// schema for a plain scalar (quoted scalars are strings).
type scalarKind uint8

const (
	kindNull scalarKind = iota
	kindBool
	kindInt
	kindFloat
	kindString
)

func (k scalarKind) String() string {
	return [...]string{"null", "a boolean", "an integer", "a number", "a string"}[k]
}

// scalar is one YAML scalar as the loader sees it: its text after
// parameter substitution and its YAML type.
type scalar struct {
	text string
	kind scalarKind
}

// describe quotes the scalar for an error message.
func (s scalar) describe() string {
	if s.kind == kindString {
		return s.kind.String() + " (" + strconv.Quote(s.text) + ")"
	}
	return s.kind.String() + " (" + s.text + ")"
}

var floatText = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// classify resolves the YAML type of plain (unquoted) scalar text, the way
// the parser types a plain scalar (YAML 1.2 core schema).
func classify(text string) scalarKind {
	switch text {
	case "", "~", "null", "Null", "NULL":
		return kindNull
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return kindBool
	case ".inf", "+.inf", "-.inf", ".Inf", "+.Inf", "-.Inf", ".INF", "+.INF", "-.INF", ".nan", ".NaN", ".NAN":
		return kindFloat
	}
	if _, err := strconv.ParseInt(text, 0, 64); err == nil {
		return kindInt
	}
	if _, err := strconv.ParseUint(text, 0, 64); err == nil {
		return kindInt
	}
	if floatText.MatchString(text) {
		return kindFloat
	}
	return kindString
}

// scalarSetter is implemented by the format's value types.
type scalarSetter interface {
	setScalar(s scalar) error
}

// unmarshalScalar implements UnmarshalYAML for a value type outside the
// loader (no parameters, no positions).
func unmarshalScalar(n ast.Node, v scalarSetter) error {
	s, err := plainScalar(n)
	if err != nil {
		return err
	}
	return v.setScalar(s)
}

// plainScalar reads a scalar node with no parameter substitution.
func plainScalar(n ast.Node) (scalar, error) {
	for {
		switch a := n.(type) {
		case *ast.AnchorNode:
			n = a.Value
			continue
		case *ast.TagNode:
			n = a.Value
			continue
		}
		break
	}
	s, ok := scalarOf(n)
	if !ok {
		return scalar{}, fmt.Errorf("want a scalar, got a %s", nodeKind(n))
	}
	return s, nil
}

// scalarOf returns the scalar a node holds, without substitution.
func scalarOf(n ast.Node) (scalar, bool) {
	switch v := n.(type) {
	case nil:
		return scalar{kind: kindNull}, true
	case *ast.NullNode:
		return scalar{kind: kindNull}, true
	case *ast.BoolNode:
		return scalar{text: v.Token.Value, kind: kindBool}, true
	case *ast.IntegerNode:
		return scalar{text: v.Token.Value, kind: kindInt}, true
	case *ast.FloatNode:
		return scalar{text: v.Token.Value, kind: kindFloat}, true
	case *ast.InfinityNode:
		return scalar{text: v.Token.Value, kind: kindFloat}, true
	case *ast.NanNode:
		return scalar{text: v.Token.Value, kind: kindFloat}, true
	case *ast.StringNode:
		return scalar{text: v.Value, kind: kindString}, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return scalar{kind: kindString}, true
		}
		return scalar{text: v.Value.Value, kind: kindString}, true
	}
	return scalar{}, false
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "sequence"
	}
	return "scalar"
}

// schemaString returns a string schema with a pattern.
func schemaString(pattern, desc string, examples ...any) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: pattern, Description: desc, Examples: examples}
}

// Duration is a span of virtual time, written with a unit as Go's
// time.ParseDuration reads it (400ms, 1.5s, 2m, 1h30m; ns, us, ms, s, m,
// h). 0 needs no unit. Never negative. The zero value is 0.
type Duration time.Duration

// durationPattern matches what Duration accepts.
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

var durationRE = regexp.MustCompile(durationPattern)

// ParseDuration parses a Duration.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if !durationRE.MatchString(s) {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("%q is negative: durations are never negative", s)
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%q has no unit: write e.g. %ss or %sms", s, s, s)
		}
		return 0, fmt.Errorf("%q is not a duration (want a number with a unit: ns, us, ms, s, m, h; e.g. 400ms, 1.5s, 2m)", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", s, strings.TrimPrefix(err.Error(), "time: "))
	}
	return Duration(d), nil
}

func (d *Duration) setScalar(s scalar) error {
	switch s.kind {
	case kindString:
		v, err := ParseDuration(s.text)
		*d = v
		return err
	case kindInt, kindFloat:
		if f, err := strconv.ParseFloat(strings.ReplaceAll(s.text, "_", ""), 64); err == nil && f == 0 {
			*d = 0
			return nil
		}
		if strings.HasPrefix(s.text, "-") {
			return fmt.Errorf("%s is negative: durations are never negative", s.text)
		}
		return fmt.Errorf("%s has no unit: write e.g. %ss or %sms", s.text, s.text, s.text)
	}
	return fmt.Errorf("want a duration with a unit (e.g. 400ms, 1.5s), got %s", s.describe())
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as Go prints it (1m30s).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalYAML reads a duration scalar (goccy/go-yaml NodeUnmarshaler).
func (d *Duration) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, d) }

// JSONSchema describes a duration.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		schemaString(durationPattern, "a duration with a unit: ns, us, ms, s, m, h (400ms, 1.5s, 2m, 1h30m)"),
		{Type: "integer", Const: 0, Description: "0 needs no unit"},
	}}
}

// Size is a number of bytes, written with a unit: B, SI (kB or KB = 1000
// B, MB, GB) or IEC (KiB = 1024 B, MiB, GiB). Fractions are allowed when
// the result is a whole number of bytes (1.5kB = 1500 B). 0 needs no unit.
type Size int64

const sizePattern = `^(0|([0-9]+(\.[0-9]*)?|\.[0-9]+) ?(B|[kK]B|MB|GB|KiB|MiB|GiB))$`

var sizeRE = regexp.MustCompile(sizePattern)

var sizeUnits = map[string]float64{
	"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

// ParseSize parses a Size.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%q has no unit: write e.g. %sB", s, s)
		}
		return 0, fmt.Errorf("%q is not a size (want a number with a unit: B, kB, MB, GB, KiB, MiB, GiB; e.g. 64B, 1KiB)", s)
	}
	if s == "0" {
		return 0, nil
	}
	num, _ := strconv.ParseFloat(m[2], 64)
	v := num * sizeUnits[m[4]]
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	if v > 1<<40 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(v), nil
}

func (z *Size) setScalar(s scalar) error {
	switch s.kind {
	case kindString:
		v, err := ParseSize(s.text)
		*z = v
		return err
	case kindInt, kindFloat:
		if f, err := strconv.ParseFloat(s.text, 64); err == nil && f == 0 {
			*z = 0
			return nil
		}
		return fmt.Errorf("%s has no unit: write e.g. %sB", s.text, s.text)
	}
	return fmt.Errorf("want a size with a unit (e.g. 64B, 1KiB), got %s", s.describe())
}

// Bytes returns the size in bytes.
func (z Size) Bytes() int { return int(z) }

func (z Size) String() string {
	switch {
	case z != 0 && z%(1<<20) == 0:
		return strconv.FormatInt(int64(z>>20), 10) + "MiB"
	case z != 0 && z%(1<<10) == 0:
		return strconv.FormatInt(int64(z>>10), 10) + "KiB"
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}

// MarshalText writes the size with a unit.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// UnmarshalYAML reads a size scalar.
func (z *Size) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, z) }

// JSONSchema describes a size.
func (Size) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		schemaString(sizePattern, "a size with a unit: B, kB, MB, GB (SI) or KiB, MiB, GiB (IEC)"),
		{Type: "integer", Const: 0, Description: "0 needs no unit"},
	}}
}

// BitRate is a link speed in bits per second, written with a unit as tc
// does: bit, kbit, mbit, gbit (SI, ×1000; any case: 250kbit, 1Mbit) or
// kibit, mibit, gibit (IEC, ×1024).
type BitRate uint64

const bitRatePattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+) ?([kKmMgGtT]i?)?[bB]it$`

var bitRateRE = regexp.MustCompile(bitRatePattern)

// ParseBitRate parses a BitRate.
func ParseBitRate(s string) (BitRate, error) {
	s = strings.TrimSpace(s)
	m := bitRateRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a bit rate (want a number with a unit: bit, kbit, mbit, gbit, kibit, mibit, gibit; e.g. 250kbit, 1Mbit)", s)
	}
	num, _ := strconv.ParseFloat(m[1], 64)
	mul := 1.0
	if p := strings.ToLower(m[3]); p != "" {
		base := 1000.0
		if strings.HasSuffix(p, "i") {
			base = 1024
		}
		mul = math.Pow(base, float64(strings.IndexByte("kmgt", p[0])+1))
	}
	v := num * mul
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("%q is not a whole number of bits per second", s)
	}
	if v > 1e15 {
		return 0, fmt.Errorf("%q is too fast", s)
	}
	return BitRate(v), nil
}

func (b *BitRate) setScalar(s scalar) error {
	if s.kind != kindString {
		if s.kind == kindInt || s.kind == kindFloat {
			return fmt.Errorf("%s has no unit: write e.g. %skbit", s.text, s.text)
		}
		return fmt.Errorf("want a bit rate with a unit (e.g. 250kbit, 1Mbit), got %s", s.describe())
	}
	v, err := ParseBitRate(s.text)
	*b = v
	return err
}

func (b BitRate) String() string {
	switch {
	case b != 0 && b%1_000_000_000 == 0:
		return strconv.FormatUint(uint64(b/1_000_000_000), 10) + "Gbit"
	case b != 0 && b%1_000_000 == 0:
		return strconv.FormatUint(uint64(b/1_000_000), 10) + "Mbit"
	case b != 0 && b%1000 == 0:
		return strconv.FormatUint(uint64(b/1000), 10) + "kbit"
	}
	return strconv.FormatUint(uint64(b), 10) + "bit"
}

// MarshalText writes the rate with a unit.
func (b BitRate) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalYAML reads a bit-rate scalar.
func (b *BitRate) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, b) }

// JSONSchema describes a bit rate.
func (BitRate) JSONSchema() *jsonschema.Schema {
	return schemaString(bitRatePattern, "a bit rate with a unit, as tc writes it: bit, kbit, mbit, gbit (SI) or kibit, mibit, gibit (IEC)", "250kbit", "1Mbit")
}

// Probability is a probability, held as a fraction in [0, 1]. It is
// written either as a bare number, a fraction (0.05), or as a percentage
// with a % sign (5%); the two mean the same. A bare number above 1 is an
// error, never read as a percentage.
type Probability float64

const percentPattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+) ?%$`

var percentRE = regexp.MustCompile(percentPattern)

// percentSchemaPattern is percentPattern bounded to 100%, for the schema
// (the loader reads any digits and says why a value above 100% is wrong).
const percentSchemaPattern = `^(100(\.0*)?|[0-9]{1,2}(\.[0-9]*)?|\.[0-9]+) ?%$`

// ParseProbability parses a probability: a fraction or a percentage.
func ParseProbability(s string) (Probability, error) {
	s = strings.TrimSpace(s)
	if percentRE.MatchString(s) {
		f, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if f > 100 {
			return 0, fmt.Errorf("%s is above 100%%", s)
		}
		return Probability(f / 100), nil
	}
	if floatText.MatchString(s) {
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err == nil {
			return fraction(f, s)
		}
	}
	return 0, fmt.Errorf("%q is not a probability (want a fraction in [0, 1] such as 0.05, or a percentage such as 5%%)", s)
}

func fraction(f float64, text string) (Probability, error) {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0, fmt.Errorf("%s is not a probability: it must be in [0, 1]", text)
	case f > 1:
		return 0, fmt.Errorf("%s is above 1: a bare number is a fraction in [0, 1]; write %s%% for a percentage", text, text)
	}
	return Probability(f), nil
}

func (p *Probability) setScalar(s scalar) error {
	switch s.kind {
	case kindInt, kindFloat:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s.text, "_", ""), 64)
		if err != nil {
			if i, ierr := strconv.ParseInt(s.text, 0, 64); ierr == nil {
				f, err = float64(i), nil
			}
		}
		if err != nil {
			return fmt.Errorf("%q is not a probability", s.text)
		}
		v, err := fraction(f, s.text)
		*p = v
		return err
	case kindString:
		if !percentRE.MatchString(strings.TrimSpace(s.text)) {
			return fmt.Errorf("want a fraction in [0, 1] (0.05) or a percentage (5%%), got %s", s.describe())
		}
		v, err := ParseProbability(s.text)
		*p = v
		return err
	}
	return fmt.Errorf("want a fraction in [0, 1] (0.05) or a percentage (5%%), got %s", s.describe())
}

// F returns the probability as a fraction.
func (p Probability) F() float64 { return float64(p) }

// String writes the probability as a percentage (5%).
func (p Probability) String() string {
	return strconv.FormatFloat(float64(p)*100, 'g', -1, 64) + "%"
}

// MarshalJSON writes the fraction as a JSON number.
func (p Probability) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(p), 'g', -1, 64), nil
}

// UnmarshalYAML reads a probability scalar.
func (p *Probability) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, p) }

// JSONSchema describes a probability.
func (Probability) JSONSchema() *jsonschema.Schema {
	return probabilitySchema("a probability: a fraction in [0, 1] (0.05) or a percentage with % (5%)")
}

func probabilitySchema(desc string) *jsonschema.Schema {
	return &jsonschema.Schema{Description: desc, AnyOf: []*jsonschema.Schema{
		{Type: "number", Minimum: "0", Maximum: "1"},
		{Type: "string", Pattern: percentSchemaPattern},
	}}
}

// Jitter spreads a periodic operation: either a duration (500ms) or a
// fraction of the interval written as a probability is (0.1 or 10%). The
// zero value is no jitter.
type Jitter struct {
	// Duration is the jitter when it was written as a duration.
	Duration Duration
	// Fraction is the jitter as a fraction of the interval when it was
	// written as a number or a percentage.
	Fraction Probability
}

// Of returns the jitter for an operation of the given interval.
func (j Jitter) Of(interval time.Duration) time.Duration {
	if j.Fraction != 0 {
		return time.Duration(math.Round(float64(interval) * float64(j.Fraction)))
	}
	return j.Duration.D()
}

// IsZero reports no jitter.
func (j Jitter) IsZero() bool { return j == Jitter{} }

func (j *Jitter) setScalar(s scalar) error {
	*j = Jitter{}
	if s.kind == kindString && !percentRE.MatchString(strings.TrimSpace(s.text)) {
		if floatText.MatchString(strings.TrimSpace(s.text)) {
			return fmt.Errorf("want a duration (500ms) or a fraction of the interval (0.1 or 10%%), got %s", s.describe())
		}
		d, err := ParseDuration(s.text)
		if err != nil {
			return fmt.Errorf("want a duration (500ms) or a fraction of the interval (0.1 or 10%%): %v", err)
		}
		j.Duration = d
		return nil
	}
	if s.kind != kindString && s.kind != kindInt && s.kind != kindFloat {
		return fmt.Errorf("want a duration (500ms) or a fraction of the interval (0.1 or 10%%), got %s", s.describe())
	}
	return j.Fraction.setScalar(s)
}

func (j Jitter) String() string {
	if j.Fraction != 0 {
		return j.Fraction.String()
	}
	return j.Duration.String()
}

// MarshalText writes the jitter as it reads.
func (j Jitter) MarshalText() ([]byte, error) { return []byte(j.String()), nil }

// UnmarshalYAML reads a jitter scalar.
func (j *Jitter) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, j) }

// JSONSchema describes a jitter.
func (Jitter) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		schemaString(durationPattern, "a duration (500ms)"),
		{Type: "number", Minimum: "0", Maximum: "1", Description: "a fraction of the interval (0.1)"},
		schemaString(percentSchemaPattern, "a percentage of the interval (10%)"),
	}}
}

// enum is the shared reader of the format's enumerations.
type enum struct {
	what  string   // "role"
	names []string // index = value
}

func (e enum) parse(s scalar) (int, error) {
	if s.kind == kindString {
		for i, n := range e.names {
			if n != "" && n == s.text {
				return i, nil
			}
		}
	}
	if s.kind == kindString {
		return 0, fmt.Errorf("unknown %s %q (want %s)", e.what, s.text, orList(e.valid()))
	}
	return 0, fmt.Errorf("want a %s (%s), got %s", e.what, orList(e.valid()), s.describe())
}

// valid returns the names a file may use.
func (e enum) valid() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (e enum) name(i int) string {
	if i >= 0 && i < len(e.names) {
		return e.names[i]
	}
	return e.what + "(" + strconv.Itoa(i) + ")"
}

func (e enum) schema(desc string) *jsonschema.Schema {
	var vals []any
	for _, n := range e.valid() {
		vals = append(vals, n)
	}
	return &jsonschema.Schema{Type: "string", Enum: vals, Description: desc}
}

// orList formats a, b or c.
func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
