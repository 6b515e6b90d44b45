package plot

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"mattersim/reports"
	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// Page is what report.html shows.
type Page struct {
	Report *reports.Report
	// ScenarioText is the scenario file as written (before parameter
	// substitution).
	ScenarioText string
	Figures      Set
	// PlotsDir is where the figures' files are, relative to the page
	// ("plots"): each figure links to its PNG and SVG.
	PlotsDir string
}

// inlineSVG strips the XML prolog of a gonum SVG so it can sit in HTML.
func inlineSVG(svg []byte) template.HTML {
	b := svg
	if i := bytes.Index(b, []byte("<svg")); i >= 0 {
		b = b[i:]
	}
	return template.HTML(b) // drawn by gonum/plot from our own data
}

type htmlFigure struct {
	Figure
	Inline   template.HTML
	PNG, SVG string
}

// htmlFigures are s's figures as a page shows them, inline and linked to
// their PNG and SVG under dir ("plots" if empty). The run page and the
// sweep page lay figures out the same way, so both build them here.
func htmlFigures(s Set, dir string) []htmlFigure {
	if dir == "" {
		dir = "plots"
	}
	var out []htmlFigure
	for _, f := range s.Figures {
		out = append(out, htmlFigure{Figure: f, Inline: inlineSVG(f.SVG),
			PNG: dir + "/" + f.Name + ".png", SVG: dir + "/" + f.Name + ".svg"})
	}
	return out
}

type htmlVerdict struct {
	Mark, Text, Observed, Bound string
	Holds                       bool
}

type htmlMetric struct {
	Name, Kind, Value string
	Groups            []string
}

type htmlParam struct{ Name, Value string }

type htmlData struct {
	R                 *reports.Report
	Status            string
	Passed            bool
	Params            []htmlParam
	Build, Wall, Virt string
	Held, Total       int
	Verdicts          []htmlVerdict
	Figures           []htmlFigure
	Skipped           []Skipped
	Groups            []string
	Metrics           []htmlMetric
	Text              string
}

// WriteHTML writes report.html: one self-contained page (styles inline,
// figures as inline SVG, no script, nothing fetched). It is a pure
// function of the page except for the wall times it shows.
func WriteHTML(w io.Writer, pg Page) error {
	r := pg.Report
	d := htmlData{R: r, Passed: r.Passed(), Text: pg.ScenarioText, Skipped: pg.Figures.Skipped,
		Build: r.BuildWall.Round(time.Microsecond).String(), Wall: r.Wall.Round(time.Microsecond).String(), Virt: r.Virtual.String(),
		Groups: r.Metrics.Groups, Total: len(r.Verdicts)}
	switch {
	case r.Interrupted:
		d.Status = "interrupted"
	case d.Passed:
		d.Status = "passed"
	default:
		d.Status = "failed"
	}
	for _, k := range scenarios.Parameters(r.Parameters).Sorted() {
		d.Params = append(d.Params, htmlParam{k, r.Parameters[k]})
	}
	for _, v := range r.Verdicts {
		k := v.Assertion.Metric.Kind
		hv := htmlVerdict{Mark: "✗", Text: v.Assertion.Text, Holds: v.Holds,
			Observed: scenarios.FormatValue(k, v.Observed), Bound: v.Assertion.Op.String() + " " + scenarios.FormatValue(k, v.Bound)}
		if v.Holds {
			hv.Mark = "✓"
			d.Held++
		}
		d.Verdicts = append(d.Verdicts, hv)
	}
	d.Figures = htmlFigures(pg.Figures, pg.PlotsDir)
	for _, m := range r.Metrics.Metrics {
		k := kindOf(m.Kind)
		hm := htmlMetric{Name: m.Name, Kind: m.Kind, Value: scenarios.FormatValue(k, m.Value)}
		for _, g := range m.Groups {
			hm.Groups = append(hm.Groups, scenarios.FormatValue(k, g))
		}
		if len(m.Groups) == 0 {
			hm.Groups = make([]string, len(r.Metrics.Groups)) // overall only: empty cells
		}
		d.Metrics = append(d.Metrics, hm)
	}
	return pageTmpl.Execute(w, d)
}

