package scenarios

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/im"
	"mattersim/session/mrp"
)

// subEv is one {"ev":"sub"} line of a trace.
type subEv struct {
	T    int64  `json:"t"`
	What string `json:"what"`
	Peer int    `json:"peer"`
	Err  string `json:"err"`
}

// runSubs runs the shipped scenario name (ci variant, overrides set)
// with a trace and returns the trace, the net and the subscription events
// per device.
func runSubs(t *testing.T, name string, set map[string]string) ([]byte, *Net, map[int][]subEv) {
	t.Helper()
	s, err := Open(name, Overrides{CI: true, Set: set})
	require.NoError(t, err)
	var tr bytes.Buffer
	d, err := NewNet(s, RunConfig{Trace: &tr})
	require.NoError(t, err)
	_, err = d.Run()
	require.NoError(t, err)
	per := map[int][]subEv{}
	for _, line := range strings.Split(tr.String(), "\n") {
		if !strings.Contains(line, `"ev":"sub"`) {
			continue
		}
		var e subEv
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		per[e.Peer] = append(per[e.Peer], e)
	}
	return tr.Bytes(), d, per
}

// subs-partition in virtual time, read from the trace: a near light's
// keep-alive comes max_interval (20 s) after the previous report, give
// or take the links' 2 ms ± 1 ms; a far light's subscription is lost
// exactly max_interval + 13.265 s (im.LivenessTimeout with default MRP)
// after the last report that reached the controller, inside the cut;
// the resubscription waits for the CASE session the cut keeps from being
// set up again (any attempt that fails does so during the cut), and each
// far light is subscribed again after the heal.
func TestSubsPartitionTiming(t *testing.T) {
	_, d, per := runSubs(t, "subs-partition", nil)
	s := d.Scenario
	maxIv := 20 * time.Second
	cut, heal := s.Partitions[0].At.D(), s.Partitions[0].Heal.D()
	near, far := s.GroupIndex("near"), s.GroupIndex("far")
	keepalives := 0
	for peer, evs := range per {
		var last int64 = -1 // last report or keep-alive received
		lost, reEst := 0, 0
		for _, e := range evs {
			switch e.What {
			case "keepalive":
				if last >= 0 {
					gap := time.Duration(e.T - last)
					require.InDelta(t, float64(maxIv), float64(gap), float64(6*time.Millisecond), "peer %d keep-alive at %s", peer, time.Duration(e.T))
					keepalives++
				}
				last = e.T
			case "report":
				last = e.T
			case "lost":
				lost++
				require.Equal(t, s.GroupOf(peer), far, "only far lights lose their subscription")
				require.Equal(t, maxIv+13265*time.Millisecond, time.Duration(e.T-last), "peer %d: liveness timeout after the last report", peer)
				require.Greater(t, time.Duration(e.T), cut)
				require.Less(t, time.Duration(e.T), heal)
				require.Contains(t, e.Err, "liveness timeout")
				last = -1
			case "setup-failed":
				require.Less(t, time.Duration(e.T), heal+5*time.Second, "peer %d: attempts fail during the cut only", peer)
			case "established":
				if lost > 0 {
					reEst++
					require.Greater(t, time.Duration(e.T), heal, "peer %d: subscribed again once healed", peer)
				}
				last = e.T // the SubscribeResponse arms the liveness timer
			}
		}
		if s.GroupOf(peer) == near {
			require.Zero(t, lost, "peer %d", peer)
		} else {
			require.Equal(t, 1, lost, "peer %d", peer)
			require.Equal(t, 1, reEst, "peer %d", peer)
		}
	}
	require.Len(t, per, 10)
	require.Greater(t, keepalives, 20, "back-to-back keep-alives were checked")
	require.Equal(t, 5.0, metric(t, d, "subs.liveness_failures"))
	require.Zero(t, metric(t, d, "unfinished"))
}

// The same scenario and seed give the same trace and metrics; another
// seed another run.
func TestSubsDeterministic(t *testing.T) {
	a, da, _ := runSubs(t, "subs-partition", nil)
	b, db, _ := runSubs(t, "subs-partition", nil)
	require.True(t, bytes.Equal(a, b), "traces differ")
	require.Equal(t, da.Metrics.Snapshot(), db.Metrics.Snapshot())
	seed := uint64(2)
	st, err := Open("subs-partition", Overrides{CI: true, Seed: &seed})
	require.NoError(t, err)
	var tr bytes.Buffer
	dc, err := NewNet(st, RunConfig{Trace: &tr})
	require.NoError(t, err)
	_, err = dc.Run()
	require.NoError(t, err)
	c := tr.Bytes()
	require.False(t, bytes.Equal(a, c), "the seed changes the run")
}

