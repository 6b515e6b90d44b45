package nodes

import (
	"net/netip"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/message"
)

// Transport is what a Node needs from its network: send a datagram, keep one
// timer at the node's earliest deadline (house style 2 and 7). The
// simulator's *sim.Socket implements it, as does anything with the same
// three methods.
type Transport interface {
	// Send sends payload as one datagram to to. payload is not retained.
	Send(to netip.AddrPort, payload []byte) error
	// SetTimer sets the single timer to at, replacing any pending one;
	// clock.Never cancels. When it fires the transport calls
	// Node.HandleTimer.
	SetTimer(at clock.Time)
	// LocalAddr returns the address and port datagrams are sent from.
	LocalAddr() netip.AddrPort
}

// Marker is implemented by transports that can say whether the datagram
// being delivered was forged or replayed by an adversary (the simulator's
// socket: sim.Socket.Injected). A Node asks it once per HandleDatagram.
type Marker interface {
	Injected() bool
}

// EventHook sees every session event of a node, in order, after the node's
// counters and before its workload. injected is true for the events caused
// by an injected datagram. ev and its payload are valid only during the
// call.
type EventHook func(now clock.Time, n *Node, ev *session.Event, injected bool)

// Handshaker runs session-establishment protocols (PASE, spec 4.14.1) on a
// node, below its workload: it sees every session event before the
// workload and consumes those that belong to a handshake (HandleEvent
// returns true: the workload does not see them); its timers are folded
// into the node's single transport timer. Like a Workload, its methods run
// inside a node input and may call the node's Manager directly.
type Handshaker interface {
	// HandleEvent sees every session event of the node, in order, and
	// reports whether it consumed it. ev and its payload are valid only
	// during the call.
	HandleEvent(now clock.Time, n *Node, ev *session.Event) bool
	// HandleTimer runs the timers due at or before now.
	HandleTimer(now clock.Time, n *Node)
	// Deadline returns the earliest timer, or clock.Never.
	Deadline() clock.Time
}

// Node is one virtual Matter node: a session.Manager driven by its
// Transport, with a Workload on top. See the package documentation for the
// driving loop.
//
// The zero value is not usable; call New, then Attach. A Node is not safe
// for concurrent use: every method runs on the network's goroutine.
type Node struct {
	index  int
	nodeID message.NodeID
	m      *session.Manager
	tr     Transport
	mark   Marker
	w      Workload
	hs     Handshaker

	// OnEvent, if set, sees every session event (for traces and metrics).
	OnEvent EventHook
	// OnNodeEvent, if set, sees every NodeEvent: datagrams sent, injected
	// datagrams classified, operations, establishments and power changes.
	OnNodeEvent NodeEventHook

	stats Stats
	depth int        // > 0 while an input is being handled
	armed clock.Time // the transport timer as last set
	inj   bool       // the datagram being handled was injected
	injV  session.EventKind
	injR  session.GroupReason // of a group verdict
	injU  bool                // the injected datagram is unsecured (session 0 unicast)
	injH  bool                // its verdict event was consumed by the Handshaker
	hdr   message.Header
	ev    session.Event // the event being dispatched
	nev   NodeEvent     // the node event being emitted (Emit)

	down    bool
	boots   int
	factory CoreFactory
	store   Store
}

// New returns a node with index index (its position in the network, used in
// traces), operational node id nodeID, core m and workload w (nil: none).
// If w implements Unsoliciting, its registrations are made on m.
// Attach a transport before the network delivers anything.
func New(index int, nodeID message.NodeID, m *session.Manager, w Workload) *Node {
	n := &Node{index: index, nodeID: nodeID, m: m, w: w, armed: clock.Never}
	n.register()
	return n
}

// register makes the workload's unsolicited registrations on the core.
func (n *Node) register() {
	if u, ok := n.w.(Unsoliciting); ok {
		for _, r := range u.Unsolicited() {
			n.m.RegisterUnsolicited(r)
		}
	}
}

