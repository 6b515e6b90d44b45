package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateShippedAndFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("name: good\nduration: 5s\nnodes:\n  - {name: c, role: controller}\n  - {name: d, count: 2}\n"), 0o644))
	code, out, stderr := runCLI(t, "validate", "default", "mrp-loss", good)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "ok default\nok mrp-loss\nok "+good+"\n", out)
	require.Empty(t, stderr)
}

// Every problem of every file is printed, positioned; exit status 2;
// valid files still get their ok line.
func TestValidateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: bad\nduration: 60\nnodes:\n  - {name: c, role: controller}\n  - {name: d, count: 2, window_size: 65}\nfaults:\n  - links: {to: lamps}\n    loss: {p: 1.5}\nassertions:\n  - reads.answerd_ratio >= 1\n"), 0o644))
	code, out, stderr := runCLI(t, "validate", bad, "default")
	require.Equal(t, 2, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, []string{
		bad + ":2:11: duration: 60 has no unit: write e.g. 60s or 60ms",
		bad + ":5:38: nodes[1].window_size: 65 is out of range 1..64",
		bad + ":7:17: faults[0].links.to: lamps: no node group \"lamps\" (groups: c, d)",
		bad + ":8:15: faults[0].loss.p: 1.5 is above 1: a bare number is a fraction in [0, 1]; write 1.5% for a percentage",
		bad + ":10:5: assertions[0]: unknown metric \"reads.answerd_ratio\" (see docs/scenario-metrics.md; did you mean reads.answered_ratio?)",
		"ok default",
	}, lines)
	require.Contains(t, stderr, "1 of 2 scenarios invalid")

	code, out, _ = runCLI(t, "validate", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, 2, code)
	require.Contains(t, out, "no such file")
	code, out, _ = runCLI(t, "validate", "no-such-name")
	require.Equal(t, 2, code)
	require.Contains(t, out, "mattersim list")
}

func TestValidateOverrides(t *testing.T) {
	code, out, _ := runCLI(t, "validate", "--set", "loss=5", "default")
	require.Equal(t, 2, code)
	require.Contains(t, out, `files/default.yaml:38:15: faults[0].loss.p: 5 is above 1`)
	require.Contains(t, out, `(from ${loss} = "5")`)
	code, out, _ = runCLI(t, "validate", "--set", "nope=1", "default")
	require.Equal(t, 2, code)
	require.Contains(t, out, "files/default.yaml: --set nope: the scenario has no parameter nope")
	code, out, stderr := runCLI(t, "validate", "--set", "loss=20%", "--set", "devices=199", "--ci", "default")
	require.Equal(t, 0, code, out+stderr)
	code, _, stderr = runCLI(t, "validate", "--set", "loss", "default")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "name=value")
	code, _, stderr = runCLI(t, "validate")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "at least one")
}

// An interval of 1ns for a minute is refused up front, with how to
// override; --force accepts it.
func TestValidateEventBudget(t *testing.T) {
	code, out, _ := runCLI(t, "validate", "--set", "interval=1ns", "default")
	require.Equal(t, 2, code)
	require.Contains(t, out, "traffic[0].interval: the scenario would take about")
	require.Contains(t, out, "--force")
	code, out, stderr := runCLI(t, "validate", "--force", "--set", "interval=1ns", "default")
	require.Equal(t, 0, code, out+stderr)
}

func TestList(t *testing.T) {
	code, out, stderr := runCLI(t, "list")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 14)
	var names []string
	for _, l := range lines {
		f := strings.Fields(l)
		names = append(names, f[0])
		require.Greater(t, len(f), 3, l)
	}
	require.Equal(t, []string{"default", "mrp-loss", "window-reorder", "replay-attack", "partition-heal", "case-partition", "home-200", "home-200-subs", "building-5000", "sync-timeout", "sync-jitter", "group-replay", "subs-partition", "commission-home"}, names)
	require.Contains(t, lines[1], "Delivery and latency of reads under iid loss")
	code, _, _ = runCLI(t, "list", "extra")
	require.Equal(t, 2, code)
}

func TestSchema(t *testing.T) {
	code, out, stderr := runCLI(t, "schema")
	require.Equal(t, 0, code, stderr)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", v["$schema"])
	require.Contains(t, out, `"window_size"`)
}
