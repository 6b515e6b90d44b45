//go:build interop

package interop

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// Recipe R3: matter.js commissions the Go device. Two namespaces joined
// by a veth pair (docs/interop.md §1): `mattersim device` on the device
// side, the matter.js controller (interop/commission.mjs) on the other,
// pairing with the device's address and no commissionable discovery.
// matter.js runs the whole flow — ArmFailSafe, certificate chain and
// attestation (SDK test DAC/PAI/CD), CSRRequest,
// AddTrustedRootCertificate, AddNOC — then finds the node by operational
// mDNS, opens CASE, sends CommissioningComplete and UpdateFabricLabel over
// it; then over CASE it reads VendorName and OnOff, subscribes to OnOff,
// invokes Toggle and gets the change reported by the subscription, and
// writes the ACL with a second entry.
func TestInteropMatterJSCommissionsGoDevice(t *testing.T) {
	node := RequireMatterJS(t)
	bin := mattersimBinary(t)
	devNS, ctlNS := netns.New(t, "mtr-cd"), netns.New(t, "mtr-cc")
	netns.Link(t, devNS, ctlNS)
	dev := startGoDevice(t, devNS, bin, "--vendor-name", "GoVendor")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	env := append(matterEnv(t, "info"), "HOST="+netns.AddrA, "PORT=5541", "PASSCODE="+strconv.Itoa(DevicePasscode),
		"MATTER_MDNS_IPV4=false")
	ctl := StartPeer(t, ctlNS, "matter.js commissioner", env, node, "commission.mjs")
	require.NoError(t, ctl.Wait(ctx), "matter.js commissioner failed:\n%s", ctl.Output())
	for want, value := range map[string]string{
		"INTEROP: VendorName over CASE":          `"GoVendor"`,
		"INTEROP: OnOff over CASE":               "false",
		"INTEROP: subscription reported OnOff =": "true",
		"INTEROP: OnOff after toggle":            "true",
		"INTEROP: ACL entries =":                 "= 1",
		"INTEROP: ACL entries after write =":     "= 2",
	} {
		line, err := ctl.WaitLine(ctx, want)
		require.NoError(t, err)
		require.Contains(t, line, value)
	}

	for _, want := range []string{
		"PASE session established with",
		"AddNOC: fabric 1 added",
		"CASE session established with",
		"CommissioningComplete: fabric 1 committed",
		"subscribe 1/0x0006/0x0000",
		"invoke 1/0x0006/0x02 ",
		"write 0/0x001F/0x0000",
	} {
		_, err := dev.WaitLine(ctx, want)
		require.NoError(t, err, "device log lacks %q", want)
	}
	line, err := ctl.WaitLine(ctx, "INTEROP: commissioned")
	require.NoError(t, err)
	t.Log(line)
	t.Logf("mattersim device log:\n%s", dev.Output())
}
