package plot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// latencies are the distributions of the built-in latency CDF figure.
var latencies = []struct{ ref, label string }{
	{"read_latency", "reads"}, {"invoke_latency", "invokes"},
	{"request_latency", "requests"}, {"pairing_latency", "pairings (PASE)"},
}

// Run draws a run's figures: the built-in ones, then the scenario's
// metric-vs-time, histogram and cdf plots; its sweep plots are Skipped
// (mattersim sweep draws them), and so is a figure that cannot be drawn,
// with the reason. c is the run's finished collector, which tracked
// s.Tracked(). The error is reserved for failures of the whole set; none
// is returned today.
func Run(s *scenarios.Scenario, c *metrics.Collector) (Set, error) {
	var set Set
	series := c.Series()
	refs := make([]string, len(latencies))
	labels := make([]string, len(latencies))
	for i, l := range latencies {
		refs[i], labels[i] = l.ref, l.label
	}
	set.draw("latency-cdf", func() (Figure, error) {
		return cdf(c, "latency-cdf", "Latency per operation (CDF)", refs, labels)
	})
	set.draw("mrp-timeline", func() (Figure, error) { return mrpTimeline(series) })
	set.draw("window-verdicts", func() (Figure, error) { return windowVerdicts(series) })
	set.draw("network-drops", func() (Figure, error) { return networkDrops(c) })
	for i := range s.Plots {
		pl := &s.Plots[i]
		title := Title(pl)
		switch pl.Kind {
		case scenarios.PlotMetricVsTime:
			set.draw(pl.Name, func() (Figure, error) { return metricVsTime(series, pl.Name, title, pl.Metrics, pl.Rate) })
		case scenarios.PlotCDF:
			set.draw(pl.Name, func() (Figure, error) { return cdf(c, pl.Name, title, pl.Metrics, pl.Metrics) })
		case scenarios.PlotHistogram:
			set.draw(pl.Name, func() (Figure, error) { return histogram(c, pl.Name, title, pl.Metrics[0]) })
		case scenarios.PlotSweep:
			set.Skipped = append(set.Skipped, Skipped{pl.Name, "a sweep figure: mattersim sweep draws it from the runs of a sweep"})
		}
	}
	return set, nil
}

// Title returns a plot's title: its own, or one made from its kind and
// metrics.
func Title(pl *scenarios.Plot) string {
	if pl.Title != "" {
		return pl.Title
	}
	m := strings.Join(pl.Metrics, ", ")
	switch pl.Kind {
	case scenarios.PlotMetricVsTime:
		if pl.Rate {
			return m + " per second over time"
		}
		return m + " over time"
	case scenarios.PlotHistogram:
		return "Histogram of " + m
	case scenarios.PlotCDF:
		return "CDF of " + m
	case scenarios.PlotSweep:
		return m + " vs " + pl.X
	}
	return m
}

// seconds converts a value of kind k to the plotted unit.
func seconds(k metrics.Kind, v float64) float64 {
	if k == metrics.Duration {
		return v / float64(time.Second)
	}
	return v
}

// cdf draws the empirical CDFs of distributions refs (labelled labels)
// from their histograms (each point a bucket's upper bound: within
// metrics.HistRelativeError of the exact value).
func cdf(c *metrics.Collector, name, title string, refs, labels []string) (Figure, error) {
	type curve struct {
		label  string
		xs, ys []float64
	}
	var curves []curve
	var kinds []metrics.Kind
	lo, hi := 0.0, 0.0
	for i, ref := range refs {
		h, kind, err := c.Distribution(ref)
		if err != nil {
			return Figure{}, err
		}
		if h.Count() == 0 {
			continue
		}
		kinds = append(kinds, kind)
		cv := curve{label: labels[i]}
		var cum uint64
		bs := h.Buckets()
		cv.xs = append(cv.xs, seconds(kind, float64(bs[0].Lo)))
		cv.ys = append(cv.ys, 0)
		for _, b := range bs {
			cum += b.Count
			cv.xs = append(cv.xs, seconds(kind, float64(b.Hi)))
			cv.ys = append(cv.ys, float64(cum)/float64(h.Count()))
		}
		if len(curves) == 0 || cv.xs[0] < lo {
			lo = cv.xs[0]
		}
		hi = max(hi, cv.xs[len(cv.xs)-1])
		curves = append(curves, cv)
	}
	if len(curves) == 0 {
		return noData(name, title, "no value of "+strings.Join(refs, ", ")+" was recorded")
	}
	unit := "value"
	if kinds[0] == metrics.Duration {
		unit = "seconds"
	}
	p := newPlot(title, unit, "fraction ≤ x")
	p.Legend.Top = false // CDFs rise to the top right
	p.Y.Min, p.Y.Max = 0, 1
	if lo > 0 && hi/lo > 50 {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
		unit += " (log scale)"
		p.X.Label.Text = unit
	}
	var parts []string
	for i, cv := range curves {
		l, err := line(cv.xs, cv.ys, i, 0)
		if err != nil {
			return Figure{}, err
		}
		p.Add(l)
		p.Legend.Add(cv.label, l)
		parts = append(parts, cv.label)
	}
	return figure(name, title, "Empirical CDF of "+strings.Join(parts, ", ")+" (from the run's histograms, within 0.4%).", p)
}

