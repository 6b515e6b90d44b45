package metrics

import (
	"fmt"
	"strings"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/counter"
	"mattersim/sim"
)

// opCounters are the counters of one operation kind (names.go K.*).
type opCounters struct {
	sent, answered, failed, gaveUp, timedOut, skipped, aborted, ended, notSent uint64
	latency                                                                    Hist
}

// pairCounters are the pairings.* counters.
type pairCounters struct {
	devices, succeeded, gaveUp, attempts, failed, wrongPasscode, busy, timedOut, noAck uint64
	latency                                                                            Hist
}

// caseCounters are the case.* counters.
type caseCounters struct {
	handshakes, established, full, resumed, offered, fallbacks, failed uint64
	failures                                                           [numCASEFailures]uint64 // CASEFailures order
	latency                                                            Hist
}

const numCASEFailures = 7

// commCounters are the commission.* counters.
type commCounters struct {
	started, succeeded, failed uint64
	recovered                  uint64                     // nodes.CommissionRecovered
	failures                   [numCommissionSteps]uint64 // nodes.CommissionSteps order
	time                       Hist
}

const numCommissionSteps = 13

// caseFailure maps a failed attempt's cause to its CASEFailures index.
func caseFailure(c nodes.PairingCause) int {
	switch c {
	case nodes.CauseInvalidParameter:
		return 0
	case nodes.CauseNoSharedTrustRoots:
		return 1
	case nodes.CauseBusy:
		return 2
	case nodes.CauseTimedOut:
		return 3
	case nodes.CauseNoAck:
		return 4
	case nodes.CauseAborted:
		return 5
	}
	return 6
}

// counters are everything that exists per node group (Desc.Grouped) and
// overall.
type counters struct {
	ops  [len(nodesOpKinds)]opCounters
	pair pairCounters
	cas  caseCounters
	comm commCounters

	sessOpened, sessClosed, sessEvicted, sessDefunct uint64
	msgSent, msgDelivered, msgDuplicates             uint64
	retrans, giveUps, acks, standaloneAcks           uint64
	transmissions                                    Hist
	window                                           [3][6]uint64      // [policy][verdict] in names.go order
	group                                            map[string]uint64 // GroupCounts by name
	syncLatency                                      Hist

	subs subCounters

	nodes, rebooted, poweredOff uint64
	// Genuine frame copies to this group's nodes queued by the switch,
	// and how they ended (for unfinished: still queued at the end).
	queued, delivered, deliveryDrops uint64
}

// nodesOpKinds maps names.go Operations (reads, invokes, requests) to
// nodes.OpKind, in order.
var nodesOpKinds = [...]nodes.OpKind{nodes.OpRead, nodes.OpInvoke, nodes.OpRequest}

// flow counts frame copies at the switch (network.* for genuine frames,
// replays.* for injected ones).
type flow struct {
	frames, queued, delivered, dropped, duplicated uint64
	deliveryDrops                                  uint64 // dropped after being queued (down, corrupt)
	drops                                          sim.DropCounts
}

// replayClasses counts the cores' verdicts on injected datagrams, indexed
// by nodes.InjectedClass.
type replayClasses [nodes.InjQueued + 1]uint64