// A device reboot ends its subscriptions: the controller notices by the
// liveness timeout, sets the session up again and resubscribes.
func TestSubsDeviceReboot(t *testing.T) {
	const file = `name: subs-reboot
seed: 3
duration: 3m
nodes:
  - {name: hub, role: controller}
  - {name: lights, count: 3, model: light}
establishment: {method: keys}
traffic:
  - {name: watch, from: hub, to: lights, op: subscribe, min_interval: 1s, max_interval: 10s}
events:
  - {at: 30s, reboot: "lights[1]"}
`
	s, err := LoadBytes("subs-reboot.yaml", []byte(file), Overrides{})
	require.NoError(t, err)
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	_, err = d.Run()
	require.NoError(t, err)
	require.Equal(t, 1.0, metric(t, d, "subs.liveness_failures"))
	require.Equal(t, 1.0, metric(t, d, "subs.liveness_failures{group=lights}"))
	require.Equal(t, 4.0, metric(t, d, "subs.established"))
	require.Equal(t, 1.0, metric(t, d, "subs.resubscribes"))
	require.Zero(t, metric(t, d, "unfinished"))
}

// The liveness timeout uses the devices' advertised session parameters
// (im.LivenessTimeout): with a 1 s active interval on the lights, the
// margin for the controller's answer to reach them grows.
func TestSubsLivenessUsesPeerIntervals(t *testing.T) {
	const file = `name: subs-intervals
seed: 1
duration: 2m
nodes:
  - {name: hub, role: controller}
  - {name: lights, count: 1, model: light, session: {active_interval: 1s}}
establishment: {method: keys}
traffic:
  - {name: watch, from: hub, to: lights, op: subscribe, max_interval: 10s}
partitions:
  - {name: cut, sides: [hub, lights], at: 15s}
`
	s, err := LoadBytes("subs-intervals.yaml", []byte(file), Overrides{})
	require.NoError(t, err)
	var tr bytes.Buffer
	d, err := NewNet(s, RunConfig{Trace: &tr})
	require.NoError(t, err)
	_, err = d.Run()
	require.NoError(t, err)
	var last, lost int64 = -1, -1
	for _, line := range strings.Split(tr.String(), "\n") {
		var e subEv
		if !strings.Contains(line, `"ev":"sub"`) {
			continue
		}
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		switch e.What {
		case "keepalive", "report", "established": // the SubscribeResponse arms the timer
			last = e.T
		case "lost":
			lost = e.T
		}
		if lost >= 0 {
			break
		}
	}
	require.Positive(t, lost)
	want := im.LivenessTimeout(10*time.Second, mrp.Intervals{}, mrp.Intervals{Active: time.Second})
	require.Greater(t, want, 10*time.Second+13265*time.Millisecond)
	require.Equal(t, want, time.Duration(lost-last))
}

// A controller reboot loses its subscriptions with its core: once up, it
// sets up its sessions again and subscribes anew at once; the devices'
// old subscriptions end when their reports find no session.
func TestSubsControllerReboot(t *testing.T) {
	const file = `name: subs-ctl-reboot
seed: 2
duration: 2m
drain: 1m
nodes:
  - {name: hub, role: controller}
  - {name: lights, count: 3, model: light}
establishment: {method: keys}
traffic:
  - {name: watch, from: hub, to: lights, op: subscribe, max_interval: 10s}
changes:
  - {devices: lights, interval: 20s}
events:
  - {at: 40s, reboot: hub}
`
	s, err := LoadBytes("subs-ctl-reboot.yaml", []byte(file), Overrides{})
	require.NoError(t, err)
	d, err := NewNet(s, RunConfig{})
	require.NoError(t, err)
	_, err = d.Run()
	require.NoError(t, err)
	require.Equal(t, 6.0, metric(t, d, "subs.established"), "3 at start, 3 after the reboot")
	require.Equal(t, 3.0, metric(t, d, "subs.resubscribes"))
	require.Zero(t, metric(t, d, "subs.liveness_failures"), "the reboot, not a timeout, ended them")
	require.Zero(t, metric(t, d, "unfinished"))
	for _, r := range d.Responders {
		require.Len(t, r.Subs.Subscriptions(), 1, "the old subscription is gone, the new one live")
	}
}
