package commissionee

import (
	"cmp"
	"slices"
	"strings"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// The device's IM exchanges beyond one request and one answer: chunked
// read reports and Timed interactions (im.Exchange, one per exchange) and
// subscriptions (im.SubscriptionEngine). The engine knows subscribers by
// an opaque peer id; here it is the local id of the secure session, and
// every exchange that waits for a subscriber's StatusResponse is mapped to
// its subscription.

// subPeer is the engine's peer id of a secure session.
func subPeer(ref session.Ref) uint64 { return uint64(ref.LocalID) }

func (d *Device) subscribe(m *session.Manager, now clock.Time, ev session.Event) {
	var req im.SubscribeRequest
	if im.DecodeSubscribeRequest(ev.Payload, &req) == nil {
		paths := make([]string, len(req.AttributeRequests))
		for i, p := range req.AttributeRequests {
			paths[i] = p.String()
		}
		d.logf("subscribe %s (intervals %d..%d s) from %s on %s", strings.Join(paths, ","),
			req.MinIntervalFloor, req.MaxIntervalCeiling, ev.From, ev.Session)
		d.light.Node.Accessor.FabricFiltered = req.IsFabricFiltered
	}
	d.subRefs[subPeer(ev.Session)] = ev.Session
	d.subs.HandleSubscribeRequest(now, subPeer(ev.Session), ev.Payload)
	d.light.Node.Accessor.FabricFiltered = false
	d.drainSubs(m, now, ev.Exchange)
}

// drainSubs carries the engine's outputs: answers on cur (the exchange of
// the message just handled), reports on new exchanges.
func (d *Device) drainSubs(m *session.Manager, now clock.Time, cur session.Exchange) {
	for {
		o, ok := d.subs.Poll()
		if !ok {
			return
		}
		switch o.Kind {
		case im.SubSend:
			x := cur
			if o.NewExchange {
				ref, ok := d.subRefs[o.Peer]
				if !ok {
					d.subs.Terminate(o.Subscription)
					continue
				}
				var err error
				if x, err = m.NewExchange(ref); err != nil {
					d.logf("subscription %d: opening an exchange: %v", o.Subscription, err)
					d.subs.HandleExchangeFailed(now, o.Subscription)
					continue
				}
			}
			if err := m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel,
				Opcode: uint8(o.Opcode), Payload: o.Payload, Reliable: true}); err != nil {
				d.logf("subscription %d: sending %s: %v", o.Subscription, o.Opcode, err)
			}
			if o.ExpectResponse {
				d.subX[x] = o.Subscription
			} else {
				delete(d.subX, x)
				_ = m.CloseExchange(now, x)
			}
		case im.SubEstablished:
			for _, s := range d.subs.Subscriptions() {
				if s.ID == o.Subscription {
					d.logf("subscription %d established on %s (max interval %v)", s.ID, d.subRefs[o.Peer], s.MaxInterval)
				}
			}
		case im.SubTerminated:
			d.logf("subscription %d ended (%s)", o.Subscription, o.Status)
			// In exchange order, not map order: closing sends pending
			// acks, and a simulated run must be a function of its seed.
			var xs []session.Exchange
			for x, id := range d.subX {
				if id == o.Subscription {
					xs = append(xs, x)
				}
			}
			slices.SortFunc(xs, compareExchanges)
			for _, x := range xs {
				delete(d.subX, x)
				_ = m.CloseExchange(now, x)
			}
		}
	}
}

// subResponse handles a subscriber's StatusResponse on a report exchange.
func (d *Device) subResponse(m *session.Manager, now clock.Time, ev session.Event, id uint32) {
	delete(d.subX, ev.Exchange)
	if im.Opcode(ev.Opcode) != im.OpStatusResponse {
		_ = m.CloseExchange(now, ev.Exchange)
		d.subs.HandleExchangeFailed(now, id)
		d.drainSubs(m, now, ev.Exchange)
		return
	}
	d.subs.HandleStatusResponse(now, id, ev.Payload)
	d.drainSubs(m, now, ev.Exchange)
	if _, open := d.subX[ev.Exchange]; !open {
		_ = m.CloseExchange(now, ev.Exchange)
	}
}

// subGiveUp ends the subscription whose report exchange gave up.
func (d *Device) subGiveUp(m *session.Manager, now clock.Time, x session.Exchange) bool {
	id, ok := d.subX[x]
	if !ok {
		return false
	}
	delete(d.subX, x)
	d.subs.HandleExchangeFailed(now, id)
	d.drainSubs(m, now, session.Exchange{})
	return true
}

// subSessionClosed ends the subscriptions of a closed session.
func (d *Device) subSessionClosed(m *session.Manager, now clock.Time, ref session.Ref) {
	peer := subPeer(ref)
	if _, ok := d.subRefs[peer]; !ok {
		return
	}
	delete(d.subRefs, peer)
	for _, s := range d.subs.Subscriptions() {
		if s.Peer == peer {
			d.subs.Terminate(s.ID)
		}
	}
	d.drainSubs(m, now, session.Exchange{})
}

// compareExchanges orders exchanges by session, exchange id and role.
func compareExchanges(a, b session.Exchange) int {
	if c := cmp.Compare(a.Session.LocalID, b.Session.LocalID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	switch {
	case a.Initiator == b.Initiator:
		return 0
	case a.Initiator:
		return 1
	}
	return -1
}