// Collector computes every metric of the catalogue (names.go) from the
// events a run emits: session events of every node (SessionEvent, a
// nodes.EventHook), node-level operation, pairing, send, injection and
// power events (NodeEvent, a nodes.NodeEventHook), and the switch's
// accounting of every frame copy (it is a sim.NetObserver). It keeps no
// second bookkeeping: every value is a sum of events, and what did not
// finish is what was started and never ended (operations, pairings,
// frames still queued).
//
// Attribution to node groups: session, message, MRP, window and node
// metrics count at the node whose core emitted them; operation and pairing
// metrics count at the target device's group (reads{group=lights} are the
// reads of lights), or the issuing node's group when the target is no
// node; unfinished{group=G} adds the frames still queued towards G's
// nodes. Network and replay metrics exist overall only: network.* counts
// genuine frame copies, replays.* the injected ones (the switch's total is
// their sum).
//
// Window verdicts: every event carrying one (session.Event.Verdict) counts
// once, under the unicast policy on a secure session, unencrypted on an
// unsecured one, group for group and MCSP events (an MCSP-released message
// the window accepted is counted by the group message that follows it).
//
// sessions.defunct stays 0 until the session core reports defunct
// sessions.
//
// Make one with NewCollector, Attach every node and Observe the network
// before the run starts (pairings are queued at build time), call Finish
// when the run ends, then read Value or Snapshot. Recording an event
// allocates nothing, but for subscriptions: the first report of each
// subscribed cluster, and a device's list of unreported changes growing to
// its peak (subs.go). Not safe for concurrent use: every method runs on the
// simulator's goroutine.
type Collector struct {
	groups    []string
	nodeGroup []int32 // node index → group
	tot       counters
	per       []counters

	net, inj flow
	classes  replayClasses
	events   uint64
	vtime    clock.Time
	finished bool
	tr       tracker // Track: metrics sampled over time (series.go)
	sub      subState
}

var _ sim.NetObserver = (*Collector)(nil)

// SetupError reports an invalid NewCollector argument.
type SetupError struct {
	Reason string
}

func (e *SetupError) Error() string { return "metrics: " + e.Reason }

var _ error = (*SetupError)(nil)

// NewCollector returns a collector for node groups named groups (in that
// order; names are non-empty, unique, without any of "{},= ") where node
// i belongs to group nodeGroups[i].
func NewCollector(groups []string, nodeGroups []int) (*Collector, error) {
	seen := map[string]bool{}
	for _, g := range groups {
		if g == "" || strings.ContainsAny(g, "{},= ") {
			return nil, &SetupError{fmt.Sprintf("group name %q: must be non-empty, without any of \"{},= \"", g)}
		}
		if seen[g] {
			return nil, &SetupError{fmt.Sprintf("group name %q given twice", g)}
		}
		seen[g] = true
	}
	c := &Collector{groups: append([]string(nil), groups...), per: make([]counters, len(groups)),
		nodeGroup: make([]int32, len(nodeGroups))}
	for i, g := range nodeGroups {
		if g < 0 || g >= len(groups) {
			return nil, &SetupError{fmt.Sprintf("node %d: group %d out of range (%d groups)", i, g, len(groups))}
		}
		c.nodeGroup[i] = int32(g)
		c.per[g].nodes++
		c.tot.nodes++
	}
	// Allocate the histograms now: recording never allocates.
	for _, cs := range c.all() {
		for k := range cs.ops {
			cs.ops[k].latency = emptyHist()
		}
		cs.pair.latency = emptyHist()
		cs.cas.latency = emptyHist()
		cs.transmissions = emptyHist()
		cs.subs.latency = emptyHist()
	}
	c.sub.init(len(nodeGroups))
	return c, nil
}

func emptyHist() Hist { return Hist{counts: make([]uint64, histBuckets)} }

// all returns the overall counters and every group's.
func (c *Collector) all() []*counters {
	out := []*counters{&c.tot}
	for i := range c.per {
		out = append(out, &c.per[i])
	}
	return out
}

// Groups returns the node group names in order.
func (c *Collector) Groups() []string { return append([]string(nil), c.groups...) }

// group returns the counters of node i's group (nil for a node outside
// the collector's range).
func (c *Collector) group(i int) *counters {
	if i < 0 || i >= len(c.nodeGroup) {
		return nil
	}
	return &c.per[c.nodeGroup[i]]
}

