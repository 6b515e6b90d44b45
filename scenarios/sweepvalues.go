package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxSweepValues bounds the values one axis may expand to, so that a
// mistyped step (0%..100%/0.001%) fails instead of building a huge grid.
const MaxSweepValues = 10000

// ExpandValues reads the values of a sweep axis, as written after
// --sweep PARAM= or in a scenario's sweep.axes[].values: a comma-separated
// list whose items are single values or ranges START..END/STEP, e.g.
// "5%,10%,20%", "0%..45%/5%" (0%, 5%, ..., 45%), "100ms..1s/300ms" is
// refused (the three must share a unit) while "100ms..1000ms/300ms" gives
// 100ms, 400ms, 700ms, 1000ms. A range is inclusive of END when a step
// lands on it; the numbers are decimal and computed exactly, so
// 0.1..0.3/0.1 gives 0.1, 0.2, 0.3. Each value is then read by the field
// the parameter lands in, as --set would.
func ExpandValues(spec string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q: an empty value", spec)
		}
		vs, err := expandItem(item)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(out) > MaxSweepValues {
			return nil, fmt.Errorf("%q: more than %d values", spec, MaxSweepValues)
		}
	}
	return out, nil
}

// decimalRE is a number with an optional unit suffix (%, ms, s, KB, ...).
var decimalRE = regexp.MustCompile(`^([+-]?)([0-9]+)(?:\.([0-9]+))?([A-Za-zµ%]*)$`)

type decimal struct {
	neg        bool
	int, frac  string
	unit, text string
}

func parseDecimal(s string) (decimal, bool) {
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		return decimal{}, false
	}
	return decimal{neg: m[1] == "-", int: m[2], frac: m[3], unit: m[4], text: s}, true
}

// scaled returns the number times 10^scale as an integer.
func (d decimal) scaled(scale int) (int64, error) {
	digits := d.int + d.frac + strings.Repeat("0", scale-len(d.frac))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || len(digits) > 17 {
		return 0, fmt.Errorf("%s: too many digits", d.text)
	}
	if d.neg {
		v = -v
	}
	return v, nil
}

// formatScaled writes v / 10^scale without trailing zeros.
func formatScaled(v int64, scale int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}

func expandItem(item string) ([]string, error) {
	lo, rest, isRange := strings.Cut(item, "..")
	if !isRange {
		return []string{item}, nil
	}
	hi, step, ok := strings.Cut(rest, "/")
	bad := func(format string, args ...any) error {
		return fmt.Errorf("range %q: %s (want START..END/STEP, e.g. 0%%..45%%/5%%)", item, fmt.Sprintf(format, args...))
	}
	if !ok {
		return nil, bad("no /STEP")
	}
	var ds [3]decimal
	for i, s := range []string{lo, hi, step} {
		d, ok := parseDecimal(strings.TrimSpace(s))
		if !ok {
			return nil, bad("%q is not a number with an optional unit", s)
		}
		ds[i] = d
	}
	if ds[0].unit != ds[1].unit || ds[0].unit != ds[2].unit {
		return nil, bad("START, END and STEP must have the same unit")
	}
	scale := max(len(ds[0].frac), len(ds[1].frac), len(ds[2].frac))
	var v [3]int64
	for i, d := range ds {
		x, err := d.scaled(scale)
		if err != nil {
			return nil, bad("%v", err)
		}
		v[i] = x
	}
	switch {
	case v[2] <= 0:
		return nil, bad("STEP must be above 0")
	case v[1] < v[0]:
		return nil, bad("END is below START")
	case (v[1]-v[0])/v[2] >= MaxSweepValues:
		return nil, bad("more than %d values", MaxSweepValues)
	}
	var out []string
	for x := v[0]; x <= v[1]; x += v[2] {
		out = append(out, formatScaled(x, scale)+ds[0].unit)
	}
	return out, nil
}
