package metrics

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"mattersim/nodes/commissioner"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/counter"
	"mattersim/sim"
)

// Every catalogue name has a getter, and nothing else does.
func TestEveryNameComputed(t *testing.T) {
	names := Names()
	require.Len(t, getters, len(names))
	for _, d := range names {
		g, ok := getters[d.Name]
		require.True(t, ok, d.Name)
		require.Equal(t, d.Grouped, g.grouped != nil, "%s: grouped per catalogue", d.Name)
	}
}

// testNodes returns nodes 0..k-1 (no transport: events are fed by hand).
func testNodes(t *testing.T, k int) []*nodes.Node {
	t.Helper()
	var ns []*nodes.Node
	for i := range k {
		m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{byte(i)}), rand.NewPCG(1, uint64(i)))
		require.NoError(t, err)
		ns = append(ns, nodes.New(i, 1, m, nil))
	}
	return ns
}

func val(t *testing.T, c *Collector, ref string) float64 {
	t.Helper()
	v, _, err := c.Value(ref)
	require.NoError(t, err, ref)
	return v
}

// Events count overall and at the right group; unfinished is what started
// and never ended; ratios and distributions follow the catalogue.
func TestCollectorCounts(t *testing.T) {
	c, err := NewCollector([]string{"ctl", "lights"}, []int{0, 1, 1})
	require.NoError(t, err)
	ns := testNodes(t, 3)
	ctl, l1, l2 := ns[0], ns[1], ns[2]
	for _, n := range ns {
		c.Attach(n)
	}
	emit := func(n *nodes.Node, ev nodes.NodeEvent) { n.OnNodeEvent(0, n, &ev) }
	sess := func(n *nodes.Node, ev session.Event) { n.OnEvent(0, n, &ev, false) }

	// Pairings: two devices queued, one paired after a busy attempt, one
	// still in flight.
	for _, d := range []int{1, 2} {
		emit(ctl, nodes.NodeEvent{Kind: nodes.PairingQueued, Peer: d})
		emit(ctl, nodes.NodeEvent{Kind: nodes.PairingStarted, Peer: d, Attempt: 1})
	}
	emit(ctl, nodes.NodeEvent{Kind: nodes.PairingFailed, Peer: 1, Cause: nodes.CauseBusy})
	emit(ctl, nodes.NodeEvent{Kind: nodes.PairingStarted, Peer: 1, Attempt: 2})
	emit(ctl, nodes.NodeEvent{Kind: nodes.PairingEnded, Peer: 1, Outcome: nodes.PairingSucceeded, Latency: 1500 * time.Millisecond})
	// Reads: to device 1, three sent: answered in 10 ms and 30 ms, one in
	// flight; 4 skipped.
	for range 3 {
		emit(ctl, nodes.NodeEvent{Kind: nodes.OpStarted, Op: nodes.OpRead, Peer: 1})
	}
	emit(ctl, nodes.NodeEvent{Kind: nodes.OpEnded, Op: nodes.OpRead, Peer: 1, Outcome: nodes.Answered, Latency: 10 * time.Millisecond})
	emit(ctl, nodes.NodeEvent{Kind: nodes.OpEnded, Op: nodes.OpRead, Peer: 1, Outcome: nodes.Answered, Latency: 30 * time.Millisecond})
	emit(ctl, nodes.NodeEvent{Kind: nodes.OpSkipped, Op: nodes.OpRead, Peer: 1, Count: 4})
	// An invoke that failed, at device 2.
	emit(ctl, nodes.NodeEvent{Kind: nodes.OpStarted, Op: nodes.OpInvoke, Peer: 2})
	emit(ctl, nodes.NodeEvent{Kind: nodes.OpEnded, Op: nodes.OpInvoke, Peer: 2, Outcome: nodes.Failed})
	// Commissioning: device 1 commissioned at the second attempt (the
	// first failed at AddNOC); device 2's attempt failed at
	// CommissioningComplete and a CASE-only retry found it commissioned.
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionStarted, Peer: 1, Attempt: 1})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionEnded, Peer: 1, Outcome: nodes.Failed, Step: nodes.FlowStep(commissioner.StepAddNOC)})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionStarted, Peer: 1, Attempt: 2})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionEnded, Peer: 1, Outcome: nodes.PairingSucceeded, Latency: 2 * time.Second})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionStarted, Peer: 2, Attempt: 1})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionEnded, Peer: 2, Outcome: nodes.Failed, Step: nodes.FlowStep(commissioner.StepComplete)})
	emit(ctl, nodes.NodeEvent{Kind: nodes.CommissionRecovered, Peer: 2, Attempt: 2})
	// Session events at the nodes themselves.
	sess(l1, session.Event{Kind: session.EventMessage, Session: session.Ref{LocalID: 3}, Verdict: counter.Future})
	sess(l1, session.Event{Kind: session.EventDuplicate, Session: session.Ref{LocalID: 3}, Verdict: counter.BehindWindow})
	sess(l2, session.Event{Kind: session.EventMessage, Verdict: counter.First}) // unsecured
	sess(ctl, session.Event{Kind: session.EventAck, Attempt: 1})
	sess(ctl, session.Event{Kind: session.EventGiveUp, Attempt: 5})
	sess(ctl, session.Event{Kind: session.EventSessionClosed, Reason: session.ClosedEvicted})
	sess(l2, session.Event{Kind: session.EventGroupMessage, Verdict: counter.First})
	emit(l1, nodes.NodeEvent{Kind: nodes.NodeSent, Peer: -1, StandaloneAck: true})
	emit(l1, nodes.NodeEvent{Kind: nodes.NodeSent, Peer: -1, Err: errors.New("refused")})
	emit(l2, nodes.NodeEvent{Kind: nodes.NodeRebooted, Peer: -1})
	emit(l1, nodes.NodeEvent{Kind: nodes.NodeInjected, Class: nodes.InjDuplicate})
	emit(l1, nodes.NodeEvent{Kind: nodes.NodeInjected, Class: nodes.InjUnsecuredHandshake})
	// Frames: 3 genuine queued to device 1, one delivered, one dropped
	// as down, one in flight; a lost one; an injected one delivered.
	p := sim.Packet{From: 0, To: 1}
	for range 4 {
		c.FrameIn(0, p)
	}
	for range 3 {
		c.Queued(0, p)
	}
	c.Delivered(0, p)
	c.Dropped(0, p, sim.DropDown)
	c.Dropped(0, p, sim.DropLoss)
	inj := sim.Packet{From: -1, To: 1, Injected: true}
	c.FrameIn(0, inj)
	c.Queued(0, inj)
	c.Delivered(0, inj)
	c.Finish(clock.Time(90*time.Second), 1234)

	for ref, want := range map[string]float64{
		"pairings.devices": 2, "pairings.attempts": 3, "pairings.busy": 1, "pairings.failed": 1,
		"pairings.succeeded": 1, "pairings.unfinished": 1, "pairings.success_ratio": 0.5,
		"pairings.devices{group=lights}": 2, "pairings.devices{group=ctl}": 0,
		"pairing_latency.max": 1.5, "pairing_latency.count": 1,
		"reads.sent": 3, "reads.answered": 2, "reads.unfinished": 1, "reads.skipped": 4,
		"reads.answered_ratio": 1, "reads.sent{group=lights}": 3,
		"read_latency.count": 2, "read_latency.min": 0.01, "read_latency.max": 0.03, "read_latency.mean": 0.02,
		"invokes.failed": 1, "invokes.answered_ratio": 0, "requests.answered_ratio": 1,
		"messages.delivered": 3, "messages.delivered{group=lights}": 3, "messages.duplicates": 1,
		"messages.sent": 1, "mrp.standalone_acks": 1, "mrp.acks": 1, "mrp.give_ups": 1,
		"mrp.transmissions.max": 5, "mrp.transmissions.mean": 3, "mrp.acks{group=ctl}": 1,
		"sessions.closed": 1, "sessions.evicted": 1,
		"window.unicast.future": 1, "window.unicast.behind_window": 1, "window.unencrypted.first": 1,
		"window.group.first": 1, "window.group.first{group=lights}": 1,
		"nodes.total": 3, "nodes.total{group=lights}": 2, "nodes.rebooted": 1, "nodes.rebooted{group=ctl}": 0,
		"network.sent": 4, "network.delivered": 1, "network.dropped": 2, "network.dropped.down": 1,
		"network.dropped.loss": 1, "network.in_flight": 1,
		"replays.injected": 1, "replays.reached": 1, "replays.refused": 1, "replays.refused.duplicate": 1,
		"replays.handshake.received": 1, "replays.handshake.refused": 1, "replays.failures": 0,
		// 1 read + 1 pairing in flight + 1 frame queued.
		"unfinished": 3, "unfinished{group=lights}": 3, "unfinished{group=ctl}": 0,
		"run.events": 1234, "run.virtual_time": 90,
		"commission.started": 3, "commission.succeeded": 1, "commission.failed": 2,
		"commission.failed.add_noc": 1, "commission.failed.complete": 1, "commission.recovered": 1,
		"commission.devices": 2, "commission.devices{group=lights}": 2, "commission.success_ratio": 1.0 / 3,
	} {
		require.InDelta(t, want, val(t, c, ref), 1e-9, ref)
	}

	_, _, err = c.Value("reads.nope")
	var me *MetricError
	require.ErrorAs(t, err, &me)
	_, _, err = c.Value("reads.sent{group=heaters}")
	require.ErrorAs(t, err, &me)
	_, _, err = c.Value("network.sent{group=ctl}")
	require.ErrorAs(t, err, &me)

	// The snapshot has every name, sorted, groups per grouped metric, and
	// encodes as JSON.
	s := c.Snapshot()
	require.Len(t, s.Metrics, len(Names()))
	for i := 1; i < len(s.Metrics); i++ {
		require.Less(t, s.Metrics[i-1].Name, s.Metrics[i].Name)
	}
	v, ok := s.Get("reads.sent")
	require.True(t, ok)
	require.Equal(t, 3.0, v)
	_, err = json.Marshal(s)
	require.NoError(t, err)
	for _, m := range s.Metrics {
		d, _, _ := Lookup(m.Name)
		if d.Grouped {
			require.Len(t, m.Groups, 2, m.Name)
		} else {
			require.Nil(t, m.Groups, m.Name)
		}
	}
}

