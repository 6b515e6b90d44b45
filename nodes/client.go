package nodes

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// Client defaults.
const (
	// DefaultOpInterval is the gap between two operations to one target.
	DefaultOpInterval = 10 * time.Second
	// DefaultOpTimeout bounds the wait for an answer after the request
	// went out. It is longer than a full MRP retransmission schedule (5
	// transmissions with backoff, spec 4.12.8: under 10 s at the idle
	// interval), so a timeout means the device acknowledged the request
	// but never answered.
	DefaultOpTimeout = 30 * time.Second
	// DefaultRequestSize and DefaultResponseSize are the payload sizes of
	// an OpRequest echo when the Operation leaves them 0.
	DefaultRequestSize  = 32
	DefaultResponseSize = 32
)

// OnOffToggle is the command an invoke sends by default: On/Off Toggle
// (app spec 1.5.7.3) on endpoint 1, which DeviceModel implements.
var OnOffToggle = im.CommandPath{Endpoint: 1, Cluster: im.ClusterOnOff, Command: im.OnOffCmdToggle}

// Operation is one periodic operation of a Client, repeated for each of its
// targets.
//
// Timing: target t's operations fall due at nominal instants
// first + k·Interval. first is chosen when t first has a session (or at
// Start, whichever is later, but not before Start): Start plus a uniform
// offset in [0, Interval) drawn from Client.Rand (nil: spread evenly over
// the targets at Start, at once for a target that connects later). Each
// operation then starts at its nominal instant plus a uniform offset in
// [0, Jitter) drawn when it is scheduled (none when Jitter is 0). If the
// previous operation to the same target is still in flight when one falls
// due, that one is skipped (counted, OpSkipped), and so is every nominal
// instant that passes while it stays in flight; the next is the first
// nominal instant after it ends, plus its jitter. So a workload costs
// timer events in proportion to the operations it starts, whatever the
// Interval. No operation starts at or after Stop.
//
// The zero value (with Kind set) reads VendorNamePath of every target
// every DefaultOpInterval from time 0.
type Operation struct {
	Kind OpKind
	// Targets are indexes of the Client's targets (AddTarget order); nil
	// means every target, including those added later.
	Targets []int
	// Start is when operations may start; Stop (0: never) when they end.
	Start, Stop clock.Time
	// Interval is the gap between two operations to one target; 0 =
	// DefaultOpInterval.
	Interval time.Duration
	// Jitter delays each operation by a uniform offset in [0, Jitter);
	// it must be less than Interval.
	Jitter time.Duration
	// Timeout bounds the wait for an answer; 0 = DefaultOpTimeout.
	Timeout time.Duration
	// Paths are what an OpRead reads (one ReadRequest); nil =
	// VendorNamePath.
	Paths []im.AttributePath
	// Command and Fields are what an OpInvoke invokes; the zero Command =
	// OnOffToggle. Fields nil sends an empty structure.
	Command im.CommandPath
	Fields  im.Value
	// RequestSize and ResponseSize are an OpRequest's payload sizes in
	// bytes (0 = the defaults); RequestSize is at least 4 (it carries the
	// response size), and both at most MaxEchoPayload.
	RequestSize, ResponseSize int
}

// OpError reports an invalid Operation.
type OpError struct {
	Op     int    // index in Client.Ops
	Field  string // e.g. "Jitter"
	Reason string
}

func (e *OpError) Error() string {
	return fmt.Sprintf("nodes: operation %d: %s: %s", e.Op, e.Field, e.Reason)
}

var _ error = (*OpError)(nil)

func (o *Operation) interval() time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return DefaultOpInterval
}

func (o *Operation) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultOpTimeout
}

func (o *Operation) sizes() (req, resp int) {
	req, resp = o.RequestSize, o.ResponseSize
	if req == 0 {
		req = DefaultRequestSize
	}
	if resp == 0 {
		resp = DefaultResponseSize
	}
	return req, resp
}

