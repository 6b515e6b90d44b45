//go:build interop

package interop

import (
	"context"
	"regexp"
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
	commissionGoDevice(t, false)
}

// TestInteropMatterJSCommissionsGoDeviceByDiscovery is the same with no
// address: matter.js gets only the manual pairing code the device printed
// (its passcode and short discriminator) and finds the device by its
// _matterc._udp advertisement. Afterwards a fresh matter.js finds no
// commissionable device: the window closed and the record was withdrawn.
func TestInteropMatterJSCommissionsGoDeviceByDiscovery(t *testing.T) {
	commissionGoDevice(t, true)
}

func commissionGoDevice(t *testing.T, byCode bool) {
	node := RequireMatterJS(t)
	bin := mattersimBinary(t)
	devNS, ctlNS := netns.New(t, "mtr-cd"), netns.New(t, "mtr-cc")
	netns.Link(t, devNS, ctlNS)
	dev := startGoDevice(t, devNS, bin, "--vendor-name", "GoVendor")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	env := append(matterEnv(t, "info"), "MATTER_MDNS_IPV4=false")
	if byCode {
		ready, err := dev.WaitLine(ctx, "mattersim device: listening on")
		require.NoError(t, err)
		m := regexp.MustCompile(`manual (\d{11}) qr (MT:\S+)`).FindStringSubmatch(ready)
		require.NotNil(t, m, "ready line lacks the pairing codes: %s", ready)
		_, err = dev.WaitLine(ctx, "mDNS: answering for host")
		require.NoError(t, err)
		env = append(env, "PAIRING_CODE="+m[1])
	} else {
		env = append(env, "HOST="+netns.AddrA, "PORT=5541", "PASSCODE="+strconv.Itoa(DevicePasscode))
	}
	line := commissionByMatterJS(ctx, t, ctlNS, node, env, "GoVendor", map[string]string{"INTEROP: ACL entries =": "= 1"}, dev.Output)

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
	t.Log(line)
	if byCode {
		require.Contains(t, line, "by discovery")
		// The window closed with CommissioningComplete: _matterc._udp is
		// gone (goodbye), so a fresh matter.js finds nothing.
		requireNotDiscoverable(t, ctlNS, node, DeviceDiscriminator)
	}
	t.Logf("mattersim device log:\n%s", dev.Output())
}