// Attach sets the node's transport. If tr implements Marker, injected
// datagrams are classified (see Stats.Injected).
func (n *Node) Attach(tr Transport) {
	n.tr = tr
	n.mark, _ = tr.(Marker)
	n.armed = clock.Never
}

// Index returns the node's index.
func (n *Node) Index() int { return n.index }

// NodeID returns the node's operational node id.
func (n *Node) NodeID() message.NodeID { return n.nodeID }

// Manager returns the node's session core. Calls on it made from outside a
// node input must go through Do, so that their outputs are drained.
func (n *Node) Manager() *session.Manager { return n.m }

// Transport returns the attached transport.
func (n *Node) Transport() Transport { return n.tr }

// Workload returns the node's workload, or nil.
func (n *Node) Workload() Workload { return n.w }

// Addr returns the transport's local address: where peers reach this node.
func (n *Node) Addr() netip.AddrPort { return n.tr.LocalAddr() }

// SetHandshaker installs h (nil: none) under the workload. Call it from
// outside a node input, or from inside one of this node's inputs.
func (n *Node) SetHandshaker(h Handshaker) {
	n.hs = h
	n.rearm()
}

// Handshaker returns the installed Handshaker, or nil.
func (n *Node) Handshaker() Handshaker { return n.hs }

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// HandleDatagram feeds one received datagram to the core at now, drains the
// outputs and re-arms the timer. b is not retained.
func (n *Node) HandleDatagram(now clock.Time, from netip.AddrPort, b []byte) {
	if n.down {
		n.stats.DownDrops++ // a transport that is not Powered delivered it
		return
	}
	n.depth++
	n.stats.Received++
	n.inj = n.mark != nil && n.mark.Injected()
	n.injV, n.injU, n.injH = 0, false, false
	if n.inj {
		n.stats.Injected.Received++
		// Handshake frames (session 0 unicast) carry no MIC: they are
		// classified apart (InjectedStats.Unsecured).
		if _, err := n.hdr.Decode(b); err == nil && !n.hdr.IsSecure() {
			n.injU = true
		}
	}
	n.m.HandleDatagram(now, from, b)
	n.drain(now)
	if n.inj {
		var c InjectedClass
		if n.injU {
			c = n.stats.Injected.Unsecured.classify(n.injV, n.injH)
		} else {
			c = n.stats.Injected.classify(n.injV, n.injR)
		}
		n.inj = false
		if n.OnNodeEvent != nil {
			n.Emit(now, NodeEvent{Kind: NodeInjected, Peer: -1, Class: c})
		}
	}
	n.depth--
	n.rearm()
}

// HandleTimer runs the core's due timers, then the Handshaker's and the
// workload's, drains and re-arms.
func (n *Node) HandleTimer(now clock.Time) {
	if n.down {
		return // a powered-off node runs no timers
	}
	n.depth++
	n.armed = clock.Never // the transport's timer has fired
	if n.m.NextDeadline() <= now {
		n.m.HandleTimeout(now)
		n.drain(now)
	}
	if n.hs != nil && n.hs.Deadline() <= now {
		n.hs.HandleTimer(now, n)
		n.drain(now)
	}
	if n.w != nil && n.w.Deadline() <= now {
		n.w.HandleTimer(now, n)
		n.drain(now)
	}
	n.depth--
	n.rearm()
}

// Do runs f on the node's core at now, then drains the outputs and re-arms
// the timer. Called from inside a node input (a workload callback), it only
// runs f: the input drains when it ends.
func (n *Node) Do(now clock.Time, f func(m *session.Manager) error) error {
	if n.down {
		return ErrDown
	}
	n.depth++
	err := f(n.m)
	n.depth--
	if n.depth == 0 {
		n.drain(now)
		n.rearm()
	}
	return err
}