// Attach installs the collector's hooks on n: OnEvent and OnNodeEvent,
// chained after any hook n already has (a trace).
func (c *Collector) Attach(n *nodes.Node) {
	if prev := n.OnEvent; prev != nil {
		n.OnEvent = func(now clock.Time, n *nodes.Node, ev *session.Event, injected bool) {
			prev(now, n, ev, injected)
			c.SessionEvent(now, n, ev, injected)
		}
	} else {
		n.OnEvent = c.SessionEvent
	}
	if prev := n.OnNodeEvent; prev != nil {
		n.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
			prev(now, n, ev)
			c.NodeEvent(now, n, ev)
		}
	} else {
		n.OnNodeEvent = c.NodeEvent
	}
}

// SessionEvent records one session event of node n (a nodes.EventHook).
func (c *Collector) SessionEvent(now clock.Time, n *nodes.Node, ev *session.Event, _ bool) {
	c.tick(now)
	g := c.group(n.Index())
	c.sessionEvent(&c.tot, ev)
	if g != nil {
		c.sessionEvent(g, ev)
	}
}

func (c *Collector) sessionEvent(s *counters, ev *session.Event) {
	switch ev.Kind {
	case session.EventSessionOpened:
		s.sessOpened++
	case session.EventSessionClosed:
		s.sessClosed++
		if ev.Reason == session.ClosedEvicted {
			s.sessEvicted++
		}
	case session.EventMessage, session.EventGroupMessage:
		s.msgDelivered++
	case session.EventDuplicate, session.EventGroupDuplicate:
		s.msgDuplicates++
	case session.EventRetransmit:
		s.retrans++
	case session.EventGiveUp:
		s.giveUps++
		s.transmissions.Record(int64(ev.Attempt))
	case session.EventAck:
		s.acks++
		s.transmissions.Record(int64(ev.Attempt))
	}
	if name := groupEventCount(ev); name != "" {
		s.countGroup(name)
		if ev.Kind == session.EventMCSPSynced {
			s.syncLatency.Record(int64(ev.Group.Latency))
		}
	}
	if ev.Verdict == counter.Invalid {
		return
	}
	policy := 0 // unicast
	switch {
	case ev.Kind >= session.EventGroupMessage && ev.Kind <= session.EventMCSPRateLimited:
		if ev.Kind == session.EventMCSPReleased && ev.Verdict.Accepted() {
			return // the EventGroupMessage that follows counts it
		}
		policy = 1
	case !ev.Session.Secure():
		policy = 2
	}
	if v := verdictIndex(ev.Verdict); v >= 0 {
		s.window[policy][v]++
	}
}

// verdictIndex maps a counter verdict to its WindowVerdicts index.
func verdictIndex(v counter.Verdict) int {
	switch v {
	case counter.First:
		return 0
	case counter.Future:
		return 1
	case counter.InWindow:
		return 2
	case counter.Duplicate:
		return 3
	case counter.BehindWindow:
		return 4
	case counter.Reset:
		return 5
	}
	return -1
}

// opIndex maps a nodes.OpKind to its Operations index, or -1.
func opIndex(k nodes.OpKind) int {
	for i, o := range nodesOpKinds {
		if o == k {
			return i
		}
	}
	return -1
}

