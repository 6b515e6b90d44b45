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

// Against "mattersim device" (PASE and IM, no commissioning clusters) the
// run gets through PASE and stops at ArmFailSafe with the status the
// device answers, then tells it (CloseSession; nothing to disarm) and
// keeps answering until PASE's unsecured session has lingered out.
func TestCommissionStopsAtArmFailSafe(t *testing.T) {
	addr, devLog := startDevice(t, "127.0.0.1")
	start := time.Now()
	code, out, errOut := runCLI(t, "commission", "--peer", addr, "--timeout", "20s")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "PASE session established with "+addr)
	require.NotContains(t, out, "ArmFailSafe(60 s): OK")
	require.NotContains(t, out, "disarmed")
	require.Contains(t, errOut, "mattersim: commissioning step ArmFailSafe: ")
	require.Contains(t, errOut, "UNSUPPORTED_CLUSTER")
	waitLog(t, devLog, "closed (peer-closed)")
	require.Less(t, time.Since(start), 15*time.Second, "the linger is about 7 s")
}
