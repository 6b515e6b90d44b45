package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mattersim/internal/netns"
)

// The bridge tests run `mattersim bridge --create` inside a network
// namespace the test creates (and removes, with the TAP in it): the
// namespace's kernel is the real side, with an address on the TAP, so
// nothing leaves the namespace. They need root; under CI=true as root a
// missing prerequisite fails instead of skipping.

const bridgeRealAddr = "fd00:6d73:696d::ff00" // the kernel's address on the TAP

func requireBridge(t *testing.T) {
	t.Helper()
	if ok, why := netns.Available(); !ok {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("bridge test under CI as root: %s", why)
		}
		t.Skip("SKIP: bridge tests need network namespaces: " + why)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bridge test under CI: /dev/net/tun: %v", err)
		}
		t.Skip("SKIP: no /dev/net/tun: " + err.Error())
	}
}

func buildMattersim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mattersim")
	out, err := exec.Command("go", "build", "-o", bin, "mattersim/cmd/mattersim").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// startBridge runs mattersim bridge in ns until it prints ready, then
// gives the TAP the real side's address. It returns the command (stopped by
// the returned function, with the signal it is given: the bridge must exit
// 0 on SIGINT and SIGTERM) and its stdout so far.
func startBridge(t *testing.T, ns *netns.NS, bin string, args ...string) (stop func(os.Signal) string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := ns.Command(ctx, bin, append([]string{"bridge", "--tap", "mtr0", "--create"}, args...)...)
	pr, pw, _ := os.Pipe()
	cmd.Stdout = pw
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start bridge: %v", err)
	}
	pw.Close()
	var out strings.Builder
	ready := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" && !sent {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			cancel()
			t.Fatalf("bridge exited before ready: %s%s", out.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("bridge not ready in 30s")
	}
	ip(t, "-n", ns.Name, "addr", "add", bridgeRealAddr+"/64", "dev", "mtr0", "nodad")
	return func(sig os.Signal) string {
		_ = cmd.Process.Signal(sig)
		err := cmd.Wait()
		<-done
		cancel()
		t.Logf("bridge stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
		if err != nil {
			t.Errorf("bridge exited with %v", err)
		}
		return out.String()
	}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func pairThrough(t *testing.T, ns *netns.NS, bin string, timeout time.Duration) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, bin, "pair", "--peer", "[fd00:6d73:696d::2]:5540", "--passcode", "20202021",
		"--timeout", timeout.String(), "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("pair stdout: %s\nstderr: %s", out, stderr.String())
	if err != nil {
		return nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("pair --json: %v: %s", err, out)
	}
	return res, nil
}

