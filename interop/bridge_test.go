//go:build interop

package interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// TestBridgeMatterJSDiscovery is the bridge's test (b): `mattersim bridge
// --create` in a namespace the test creates puts one virtual device behind
// a TAP; the matter.js controller in the same namespace (the kernel's end
// of the TAP is the real link) finds it by its discriminator over mDNS
// (_matterc._udp, no known address), opens PASE and reads VendorName.
func TestBridgeMatterJSDiscovery(t *testing.T) {
	node := RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtrbj")
	br := startBridgeIn(t, ns, bin, "--discriminator", "3001")
	require.Contains(t, br.out.String(), "discriminator 3001")
	p := StartPeer(t, ns, "matter.js discover", append(matterEnv(t, "info"), "DISCRIMINATOR=3001"), node, "discover.mjs")
	wctx, wcancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer wcancel()
	err := p.Wait(wctx)
	log := p.Output()
	require.NoError(t, err, "matter.js: %s", log)
	for _, want := range []string{"INTEROP: discovered", "D=3001 CM=1 VP=65521+32768 SII=500 SAI=300", "INTEROP: PASE established", `INTEROP: VendorName over PASE = "mattersim"`, "INTEROP: PASE session closed"} {
		require.Contains(t, log, want)
	}
	br.stop(t)
}

// TestBridgeBrowseMatterJSDevice: the virtual controller behind the bridge
// browses _matterc._udp on the bridged link and finds a matter.js device
// on the real side, with its discriminator and addresses.
func TestBridgeBrowseMatterJSDevice(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtrbb")
	br := startBridgeIn(t, ns, bin)
	StartMatterJSDevice(t, ns, DeviceOptions{Port: 5550, AllAddrs: true, ExtraEnv: []string{"DISCRIMINATOR=3999"}})
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-br.lines:
			if strings.Contains(l, "node 0 discovered") && strings.Contains(l, "D=3999 CM=1") && strings.Contains(l, "port 5550") &&
				strings.Contains(l, "fd00:6d73:696d::ff00") {
				br.stop(t)
				return
			}
		case <-deadline:
			t.Fatalf("the virtual controller did not discover the matter.js device: %s", br.out.String())
		}
	}
}

type bridgeProc struct {
	cmd    *exec.Cmd
	out    *strings.Builder
	lines  chan string
	stderr *strings.Builder
	cancel context.CancelFunc
}

// startBridgeIn runs `mattersim bridge --tap mtr0 --create` in ns until
// it is ready, then gives the kernel's end of the TAP the real side's
// address; later stdout lines arrive on lines.
func startBridgeIn(t *testing.T, ns *netns.NS, bin string, args ...string) *bridgeProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	br := &bridgeProc{out: &strings.Builder{}, lines: make(chan string, 100), stderr: &strings.Builder{}, cancel: cancel}
	br.cmd = ns.Command(ctx, bin, append([]string{"bridge", "--tap", "mtr0", "--create"}, args...)...)
	stdout, err := br.cmd.StdoutPipe()
	require.NoError(t, err)
	br.cmd.Stderr = br.stderr
	require.NoError(t, br.cmd.Start())
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		br.out.WriteString(sc.Text() + "\n")
		if sc.Text() == "ready" {
			break
		}
	}
	require.Contains(t, br.out.String(), "ready", "bridge did not start: %s%s", br.out.String(), br.stderr.String())
	go func() {
		for sc.Scan() {
			select {
			case br.lines <- sc.Text():
			default:
			}
		}
	}()
	if o, err := exec.Command("ip", "-n", ns.Name, "addr", "add", "fd00:6d73:696d::ff00/64", "dev", "mtr0", "nodad").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, o)
	}
	return br
}

func (br *bridgeProc) stop(t *testing.T) {
	t.Helper()
	_ = br.cmd.Process.Signal(os.Interrupt)
	err := br.cmd.Wait()
	br.cancel()
	t.Logf("bridge: %s%s", br.out.String(), br.stderr.String())
	require.NoError(t, err)
}

// TestBridgeControllerPairsMatterJSDevice is the bridge's test (c): the
// virtual controller behind the bridge finds a matter.js device on the
// real side by browsing, pairs with it over PASE (--pair-discriminator),
// reads VendorName and closes the session.
func TestBridgeControllerPairsMatterJSDevice(t *testing.T) {
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns := netns.New(t, "mtrbc")
	br := startBridgeIn(t, ns, bin, "--pair-discriminator", "3999", "--pair-passcode", "20202021")
	StartMatterJSDevice(t, ns, DeviceOptions{Port: 5550, AllAddrs: true, ExtraEnv: []string{"DISCRIMINATOR=3999"}})
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-br.lines:
			if strings.Contains(l, "failed") {
				t.Fatalf("bridge: %s", l)
			}
			if strings.Contains(l, "node 0 paired with [fd00:6d73:696d::ff00]:5550 over PASE") && strings.Contains(l, `VendorName "InteropVendor"`) {
				br.stop(t)
				return
			}
		case <-deadline:
			t.Fatalf("the virtual controller did not pair with the matter.js device: %s", br.out.String())
		}
	}
}
