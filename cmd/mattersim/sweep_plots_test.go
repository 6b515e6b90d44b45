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
