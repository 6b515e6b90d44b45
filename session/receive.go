package session

import (
	"net/netip"
	"slices"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/security"
	"mattersim/session/status"
)

// HandleDatagram processes one received datagram (spec 4.7.2, message
// reception): decode the message header, find the session, check the
// reception window, authenticate and decrypt, commit the counter and update
// the peer address only after the MIC verified, then process MRP acks and
// dispatch to an exchange. Bad input of any kind is dropped with a typed
// event and leaves counters, windows and sessions unchanged.
//
// now is the arrival time. b is only read during the call; the Manager keeps
// no reference to it.
func (m *Manager) HandleDatagram(now clock.Time, from netip.AddrPort, b []byte) {
	m.begin()
	h := &m.hdr
	n, err := h.Decode(b)
	if err != nil {
		m.emit(Event{Kind: EventMalformed, From: from, Err: err})
		return
	}
	// Group messages and MCSP (spec 4.17, 4.18) go to groups.go; the SDK
	// drops unicast messages with P set (SessionManager.cpp).
	if h.Flags.SessionType() == message.SessionGroup {
		m.receiveGroup(now, from, b, n)
		return
	}
	if h.Flags.Privacy() {
		m.emit(Event{Kind: EventUnsupported, From: from, Counter: h.Counter})
		return
	}
	if h.IsSecure() {
		m.receiveSecure(now, from, b, n)
	} else {
		m.receiveUnsecured(now, from, b, n)
	}
}

func (m *Manager) receiveSecure(now clock.Time, from netip.AddrPort, b []byte, n int) {
	h := &m.hdr
	ctr := h.Counter
	s := m.secure[uint16(h.SessionID)]
	if s == nil {
		// Unknown and reserved-but-not-installed (half-open) ids alike:
		// no keys, nothing to do (spec 4.13.2.1).
		m.emit(Event{Kind: EventUnknownSession, From: from, Counter: ctr})
		return
	}
	// Window check first (pure), then authenticate; commit only after the
	// MIC verified and the protocol header decoded (spec 4.6.5.2, 4.7.2).
	v := s.win.Verify(ctr)
	start := len(m.arena)
	m.arena = slices.Grow(m.arena, len(b))
	pt, err := security.OpenMessage(m.arena[start:start], s.dec, b, n, s.decNode)
	if err != nil {
		m.emit(Event{Kind: EventMICFailure, Session: s.ref, From: from, Counter: ctr, Err: err})
		return
	}
	ph := &m.ph
	pn, err := ph.Decode(pt)
	if err != nil {
		m.emit(Event{Kind: EventMalformed, Session: s.ref, From: from, Counter: ctr, Err: err})
		return
	}
	m.arena = m.arena[:start+len(pt)]
	if v.Accepted() {
		s.win.Commit(ctr)
		// Only an authenticated, new message may move the peer address
		// (spec 4.13.2.1); a replayed datagram from elsewhere must not.
		s.peer = from
	}
	// Any authenticated message, duplicates included, is peer activity
	// (connectedhomeip SessionManager SecureUnicastMessageDispatch →
	// SecureSession::MarkActiveRx): it picks the MRP interval (spec
	// 4.12.8), refreshes the session's last activity (the eviction order)
	// and returns a defunct session to active.
	m.markActiveRx(now, s)
	m.dispatch(now, s, from, ctr, v, ph, pt[pn:])
}

// markActiveRx records an authenticated reception on secure session s
// (connectedhomeip SecureSession::MarkActiveRx).
func (m *Manager) markActiveRx(now clock.Time, s *sess) {
	s.lastRx, s.heard = now, true
	s.active = now
	if s.defunct {
		s.defunct = false
		m.emit(Event{Kind: EventSessionActive, Session: s.ref})
	}
}

