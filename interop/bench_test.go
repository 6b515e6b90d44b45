//go:build interop

package interop

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// TestMatterJSPASERate measures matter.js's own PASE rate (controller to
// device, sequential, CloseSession after each) for the benchmark ratio in
// BENCHMARKS.md. It is a measurement, not a check, so it runs only
// with INTEROP_BENCH=1:
//
//	INTEROP_BENCH=1 go test -count=1 -tags interop -run TestMatterJSPASERate -v ./interop/
//
// BENCH_N sets the number of timed handshakes (default 200).
func TestMatterJSPASERate(t *testing.T) {
	if os.Getenv("INTEROP_BENCH") != "1" {
		t.Skip("SKIP: measurement; set INTEROP_BENCH=1 to run")
	}
	node := RequireMatterJS(t)
	ns := netns.New(t, "mtr-bench")
	// "error" level: logging per datagram would dominate the figure.
	StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "error"})
	n := os.Getenv("BENCH_N")
	if n == "" {
		n = "200"
	}
	env := append(matterEnv(t, "error"), "N="+n)
	b := StartPeer(t, ns, "matter.js bench", env, node, "bench-pase.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, b.Wait(ctx), b.Output())
	line, err := b.WaitLine(ctx, "INTEROP: bench")
	require.NoError(t, err)
	t.Log(line)
}
