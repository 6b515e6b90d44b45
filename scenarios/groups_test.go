package scenarios

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const groupScenario = `name: groups
description: group messaging on the simulated network
seed: 3
duration: 10s
drain: 5s
nodes:
  - name: controller
    role: controller
  - name: lights
    count: 6
    model: light
  - name: others
    count: 3
establishment:
  method: keys
groups:
  - name: lights-group
    id: 5
    members: [lights]
    policy: ${policy}
group_sync:
  control_peers: 16
traffic:
  - from: controller
    op: group-invoke
    group: lights-group
    interval: 1s
parameters:
  policy: trust-first
`

func runGroupScenario(t *testing.T, policy string) (*Net, map[string]float64) {
	t.Helper()
	s, err := LoadBytes("groups.yaml", []byte(groupScenario), Overrides{Set: map[string]string{"policy": policy}})
	require.NoError(t, err)
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	sum, err := d.Run()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, m := range sum.Metrics.Metrics {
		got[m.Name] = m.Value
	}
	return d, got
}

// A group command every second for 10 s reaches the 6 members (joined to
// the group's multicast address on their netstacks) and no one else, each
// toggling its light; nobody answers. Trust-first takes the first message
// at once; cache-and-sync queues it and synchronizes first (one MCSP
// exchange per member), then takes the queue.
func TestGroupMessagingOnTheNetwork(t *testing.T) {
	d, m := runGroupScenario(t, "trust-first")
	require.Equal(t, 10.0, m["group.sent"])
	require.Equal(t, 60.0, m["group.delivered"], "10 sends × 6 members, clean links")
	require.Zero(t, m["group.rejected"])
	require.Zero(t, m["mcsp.triggered"])
	require.Equal(t, m["group.sent"], m["messages.sent"], "a group command gets no answer: the controller's only datagrams are its group messages")
	var applied uint64
	for k, r := range d.Responders {
		st := r.Stats()
		if d.Scenario.GroupOf(d.Devices[k]) == 1 {
			require.Equal(t, uint64(10), st.GroupCommands, "light %d", k)
		} else {
			require.Zero(t, st.GroupCommands, "non-member %d", k)
		}
		applied += st.GroupCommands
	}
	require.Equal(t, uint64(60), applied)

	_, m = runGroupScenario(t, "cache-and-sync")
	require.Equal(t, 6.0, m["mcsp.triggered"])
	require.Equal(t, 6.0, m["mcsp.synced"])
	require.Equal(t, 6.0, m["mcsp.responded"])
	require.Equal(t, 1.0, m["mcsp.sync_success_ratio"])
	require.Equal(t, 60.0, m["group.delivered"], "the queued first message is taken after the sync")
	require.Greater(t, m["mcsp.sync_latency.max"], 0.0)
	require.LessOrEqual(t, m["mcsp.sync_latency.max"], 0.6, "request jitter ≤ 500 ms plus a clean round trip")
}

// BenchmarkMulticastFanout: the cost of one group message per member that
// receives it, end to end on the simulated network: the sender's seal,
// the switch's fan-out to every member's netstack, each member's key
// trial, AES-CCM open, window and delivery (trust-first, clean links).
// Reported as ns/member (one member copy of one group message).
func BenchmarkMulticastFanout(b *testing.B) {
	for _, members := range []int{10, 200} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			yaml := strings.Replace(groupScenario, "count: 6", fmt.Sprintf("count: %d", members), 1)
			yaml = strings.Replace(yaml, "duration: 10s", "duration: 100s", 1)
			s, err := LoadBytes("groups.yaml", []byte(yaml), Overrides{})
			require.NoError(b, err)
			var copies float64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				d, err := NewNet(s, RunConfig{})
				require.NoError(b, err)
				b.StartTimer()
				sum, err := d.Run()
				require.NoError(b, err)
				v, _ := sum.Metrics.Get("group.delivered")
				copies += v
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/copies, "ns/member")
		})
	}
}

// The attacker replays a captured multicast copy on the link it captured
// it on, to that member only: injected frames and their fates add up one
// to one (routed on its multicast address, one capture would reach every
// member again). Every replay to a light that kept its state is refused.
func TestGroupReplayAccounting(t *testing.T) {
	s, err := Open("group-replay", Overrides{CI: true})
	require.NoError(t, err)
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	sum, err := d.Run()
	require.NoError(t, err)
	get := func(n string) float64 { v, ok := sum.Metrics.Get(n); require.True(t, ok, n); return v }
	inj := get("replays.injected")
	require.Greater(t, inj, 100.0)
	require.Equal(t, inj, get("replays.reached")+get("replays.dropped")+get("replays.in_flight"))
	require.Equal(t, get("replays.reached"), get("replays.refused")+get("replays.accepted")+get("replays.fresh")+get("replays.queued"))
	require.Zero(t, get("replays.fresh"))
}