func kindOf(name string) metrics.Kind {
	for _, k := range []metrics.Kind{metrics.Count, metrics.Ratio, metrics.Duration, metrics.Value} {
		if k.String() == name {
			return k
		}
	}
	return metrics.Value
}

// pageCSS is the style sheet of report.html, of a run and of a sweep.
const pageCSS = `
body { font-family: sans-serif; margin: 1.5em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.passed { color: #1a7f37; } .failed, .interrupted { color: #cf222e; }
figure { margin: 1em 0 2em; } figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
.wide { overflow-x: auto; }
`

// pageFuncs are the template functions of the run and sweep pages.
var pageFuncs = template.FuncMap{
	"css":  func() template.CSS { return pageCSS },
	"seed": func(s uint64) string { return strconv.FormatUint(s, 10) },
	"count": func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	},
}

var pageTmpl = template.Must(template.New("report").Funcs(pageFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mattersim: {{.R.Scenario}} ({{.Status}})</title>
<style>{{css}}</style>
</head>
<body>
<h1>mattersim run: {{.R.Scenario}} — <span class="{{.Status}}">{{.Status}}</span></h1>
<nav><a href="#run">Run</a><a href="#assertions">Assertions</a><a href="#figures">Figures</a><a href="#metrics">Metrics</a><a href="#scenario">Scenario</a></nav>

<h2 id="run">Run</h2>
<table>
<tr><th>scenario</th><td>{{.R.Scenario}} ({{.R.Source}})</td></tr>
<tr><th>seed</th><td>{{seed .R.Seed}}</td></tr>
<tr><th>network mode</th><td>{{.R.Network}}</td></tr>
<tr><th>parameters</th><td>{{range $i, $p := .Params}}{{if $i}}, {{end}}<code>{{$p.Name}}={{$p.Value}}</code>{{else}}none{{end}}</td></tr>
<tr><th>mattersim version</th><td>{{.R.Version}}</td></tr>
<tr><th>wall time</th><td>{{.Wall}} run, {{.Build}} build</td></tr>
<tr><th>virtual time</th><td>{{.Virt}}</td></tr>
<tr><th>events</th><td>{{.R.Events}}</td></tr>
<tr><th>interrupted</th><td>{{.R.Interrupted}}</td></tr>
</table>

<h2 id="assertions">Assertions: {{.Held}} of {{.Total}} hold</h2>
{{if .Verdicts}}<table>
<tr><th></th><th>assertion</th><th>observed</th><th>bound</th></tr>
{{range .Verdicts}}<tr class="{{if .Holds}}passed{{else}}failed{{end}}"><td>{{.Mark}}</td><td><code>{{.Text}}</code></td><td class="num">{{.Observed}}</td><td>{{.Bound}}</td></tr>
{{end}}</table>{{else}}<p>The scenario has no assertions.</p>{{end}}

<h2 id="figures">Figures</h2>
{{range .Figures}}<figure id="fig-{{.Name}}">
{{.Inline}}
<figcaption><b>{{.Title}}</b>. {{.Caption}} Files: <a href="{{.PNG}}">{{.Name}}.png</a>, <a href="{{.SVG}}">{{.Name}}.svg</a>.</figcaption>
</figure>
{{end}}{{if .Skipped}}<p>Not drawn ({{count (len .Skipped) "figure"}}):</p>
<ul>{{range .Skipped}}<li><code>{{.Name}}</code>: {{.Reason}}</li>{{end}}</ul>
{{else}}<p>Every figure the scenario declares is drawn above.</p>{{end}}

<h2 id="metrics">Metrics</h2>
<table>
<tr><th>metric</th><th>kind</th><th>overall</th>{{range .Groups}}<th>{{.}}</th>{{end}}</tr>
{{range .Metrics}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td class="num">{{.Value}}</td>{{range .Groups}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table>

<h2 id="scenario">Scenario</h2>
<pre>{{.Text}}</pre>
</body>
</html>
`))
