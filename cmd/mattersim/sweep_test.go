package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

func TestSweepCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sw")
	code, stdout, stderr := runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%,30%", "--reps", "2",
		"--workers", "2", "--show", "read_latency.p99", "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "mattersim sweep: mrp-loss, 2 points × 2 runs")
	require.Contains(t, stdout, "point 1  loss=30%  (2 runs)")
	require.Contains(t, stdout, "read_latency.p99")
	for _, f := range []string{"metrics.csv", "assertions.csv", "report.html", "runs/0-0/metrics.json", "runs/1-1/metrics.json"} {
		_, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
	}
	// The page's path comes last, as run prints it.
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Equal(t, "report: "+filepath.Join(out, "report.html"), lines[len(lines)-1])
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "sync-timeout"}, "no --sweep PARAM=V1,V2,... and no sweep.axes in files/sync-timeout.yaml"},
		{[]string{"sweep", "mrp-loss", "--sweep", "loss"}, "want PARAM=V1,V2"},
		{[]string{"sweep", "mrp-loss", "--sweep", "loss=5%", "--set", "loss=1%"}, "both swept and --set"},
		{[]string{"sweep", "mrp-loss", "--sweep", "loss=5%", "--show", "no.such"}, "--show no.such: no such metric"},
		{[]string{"sweep", "mrp-loss", "--sweep", "loss=5%", "--reps", "0"}, "at least 1"},
		{[]string{"sweep", "mrp-loss", "--sweep", "loss=500", "--ci"}, "point loss=500"},
		{[]string{"sweep"}, "want one scenario"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		require.Equal(t, 2, code, "case %d: %s", i+1, stderr)
		require.True(t, strings.Contains(stderr, tc.want), "case %d: %q", i+1, stderr)
	}
}

// The scenario's sweep: block gives the axes, reps and aggregate
// assertions; flags override them; a failing aggregate assertion fails
// the sweep (exit 1) and names the points.
func TestSweepFileBlock(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "sweep", "mrp-loss", "--ci", "--reps", "1", "--out", filepath.Join(dir, "a"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "mattersim sweep: mrp-loss, 4 points × 1 runs")
	require.Contains(t, stdout, "point 3  loss=30%  (1 runs)")
	require.Contains(t, stdout, "✓ read_latency.p99.mean <= 2s at loss=10%  holds at 1/1 points")
	agg, err := os.ReadFile(filepath.Join(dir, "a", "aggregate.csv"))
	require.NoError(t, err)
	require.Equal(t, 6, strings.Count(string(agg), "\n"), string(agg)) // header, 4 points, 1 at loss=10%

	sh, ok := scenarios.LookupShipped("mrp-loss")
	require.True(t, ok)
	strict := strings.Replace(string(sh.Data), "read_latency.p99.mean <= 2s at loss=10%", "read_latency.p99.mean <= 1ms at loss=10%", 1)
	require.NotEqual(t, string(sh.Data), strict)
	file := filepath.Join(dir, "strict.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strict), 0o644))
	code, stdout, stderr = runCLI(t, "sweep", file, "--ci", "--reps", "1", "--sweep", "loss=10%", "--out", filepath.Join(dir, "b"))
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stdout, "1 points × 1 runs")
	require.Contains(t, stdout, "✗ read_latency.p99.mean <= 1ms at loss=10% holds at 0/1 points; fails at loss=10% (")
	require.Contains(t, stderr, "sweep: 1 aggregate checks failed (aggregate.csv)")
	// report.html gives the same verdict.
	page, err := os.ReadFile(filepath.Join(dir, "b", "report.html"))
	require.NoError(t, err)
	for _, want := range []string{`— <span class="failed">failed</span></h1>`,
		`<p class="failed">✗ <code>read_latency.p99.mean &lt;= 1ms at loss=10%</code>: holds at 0 of 1 points</p>`,
		`<tr><th>axis <code>loss</code></th><td>10%</td></tr>`, "<tr><th>repetitions</th><td>1 per point: 1 point, 1 run</td></tr>"} {
		require.Contains(t, string(page), want)
	}
}
