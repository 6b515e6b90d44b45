//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
	CDCertificateID     string `json:"cdCertificateId"`
	FabricIndex         uint8  `json:"fabricIndex"`
	VendorName          string `json:"vendorName"`
	CommissionedFabrics uint64 `json:"commissionedFabrics"`
	Resumed             bool   `json:"resumed"`
	ResumedVendorName   string `json:"resumedVendorName"`
	SubscriptionID      uint32 `json:"subscriptionId"`
	SubscriptionOnOff   []bool `json:"subscriptionOnOff"`
}

func runGoCommission(t *testing.T, ns *netns.NS, bin string, args ...string) (string, string, error) {
	t.Helper()
	return runGo(t, ns, bin, 90*time.Second, "commission", args...)
}

// Go commissioner → matter.js device (interop/device.mjs, whose test DAC
// matter.js generates under a PAI it signs with the SDK's test PAA NoVID):
// PASE, ArmFailSafe, SetRegulatoryConfig, attestation verified against the
// SDK's test PAAs (and the CD against its test CD signing key), CSR, AddTrustedRootCertificate, AddNOC, CASE,
// CommissioningComplete, a CASE read of VendorName and CommissionedFabrics,
// a subscription to OnOff on the CASE session whose reports follow two
// Toggles, then a second CASE from a new socket that must be a resumption
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
	require.Equal(t, "CSA00000SWC00000-00", res.CDCertificateID, "matter.js's test CD, verified")
	require.Equal(t, DeviceVendorName, res.VendorName, "VendorName read over CASE")
	require.Equal(t, uint64(1), res.CommissionedFabrics, "the device's CommissionedFabrics after CommissioningComplete")
	require.NotZero(t, res.FabricIndex)
	require.True(t, res.Resumed, "the second CASE must be answered with Sigma2_Resume")
	require.Equal(t, DeviceVendorName, res.ResumedVendorName)
	require.NotZero(t, res.SubscriptionID)
	require.Equal(t, []bool{false, true, false}, res.SubscriptionOnOff, "priming report, then one report per Toggle")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = dev.WaitLine(ctx, "INTEROP: commissioned")
	require.NoError(t, err, "the matter.js device never reported commissioned")
	_, err = dev.WaitLine(ctx, "INTEROP: light is now ON")
	require.NoError(t, err, "the device never saw the first Toggle")
	_, err = dev.WaitLine(ctx, "INTEROP: light is now OFF")
	require.NoError(t, err, "the device never saw the second Toggle")
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
	require.Contains(t, out, "priming report OnOff=false")
	require.Contains(t, out, "OnOff=true")
}

// A trust store without the PAA the device's chain ends in fails
// attestation: the run stops at AttestationRequest, before any credential
// is installed, disarms the fail-safe and closes the PASE session, after which the device can be
// commissioned at once with the right trust store.
func TestInteropGoCommissionUntrustedPAA(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gu")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "info"})

	// Only the FFF1 test PAA: matter.js signs its PAIs with the NoVID one.
	paa := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(paa, "fff1.der"), readFile(t, "../nodes/commissioner/paa/Chip-Test-PAA-FFF1-Cert.der"), 0o644))
	out, errOut, err := runGoCommission(t, ns, bin, "--peer", hostPort("::1", DevicePort),
		"--passcode", strconv.Itoa(DevicePasscode), "--paa", paa, "--timeout", "30s")
	require.Error(t, err)
	require.Contains(t, errOut, "commissioning step AttestationRequest: commissioner: device attestation failed: DAC → PAI → PAA chain")
	require.Contains(t, out, "ArmFailSafe(0): fail-safe disarmed", "the device must have answered the disarm")

	out, _, err = runGoCommission(t, ns, bin, "--peer", hostPort("::1", DevicePort),
		"--passcode", strconv.Itoa(DevicePasscode), "--json", "--no-resume", "--timeout", "60s")
	require.NoError(t, err, "second commissioning failed; device log:\n%s", dev.Output())
	var res goCommissionResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, uint64(1), res.CommissionedFabrics)
	require.False(t, res.Resumed)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

// Lost final acks: interop/droprelay drops our first ack of every
// successful handshake-final StatusReport (PASE's and CASE's). matter.js
// retransmits the report; commission must ack it again — it keeps its
// sockets answering after the result until the handshakes' unsecured
// sessions have lingered out — and still commission. (Without resumption:
// while its final StatusReport is unacknowledged matter.js has not stored
// the resumption record, so an immediate second CASE is a full handshake.)
func TestInteropGoCommissionLostFinalAcks(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	relayBin := filepath.Join(t.TempDir(), "droprelay")
	b, err := exec.Command("go", "build", "-o", relayBin, "mattersim/interop/droprelay").CombinedOutput()
	require.NoError(t, err, "go build droprelay: %s", b)
	ns := netns.New(t, "mtr-gl")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "info"})
	relay := StartPeer(t, ns, "droprelay", nil, relayBin, "-listen", "[::1]:5541", "-to", hostPort("::1", DevicePort))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = relay.WaitLine(ctx, "listening")
	require.NoError(t, err)

	out, _, err := runGoCommission(t, ns, bin, "--peer", "[::1]:5541",
		"--passcode", strconv.Itoa(DevicePasscode), "--json", "--no-resume", "--timeout", "60s")
	require.NoError(t, err, "commission failed; device log:\n%s\nrelay:\n%s", dev.Output(), relay.Output())
	var res goCommissionResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, uint64(1), res.CommissionedFabrics)
	require.Equal(t, 2, strings.Count(relay.Output(), "dropped ack"), "PASE's and CASE's final acks:\n%s", relay.Output())
	require.Equal(t, 2, strings.Count(relay.Output(), "passed ack"), "each re-acked:\n%s", relay.Output())
}