// Start starts the workload at now (Workload.Start), draining its sends.
func (n *Node) Start(now clock.Time) {
	if n.w == nil || n.down {
		return
	}
	_ = n.Do(now, func(*session.Manager) error { n.w.Start(now, n); return nil })
}

// Stop stops the workload at now: no new work is started; what is in flight
// finishes.
func (n *Node) Stop(now clock.Time) {
	if n.w == nil || n.down {
		return
	}
	_ = n.Do(now, func(*session.Manager) error { n.w.Stop(now, n); return nil })
}

// drain empties the core's output queue in order: datagrams out through the
// transport, events to the counters, the hook and the workload (which may
// queue more outputs, drained in the same loop).
func (n *Node) drain(now clock.Time) {
	for {
		o, ok := n.m.Poll()
		if !ok {
			return
		}
		if o.IsDatagram() {
			err := n.tr.Send(o.To, o.Data)
			if err != nil {
				n.stats.SendErrors++
			} else {
				n.stats.Sent++
			}
			if n.OnNodeEvent != nil {
				n.Emit(now, NodeEvent{Kind: NodeSent, Peer: -1, StandaloneAck: o.StandaloneAck, Err: err})
			}
			continue
		}
		// The event lives in the node, not on the heap per event: hooks
		// take a pointer, and no nested drain can overwrite it (workloads
		// run inside this loop; their outputs are polled by it).
		n.ev = o.Event
		ev := &n.ev
		n.stats.count(ev.Kind)
		verdict := n.inj && n.injV == 0 && isVerdict(ev.Kind)
		if verdict {
			n.injV, n.injR = ev.Kind, ev.Group.Reason
		}
		if n.OnEvent != nil {
			n.OnEvent(now, n, ev, n.inj)
		}
		if n.hs != nil && n.hs.HandleEvent(now, n, ev) {
			if verdict {
				n.injH = true
			}
			continue
		}
		if n.w != nil {
			n.w.HandleEvent(now, n, ev)
		}
	}
}

// rearm sets the transport's one timer to the earliest of the core's and the
// workload's deadlines, if it changed.
func (n *Node) rearm() {
	if n.depth > 0 || n.tr == nil || n.down {
		return
	}
	at := n.m.NextDeadline()
	if n.hs != nil {
		at = min(at, n.hs.Deadline())
	}
	if n.w != nil {
		at = min(at, n.w.Deadline())
	}
	if at != n.armed {
		n.armed = at
		n.tr.SetTimer(at)
	}
}

// isVerdict reports whether k is the core's verdict on a received datagram.
func isVerdict(k session.EventKind) bool {
	switch k {
	case session.EventMessage, session.EventDuplicate, session.EventMICFailure,
		session.EventUnknownSession, session.EventMalformed, session.EventUnsupported,
		session.EventUnknownExchange, session.EventUnhandled, session.EventTableFull,
		session.EventGroupMessage, session.EventGroupDuplicate, session.EventGroupRejected,
		session.EventMCSPRejected, session.EventMCSPRateLimited,
		session.EventMCSPQueued, session.EventMCSPQueueOverflow:
		return true
	}
	return false
}

// Stats counts what a node's core did. A plain value; Add sums nodes.
type Stats struct {
	Sent       uint64 // datagrams handed to the transport
	SendErrors uint64 // datagrams the transport refused
	Received   uint64 // datagrams handed to the core
	DownDrops  uint64 // datagrams handed to the node while it was powered off

	Delivered       uint64 // messages delivered to the application (EventMessage)
	Duplicates      uint64 // duplicates dropped (spec 4.6.5)
	MICFailures     uint64 // messages that did not authenticate (spec 4.7.2)
	UnknownSession  uint64 // no session for the message's session id
	Malformed       uint64 // undecodable or unsupported datagrams
	UnknownExchange uint64 // new messages no exchange took (spec 4.10.5.2)
	Unhandled       uint64 // unsolicited messages no registration accepts (session.EventUnhandled)
	TableFull       uint64 // messages dropped for want of a session or exchange slot (session.EventTableFull)
	Acks            uint64 // reliable messages acknowledged (spec 4.12.5.1)
	Retransmissions uint64 // MRP retransmissions (spec 4.12.2.1)
	GiveUps         uint64 // MRP give-ups after MaxTransmissions
	SessionsOpened  uint64
	SessionsClosed  uint64

	// Injected classifies the datagrams the transport marked injected.
	Injected InjectedStats
}

