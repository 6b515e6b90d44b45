package pairing

import (
	"mattersim/clock"
	"mattersim/session"
)

// ClosingExchanges are handshake exchanges being closed on unsecured
// sessions, each with its session. A responder ending a handshake cannot
// remove the unsecured session at once: its last reliable message (the
// final StatusReport, a BUSY report) still needs its ack and, if lost, its
// retransmissions on that session. So the exchange is closed and its
// session removed when the Manager reports the exchange released. The PASE
// Responder and the commissionee's CASE server both work this way; this
// type keeps the bookkeeping in one place. Make it with make; it is only
// looked up, never iterated.
type ClosingExchanges map[session.Exchange]session.Ref

// Close closes x and remembers its session for Released. If the Manager
// refuses (the exchange is already gone), no release will be reported, so
// x's session is removed now, unless inUse reports that it carries the
// handshake in progress (nil inUse: none does).
func (c ClosingExchanges) Close(now clock.Time, m *session.Manager, x session.Exchange, inUse func(session.Ref) bool) {
	c[x] = x.Session
	if err := m.CloseExchange(now, x); err != nil {
		delete(c, x)
		if inUse == nil || !inUse(x.Session) {
			_ = m.RemoveSession(now, x.Session)
		}
	}
}

// Released handles an EventExchangeClosed for x: if x is one of c, it is
// forgotten and its session removed unless inUse reports that the session
// carries the handshake in progress (never pull a session from under a
// handshake), and Released reports true: the event was ours.
func (c ClosingExchanges) Released(now clock.Time, m *session.Manager, x session.Exchange, inUse func(session.Ref) bool) bool {
	ref, ok := c[x]
	if !ok {
		return false
	}
	delete(c, x)
	if !inUse(ref) {
		_ = m.RemoveSession(now, ref)
	}
	return true
}

// Has reports whether x is being closed: its late events (a give-up, an
// ack) belong to the handshake's owner.
func (c ClosingExchanges) Has(x session.Exchange) bool {
	_, ok := c[x]
	return ok
}
