package sim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

// buildEchoNet builds k nodes, each with an App on MatterPort that sends
// echo requests to random peers (one send every interval ± jitter, limit
// sends each), and returns the apps.
func buildEchoNet(t testing.TB, seed uint64, k int, interval time.Duration, limit uint64) (*Engine, *Network, []*App) {
	e, n := newNet(t, seed, k)
	apps := make([]*App, k)
	for i := range k {
		a, err := BindApp(n.Node(i), MatterPort)
		require.NoError(t, err)
		rng := n.Node(i).Rand("peers")
		peer := rng.IntN(k - 1)
		if peer >= i {
			peer++
		}
		a.Peers = []netip.AddrPort{ap(Addr(peer))}
		a.Echo, a.Interval, a.Jitter, a.Limit, a.Size = true, interval, interval/10, limit, 64
		a.Start(clock.Time(rng.Int64N(int64(interval))))
		apps[i] = a
	}
	return e, n, apps
}

// Test10kNodeEcho runs the echo workload on 10,000 nodes: every node sends
// one request to a random peer and must get its reply. Its run time is
// recorded in BENCHMARKS.md, not asserted.
func Test10kNodeEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("10k nodes: skipped in -short")
	}
	const k = 10000
	start := time.Now()
	e, n, apps := buildEchoNet(t, 1, k, 100*time.Millisecond, 1)
	built := time.Since(start)
	e.Run()
	var sent, req, rep uint64
	for _, a := range apps {
		sent += a.Sent
		req += a.Requests
		rep += a.Replies
		require.Zero(t, a.SendErrors)
	}
	require.Equal(t, uint64(k), sent)
	require.Equal(t, uint64(k), req)
	require.Equal(t, uint64(k), rep)
	require.Equal(t, NetStats{Sent: 2 * k, Delivered: 2 * k}, n.Stats())
	require.Zero(t, e.NetClock().AfterFuncs)
	t.Logf("10k nodes: build %v, run %v (virtual %v)", built, time.Since(start)-built, e.Now())
}