// rateBins is about how many steps a rate is drawn in.
const rateBins = 100

// rates turns a running total into events per second, over steps of
// about 1/rateBins of the run (whole sampling steps), each drawn at the
// start of its step.
func rates(times []time.Duration, vals []float64) (xs, ys []float64, step time.Duration) {
	stride := max(1, (len(times)-1+rateBins-1)/rateBins)
	if len(times) > 1 {
		step = (times[1] - times[0]) * time.Duration(stride)
	}
	for k := 0; k+1 < len(times); k += stride {
		j := min(k+stride, len(times)-1)
		dt := (times[j] - times[k]).Seconds()
		if dt <= 0 {
			continue
		}
		xs = append(xs, times[k].Seconds())
		ys = append(ys, (vals[j]-vals[k])/dt)
	}
	return xs, ys, step
}

func timeAxis(times []time.Duration) []float64 {
	xs := make([]float64, len(times))
	for i, t := range times {
		xs[i] = t.Seconds()
	}
	return xs
}

// last returns the last sample, or 0.
func last(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)-1]
}

// mrpTimeline draws MRP retransmissions and give-ups per second.
func mrpTimeline(s metrics.Series) (Figure, error) {
	const name, title = "mrp-timeline", "MRP retransmissions and give-ups per second"
	rt, gu := s.Get("mrp.retransmissions"), s.Get("mrp.give_ups")
	switch {
	case last(rt) == 0 && last(gu) == 0:
		return noData(name, title, "no retransmission and no give-up in the run")
	case len(s.Times) < 2:
		return noData(name, title, "the run has fewer than two samples")
	}
	p := newPlot(title, "virtual time (s)", "per second")
	var step time.Duration
	for i, m := range []struct {
		label string
		vals  []float64
	}{{"retransmissions", rt}, {"give-ups", gu}} {
		xs, ys, st := rates(s.Times, m.vals)
		step = st
		l, err := line(xs, ys, i, 0)
		if err != nil {
			return Figure{}, err
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%.0f)", m.label, last(m.vals)), l)
	}
	headroom(p, 2)
	return figure(name, title, fmt.Sprintf("MRP retransmissions and give-ups over virtual time, in steps of %s (totals in the legend).", step), p)
}

// windowVerdicts draws the running totals of every reception-window
// verdict that occurred, per policy (colour: verdict, dashes: policy).
func windowVerdicts(s metrics.Series) (Figure, error) {
	const name, title = "window-verdicts", "Reception-window verdicts per policy"
	if len(s.Times) < 2 {
		return noData(name, title, "the run has fewer than two samples")
	}
	p := newPlot(title, "virtual time (s)", "verdicts so far")
	xs := timeAxis(s.Times)
	n := 0
	for k, pol := range metrics.WindowPolicies {
		for i, v := range metrics.WindowVerdicts {
			vals := s.Get("window." + pol + "." + v)
			if last(vals) == 0 {
				continue
			}
			l, err := line(xs, vals, i, k)
			if err != nil {
				return Figure{}, err
			}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s: %s (%.0f)", pol, v, last(vals)), l)
			n++
		}
	}
	if n == 0 {
		return noData(name, title, "no reception-window verdict in the run")
	}
	headroom(p, n)
	return figure(name, title, "Running totals of the counter verdicts of the receivers' windows (window.POLICY.VERDICT), by policy (dashes) and verdict (colour).", p)
}

