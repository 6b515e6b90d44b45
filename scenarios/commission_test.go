package scenarios

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// commissionLossy is a lossy commissioning run: 45% loss, so that steps
// fail, are retried and the device fail-safes are disarmed or expire.
const commissionLossy = `name: commission-lossy-test
seed: 9
duration: 8m
drain: 2m
nodes:
  - {name: controller, role: controller}
  - {name: devices, count: 8}
establishment: {method: commission}
traffic:
  - {name: reads, from: controller, to: devices, op: read, interval: 10s}
faults:
  - loss: {p: 45%}
    delay: {time: 2ms, jitter: 1ms}
`

// Same seed, same trace bytes, in both network modes, for a lossy
// commissioning run; and the two modes' traces are the same bytes.
func TestCommissionDeterministic(t *testing.T) {
	traces := map[NetworkMode]string{}
	for _, mode := range []NetworkMode{NetworkNetstack, NetworkDirect} {
		var tr [2]bytes.Buffer
		for k := range tr {
			s, err := LoadBytes("lossy.yaml", []byte(commissionLossy), Overrides{Network: &mode})
			require.NoError(t, err)
			d, err := NewNet(s, RunConfig{Trace: &tr[k]})
			require.NoError(t, err)
			sum, err := d.Run()
			require.NoError(t, err)
			c := sum.Commission
			if k == 0 {
				t.Logf("%v: %+v", mode, c)
			}
			require.Equal(t, uint64(8), c.Commissioned)
			require.Positive(t, c.Failed, "45%% loss fails some steps")
		}
		require.NotZero(t, tr[0].Len())
		require.True(t, bytes.Equal(tr[0].Bytes(), tr[1].Bytes()), "%v: traces differ", mode)
		require.Contains(t, tr[0].String(), `"ev":"case"`)
		traces[mode] = tr[0].String()
	}
	require.True(t, traces[NetworkNetstack] == traces[NetworkDirect], "netstack and direct traces differ")
}

// BenchmarkCommissionHome runs commission-home's --ci variant (20
// devices, two controllers, 90 s) per op; commissionings/s is the devices
// commissioned per wall-clock second. Results: BENCHMARKS.md.
func BenchmarkCommissionHome(b *testing.B) {
	var n uint64
	var wall time.Duration
	for b.Loop() {
		s, err := Open("commission-home", Overrides{CI: true})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		d, err := NewNet(s, RunConfig{})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := d.Run()
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		n += sum.Commission.Commissioned
	}
	b.ReportMetric(float64(n)/wall.Seconds(), "commissionings/s")
}
