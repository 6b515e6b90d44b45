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

// commissionByMatterJS runs the matter.js controller (interop/commission.mjs)
// in ns with env until it exits, then checks the lines every commissioning
// test reads over CASE: VendorName is vendor, OnOff false, the toggle
// reported by the subscription, two ACL entries after the write; extra holds
// more line prefixes and the value each must contain. It returns the
// "INTEROP: commissioned" line. The Go device and the bridge tests check the
// same script's output, so one place keeps what "commissioned" means to us.
// devOut is the other side's output, shown when matter.js fails.
func commissionByMatterJS(ctx context.Context, t *testing.T, ns *netns.NS, node string, env []string,
	vendor string, extra map[string]string, devOut func() string) string {
	t.Helper()
	ctl := StartPeer(t, ns, "matter.js commissioner", env, node, "commission.mjs")
	require.NoError(t, ctl.Wait(ctx), "matter.js commissioner failed:\n%s\ndevice:\n%s", ctl.Output(), devOut())
	want := map[string]string{
		"INTEROP: VendorName over CASE":          strconv.Quote(vendor),
		"INTEROP: OnOff over CASE":               "false",
		"INTEROP: subscription reported OnOff =": "true",
		"INTEROP: OnOff after toggle":            "true",
		"INTEROP: ACL entries after write =":     "= 2",
	}
	for k, v := range extra {
		want[k] = v
	}
	for prefix, value := range want {
		line, err := ctl.WaitLine(ctx, prefix)
		require.NoError(t, err)
		require.Contains(t, line, value)
	}
	line, err := ctl.WaitLine(ctx, "INTEROP: commissioned")
	require.NoError(t, err)
	return line
}

// requireNotDiscoverable runs a fresh matter.js (interop/discover.mjs) in ns
// and requires that it finds no commissionable device with discriminator
// disc: after CommissioningComplete the window is closed and _matterc._udp
// withdrawn. discover.mjs gives up after 20 s.
func requireNotDiscoverable(t *testing.T, ns *netns.NS, node string, disc int) {
	t.Helper()
	p := StartPeer(t, ns, "matter.js discover", append(matterEnv(t, "info"), "DISCRIMINATOR="+strconv.Itoa(disc)), node, "discover.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := p.Wait(ctx)
	require.Error(t, err, "matter.js still discovered the commissioned device: %s", p.Output())
	require.Contains(t, p.Output(), "no device with discriminator "+strconv.Itoa(disc)+" found by mDNS")
}
