package session

import (
	"fmt"
	"net/netip"
	"strings"

	"mattersim/session/counter"
	"mattersim/session/message"
)

// EventKind classifies an Event.
type EventKind uint8

// Event kinds. Expected protocol outcomes (duplicates, unknown sessions, MRP
// give-up) are events, not errors (house style 11b).
const (
	// EventMessage: a new message was accepted and is delivered.
	EventMessage EventKind = iota + 1
	// EventDuplicate: a duplicate was dropped (re-acked if it had R; spec 4.12.5.2.2).
	EventDuplicate
	// EventMICFailure: the message did not authenticate; dropped, no state changed.
	EventMICFailure
	// EventUnknownSession: no session matches; dropped.
	EventUnknownSession
	// EventMalformed: the bytes do not decode; dropped. Err holds the cause.
	EventMalformed
	// EventUnsupported: a well-formed message this core does not handle
	// (a group session on a node with no fabric, privacy flag on unicast);
	// dropped.
	EventUnsupported
	// EventUnknownExchange: a message without I for no open exchange;
	// acked if it had R, then dropped (spec 4.10.5.2).
	EventUnknownExchange
	// EventRetransmit: a reliable message was sent again (Attempt = transmission number).
	EventRetransmit
	// EventGiveUp: MaxTransmissions were made without an ack (spec 4.12.2.1).
	EventGiveUp
	// EventAck: an ack removed a reliable message from the retransmission table.
	EventAck
	// EventSessionOpened: a session entered the table.
	EventSessionOpened
	// EventSessionClosed: a session left the table; Reason says why.
	EventSessionClosed
	// EventCounterExhausted: the session's outbound counter ran out (spec 4.5.1.1);
	// the session is closed right after.
	EventCounterExhausted
	// EventExchangeClosed: an exchange was released (closed and idle, or its session closed).
	EventExchangeClosed
	// EventUnhandled: an unsolicited message (I flag, no open exchange) that
	// no registration accepts (Manager.RegisterUnsolicited); acked if it had
	// R, then dropped. No exchange or session is created for it
	// (connectedhomeip ExchangeMgr.cpp OnMessageReceived).
	EventUnhandled
	// EventTableFull: a message that would open an unsecured session or a
	// responder exchange found no room (every unsecured session in use, or
	// Config.MaxExchanges reached); dropped without an ack, as the SDK
	// drops it (SessionManager.cpp "UnauthenticatedSession exhausted",
	// ExchangeMgr.cpp exchange pool exhausted).
	EventTableFull

	// Group messaging and message counter synchronization (groups.go,
	// mcsp.go). Event.Group holds the details.

	// EventGroupMessage: a group message was accepted and is delivered
	// (Verdict; spec 4.17, 4.18.4), including a queued one released by a
	// synchronization.
	EventGroupMessage
	// EventGroupDuplicate: a group message the reception window rejected
	// (Verdict Duplicate or BehindWindow); dropped silently (no acks on groups).
	EventGroupDuplicate
	// EventGroupRejected: a group-session datagram dropped before the
	// window (Group.Reason: no key, authentication, not a member, shape,
	// R or A on a data message, peer table full, ...). No state changed.
	EventGroupRejected
	// EventGroupPeerEvicted: the group peer table recycled an entry to make
	// room (Config.Group.PeerEviction); Group names the evicted peer.
	EventGroupPeerEvicted
	// EventMCSPTriggered: a message from an unsynchronized sender under
	// cache-and-sync started a synchronization attempt (spec 4.18.4).
	EventMCSPTriggered
	// EventMCSPQueued: a message was queued until the sender is synchronized.
	EventMCSPQueued
	// EventMCSPQueueOverflow: the queue was full; Group.Reason says which
	// message the drop rule dropped (Config.Group.SyncQueueDrop).
	EventMCSPQueueOverflow
	// EventMCSPRequestSent: a MsgCounterSyncReq was sent; Group.Jitter is
	// the delay drawn before it (spec 4.18.5).
	EventMCSPRequestSent
	// EventMCSPRetransmit: MRP sent a MsgCounterSyncReq or MsgCounterSyncRsp
	// again (Attempt = transmission number).
	EventMCSPRetransmit
	// EventMCSPGiveUp: MRP stopped retransmitting an MCSP message.
	EventMCSPGiveUp
	// EventMCSPSynced: a valid MsgCounterSyncRsp synchronized the sender;
	// Group.Latency runs from the trigger, Group.RTT from the request.
	EventMCSPSynced
	// EventMCSPReleased: a queued message left the queue, accepted
	// (Verdict accepted, followed by EventGroupMessage) or dropped
	// (Group.Reason: by the window, or the attempt timed out).
	EventMCSPReleased
	// EventMCSPTimeout: no valid response within MSG_COUNTER_SYNC_TIMEOUT;
	// the attempt ended and its queue was discarded (Group.Queued messages).
	EventMCSPTimeout
	// EventMCSPRejected: an MCSP message was rejected (Group.Reason: wrong
	// challenge, exchange or node, unsolicited, duplicate or replayed,
	// zero counter, malformed).
	EventMCSPRejected
	// EventMCSPResponded: we answered a MsgCounterSyncReq with our group
	// data counter (Group.SyncCounter).
	EventMCSPResponded
	// EventMCSPRateLimited: a MsgCounterSyncReq came sooner than
	// Config.Group.ResponseInterval after our last response to that
	// requester; dropped unacknowledged so its retransmission can be answered.
	EventMCSPRateLimited

	// EventStandaloneAck: a standalone ack (spec 4.12.5.2) was received and
	// taken as new by the reception window (Verdict, Counter). It follows
	// the EventAck it caused, if it cleared a retransmission; an ack that
	// matches nothing produces only this event. It exists so that every
	// authenticated message the window classifies is reported once (see
	// Event.Verdict).
	EventStandaloneAck
	// EventSessionDefunct: MRP gave up on a message of a CASE session, so
	// the session is marked defunct (connectedhomeip
	// ReliableMessageMgr::ExecuteActions → SecureSession::MarkAsDefunct):
	// FindSession no longer returns it and it is the first candidate for
	// eviction after the fabric and peer counts. It stays usable by
	// holders of its Ref.
	EventSessionDefunct
	// EventSessionActive: an authenticated message arrived on a defunct
	// session, which is active again (SecureSession::MarkActiveRx).
	EventSessionActive
)

