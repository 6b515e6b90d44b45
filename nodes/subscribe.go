package nodes

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/mrp"
)

// Subscription errors a Subscriber reports (NodeEvent.Err of
// SubSetupFailed).
var (
	// ErrSubNoSession: the subscription's target had no session when the
	// SubscribeRequest was due.
	ErrSubNoSession = errors.New("nodes: subscribe: no session with the target")
	// ErrSubTimeout: the SubscribeRequest was sent and no answer completed
	// the subscription within SubscribeOp.Timeout.
	ErrSubTimeout = errors.New("nodes: subscribe: no answer in time")
	// ErrSubGaveUp: MRP gave up on a message of the subscription's setup.
	ErrSubGaveUp = errors.New("nodes: subscribe: MRP gave up")
	// ErrSubSessionClosed: the session closed during the setup.
	ErrSubSessionClosed = errors.New("nodes: subscribe: session closed")
)

// OnOffPath is the attribute a subscription watches by default: On/Off
// OnOff (app spec 1.5.6.2) on endpoint 1, which DeviceModel implements.
var OnOffPath = im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)

// SubscribeOp is one subscription of a Subscriber, made to each of its
// targets (spec 8.5): a SubscribeRequest of Paths with the interval floor
// MinInterval and ceiling MaxInterval, whole seconds.
type SubscribeOp struct {
	// Targets are indexes of the Client's targets; nil means every target.
	Targets []int
	// Paths are the attributes subscribed to; nil = OnOffPath.
	Paths []im.AttributePath
	// MinInterval and MaxInterval are the request's MinIntervalFloor and
	// MaxIntervalCeiling (whole seconds, at most 65535 s; MaxInterval at
	// least MinInterval and 1 s).
	MinInterval, MaxInterval time.Duration
	// Start is when the first SubscribeRequests may go out: each target's
	// at Start plus a uniform offset in [0, Spread) (Spread 0: at Start).
	Start  clock.Time
	Spread time.Duration
	// Timeout bounds the setup: from the SubscribeRequest to the
	// SubscribeResponse; 0 = DefaultOpTimeout.
	Timeout time.Duration
}

func (o *SubscribeOp) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultOpTimeout
}

func (o *SubscribeOp) validate(i int) error {
	switch {
	case o.MinInterval < 0 || o.MinInterval%time.Second != 0 || o.MinInterval > 65535*time.Second:
		return &OpError{i, "MinInterval", fmt.Sprintf("must be whole seconds in [0, 65535s], got %s", o.MinInterval)}
	case o.MaxInterval < max(o.MinInterval, time.Second) || o.MaxInterval%time.Second != 0 || o.MaxInterval > 65535*time.Second:
		return &OpError{i, "MaxInterval", fmt.Sprintf("must be whole seconds in [max(MinInterval, 1s), 65535s], got %s", o.MaxInterval)}
	case o.Spread < 0:
		return &OpError{i, "Spread", "must not be negative"}
	case o.Timeout < 0:
		return &OpError{i, "Timeout", "must not be negative"}
	case o.Start < 0:
		return &OpError{i, "Start", "must not be negative"}
	}
	for _, t := range o.Targets {
		if t < 0 {
			return &OpError{i, "Targets", fmt.Sprintf("negative target %d", t)}
		}
	}
	return nil
}

// SubStats counts a Subscriber's subscriptions. A plain value.
type SubStats struct {
	Requested, Resubscribes, Established, SetupFailed uint64
	Lost, LivenessFailures                            uint64
	Reports, KeepAlives                               uint64
}