func TestCollectorSetupErrors(t *testing.T) {
	for _, c := range []struct {
		groups []string
		nodes  []int
	}{
		{[]string{""}, nil},
		{[]string{"a b"}, nil},
		{[]string{"a", "a"}, nil},
		{[]string{"a"}, []int{0, 1}},
		{[]string{"a"}, []int{-1}},
	} {
		_, err := NewCollector(c.groups, c.nodes)
		var se *SetupError
		require.ErrorAs(t, err, &se, "%v %v", c.groups, c.nodes)
	}
}

// BenchmarkMetricsEvent is the collector's cost per event: a mix of the
// events a secure datagram causes (frame in, queued, delivered, the sent
// datagram, the delivered message with its verdict, an ack).
func BenchmarkMetricsEvent(b *testing.B) {
	c, err := NewCollector([]string{"ctl", "devices"}, make([]int, 100))
	if err != nil {
		b.Fatal(err)
	}
	m, _ := session.New(session.Config{}, rand.NewChaCha8([32]byte{}), rand.NewPCG(1, 2))
	n := nodes.New(7, 1, m, nil)
	p := sim.Packet{From: 1, To: 7}
	msg := session.Event{Kind: session.EventMessage, Session: session.Ref{LocalID: 9}, Verdict: counter.Future}
	ack := session.Event{Kind: session.EventAck, Session: session.Ref{LocalID: 9}, Attempt: 1}
	sent := nodes.NodeEvent{Kind: nodes.NodeSent, Peer: -1}
	op := nodes.NodeEvent{Kind: nodes.OpEnded, Op: nodes.OpRead, Peer: 3, Outcome: nodes.Answered, Latency: 3 * time.Millisecond}
	const perIter = 7
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N / perIter {
		c.FrameIn(0, p)
		c.Queued(0, p)
		c.Delivered(0, p)
		c.NodeEvent(0, n, &sent)
		c.SessionEvent(0, n, &msg, false)
		c.SessionEvent(0, n, &ack, false)
		c.NodeEvent(0, n, &op)
	}
}
