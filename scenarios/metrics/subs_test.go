package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
)

// subs.report_latency matches changes to reports by DataVersion: a report
// still in flight when a change is made (it carries an older version) does
// not count as reporting it; the one that carries it does. Changes to a
// cluster no subscriber has had a report of wait for nothing; changes not
// yet reported at the end are unfinished.
func TestSubsReportLatencyByDataVersion(t *testing.T) {
	c, err := NewCollector([]string{"hub", "lights"}, []int{0, 1})
	require.NoError(t, err)
	hub, light := nodes.New(0, 1, nil, nil), nodes.New(1, 2, nil, nil)
	onoff := func(v uint32) []nodes.ClusterVersion {
		return []nodes.ClusterVersion{{Endpoint: 1, Cluster: 6, DataVersion: v}}
	}
	ms := func(d int) clock.Time { return clock.Time(time.Duration(d) * time.Millisecond) }
	ev := func(at clock.Time, n *nodes.Node, e nodes.NodeEvent) { c.NodeEvent(at, n, &e) }

	ev(ms(0), hub, nodes.NodeEvent{Kind: nodes.SubRequested, Peer: 1})
	ev(ms(5), light, nodes.NodeEvent{Kind: nodes.AttrChanged, Peer: -1, Versions: onoff(1)}) // before any report: not waited for
	ev(ms(10), hub, nodes.NodeEvent{Kind: nodes.SubReport, Peer: 1, Versions: onoff(1)})     // priming
	ev(ms(10), hub, nodes.NodeEvent{Kind: nodes.SubEstablished, Peer: 1})
	ev(ms(1000), light, nodes.NodeEvent{Kind: nodes.AttrChanged, Peer: -1, Versions: onoff(2)})
	ev(ms(1003), hub, nodes.NodeEvent{Kind: nodes.SubReport, Peer: 1, Versions: onoff(1)}) // an older report in flight
	ev(ms(1500), light, nodes.NodeEvent{Kind: nodes.AttrChanged, Peer: -1, Versions: onoff(3)})
	ev(ms(2004), hub, nodes.NodeEvent{Kind: nodes.SubReport, Peer: 1, Versions: onoff(3)}) // carries 2 and 3
	ev(ms(3000), light, nodes.NodeEvent{Kind: nodes.AttrChanged, Peer: -1,
		Versions: []nodes.ClusterVersion{{Endpoint: 0, Cluster: 0x28, DataVersion: 9}}}) // nobody subscribes to it
	ev(ms(4000), light, nodes.NodeEvent{Kind: nodes.AttrChanged, Peer: -1, Versions: onoff(4)}) // never reported

	get := func(ref string) float64 {
		v, _, err := c.Value(ref)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, 1.0, get("subs.report_latency.count"), "one report carried changes")
	require.InDelta(t, 1.004, get("subs.report_latency.max"), 1e-3, "from the oldest change it carried (1000 ms) to 2004 ms")
	require.Equal(t, 3.0, get("subs.reports"))
	require.Equal(t, 5.0, get("subs.changes{group=lights}"))
	require.Equal(t, 1.0, get("subs.unfinished"), "version 4 is still waiting")
	require.Equal(t, 1.0, get("subs.unfinished{group=lights}"))
	require.Zero(t, get("subs.unfinished{group=hub}"))
	require.Equal(t, 1.0, get("unfinished"))
}
