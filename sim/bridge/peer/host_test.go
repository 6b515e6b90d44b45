package peer

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/sim"
)

// A virtual device's mDNS host name is 16 upper-case hex digits (spec
// 4.3.4; the SDK's MakeHostName), one per node, the same for a seed.
func TestBridgeDeviceHostName(t *testing.T) {
	names := func(seed uint64) []string {
		sn, err := sim.NewNetwork(sim.New(seed), sim.NetConfig{})
		require.NoError(t, err)
		var out []string
		for range 3 {
			n, err := sn.AddNode()
			require.NoError(t, err)
			out = append(out, HostName(n))
		}
		return out
	}
	a := names(1)
	for _, n := range a {
		require.Regexp(t, regexp.MustCompile(`^[0-9A-F]{16}$`), n)
	}
	require.NotEqual(t, a[0], a[1])
	require.NotEqual(t, a[1], a[2])
	require.Equal(t, a, names(1))
	require.NotEqual(t, a, names(2))
}
