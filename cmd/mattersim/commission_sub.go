package main

import (
	"context"
	"fmt"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/udp"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/mrp"
)

// subHandler drives one im.SubscriptionClient on a secure session: it
// sends what the client asks (the SubscribeRequest on a new exchange, the
// StatusResponses on the exchange of the report they answer), feeds it the
// publisher's messages, the setup exchange's and every report exchange the
// device opens, and closes those exchanges when done.
type subHandler struct {
	c           *im.SubscriptionClient
	ref         session.Ref
	setup       session.Exchange
	hasSetup    bool
	established bool
	maxInterval uint16
	reports     []*im.ReportData
	err         error
}

func (s *subHandler) handle(m *session.Manager, now clock.Time, ev session.Event) bool {
	if ev.Session != s.ref {
		return false
	}
	ours := s.hasSetup && ev.Exchange == s.setup
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolInteractionModel {
			return false
		}
		op := im.Opcode(ev.Opcode)
		if !ours && (ev.Exchange.Initiator || op != im.OpReportData) {
			return false
		}
		s.c.HandleMessage(now, op, ev.Payload)
		s.flush(m, now, ev.Exchange)
		if !ours {
			_ = m.CloseExchange(now, ev.Exchange) // a report the device sent on its own exchange
		}
		return true
	case session.EventGiveUp:
		if ours {
			s.c.HandleExchangeFailed(now, nil)
			s.flush(m, now, ev.Exchange)
			return true
		}
	}
	return false
}

// flush carries out the client's outputs; x is the exchange of the message
// just handled.
func (s *subHandler) flush(m *session.Manager, now clock.Time, x session.Exchange) {
	for {
		o, ok := s.c.Poll()
		if !ok {
			return
		}
		switch o.Kind {
		case im.ClientSend:
			if o.NewExchange {
				nx, err := m.NewExchange(s.ref)
				if err != nil {
					s.err = err
					continue
				}
				s.setup, s.hasSetup, x = nx, true, nx
			}
			if err := m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel,
				Opcode: uint8(o.Opcode), Payload: o.Payload, Reliable: true}); err != nil && s.err == nil {
				s.err = fmt.Errorf("sending %s: %w", o.Opcode, err)
			}
		case im.ClientEstablished:
			s.established, s.maxInterval = true, uint16(o.MaxInterval.Seconds())
			_ = m.CloseExchange(now, s.setup)
		case im.ClientReport:
			s.reports = append(s.reports, o.Report)
		case im.ClientLost:
			s.err = o.Err
			if s.hasSetup {
				_ = m.CloseExchange(now, s.setup)
			}
		}
	}
}

var onOffPath = im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)

// lastOnOff returns the OnOff value of the latest report.
func (s *subHandler) lastOnOff() (bool, error) {
	v, err := s.reports[len(s.reports)-1].Value(onOffPath)
	if err != nil {
		return false, err
	}
	return v.Bool()
}

// subscribeOnOff subscribes to On/Off OnOff on endpoint 1 over the CASE
// session ref (min interval 0, max 10 s), waits for the priming report and
// the SubscribeResponse, then toggles the light twice (leaving it as it
// was) and waits for the report each toggle causes. It returns the OnOff
// values reported: priming, after the first and after the second Toggle.
func subscribeOnOff(ctx context.Context, node *udp.Node, h *multiHandler, ref session.Ref, peer mrp.Intervals,
	log func(string, ...any)) (uint32, []bool, error) {
	s := &subHandler{ref: ref}
	_ = node.Do(func(m *session.Manager, now clock.Time) {
		s.c = &im.SubscriptionClient{Request: *im.NewSubscribeRequest(0, 10, onOffPath),
			Local: m.Config().Local, Peer: peer, NoResubscribe: true}
		s.c.Start(now)
		s.flush(m, now, session.Exchange{})
	})
	h.sub = s
	defer func() { h.sub = nil }()
	if err := drive(ctx, node, h, func() bool { return s.established || s.err != nil }); err != nil {
		return 0, nil, fmt.Errorf("subscribing: %w", err)
	}
	if s.err != nil {
		return 0, nil, fmt.Errorf("subscribing to %s: %w", onOffPath, s.err)
	}
	if len(s.reports) == 0 {
		return 0, nil, fmt.Errorf("subscription %d established without a priming report", s.c.SubscriptionID())
	}
	on, err := s.lastOnOff()
	if err != nil {
		return 0, nil, fmt.Errorf("priming report: %w", err)
	}
	values := []bool{on}
	log("subscribed to %s on the CASE session (subscription 0x%08X, max interval %d s): priming report OnOff=%v",
		onOffPath, s.c.SubscriptionID(), s.maxInterval, on)
	for i := 0; i < 2; i++ {
		n := len(s.reports)
		toggle := im.AppendInvokeRequest(nil, im.NewInvokeRequest(im.CommandPath{Endpoint: 1, Cluster: im.ClusterOnOff, Command: im.OnOffCmdToggle}, nil))
		op, payload, err := exchange(ctx, node, h, ref, im.OpInvokeRequest, toggle)
		if err == nil {
			var ir *im.InvokeResponse
			if ir, err = im.ParseInvokeResponse(op, payload); err == nil {
				err = ir.Result(0)
			}
		}
		if err != nil {
			return 0, nil, fmt.Errorf("Toggle: %w", err)
		}
		var start clock.Time
		_ = node.Do(func(_ *session.Manager, now clock.Time) { start = now })
		if err := drive(ctx, node, h, func() bool { return len(s.reports) > n || s.err != nil }); err != nil {
			return 0, nil, fmt.Errorf("waiting for the report after Toggle: %w", err)
		}
		if s.err != nil {
			return 0, nil, fmt.Errorf("subscription lost: %w", s.err)
		}
		on, err := s.lastOnOff()
		if err != nil {
			return 0, nil, fmt.Errorf("report after Toggle: %w", err)
		}
		var took clock.Time
		_ = node.Do(func(_ *session.Manager, now clock.Time) { took = now })
		values = append(values, on)
		log("Toggle → report on subscription 0x%08X: OnOff=%v (%d ms after the InvokeResponse)", s.c.SubscriptionID(), on, took.Sub(start).Milliseconds())
	}
	s.c.Stop()
	return s.c.SubscriptionID(), values, nil
}
