package plot

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"mattersim/reports/sweep"
	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// SweepPage is what a sweep's report.html shows. Everything on it comes
// from the plan, the aggregate, the scenario text and the figures drawn
// from the aggregate, never from a run's wall time or from how the runs
// were split into shards, so mattersim merge writes the same bytes as the
// unsharded sweep.
type SweepPage struct {
	Plan   sweep.Plan
	Result *sweep.Result // a whole grid's (Agg set)
	// ScenarioText is the scenario file as written; empty with
	// NoScenario set when it is not known (merge could not reopen the
	// file the shards ran).
	ScenarioText string
	Figures      Set
	// NoScenario, when set, says why neither the figures nor the scenario
	// text are on the page.
	NoScenario string
	// PlotsDir and RunsDir are where the figures' files and the runs'
	// metrics.json are, relative to the page ("plots", "runs").
	PlotsDir, RunsDir string
}

type sweepCell struct {
	Text  string
	Class string // "passed", "failed" or ""
}

type sweepRow struct {
	Name, Kind string
	Cells      []sweepCell
}

type sweepPoint struct {
	Index int
	Label string
	Runs  []sweepLink
}

type sweepLink struct{ Name, Href string }

type sweepCheck struct {
	Mark, Text, Summary string
	Holds               bool
	Points              []sweepCheckPoint
}

type sweepCheckPoint struct {
	Label, Observed string
	Holds           bool
}

type sweepAxis struct {
	Param  string
	Values string
}

type sweepData struct {
	P           sweep.Plan
	Status      string
	Set         []htmlParam
	Axes        []sweepAxis
	Points      []sweepPoint
	Runs        int
	RunChecks   int // (run, assertion) pairs
	RunFailed   int
	Assertions  []sweepRow // pass rates: one row per assertion
	Checks      []sweepCheck
	Unchecked   []sweepCheck
	ChecksTotal int
	ChecksHeld  int
	Metrics     []sweepRow
	Figures     []htmlFigure
	Skipped     []Skipped
	NoScenario  string
	Text        string
}