// NodeEvent records one node event of node n (a nodes.NodeEventHook).
func (c *Collector) NodeEvent(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
	c.tick(now)
	own := c.group(n.Index())
	// Operations and pairings count at their target's group.
	tgt := own
	if ev.Peer >= 0 {
		tgt = c.group(ev.Peer)
	}
	switch ev.Kind {
	case nodes.NodeSent:
		if ev.Err == nil {
			for _, s := range [2]*counters{&c.tot, own} {
				if s != nil {
					s.msgSent++
					if ev.StandaloneAck {
						s.standaloneAcks++
					}
				}
			}
		}
	case nodes.NodeInjected:
		if int(ev.Class) < len(c.classes) {
			c.classes[ev.Class]++
		}
	case nodes.OpStarted, nodes.OpEnded, nodes.OpSkipped, nodes.OpNotSent:
		k := opIndex(ev.Op)
		if k < 0 {
			return
		}
		c.opEvent(&c.tot.ops[k], ev)
		if tgt != nil {
			c.opEvent(&tgt.ops[k], ev)
		}
	case nodes.PairingQueued, nodes.PairingStarted, nodes.PairingFailed, nodes.PairingEnded:
		c.pairEvent(&c.tot.pair, ev)
		if tgt != nil {
			c.pairEvent(&tgt.pair, ev)
		}
	case nodes.CASEHandshake:
		c.caseEvent(&c.tot.cas, ev)
		if tgt != nil {
			c.caseEvent(&tgt.cas, ev)
		}
	case nodes.CommissionStarted, nodes.CommissionEnded, nodes.CommissionRecovered:
		commEvent(&c.tot.comm, ev)
		if tgt != nil {
			commEvent(&tgt.comm, ev)
		}
	case nodes.NodeRebooted:
		c.tot.rebooted++
		if own != nil {
			own.rebooted++
		}
	case nodes.NodePoweredOff:
		c.tot.poweredOff++
		if own != nil {
			own.poweredOff++
		}
	case nodes.SubRequested, nodes.SubEstablished, nodes.SubSetupFailed, nodes.SubLost,
		nodes.SubReport, nodes.SubKeepAlive, nodes.AttrChanged:
		c.subEvent(now, n, ev, own, tgt)
	case nodes.GroupSent:
		name := "group.sent"
		if ev.Err != nil {
			name = "group.send_errors"
		}
		c.tot.countGroup(name)
		if own != nil {
			own.countGroup(name)
		}
	}
}

func (c *Collector) opEvent(o *opCounters, ev *nodes.NodeEvent) {
	switch ev.Kind {
	case nodes.OpStarted:
		o.sent++
	case nodes.OpSkipped:
		o.skipped += uint64(ev.Count)
	case nodes.OpNotSent:
		o.notSent++
	case nodes.OpEnded:
		o.ended++
		switch ev.Outcome {
		case nodes.Answered:
			o.answered++
			o.latency.Record(int64(ev.Latency))
		case nodes.Failed:
			o.failed++
		case nodes.GaveUp:
			o.gaveUp++
		case nodes.TimedOut:
			o.timedOut++
		case nodes.Aborted:
			o.aborted++
		}
	}
}

func (c *Collector) pairEvent(p *pairCounters, ev *nodes.NodeEvent) {
	switch ev.Kind {
	case nodes.PairingQueued:
		p.devices++
	case nodes.PairingStarted:
		p.attempts++
	case nodes.PairingFailed:
		p.failed++
		switch ev.Cause {
		case nodes.CauseWrongPasscode:
			p.wrongPasscode++
		case nodes.CauseBusy:
			p.busy++
		case nodes.CauseTimedOut:
			p.timedOut++
		case nodes.CauseNoAck:
			p.noAck++
		}
	case nodes.PairingEnded:
		switch ev.Outcome {
		case nodes.PairingSucceeded:
			p.succeeded++
			p.latency.Record(int64(ev.Latency))
		case nodes.PairingGaveUp:
			p.gaveUp++
		}
	}
}

func commEvent(k *commCounters, ev *nodes.NodeEvent) {
	switch ev.Kind {
	case nodes.CommissionStarted:
		k.started++
		return
	case nodes.CommissionRecovered:
		k.recovered++
		return
	}
	if ev.Outcome == nodes.PairingSucceeded {
		k.succeeded++
		k.time.Record(int64(ev.Latency))
		return
	}
	k.failed++
	if i := int(ev.Step) - 1; i >= 0 && i < numCommissionSteps {
		k.failures[i]++
	}
}

func (c *Collector) caseEvent(k *caseCounters, ev *nodes.NodeEvent) {
	k.handshakes++
	if ev.ResumeOffered {
		k.offered++
	}
	if ev.Outcome != nodes.PairingSucceeded {
		k.failed++
		k.failures[caseFailure(ev.Cause)]++
		return
	}
	k.established++
	k.latency.Record(int64(ev.Latency))
	switch {
	case ev.Resumed:
		k.resumed++
	case ev.ResumeOffered:
		k.full++
		k.fallbacks++
	default:
		k.full++
	}
}