// Subscriber is the controller's subscription workload: for each
// (SubscribeOp, target) pair one im.SubscriptionClient (the SDK's
// ReadClient with auto-resubscribe, src/app/ReadClient.cpp) over the
// Client's secure session with the target. It runs beside the Client on
// the controller (Workloads{client, subscriber}), which owns the
// sessions.
//
// Exchanges: the SubscribeRequest opens one; the priming reports, the
// StatusResponses and the SubscribeResponse travel on it, then it is
// closed. Later reports come on exchanges the device opens (unsolicited,
// so the Subscriber registers the Interaction Model protocol); a report
// asking for it is answered with the SubscriptionClient's StatusResponse,
// then the exchange is closed, which flushes the ack.
//
// Loss: the SubscriptionClient's liveness timer (LivenessTimeout) and
// resubscribe backoff (ResubscribeDelay, jitter from Rand) decide; when a
// liveness timeout sets ReestablishCASE, the Subscriber hands the target's
// session to the Client as lost (closed and established again, as the SDK
// marks the session defunct and sets up CASE before resubscribing). A
// resubscribe due while the target has no session fails at once
// (ErrSubNoSession) and backs off again. A setup with no answer within
// SubscribeOp.Timeout fails (ErrSubTimeout).
//
// Stop: no new subscription attempt, liveness and resubscribe timers are
// dropped; attempts begun (in flight, or waiting for a session) finish and
// reports are still answered.
//
// Events: SubRequested, SubEstablished, SubSetupFailed, SubLost, SubReport
// and SubKeepAlive on the Subscriber's node, Peer the target device.
//
// Set Client, Ops and Rand, AddTarget is the Client's (call Validate, then
// Start after every target was added). Not safe for concurrent use.
type Subscriber struct {
	Client *Client
	Ops    []SubscribeOp
	// Rand draws the start offsets and the resubscribe jitter.
	Rand *rand.Rand
	// Local and Peer are the MRP intervals of this node and the devices
	// (zero fields: spec defaults), for the liveness timeout; PeerOf, if
	// set, gives target t's instead of Peer.
	Local, Peer mrp.Intervals
	PeerOf      func(t int) mrp.Intervals

	subs    []csub
	byEx    map[session.Exchange]int // setup exchange → sub; lookup only
	byTgt   map[int][]int            // target → subs; lookup only
	q       timerQueue
	stats   SubStats
	started bool
	stopped bool
	cur     session.Exchange // the exchange of the message being handled
	hasCur  bool
	node    *Node
	vbuf    []ClusterVersion
}

// versions returns the cluster instances of rep with the highest
// DataVersion reported for each (in a buffer reused by the next call).
func (s *Subscriber) versions(rep *im.ReportData) []ClusterVersion {
	s.vbuf = s.vbuf[:0]
next:
	for _, r := range rep.AttributeReports {
		if !r.HasDataVersion {
			continue
		}
		for k := range s.vbuf {
			if v := &s.vbuf[k]; v.Endpoint == r.Path.Endpoint && v.Cluster == r.Path.Cluster {
				v.DataVersion = max(v.DataVersion, r.DataVersion)
				continue next
			}
		}
		s.vbuf = append(s.vbuf, ClusterVersion{Endpoint: r.Path.Endpoint, Cluster: r.Path.Cluster, DataVersion: r.DataVersion})
	}
	return s.vbuf
}

type csub struct {
	op, target int
	cl         im.SubscriptionClient
	setup      bool // a SubscribeRequest exchange is open
	ex         session.Exchange
	gen        uint64 // SubscriptionClient deadline timers
	sgen       uint64 // setup timeout timers
	armed      clock.Time
	began      bool // Start ran: the client is live
	lost       bool // lost since the last established: the next request is a resubscribe
	reboot     bool
	waiting    bool   // a SubscribeRequest waits for the target's session
	pending    []byte // the SubscribeRequest payload
}

// Subscriber timer kinds.
const (
	subTimerStart uint8 = iota + 1
	subTimerClient
	subTimerSetup
)

var (
	_ Workload     = (*Subscriber)(nil)
	_ Unsoliciting = (*Subscriber)(nil)
	_ Lifecycle    = (*Subscriber)(nil)
)

