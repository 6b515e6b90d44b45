package plot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/reports"
	"mattersim/scenarios"
)

// tinyRun runs testdata/tiny-plots.yaml and draws its figures.
func tinyRun(t *testing.T) (*scenarios.Scenario, *reports.Report, Set) {
	t.Helper()
	s, err := scenarios.Load("testdata/tiny-plots.yaml", scenarios.Overrides{})
	require.NoError(t, err)
	d, err := scenarios.NewNet(s, scenarios.RunConfig{})
	require.NoError(t, err)
	sum, err := d.Run()
	require.NoError(t, err)
	vs, err := s.Evaluate(d.Metrics)
	require.NoError(t, err)
	set, err := Run(s, d.Metrics)
	require.NoError(t, err)
	rep := &reports.Report{Scenario: s.Name, Source: s.Source(), Seed: s.Seed, Network: s.Network.String(), Parameters: s.Parameters,
		Version: "test", Virtual: sum.Virtual, Events: sum.Events, Verdicts: vs, Metrics: sum.Metrics}
	return s, rep, set
}

// A run draws the built-in figures and its declared ones, in order; a
// sweep figure is listed as not drawn; a figure without data says so.
func TestRunFigures(t *testing.T) {
	_, _, set := tinyRun(t)
	var names []string
	for _, f := range set.Figures {
		names = append(names, f.Name)
		require.True(t, bytes.HasPrefix(f.PNG, []byte("\x89PNG\r\n")), f.Name)
		require.Contains(t, string(f.SVG), "<svg", f.Name)
		require.Equal(t, f.NoData, strings.Contains(string(f.SVG), "(no data)"), f.Name)
	}
	require.Equal(t, append(append([]string(nil), scenarios.BuiltinPlots...),
		"reads-over-time", "retransmission-rate", "read-latency", "transmissions-cdf", "invoke-cdf"), names)
	byName := map[string]Figure{}
	for _, f := range set.Figures {
		byName[f.Name] = f
	}
	require.True(t, byName["invoke-cdf"].NoData)
	require.Contains(t, byName["invoke-cdf"].Caption, "no value of invoke_latency")
	require.False(t, byName["latency-cdf"].NoData)
	require.False(t, byName["read-latency"].NoData)
	require.False(t, byName["network-drops"].NoData, "10% loss drops frames")
	require.Equal(t, []Skipped{{"answered-vs-loss", "a sweep figure: mattersim sweep draws it from the runs of a sweep"}}, set.Skipped)
}

// The same run gives the same figures, byte for byte, and the same page.
func TestRunDeterministic(t *testing.T) {
	s, ra, a := tinyRun(t)
	_, rb, b := tinyRun(t)
	require.Equal(t, len(a.Figures), len(b.Figures))
	for i := range a.Figures {
		require.Equal(t, string(a.Figures[i].SVG), string(b.Figures[i].SVG), a.Figures[i].Name)
		require.Equal(t, a.Figures[i].PNG, b.Figures[i].PNG, a.Figures[i].Name)
	}
	var ha, hb bytes.Buffer
	require.NoError(t, WriteHTML(&ha, Page{Report: ra, ScenarioText: s.Name, Figures: a}))
	require.NoError(t, WriteHTML(&hb, Page{Report: rb, ScenarioText: s.Name, Figures: b}))
	require.Equal(t, ha.String(), hb.String())
}

// report.html is self-contained: inline SVG for every figure, no script,
// no external reference; it lists what was not drawn and every metric.
func TestHTMLSelfContained(t *testing.T) {
	_, rep, set := tinyRun(t)
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, Page{Report: rep, ScenarioText: "name: tiny-plots # <escaped>", Figures: set}))
	page := b.String()
	require.Equal(t, len(set.Figures), strings.Count(page, "<svg"))
	require.NotContains(t, page, "<?xml")
	require.NotContains(t, strings.ToLower(page), "<script")
	require.NotContains(t, page, "<img")
	require.NotContains(t, page, "<link")
	// The only URLs are SVG's XML namespaces.
	rest := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(page)
	require.NotContains(t, rest, "http://")
	require.NotContains(t, rest, "https://")
	for _, want := range []string{"tiny-plots", "seed</th><td>7", "<code>loss=10%</code>", "reads.answered_ratio &gt;= 0.5",
		"Not drawn (1 figure)", "<code>answered-vs-loss</code>", "<code>network.dropped.loss</code>", "# &lt;escaped&gt;",
		`href="plots/latency-cdf.png"`} {
		require.Contains(t, page, want)
	}
}