// validate checks o (index i) against the Client's target count k.
func (o *Operation) validate(i int) error {
	switch {
	case o.Kind < OpRead || o.Kind > OpRequest:
		return &OpError{i, "Kind", fmt.Sprintf("unknown kind %d", o.Kind)}
	case o.Interval < 0:
		return &OpError{i, "Interval", "must not be negative"}
	case o.Jitter < 0 || o.Jitter >= o.interval():
		return &OpError{i, "Jitter", fmt.Sprintf("must be in [0, interval %s), got %s", o.interval(), o.Jitter)}
	case o.Timeout < 0:
		return &OpError{i, "Timeout", "must not be negative"}
	case o.Start < 0 || (o.Stop != 0 && o.Stop < o.Start):
		return &OpError{i, "Stop", "must be 0 (never) or not before Start"}
	}
	for _, t := range o.Targets {
		if t < 0 {
			return &OpError{i, "Targets", fmt.Sprintf("negative target %d", t)}
		}
	}
	if o.Kind == OpRequest {
		req, resp := o.sizes()
		if req < 4 || req > MaxEchoPayload {
			return &OpError{i, "RequestSize", fmt.Sprintf("must be in [4, %d], got %d", MaxEchoPayload, req)}
		}
		if resp < 0 || resp > MaxEchoPayload {
			return &OpError{i, "ResponseSize", fmt.Sprintf("must be in [0, %d], got %d", MaxEchoPayload, resp)}
		}
	}
	return nil
}

// OpStats counts one operation kind of a Client. Sent = Answered + Failed +
// GaveUp + TimedOut + Aborted + (operations in flight). A plain value.
type OpStats struct {
	Sent     uint64 // requests sent
	Answered uint64 // answered with success
	Failed   uint64 // answered with an error status, or not with what was asked
	GaveUp   uint64 // MRP gave up on the request
	TimedOut uint64 // acknowledged, but no answer within the timeout
	Aborted  uint64 // the session went away under it
	Skipped  uint64 // due while the previous one to the same target was in flight
	// NoSession: operations that fell due while their target had no
	// session (none was started, nor are the due instants that pass until
	// it has one again; the Client asked for a session instead).
	NoSession  uint64
	SendErrors uint64 // the core refused to send the request
	LatencySum time.Duration
	LatencyMax time.Duration // of the answered ones
}

// InFlight returns the operations sent and not yet ended.
func (s OpStats) InFlight() uint64 {
	return s.Sent - s.Answered - s.Failed - s.GaveUp - s.TimedOut - s.Aborted
}

// Add adds o to s.
func (s *OpStats) Add(o OpStats) {
	s.Sent += o.Sent
	s.Answered += o.Answered
	s.Failed += o.Failed
	s.GaveUp += o.GaveUp
	s.TimedOut += o.TimedOut
	s.Aborted += o.Aborted
	s.Skipped += o.Skipped
	s.NoSession += o.NoSession
	s.SendErrors += o.SendErrors
	s.LatencySum += o.LatencySum
	s.LatencyMax = max(s.LatencyMax, o.LatencyMax)
}

