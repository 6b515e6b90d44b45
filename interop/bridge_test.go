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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	br := ns.Command(ctx, bin, "bridge", "--tap", "mtr0", "--create", "--discriminator", "3001")
	stdout, err := br.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	br.Stderr = &stderr
	require.NoError(t, br.Start())
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "ready" {
			break
		}
	}
	require.Contains(t, out.String(), "discriminator 3001", "bridge did not start: %s%s", out.String(), stderr.String())
	go func() {
		for sc.Scan() {
		}
	}()
	if o, err := exec.Command("ip", "-n", ns.Name, "addr", "add", "fd00:6d73:696d::ff00/64", "dev", "mtr0", "nodad").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, o)
	}
	p := StartPeer(t, ns, "matter.js discover", append(matterEnv(t, "info"), "DISCRIMINATOR=3001"), node, "discover.mjs")
	wctx, wcancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer wcancel()
	err = p.Wait(wctx)
	log := p.Output()
	t.Logf("bridge: %s", out.String())
	require.NoError(t, err, "matter.js: %s", log)
	for _, want := range []string{"INTEROP: discovered", "D=3001 CM=1 VP=65521+32768 SII=500 SAI=300", "INTEROP: PASE established", `INTEROP: VendorName over PASE = "mattersim"`, "INTEROP: PASE session closed"} {
		require.Contains(t, log, want)
	}
	_ = br.Process.Signal(os.Interrupt)
	require.NoError(t, br.Wait(), "bridge: %s", stderr.String())
}