func (c *Collector) flowOf(p sim.Packet) *flow {
	if p.Injected {
		return &c.inj
	}
	return &c.net
}

// FrameIn implements sim.NetObserver.
func (c *Collector) FrameIn(now clock.Time, p sim.Packet) {
	c.tick(now)
	c.flowOf(p).frames++
}

// Queued implements sim.NetObserver.
func (c *Collector) Queued(now clock.Time, p sim.Packet) {
	c.tick(now)
	c.flowOf(p).queued++
	if g := c.group(p.To); g != nil && !p.Injected {
		g.queued++
	}
}

// Duplicated implements sim.NetObserver.
func (c *Collector) Duplicated(now clock.Time, p sim.Packet, extra int) {
	c.tick(now)
	c.flowOf(p).duplicated += uint64(extra)
}

// Delivered implements sim.NetObserver.
func (c *Collector) Delivered(now clock.Time, p sim.Packet) {
	c.tick(now)
	c.flowOf(p).delivered++
	if g := c.group(p.To); g != nil && !p.Injected {
		g.delivered++
	}
}

// Dropped implements sim.NetObserver.
func (c *Collector) Dropped(now clock.Time, p sim.Packet, cause sim.DropCause) {
	c.tick(now)
	f := c.flowOf(p)
	f.dropped++
	if int(cause) < len(f.drops) {
		f.drops[cause]++
	}
	if cause == sim.DropDown || cause == sim.DropCorrupt {
		// Copies dropped at delivery were queued first.
		f.deliveryDrops++
		if g := c.group(p.To); g != nil && !p.Injected {
			g.deliveryDrops++
		}
	}
}

// Finish records the end of the run: the virtual time reached and the
// simulator events processed. Values read before Finish describe the run
// so far (unfinished counts what is in flight now).
func (c *Collector) Finish(now clock.Time, events uint64) {
	c.vtime, c.events, c.finished = now, events, true
	c.tr.finish(c, now)
}

// Finished reports whether Finish was called.
func (c *Collector) Finished() bool { return c.finished }

// virtualTime returns the run's virtual time in seconds.
func (c *Collector) virtualTime() float64 { return time.Duration(c.vtime).Seconds() }

// groupEventCount names the GroupCounts entry a session event adds to, or "".
func groupEventCount(ev *session.Event) string {
	switch ev.Kind {
	case session.EventGroupMessage:
		return "group.delivered"
	case session.EventGroupDuplicate:
		return "group.duplicates"
	case session.EventGroupRejected:
		return "group.rejected"
	case session.EventGroupPeerEvicted:
		return "group.peers_evicted"
	case session.EventMCSPTriggered:
		return "mcsp.triggered"
	case session.EventMCSPQueued:
		return "mcsp.queued"
	case session.EventMCSPQueueOverflow:
		return "mcsp.queue_overflow"
	case session.EventMCSPRequestSent:
		return "mcsp.requests"
	case session.EventMCSPRetransmit:
		return "mcsp.retransmissions"
	case session.EventMCSPGiveUp:
		return "mcsp.give_ups"
	case session.EventMCSPSynced:
		return "mcsp.synced"
	case session.EventMCSPReleased:
		if ev.Verdict.Accepted() {
			return "mcsp.released_accepted"
		}
		return "mcsp.released_dropped"
	case session.EventMCSPTimeout:
		return "mcsp.timeouts"
	case session.EventMCSPRejected:
		return "mcsp.rejected"
	case session.EventMCSPResponded:
		return "mcsp.responded"
	case session.EventMCSPRateLimited:
		return "mcsp.rate_limited"
	}
	return ""
}

func (s *counters) countGroup(name string) {
	if s.group == nil {
		s.group = make(map[string]uint64, len(GroupCounts))
	}
	s.group[name]++
}
