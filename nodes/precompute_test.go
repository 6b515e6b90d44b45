package nodes_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session/spake2p"
)

// Precompute is a pure precomputation: the verifiers (and salts) are the
// same whatever the number of workers or GOMAXPROCS, and the same as the
// lazy path (Establish computing each device's verifier itself) makes.
func TestPrecomputeIndependentOfScheduling(t *testing.T) {
	build := func(procs, workers int, pre bool) []spake2p.Verifier {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		est := &nodes.PASE{Passcode: 20202021, Rand: paseRand,
			DevicePasscode: func(d *nodes.Node) uint32 { return 20202021 + uint32(d.Index()%3) }}
		f := &fakeNet{}
		ctl := newNode(t, 0, nil)
		f.add(ctl)
		var devs []*nodes.Node
		for i := 1; i <= 12; i++ {
			d := newNode(t, i, nil)
			f.add(d)
			devs = append(devs, d)
		}
		if pre {
			require.NoError(t, est.Precompute(devs, workers))
			require.Equal(t, uint64(12), est.Stats().Verifiers)
		}
		for _, d := range devs {
			est.Establish(0, ctl, d, func(_ clock.Time, _ nodes.Pair, _ error) {})
		}
		require.Equal(t, uint64(12), est.Stats().Verifiers, "one PBKDF2 per device, never twice")
		var out []spake2p.Verifier
		for _, d := range devs {
			v, ok := est.Verifier(d)
			require.True(t, ok)
			out = append(out, v)
		}
		return out
	}
	lazy := build(1, 0, false)
	require.Equal(t, lazy, build(1, 1, true))
	require.Equal(t, lazy, build(2, 0, true))
	require.Equal(t, lazy, build(2, 7, true))
	require.NotEqual(t, lazy[0], lazy[1], "per-device salts")
}
