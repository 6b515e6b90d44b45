//go:build interop

package interop

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// TestInteropMatterJSReconnectsAfterDeviceRestart: matter.js commissions
// `mattersim device --state F` (commission.mjs, by address), the device is
// stopped (SIGTERM) and started again with the same F, and a new matter.js
// process with the same MATTER_PATH_ROOT (reconnect.mjs) finds the node by
// operational mDNS (the device restarts on another port, so the address
// matter.js stored is stale), opens CASE on the kept fabric — resuming the
// session with the resumption record both sides kept — and reads OnOff,
// without commissioning. After the restart the device's window is closed: a PASE
// attempt (`mattersim pair`) gets no answer.
func TestInteropMatterJSReconnectsAfterDeviceRestart(t *testing.T) {
	node := RequireMatterJS(t)
	bin := mattersimBinary(t)
	devNS, ctlNS := netns.New(t, "mtr-sd"), netns.New(t, "mtr-sc")
	netns.Link(t, devNS, ctlNS)
	state := filepath.Join(t.TempDir(), "device-state.json")
	dev := startGoDevice(t, devNS, bin, "--state", state)

	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	// One matter.js storage for both controller runs.
	env := append(matterEnv(t, "info"), "MATTER_MDNS_IPV4=false")
	ctl := StartPeer(t, ctlNS, "matter.js commissioner", append(env, "HOST="+netns.AddrA, "PORT=5541",
		"PASSCODE="+strconv.Itoa(DevicePasscode)), node, "commission.mjs")
	require.NoError(t, ctl.Wait(ctx), "matter.js commissioner failed:\n%s\ndevice:\n%s", ctl.Output(), dev.Output())
	_, err := dev.WaitLine(ctx, "CommissioningComplete: fabric 1 committed")
	require.NoError(t, err)
	// The last committed change: the ACL write at the end of commission.mjs.
	_, err = dev.WaitLine(ctx, "state: saved "+state+" (1 fabric(s), 2 ACL entries")
	require.NoError(t, err)

	require.NoError(t, dev.Cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, dev.Wait(ctx), "device did not stop cleanly:\n%s", dev.Output())
	fi, err := os.Stat(state)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	t.Logf("first device run:\n%s", dev.Output())

	// Another port: matter.js's stored address of the node is stale, so
	// only operational discovery (the SRV record) finds it.
	dev2 := startGoDevice(t, devNS, bin, "--state", state, "--listen", "[::]:5542")
	line, err := dev2.WaitLine(ctx, "state: restored")
	require.NoError(t, err)
	require.Contains(t, line, "restored 1 fabric(s), 2 ACL entries")
	_, err = dev2.WaitLine(ctx, "commissioning window closed")
	require.NoError(t, err)

	re := StartPeer(t, ctlNS, "matter.js reconnect", env, node, "reconnect.mjs")
	require.NoError(t, re.Wait(ctx), "matter.js reconnect failed:\n%s\ndevice:\n%s", re.Output(), dev2.Output())
	for _, want := range []string{"INTEROP: reconnected over CASE", "INTEROP: OnOff after restart = "} {
		line, err := re.WaitLine(ctx, want)
		require.NoError(t, err)
		t.Log(line)
	}
	t.Logf("matter.js reconnect log:\n%s", re.Output())
	line, err = dev2.WaitLine(ctx, "CASE session ")
	require.NoError(t, err)
	require.Contains(t, re.Output(), "address: udp://["+netns.AddrA+"]:5542", "matter.js did not find the node at its new port")
	t.Logf("device: %s", line)
	require.Contains(t, line, "CASE session resumed", "the resumption record kept in the state file was not used")
	_, err = dev2.WaitLine(ctx, "read 1/0x0006/0x0000")
	require.NoError(t, err)

	// The window stayed closed: PBKDFParamRequest is acked and ignored.
	_, errOut, err := runGoPair(t, ctlNS, bin, "--peer", hostPort(netns.AddrA, 5542), "--passcode",
		strconv.Itoa(DevicePasscode), "--timeout", "5s")
	require.Error(t, err)
	require.Contains(t, errOut, "its commissioning window is closed")
	_, err = dev2.WaitLine(ctx, "ignored: the commissioning window is closed (commissioned")
	require.NoError(t, err)
	t.Logf("restarted device log:\n%s", dev2.Output())
}