// Client is the controller workload: periodic operations (Ops) over one
// secure session per target device. Each operation is a reliable request
// on a new exchange (spec 4.10, 4.12) that ends answered, failed (an error
// status), given up (EventGiveUp on its exchange), timed out, or aborted
// with its session; its exchange is then closed (flushing the pending ack,
// spec 4.12.5.2.2). See Operation for the timing.
//
// Sessions. A target's session comes from SetSession, or from the
// Establisher through Connect. The Client treats a target's session as
// lost when MRP gives up on one of its operations (a request never acked:
// the SDK marks the session defunct then, connectedhomeip
// ExchangeContext.cpp NotifyResponseTimeout, "timed out and never got an
// ack"; a timeout after the ack leaves the session alone, as there), or
// when the session closes (the device's CloseSession, eviction). It then
// ends the target's other operations (aborted), closes the session if it
// is still there (sending CloseSession, which frees a device's PASE
// responder), and asks the Establisher for a new one: that is how a
// controller recovers from a device that rebooted or lost power, whose
// session is gone. With installed keys this stands in for CASE
// re-establishment. While a target has no session its operations are not
// started (OpStats.NoSession); one that falls due then asks for a session
// again if the last attempt gave up. When the Client's own node reboots or
// powers on, every target that had a session is re-established
// (Lifecycle).
//
// Every operation and outcome is also emitted as a NodeEvent on the
// Client's node (OpStarted, OpEnded, OpSkipped, OpNotSent), which metrics
// count.
//
// Set Ops, Rand and Establisher, then AddTarget, before Start. Not safe
// for concurrent use.
type Client struct {
	Ops []Operation
	// Rand draws the first instant of each target's operations and the
	// jitter; nil spreads first instants evenly and needs Jitter 0.
	Rand *rand.Rand
	// Establisher, if set, opens the targets' sessions (Connect) and
	// re-opens lost ones.
	Establisher Establisher

	targets []ctarget
	slots   []cslot
	sorted  [][]int                  // per op: its Targets, sorted (nil: all)
	byEx    map[session.Exchange]int // slot per exchange in flight; lookup only
	bySess  map[session.Ref]int      // target per session; lookup only
	q       timerQueue
	stats   [numOpKinds]OpStats
	reqs    [][]byte // request payload per op
	started bool
	stopped bool
	stopAt  clock.Time
	// notify, if set, hears of every target session established (ok) or
	// establishment failed (the Subscriber beside it).
	notify func(now clock.Time, t int, ok bool)
}

// Target session states.
const (
	tUnconnected uint8 = iota
	tConnecting
	tConnected
)

type ctarget struct {
	node   *Node // the device; nil if set by SetSession only
	ref    session.Ref
	state  uint8
	ever   bool // has had a session: its operations are scheduled
	reboot bool // had a session when the Client's node went down
	slots  []int
}

// cslot is one (operation, target) pair.
type cslot struct {
	op, target int
	phased     bool       // nominal is on the target's grid
	nominal    clock.Time // the due instant (without jitter) of the next or skipped operation
	parked     bool       // no live due timer: waiting for a session
	overdue    bool       // fell due while busy: re-armed when the operation ends
	busy       bool
	ex         session.Exchange
	sentAt     clock.Time
	gen        uint64 // timeout timers
	dgen       uint64 // due timers
}

// Client timer kinds.
const (
	timerDue uint8 = iota + 1
	timerOpTimeout
)

var (
	_ Workload  = (*Client)(nil)
	_ Lifecycle = (*Client)(nil)
)

// Validate checks every Operation; Start does not (it clamps nothing and
// assumes valid input), so call Validate first.
func (c *Client) Validate() error {
	for i := range c.Ops {
		if err := c.Ops[i].validate(i); err != nil {
			return err
		}
		if c.Ops[i].Jitter > 0 && c.Rand == nil {
			return &OpError{i, "Jitter", "needs Client.Rand"}
		}
	}
	return nil
}

// AddTarget adds device d (nil: a target whose session comes only from
// SetSession) and returns its index. Set Ops before the first call.
func (c *Client) AddTarget(d *Node) int {
	if c.sorted == nil {
		c.sorted = make([][]int, len(c.Ops))
		for i, o := range c.Ops {
			if o.Targets != nil {
				c.sorted[i] = slices.Sorted(slices.Values(o.Targets))
			}
		}
		c.byEx = make(map[session.Exchange]int)
		c.bySess = make(map[session.Ref]int)
	}
	ti := len(c.targets)
	c.targets = append(c.targets, ctarget{node: d})
	for oi := range c.Ops {
		if s := c.sorted[oi]; s != nil {
			if _, ok := slices.BinarySearch(s, ti); !ok {
				continue
			}
		}
		c.targets[ti].slots = append(c.targets[ti].slots, len(c.slots))
		c.slots = append(c.slots, cslot{op: oi, target: ti, nominal: clock.Never})
	}
	return ti
}

// Targets returns the number of targets.
func (c *Client) Targets() int { return len(c.targets) }

// Session returns target t's session, if it has one.
func (c *Client) Session(t int) (session.Ref, bool) {
	if t < 0 || t >= len(c.targets) || c.targets[t].state != tConnected {
		return session.Ref{}, false
	}
	return c.targets[t].ref, true
}