func (s *Stats) count(k session.EventKind) {
	switch k {
	case session.EventMessage:
		s.Delivered++
	case session.EventDuplicate:
		s.Duplicates++
	case session.EventMICFailure:
		s.MICFailures++
	case session.EventUnknownSession:
		s.UnknownSession++
	case session.EventMalformed, session.EventUnsupported:
		s.Malformed++
	case session.EventUnknownExchange:
		s.UnknownExchange++
	case session.EventUnhandled:
		s.Unhandled++
	case session.EventTableFull:
		s.TableFull++
	case session.EventAck:
		s.Acks++
	case session.EventRetransmit:
		s.Retransmissions++
	case session.EventGiveUp:
		s.GiveUps++
	case session.EventSessionOpened:
		s.SessionsOpened++
	case session.EventSessionClosed:
		s.SessionsClosed++
	}
}

// Add adds o's counters to s.
func (s *Stats) Add(o Stats) {
	s.Sent += o.Sent
	s.SendErrors += o.SendErrors
	s.Received += o.Received
	s.DownDrops += o.DownDrops
	s.Delivered += o.Delivered
	s.Duplicates += o.Duplicates
	s.MICFailures += o.MICFailures
	s.UnknownSession += o.UnknownSession
	s.Malformed += o.Malformed
	s.UnknownExchange += o.UnknownExchange
	s.Unhandled += o.Unhandled
	s.TableFull += o.TableFull
	s.Acks += o.Acks
	s.Retransmissions += o.Retransmissions
	s.GiveUps += o.GiveUps
	s.SessionsOpened += o.SessionsOpened
	s.SessionsClosed += o.SessionsClosed
	i, j := &s.Injected, o.Injected
	i.Received += j.Received
	i.Accepted += j.Accepted
	i.Fresh += j.Fresh
	i.Queued += j.Queued
	i.Duplicate += j.Duplicate
	i.MICFailure += j.MICFailure
	i.UnknownSession += j.UnknownSession
	i.Malformed += j.Malformed
	u, v := &i.Unsecured, j.Unsecured
	u.Received += v.Received
	u.Duplicate += v.Duplicate
	u.UnknownSession += v.UnknownSession
	u.Malformed += v.Malformed
	u.Handshake += v.Handshake
	u.Application += v.Application
	u.Ignored += v.Ignored
}

// InjectedStats classifies injected datagrams by the core's verdict on each.
// Received = Accepted + Fresh + Queued + Refused() + Unsecured.Received: the fields
// other than Unsecured count secure (encrypted) frames. A plain value.
type InjectedStats struct {
	Received uint64 // injected datagrams handed to the core
	// Accepted: delivered to the application as a new message. For a
	// replay of a message the receiver already had, this is a failure of
	// the replay window (spec 4.6.5).
	Accepted uint64
	// Fresh: the counter was new to the window but nothing was delivered
	// (a standalone ack, or no exchange took the message).
	Fresh uint64
	// Queued: a group message held (or dropped) by the cache-and-sync
	// queue, with no verdict yet (InjQueued).
	Queued uint64
	// Refused, by reason.
	Duplicate      uint64 // duplicate verdict (spec 4.6.5.2)
	MICFailure     uint64 // did not authenticate (spec 4.7.2)
	UnknownSession uint64 // no such session at the receiver
	Malformed      uint64 // undecodable or unsupported

	// Unsecured classifies injected handshake frames (session 0 unicast,
	// spec 4.13.2.1), which have no MIC and only a best-effort counter.
	Unsecured UnsecuredStats
}

