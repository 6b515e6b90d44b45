package metrics

import (
	"mattersim/clock"
	"mattersim/nodes"
)

// SubsCounts are the subscription counts (traffic op subscribe, device
// changes), each the number of one node event (nodes.NodeEventKind).
var SubsCounts = []struct{ Name, Help string }{
	{"subs.requested", "subscription attempts, first ones and resubscriptions: a SubscribeRequest sent, or waiting for the session to be set up again (sub-requested)"},
	{"subs.established", "subscriptions established: the SubscribeResponse arrived (sub-established)"},
	{"subs.setup_failed", "subscription attempts that ended without a subscription: refused, MRP gave up, no answer in time, the session could not be set up (sub-setup-failed)"},
	{"subs.reports", "reports with attribute data received by subscribers, priming reports included (sub-report)"},
	{"subs.keepalives", "empty keep-alive reports received by subscribers (sub-keepalive)"},
	{"subs.liveness_failures", "established subscriptions lost because no report came within the liveness timeout (sub-lost)"},
	{"subs.resubscribes", "subscription attempts after a lost subscription or a failed attempt (sub-requested, resubscribe)"},
	{"subs.changes", "attribute changes on devices' data models, local changes and commands (attr-changed)"},
}

// subCounters are the subs.* counters of one node group (or overall).
type subCounters struct {
	requested, established, setupFailed, reports, keepalives uint64
	liveness, resubscribes, changes                          uint64
	latency                                                  Hist
}

// subState is the collector's per-device subscription state, for
// subs.report_latency and subs.unfinished: each device's changes not yet
// reported (cluster instance, DataVersion, when), and which cluster
// instances of which devices subscribers have had reports of (a change
// to a cluster nobody subscribes to waits for no report).
type subState struct {
	pending    [][]pendingChange // per device
	subscribed map[clusterKey]bool
}

type clusterKey struct {
	device  int
	ep      uint16
	cluster uint32
}

type pendingChange struct {
	ep      uint16
	cluster uint32
	version uint32
	at      clock.Time
}

func (st *subState) init(n int) {
	st.pending = make([][]pendingChange, n)
	st.subscribed = make(map[clusterKey]bool)
}

// reported removes device d's changes the report's versions carry (a
// report of DataVersion v carries every change up to v) and returns when
// the oldest of them was made, or false if none.
func (st *subState) reported(d int, vs []nodes.ClusterVersion) (clock.Time, bool) {
	oldest, any := clock.Never, false
	keep := st.pending[d][:0]
	for _, pc := range st.pending[d] {
		covered := false
		for _, v := range vs {
			if v.Endpoint == pc.ep && v.Cluster == pc.cluster && pc.version <= v.DataVersion {
				covered = true
				break
			}
		}
		if covered {
			oldest, any = min(oldest, pc.at), true
			continue
		}
		keep = append(keep, pc)
	}
	st.pending[d] = keep
	return oldest, any
}

// subEvent records one subscription node event of node n in the overall
// counters and the group ones (own: the node's group; tgt: the peer
// device's group).
func (c *Collector) subEvent(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent, own, tgt *counters) {
	each := func(f func(s *subCounters)) {
		f(&c.tot.subs)
		if ev.Kind == nodes.AttrChanged {
			if own != nil {
				f(&own.subs)
			}
		} else if tgt != nil {
			f(&tgt.subs)
		}
	}
	d := ev.Peer
	inRange := d >= 0 && d < len(c.sub.pending)
	switch ev.Kind {
	case nodes.SubRequested:
		each(func(s *subCounters) {
			s.requested++
			if ev.Count > 0 {
				s.resubscribes++
			}
		})
	case nodes.SubEstablished:
		each(func(s *subCounters) { s.established++ })
	case nodes.SubSetupFailed:
		each(func(s *subCounters) { s.setupFailed++ })
	case nodes.SubLost:
		if ev.Outcome == nodes.TimedOut {
			each(func(s *subCounters) { s.liveness++ })
		}
	case nodes.SubKeepAlive:
		each(func(s *subCounters) { s.keepalives++ })
	case nodes.SubReport:
		each(func(s *subCounters) { s.reports++ })
		if !inRange {
			return
		}
		for _, v := range ev.Versions {
			k := clusterKey{d, v.Endpoint, v.Cluster}
			if !c.sub.subscribed[k] {
				c.sub.subscribed[k] = true
			}
		}
		if at, ok := c.sub.reported(d, ev.Versions); ok {
			lat := int64(now.Sub(at))
			each(func(s *subCounters) { s.latency.Record(lat) })
		}
	case nodes.AttrChanged:
		each(func(s *subCounters) { s.changes++ })
		i := n.Index()
		if i < 0 || i >= len(c.sub.pending) {
			return
		}
		for _, v := range ev.Versions {
			if c.sub.subscribed[clusterKey{i, v.Endpoint, v.Cluster}] {
				c.sub.pending[i] = append(c.sub.pending[i], pendingChange{v.Endpoint, v.Cluster, v.DataVersion, now})
			}
		}
	}
}

// unfinishedSubs counts, for group g (-1: overall), the subscription
// attempts in flight (neither established nor failed) plus the changes on
// subscribed clusters not yet reported.
func (c *Collector) unfinishedSubs(s *counters, g int) uint64 {
	t := s.subs.requested - s.subs.established - s.subs.setupFailed
	for i, ps := range c.sub.pending {
		if g < 0 || int(c.nodeGroup[i]) == g {
			t += uint64(len(ps))
		}
	}
	return t
}