// Stats returns the counters of operation kind k.
func (c *Client) Stats(k OpKind) OpStats {
	if k < OpRead || k > OpRequest {
		return OpStats{}
	}
	return c.stats[k]
}

// InFlight returns the operations in flight.
func (c *Client) InFlight() int { return len(c.byEx) }

// Connect asks the Establisher for target t's session at now, unless it
// has one or one is being established. n is the Client's node; Connect may
// be called from outside a node input.
func (c *Client) Connect(now clock.Time, n *Node, t int) {
	if t < 0 || t >= len(c.targets) {
		return
	}
	_ = n.Do(now, func(*session.Manager) error { c.connect(now, n, t); return nil })
}

// SetSession gives target t the established session ref at now (for
// sessions not made by the Establisher). n is the Client's node.
func (c *Client) SetSession(now clock.Time, n *Node, t int, ref session.Ref) {
	if t < 0 || t >= len(c.targets) {
		return
	}
	_ = n.Do(now, func(*session.Manager) error { c.connected(now, t, ref); return nil })
}

func (c *Client) connect(now clock.Time, n *Node, ti int) {
	t := &c.targets[ti]
	if t.state != tUnconnected || c.Establisher == nil || t.node == nil {
		return
	}
	t.state = tConnecting
	c.Establisher.Establish(now, n, t.node, func(now clock.Time, p Pair, err error) {
		c.established(now, ti, p, err)
	})
}

func (c *Client) established(now clock.Time, ti int, p Pair, err error) {
	t := &c.targets[ti]
	if t.state != tConnecting {
		return
	}
	if err != nil {
		t.state = tUnconnected
		if c.notify != nil {
			defer c.notify(now, ti, false)
		}
		// A target that was running operations retries at its next due
		// instant (strictly later: a synchronous failure must not spin).
		for _, i := range t.slots {
			if s := &c.slots[i]; s.parked && !c.stopped {
				c.resume(now, i, true)
			}
		}
		return
	}
	c.connected(now, ti, p.InitiatorRef)
}

func (c *Client) connected(now clock.Time, ti int, ref session.Ref) {
	t := &c.targets[ti]
	if t.state == tConnected {
		delete(c.bySess, t.ref)
	}
	t.ref, t.state = ref, tConnected
	c.bySess[ref] = ti
	t.ever = true
	if c.notify != nil {
		defer c.notify(now, ti, true)
	}
	if !c.started || c.stopped {
		return
	}
	for _, i := range t.slots {
		s := &c.slots[i]
		switch {
		case !s.phased:
			var off time.Duration
			if c.Rand != nil {
				off = time.Duration(c.Rand.Int64N(int64(c.Ops[s.op].interval())))
			}
			c.place(now, i, off)
		case s.parked:
			c.resume(now, i, false)
		}
	}
}

// place sets slot i's first nominal instant off after max(now, Start).
func (c *Client) place(now clock.Time, i int, off time.Duration) {
	s := &c.slots[i]
	s.phased = true
	s.nominal = max(now, c.Ops[s.op].Start).Add(off)
	c.arm(i)
}

// resume re-arms a parked slot at its first nominal instant at or after
// now (strictly after with strict).
func (c *Client) resume(now clock.Time, i int, strict bool) {
	s := &c.slots[i]
	iv := c.Ops[s.op].interval()
	if s.nominal < now || (strict && s.nominal == now) {
		k := (now.Sub(s.nominal))/iv + 1
		if !strict && now.Sub(s.nominal)%iv == 0 {
			k--
		}
		s.nominal = s.nominal.Add(k * iv)
	}
	c.arm(i)
}

// arm queues slot i's due timer at its nominal instant plus jitter, or
// parks it past the operation's Stop.
func (c *Client) arm(i int) {
	s := &c.slots[i]
	o := &c.Ops[s.op]
	s.dgen++
	if (o.Stop != 0 && s.nominal >= o.Stop) || c.stopped {
		s.parked = true
		return
	}
	s.parked = false
	at := s.nominal
	if o.Jitter > 0 {
		at = at.Add(time.Duration(c.Rand.Int64N(int64(o.Jitter))))
	}
	c.q.push(timerEntry{at: at, key: i, kind: timerDue, gen: s.dgen})
}

