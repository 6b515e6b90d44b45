package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateFigures = flag.Bool("update-figures", false, "rewrite docs/research-*.png from the README's sweep")

// The README's research workflow: its sweep (the first command of the
// section, which TestReadmeExamples also runs) draws exactly the figure
// committed as docs/research-mrp-loss.png (sweeps are deterministic).
// -update-figures rewrites it.
func TestResearchFigureUpToDate(t *testing.T) {
	readme, err := filepath.Abs("../../README.md")
	require.NoError(t, err)
	docPNG, err := filepath.Abs("../../docs/research-mrp-loss.png")
	require.NoError(t, err)
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	section := bytes.Index(data, []byte("\n## Research workflows\n"))
	require.Positive(t, section, "README has a Research workflows section")
	startLine := bytes.Count(data[:section], []byte("\n")) + 2
	var ex *readmeExample
	for _, e := range readmeExamples(t, readme) {
		if e.line > startLine {
			ex = &e
			break
		}
	}
	require.NotNil(t, ex, "a $ mattersim command in Research workflows")
	require.Equal(t, "sweep", ex.args[0])
	require.True(t, strings.Contains(string(data[section:]), "(docs/research-mrp-loss.png)"))

	t.Chdir(t.TempDir())
	runCLI(t, ex.args...) // exit 1: one assertion fails at 40% loss, as the README says
	got, err := os.ReadFile(filepath.Join("mattersim-out", "mrp-loss-sweep", "plots", "latency-vs-loss.png"))
	require.NoError(t, err)
	if *updateFigures {
		require.NoError(t, os.WriteFile(docPNG, got, 0o644))
	}
	want, err := os.ReadFile(docPNG)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "docs/research-mrp-loss.png is stale: go test ./cmd/mattersim -run TestResearchFigureUpToDate -update-figures")
}