// networkDrops draws the genuine frames the network dropped, by cause.
func networkDrops(c *metrics.Collector) (Figure, error) {
	const name, title = "network-drops", "Frames dropped by the network, by cause"
	vals := make(plotter.Values, len(metrics.DropCauses))
	total := 0.0
	for i, cause := range metrics.DropCauses {
		v, _, err := c.Value("network.dropped." + cause)
		if err != nil {
			return Figure{}, err
		}
		vals[i] = v
		total += v
	}
	if total == 0 {
		return noData(name, title, "the network dropped no frame")
	}
	p := newPlot(title, "cause", "frames")
	b, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return Figure{}, err
	}
	b.Color = plotterColor(0)
	p.Add(b)
	p.NominalX(metrics.DropCauses...)
	return figure(name, title, fmt.Sprintf("Genuine frame copies dropped by the switch and the link stages (network.dropped.CAUSE): %.0f in all; injected frames are not counted.", total), p)
}

// metricVsTime draws tracked metrics over time (rates for rate).
func metricVsTime(s metrics.Series, name, title string, refs []string, rate bool) (Figure, error) {
	if len(s.Times) < 2 {
		return noData(name, title, "the run has fewer than two samples")
	}
	unit := ""
	p := newPlot(title, "virtual time (s)", "")
	for i, ref := range refs {
		var d metrics.Desc
		var vals []float64
		for _, m := range s.Metrics {
			if m.Ref == ref {
				d, vals = m.Desc, m.Values
			}
		}
		if vals == nil {
			return Figure{}, fmt.Errorf("plot: %s: %s was not tracked", name, ref)
		}
		u := d.Kind.String()
		var xs, ys []float64
		if rate {
			xs, ys, _ = rates(s.Times, vals)
			u = "per second"
		} else {
			xs = timeAxis(s.Times)
			ys = make([]float64, len(vals))
			for k, v := range vals {
				ys[k] = v // Value reports durations in seconds already
			}
			if d.Kind == metrics.Duration {
				u = "seconds"
			}
		}
		if i == 0 {
			unit = u
		} else if unit != u {
			unit = "value"
		}
		l, err := line(xs, ys, i, 0)
		if err != nil {
			return Figure{}, err
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%s)", ref, strconv.FormatFloat(last(vals), 'g', 6, 64)), l)
	}
	p.Y.Label.Text = unit
	headroom(p, len(refs))
	how := "running value"
	if rate {
		how = "events per second"
	}
	return figure(name, title, fmt.Sprintf("%s over virtual time (%s, sampled every %s; the legend gives each metric's value at the end of the run).", strings.Join(refs, ", "), how, s.Step), p)
}

// histogram draws distribution ref in at most 40 equal bins between its
// minimum and maximum.
func histogram(c *metrics.Collector, name, title, ref string) (Figure, error) {
	h, kind, err := c.Distribution(ref)
	if err != nil {
		return Figure{}, err
	}
	if h.Count() == 0 {
		return noData(name, title, "no value of "+ref+" was recorded")
	}
	lo, hi := seconds(kind, float64(h.Min())), seconds(kind, float64(h.Max()))
	const n = 40
	w := (hi - lo) / n
	if w <= 0 {
		w = max(lo*0.01, 1e-9)
	}
	bins := make([]plotter.HistogramBin, n)
	for i := range bins {
		bins[i] = plotter.HistogramBin{Min: lo + float64(i)*w, Max: lo + float64(i+1)*w}
	}
	for _, b := range h.Buckets() {
		mid := (seconds(kind, float64(b.Lo)) + seconds(kind, float64(b.Hi))) / 2
		i := min(max(int((mid-lo)/w), 0), n-1)
		bins[i].Weight += float64(b.Count)
	}
	hp := &plotter.Histogram{Bins: bins, Width: w, FillColor: plotterColor(0), LineStyle: plotter.DefaultLineStyle}
	unit := "value"
	if kind == metrics.Duration {
		unit = "seconds"
	}
	p := newPlot(title, unit, "count")
	p.Add(hp)
	return figure(name, title, fmt.Sprintf("Histogram of %s: %d values in %d bins of %.4g %s (from the run's histogram).", ref, h.Count(), n, w, unit), p)
}
