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
// subs.report_latency: when the oldest change not yet reported was made
// (clock.Never: none), and whether the device ever had an established
// subscription (changes on a device nobody subscribes to are not
// waiting for a report).
type subState struct {
	pending    []clock.Time
	subscribed []bool
}

func (st *subState) init(n int) {
	st.pending = make([]clock.Time, n)
	for i := range st.pending {
		st.pending[i] = clock.Never
	}
	st.subscribed = make([]bool, n)
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
		if inRange {
			c.sub.subscribed[d] = true
		}
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
		if inRange && c.sub.pending[d] != clock.Never {
			lat := int64(now.Sub(c.sub.pending[d]))
			c.sub.pending[d] = clock.Never
			each(func(s *subCounters) { s.latency.Record(lat) })
		}
	case nodes.AttrChanged:
		each(func(s *subCounters) { s.changes++ })
		if i := n.Index(); i >= 0 && i < len(c.sub.pending) && c.sub.subscribed[i] && c.sub.pending[i] == clock.Never {
			c.sub.pending[i] = now
		}
	}
}

// unfinishedSubs counts, for group g (-1: overall), the SubscribeRequests
// in flight (neither established nor failed) plus the subscribed devices
// with a change not yet reported.
func (c *Collector) unfinishedSubs(s *counters, g int) uint64 {
	t := s.subs.requested - s.subs.established - s.subs.setupFailed
	for i, at := range c.sub.pending {
		if at != clock.Never && (g < 0 || int(c.nodeGroup[i]) == g) {
			t++
		}
	}
	return t
}
