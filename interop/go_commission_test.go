//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// goCommissionResult is `mattersim commission --json`.
type goCommissionResult struct {
	Attestation         string `json:"attestation"`
	DACVendorID         uint16 `json:"dacVendorId"`
	DACProductID        uint16 `json:"dacProductId"`
	PAA                 string `json:"paa"`
	FabricIndex         uint8  `json:"fabricIndex"`
	VendorName          string `json:"vendorName"`
	CommissionedFabrics uint64 `json:"commissionedFabrics"`
	Resumed             bool   `json:"resumed"`
	ResumedVendorName   string `json:"resumedVendorName"`
}

func runGoCommission(t *testing.T, ns *netns.NS, bin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, bin, append([]string{"commission"}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	t.Logf("mattersim commission %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String(), err
}

// Go commissioner → matter.js device (interop/device.mjs, whose test DAC
// matter.js generates under a PAI it signs with the SDK's test PAA NoVID):
// PASE, ArmFailSafe, SetRegulatoryConfig, attestation verified against the
// SDK's test PAAs, CSR, AddTrustedRootCertificate, AddNOC, CASE,
// CommissioningComplete, a CASE read of VendorName and CommissionedFabrics,
// then a second CASE from a new socket that must be a resumption
// (Sigma2_Resume). The device itself must report it is commissioned.
func TestInteropGoCommissionsMatterJS(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gc")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "info"})

	out, _, err := runGoCommission(t, ns, bin, "--peer", hostPort("::1", DevicePort),
		"--passcode", strconv.Itoa(DevicePasscode), "--json", "--timeout", "60s")
	require.NoError(t, err, "commission failed; device log:\n%s", dev.Output())
	var res goCommissionResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "verified", res.Attestation)
	require.Equal(t, uint16(0xFFF1), res.DACVendorID)
	require.Equal(t, uint16(0x8000), res.DACProductID)
	require.Equal(t, "Matter Test PAA", res.PAA)
	require.Equal(t, DeviceVendorName, res.VendorName, "VendorName read over CASE")
	require.Equal(t, uint64(1), res.CommissionedFabrics, "the device's CommissionedFabrics after CommissioningComplete")
	require.NotZero(t, res.FabricIndex)
	require.True(t, res.Resumed, "the second CASE must be answered with Sigma2_Resume")
	require.Equal(t, DeviceVendorName, res.ResumedVendorName)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = dev.WaitLine(ctx, "INTEROP: commissioned")
	require.NoError(t, err, "the matter.js device never reported commissioned")
}

// With --skip-attestation the flow leaves out the attestation requests and
// still commissions (the CSR is checked without the DAC signature).
func TestInteropGoCommissionsMatterJSSkipAttestation(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gs")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "info"})

	out, _, err := runGoCommission(t, ns, bin, "--peer", hostPort("127.0.0.1", DevicePort),
		"--passcode", strconv.Itoa(DevicePasscode), "--skip-attestation", "--node-id", "0x42", "--timeout", "60s")
	require.NoError(t, err, "commission failed; device log:\n%s", dev.Output())
	require.Contains(t, out, "attestation skipped (--skip-attestation)")
	require.Contains(t, out, `VendorName "`+DeviceVendorName+`", CommissionedFabrics 1`)
	require.Contains(t, out, "resumed (Sigma1 with resumption id, Sigma2_Resume)")
}
