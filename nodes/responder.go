package nodes

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// DeviceModel returns the small data model of a virtual device: an On/Off
// Light (im.NewLight): endpoint 0 with the Descriptor and Basic Information
// clusters (core spec 11.1) naming the device by index, endpoint 1 with
// Descriptor and On/Off (app spec 1.5: Off, On, Toggle). Every DataVersion
// starts at 1, so a run is reproducible.
func DeviceModel(index int) *im.Node {
	return im.NewLight(deviceInfo(index), 1).Node
}

// BasicModel returns the smallest data model of a virtual device: endpoint
// 0 with the Basic Information cluster alone (core spec 11.1), naming the
// device by index as DeviceModel does, DataVersion 1. A read of a Basic
// Information attribute gets the same report from both models.
func BasicModel(index int) *im.Node {
	n := &im.Node{}
	n.AddEndpoint(&im.Endpoint{ID: 0, Clusters: []*im.Cluster{im.NewBasicInformation(deviceInfo(index), 1)}})
	return n
}

func deviceInfo(index int) im.BasicInfo {
	return im.BasicInfo{
		VendorName:      "mattersim",
		VendorID:        0xFFF1, // test vendor id (spec 2.5.2)
		ProductName:     "virtual device",
		ProductID:       0x8000,
		HardwareVersion: 1,
		SoftwareVersion: 1,
		SerialNumber:    "SIM-" + strconv.Itoa(index),
		UniqueID:        "mattersim-" + strconv.Itoa(index),
	}
}

// ResponderStats counts a Responder's work. A plain value.
type ResponderStats struct {
	Requests   uint64 // Interaction Model requests received
	Responses  uint64 // responses sent
	OneWay     uint64 // other application messages received
	Echoes     uint64 // echo requests answered (OpcodeEchoRequest)
	SendErrors uint64
	// GroupCommands counts group InvokeRequests applied (never answered).
	GroupCommands uint64
}

// Add adds o to s.
func (s *ResponderStats) Add(o ResponderStats) {
	s.Requests += o.Requests
	s.Responses += o.Responses
	s.OneWay += o.OneWay
	s.GroupCommands += o.GroupCommands
	s.Echoes += o.Echoes
	s.SendErrors += o.SendErrors
}

// Responder is the device workload: it answers Interaction Model requests
// that open an exchange (spec 4.10.5.2, unsolicited) with the response
// im.Server computes from Model (reads, invokes), sent reliably on the same
// exchange, and then closes the exchange (released once the response is
// acked or given up). On the vendor test protocol (SenderProtocol) it
// answers an OpcodeEchoRequest with an OpcodeEchoResponse of the size the
// request asks for (see OpcodeEchoRequest); other Sender messages are
// counted as one-way and their exchange closed, which sends the pending
// ack at once. It registers both protocols (Unsolicited), so other
// protocols open no exchange. Set Model before the first
// message (nil: an empty node, which answers every read with an
// UNSUPPORTED_ENDPOINT status). Not safe for concurrent use.
type Responder struct {
	Model *im.Node
	// Subs, if set, serves subscriptions on Model and makes the device's
	// local changes (Publisher).
	Subs *Publisher

	stats ResponderStats
	srv   *im.Server
	buf   []byte
}

var (
	_ Workload     = (*Responder)(nil)
	_ Unsoliciting = (*Responder)(nil)
	_ Lifecycle    = (*Responder)(nil)
)

// server returns the im.Server of Model, made on first use.
func (r *Responder) server() *im.Server {
	if r.srv == nil {
		if r.Model == nil {
			r.Model = &im.Node{}
		}
		r.srv = im.NewServer(r.Model)
	}
	return r.srv
}

// Unsolicited registers what a device answers on its secure sessions:
// Interaction Model requests and Sender messages (spec 4.10.5.2).
func (r *Responder) Unsolicited() []session.Unsolicited {
	return []session.Unsolicited{
		{Protocol: message.ProtocolID(im.ProtocolID), AnyOpcode: true, Secure: true},
		{Protocol: SenderProtocol, Vendor: SenderVendor, AnyOpcode: true, Secure: true},
	}
}

// Stats returns the counters.
func (r *Responder) Stats() ResponderStats { return r.stats }

// Start starts Subs; otherwise a responder only answers.
func (r *Responder) Start(now clock.Time, n *Node) {
	if r.Subs != nil {
		r.Subs.start(now, n, r.server())
	}
}

