package scenarios

import (
	"bytes"
	"testing"

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
// it heals, the rebooted device's too; a device's sessions are CASE
// sessions; the summary says so. Same seed, same metrics; another seed,
// another run.
func TestCASEPartitionScenario(t *testing.T) {
	d, s1 := runCASEPartition(t, Overrides{CI: true})
	get := func(name string) float64 { v, ok := s1.Metrics.Get(name); require.True(t, ok, name); return v }
	require.Equal(t, 20.0, get("case.full"), "one full handshake per device")
	// The ten devices cut off, and the one rebooted, come back by
	// resumption: both ends kept the record.
	require.Equal(t, 11.0, get("case.resumptions"))
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
	require.Contains(t, b.String(), "20 full, 11 resumed")

	_, s2 := runCASEPartition(t, Overrides{CI: true})
	require.Equal(t, s1.Metrics, s2.Metrics)
	seed2 := uint64(2)
	_, s3 := runCASEPartition(t, Overrides{CI: true, Seed: &seed2})
	require.NotEqual(t, s1.Metrics, s3.Metrics)
}
