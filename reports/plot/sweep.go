package plot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"mattersim/reports/sweep"
	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// Sweep draws a sweep's figures: every sweep plot the scenario declares
// or, when it declares none, one per metric its assertions name (overall
// values), each against the first axis. Each figure shows, per metric, the
// mean over the repetitions at each value of the x parameter with its 95%
// Student t interval as error bars; points that differ in the other swept
// parameters are separate lines. It reads only res.Axes and res.Agg, so a
// result merged from shards draws the same figures. The scenario's other
// plots are listed in Skipped (mattersim run draws them), and so is a
// figure that cannot be drawn, with the reason. No error is returned
// today.
func Sweep(s *scenarios.Scenario, res *sweep.Result) (Set, error) {
	var set Set
	var specs []scenarios.Plot
	for _, pl := range s.Plots {
		if pl.Kind == scenarios.PlotSweep {
			specs = append(specs, pl)
		} else {
			set.Skipped = append(set.Skipped, Skipped{pl.Name, "a " + pl.Kind.String() + " figure: mattersim run draws it for one run"})
		}
	}
	if len(specs) == 0 {
		var seen []string
		for _, a := range s.Assertions {
			if a.Group != "" || slices.Contains(seen, a.Metric.Name) {
				continue
			}
			seen = append(seen, a.Metric.Name)
			specs = append(specs, scenarios.Plot{Name: "sweep-" + fileStem(a.Metric.Name), Kind: scenarios.PlotSweep, Metrics: []string{a.Metric.Name}})
		}
	}
	for i := range specs {
		set.draw(specs[i].Name, func() (Figure, error) { return sweepFigure(&specs[i], res) })
	}
	return set, nil
}

// xAxis places an axis's values on a numeric x axis: plain numbers,
// percentages (in %) or durations (in seconds) when every value is one of
// the same kind; otherwise evenly, by index, labelled with the values.
func xAxis(vals []string) (xs []float64, unit string, nominal bool) {
	parsers := []struct {
		unit  string
		parse func(string) (float64, bool)
	}{
		{"", func(v string) (float64, bool) { f, err := strconv.ParseFloat(v, 64); return f, err == nil }},
		{"%", func(v string) (float64, bool) {
			t, ok := strings.CutSuffix(v, "%")
			f, err := strconv.ParseFloat(t, 64)
			return f, ok && err == nil
		}},
		{"s", func(v string) (float64, bool) {
			d, err := scenarios.ParseDuration(v)
			return d.D().Seconds(), err == nil
		}},
	}
	for _, p := range parsers {
		xs = xs[:0]
		ok := true
		for _, v := range vals {
			f, good := p.parse(v)
			if !good {
				ok = false
				break
			}
			xs = append(xs, f)
		}
		if ok {
			return xs, p.unit, false
		}
	}
	xs = xs[:0]
	for i := range vals {
		xs = append(xs, float64(i))
	}
	return xs, "", true
}

func sweepFigure(pl *scenarios.Plot, res *sweep.Result) (Figure, error) {
	title := pl.Title
	x := pl.X
	if x == "" && len(res.Axes) > 0 {
		x = res.Axes[0].Param
	}
	if title == "" {
		cp := *pl
		cp.X = x
		title = Title(&cp)
	}
	ax := slices.IndexFunc(res.Axes, func(a sweep.Axis) bool { return a.Param == x })
	if ax < 0 {
		return noData(pl.Name, title, fmt.Sprintf("the sweep does not vary %s (--sweep %s=V1,V2,...)", x, x))
	}
	axis := res.Axes[ax]
	xs, unit, nominal := xAxis(axis.Values)
	xOf := map[string]float64{}
	for i, v := range axis.Values {
		xOf[v] = xs[i]
	}
	// Lines: one per metric and combination of the other axes' values, in
	// the order the aggregate first shows them.
	type series struct {
		label string
		pts   plotter.XYs
		errs  plotter.YErrors
	}
	var lines []*series
	byKey := map[string]*series{}
	runs := 0
	for _, pa := range res.Agg {
		var other []string
		for _, a := range res.Axes {
			if a.Param != x {
				other = append(other, a.Param+"="+pa.Point.Values[a.Param])
			}
		}
		for _, ref := range pl.Metrics {
			iv, ok := pa.Metrics[ref]
			if !ok || iv.N == 0 {
				continue
			}
			runs = max(runs, iv.N)
			label := ref
			if len(other) > 0 {
				label += " (" + strings.Join(other, ", ") + ")"
			}
			sr := byKey[label]
			if sr == nil {
				sr = &series{label: label}
				byKey[label] = sr
				lines = append(lines, sr)
			}
			sr.pts = append(sr.pts, plotter.XY{X: xOf[pa.Point.Values[x]], Y: finite(iv.Mean)})
			sr.errs = append(sr.errs, struct{ Low, High float64 }{finite(iv.Mean - iv.Low), finite(iv.Hi - iv.Mean)})
		}
	}
	if len(lines) == 0 {
		return noData(pl.Name, title, "no point of the sweep has "+strings.Join(pl.Metrics, ", "))
	}
	xl := x
	if unit != "" {
		xl += " (" + unit + ")"
	}
	yl := "mean"
	if len(pl.Metrics) == 1 {
		yl = pl.Metrics[0]
	}
	durations := true
	for _, ref := range pl.Metrics {
		if d, _, ok := metrics.Lookup(ref); !ok || d.Kind != metrics.Duration {
			durations = false
		}
	}
	if durations {
		yl += " (s)"
	}
	p := newPlot(title, xl, yl)
	p.Legend.Left = true
	if nominal {
		p.NominalX(axis.Values...)
	}
	for i, sr := range lines {
		l, err := plotter.NewLine(sr.pts)
		if err != nil {
			return Figure{}, err
		}
		style(l, i, 0)
		sc, err := plotter.NewScatter(sr.pts)
		if err != nil {
			return Figure{}, err
		}
		sc.Color = l.Color
		sc.Radius = vg.Points(2.5)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{sr.pts, sr.errs})
		if err != nil {
			return Figure{}, err
		}
		eb.Color = l.Color
		eb.CapWidth = vg.Points(6)
		p.Add(l, sc, eb)
		p.Legend.Add(sr.label, l, sc)
	}
	headroom(p, len(lines))
	return figure(pl.Name, title, fmt.Sprintf("Mean of %s over up to %d runs per point, with its 95%% Student t interval (clipped to the metric's range), against %s.",
		strings.Join(pl.Metrics, ", "), runs, x), p)
}