func (m *Manager) receiveUnsecured(now clock.Time, from netip.AddrPort, b []byte, n int) {
	h := &m.hdr
	ctr := h.Counter
	var ref Ref
	switch {
	case h.HasSource && h.DestKind == message.DestinationNone:
		// From the initiator: the source is its ephemeral node id.
		ref = Ref{Peer: from, Ephemeral: h.Source}
	case !h.HasSource && h.DestKind == message.DestinationNode:
		// From the responder: it echoes our ephemeral id as destination.
		ref = Ref{Peer: from, Ephemeral: h.DestNode, Initiator: true}
	default:
		m.emit(Event{Kind: EventUnsupported, From: from, Counter: ctr})
		return
	}
	ph := &m.ph
	pn, err := ph.Decode(b[n:])
	if err != nil {
		m.emit(Event{Kind: EventMalformed, From: from, Counter: ctr, Err: err})
		return
	}
	start := len(m.arena)
	m.arena = append(m.arena, b[n+pn:]...)
	payload := m.arena[start:]
	// Matched by ephemeral id and role only, whatever the address
	// (connectedhomeip UnauthenticatedSessionTable.h FindEntry).
	s := m.unsecured[keyOf(ref)]
	if s == nil {
		if ref.Initiator {
			m.emit(Event{Kind: EventUnknownSession, From: from, Counter: ctr})
			return
		}
		if !m.opensExchange(ph, false) {
			// Nothing would keep state for it (a stray ack, an unhandled
			// protocol): answer, if at all, from a session that is never
			// entered in the table, so unauthenticated bytes cannot fill it.
			tmp := m.transient(ref, from)
			m.dispatch(now, tmp, from, ctr, tmp.win.Verify(ctr), ph, payload)
			return
		}
		if m.inbound >= m.cfg.MaxExchanges {
			m.emit(Event{Kind: EventTableFull, Session: ref, From: from, Counter: ctr})
			return
		}
		if s = m.addUnsecured(now, ref, from); s == nil {
			m.emit(Event{Kind: EventTableFull, Session: ref, From: from, Counter: ctr})
			return
		}
	}
	v := s.win.Verify(ctr)
	if v.Accepted() {
		s.win.Commit(ctr)
		// The session follows the peer's address, on a new message only
		// (connectedhomeip UnauthenticatedMessageDispatch SetPeerAddress).
		s.peer = from
		s.lastRx, s.heard = now, true
		s.active = now
	} else {
		s.lastRx, s.heard = now, true // peer activity only (MarkActiveRx)
	}
	m.dispatch(now, s, from, ctr, v, ph, payload)
}

// opensExchange reports whether a new message with header ph that matches
// no open exchange would open a responder exchange: it has I, is not a
// standalone ack, and a registration accepts it (spec 4.10.5.2).
func (m *Manager) opensExchange(ph *message.ProtocolHeader, secure bool) bool {
	return ph.Flags.Initiator() && !ph.Is(message.ProtocolSecureChannel, message.OpStandaloneAck) &&
		m.accepts(ph, secure)
}

// transient returns an unsecured session value that is not in the table,
// for acking a message no session will hold.
func (m *Manager) transient(r Ref, from netip.AddrPort) *sess {
	return &sess{ref: r, kind: Unsecured, peer: from, peerIv: mrp.Intervals{}.Normalize(),
		win: m.newWindow(counter.PolicyUnencrypted)}
}

