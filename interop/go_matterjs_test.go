//go:build interop

package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// Live tests of our commands against matter.js 0.17.9: `mattersim pair` against interop/device.mjs, and the
// matter.js controller (interop/controller.mjs MODE=pase) against
// `mattersim device`, each in a loopback-only namespace the test creates.

// mattersimBinary builds cmd/mattersim into the test's temp directory (the
// build cache makes every build after the first a link).
func mattersimBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mattersim")
	out, err := exec.Command("go", "build", "-o", bin, "mattersim/cmd/mattersim").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// goPairResult mirrors the JSON of `mattersim pair --json`.
type goPairResult struct {
	Peer          string `json:"peer"`
	LocalSession  uint16 `json:"localSessionId"`
	PeerSession   uint16 `json:"peerSessionId"`
	VendorName    string `json:"vendorName"`
	ProductName   string `json:"productName"`
	SessionClosed bool   `json:"sessionClosed"`
}

func runGoPair(t *testing.T, ns *netns.NS, bin string, args ...string) (string, string, error) {
	t.Helper()
	return runGo(t, ns, bin, 60*time.Second, "pair", args...)
}

// runGo runs `mattersim SUB ARGS...` in ns within limit and logs its output.
func runGo(t *testing.T, ns *netns.NS, bin string, limit time.Duration, sub string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := ns.Command(ctx, bin, append([]string{sub}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	t.Logf("mattersim %s %s\nstdout: %s\nstderr: %s", sub, strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String(), err
}

// Recipe R1: Go controller → matter.js device. PASE, an encrypted Read of
// BasicInformation VendorName/ProductName, CloseSession; then again at once
// (which only works if the device saw our CloseSession: it allows one
// pairing at a time, docs/interop.md §5).
func TestInteropGoControllerMatterJSDevice(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gp")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "debug"})

	for i, host := range []string{"::1", "127.0.0.1"} {
		peer := hostPort(host, DevicePort)
		out, _, err := runGoPair(t, ns, bin, "--peer", peer, "--passcode", strconv.Itoa(DevicePasscode), "--json", "--timeout", "20s")
		require.NoError(t, err, "pair #%d failed", i+1)
		var res goPairResult
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		require.Equal(t, DeviceVendorName, res.VendorName)
		require.Equal(t, "InteropLight", res.ProductName)
		require.True(t, res.SessionClosed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := dev.WaitLine(ctx, "Closed by peer")
	require.NoError(t, err, "matter.js device never logged our CloseSession")
}

// Recipe R2: matter.js controller → Go device. PASE with a known address,
// an attribute read through matter.js's controller API, CloseSession; the
// value is asserted on the matter.js side (its INTEROP: line).
func TestInteropMatterJSControllerGoDevice(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gd")
	dev := startGoDevice(t, ns, bin, "--vendor-name", "GoVendor")

	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		ctl := StartMatterJSController(t, ns, ControllerOptions{Mode: "pase", Host: "::1", Port: 5541})
		require.NoError(t, ctl.Wait(ctx), "matter.js controller #%d failed:\n%s", i+1, ctl.Output())
		line, err := ctl.WaitLine(ctx, "INTEROP: VendorName over PASE")
		require.NoError(t, err)
		require.Contains(t, line, `"GoVendor"`)
		_, err = ctl.WaitLine(ctx, "INTEROP: PASE session closed")
		require.NoError(t, err)
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := dev.WaitLine(ctx, "PASE session established with [::1]")
	require.NoError(t, err)
	_, err = dev.WaitLine(ctx, "read 0/0x0028/0x0001")
	require.NoError(t, err)
	_, err = dev.WaitLine(ctx, "closed (peer-closed)")
	require.NoError(t, err)
}

// Wrong passcode, Go controller → matter.js device: our pair names it, the
// matter.js device logs it and counts it, and still pairs afterwards.
func TestInteropWrongPasscodeGoController(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gw")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "debug"})

	_, errOut, err := runGoPair(t, ns, bin, "--peer", hostPort("::1", DevicePort), "--passcode", "20202022", "--timeout", "20s")
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 1, ee.ExitCode())
	require.Contains(t, errOut, "mattersim: wrong passcode")

	// matter.js sees our FAILURE/INVALID_PARAMETER report and counts the
	// error (its log shows "(1/20)").
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := dev.WaitLine(ctx, "1/20")
	require.NoError(t, err, "matter.js device did not count the failed attempt")
	t.Logf("matter.js device: %s", line)

	// The device freed its pairing slot at once: the right passcode works now.
	out, _, err := runGoPair(t, ns, bin, "--peer", hostPort("::1", DevicePort), "--passcode", strconv.Itoa(DevicePasscode), "--json", "--timeout", "20s")
	require.NoError(t, err)
	require.Contains(t, out, DeviceVendorName)
}

// Wrong passcode, matter.js controller → Go device: matter.js reports the
// failure, our device logs "PASE failure ... wrong passcode".
func TestInteropWrongPasscodeMatterJSController(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtr-gx")
	dev := startGoDevice(t, ns, bin)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctl := StartMatterJSController(t, ns, ControllerOptions{Mode: "pase", Host: "::1", Port: 5541, Passcode: 20202022})
	err := ctl.Wait(ctx)
	require.Error(t, err, "matter.js controller should fail with a wrong passcode:\n%s", ctl.Output())
	line, err := ctl.WaitLine(ctx, "INTEROP: FAILED")
	require.NoError(t, err)
	t.Logf("matter.js controller: %s", line)
	// matter.js names the PASE failure before falling back to discovery.
	line, err = ctl.WaitLine(ctx, "due to invalid credentials")
	require.NoError(t, err, "matter.js controller did not report the PASE failure")
	t.Logf("matter.js controller: %s", line)

	line, err = dev.WaitLine(ctx, "PASE failure from")
	require.NoError(t, err)
	require.Contains(t, line, "wrong passcode")

	// Our device still serves the right passcode.
	ctl2 := StartMatterJSController(t, ns, ControllerOptions{Mode: "pase", Host: "::1", Port: 5541})
	require.NoError(t, ctl2.Wait(ctx), "matter.js controller failed:\n%s", ctl2.Output())
}

// startGoDevice runs `mattersim device` on [::]:5541 in ns and waits for
// its ready line.
func startGoDevice(t *testing.T, ns *netns.NS, bin string, extra ...string) *Peer {
	t.Helper()
	args := append([]string{"device", "--listen", "[::]:5541", "--passcode", strconv.Itoa(DevicePasscode),
		"--discriminator", strconv.Itoa(DeviceDiscriminator)}, extra...)
	dev := StartPeer(t, ns, "mattersim device", nil, bin, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := dev.WaitLine(ctx, "mattersim device: listening on")
	require.NoError(t, err)
	return dev
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// TestInteropLostFinalPASEAck: our ack of matter.js's final PASE
// StatusReport is lost (interop/droprelay drops the first one of every
// pairing). matter.js then retransmits the StatusReport; `mattersim pair`
// must still be there to ack it — it keeps its sessions answering until the
// device can no longer be retransmitting — or matter.js counts a PASE
// failure (it refuses all commissioning after 20) and ignores new pairings
// for a while. 25 pairings in a row must all succeed with no PASE error
// on the device. matter.js takes no new pairing while its StatusReport is
// unacknowledged, so each pair starts once the relay let the re-ack of the
// previous one through; they linger in parallel and must all exit 0.
func TestInteropLostFinalPASEAck(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	relayBin := filepath.Join(t.TempDir(), "droprelay")
	out, err := exec.Command("go", "build", "-o", relayBin, "mattersim/interop/droprelay").CombinedOutput()
	require.NoError(t, err, "go build droprelay: %s", out)
	ns := netns.New(t, "mtr-ack")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "debug"})
	relay := StartPeer(t, ns, "droprelay", nil, relayBin, "-listen", "[::1]:5541", "-to", hostPort("::1", DevicePort))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, err = relay.WaitLine(ctx, "listening")
	require.NoError(t, err)

	const n = 25
	type run struct {
		cmd  *exec.Cmd
		out  *lineLog
		done chan error
	}
	var runs []*run
	for i := range n {
		if i > 0 {
			// The previous pairing's StatusReport was acked on its
			// retransmission: the device is free again.
			require.Eventually(t, func() bool { return strings.Count(relay.Output(), "passed ack") >= i },
				15*time.Second, 10*time.Millisecond, "pair #%d: the device's retransmitted StatusReport was never acked", i)
		}
		r := &run{out: newLineLog(), done: make(chan error, 1)}
		r.cmd = ns.Command(ctx, bin, "pair", "--peer", "[::1]:5541", "--passcode", strconv.Itoa(DevicePasscode), "--json", "--timeout", "20s")
		var errb strings.Builder
		r.cmd.Stdout, r.cmd.Stderr = r.out, &errb
		require.NoError(t, r.cmd.Start())
		go func() { err := r.cmd.Wait(); r.out.close(); r.done <- err }()
		runs = append(runs, r)
		// The JSON's last line is "}"; then the next pairing may start.
		if _, _, err := r.out.waitFor(ctx, 0, "sessionClosed"); err != nil {
			t.Fatalf("pair #%d printed no result: %v\nstdout: %s\nstderr: %s", i+1, err, r.out, errb.String())
		}
		var res goPairResult
		require.Eventually(t, func() bool { return json.Unmarshal([]byte(r.out.String()), &res) == nil }, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, DeviceVendorName, res.VendorName, "pair #%d", i+1)
	}
	for i, r := range runs {
		select {
		case err := <-r.done:
			require.NoError(t, err, "pair #%d", i+1)
		case <-ctx.Done():
			t.Fatalf("pair #%d did not exit", i+1)
		}
	}
	require.Equal(t, n, strings.Count(relay.Output(), "dropped ack"), "the relay dropped the final ack of every pairing")
	require.Equal(t, n, strings.Count(relay.Output(), "passed ack"), "and let the re-ack of every one through")
	// matter.js retransmitted its StatusReport and was answered every time.
	require.NotContains(t, dev.Output(), "An error occurred during PASE commissioning")
}
