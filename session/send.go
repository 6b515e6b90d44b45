package session

import (
	"slices"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/session/security"
)

// NewExchange opens an exchange on session r with us as initiator. Exchange
// ids start at a random value and increment (spec 4.10.2; connectedhomeip
// ExchangeMgr), skipping ids still in use on the session.
func (m *Manager) NewExchange(r Ref) (Exchange, error) {
	s := m.lookup(r)
	if s == nil {
		return Exchange{}, ErrNoSession
	}
	x := m.openInitiator(s)
	return x.ref(), nil
}

func (m *Manager) openInitiator(s *sess) *exchange {
	for {
		id := m.nextExch
		m.nextExch++
		key := exKey{id: id, initiator: true}
		if _, busy := s.exchanges[key]; !busy {
			return m.newExchange(s, key)
		}
	}
}

func (m *Manager) exchange(e Exchange) (*exchange, error) {
	s := m.lookup(e.Session)
	if s == nil {
		return nil, ErrNoSession
	}
	x := s.exchanges[exKey{id: e.ID, initiator: e.Initiator}]
	if x == nil {
		return nil, ErrNoExchange
	}
	if x.closing {
		return nil, ErrExchangeClosed
	}
	return x, nil
}

// Send sends msg on exchange e at time now. A pending ack on the exchange is
// piggybacked (spec 4.12.5.2.1). A reliable message is kept, sealed, for
// retransmission until it is acked or MaxTransmissions is reached; only one
// may be outstanding per exchange (ErrBusy). Errors: ErrNoSession,
// ErrNoExchange, ErrExchangeClosed, ErrBusy, ErrTooLarge, and ErrExhausted
// (the session was closed because its counter ran out, spec 4.5.1.1).
func (m *Manager) Send(now clock.Time, e Exchange, msg Message) error {
	m.begin()
	x, err := m.exchange(e)
	if err != nil {
		return err
	}
	if msg.Reliable && x.rtx.valid {
		return ErrBusy
	}
	return m.transmit(now, x, msg)
}

// transmit encodes, seals and emits one message on x.
func (m *Manager) transmit(now clock.Time, x *exchange, msg Message) error {
	s := x.s
	ph := message.ProtocolHeader{Opcode: msg.Opcode, ExchangeID: x.key.id, ProtocolID: msg.Protocol, VendorID: msg.Vendor}
	if x.key.initiator {
		ph.Flags |= message.InitiatorFlag
	}
	if msg.Vendor != 0 {
		ph.Flags |= message.VendorFlag
	}
	if msg.Reliable {
		ph.Flags |= message.ReliableFlag
	}
	if x.ackValid {
		// Piggybacked on every message once valid, even after the
		// standalone ack went out (connectedhomeip
		// ExchangeMessageDispatch::SendMessage, HasPiggybackAckPending).
		ph.Flags |= message.AckFlag
		ph.AckCounter = x.ackCounter
	}
	h := message.Header{}
	if s.ref.Secure() {
		h.SessionID = message.SessionID(s.peerID)
	} else if s.ref.Initiator {
		h.HasSource, h.Source = true, s.ref.Ephemeral
	} else {
		h.DestKind, h.DestNode = message.DestinationNode, s.ref.Ephemeral
	}
	size := h.Len() + ph.Len() + len(msg.Payload)
	if s.ref.Secure() {
		size += security.MICSize
	}
	if size > message.MaxUDPPayload {
		return ErrTooLarge
	}
	// Counter last, after every check that could refuse the message.
	if s.ref.Secure() {
		c, err := s.ctr.Next()
		if err != nil { // counter.ErrExhausted, the only error
			m.emit(Event{Kind: EventCounterExhausted, Session: s.ref})
			m.closeSession(now, s, ClosedExhausted, false)
			return ErrExhausted
		}
		h.Counter = c
	} else {
		h.Counter = m.unenc.Next()
	}
	x.ackPending = false
	var buf []byte
	if msg.Reliable {
		buf = make([]byte, 0, size) // kept for retransmission; never reused
	} else {
		start := len(m.arena)
		m.arena = slices.Grow(m.arena, size)
		buf = m.arena[start:start:cap(m.arena)]
	}
	buf = h.Append(buf)
	hl := len(buf)
	buf = ph.Append(buf)
	buf = append(buf, msg.Payload...)
	if s.ref.Secure() {
		buf = security.SealInPlace(s.enc, buf, hl, s.encNode)
	}
	buf = buf[:len(buf):len(buf)]
	if !msg.Reliable {
		m.arena = m.arena[:len(m.arena)+len(buf)]
	}
	m.emitDatagram(s.peer, buf)
	if msg.Protocol == message.ProtocolSecureChannel && msg.Opcode == message.OpStandaloneAck {
		m.out[len(m.out)-1].StandaloneAck = true
	}
	s.active = now
	if msg.Reliable {
		x.rtx = retrans{valid: true, data: buf, counter: h.Counter, sent: 1}
		x.rtx.at = now.Add(m.backoff(now, x, 0))
	}
	return nil
}

// flushAck sends x's pending ack now as a standalone ack.
func (m *Manager) flushAck(now clock.Time, x *exchange) {
	if !x.ackPending {
		return
	}
	_ = m.transmit(now, x, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpStandaloneAck})
}

// ackNow sends a standalone ack for counter ctr on exchange key of s, at
// once: for duplicates and for messages no exchange will take (the SDK's
// ephemeral exchange, connectedhomeip ExchangeMgr.cpp). If x holds a
// pending ack for the same counter it is consumed.
func (m *Manager) ackNow(now clock.Time, s *sess, key exKey, ctr uint32, x *exchange) {
	if x != nil && x.ackPending && x.ackCounter == ctr {
		m.flushAck(now, x)
		return
	}
	tmp := exchange{s: s, key: key, ackPending: true, ackValid: true, ackCounter: ctr}
	_ = m.transmit(now, &tmp, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpStandaloneAck})
}

// CloseExchange closes exchange e: a pending ack is flushed as a standalone
// ack now (spec 4.12.5.2.2), and the exchange is released once its
// outstanding reliable message, if any, is acked or given up. Nothing more
// is delivered on it.
func (m *Manager) CloseExchange(now clock.Time, e Exchange) error {
	m.begin()
	x, err := m.exchange(e)
	if err != nil {
		return err
	}
	x.closing = true
	m.flushAck(now, x)
	m.maybeRelease(x)
	return nil
}