// Start schedules the first operation of every target that has a session
// (see Operation) and encodes the requests.
func (c *Client) Start(now clock.Time, _ *Node) {
	if c.started {
		return
	}
	c.started = true
	c.reqs = make([][]byte, len(c.Ops))
	for oi := range c.Ops {
		o := &c.Ops[oi]
		switch o.Kind {
		case OpRead:
			paths := o.Paths
			if paths == nil {
				paths = []im.AttributePath{VendorNamePath}
			}
			c.reqs[oi] = im.AppendReadRequest(nil, im.NewReadRequest(paths...))
		case OpInvoke:
			cmd := o.Command
			if cmd == (im.CommandPath{}) {
				cmd = OnOffToggle
			}
			c.reqs[oi] = im.AppendInvokeRequest(nil, im.NewInvokeRequest(cmd, o.Fields))
		case OpRequest:
			req, resp := o.sizes()
			b := make([]byte, req)
			binary.LittleEndian.PutUint32(b, uint32(resp))
			for j := 4; j < req; j++ {
				b[j] = byte(j)
			}
			c.reqs[oi] = b
		}
	}
	for oi := range c.Ops {
		iv := c.Ops[oi].interval()
		var mine []int
		for i := range c.slots {
			if c.slots[i].op == oi {
				mine = append(mine, i)
			}
		}
		for j, i := range mine {
			if c.targets[c.slots[i].target].state != tConnected {
				continue
			}
			var off time.Duration
			if c.Rand != nil {
				off = time.Duration(c.Rand.Int64N(int64(iv)))
			} else {
				off = iv * time.Duration(j) / time.Duration(len(mine))
			}
			c.place(now, i, off)
		}
	}
}

// Stop stops starting operations; those in flight finish.
func (c *Client) Stop(now clock.Time, _ *Node) {
	if !c.stopped {
		c.stopped, c.stopAt = true, now
	}
}

// Deadline returns the next due or timeout instant.
func (c *Client) Deadline() clock.Time {
	for c.q.len() > 0 {
		t := c.q.top()
		if c.live(t) {
			return t.at
		}
		c.q.pop()
	}
	return clock.Never
}

func (c *Client) live(t *timerEntry) bool {
	s := &c.slots[t.key]
	switch t.kind {
	case timerDue:
		return !c.stopped && s.dgen == t.gen
	case timerOpTimeout:
		return s.busy && s.gen == t.gen
	}
	return false
}

// HandleTimer starts due operations and times out overdue ones.
func (c *Client) HandleTimer(now clock.Time, n *Node) {
	for c.q.len() > 0 && c.q.top().at <= now {
		t := c.q.pop()
		if !c.live(&t) {
			continue
		}
		i := t.key
		switch t.kind {
		case timerDue:
			c.due(now, n, i)
		case timerOpTimeout:
			c.finish(now, n, i, TimedOut, 0)
		}
	}
}

// due runs slot i's operation that fell due at now.
func (c *Client) due(now clock.Time, n *Node, i int) {
	s := &c.slots[i]
	o := &c.Ops[s.op]
	t := &c.targets[s.target]
	if t.state != tConnected {
		s.parked = true
		c.stats[o.Kind].NoSession++
		c.emit(now, n, i, NodeEvent{Kind: OpNotSent})
		if t.state == tUnconnected {
			c.connect(now, n, s.target) // may connect at once, which resumes s
		}
		return
	}
	if s.busy {
		s.overdue = true // counted and re-armed when the operation ends
		return
	}
	c.start(now, n, i)
	s = &c.slots[i]
	s.nominal = s.nominal.Add(o.interval())
	c.arm(i)
}

