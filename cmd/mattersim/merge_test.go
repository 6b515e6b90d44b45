package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

// asCLIEnv makes the test binary behave as mattersim (TestMain), so tests
// can start shards as separate processes without building the command.
const asCLIEnv = "MATTERSIM_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// wallRE matches the measured wall times of a metrics.json, the only
// bytes in which two executions of one run differ.
var wallRE = regexp.MustCompile(`"(build_s|run_s)": [0-9.e+-]+`)

// readTree maps every file under dir to its content, wall times blanked
// in metrics.json.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := string(b)
		if filepath.Base(p) == "metrics.json" {
			s = wallRE.ReplaceAllString(s, `"$1": 0`)
		}
		out[rel] = s
		return nil
	}))
	return out
}

// Three shards run as separate processes with JOB_COMPLETION_INDEX set,
// as the pods of a Kubernetes Indexed Job do; merge joins them into
// exactly the unsharded sweep: metrics.csv, assertions.csv, aggregate.csv,
// sweep.json, the figures and report.html byte for byte, and the same runs/
// tree (metrics.json byte for byte but for the measured wall times).
func TestShardsMergeToTheUnshardedSweep(t *testing.T) {
	dir := t.TempDir()
	args := []string{"sweep", "mrp-loss", "--ci", "--sweep", "loss=5%..25%/10%", "--sweep", "burst_r=30%,50%", "--reps", "2", "--workers", "1", "--quiet"}
	code, _, stderr := runCLI(t, append(args, "--out", filepath.Join(dir, "full"))...)
	require.Equal(t, 0, code, stderr)

	const n = 3
	var procs []*exec.Cmd
	var outs []*strings.Builder
	for i := range n {
		c := exec.Command(os.Args[0], append(args, "--shard", "auto", "--out", filepath.Join(dir, fmt.Sprintf("shard-%d", i)))...)
		c.Env = append(os.Environ(), asCLIEnv+"=1", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), fmt.Sprintf("MATTERSIM_SHARDS=%d", n))
		var b strings.Builder
		c.Stdout, c.Stderr = &b, &b
		require.NoError(t, c.Start())
		procs, outs = append(procs, c), append(outs, &b)
	}
	for i, c := range procs {
		require.NoError(t, c.Wait(), "shard %d: %s", i, outs[i])
	}
	shards := []string{filepath.Join(dir, "shard-0"), filepath.Join(dir, "shard-1"), filepath.Join(dir, "shard-2")}
	for _, s := range shards {
		_, err := os.Stat(filepath.Join(s, "metrics.csv"))
		require.ErrorIs(t, err, os.ErrNotExist, "a shard writes no aggregate")
	}
	code, stdout, stderr := runCLI(t, "merge", shards[0], shards[1], shards[2], "--out", filepath.Join(dir, "merged"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "mattersim merge: mrp-loss from 3 outputs, 6 points × 2 runs")

	full, merged := readTree(t, filepath.Join(dir, "full")), readTree(t, filepath.Join(dir, "merged"))
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range full {
			if !yield(k) {
				return
			}
		}
	})
	// 12 runs, sweep.json, metrics.csv, assertions.csv, aggregate.csv,
	// report.html and mrp-loss's two sweep figures as PNG and SVG, drawn
	// by merge from the aggregate as by the sweep.
	require.Len(t, names, 12+5+4)
	require.Contains(t, names, "plots/latency-vs-loss.svg")
	require.Contains(t, names, "report.html")
	require.Contains(t, full["report.html"], `<figure id="fig-latency-vs-loss">`)
	require.Equal(t, len(full), len(merged))
	for _, name := range names {
		require.Equal(t, full[name], merged[name], name)
	}
	for _, f := range []string{"metrics.csv", "assertions.csv", "aggregate.csv", "sweep.json", "report.html"} {
		a, err := os.ReadFile(filepath.Join(dir, "full", f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dir, "merged", f))
		require.NoError(t, err)
		require.Equal(t, string(a), string(b), f)
	}

	// What merge refuses, in one line each.
	other := filepath.Join(dir, "other-seed")
	code, _, stderr = runCLI(t, append(args, "--seed", "7", "--shard", "1/3", "--out", other)...)
	require.Equal(t, 0, code, stderr)
	direct := filepath.Join(dir, "other-network")
	code, _, stderr = runCLI(t, append(args, "--network", "direct", "--shard", "1/3", "--out", direct)...)
	require.Equal(t, 0, code, stderr)
	for i, tc := range []struct {
		dirs []string
		want string
	}{
		{[]string{shards[0], shards[2]}, "merge: 4 of 12 runs missing (shards 1/3 not given): 0-1 2-0 3-1 5-0"},
		{[]string{shards[0], shards[0], shards[1]}, "are both shard 0/3"},
		{[]string{shards[0], other, shards[2]}, "are not shards of one sweep: different seed (1 vs 7)"},
		{[]string{shards[0], direct, shards[2]}, "are not shards of one sweep: different network mode (netstack vs direct)"},
		{[]string{shards[0], filepath.Join(dir, "full")}, "different shard count (3 vs 1)"},
		{[]string{dir}, "no sweep.json: not the output of mattersim sweep"},
	} {
		code, _, stderr := runCLI(t, append([]string{"merge", "--out", filepath.Join(dir, "bad")}, tc.dirs...)...)
		require.Equal(t, 2, code, "case %d", i+1)
		require.Contains(t, stderr, tc.want, "case %d", i+1)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "case %d: one line: %s", i+1, stderr)
	}
	// A run deleted from a shard is named.
	require.NoError(t, os.Remove(filepath.Join(shards[1], "runs", "3-1", "metrics.json")))
	code, _, stderr = runCLI(t, "merge", shards[0], shards[1], shards[2], "--out", filepath.Join(dir, "bad"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "1 of 12 runs missing or unreadable: 3-1")
	// A run whose parameters are not its point's is refused too.
	p := filepath.Join(shards[2], "runs", "1-0", "metrics.json")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	edited := strings.Replace(string(data), `"burst_r": "50%"`, `"burst_r": "51%"`, 1) // point 1: loss=5%,burst_r=50%
	require.True(t, edited != string(data), "no burst_r in %s", p)
	require.NoError(t, os.WriteFile(p, []byte(edited), 0o644))
	code, _, stderr = runCLI(t, "merge", shards[0], shards[1], shards[2], "--out", filepath.Join(dir, "bad"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "2 of 12 runs missing or unreadable: 1-0 3-1 (first: ")
	require.Contains(t, stderr, `parameter burst_r is "51%", the point's value is "50%"`)
}

func TestParseShard(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for i, tc := range []struct {
		spec   string
		shards int
		env    map[string]string
		want   string // shard, or an error substring
	}{
		{"", 0, nil, "0/1"},
		{"1/4", 0, nil, "1/4"},
		{"4/4", 0, nil, "want 0 ≤ i < n"},
		{"x", 0, nil, "want i/n"},
		{"1/4", 4, nil, "--shards is for --shard auto"},
		{"auto", 0, map[string]string{"JOB_COMPLETION_INDEX": "2", "MATTERSIM_SHARDS": "5"}, "2/5"},
		{"auto", 3, map[string]string{"JOB_COMPLETION_INDEX": "2", "MATTERSIM_SHARDS": "5"}, "2/3"},
		{"auto", 3, nil, "$JOB_COMPLETION_INDEX is not set"},
		{"auto", 0, map[string]string{"JOB_COMPLETION_INDEX": "0"}, "pass --shards N or set $MATTERSIM_SHARDS"},
		{"auto", 2, map[string]string{"JOB_COMPLETION_INDEX": "2"}, "want 0 ≤ i < n"},
	} {
		sh, err := parseShard(tc.spec, tc.shards, env(tc.env))
		if err != nil {
			require.Contains(t, err.Error(), tc.want, "case %d", i+1)
			continue
		}
		require.Equal(t, tc.want, sh.String(), "case %d", i+1)
	}
}

// merge draws the figures only from the scenario the shards ran: when its
// file has changed since, it says so and writes the tables alone.
func TestMergeScenarioChangedSkipsPlots(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	for _, sh := range scenarios.Shipped() {
		if sh.Name == "mrp-loss" {
			data = sh.Data
		}
	}
	require.NotEmpty(t, data)
	file := filepath.Join(dir, "mine.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o644))
	code, _, stderr := runCLI(t, "sweep", file, "--ci", "--sweep", "loss=5%,10%", "--reps", "1", "--quiet", "--out", filepath.Join(dir, "s"))
	require.Equal(t, 0, code, stderr)
	require.NoError(t, os.WriteFile(file, append(data, "# edited\n"...), 0o644))
	code, stdout, stderr := runCLI(t, "merge", filepath.Join(dir, "s"), "--out", filepath.Join(dir, "m"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "note: plots/ not drawn, report.html without the figures and the scenario: "+file+" has changed since the shards ran")
	_, err := os.Stat(filepath.Join(dir, "m", "metrics.csv"))
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(dir, "m", "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), "<p>Not drawn: "+file+" has changed since the shards ran")
	require.NotContains(t, string(page), "<svg")
	_, err = os.Stat(filepath.Join(dir, "m", "plots"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Merged into an --out that holds an earlier sweep's figures, it
	// removes them (they are not of this aggregate) and keeps the rest.
	reused := filepath.Join(dir, "s")
	require.FileExists(t, filepath.Join(reused, "plots", "latency-vs-loss.svg"))
	require.NoError(t, os.WriteFile(filepath.Join(reused, "plots", "notes.txt"), []byte("mine"), 0o644))
	code, _, stderr = runCLI(t, "merge", reused, "--out", reused, "--quiet")
	require.Equal(t, 0, code, stderr)
	require.NoFileExists(t, filepath.Join(reused, "plots", "latency-vs-loss.svg"))
	require.FileExists(t, filepath.Join(reused, "plots", "notes.txt"))
}
