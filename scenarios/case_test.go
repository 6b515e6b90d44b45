package scenarios

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session"
)

func runCASEPartition(t *testing.T, o Overrides) (*Net, Summary) {
	t.Helper()
	s, err := Open("case-partition", o)
	require.NoError(t, err)
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	sum, err := d.Run()
	require.NoError(t, err)
	return d, sum
}

// case-partition (ci): the partitioned devices' sessions are resumed once
// it heals, the rebooted and the power-cycled devices' too; a device's sessions are CASE
// sessions; the summary says so. Same seed, same metrics; another seed,
// another run.
func TestCASEPartitionScenario(t *testing.T) {
	d, s1 := runCASEPartition(t, Overrides{CI: true})
	get := func(name string) float64 { v, ok := s1.Metrics.Get(name); require.True(t, ok, name); return v }
	require.Equal(t, 20.0, get("case.full"), "one full handshake per device")
	// The ten devices cut off, the one rebooted and the one power-cycled
	// come back by resumption: both ends kept the record.
	require.Equal(t, 12.0, get("case.resumptions"))
	require.Equal(t, get("case.established"), get("case.full")+get("case.resumptions"))
	require.Equal(t, get("case.handshakes"), get("case.established")+get("case.failures"))
	require.Positive(t, get("case.failures.no_ack"), "attempts into the partition")
	require.Equal(t, get("case.handshake_latency.count"), get("case.established"))
	require.Zero(t, get("unfinished"))
	for _, i := range d.Devices {
		n := 0
		for _, r := range d.Nodes[i].Manager().Sessions() {
			if info, ok := d.Nodes[i].Manager().SessionInfo(r); ok && r.Secure() {
				require.Equal(t, session.CASE, info.Kind)
				n++
			}
		}
		require.Positive(t, n, "device %d", i)
	}
	var b bytes.Buffer
	require.NoError(t, s1.WriteTable(&b))
	require.Contains(t, b.String(), "secure sessions from CASE")
	require.Contains(t, b.String(), "20 full, 12 resumed")

	_, s2 := runCASEPartition(t, Overrides{CI: true})
	require.Equal(t, s1.Metrics, s2.Metrics)
	seed2 := uint64(2)
	_, s3 := runCASEPartition(t, Overrides{CI: true, Seed: &seed2})
	require.NotEqual(t, s1.Metrics, s3.Metrics)
}

// CASE on the default network under 20% loss on every link: every device
// gets its session (MRP retransmits the handshake, failed attempts are
// retried), every read finishes, and the run is a function of the seed.
func TestCASEUnderLossScenario(t *testing.T) {
	o := Options{Seed: 5, Nodes: 16, LossPercent: 20, Duration: 30 * time.Second, Establish: EstablishCASE}
	s1, err := Default(o)
	require.NoError(t, err)
	get := func(name string) float64 { v, ok := s1.Metrics.Get(name); require.True(t, ok, name); return v }
	require.Equal(t, 15.0, get("pairings.succeeded"))
	require.Zero(t, get("pairings.gave_up"))
	require.GreaterOrEqual(t, get("case.established"), 15.0)
	require.Positive(t, get("mrp.retransmissions"))
	require.Zero(t, s1.Unfinished.Total())
	require.Positive(t, s1.Reads.Answered)
	s2, err := Default(o)
	require.NoError(t, err)
	require.Equal(t, s1.Metrics, s2.Metrics)
	t.Logf("case: %v handshakes, %v failed", get("case.handshakes"), get("case.failures"))
}
