package plot

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/reports/sweep"
	"mattersim/scenarios"
)

// aggregate builds a sweep result over axes with metric m = f(point) at
// every point (interval ±0.1), as sweep.Execute or a merge of shards
// would.
func aggregate(axes []sweep.Axis, m string, f func(p sweep.Point) float64) *sweep.Result {
	res := &sweep.Result{Axes: axes, Points: sweep.Grid(axes), Reps: 3}
	for _, p := range res.Points {
		v := f(p)
		res.Agg = append(res.Agg, sweep.PointAgg{Point: p, Metrics: map[string]sweep.Interval{m: {N: 3, Mean: v, Low: v - 0.1, Hi: v + 0.1}}})
	}
	return res
}

func loadTiny(t *testing.T) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load("testdata/tiny-plots.yaml", scenarios.Overrides{})
	require.NoError(t, err)
	return s
}

// The declared sweep figure is drawn against its x parameter, one line
// per value of the other axes; the same aggregate gives the same bytes;
// the run's other figures are listed as not drawn.
func TestSweepFigures(t *testing.T) {
	s := loadTiny(t)
	axes := []sweep.Axis{{Param: "loss", Values: []string{"0%", "10%", "20%"}}, {Param: "seed_hint", Values: []string{"a", "b"}}}
	res := aggregate(axes, "reads.answered_ratio", func(p sweep.Point) float64 { return float64(p.Index) / 10 })
	a, err := Sweep(s, res)
	require.NoError(t, err)
	b, err := Sweep(s, res)
	require.NoError(t, err)
	require.Len(t, a.Figures, 1)
	f := a.Figures[0]
	require.Equal(t, "answered-vs-loss", f.Name)
	require.False(t, f.NoData)
	require.Equal(t, string(f.SVG), string(b.Figures[0].SVG))
	require.Equal(t, f.PNG, b.Figures[0].PNG)
	svg := string(f.SVG)
	for _, want := range []string{"loss (%)", "reads.answered_ratio (seed_hint=a)", "reads.answered_ratio (seed_hint=b)"} {
		require.Contains(t, svg, want)
	}
	require.Len(t, a.Skipped, 5, "the run's figures")
}

// A sweep that does not vary the figure's x says so in the figure; a
// scenario without sweep plots gets one per assertion metric, against the
// first axis, which may be nominal.
func TestSweepNoDataAndDefaults(t *testing.T) {
	s := loadTiny(t)
	axes := []sweep.Axis{{Param: "method", Values: []string{"pase", "keys"}}}
	res := aggregate(axes, "reads.answered_ratio", func(sweep.Point) float64 { return 1 })
	set, err := Sweep(s, res)
	require.NoError(t, err)
	require.True(t, set.Figures[0].NoData)
	require.Contains(t, string(set.Figures[0].SVG), "the sweep does not vary loss")

	s.Plots = nil
	set, err = Sweep(s, res)
	require.NoError(t, err)
	require.Len(t, set.Figures, 1)
	require.Equal(t, "sweep-reads_answered_ratio", set.Figures[0].Name)
	require.Contains(t, string(set.Figures[0].SVG), "pase")
	require.Empty(t, set.Skipped)
}

func TestXAxis(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		xs      []float64
		unit    string
		nominal bool
	}{
		{[]string{"1", "2.5"}, []float64{1, 2.5}, "", false},
		{[]string{"5%", "40%"}, []float64{5, 40}, "%", false},
		{[]string{"100ms", "2s"}, []float64{0.1, 2}, "s", false},
		{[]string{"5%", "0.4"}, []float64{0, 1}, "", true},
		{[]string{"pase", "keys"}, []float64{0, 1}, "", true},
	} {
		xs, unit, nominal := xAxis(tc.in)
		require.Equal(t, tc.xs, xs, "%v", tc.in)
		require.Equal(t, tc.unit, unit, "%v", tc.in)
		require.Equal(t, tc.nominal, nominal, "%v", tc.in)
	}
}

