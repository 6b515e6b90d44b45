//go:build interop

package interop

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// Recipe R6: matter.js commissions the Go device. Two namespaces joined
// by a veth pair (docs/interop.md §1): `mattersim device` on the device
// side, the matter.js controller (controller.mjs MODE=commission) on the
// other, pairing with the device's address and no commissionable
// discovery. matter.js runs the whole flow — ArmFailSafe,
// SetRegulatoryConfig, certificate chain and attestation (SDK test
// DAC/PAI/CD), CSRRequest, AddTrustedRootCertificate, AddNOC — then finds
// the node by operational mDNS, opens CASE, sends CommissioningComplete
// and UpdateFabricLabel over it, and reads VendorName and invokes Toggle
// over CASE.
func TestInteropMatterJSCommissionsGoDevice(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	devNS, ctlNS := netns.New(t, "mtr-cd"), netns.New(t, "mtr-cc")
	netns.Link(t, devNS, ctlNS)
	dev := startGoDevice(t, devNS, bin, "--vendor-name", "GoVendor")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	ctl := StartMatterJSController(t, ctlNS, ControllerOptions{Mode: "commission", Host: netns.AddrA, Port: 5541})
	require.NoError(t, ctl.Wait(ctx), "matter.js controller failed:\n%s", ctl.Output())
	line, err := ctl.WaitLine(ctx, "INTEROP: VendorName over CASE")
	require.NoError(t, err)
	require.Contains(t, line, `"GoVendor"`)
	_, err = ctl.WaitLine(ctx, "INTEROP: toggle invoked")
	require.NoError(t, err)

	for _, want := range []string{
		"PASE session established with",
		"AddNOC: fabric 1 added",
		"CASE session established with",
		"CommissioningComplete: fabric 1 committed",
		"invoke 1/0x0006/0x02 ",
	} {
		_, err := dev.WaitLine(ctx, want)
		require.NoError(t, err, "device log lacks %q", want)
	}
}
