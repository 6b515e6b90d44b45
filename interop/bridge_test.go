//go:build interop

package interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
	"mattersim/nodes/onboarding"
)

// TestBridgeMatterJSDiscovery is the bridge's test (b): `mattersim bridge
// --create` in a namespace the test creates puts one virtual device behind
// a TAP; the matter.js controller in the same namespace (the kernel's end
// of the TAP is the real link) finds it by its discriminator over mDNS
// (_matterc._udp, no known address), opens PASE and reads VendorName.
func TestBridgeMatterJSDiscovery(t *testing.T) {
	node, ns, br := startBridgeTest(t, "mtrbj", "--discriminator", "3001")
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
	_, ns, br := startBridgeTest(t, "mtrbb")
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

// startBridgeTest is every bridge test's start: matter.js present (its
// node binary returned), a namespace named from prefix, and the bridge
// started in it with args and ready (startBridgeIn).
func startBridgeTest(t *testing.T, prefix string, args ...string) (node string, ns *netns.NS, br *bridgeProc) {
	t.Helper()
	node = RequireMatterJS(t)
	bin := mattersimBinary(t)
	ns = netns.New(t, prefix)
	return node, ns, startBridgeIn(t, ns, bin, args...)
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
	_, ns, br := startBridgeTest(t, "mtrbc", "--pair-discriminator", "3999", "--pair-passcode", "20202021")
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

// TestBridgeMatterJSCommissions: the matter.js controller
// (interop/commission.mjs) commissions a BRIDGED virtual device: PASE
// with the device's address on the bridged link, the whole commissioning
// flow (attestation with the SDK test DAC/PAI/CD, CSR, root, AddNOC), the
// node found by operational mDNS (_matter._tcp, advertised by the
// bridge's dnssd responder once AddNOC added the fabric), CASE and
// CommissioningComplete over it; then VendorName and OnOff over CASE, a
// subscription, Toggle reported, an ACL write. The bridge prints the
// commissioning on stdout, and afterwards a fresh matter.js finds no
// commissionable device (_matterc._udp withdrawn with the window).
func TestBridgeMatterJSCommissions(t *testing.T) {
	node, ns, br := startBridgeTest(t, "mtrbk", "--discriminator", "3002")
	require.Contains(t, br.out.String(), "node 1 device: [fd00:6d73:696d::2]:5540")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	env := append(matterEnv(t, "info"), "HOST=fd00:6d73:696d::2", "PORT=5540", "PASSCODE=20202021",
		"DISCRIMINATOR=3002", "MATTER_MDNS_IPV4=false")
	line := commissionByMatterJS(ctx, t, ns, node, env, "mattersim", nil, br.out.String)
	t.Log(line)

	// The bridge's stdout: AddNOC, CASE, commissioned with the operational
	// instance, the window closed.
	var lines []string
	wantLines := []string{"node 1 AddNOC: fabric 1 added", "node 1 CASE session with", "node 1 commissioned: fabric 1 node id 0x",
		"node 1 commissioning window closed (commissioned): _matterc._udp withdrawn"}
	deadline := time.After(10 * time.Second)
	for seen := 0; seen < len(wantLines); {
		select {
		case l := <-br.lines:
			lines = append(lines, l)
			if strings.Contains(l, wantLines[seen]) {
				if seen == 2 {
					require.Regexp(t, `CASE reachable as [0-9A-F]{16}-[0-9A-F]{16}\._matter\._tcp`, l)
				}
				seen++
			}
		case <-deadline:
			t.Fatalf("bridge stdout lacks %q: %s", wantLines[seen], strings.Join(lines, "\n"))
		}
	}

	t.Logf("bridge lines after ready:\n%s", strings.Join(lines, "\n"))

	// A fresh matter.js no longer discovers the device (_matterc._udp is
	// gone).
	requireNotDiscoverable(t, ns, node, 3002)
	br.stop(t)
}

// TestBridgeMatterJSCommissionsByCode: as TestBridgeMatterJSCommissions,
// but matter.js gets only the manual pairing code of the virtual device's
// discriminator and passcode (no address) and finds it by _matterc._udp.
func TestBridgeMatterJSCommissionsByCode(t *testing.T) {
	node, ns, br := startBridgeTest(t, "mtrbc", "--discriminator", "3003")
	require.Contains(t, br.out.String(), "discriminator 3003 passcode 20202021")
	code, err := onboarding.Payload{Discriminator: 3003, Passcode: 20202021}.Manual()
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	env := append(matterEnv(t, "info"), "PAIRING_CODE="+code, "MATTER_MDNS_IPV4=false")
	line := commissionByMatterJS(ctx, t, ns, node, env, "mattersim", nil, br.out.String)
	require.Contains(t, line, "by discovery")
	t.Log(line)
	br.stop(t)
}

// bridgeCommissionLines are the bridge's stdout lines of a virtual
// controller commissioning a real device (--commission-discriminator),
// in order: one per step, the operational discovery with the instance of
// the bridge's fabric (fabric id 1) and node id 2, commissioned, the
// read over CASE, the CASE session kept.
var bridgeCommissionLines = []string{
	"node 0 commissioning ",
	"node 0 commission PASE: session established with [fd00:6d73:696d::ff00]:5550",
	"node 0 commission ArmFailSafe: ok",
	"node 0 commission Read(LocationCapability, VendorID, ProductID): LocationCapability",
	"node 0 commission SetRegulatoryConfig: ok",
	"node 0 commission CertificateChainRequest(DAC): ok",
	"node 0 commission CertificateChainRequest(PAI): ok",
	"node 0 commission AttestationRequest: verified (DAC vendor 0xFFF1 product 0x8000)",
	"node 0 commission CSRRequest: verified; NOC issued for node 0x0000000000000002",
	"node 0 commission AddTrustedRootCertificate: ok",
	"node 0 commission AddNOC: fabric index 1 (fabric id 0x0000000000000001",
	"node 0 commission operational discovery: ",
	"node 0 commission CASE: session established with [fd00:6d73:696d::ff00]:5550",
	"node 0 commission CommissioningComplete: ok",
	"node 0 commissioned [fd00:6d73:696d::ff00]:5550 as ",
	`node 0 commission Read(VendorName, CommissionedFabrics): VendorName "InteropVendor", CommissionedFabrics 1`,
	`node 0 commission Read(VendorName, OnOff): VendorName "InteropVendor", OnOff false over CASE`,
	"node 0 keeps the CASE session with [fd00:6d73:696d::ff00]:5550 (node id 0x0000000000000002)",
}

// runBridgeCommission runs the bridge with --commission-discriminator and
// extra args against a matter.js device on the real side and waits for
// bridgeCommissionLines in order; it returns the lines and the trace.
func runBridgeCommission(t *testing.T, nsName string, extra ...string) ([]string, string) {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	_, ns, br := startBridgeTest(t, nsName, append([]string{"--commission-discriminator", "3998", "--commission-passcode", "20202021",
		"--trace", trace}, extra...)...)
	dev := StartMatterJSDevice(t, ns, DeviceOptions{Port: 5550, AllAddrs: true, ExtraEnv: []string{"DISCRIMINATOR=3998"}})
	deadline := time.After(120 * time.Second)
	var lines []string
	for seen := 0; seen < len(bridgeCommissionLines); {
		select {
		case l := <-br.lines:
			lines = append(lines, l)
			if strings.Contains(l, " failed") {
				t.Fatalf("bridge: %s\n%s\ndevice:\n%s", l, strings.Join(lines, "\n"), dev.Output())
			}
			if strings.Contains(l, bridgeCommissionLines[seen]) {
				seen++
			}
		case <-deadline:
			t.Fatalf("bridge stdout lacks %q:\n%s\ndevice:\n%s", bridgeCommissionLines[seen], strings.Join(lines, "\n"), dev.Output())
		}
	}
	br.stop(t)
	t.Logf("bridge lines after ready:\n%s", strings.Join(lines, "\n"))
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	t.Logf("trace: %d bridge-retransmit events", strings.Count(string(b), `"bridge-retransmit"`))
	return lines, string(b)
}

// TestBridgeControllerCommissionsMatterJSDevice: the virtual controller
// behind the bridge finds a matter.js device on the real side by browsing
// _matterc._udp and commissions it (--commission-discriminator): PASE with
// the TXT intervals, the whole commissioning flow with attestation against
// the SDK test PAA, the node found again by operational discovery
// (_I<CFID>._sub._matter._tcp) on the bridged link, CASE to the address it
// advertises, CommissioningComplete, VendorName and OnOff over CASE.
func TestBridgeControllerCommissionsMatterJSDevice(t *testing.T) {
	lines, trace := runBridgeCommission(t, "mtrbm")
	var disc string
	for _, l := range lines {
		if strings.Contains(l, "commission operational discovery:") {
			disc = l
		}
	}
	require.Regexp(t, `[0-9A-F]{16}-0000000000000002\._matter\._tcp at \[fd00:6d73:696d::ff00\]:5550 SII=`, disc)
	for _, ev := range []string{`"bridge-commission-step"`, `"bridge-commissioned"`} {
		require.Contains(t, trace, ev)
	}
	require.NotContains(t, trace, `"bridge-commission-failed"`)
}

// TestBridgeControllerCommissionsMatterJSDeviceLoss: the same with 20 %
// loss on every link of the virtual network, the bridge's included: MRP
// retransmits (the trace shows them) and the commissioning completes.
func TestBridgeControllerCommissionsMatterJSDeviceLoss(t *testing.T) {
	_, trace := runBridgeCommission(t, "mtrbl", "--set", "loss=20%")
	require.Contains(t, trace, `"bridge-commissioned"`)
	require.Contains(t, trace, `"bridge-retransmit"`, "20 % loss and no MRP retransmission")
}