// Validate checks every SubscribeOp and that Client and Rand are set.
func (s *Subscriber) Validate() error {
	if s.Client == nil {
		return &OpError{-1, "Client", "a Subscriber needs the Client that owns the sessions"}
	}
	if s.Rand == nil {
		return &OpError{-1, "Rand", "a Subscriber needs a random source (resubscribe jitter)"}
	}
	for i := range s.Ops {
		if err := s.Ops[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

// Stats returns the counters.
func (s *Subscriber) Stats() SubStats { return s.stats }

// Unsolicited registers the Interaction Model protocol: reports come on
// exchanges the devices open.
func (s *Subscriber) Unsolicited() []session.Unsolicited {
	return []session.Unsolicited{{Protocol: message.ProtocolID(im.ProtocolID), AnyOpcode: true, Secure: true}}
}

// Start builds one SubscriptionClient per (op, target) and arms each
// first SubscribeRequest.
func (s *Subscriber) Start(now clock.Time, n *Node) {
	if s.started {
		return
	}
	s.started, s.node = true, n
	s.Client.notify = s.connected
	s.byEx = make(map[session.Exchange]int)
	s.byTgt = make(map[int][]int)
	for oi := range s.Ops {
		o := &s.Ops[oi]
		paths := o.Paths
		if paths == nil {
			paths = []im.AttributePath{OnOffPath}
		}
		req := *im.NewSubscribeRequest(uint16(o.MinInterval/time.Second), uint16(o.MaxInterval/time.Second), paths...)
		var tg []int
		if o.Targets != nil {
			tg = slices.Sorted(slices.Values(o.Targets))
		} else {
			for t := range s.Client.Targets() {
				tg = append(tg, t)
			}
		}
		for _, t := range tg {
			if t >= s.Client.Targets() {
				continue
			}
			i := len(s.subs)
			peer := s.Peer
			if s.PeerOf != nil {
				peer = s.PeerOf(t)
			}
			s.subs = append(s.subs, csub{op: oi, target: t, armed: clock.Never,
				cl: im.SubscriptionClient{Request: req, Local: s.Local, Peer: peer, Rand: s.Rand}})
			s.byTgt[t] = append(s.byTgt[t], i)
			var off time.Duration
			if o.Spread > 0 {
				off = time.Duration(s.Rand.Int64N(int64(o.Spread)))
			}
			s.q.push(timerEntry{at: max(now, o.Start).Add(off), key: i, kind: subTimerStart})
		}
	}
}

// Stop ends new work: see Subscriber.
func (s *Subscriber) Stop(clock.Time, *Node) { s.stopped = true }

func (s *Subscriber) live(t *timerEntry) bool {
	c := &s.subs[t.key]
	switch t.kind {
	case subTimerStart:
		return !s.stopped && !c.began
	case subTimerClient:
		return !s.stopped && c.gen == t.gen
	case subTimerSetup:
		return c.setup && c.sgen == t.gen
	}
	return false
}

// Deadline returns the next timer.
func (s *Subscriber) Deadline() clock.Time {
	for s.q.len() > 0 {
		t := s.q.top()
		if s.live(t) {
			return t.at
		}
		s.q.pop()
	}
	return clock.Never
}

// HandleTimer runs the due timers.
func (s *Subscriber) HandleTimer(now clock.Time, n *Node) {
	for s.q.len() > 0 && s.q.top().at <= now {
		t := s.q.pop()
		if !s.live(&t) {
			continue
		}
		i := t.key
		c := &s.subs[i]
		switch t.kind {
		case subTimerStart:
			c.began = true
			c.cl.Start(now)
		case subTimerClient:
			c.armed = clock.Never
			c.cl.HandleTimeout(now)
		case subTimerSetup:
			s.closeSetup(now, n, i)
			c.cl.HandleExchangeFailed(now, ErrSubTimeout)
		}
		s.pump(now, n, i)
	}
}

func (s *Subscriber) emit(now clock.Time, n *Node, i int, ev NodeEvent) {
	if n.OnNodeEvent == nil {
		return
	}
	c := &s.subs[i]
	ev.OpIndex, ev.Target, ev.Peer = c.op, c.target, -1
	if d := s.Client.targets[c.target].node; d != nil {
		ev.Peer = d.Index()
	}
	n.Emit(now, ev)
}

// closeSetup closes sub i's setup exchange, if open.
func (s *Subscriber) closeSetup(now clock.Time, n *Node, i int) {
	c := &s.subs[i]
	if !c.setup {
		return
	}
	c.setup = false
	c.sgen++
	delete(s.byEx, c.ex)
	if !n.Down() {
		_ = n.Manager().CloseExchange(now, c.ex)
	}
}

// pump carries sub i's SubscriptionClient outputs to the network and the
// events, then re-arms its timer.
func (s *Subscriber) pump(now clock.Time, n *Node, i int) {
	c := &s.subs[i]
	m := n.Manager()
	for o, ok := c.cl.Poll(); ok; o, ok = c.cl.Poll() {
		switch o.Kind {
		case im.ClientSend:
			msg := session.Message{Protocol: message.ProtocolID(im.ProtocolID), Opcode: uint8(o.Opcode), Payload: o.Payload, Reliable: true}
			if !o.NewExchange {
				if s.hasCur {
					_ = m.Send(now, s.cur, msg)
				}
				continue
			}
			s.closeSetup(now, n, i)
			c.pending = o.Payload
			s.stats.Requested++
			ev := NodeEvent{Kind: SubRequested}
			if c.lost {
				s.stats.Resubscribes++
				ev.Count = 1
			}
			s.emit(now, n, i, ev)
			if _, ok := s.Client.Session(c.target); !ok {
				// Wait for the session (the SDK sets up CASE before it
				// subscribes); the Client hears of the outcome.
				c.waiting = true
				s.Client.connect(now, n, c.target)
				continue
			}
			s.send(now, n, i)
		case im.ClientReport:
			s.stats.Reports++
			s.emit(now, n, i, NodeEvent{Kind: SubReport, Versions: s.versions(o.Report)})
		case im.ClientEstablished:
			s.closeSetup(now, n, i)
			c.lost = false
			s.stats.Established++
			s.emit(now, n, i, NodeEvent{Kind: SubEstablished})
		case im.ClientLost:
			// Only the liveness timer loses an established subscription.
			wasSetup := !errors.Is(o.Err, im.ErrLivenessTimeout)
			s.closeSetup(now, n, i)
			c.lost = true
			if wasSetup {
				s.stats.SetupFailed++
				s.emit(now, n, i, NodeEvent{Kind: SubSetupFailed, Err: o.Err})
			} else {
				s.stats.Lost++
				ev := NodeEvent{Kind: SubLost, Err: o.Err}
				if errors.Is(o.Err, im.ErrLivenessTimeout) {
					s.stats.LivenessFailures++
					ev.Outcome = TimedOut
				}
				s.emit(now, n, i, ev)
			}
			if o.ReestablishCASE {
				if t := &s.Client.targets[c.target]; t.state == tConnected {
					s.Client.lost(now, n, c.target)
				}
			}
		}
	}
	if d := c.cl.NextDeadline(); d != c.armed {
		c.armed = d
		c.gen++
		if d != clock.Never {
			s.q.push(timerEntry{at: d, key: i, kind: subTimerClient, gen: c.gen})
		}
	}
}

// send sends sub i's pending SubscribeRequest on a new exchange of its
// target's session.
func (s *Subscriber) send(now clock.Time, n *Node, i int) {
	c := &s.subs[i]
	c.waiting = false
	m := n.Manager()
	ref, ok := s.Client.Session(c.target)
	err := ErrSubNoSession
	var ex session.Exchange
	if ok {
		if ex, err = m.NewExchange(ref); err == nil {
			err = m.Send(now, ex, session.Message{Protocol: message.ProtocolID(im.ProtocolID),
				Opcode: uint8(im.OpSubscribeRequest), Payload: c.pending, Reliable: true})
			if err != nil {
				_ = m.CloseExchange(now, ex)
			}
		}
	}
	if err != nil {
		c.cl.HandleExchangeFailed(now, err) // queues ClientLost, pumped by the caller
		return
	}
	c.setup, c.ex = true, ex
	c.sgen++
	s.byEx[ex] = i
	s.q.push(timerEntry{at: now.Add(s.Ops[c.op].timeout()), key: i, kind: subTimerSetup, gen: c.sgen})
}

// connected hears from the Client that target t has a session (ok) or
// that its establishment failed: waiting subscriptions send, or fail.
func (s *Subscriber) connected(now clock.Time, t int, ok bool) {
	if !s.started || s.node == nil || s.node.Down() {
		return
	}
	for _, i := range s.byTgt[t] {
		c := &s.subs[i]
		if !c.waiting {
			continue
		}
		if ok {
			s.send(now, s.node, i)
		} else {
			c.waiting = false
			c.cl.HandleExchangeFailed(now, ErrSubNoSession)
		}
		s.pump(now, s.node, i)
	}
}

// HandleEvent passes the subscriptions' messages to their clients.
func (s *Subscriber) HandleEvent(now clock.Time, n *Node, ev *session.Event) {
	if !s.started {
		return
	}
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 {
			return
		}
		if i, ok := s.byEx[ev.Exchange]; ok {
			s.deliver(now, n, i, ev)
			return
		}
		if ev.Exchange.Initiator {
			return // an answer to the Client's operation
		}
		s.report(now, n, ev)
	case session.EventGiveUp:
		if i, ok := s.byEx[ev.Exchange]; ok {
			s.closeSetup(now, n, i)
			s.subs[i].cl.HandleExchangeFailed(now, ErrSubGaveUp)
			s.pump(now, n, i)
		}
	case session.EventSessionClosed:
		for _, i := range s.setupsOn(ev.Session) {
			s.closeSetup(now, n, i)
			s.subs[i].cl.HandleExchangeFailed(now, ErrSubSessionClosed)
			s.pump(now, n, i)
		}
	}
}

func (s *Subscriber) setupsOn(ref session.Ref) []int {
	var out []int
	for ex, i := range s.byEx {
		if ex.Session == ref {
			out = append(out, i)
		}
	}
	slices.Sort(out) // map order must not leak into the run
	return out
}

// deliver hands a message on sub i's open exchange to its client.
func (s *Subscriber) deliver(now clock.Time, n *Node, i int, ev *session.Event) {
	s.cur, s.hasCur = ev.Exchange, true
	s.subs[i].cl.HandleMessage(now, im.Opcode(ev.Opcode), ev.Payload)
	s.pump(now, n, i)
	s.hasCur = false
}

// report handles a message on an exchange a device opened: a report of
// one of its subscriptions (matched by SubscriptionId), answered if it
// asks, and the exchange closed. A report no subscription claims is
// answered INVALID_SUBSCRIPTION (spec 8.5: the publisher then ends it), as
// the SDK's InteractionModelEngine does.
func (s *Subscriber) report(now clock.Time, n *Node, ev *session.Event) {
	m := n.Manager()
	defer func() { _ = m.CloseExchange(now, ev.Exchange) }()
	if im.Opcode(ev.Opcode) != im.OpReportData {
		return
	}
	var rd im.ReportData
	if err := im.DecodeReportData(ev.Payload, &rd); err != nil || !rd.HasSubscriptionID {
		return
	}
	ti, ok := s.Client.bySess[ev.Exchange.Session]
	if ok {
		for _, i := range s.byTgt[ti] {
			c := &s.subs[i]
			if c.cl.State() != im.ClientActive || c.cl.SubscriptionID() != rd.SubscriptionID {
				continue
			}
			if len(rd.AttributeReports) == 0 && rd.EventReports == nil && !rd.MoreChunkedMessages {
				s.stats.KeepAlives++
				s.emit(now, n, i, NodeEvent{Kind: SubKeepAlive})
			}
			s.deliver(now, n, i, ev)
			return
		}
	}
	if !rd.SuppressResponse {
		_ = m.Send(now, ev.Exchange, session.Message{Protocol: message.ProtocolID(im.ProtocolID), Opcode: uint8(im.OpStatusResponse),
			Payload: im.AppendStatusResponse(nil, &im.StatusResponse{Status: im.StatusInvalidSubscription, Revision: im.Revision}), Reliable: true})
	}
}

// PowerOff (Lifecycle): the node's core is gone, and with it every
// subscription; setups in flight fail.
func (s *Subscriber) PowerOff(now clock.Time, n *Node) {
	for i := range s.subs {
		c := &s.subs[i]
		if c.setup || c.waiting {
			c.setup, c.waiting = false, false
			c.sgen++
			s.stats.SetupFailed++
			s.emit(now, n, i, NodeEvent{Kind: SubSetupFailed, Err: ErrDown})
		}
		if c.began {
			c.reboot = true
			c.began = false
		}
		c.cl.Stop()
		c.gen++
		c.armed = clock.Never
	}
	clear(s.byEx)
	s.q = timerQueue{}
}

// Boot (Lifecycle): every subscription that had started subscribes again
// at once (its target's session comes back through the Client).
func (s *Subscriber) Boot(now clock.Time, n *Node) {
	for i := range s.subs {
		if c := &s.subs[i]; c.reboot {
			c.reboot = false
			c.lost = true
			s.q.push(timerEntry{at: now, key: i, kind: subTimerStart})
		}
	}
}