// start sends slot i's request.
func (c *Client) start(now clock.Time, n *Node, i int) {
	s := &c.slots[i]
	o := &c.Ops[s.op]
	st := &c.stats[o.Kind]
	m := n.Manager()
	ref := c.targets[s.target].ref
	ex, err := m.NewExchange(ref)
	if err != nil {
		st.SendErrors++
		c.emit(now, n, i, NodeEvent{Kind: OpNotSent, Err: err})
		c.lost(now, n, s.target) // the session is gone from the table
		return
	}
	msg := session.Message{Payload: c.reqs[s.op], Reliable: true}
	switch o.Kind {
	case OpRead:
		msg.Protocol, msg.Opcode = message.ProtocolID(im.ProtocolID), uint8(im.OpReadRequest)
	case OpInvoke:
		msg.Protocol, msg.Opcode = message.ProtocolID(im.ProtocolID), uint8(im.OpInvokeRequest)
	case OpRequest:
		msg.Protocol, msg.Vendor, msg.Opcode = SenderProtocol, SenderVendor, OpcodeEchoRequest
	}
	if err := m.Send(now, ex, msg); err != nil {
		st.SendErrors++
		c.emit(now, n, i, NodeEvent{Kind: OpNotSent, Err: err})
		_ = m.CloseExchange(now, ex)
		return
	}
	st.Sent++
	s.busy, s.ex, s.sentAt = true, ex, now
	s.gen++
	c.byEx[ex] = i
	c.q.push(timerEntry{at: now.Add(o.timeout()), key: i, kind: timerOpTimeout, gen: s.gen})
	c.emit(now, n, i, NodeEvent{Kind: OpStarted})
}

func (c *Client) emit(now clock.Time, n *Node, i int, ev NodeEvent) {
	if n.OnNodeEvent == nil {
		return
	}
	s := &c.slots[i]
	ev.Op, ev.OpIndex, ev.Target, ev.Peer = c.Ops[s.op].Kind, s.op, s.target, -1
	if d := c.targets[s.target].node; d != nil {
		ev.Peer = d.Index()
	}
	n.Emit(now, ev)
}

// finish ends slot i's operation with outcome out and closes its exchange
// (nothing to close when the core is gone).
func (c *Client) finish(now clock.Time, n *Node, i int, out Outcome, lat time.Duration) {
	s := &c.slots[i]
	o := &c.Ops[s.op]
	st := &c.stats[o.Kind]
	delete(c.byEx, s.ex)
	if !n.Down() {
		_ = n.Manager().CloseExchange(now, s.ex) // ErrNoSession after a close: nothing to close
	}
	s.busy = false
	s.gen++
	switch out {
	case Answered:
		st.Answered++
		st.LatencySum += lat
		st.LatencyMax = max(st.LatencyMax, lat)
	case Failed:
		st.Failed++
	case GaveUp:
		st.GaveUp++
	case TimedOut:
		st.TimedOut++
	case Aborted:
		st.Aborted++
	}
	c.emit(now, n, i, NodeEvent{Kind: OpEnded, Outcome: out, Latency: lat})
	if !s.overdue {
		return
	}
	// Count the nominal instants that passed while this one was in flight
	// (up to now, before Stop and the workload's stop), then re-arm at the
	// first one after now.
	s.overdue = false
	iv := o.interval()
	end := clock.Never
	if o.Stop != 0 {
		end = o.Stop
	}
	if c.stopped {
		end = min(end, c.stopAt)
	}
	limit := now
	if end != clock.Never && end.Add(-1) < limit {
		limit = end.Add(-1)
	}
	k := 0
	if s.nominal <= limit {
		k = int(limit.Sub(s.nominal)/iv) + 1
	}
	if next := now.Sub(s.nominal)/iv + 1; next > 0 {
		s.nominal = s.nominal.Add(next * iv)
	}
	if k > 0 {
		st.Skipped += uint64(k)
		c.emit(now, n, i, NodeEvent{Kind: OpSkipped, Count: k})
	}
	if c.targets[s.target].state == tConnected {
		c.arm(i)
	} else {
		s.parked = true
	}
}