// Stop stops Subs' changes and keep-alives; answers are always given.
func (r *Responder) Stop(clock.Time, *Node) {
	if r.Subs != nil {
		r.Subs.stop()
	}
}

// HandleTimer runs Subs' timers.
func (r *Responder) HandleTimer(now clock.Time, n *Node) {
	if r.Subs != nil {
		r.Subs.handleTimer(now, n, r.server())
	}
}

// Deadline returns Subs' deadline, or clock.Never.
func (r *Responder) Deadline() clock.Time {
	if r.Subs != nil {
		return r.Subs.deadline()
	}
	return clock.Never
}

// PowerOff (Lifecycle): Subs' subscriptions end with the core.
func (r *Responder) PowerOff(clock.Time, *Node) {
	if r.Subs != nil {
		r.Subs.powerOff()
	}
}

// Boot (Lifecycle): nothing to do; Subs gets a fresh engine on first use.
func (r *Responder) Boot(clock.Time, *Node) {}

// HandleEvent answers requests; Subs takes its subscriptions' messages.
func (r *Responder) HandleEvent(now clock.Time, n *Node, ev *session.Event) {
	if r.Subs != nil && r.Subs.handleEvent(now, n, ev, r.server()) {
		return
	}
	if ev.Kind == session.EventGroupMessage {
		r.group(ev)
		return
	}
	if ev.Kind != session.EventMessage || ev.Exchange.Initiator {
		return
	}
	if ev.Protocol == SenderProtocol && ev.Vendor == SenderVendor && ev.Opcode == OpcodeEchoRequest {
		r.echo(now, n, ev)
		return
	}
	if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 {
		// One-way data: close the exchange, which flushes its ack now
		// (spec 4.12.5.2.2) and frees it.
		r.stats.OneWay++
		_ = n.Manager().CloseExchange(now, ev.Exchange)
		return
	}
	r.stats.Requests++
	m := n.Manager()
	op, out, ok := r.server().Handle(r.buf[:0], im.Opcode(ev.Opcode), ev.Payload)
	r.buf = out
	if ok {
		err := m.Send(now, ev.Exchange, session.Message{
			Protocol: message.ProtocolID(im.ProtocolID),
			Opcode:   uint8(op),
			Payload:  out,
			Reliable: true,
		})
		if err != nil {
			r.stats.SendErrors++
		} else {
			r.stats.Responses++
		}
	}
	_ = m.CloseExchange(now, ev.Exchange)
}

// echo answers an echo request with the size it asks for (capped at
// MaxEchoPayload; a request too short to say is answered empty).
func (r *Responder) echo(now clock.Time, n *Node, ev *session.Event) {
	size := 0
	if len(ev.Payload) >= 4 {
		size = int(min(binary.LittleEndian.Uint32(ev.Payload), MaxEchoPayload))
	}
	if cap(r.buf) < size {
		r.buf = make([]byte, size)
	}
	b := r.buf[:size]
	for i := range b {
		b[i] = byte(i)
	}
	m := n.Manager()
	err := m.Send(now, ev.Exchange, session.Message{Protocol: SenderProtocol, Vendor: SenderVendor,
		Opcode: OpcodeEchoResponse, Payload: b, Reliable: true})
	if err != nil {
		r.stats.SendErrors++
	} else {
		r.stats.Echoes++
	}
	_ = m.CloseExchange(now, ev.Exchange)
}

// SenderStats counts a Sender's messages. A plain value.
type SenderStats struct {
	Sent       uint64
	SendErrors uint64
	GaveUp     uint64 // reliable messages never acked
	Acked      uint64 // reliable messages acked
}

// Add adds o to s.
func (s *SenderStats) Add(o SenderStats) {
	s.Sent += o.Sent
	s.SendErrors += o.SendErrors
	s.GaveUp += o.GaveUp
	s.Acked += o.Acked
}

// SenderProtocol is the vendor-specific protocol of test traffic (test
// vendor 0xFFF1, spec 4.4.3: a V-flagged protocol id). Sender's one-way
// messages (OpcodeOneWay) are counted and never answered; an
// OpcodeEchoRequest is answered with an OpcodeEchoResponse (Responder).
const (
	SenderVendor   = 0xFFF1
	SenderProtocol = message.ProtocolID(0x0001)
)

