package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runOut runs mattersim run with --out in a fresh directory and returns
// the exit status, stdout, stderr and the directory.
func runOut(t *testing.T, args ...string) (int, string, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	code, out, stderr := runCLI(t, append(append([]string{"run"}, args...), "--out", dir)...)
	return code, out, stderr, dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestRunSmall(t *testing.T) {
	code, out, stderr, dir := runOut(t, "--set", "devices=9", "--duration", "5s")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	for _, want := range []string{"scenario default (files/default.yaml), seed 1", "10 (1 controller, 9 devices, secure sessions from PASE)",
		"loss random 5%", "messages delivered",
		"pairings (PASE)             9 devices: 9 paired, 0 given up", "pairing latency",
		"replays injected", "replays refused", "replays accepted            0", "events processed",
		"assertions: 6 of 6 hold", "✓ replays.failures == 0", "report: " + filepath.Join(dir, "report.html") + "\n"} {
		require.Contains(t, out, want)
	}
	for _, f := range []string{"metrics.json", "metrics.csv", "junit.xml", "report.html",
		"plots/latency-cdf.png", "plots/latency-cdf.svg", "plots/mrp-timeline.svg", "plots/window-verdicts.svg", "plots/network-drops.png"} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	require.NoFileExists(t, filepath.Join(dir, "trace.jsonl"))
	csv := readFile(t, filepath.Join(dir, "metrics.csv"))
	require.True(t, strings.HasPrefix(csv, "name,group,value\n"))
	require.Contains(t, csv, "\nreads.sent,,")
	require.Contains(t, csv, "\nreads.sent,devices,")
}

func TestRunEstablishKeys(t *testing.T) {
	code, out, stderr, _ := runOut(t, "--set", "devices=9", "--duration", "5s", "--establish", "keys")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "10 (1 controller, 9 devices, secure sessions from installed keys)")
	require.NotContains(t, out, "pairings (PASE)")
	require.Contains(t, out, "replays accepted            0")
}

var wallFields = regexp.MustCompile(`"(build_s|run_s)": [0-9.e+-]+`)

// The same inputs write the same trace, pcap and metrics.json (wall times
// aside); --seed changes them.
func TestRunDeterministic(t *testing.T) {
	files := func(seed string) (string, string, string) {
		code, out, stderr, dir := runOut(t, "--set", "devices=5", "--duration", "3s", "--seed", seed, "--trace", "--pcap")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "seed "+seed)
		tr, pc := readFile(t, filepath.Join(dir, "trace.jsonl")), readFile(t, filepath.Join(dir, "capture.pcap"))
		require.Contains(t, tr, `"ev":"session"`)
		require.Contains(t, tr, `"ev":"pairing"`)
		require.Regexp(t, `"ev":"send".*"inj":true`, tr)
		require.Greater(t, len(pc), 24)
		js := wallFields.ReplaceAllString(readFile(t, filepath.Join(dir, "metrics.json")), `"$1": 0`)
		return tr, pc, js
	}
	t1, p1, j1 := files("5")
	t2, p2, j2 := files("5")
	t3, p3, j3 := files("6")
	require.Equal(t, t1, t2)
	require.Equal(t, p1, p2)
	require.Equal(t, j1, j2)
	require.NotEqual(t, t1, t3)
	require.NotEqual(t, p1, p3)
	require.NotEqual(t, j1, j3)
}

func TestRunBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "devices=0"}, "nodes[1].count"},
		{[]string{"--set", "devices=many"}, "nodes[1].count"},
		{[]string{"--loss", "101%"}, "faults[0].loss.p"},
		{[]string{"--loss", "1.5"}, "a bare number is a fraction"},
		{[]string{"--duration", "0s"}, "duration"},
		{[]string{"--duration", "60"}, "no unit"},
		{[]string{"--interval", "-5s"}, "traffic[0].interval"},
		{[]string{"--interval", "1ns"}, "event budget"},
		{[]string{"--seed", "-1"}, "--seed"},
		{[]string{"a", "b"}, "at most one scenario"},
		{[]string{"--establish", "quic"}, "establishment.method"},
		{[]string{"--set", "nope=1"}, "no parameter nope"},
		{[]string{"--set", "loss"}, "want name=value"},
		{[]string{"--loss", "5%", "--set", "loss=1%"}, "both given"},
		{[]string{"--nodes", "10"}, "--set devices=N"},
		{[]string{"--no-attacker"}, "without adversary rules"},
		{[]string{"no-such-scenario"}, "no shipped scenario"},
		{[]string{"--set", "controllers=2", "--set", "devices=140000"}, "at most 65535 sessions"},
	} {
		code, out, stderr, dir := runOut(t, c.args...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.want, "%v", c.args)
		require.Empty(t, out, "%v", c.args)
		require.NoDirExists(t, dir, "%v: nothing is written for an invalid scenario", c.args)
	}
}

// A read interval far below the round trip does not spin: due reads whose
// previous read is in flight are skipped by arithmetic, and shown. The
// event budget refuses it unless forced.
func TestRunTinyInterval(t *testing.T) {
	code, out, stderr, _ := runOut(t, "--set", "devices=2", "--duration", "5s", "--interval", "1ns", "--establish", "keys", "--force")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "reads skipped")
	require.Contains(t, out, "unfinished                  0")
}

