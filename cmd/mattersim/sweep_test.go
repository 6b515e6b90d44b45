package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSweepCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sw")
	code, stdout, stderr := runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%,30%", "--reps", "2",
		"--workers", "2", "--show", "read_latency.p99", "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "mattersim sweep: mrp-loss, 2 points × 2 runs")
	require.Contains(t, stdout, "point 1  loss=30%  (2 runs)")
	require.Contains(t, stdout, "read_latency.p99")
	for _, f := range []string{"metrics.csv", "assertions.csv", "runs/0-0/metrics.json", "runs/1-1/metrics.json"} {
		_, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
	}
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "mrp-loss"}, "no --sweep"},
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
