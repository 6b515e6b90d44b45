//go:build interop

package interop

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// TestHarnessProbeAgainstMatterJSDevice proves the harness end to end
// independently of our PASE code: a matter.js device in a
// fresh loopback-only namespace, the reference probe completes PASE, reads
// VendorName over the encrypted session and closes it.
func TestHarnessProbeAgainstMatterJSDevice(t *testing.T) {
	RequireMatterJS(t)
	probePython(t)
	ns := netns.New(t, "mtr-a")
	StartMatterJSDevice(t, ns, DeviceOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	probe := StartProbe(t, ns, "::1", DevicePort, DevicePasscode)
	require.NoError(t, probe.Wait(ctx), "probe failed:\n%s", probe.Output())
	out := probe.Output()
	t.Logf("probe output:\n%s", out)
	require.Contains(t, out, "StatusReport 0 0")
	require.Contains(t, out, "SUCCESS: ReportData received over PASE")
	// The probe prints the ReportData payload in hex; it must carry the
	// UTF-8 VendorName of device.mjs.
	require.Contains(t, out, hex.EncodeToString([]byte(DeviceVendorName)))

	// The probe closed its session: a second PASE is accepted at once
	// (docs/interop.md §4).
	probe2 := StartProbe(t, ns, "127.0.0.1", DevicePort, DevicePasscode)
	require.NoError(t, probe2.Wait(ctx), "second probe failed:\n%s", probe2.Output())
	require.Contains(t, probe2.Output(), "SUCCESS")
}

// TestHarnessMatterJSControllerPASE runs the matter.js controller against the
// matter.js device, so the controller side of the harness is known to work
// independently of our code.
func TestHarnessMatterJSControllerPASE(t *testing.T) {
	RequireMatterJS(t)
	ns := netns.New(t, "mtr-a")
	StartMatterJSDevice(t, ns, DeviceOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctl := StartMatterJSController(t, ns, ControllerOptions{Mode: "pase"})
	require.NoError(t, ctl.Wait(ctx), "controller failed:\n%s", ctl.Output())
	line, err := ctl.WaitLine(ctx, "INTEROP: VendorName over PASE")
	require.NoError(t, err)
	require.Contains(t, line, `"InteropVendor"`)
	_, err = ctl.WaitLine(ctx, "INTEROP: PASE session closed")
	require.NoError(t, err)
}
