package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchSmall(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "--nodes", "50", "--datagrams", "200",
		"--speedup-nodes", "10", "--virtual", "1m", "--interval", "5s")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "seed 1\n")
	require.Contains(t, out, "datagram    2 nodes, 200 x 64 B:")
	require.Contains(t, out, "datagram-n  50 nodes, 200 x 64 B:")
	require.Contains(t, out, "secure      2 nodes, 200 encrypted datagrams:")
	require.Contains(t, out, "secure-n    50 nodes, 200 encrypted datagrams:")
	require.Contains(t, out, "secure-metrics 2 nodes, 200 encrypted datagrams:")
	require.Contains(t, out, "secure-n-metrics 50 nodes, 200 encrypted datagrams:")
	require.Contains(t, out, "memory      50 idle nodes:")
	require.Contains(t, out, "speedup     10 nodes, one echo every 5s each: 1m0s virtual")
}

func TestBenchOnly(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "--only", "speedup", "--speedup-nodes", "4", "--virtual", "10s", "--interval", "1s")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, out, "\ndatagram ")
	require.Contains(t, out, "speedup     4 nodes")
}

func TestBenchBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--nodes", "1"},
		{"bench", "--only", "nope"},
		{"bench", "--datagrams", "0"},
		{"bench", "--interval", "0s"},
		{"bench", "extra"},
	} {
		code, _, stderr := runCLI(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
	}
}
