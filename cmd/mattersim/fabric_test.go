package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

// fabric new writes a fabric whose files decode and chain, keys readable
// by the owner only, and the same bytes for the same flags.
func TestFabricNew(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "fab")
	code, stdout, stderr := runCLI(t, "fabric", "new", "--out", out, "--nodes", "2", "--icac", "--seed", "9",
		"--fabric-id", "0xFAB1", "--first-node-id", "0x100", "--cat", "0x00020001")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "fabric 0x000000000000FAB1")
	require.Contains(t, stdout, "verified 2 chains; wrote 13 files")

	var m testca.Manifest
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	require.Len(t, m.Nodes, 2)
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(out, p))
		require.NoError(t, err)
		return b
	}
	dec := func(p string) *cert.Certificate {
		c, err := cert.DecodeTLV(read(p))
		require.NoError(t, err)
		return c
	}
	ch := cert.Chain{RCAC: dec(m.RCAC.TLV), ICAC: dec(m.ICAC.TLV), NOC: dec(m.Nodes[1].TLV)}
	v, err := ch.Verify(cert.VerifyOptions{Epoch: testca.DefaultNotBefore})
	require.NoError(t, err)
	require.Equal(t, uint64(0x101), v.NodeID)
	require.Equal(t, []uint32{0x00020001}, v.CATs)
	st, err := os.Stat(filepath.Join(out, m.Nodes[0].Key))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// Refuses to overwrite, then overwrites with --force, identically.
	first := read(m.Nodes[1].TLV)
	code, _, stderr = runCLI(t, "fabric", "new", "--out", out, "--nodes", "2", "--icac", "--seed", "9")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "already holds a fabric")
	code, _, stderr = runCLI(t, "fabric", "new", "--out", out, "--nodes", "2", "--icac", "--seed", "9",
		"--fabric-id", "0xFAB1", "--first-node-id", "0x100", "--cat", "0x00020001", "--force")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, first, read(m.Nodes[1].TLV))
}

func TestFabricNewBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"fabric", "new"},
		{"fabric", "new", "--out", dir, "--nodes", "0"},
		{"fabric", "new", "--out", dir, "--fabric-id", "0"},
		{"fabric", "new", "--out", dir, "--cat", "0x100000000"},
		{"fabric", "new", "--out", dir, "--cat", "1", "--cat", "2", "--cat", "3", "--cat", "4"},
		{"fabric", "new", "--out", dir, "--first-node-id", "0xFFFFFFF000000000"},
	} {
		code, _, stderr := runCLI(t, args...)
		require.Equal(t, 2, code, "%s: %s", strings.Join(args, " "), stderr)
		require.True(t, strings.HasPrefix(stderr, "mattersim: "), stderr)
	}
}