// Opcodes of SenderProtocol.
const (
	// OpcodeOneWay: one-way data (Sender).
	OpcodeOneWay uint8 = 1
	// OpcodeEchoRequest asks for an OpcodeEchoResponse; its first 4 bytes
	// are the response's payload size (little-endian uint32), the rest
	// is filler up to the request size.
	OpcodeEchoRequest uint8 = 2
	// OpcodeEchoResponse answers an echo request on its exchange.
	OpcodeEchoResponse uint8 = 3
)

// MaxEchoPayload is the largest echo request or response payload: what
// fits one message in the IPv6 minimum MTU (message.MaxUDPPayload, 1232
// bytes) after the largest message header (24: flags, session id,
// security flags, counter, source and destination node ids), the
// protocol header with a vendor id and an ack (12) and the MIC (16),
// spec 4.4.
const MaxEchoPayload = message.MaxUDPPayload - 24 - 12 - 16

// Sender is the periodic one-way workload: every Interval (plus a uniform
// [0, Jitter) from Rand) it sends one Size-byte message on a new exchange of
// session Peer and closes the exchange; with Reliable the message asks for
// an ack (MRP, spec 4.12) and the exchange is released when it is acked or
// given up. The zero value with Peer set sends a 32-byte unreliable message
// every 10 s. Not safe for concurrent use.
type Sender struct {
	Peer     session.Ref
	Interval time.Duration
	Jitter   time.Duration
	Rand     *rand.Rand // needed when Jitter > 0
	Size     int
	Reliable bool

	stats   SenderStats
	next    clock.Time
	payload []byte
	mine    map[session.Exchange]struct{} // lookup only
}

var _ Workload = (*Sender)(nil)

// Stats returns the counters.
func (s *Sender) Stats() SenderStats { return s.stats }

func (s *Sender) gap() time.Duration {
	iv := s.Interval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	if s.Jitter > 0 && s.Rand != nil {
		iv += time.Duration(s.Rand.Int64N(int64(s.Jitter)))
	}
	return iv
}

// Start arms the first send one gap after now.
func (s *Sender) Start(now clock.Time, _ *Node) {
	size := s.Size
	if size <= 0 {
		size = 32
	}
	s.payload = make([]byte, size)
	for i := range s.payload {
		s.payload[i] = byte(i)
	}
	s.next = now.Add(s.gap())
}

// Stop cancels further sends.
func (s *Sender) Stop(clock.Time, *Node) { s.next = clock.Never }

// Deadline returns the next send.
func (s *Sender) Deadline() clock.Time { return s.next }

// HandleTimer sends one message and arms the next.
func (s *Sender) HandleTimer(now clock.Time, n *Node) {
	if s.next > now {
		return
	}
	s.next = now.Add(s.gap())
	m := n.Manager()
	ex, err := m.NewExchange(s.Peer)
	if err != nil {
		s.stats.SendErrors++
		return
	}
	err = m.Send(now, ex, session.Message{Protocol: SenderProtocol, Vendor: SenderVendor, Opcode: OpcodeOneWay, Payload: s.payload, Reliable: s.Reliable})
	if err != nil {
		s.stats.SendErrors++
	} else {
		s.stats.Sent++
		if s.Reliable {
			if s.mine == nil {
				s.mine = make(map[session.Exchange]struct{})
			}
			s.mine[ex] = struct{}{}
		}
	}
	_ = m.CloseExchange(now, ex)
}

// HandleEvent counts acks and give-ups of reliable sends.
func (s *Sender) HandleEvent(_ clock.Time, _ *Node, ev *session.Event) {
	if s.mine == nil {
		return
	}
	switch ev.Kind {
	case session.EventAck:
		if _, ok := s.mine[ev.Exchange]; ok {
			s.stats.Acked++
			delete(s.mine, ev.Exchange)
		}
	case session.EventGiveUp:
		if _, ok := s.mine[ev.Exchange]; ok {
			s.stats.GaveUp++
			delete(s.mine, ev.Exchange)
		}
	}
}

// group applies a group message: an InvokeRequest is executed on the
// model and never answered (spec 8.8.2: no response to a group command;
// the message has no exchange to answer on). Anything else is counted as
// one-way data.
func (r *Responder) group(ev *session.Event) {
	if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 || im.Opcode(ev.Opcode) != im.OpInvokeRequest {
		r.stats.OneWay++
		return
	}
	r.stats.GroupCommands++
	_, out, _ := r.server().Handle(r.buf[:0], im.OpInvokeRequest, ev.Payload)
	r.buf = out
}
