package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunSmall(t *testing.T) {
	code, out, stderr := runCLI(t, "run", "--nodes", "10", "--duration", "5s")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	for _, want := range []string{"seed 1", "10 (1 controller, 9 devices, secure sessions from PASE)", "loss 5%", "messages delivered",
		"pairings (PASE)             9 devices: 9 paired, 0 given up", "pairing latency",
		"replays injected", "replays refused", "replays accepted            0", "events processed"} {
		require.Contains(t, out, want)
	}
}

func TestRunEstablishKeys(t *testing.T) {
	code, out, stderr := runCLI(t, "run", "--nodes", "10", "--duration", "5s", "--establish", "keys")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "10 (1 controller, 9 devices, secure sessions from installed keys)")
	require.NotContains(t, out, "pairing")
	require.Contains(t, out, "replays accepted            0")
}

// The same flags write the same trace and pcap; --seed changes them.
func TestRunTraceAndPcapDeterministic(t *testing.T) {
	dir := t.TempDir()
	files := func(name, seed string) (string, string) {
		tr, pc := filepath.Join(dir, name+".jsonl"), filepath.Join(dir, name+".pcap")
		code, out, stderr := runCLI(t, "run", "--nodes", "6", "--duration", "3s", "--seed", seed, "--trace", tr, "--pcap", pc)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "seed "+seed)
		a, err := os.ReadFile(tr)
		require.NoError(t, err)
		b, err := os.ReadFile(pc)
		require.NoError(t, err)
		require.Contains(t, string(a), `"ev":"session"`)
		require.Greater(t, len(b), 24)
		return string(a), string(b)
	}
	// The default (PASE) run's trace has the pairings.
	t1, p1 := files("a", "5")
	require.Contains(t, t1, `"ev":"pairing"`)
	// The attacker's frames are marked on frame lines and on the session
	// events they cause, in one format.
	require.Regexp(t, `"ev":"send".*"inj":true`, t1)
	require.Regexp(t, `"ev":"session".*"inj":true`, t1)
	require.NotContains(t, t1, `"inj":1`)
	t2, p2 := files("b", "5")
	t3, p3 := files("c", "6")
	require.Equal(t, t1, t2)
	require.Equal(t, p1, p2)
	require.NotEqual(t, t1, t3)
	require.NotEqual(t, p1, p3)
}

func TestRunBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--nodes", "1"}, "--nodes"},
		{[]string{"--nodes", "many"}, "--nodes"},
		{[]string{"--loss", "101"}, "--loss"},
		{[]string{"--loss", "-1"}, "--loss"},
		{[]string{"--loss", "NaN"}, "--loss"},
		{[]string{"--loss", "lots"}, "--loss"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "60"}, "--duration"},
		{[]string{"--interval", "-5s"}, "--interval"},
		{[]string{"--seed", "-1"}, "--seed"},
		{[]string{"--trace", "/nonexistent-dir/x.jsonl", "--nodes", "2", "--duration", "1s"}, "--trace"},
		{[]string{"extra"}, "extra"},
		{[]string{"--establish", "case"}, "--establish"},
		{[]string{"--controllers", "0"}, "--controllers"},
		{[]string{"--nodes", "70000"}, "--controllers 2"},
		{[]string{"--nodes", "3", "--controllers", "3"}, "--nodes"},
	} {
		code, out, stderr := runCLI(t, append([]string{"run"}, c.args...)...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.flag, "%v", c.args)
		require.Empty(t, out, "%v", c.args)
	}
}

// A read interval far below the round trip does not spin: due reads whose
// previous read is in flight are skipped by arithmetic, and shown.
func TestRunTinyInterval(t *testing.T) {
	code, out, stderr := runCLI(t, "run", "--nodes", "3", "--duration", "5s", "--interval", "1ns", "--establish", "keys")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "reads skipped")
	require.Contains(t, out, "unfinished                  0")
}