const failingScenario = `name: tiny-fail
description: a tiny scenario whose latency bound cannot hold
seed: 3
duration: 5s
drain: 10s
nodes:
  - {name: hub, role: controller}
  - {name: lamps, count: 2, model: light}
establishment: {method: keys}
traffic:
  - {from: hub, to: lamps, op: invoke, command: 1/on_off/toggle, interval: 1s}
faults:
  - delay: {time: 20ms}
assertions:
  - invokes.answered_ratio == 1
  - invoke_latency.max <= 1ms
`

// A failing assertion: exit 1, ✗ in the summary, and a JUnit failure
// with the observed value and the bound.
func TestRunFailingAssertion(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tiny.yaml")
	require.NoError(t, os.WriteFile(f, []byte(failingScenario), 0o644))
	code, out, stderr, dir := runOut(t, f)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, out, "scenario tiny-fail ("+f+"), seed 3")
	require.Contains(t, out, "links                       faults[0] (every link): delay 20ms")
	require.Contains(t, out, "assertions: 1 of 2 hold")
	require.Contains(t, out, "✓ invokes.answered_ratio == 1")
	require.Regexp(t, `✗ invoke_latency.max <= 1ms\s+observed 4[0-9.]+ms`, out)
	require.Contains(t, stderr, "1 of 2 assertions failed: invoke_latency.max <= 1ms (observed 4")

	var j struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal([]byte(readFile(t, filepath.Join(dir, "junit.xml"))), &j))
	require.Len(t, j.Suites, 1)
	s := j.Suites[0]
	require.Equal(t, 2, s.Tests)
	require.Equal(t, 1, s.Failures)
	require.Nil(t, s.Cases[0].Failure)
	require.Equal(t, "invoke_latency.max <= 1ms", s.Cases[1].Name)
	require.Regexp(t, `^invoke_latency.max: observed 4[0-9.]+ms, bound <= 1ms$`, s.Cases[1].Failure.Message)
	require.Contains(t, s.Cases[1].Failure.Text, "observed: 0.04")

	var doc struct {
		Passed     bool `json:"passed"`
		Assertions []struct {
			Holds    bool    `json:"holds"`
			Observed float64 `json:"observed"`
			Bound    float64 `json:"bound"`
		} `json:"assertions"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "metrics.json"))), &doc))
	require.False(t, doc.Passed)
	require.False(t, doc.Assertions[1].Holds)
	require.Equal(t, 0.001, doc.Assertions[1].Bound)
	require.Greater(t, doc.Assertions[1].Observed, 0.04)
}

// --json prints metrics.json on stdout, and the file holds the same.
func TestRunJSON(t *testing.T) {
	code, out, stderr, dir := runOut(t, "--set", "devices=3", "--duration", "2s", "--establish", "keys", "--json")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, readFile(t, filepath.Join(dir, "metrics.json")), out)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Equal(t, float64(1), doc["schema_version"])
	require.Equal(t, "default", doc["scenario"])
}

// SIGINT stops the run between two events: the report is written marked
// interrupted, the summary says so, the exit status is 130 (143 for
// SIGTERM), and the trace is whole JSON lines.
func TestRunInterrupted(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		interruptHook = make(chan os.Signal, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			interruptHook <- c.sig
		}()
		// A day of a 200-device home: far longer than the signal's delay.
		code, out, stderr, dir := runOut(t, "home-200", "--trace", "--quiet")
		interruptHook = nil
		require.Equal(t, c.code, code, stderr)
		require.Empty(t, out)
		require.Contains(t, stderr, "interrupted at virtual time")
		var doc struct {
			Interrupted bool    `json:"interrupted"`
			Passed      bool    `json:"passed"`
			Virtual     float64 `json:"virtual_time_s"`
		}
		require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "metrics.json"))), &doc))
		require.True(t, doc.Interrupted)
		require.False(t, doc.Passed)
		require.Less(t, doc.Virtual, (24 * time.Hour).Seconds())
		ju := readFile(t, filepath.Join(dir, "junit.xml"))
		require.Contains(t, ju, `<property name="interrupted" value="true">`)
		require.Contains(t, ju, `name="run completed"`)
		tr := readFile(t, filepath.Join(dir, "trace.jsonl"))
		require.True(t, strings.HasSuffix(tr, "}\n"), "the trace ends with a whole line")
		for _, l := range strings.Split(strings.TrimSuffix(tr, "\n"), "\n") {
			require.True(t, json.Valid([]byte(l)), l)
		}
	}
}

// Without --quiet the interrupted summary is printed.
func TestRunInterruptedSummary(t *testing.T) {
	interruptHook = make(chan os.Signal, 1)
	interruptHook <- syscall.SIGINT // at once: stops before the first event
	code, out, stderr, _ := runOut(t, "--set", "devices=3")
	interruptHook = nil
	require.Equal(t, 130, code, stderr)
	require.Contains(t, out, "INTERRUPTED at virtual time")
	require.Contains(t, out, "report: ")
}
