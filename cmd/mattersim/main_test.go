package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCLI runs the command line in-process and returns status, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	code, _, stderr := runCLI(t, "--no-such-flag")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "no-such-flag")
}

// A mistyped subcommand is bad input (exit 2), at the
// top level and under `decode`; a bare group still prints its help.
func TestUnknownCommandIsUsageError(t *testing.T) {
	for i, tc := range []struct {
		args []string
		code int
		out  string // in stdout (help) or stderr (error)
	}{
		{[]string{"nosuch"}, 2, `unknown command "nosuch" for "mattersim"`},                  // 1
		{[]string{"decode", "nosuch"}, 2, `unknown command "nosuch" for "mattersim decode"`}, // 2
		{[]string{"decode", "nosuch", "00"}, 2, `unknown command "nosuch"`},                  // 3
		{[]string{"decode"}, 0, "Available Commands"},                                        // 4: help
		{[]string{"decode", "--help"}, 0, "Available Commands"},                              // 5
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		require.Equal(t, tc.code, code, "case %d: %s", i+1, stderr)
		require.Contains(t, stdout+stderr, tc.out, "case %d", i+1)
	}
}