var eventNames = [...]string{
	EventMessage:          "message",
	EventDuplicate:        "duplicate",
	EventMICFailure:       "mic-failure",
	EventUnknownSession:   "unknown-session",
	EventMalformed:        "malformed",
	EventUnsupported:      "unsupported",
	EventUnknownExchange:  "unknown-exchange",
	EventRetransmit:       "retransmit",
	EventGiveUp:           "give-up",
	EventAck:              "ack",
	EventSessionOpened:    "session-opened",
	EventSessionClosed:    "session-closed",
	EventCounterExhausted: "counter-exhausted",
	EventExchangeClosed:   "exchange-closed",
	EventUnhandled:        "unhandled",
	EventTableFull:        "table-full",

	EventGroupMessage:      "group-message",
	EventGroupDuplicate:    "group-duplicate",
	EventGroupRejected:     "group-rejected",
	EventGroupPeerEvicted:  "group-peer-evicted",
	EventMCSPTriggered:     "mcsp-triggered",
	EventMCSPQueued:        "mcsp-queued",
	EventMCSPQueueOverflow: "mcsp-queue-overflow",
	EventMCSPRequestSent:   "mcsp-request-sent",
	EventMCSPRetransmit:    "mcsp-retransmit",
	EventMCSPGiveUp:        "mcsp-give-up",
	EventMCSPSynced:        "mcsp-synced",
	EventMCSPReleased:      "mcsp-released",
	EventMCSPTimeout:       "mcsp-timeout",
	EventMCSPRejected:      "mcsp-rejected",
	EventMCSPResponded:     "mcsp-responded",
	EventMCSPRateLimited:   "mcsp-rate-limited",

	EventStandaloneAck:  "standalone-ack",
	EventSessionDefunct: "session-defunct",
	EventSessionActive:  "session-active",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// CloseReason says why a session was closed.
type CloseReason uint8

// Close reasons.
const (
	ClosedByApp     CloseReason = iota + 1 // CloseSession was called; CloseSession status sent
	ClosedByPeer                           // the peer sent CloseSession (spec 4.11.1.4)
	ClosedEvicted                          // evicted to make room (spec 4.13.2.1 eviction)
	ClosedExhausted                        // outbound counter exhausted (spec 4.5.1.1)
	ClosedRemoved                          // RemoveSession: dropped silently
)

func (r CloseReason) String() string {
	switch r {
	case ClosedByApp:
		return "closed"
	case ClosedByPeer:
		return "peer-closed"
	case ClosedEvicted:
		return "evicted"
	case ClosedExhausted:
		return "counter-exhausted"
	case ClosedRemoved:
		return "removed"
	}
	return fmt.Sprintf("CloseReason(%d)", uint8(r))
}

// Event is a typed notification from the core. Which fields are set depends
// on Kind; unset fields are zero. Event is a plain value.
//
// Payload aliases a buffer the Manager reuses: it is valid until the first
// input call (HandleDatagram, HandleTimeout, or a sending method) made after
// Poll has returned false. Copy it to keep it.
//
// For EventUnhandled and EventTableFull on an unsecured session, Session
// names the session the message belongs to, which need not be in the
// table (no state is kept for such messages).
type Event struct {
	Kind     EventKind
	Session  Ref
	Exchange Exchange       // message, duplicate, ack, retransmit, give-up, exchange events
	From     netip.AddrPort // received-message events: the datagram's source
	Counter  uint32         // message counter of the message concerned
	Protocol message.ProtocolID
	Vendor   uint16
	Opcode   uint8
	Reliable bool // the received message had R
	// Verdict is the reception window's classification of Counter (spec
	// 4.6.5-4.6.7): a duplicate event carries Duplicate or BehindWindow,
	// the SDK treating both alike. Every received message that passed
	// authentication and reached the window yields exactly one event with
	// a Verdict: message, duplicate, unknown-exchange, unhandled,
	// table-full (responder exchange refused), standalone-ack, or the
	// session-closed event of a CloseSession (reason peer-closed). Other
	// events leave it Invalid (zero).
	Verdict counter.Verdict
	Payload []byte
	// Attempt: retransmit and give-up events, transmissions made so far;
	// ack events, transmissions the acknowledged message took (1: acked
	// without a retransmission).
	Attempt int

	Reason CloseReason // session-closed
	Err    error       // malformed/mic-failure: the cause (e.g. *message.DecodeError)
	// Group holds the details of group and MCSP events (groups.go).
	Group GroupEvent
}

// String formats e on one line for traces, e.g.
// "message s1/x7r ctr=0x10 proto=0x1 op=0x2 len=64 R".
func (e Event) String() string {
	if s, ok := e.groupString(); ok {
		return s
	}
	var b strings.Builder
	b.WriteString(e.Kind.String())
	switch e.Kind {
	case EventMessage, EventDuplicate, EventUnknownExchange, EventUnhandled:
		fmt.Fprintf(&b, " %s ctr=%#x proto=%#x op=%#x len=%d", e.Exchange, e.Counter, uint16(e.Protocol), e.Opcode, len(e.Payload))
		if e.Reliable {
			b.WriteString(" R")
		}
	case EventAck, EventStandaloneAck:
		fmt.Fprintf(&b, " %s ctr=%#x", e.Exchange, e.Counter)
	case EventRetransmit, EventGiveUp:
		fmt.Fprintf(&b, " %s ctr=%#x attempt=%d", e.Exchange, e.Counter, e.Attempt)
	case EventExchangeClosed:
		fmt.Fprintf(&b, " %s", e.Exchange)
	case EventSessionOpened, EventCounterExhausted, EventSessionDefunct, EventSessionActive:
		fmt.Fprintf(&b, " %s", e.Session)
	case EventSessionClosed:
		fmt.Fprintf(&b, " %s reason=%s", e.Session, e.Reason)
	case EventMICFailure, EventUnknownSession, EventUnsupported, EventTableFull:
		if e.Session != (Ref{}) {
			fmt.Fprintf(&b, " %s", e.Session)
		}
		fmt.Fprintf(&b, " from=%s ctr=%#x", e.From, e.Counter)
		if e.Err != nil {
			fmt.Fprintf(&b, " err=%q", e.Err.Error())
		}
	case EventMalformed:
		fmt.Fprintf(&b, " from=%s", e.From)
		if e.Err != nil {
			fmt.Fprintf(&b, " err=%q", e.Err.Error())
		}
	}
	return b.String()
}

// Output is one item drained by Poll: either a datagram to send (IsDatagram)
// or an event.
//
// Data aliases memory the Manager owns and never writes again once emitted
// (retransmissions re-emit the same stored bytes; standalone acks live in a
// buffer reused after the queue is drained). The driver must not modify Data,
// and must copy it if it keeps it past the next input call made after Poll
// returned false.
type Output struct {
	To   netip.AddrPort // datagram destination; the zero value for events
	Data []byte
	// StandaloneAck marks a datagram that is a standalone acknowledgement
	// (spec 4.12.5.2), for drivers that count them; the bytes alone do not
	// say so once encrypted.
	StandaloneAck bool
	Event         Event
}

// IsDatagram reports whether o is a datagram to send rather than an event.
func (o Output) IsDatagram() bool { return o.Event.Kind == 0 }

// String formats o for traces.
func (o Output) String() string {
	if o.IsDatagram() {
		return fmt.Sprintf("send to=%s len=%d", o.To, len(o.Data))
	}
	return o.Event.String()
}