// UnsecuredStats classifies injected unsecured (handshake) frames.
// Received = Duplicate + UnknownSession + Malformed + Handshake +
// Application + Ignored. A plain value.
type UnsecuredStats struct {
	Received       uint64
	Duplicate      uint64 // the unsecured session's counter window had it (spec 4.6.5)
	UnknownSession uint64 // a responder's reply for an unsecured session we no longer have
	Malformed      uint64 // undecodable or unsupported
	// Handshake: a new message the node's Handshaker consumed (a PASE
	// responder refused or ignored it; no session results unless the
	// handshake completes, which needs the passcode).
	Handshake uint64
	// Application: a new message on an unsecured session that reached the
	// workload. Only unsecured messages nobody guards get there: a
	// failure when a Handshaker is installed.
	Application uint64
	// Ignored: new to the window but no verdict (a standalone ack, a
	// message no exchange took or no registration accepts, or one dropped
	// for want of a table slot).
	Ignored uint64
}

func (s *UnsecuredStats) classify(v session.EventKind, handshake bool) InjectedClass {
	s.Received++
	switch v {
	case session.EventDuplicate:
		s.Duplicate++
		return InjUnsecuredDuplicate
	case session.EventUnknownSession:
		s.UnknownSession++
		return InjUnsecuredUnknownSession
	case session.EventMalformed, session.EventUnsupported:
		s.Malformed++
		return InjUnsecuredMalformed
	case session.EventUnhandled:
		// the core dropped it: no exchange, nothing consumed it
	case session.EventMessage, session.EventUnknownExchange:
		switch {
		case handshake:
			s.Handshake++
			return InjUnsecuredHandshake
		case v == session.EventMessage:
			s.Application++
			return InjUnsecuredApplication
		}
	}
	s.Ignored++
	return InjUnsecuredIgnored
}

// Refused returns the injected datagrams the core refused.
func (s InjectedStats) Refused() uint64 {
	return s.Duplicate + s.MICFailure + s.UnknownSession + s.Malformed
}

func (s *InjectedStats) classify(v session.EventKind, r session.GroupReason) InjectedClass {
	switch v {
	case session.EventGroupRejected:
		// A group datagram refused before its window (spec 4.17.3.6):
		// by the keys (no key with its session id, or none that maps
		// its group: unknown session; every key failed: MIC failure), or
		// for its shape.
		switch r {
		case session.ReasonAuth:
			v = session.EventMICFailure
		case session.ReasonNoKey, session.ReasonNotMember, session.ReasonTableFull:
			v = session.EventUnknownSession
		case session.ReasonOwn:
			v = session.EventDuplicate
		default:
			v = session.EventMalformed
		}
	case session.EventGroupMessage:
		v = session.EventMessage
	case session.EventGroupDuplicate, session.EventMCSPRateLimited:
		v = session.EventDuplicate
	case session.EventMCSPRejected:
		// A replayed or forged MCSP message: refused by the control
		// window (duplicate) or by its content (challenge, node,
		// exchange, unsolicited: counted as a duplicate of a message
		// the receiver already answered or never asked for).
		v = session.EventDuplicate
		if r == session.ReasonMalformed {
			v = session.EventMalformed
		}
	}
	switch v {
	case session.EventMCSPQueued, session.EventMCSPQueueOverflow:
		s.Queued++
		return InjQueued
	case session.EventMessage:
		s.Accepted++
		return InjAccepted
	case session.EventDuplicate:
		s.Duplicate++
		return InjDuplicate
	case session.EventMICFailure:
		s.MICFailure++
		return InjMICFailure
	case session.EventUnknownSession:
		s.UnknownSession++
		return InjUnknownSession
	case session.EventMalformed, session.EventUnsupported:
		s.Malformed++
		return InjMalformed
	}
	// EventUnknownExchange, or no verdict: a fresh counter with nothing to deliver
	s.Fresh++
	return InjFresh
}