// A sweep's report.html is one self-contained page with the plan, the
// aggregate assertions' verdicts per point, the pass rates with their
// Wilson intervals, the metric table and the figures; a failed run
// assertion or aggregate check marks it failed; without the scenario it
// says why instead of the figures and the text.
func TestSweepHTML(t *testing.T) {
	s := loadTiny(t)
	axes := []sweep.Axis{{Param: "loss", Values: []string{"0%", "20%"}}}
	res := aggregate(axes, "reads.answered_ratio", func(p sweep.Point) float64 { return 1 - float64(p.Index)/5 })
	res.Agg[0].Assertions = []sweep.AssertionAgg{{Text: "reads.answered_ratio >= 0.9", Held: 3, Pass: sweep.Wilson(3, 3)}}
	res.Agg[1].Assertions = []sweep.AssertionAgg{{Text: "reads.answered_ratio >= 0.9", Held: 1, Pass: sweep.Wilson(1, 3)}}
	a, err := scenarios.ParseAggregateAssertion("reads.answered_ratio.mean >= 0.5")
	require.NoError(t, err)
	res.Checks = []sweep.CheckVerdict{{Assertion: a, Point: 0, Observed: 1, Holds: true}, {Assertion: a, Point: 1, Observed: 0.8, Holds: true}}
	figs, err := Sweep(s, res)
	require.NoError(t, err)
	plan := sweep.NewPlan(sweep.Plan{Scenario: "tiny-plots", Source: "testdata/tiny-plots.yaml", Seed: 7, Network: "netstack",
		Axes: axes, Reps: 3, Aggregate: []string{a.Text}, Version: "v-test", Set: map[string]string{"devices": "2"}}, sweep.Shard{})
	page := func(pg SweepPage) string {
		var b bytes.Buffer
		require.NoError(t, WriteSweepHTML(&b, pg))
		return b.String()
	}
	pg := SweepPage{Plan: plan, Result: res, ScenarioText: "name: tiny-plots # <escaped>", Figures: figs}
	html := page(pg)
	require.Equal(t, html, page(pg), "a pure function of the page")
	require.Equal(t, len(figs.Figures), strings.Count(html, "<svg"))
	require.NotContains(t, strings.ToLower(html), "<script")
	require.NotContains(t, html, "<img")
	rest := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(html)
	require.NotContains(t, rest, "http")
	for _, want := range []string{
		`— <span class="failed">failed</span></h1>`, // one run assertion failed at loss=20%
		"<tr><th>mattersim version</th><td>v-test</td></tr>", "<tr><th>base seed</th><td>7</td></tr>",
		"<tr><th>network mode</th><td>netstack</td></tr>", "<code>devices=2</code>",
		"<tr><th>axis <code>loss</code></th><td>0%, 20%</td></tr>", "3 per point: 2 points, 6 runs",
		`<span class="failed">2 of 6 checks failed</span>`,
		`<p class="passed">✓ <code>reads.answered_ratio.mean &gt;= 0.5</code>: holds at 2 of 2 points</p>`,
		`<td><code>loss=20%</code></td><td class="num">0.8</td>`,
		`<td class="num passed">3/3 [0.439, 1.000]</td><td class="num failed">1/3 [0.061, 0.792]</td>`,
		`<td><code>reads.answered_ratio</code></td><td>ratio</td><td class="num">1 [0.9, 1.1]</td>`,
		`<a href="runs/1-2/metrics.json">1-2</a>`, `href="plots/answered-vs-loss.svg"`, "# &lt;escaped&gt;",
	} {
		require.Contains(t, html, want)
	}

	// All held: passed.
	res.Agg[1].Assertions[0] = sweep.AssertionAgg{Text: "reads.answered_ratio >= 0.9", Held: 3, Pass: sweep.Wilson(3, 3)}
	require.Contains(t, page(pg), `— <span class="passed">passed</span></h1>`)
	// A failing aggregate check alone fails it.
	res.Checks[1].Holds = false
	require.Contains(t, page(pg), `<p class="failed">✗ <code>reads.answered_ratio.mean &gt;= 0.5</code>: holds at 1 of 2 points</p>`)
	require.Contains(t, page(pg), `— <span class="failed">failed</span></h1>`)

	html = page(SweepPage{Plan: plan, Result: res, NoScenario: "x.yaml has changed"})
	require.Contains(t, html, "<p>Not drawn: x.yaml has changed.</p>")
	require.Contains(t, html, "<p>Not shown: x.yaml has changed.</p>")
	require.NotContains(t, html, "<svg")
}