// TestBridgePair is test (a): `mattersim pair` on the real side pairs over
// real UDP with the virtual device behind the bridge, reads its names and
// closes the session; the TAP is gone once the bridge exits.
func TestBridgePair(t *testing.T) {
	requireBridge(t)
	bin := buildMattersim(t)
	for _, mode := range []string{"netstack", "direct"} {
		t.Run(mode, func(t *testing.T) {
			ns := netns.New(t, "mtrbr")
			dir := t.TempDir()
			trace, pcap := filepath.Join(dir, "trace.jsonl"), filepath.Join(dir, "capture.pcap")
			stop := startBridge(t, ns, bin, "--trace", trace, "--pcap", pcap, "--network", mode)
			res, err := pairThrough(t, ns, bin, 10*time.Second)
			out := stop(os.Interrupt)
			if err != nil {
				t.Fatalf("pair through the bridge: %v", err)
			}
			if res["vendorName"] == "" || res["sessionClosed"] != true {
				t.Errorf("pair result %v: want a vendor name and a closed session", res)
			}
			if !strings.Contains(out, mode+" network") || !strings.Contains(out, "neighbour solicitations answered") {
				t.Errorf("bridge output %q", out)
			}
			if o, err := exec.Command("ip", "-n", ns.Name, "link", "show", "mtr0").CombinedOutput(); err == nil {
				t.Errorf("mtr0 still exists after the bridge exited: %s", o)
			}
			tr, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"ev":"realtime"`, `"ev":"bridge-nd"`, `"ev":"bridge-neighbour"`, `"from":2,"to":1`, `"from":1,"to":2`} {
				if !strings.Contains(string(tr), want) {
					t.Errorf("trace has no %s", want)
				}
			}
			// The capture holds the bridged frames: PASE both ways, the
			// mDNS announcements.
			if st, err := os.Stat(pcap); err != nil || st.Size() < 24+10*(16+40+8) {
				t.Errorf("capture: %v, %v", st, err)
			}
		})
	}
}

// TestBridgePairLoss is test (d): with 20% loss on every link, the bridge's
// included, pairing through the bridge still succeeds and the trace shows
// the loss and MRP retransmissions.
func TestBridgePairLoss(t *testing.T) {
	requireBridge(t)
	bin := buildMattersim(t)
	ns := netns.New(t, "mtrbl")
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	stop := startBridge(t, ns, bin, "--trace", trace, "--set", "loss=20%")
	// Pair until the device has retransmitted at least once (a run with no
	// device frame lost shows none): the bridge flushes its trace as it
	// runs. Every pairing must succeed, within 3 attempts.
	var retrans, dropsIn, dropsOut, pairings int
	for pairings < 10 && retrans == 0 {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			if _, err = pairThrough(t, ns, bin, 40*time.Second); err == nil {
				break
			}
		}
		if err != nil {
			stop(syscall.SIGTERM)
			t.Fatalf("pair through a 20%% lossy bridge: %v", err)
		}
		pairings++
		time.Sleep(2 * bridgeTraceFlush)
		retrans, dropsIn, dropsOut = countTrace(t, trace)
	}
	stop(syscall.SIGTERM)
	retrans, dropsIn, dropsOut = countTrace(t, trace)
	t.Logf("%d pairings; trace: %d device retransmissions, %d bridged frames dropped inbound, %d outbound", pairings, retrans, dropsIn, dropsOut)
	if retrans == 0 || dropsIn+dropsOut == 0 {
		t.Errorf("want MRP retransmissions by the device and bridged frames dropped in the trace")
	}
}

const bridgeTraceFlush = 200 * time.Millisecond // bridge.TraceFlushEvery

// countTrace counts, in a bridge trace, the device's (node 1) MRP
// retransmissions and the frames dropped from and to the bridge port
// (node 2).
func countTrace(t *testing.T, path string) (retrans, dropsIn, dropsOut int) {
	t.Helper()
	tr, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(tr), "\n") {
		var ev struct {
			Ev, What string
			Node     *int
			From, To *int
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue // the line being written
		}
		switch {
		case ev.Ev == "session" && ev.What == "retransmit" && ev.Node != nil && *ev.Node == 1:
			retrans++
		case ev.Ev == "drop" && *ev.From == 2:
			dropsIn++
		case ev.Ev == "drop" && *ev.To == 2:
			dropsOut++
		}
	}
	return retrans, dropsIn, dropsOut
}

// TestBridgeRefuses: without --create a missing TAP is refused with one
// line, exit status 1.
func TestBridgeRefuses(t *testing.T) {
	requireBridge(t)
	bin := buildMattersim(t)
	ns := netns.New(t, "mtrbx")
	cmd := ns.Command(context.Background(), bin, "bridge", "--tap", "nosuch0")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("bridge --tap nosuch0: %v, want exit 1: %s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no such interface") {
		t.Errorf("want one line naming the missing interface, got %q", out)
	}
	// A name taken by another interface, with --create.
	cmd = ns.Command(context.Background(), bin, "bridge", "--tap", "lo", "--create")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "name taken") {
		t.Errorf("bridge --tap lo --create: %v: %s", err, out)
	}
}

// TestBridgeCommissionsGoDevice: with --commission-discriminator the
// virtual controller behind the bridge commissions `mattersim device`
// running on the real side: it finds it by _matterc._udp, runs PASE and
// the commissioning flow, finds it again by operational discovery
// (_I<CFID>._sub._matter._tcp, advertised by the real device once AddNOC
// added the fabric), opens CASE to it, sends CommissioningComplete and
// reads VendorName and OnOff over CASE. The bridge prints every step.
func TestBridgeCommissionsGoDevice(t *testing.T) {
	requireBridge(t)
	bin := buildMattersim(t)
	ns := netns.New(t, "mtrbg")
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	stop := startBridge(t, ns, bin, "--commission-discriminator", "3997", "--trace", trace)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := ns.Command(ctx, bin, "device", "--listen", "[::]:5560", "--discriminator", "3997", "--vendor-name", "RealGo")
	var devOut strings.Builder
	dev.Stdout, dev.Stderr = &devOut, &devOut
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = dev.Process.Signal(os.Interrupt)
		_ = dev.Wait()
		t.Logf("device:\n%s", devOut.String())
	}()
	deadline := time.Now().Add(45 * time.Second)
	for {
		b, _ := os.ReadFile(trace)
		if strings.Contains(string(b), `"bridge-commission-failed"`) {
			break
		}
		// The last step's line is traced after its stdout line.
		if strings.Contains(string(b), `"step":"Read(VendorName, OnOff)"`) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	out := stop(os.Interrupt)
	for _, want := range []string{
		"node 0 commissioning ",
		"node 0 commission PASE: session established with [" + bridgeRealAddr + "]:5560",
		"node 0 commission AttestationRequest: verified (DAC vendor 0xFFF1 product 0x8000)",
		"node 0 commission AddNOC: fabric index 1 (fabric id 0x0000000000000001",
		// The real device's TXT intervals, which CASE applies before Sigma1.
		"-0000000000000002._matter._tcp at [" + bridgeRealAddr + "]:5560 SII=500ms SAI=300ms",
		"node 0 commission CASE: session established with [",
		"node 0 commission CommissioningComplete: ok",
		"node 0 commissioned [",
		`node 0 commission Read(VendorName, OnOff): VendorName "RealGo", OnOff false over CASE`,
		"node 0 keeps the CASE session with [",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bridge stdout lacks %q", want)
		}
	}
	if strings.Contains(out, " failed") {
		t.Errorf("bridge reports a failure")
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ev":"bridge-commission-step"`, `"ev":"bridge-commissioned"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("trace has no %s", want)
		}
	}
}
