package main

import (
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/nodes/commissioner"
	"mattersim/session/cert/testca"
)

func TestCommissionBadFlags(t *testing.T) {
	for i, args := range [][]string{
		{"commission", "--peer", "nope"},
		{"commission", "--peer", "[::]:5540"},
		{"commission", "--passcode", "11111111"},
		{"commission", "--timeout", "0s"},
		{"commission", "--skip-attestation", "--paa", "."},
		{"commission", "--fabric", "/nonexistent"},
		{"commission", "--paa", "/nonexistent"},
		{"commission", "extra"},
		{"commission", "--case-repeat", "-1"},
		{"commission", "--case-resume"},
	} {
		code, _, errOut := runCLI(t, args...)
		require.Equal(t, 2, code, "case %d %v: %s", i+1, args, errOut)
		require.True(t, strings.HasPrefix(errOut, "mattersim: "), errOut)
	}
}

// A fabric written by "fabric new" loads as the same credentials the
// test CA mints (the controller is the first node).
func TestCommissionLoadsFabricDir(t *testing.T) {
	for _, icac := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "fab")
		args := []string{"fabric", "new", "--out", out, "--nodes", "2", "--seed", "5", "--fabric-id", "0xFAB2", "--first-node-id", "0x77"}
		if icac {
			args = append(args, "--icac")
		}
		code, _, errOut := runCLI(t, args...)
		require.Equal(t, 0, code, errOut)
		got, err := loadFabricDir(out)
		require.NoError(t, err)
		tf, err := testca.Mint(testca.Options{Seed: 5, FabricID: 0xFAB2, Nodes: 2, FirstNodeID: 0x77, ICAC: icac})
		require.NoError(t, err)
		want, err := commissioner.FabricFromTestCA(tf, 0)
		require.NoError(t, err)
		require.Equal(t, want.FabricID, got.FabricID)
		require.Equal(t, want.RCACTLV, got.RCACTLV)
		require.Equal(t, want.ICACTLV, got.ICACTLV)
		require.Equal(t, want.ControllerNodeID, got.ControllerNodeID)
		require.Equal(t, want.ControllerNOC, got.ControllerNOC)
		require.True(t, want.ControllerKey.Equal(got.ControllerKey))
		require.True(t, want.IssuerKey.Equal(got.IssuerKey))
		require.Equal(t, want.IPKEpochKey, got.IPKEpochKey)
	}
	// A directory without a manifest is refused.
	_, err := loadFabricDir(t.TempDir())
	require.Error(t, err)
}

func TestCommissionLoadsPAADir(t *testing.T) {
	dir := t.TempDir()
	paas := commissioner.TestPAAs()
	require.Len(t, paas, 2)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.der"), paas[0].Raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: paas[1].Raw}), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644))
	got, err := loadPAAs(dir)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, paas[0].Raw, got[0].Raw)
	require.Equal(t, paas[1].Raw, got[1].Raw)
	_, err = loadPAAs(t.TempDir())
	require.Error(t, err)
}

func TestCommissionClosedPort(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	start := time.Now()
	code, _, errOut := runCLI(t, "commission", "--peer", addr, "--timeout", "1500ms")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "timed out after 1.5s")
	require.Contains(t, errOut, "PASE with "+addr)
	require.Less(t, time.Since(start), 8*time.Second)
}

// The Go commissioner commissions "mattersim device" (a commissionable
// root node with the SDK test attestation) end to end: PASE, the whole
// flow with attestation verified against the SDK's test PAA and CD
// signing key, CASE at the same address, CommissioningComplete, the
// subscription with two Toggles, and a resumed CASE session.
func TestCommissionGoDevice(t *testing.T) {
	addr, devLog := startDevice(t, "127.0.0.1")
	code, out, errOut := runCLI(t, "commission", "--peer", addr, "--timeout", "20s")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, want := range []string{
		"PASE session established with " + addr,
		"ArmFailSafe(60 s): OK",
		"attestation verified: DAC vendor 0xFFF1 product 0x8000",
		"signature OK, matches DAC, PAI and BasicInformation 0xFFF1/0x8000",
		"AddNOC: OK (fabric index 1)",
		"CommissioningComplete: OK",
		`read over CASE: VendorName "InteropVendor", CommissionedFabrics 1`,
		"Toggle → report on subscription",
		"resumed (Sigma1 with resumption id, Sigma2_Resume)",
	} {
		require.Contains(t, out, want)
	}
	waitLog(t, devLog, "CommissioningComplete: fabric 1 committed")
	waitLog(t, devLog, "CASE session resumed with")
}
