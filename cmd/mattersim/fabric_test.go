package main

import (
	"encoding/hex"
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

// fabric verify validates chains from files in any of the encodings,
// including the SDK's own test certificates, and names the failed check.
func TestFabricVerify(t *testing.T) {
	sdk := func(name string) string {
		return filepath.Join("..", "..", "session", "cert", "testdata", "sdk", name+".txt")
	}
	code, stdout, stderr := runCLI(t, "fabric", "verify", "--rcac", sdk("Root02"), "--icac", sdk("ICA02"),
		"--noc", sdk("Node02_08"), "--at", "2025-06-01T00:00:00Z")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "chain ok at 2025-06-01T00:00:00Z: node 0xDEDEDEDE00020008 on fabric 0xFAB000000000001D, "+
		"CATs 0xABCF00A0 0xABCD0020 0xABCE0100\n", stdout)

	code, _, stderr = runCLI(t, "fabric", "verify", "--rcac", sdk("Root01"), "--icac", sdk("ICA01"),
		"--noc", sdk("Node01_01"), "--at", "2041-01-01T00:00:00+01:00")
	require.Equal(t, 1, code)
	require.Equal(t, "mattersim: fabric verify: RCAC: expired: not after 2040-10-15T14:23:42Z, now 2040-12-31T23:00:00Z\n", stderr)

	// TLV binary and hex files.
	dir := t.TempDir()
	code, _, stderr = runCLI(t, "fabric", "new", "--out", dir, "--nodes", "1")
	require.Equal(t, 0, code, stderr)
	tl, err := os.ReadFile(filepath.Join(dir, "nodes", "0000000000000001.chip"))
	require.NoError(t, err)
	hexFile := filepath.Join(dir, "noc.hex")
	require.NoError(t, os.WriteFile(hexFile, []byte(hex.EncodeToString(tl)+"\n"), 0o644))
	code, stdout, stderr = runCLI(t, "fabric", "verify", "--rcac", filepath.Join(dir, "rcac.chip"), "--noc", hexFile,
		"--at", "2030-01-01T00:00:00Z")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "node 0x0000000000000001 on fabric 0x0000000000000001")

	for _, args := range [][]string{
		{"fabric", "verify", "--rcac", sdk("Root01")},
		{"fabric", "verify", "--rcac", filepath.Join(dir, "rcac-key.pem"), "--noc", hexFile},
		{"fabric", "verify", "--rcac", filepath.Join(dir, "manifest.json"), "--noc", hexFile},
		{"fabric", "verify", "--rcac", sdk("Root01"), "--noc", hexFile, "--at", "yesterday"},
	} {
		code, _, stderr := runCLI(t, args...)
		require.Equal(t, 2, code, "%s: %s", strings.Join(args, " "), stderr)
	}
}