// WriteSweepHTML writes a sweep's report.html: one self-contained page
// (styles inline, figures as inline SVG, no script, nothing fetched) with
// the plan (scenario, version, seed, network mode, overrides, axes and
// repetitions), the aggregate assertions with their verdict at each point,
// each assertion's pass rate over a point's runs with its 95% Wilson
// interval, the aggregate of every metric (mean and 95% Student t
// interval), the sweep figures and the scenario text. It is a pure
// function of the page.
func WriteSweepHTML(w io.Writer, pg SweepPage) error {
	res := pg.Result
	if res == nil {
		return fmt.Errorf("plot: sweep page without a result")
	}
	d := sweepData{P: pg.Plan, NoScenario: pg.NoScenario, Text: pg.ScenarioText, Skipped: pg.Figures.Skipped}
	for _, k := range scenarios.Parameters(pg.Plan.Set).Sorted() {
		d.Set = append(d.Set, htmlParam{k, pg.Plan.Set[k]})
	}
	for _, a := range res.Axes {
		d.Axes = append(d.Axes, sweepAxis{a.Param, strings.Join(a.Values, ", ")})
	}
	runs := pg.RunsDir
	if runs == "" {
		runs = "runs"
	}
	for _, pa := range res.Agg {
		sp := sweepPoint{Index: pa.Point.Index, Label: pa.Point.Label(res.Axes)}
		for r := range res.Reps {
			name := sweep.RunName(pa.Point.Index, r)
			sp.Runs = append(sp.Runs, sweepLink{name, runs + "/" + name + "/metrics.json"})
		}
		d.Points = append(d.Points, sp)
		d.Runs += res.Reps
	}

	// Pass rates: the assertions in the order the points first show them.
	var texts []string
	for _, pa := range res.Agg {
		for _, a := range pa.Assertions {
			if !slices.Contains(texts, a.Text) {
				texts = append(texts, a.Text)
			}
		}
	}
	for _, text := range texts {
		row := sweepRow{Name: text}
		for _, pa := range res.Agg {
			i := slices.IndexFunc(pa.Assertions, func(a sweep.AssertionAgg) bool { return a.Text == text })
			if i < 0 {
				row.Cells = append(row.Cells, sweepCell{Text: "—"})
				continue
			}
			a := pa.Assertions[i]
			c := sweepCell{Text: fmt.Sprintf("%d/%d [%.3f, %.3f]", a.Held, a.Pass.N, a.Pass.Low, a.Pass.Hi), Class: "passed"}
			d.RunChecks += a.Pass.N
			if a.Held < a.Pass.N {
				c.Class = "failed"
				d.RunFailed += a.Pass.N - a.Held
			}
			row.Cells = append(row.Cells, c)
		}
		d.Assertions = append(d.Assertions, row)
	}

	// Aggregate assertions: res.Checks holds them in order, each with the
	// points it applies at.
	for i := 0; i < len(res.Checks); {
		a := res.Checks[i].Assertion
		c := sweepCheck{Text: a.Text, Holds: true}
		held := 0
		j := i
		for ; j < len(res.Checks) && res.Checks[j].Assertion.Text == a.Text; j++ {
			v := res.Checks[j]
			c.Points = append(c.Points, sweepCheckPoint{Label: res.Points[v.Point].Label(res.Axes),
				Observed: formatStat(a.Metric.Kind, v.Observed), Holds: v.Holds})
			if v.Holds {
				held++
			} else {
				c.Holds = false
			}
		}
		c.Mark = "✓"
		if !c.Holds {
			c.Mark = "✗"
		}
		c.Summary = fmt.Sprintf("holds at %d of %d points", held, j-i)
		d.ChecksTotal += j - i
		d.ChecksHeld += held
		d.Checks = append(d.Checks, c)
		i = j
	}
	for _, a := range res.Unchecked {
		d.Unchecked = append(d.Unchecked, sweepCheck{Mark: "–", Text: a.Text, Summary: "not checked: no point of this grid is at " + a.AtText()})
	}
	d.Status = "passed"
	if d.RunFailed > 0 || d.ChecksHeld < d.ChecksTotal {
		d.Status = "failed"
	}

	// The aggregate of every metric some point has, in catalogue order.
	for _, name := range sweep.MetricNames() {
		row := sweepRow{Name: name}
		k := metrics.Value
		if desc, _, ok := metrics.Lookup(name); ok {
			k = desc.Kind
		}
		row.Kind = k.String()
		seen := false
		for _, pa := range res.Agg {
			iv, ok := pa.Metrics[name]
			if !ok || iv.N == 0 {
				row.Cells = append(row.Cells, sweepCell{Text: "—"})
				continue
			}
			seen = true
			row.Cells = append(row.Cells, sweepCell{Text: formatStat(k, iv.Mean) + " [" + formatStat(k, iv.Low) + ", " + formatStat(k, iv.Hi) + "]"})
		}
		if seen {
			d.Metrics = append(d.Metrics, row)
		}
	}

	d.Figures = htmlFigures(pg.Figures, pg.PlotsDir)
	return sweepTmpl.Execute(w, d)
}

