package sweep

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

func ff(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }

// WriteMetrics writes the aggregate as CSV: one row per point and metric:
// the axis values, the metric, n, mean, and the 95% Student t interval.
func (r *Result) WriteMetrics(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"point"}
	for _, a := range r.Axes {
		head = append(head, a.Param)
	}
	head = append(head, "metric", "n", "mean", "ci95_low", "ci95_high")
	if err := cw.Write(head); err != nil {
		return err
	}
	names := MetricNames()
	for _, pa := range r.Agg {
		for _, name := range names {
			iv, ok := pa.Metrics[name]
			if !ok {
				continue
			}
			row := []string{strconv.Itoa(pa.Point.Index)}
			for _, a := range r.Axes {
				row = append(row, pa.Point.Values[a.Param])
			}
			row = append(row, name, strconv.Itoa(iv.N), ff(iv.Mean), ff(iv.Low), ff(iv.Hi))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteAssertions writes one row per point and assertion: the axis
// values, the assertion, runs, runs where it held, and the pass rate with
// its 95% Wilson interval.
func (r *Result) WriteAssertions(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"point"}
	for _, a := range r.Axes {
		head = append(head, a.Param)
	}
	head = append(head, "assertion", "runs", "held", "pass_rate", "ci95_low", "ci95_high")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, pa := range r.Agg {
		for _, as := range pa.Assertions {
			row := []string{strconv.Itoa(pa.Point.Index)}
			for _, a := range r.Axes {
				row = append(row, pa.Point.Values[a.Param])
			}
			row = append(row, as.Text, strconv.Itoa(as.Pass.N), strconv.Itoa(as.Held), ff(as.Pass.Mean), ff(as.Pass.Low), ff(as.Pass.Hi))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteChecks writes aggregate.csv: one row per aggregate assertion and
// point it applies at: the axis values, the assertion, the statistic's
// value (in the metric's reporting unit: seconds for a duration) and
// whether it holds.
func (r *Result) WriteChecks(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"point"}
	for _, a := range r.Axes {
		head = append(head, a.Param)
	}
	head = append(head, "assertion", "observed", "holds")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, c := range r.Checks {
		row := []string{strconv.Itoa(c.Point)}
		for _, a := range r.Axes {
			row = append(row, r.Points[c.Point].Values[a.Param])
		}
		row = append(row, c.Assertion.Text, ff(c.Observed), strconv.FormatBool(c.Holds))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ChecksFailed returns how many (aggregate assertion, point) checks fail.
func (r *Result) ChecksFailed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.Holds {
			n++
		}
	}
	return n
}

// WriteTable prints, per point, the assertions' pass counts and the
// metrics named in show (mean [95% interval]).
func (r *Result) WriteTable(w io.Writer, show []string) error {
	for _, pa := range r.Agg {
		fmt.Fprintf(w, "point %d  %s  (%d runs)\n", pa.Point.Index, pa.Point.Label(r.Axes), r.Reps)
		for _, name := range show {
			if iv, ok := pa.Metrics[name]; ok {
				fmt.Fprintf(w, "  %-32s %s [%s, %s]\n", name, ff(iv.Mean), ff(iv.Low), ff(iv.Hi))
			}
		}
		for _, as := range pa.Assertions {
			mark := "✓"
			if as.Held < as.Pass.N {
				mark = "✗"
			}
			fmt.Fprintf(w, "  %s %-40s held %d/%d (pass rate 95%% CI [%.3f, %.3f])\n", mark, as.Text, as.Held, as.Pass.N, as.Pass.Low, as.Pass.Hi)
		}
	}
	r.writeChecksTable(w)
	return nil
}

// writeChecksTable prints each aggregate assertion with the points it
// applies at, and the failing points with the statistic's value.
func (r *Result) writeChecksTable(w io.Writer) {
	if len(r.Checks) == 0 && len(r.Unchecked) == 0 {
		return
	}
	fmt.Fprintln(w, "aggregate")
	for i := 0; i < len(r.Checks); {
		a := r.Checks[i].Assertion
		j := i
		var fails []string
		for ; j < len(r.Checks) && r.Checks[j].Assertion.Text == a.Text; j++ {
			if c := r.Checks[j]; !c.Holds {
				fails = append(fails, fmt.Sprintf("%s (%s)", r.Points[c.Point].Label(r.Axes), ff(c.Observed)))
			}
		}
		mark := "✓"
		if len(fails) > 0 {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %-40s holds at %d/%d points", mark, a.Text, j-i-len(fails), j-i)
		if len(fails) > 0 {
			fmt.Fprintf(w, "; fails at %s", strings.Join(fails, ", "))
		}
		fmt.Fprintln(w)
		i = j
	}
	for _, a := range r.Unchecked {
		fmt.Fprintf(w, "  - %-40s not checked: no point of this grid is at %s\n", a.Text, a.AtText())
	}
}