// dispatch runs MRP ack processing and exchange dispatch for an accepted or
// duplicate message (spec 4.10.5, 4.12.5); v is the window's verdict, and
// any verdict that is not Accepted is a duplicate (spec 4.6.7).
func (m *Manager) dispatch(now clock.Time, s *sess, from netip.AddrPort, ctr uint32, v counter.Verdict, ph *message.ProtocolHeader, payload []byte) {
	dup := !v.Accepted()
	key := exKey{id: ph.ExchangeID, initiator: !ph.Flags.Initiator()}
	x := s.exchanges[key]
	reliable := ph.Flags.Reliable()
	ev := Event{
		Session:  s.ref,
		Exchange: Exchange{Session: s.ref, ID: key.id, Initiator: key.initiator},
		From:     from,
		Counter:  ctr,
		Protocol: ph.ProtocolID,
		Vendor:   ph.VendorID,
		Opcode:   ph.Opcode,
		Reliable: reliable,
		Verdict:  v,
		Payload:  payload,
	}
	if dup {
		// Never delivered twice, and its ack field is not processed (a
		// replay must not clear a retransmission; connectedhomeip
		// ExchangeContext::HandleMessage). Re-acked at once if it asked
		// for an ack, since the peer evidently missed our ack (spec
		// 4.12.5.2.2).
		ev.Kind = EventDuplicate
		m.emit(ev)
		if reliable {
			m.ackNow(now, s, key, ctr, x)
		}
		return
	}
	// A piggybacked or standalone ack removes the matching retransmission
	// entry; an unmatched ack is ignored and the message still processed
	// (spec 4.12.5.1; connectedhomeip CheckAndRemRetransTable).
	if ph.Flags.Ack() && x != nil && x.rtx.valid && x.rtx.counter == ph.AckCounter {
		sent := x.rtx.sent
		x.rtx = retrans{}
		m.emit(Event{Kind: EventAck, Session: s.ref, Exchange: x.ref(), Counter: ph.AckCounter, Attempt: sent})
		defer m.maybeRelease(x)
	}
	standalone := ph.Is(message.ProtocolSecureChannel, message.OpStandaloneAck)
	secure := s.ref.Secure()
	if x == nil && secure && ph.Flags.Initiator() && ph.Is(message.ProtocolSecureChannel, message.OpStatusReport) && isCloseSession(payload) {
		// CloseSession on a new exchange (spec 4.11.1.4), the core's own
		// unsolicited handler: ack if asked, then tear down without
		// replying over the session.
		if reliable {
			m.ackNow(now, s, key, ctr, nil)
		}
		m.closeByPeer(now, s, v)
		return
	}
	if x == nil || x.closing {
		switch {
		case x == nil && m.opensExchange(ph, secure):
			if m.inbound >= m.cfg.MaxExchanges {
				ev.Kind = EventTableFull // no ack: no room (ExchangeMgr.cpp)
				m.emit(ev)
				return
			}
			x = m.newExchange(s, key) // unsolicited: we are the responder (spec 4.10.5.2)
		case x == nil && ph.Flags.Initiator() && !standalone:
			if reliable {
				m.ackNow(now, s, key, ctr, nil)
			}
			ev.Kind = EventUnhandled
			m.emit(ev)
			return
		default:
			if reliable {
				m.ackNow(now, s, key, ctr, x)
			}
			ev.Kind = EventUnknownExchange
			if standalone {
				ev.Kind = EventStandaloneAck
				ev.Payload = nil
			}
			m.emit(ev)
			return
		}
	}
	if reliable {
		// One pending ack per exchange: flush an older one first
		// (connectedhomeip ReliableMessageContext::HandleNeedsAckInner).
		if x.ackPending && x.ackCounter != ctr {
			m.flushAck(now, x)
			if x.removed { // the flush exhausted the counter and closed the session
				return
			}
		}
		x.ackPending = true
		x.ackValid = true
		x.ackCounter = ctr
		x.ackAt = now.Add(m.cfg.MRP.StandaloneAckTimeout)
	}
	if standalone {
		ev.Kind, ev.Payload = EventStandaloneAck, nil
		m.emit(ev)
		return
	}
	if secure && ph.Is(message.ProtocolSecureChannel, message.OpStatusReport) && isCloseSession(payload) {
		// CloseSession on an open exchange: ack if asked, then tear down.
		if x.ackPending {
			m.flushAck(now, x)
		}
		m.closeByPeer(now, s, v)
		return
	}
	// A new application message: from now on this exchange's
	// retransmissions use the peer's active interval (connectedhomeip
	// ExchangeContext::HandleMessage sets kFlagReceivedAtLeastOneMessage
	// after the standalone-ack and duplicate exits).
	x.received = true
	ev.Kind = EventMessage
	m.emit(ev)
}

// closeByPeer tears s down for a CloseSession the peer sent (spec
// 4.11.1.4); the session-closed event carries the message's window verdict
// v (see Event.Verdict).
func (m *Manager) closeByPeer(now clock.Time, s *sess, v counter.Verdict) {
	n := len(m.out)
	m.closeSession(now, s, ClosedByPeer, false)
	for i := len(m.out) - 1; i >= n; i-- {
		if e := &m.out[i].Event; e.Kind == EventSessionClosed && e.Session == s.ref {
			e.Verdict = v
			break
		}
	}
}

// isCloseSession reports whether a Secure Channel StatusReport payload is
// CloseSession (spec 4.11.1.4); a payload that does not decode is not.
func isCloseSession(payload []byte) bool {
	r, err := status.Decode(payload)
	return err == nil && r.IsCloseSession()
}