// formatStat formats a statistic of a metric in its reporting unit
// (seconds for a duration) as a run's report does, except that a mean of
// counts may have a fraction; a statistic that is not finite shows as —.
func formatStat(k metrics.Kind, v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case k == metrics.Duration:
		return scenarios.FormatValue(k, v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

var sweepTmpl = template.Must(template.New("sweep").Funcs(pageFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mattersim sweep: {{.P.Scenario}} ({{.Status}})</title>
<style>{{css}}</style>
</head>
<body>
<h1>mattersim sweep: {{.P.Scenario}} — <span class="{{.Status}}">{{.Status}}</span></h1>
<nav><a href="#sweep">Sweep</a><a href="#aggregate">Aggregate assertions</a><a href="#pass-rates">Pass rates</a><a href="#figures">Figures</a><a href="#metrics">Metrics</a><a href="#scenario">Scenario</a></nav>

<h2 id="sweep">Sweep</h2>
<table>
<tr><th>scenario</th><td>{{.P.Scenario}}{{if .P.Source}} ({{.P.Source}}){{end}}</td></tr>
<tr><th>scenario digest</th><td><code>{{.P.Digest}}</code></td></tr>
<tr><th>mattersim version</th><td>{{.P.Version}}</td></tr>
<tr><th>base seed</th><td>{{seed .P.Seed}}</td></tr>
<tr><th>network mode</th><td>{{.P.Network}}</td></tr>
<tr><th>fixed parameters</th><td>{{range $i, $p := .Set}}{{if $i}}, {{end}}<code>{{$p.Name}}={{$p.Value}}</code>{{else}}none{{end}}</td></tr>
<tr><th>ci variant</th><td>{{.P.CI}}</td></tr>
{{range .Axes}}<tr><th>axis <code>{{.Param}}</code></th><td>{{.Values}}</td></tr>
{{end}}<tr><th>repetitions</th><td>{{.P.Reps}} per point: {{count (len .Points) "point"}}, {{count .Runs "run"}}</td></tr>
<tr><th>run assertions</th><td>{{if .RunFailed}}<span class="failed">{{.RunFailed}} of {{.RunChecks}} checks failed</span>{{else}}{{.RunChecks}} checks, all held{{end}}</td></tr>
<tr><th>aggregate assertions</th><td>{{if lt .ChecksHeld .ChecksTotal}}<span class="failed">{{.ChecksHeld}} of {{.ChecksTotal}} checks hold</span>{{else}}{{.ChecksHeld}} of {{.ChecksTotal}} checks hold{{end}}</td></tr>
</table>
<div class="wide"><table>
<tr><th>point</th><th>values</th><th>runs (metrics.json)</th></tr>
{{range .Points}}<tr><td class="num">{{.Index}}</td><td><code>{{.Label}}</code></td><td>{{range $i, $r := .Runs}}{{if $i}} {{end}}<a href="{{$r.Href}}">{{$r.Name}}</a>{{end}}</td></tr>
{{end}}</table></div>

<h2 id="aggregate">Aggregate assertions</h2>
{{if or .Checks .Unchecked}}{{range .Checks}}<p class="{{if .Holds}}passed{{else}}failed{{end}}">{{.Mark}} <code>{{.Text}}</code>: {{.Summary}}</p>
<table>
<tr><th></th><th>point</th><th>observed</th></tr>
{{range .Points}}<tr class="{{if .Holds}}passed{{else}}failed{{end}}"><td>{{if .Holds}}✓{{else}}✗{{end}}</td><td><code>{{.Label}}</code></td><td class="num">{{.Observed}}</td></tr>
{{end}}</table>
{{end}}{{range .Unchecked}}<p>{{.Mark}} <code>{{.Text}}</code>: {{.Summary}}</p>
{{end}}{{else}}<p>The scenario has no sweep.aggregate assertions.</p>{{end}}

<h2 id="pass-rates">Pass rates</h2>
{{if .Assertions}}<p>Per point, the runs in which each assertion held, and the pass rate's 95% Wilson interval.</p>
<div class="wide"><table>
<tr><th>assertion</th>{{range .Points}}<th>point {{.Index}}<br><code>{{.Label}}</code></th>{{end}}</tr>
{{range .Assertions}}<tr><td><code>{{.Name}}</code></td>{{range .Cells}}<td class="num {{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table></div>{{else}}<p>The scenario has no assertions.</p>{{end}}

<h2 id="figures">Figures</h2>
{{if .NoScenario}}<p>Not drawn: {{.NoScenario}}.</p>
{{else}}{{range .Figures}}<figure id="fig-{{.Name}}">
{{.Inline}}
<figcaption><b>{{.Title}}</b>. {{.Caption}} Files: <a href="{{.PNG}}">{{.Name}}.png</a>, <a href="{{.SVG}}">{{.Name}}.svg</a>.</figcaption>
</figure>
{{end}}{{if .Skipped}}<p>Not drawn ({{count (len .Skipped) "figure"}}):</p>
<ul>{{range .Skipped}}<li><code>{{.Name}}</code>: {{.Reason}}</li>{{end}}</ul>
{{else}}<p>Every sweep figure the scenario declares is drawn above.</p>{{end}}{{end}}

<h2 id="metrics">Metrics</h2>
<p>Per point, the mean of each metric's overall value over the runs and its 95% Student t interval, clipped to the metric's range (metrics.csv).</p>
<div class="wide"><table>
<tr><th>metric</th><th>kind</th>{{range .Points}}<th>point {{.Index}}<br><code>{{.Label}}</code></th>{{end}}</tr>
{{range .Metrics}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td>{{range .Cells}}<td class="num">{{.Text}}</td>{{end}}</tr>
{{end}}</table></div>

<h2 id="scenario">Scenario</h2>
{{if .NoScenario}}<p>Not shown: {{.NoScenario}}.</p>{{else}}<pre>{{.Text}}</pre>{{end}}
</body>
</html>
`))