// lost handles target ti's session as gone: its other operations are
// aborted, the session is closed if it is still there, and a new one is
// asked for.
func (c *Client) lost(now clock.Time, n *Node, ti int) {
	t := &c.targets[ti]
	if t.state != tConnected {
		return
	}
	ref := t.ref
	delete(c.bySess, ref)
	t.state, t.ref = tUnconnected, session.Ref{}
	for _, i := range t.slots {
		if c.slots[i].busy {
			c.finish(now, n, i, Aborted, 0)
		}
	}
	_ = n.Manager().CloseSession(now, ref) // ErrNoSession: already gone
	c.connect(now, n, ti)
}

// HandleEvent completes operations (an answer, a give-up) and watches the
// targets' sessions.
func (c *Client) HandleEvent(now clock.Time, n *Node, ev *session.Event) {
	switch ev.Kind {
	case session.EventMessage:
		i, ok := c.byEx[ev.Exchange]
		if !ok {
			return
		}
		lat := now.Sub(c.slots[i].sentAt)
		c.finish(now, n, i, c.judge(i, ev), lat)
	case session.EventGiveUp:
		if i, ok := c.byEx[ev.Exchange]; ok {
			ti := c.slots[i].target
			c.finish(now, n, i, GaveUp, 0)
			c.lost(now, n, ti)
		}
	case session.EventSessionClosed:
		ti, ok := c.bySess[ev.Session]
		if !ok {
			return
		}
		t := &c.targets[ti]
		delete(c.bySess, ev.Session)
		t.state, t.ref = tUnconnected, session.Ref{}
		for _, i := range t.slots {
			if c.slots[i].busy {
				c.finish(now, n, i, Aborted, 0)
			}
		}
		c.connect(now, n, ti)
	}
}

// judge classifies the answer ev to slot i's request.
func (c *Client) judge(i int, ev *session.Event) Outcome {
	o := &c.Ops[c.slots[i].op]
	switch o.Kind {
	case OpRead:
		if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 {
			return Failed
		}
		rep, err := im.ParseReadResponse(im.Opcode(ev.Opcode), ev.Payload)
		if err != nil {
			return Failed
		}
		paths := o.Paths
		if paths == nil {
			paths = []im.AttributePath{VendorNamePath}
		}
		for _, p := range paths {
			if p.IsWildcard() {
				if len(rep.AttributeReports) == 0 {
					return Failed
				}
				continue
			}
			if _, err := rep.Value(p); err != nil {
				return Failed
			}
		}
		return Answered
	case OpInvoke:
		if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 {
			return Failed
		}
		res, err := im.ParseInvokeResponse(im.Opcode(ev.Opcode), ev.Payload)
		if err != nil || res.Result(0) != nil {
			return Failed
		}
		return Answered
	case OpRequest:
		_, resp := o.sizes()
		if ev.Protocol != SenderProtocol || ev.Vendor != SenderVendor || ev.Opcode != OpcodeEchoResponse || len(ev.Payload) != resp {
			return Failed
		}
		return Answered
	}
	return Failed
}

// PowerOff (Lifecycle): the Client's node lost its core. Operations in
// flight are aborted; every session is gone.
func (c *Client) PowerOff(now clock.Time, n *Node) {
	for i := range c.slots {
		s := &c.slots[i]
		if s.busy {
			s.overdue = false
			c.finish(now, n, i, Aborted, 0)
		}
		if s.phased {
			s.parked = true
			s.dgen++
		}
	}
	c.q = timerQueue{}
	for ti := range c.targets {
		t := &c.targets[ti]
		switch {
		case t.state == tConnected:
			t.reboot = true
			delete(c.bySess, t.ref)
			t.state, t.ref = tUnconnected, session.Ref{}
		case t.state == tUnconnected && t.ever:
			// Lost before, its due timers gone with the queue: retried
			// at boot too.
			t.reboot = true
		}
	}
}

// Boot (Lifecycle): the Client's node is up on a fresh core: every target
// that had a session when it went down, or had one once and was waiting
// for a new one, is re-established. Establishments
// in progress continue (the Establisher keeps them).
func (c *Client) Boot(now clock.Time, n *Node) {
	for ti := range c.targets {
		if t := &c.targets[ti]; t.reboot {
			t.reboot = false
			c.connect(now, n, ti)
		}
	}
}
