package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A sweep draws its scenario's sweep figures into plots/, as PNG and SVG,
// and the same sweep draws the same bytes.
func TestSweepPlots(t *testing.T) {
	var svgs [2][]byte
	for i := range svgs {
		out := filepath.Join(t.TempDir(), "sw")
		code, _, stderr := runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%,30%", "--reps", "2", "--quiet", "--out", out)
		require.Equal(t, 0, code, stderr)
		for _, f := range []string{"answered-vs-loss.png", "answered-vs-loss.svg", "latency-vs-loss.png", "latency-vs-loss.svg"} {
			require.FileExists(t, filepath.Join(out, "plots", f))
		}
		var err error
		svgs[i], err = os.ReadFile(filepath.Join(out, "plots", "latency-vs-loss.svg"))
		require.NoError(t, err)
	}
	require.Equal(t, string(svgs[0]), string(svgs[1]))
}

// run and sweep reuse an --out: the figure files an earlier run left in
// plots/ that this one does not draw go, the user's files stay.
func TestReusedOutRemovesStaleFigures(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ours string // a figure this command draws
	}{
		{"run", []string{"run", "--set", "devices=9", "--duration", "5s", "--quiet"}, "latency-cdf.svg"},
		{"sweep", []string{"sweep", "mrp-loss", "--ci", "--sweep", "loss=5%", "--reps", "1", "--quiet"}, "latency-vs-loss.svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			plots := filepath.Join(out, "plots")
			require.NoError(t, os.MkdirAll(plots, 0o755))
			for _, f := range []string{"figure-of-an-earlier-run.png", "figure-of-an-earlier-run.svg", "notes.txt", "Draft 1.png"} {
				require.NoError(t, os.WriteFile(filepath.Join(plots, f), []byte("old"), 0o644))
			}
			code, _, stderr := runCLI(t, append(tc.args, "--out", out)...)
			require.Equal(t, 0, code, stderr)
			require.NoFileExists(t, filepath.Join(plots, "figure-of-an-earlier-run.png"))
			require.NoFileExists(t, filepath.Join(plots, "figure-of-an-earlier-run.svg"))
			require.FileExists(t, filepath.Join(plots, "notes.txt"))
			require.FileExists(t, filepath.Join(plots, "Draft 1.png"))
			require.FileExists(t, filepath.Join(plots, tc.ours))
		})
	}
}