// Every shipped scenario declares the figures that answer its question,
// and its short (ci:) variant draws each of its run figures with data.
func TestShippedFigures(t *testing.T) {
	for _, sh := range scenarios.Shipped() {
		t.Run(sh.Name, func(t *testing.T) {
			s, err := scenarios.Open(sh.Name, scenarios.Overrides{CI: true})
			require.NoError(t, err)
			require.NotEmpty(t, s.Plots, "a shipped scenario declares its figures")
			d, err := scenarios.NewNet(s, scenarios.RunConfig{})
			require.NoError(t, err)
			_, err = d.Run()
			require.NoError(t, err)
			set, err := Run(s, d.Metrics)
			require.NoError(t, err)
			drawn := map[string]Figure{}
			for _, f := range set.Figures {
				drawn[f.Name] = f
			}
			for _, pl := range s.Plots {
				if pl.Kind == scenarios.PlotSweep {
					continue
				}
				f, ok := drawn[pl.Name]
				require.True(t, ok, pl.Name)
				require.False(t, f.NoData, "%s: %s", pl.Name, f.Caption)
			}
		})
	}
}

// A figure that fails or panics is listed as not drawn, with the reason;
// the others are kept.
func TestDrawFailures(t *testing.T) {
	var set Set
	set.draw("ok", func() (Figure, error) { return noData("ok", "fine", "nothing") })
	set.draw("err", func() (Figure, error) { return Figure{}, errors.New("broken input") })
	set.draw("panic", func() (Figure, error) { panic("log scale of 0") })
	require.Len(t, set.Figures, 1)
	require.Equal(t, []Skipped{{"err", "could not be drawn: broken input"}, {"panic", "could not be drawn: panic: log scale of 0"}}, set.Skipped)
}

func TestTitle(t *testing.T) {
	for _, tc := range []struct {
		pl   scenarios.Plot
		want string
	}{
		{scenarios.Plot{Title: "Mine", Kind: scenarios.PlotCDF, Metrics: []string{"read_latency"}}, "Mine"},
		{scenarios.Plot{Kind: scenarios.PlotMetricVsTime, Metrics: []string{"a", "b"}}, "a, b over time"},
		{scenarios.Plot{Kind: scenarios.PlotMetricVsTime, Rate: true, Metrics: []string{"a"}}, "a per second over time"},
		{scenarios.Plot{Kind: scenarios.PlotHistogram, Metrics: []string{"read_latency"}}, "Histogram of read_latency"},
		{scenarios.Plot{Kind: scenarios.PlotCDF, Metrics: []string{"read_latency"}}, "CDF of read_latency"},
		{scenarios.Plot{Kind: scenarios.PlotSweep, X: "loss", Metrics: []string{"reads.answered_ratio"}}, "reads.answered_ratio vs loss"},
	} {
		require.Equal(t, tc.want, Title(&tc.pl))
	}
}

// A reused plots/ keeps only this set's figures: the figure files an
// earlier run wrote that this one does not are removed, files of any
// other name, subdirectories and links are left alone, and a missing
// directory is neither an error nor created.
func TestWriteRemovesStaleFigures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plots")
	fig := func(name string) Figure { return Figure{Name: name, SVG: []byte("<svg/>"), PNG: []byte("png " + name)} }
	require.NoError(t, Set{Figures: []Figure{fig("old-figure"), fig("kept")}}.Write(dir))
	user := []string{"notes.txt", "My Figure.png", "old-figure.png.bak", "README.md", "UPPER.svg", ".hidden.png"}
	for _, f := range user {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.png"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub.png", "inner.png"), []byte("mine"), 0o644))
	target := filepath.Join(t.TempDir(), "target.png")
	require.NoError(t, os.WriteFile(target, []byte("mine"), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link.png")))

	require.NoError(t, Set{Figures: []Figure{fig("kept"), fig("new_one")}}.Write(dir))
	var got []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append([]string{"kept.png", "kept.svg", "new_one.png", "new_one.svg", "sub.png", "link.png"}, user...)
	require.ElementsMatch(t, want, got)
	require.FileExists(t, filepath.Join(dir, "sub.png", "inner.png"))
	require.FileExists(t, target)

	missing := filepath.Join(t.TempDir(), "none")
	require.NoError(t, Set{}.RemoveStale(missing))
	require.NoDirExists(t, missing)
}
