package im

import (
	"time"

	"mattersim/clock"
)

// SubscriptionEngine is the publisher side of the Subscribe interaction
// (spec 8.5): it accepts SubscribeRequests, sends the priming report
// (chunked, each chunk answered by the subscriber's StatusResponse), then
// the SubscribeResponse, and afterwards reports changed attributes no
// sooner than the negotiated minimum interval after the previous report and
// an empty keep-alive report exactly at the maximum interval when nothing
// changed. It plays the part of connectedhomeip's ReadHandler and
// reporting Engine (src/app/ReadHandler.cpp, src/app/reporting/Engine.cpp,
// ReportSchedulerImpl).
//
// The engine is sans-I/O: every input carries now, outputs are drained with
// Poll, and NextDeadline says when HandleTimeout is next due. It knows
// nothing of exchanges: each output names its subscription and says
// whether it answers the message just handled (on that exchange) or opens a
// new exchange (a report the publisher initiates); the driver keeps the
// exchange-to-subscription map and reports StatusResponses and exchange
// failures back by subscription ID. Wire Node.OnChange to MarkDirty (or
// call MarkDirty after writing attributes).
//
// The zero value is not usable; set Server. An engine is not safe for
// concurrent use.
type SubscriptionEngine struct {
	Server *Server
	// MaxPayload is the byte budget of one ReportData payload
	// (0: DefaultMaxPayload); larger reports are chunked (SplitReport).
	MaxPayload int
	// FirstID is the first SubscriptionId handed out; later ones count up.
	// 0 means 1. (The SDK draws IDs at random; a counter keeps runs
	// deterministic without a random source.)
	FirstID uint32

	nextID uint32
	subs   []*subscription // ascending ID
	out    []SubOutput
}

// SubState is where a subscription stands on the publisher.
type SubState uint8

// Subscription states.
const (
	SubPriming   SubState = iota + 1 // priming report chunks in flight
	SubActive                        // established, waiting for the next report to fall due
	SubReporting                     // a data report in flight (waiting for StatusResponses)
)

// SubOutputKind says what a SubOutput is.
type SubOutputKind uint8

// Output kinds.
const (
	// SubSend: send Payload with Opcode (on the current exchange, or on a
	// new one when NewExchange).
	SubSend SubOutputKind = iota + 1
	// SubEstablished: the SubscribeResponse went out; the subscription is live.
	SubEstablished
	// SubTerminated: the subscription is gone (Status says why); close its exchange.
	SubTerminated
)

// SubOutput is one output of the engine.
type SubOutput struct {
	Kind         SubOutputKind
	Subscription uint32
	// Peer is the opaque subscriber identity given to HandleSubscribeRequest.
	Peer uint64
	// NewExchange: a publisher-initiated report, sent on a new exchange.
	// Otherwise the message answers the one just handled, on its exchange.
	NewExchange bool
	Opcode      Opcode
	Payload     []byte
	// ExpectResponse: a StatusResponse is due back on the same exchange
	// (pass it to HandleStatusResponse).
	ExpectResponse bool
	// Status: why a subscription ended (SubTerminated), or the status of a
	// refused request.
	Status Status
}

type subscription struct {
	id       uint32
	peer     uint64
	min, max time.Duration
	paths    []AttributePath
	state    SubState
	chunks   [][]byte // chunks of the report in flight not yet sent
	dirty    []AttributePath
	last     clock.Time // when the previous report (or the SubscribeResponse) was sent
}

// SubscriptionInfo describes a live subscription.
type SubscriptionInfo struct {
	ID          uint32
	Peer        uint64
	MinInterval time.Duration
	MaxInterval time.Duration
	State       SubState
	Dirty       int // attributes changed and not yet reported
}

func (e *SubscriptionEngine) emit(o SubOutput) { e.out = append(e.out, o) }

// Poll returns the next output, or false when there is none.
func (e *SubscriptionEngine) Poll() (SubOutput, bool) {
	if len(e.out) == 0 {
		return SubOutput{}, false
	}
	o := e.out[0]
	e.out = e.out[1:]
	if len(e.out) == 0 {
		e.out = e.out[:0:0]
	}
	return o, true
}

// Subscriptions returns the live subscriptions in ascending ID order.
func (e *SubscriptionEngine) Subscriptions() []SubscriptionInfo {
	out := make([]SubscriptionInfo, 0, len(e.subs))
	for _, s := range e.subs {
		out = append(out, SubscriptionInfo{ID: s.id, Peer: s.peer, MinInterval: s.min, MaxInterval: s.max, State: s.state, Dirty: len(s.dirty)})
	}
	return out
}

func (e *SubscriptionEngine) find(id uint32) (int, *subscription) {
	for i, s := range e.subs {
		if s.id == id {
			return i, s
		}
	}
	return -1, nil
}

func (e *SubscriptionEngine) budget() int {
	if e.MaxPayload <= 0 {
		return DefaultMaxPayload
	}
	return e.MaxPayload
}

func (e *SubscriptionEngine) refuse(peer uint64, st Status) {
	e.emit(SubOutput{Kind: SubSend, Peer: peer, Opcode: OpStatusResponse, Status: st,
		Payload: AppendStatusResponse(nil, &StatusResponse{Status: st, Revision: e.Server.revision()})})
}

// HandleSubscribeRequest processes a SubscribeRequest payload from peer
// (an opaque subscriber identity: the session or node the driver received
// it on). The answer, on the request's exchange, is the first priming
// chunk, or a StatusResponse INVALID_ACTION for a malformed request, a
// MinIntervalFloor above MaxIntervalCeiling (as the SDK's ReadHandler
// refuses it), no paths, or a path a Read would refuse. Unless
// KeepSubscriptions is set, peer's earlier subscriptions end first
// (SubTerminated, spec 8.5), even when the request is then refused, as in
// the SDK; a request that does not decode leaves them. The negotiated MaxInterval is the client's
// ceiling (the SDK's default publisher choice for a non-ICD device), never
// below its floor and never below 1 s: a zero ceiling would otherwise ask
// for a keep-alive at every instant (the spec lets the publisher choose up
// to max(60 min, ceiling)).
func (e *SubscriptionEngine) HandleSubscribeRequest(now clock.Time, peer uint64, payload []byte) {
	var req SubscribeRequest
	if err := DecodeSubscribeRequest(payload, &req); err != nil {
		e.refuse(peer, StatusInvalidAction)
		return
	}
	// InteractionModelEngine::OnReadInitialRequest
	// (src/app/InteractionModelEngine.cpp) drops the subscriber's earlier
	// subscriptions as soon as it has read KeepSubscriptions false, before
	// the ReadHandler checks the intervals and paths: a request refused
	// below still ends them.
	if !req.KeepSubscriptions {
		for i := 0; i < len(e.subs); {
			if e.subs[i].peer == peer {
				e.terminate(i, StatusSuccess)
				continue
			}
			i++
		}
	}
	if req.MinIntervalFloor > req.MaxIntervalCeiling {
		e.refuse(peer, StatusInvalidAction)
		return
	}
	rep, st := e.Server.Read(&ReadRequest{
		AttributeRequests: req.AttributeRequests, EventRequests: req.EventRequests,
		IsFabricFiltered: req.IsFabricFiltered, DataVersionFilters: req.DataVersionFilters,
	})
	if st != StatusSuccess {
		e.refuse(peer, st)
		return
	}
	if e.nextID == 0 {
		e.nextID = e.FirstID
		if e.nextID == 0 {
			e.nextID = 1
		}
	}
	s := &subscription{
		id: e.nextID, peer: peer, state: SubPriming, last: now,
		min:   time.Duration(req.MinIntervalFloor) * time.Second,
		max:   time.Duration(max(req.MaxIntervalCeiling, req.MinIntervalFloor, 1)) * time.Second,
		paths: append([]AttributePath(nil), req.AttributeRequests...),
	}
	e.nextID++
	if e.nextID == 0 {
		e.nextID = 1
	}
	e.subs = append(e.subs, s)
	rep.SuppressResponse = false
	rep.SubscriptionID, rep.HasSubscriptionID = s.id, true
	s.chunks = SplitReport(rep, e.budget())
	e.sendChunk(s, false)
}

func (e *SubscriptionEngine) sendChunk(s *subscription, newExchange bool) {
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	e.emit(SubOutput{Kind: SubSend, Subscription: s.id, Peer: s.peer, NewExchange: newExchange,
		Opcode: OpReportData, Payload: c, ExpectResponse: true})
}

// HandleStatusResponse processes the subscriber's StatusResponse on
// subscription id's exchange. SUCCESS sends the next chunk, or after the
// last priming chunk the SubscribeResponse (the subscription is then
// established and its intervals start), or after the last chunk of a data
// report returns the subscription to SubActive. Any other status, or a
// payload that does not decode, ends the subscription (spec 8.5: the
// subscriber rejected the report). An unknown id is ignored.
func (e *SubscriptionEngine) HandleStatusResponse(now clock.Time, id uint32, payload []byte) {
	i, s := e.find(id)
	if s == nil {
		return
	}
	var sr StatusResponse
	if err := DecodeStatusResponse(payload, &sr); err != nil {
		e.terminate(i, StatusInvalidAction)
		return
	}
	if sr.Status != StatusSuccess {
		e.terminate(i, sr.Status)
		return
	}
	switch s.state {
	case SubPriming:
		if len(s.chunks) > 0 {
			e.sendChunk(s, false)
			return
		}
		s.state, s.last = SubActive, now
		e.emit(SubOutput{Kind: SubSend, Subscription: s.id, Peer: s.peer, Opcode: OpSubscribeResponse,
			Payload: AppendSubscribeResponse(nil, &SubscribeResponse{
				SubscriptionID: s.id, MaxInterval: uint16(s.max / time.Second), Revision: e.Server.revision(),
			})})
		e.emit(SubOutput{Kind: SubEstablished, Subscription: s.id, Peer: s.peer})
	case SubReporting:
		if len(s.chunks) > 0 {
			e.sendChunk(s, false)
			return
		}
		s.state = SubActive
	}
}

// HandleExchangeFailed ends subscription id: its exchange gave up (MRP
// retransmissions exhausted or no StatusResponse in time), as the SDK's
// ReadHandler closes when a report cannot be delivered.
func (e *SubscriptionEngine) HandleExchangeFailed(now clock.Time, id uint32) {
	if i, s := e.find(id); s != nil {
		e.terminate(i, StatusTimeout)
	}
}

// Terminate ends subscription id locally (device reset, fabric removed).
func (e *SubscriptionEngine) Terminate(id uint32) {
	if i, s := e.find(id); s != nil {
		e.terminate(i, StatusSuccess)
	}
}

func (e *SubscriptionEngine) terminate(i int, st Status) {
	s := e.subs[i]
	e.subs = append(e.subs[:i], e.subs[i+1:]...)
	e.emit(SubOutput{Kind: SubTerminated, Subscription: s.id, Peer: s.peer, Status: st})
}

// covers reports whether request path r includes the concrete path p.
func covers(r, p AttributePath) bool {
	return (r.Endpoint == WildcardEndpoint || r.Endpoint == p.Endpoint) &&
		(r.Cluster == WildcardCluster || r.Cluster == p.Cluster) &&
		(r.Attribute == WildcardAttribute || r.Attribute == p.Attribute)
}

// MarkDirty records that the attribute at concrete path p changed. Every
// subscription whose paths include it will report it (once, however often
// it changes before the report: reports carry current values).
func (e *SubscriptionEngine) MarkDirty(p AttributePath) {
	p = ConcreteAttribute(p.Endpoint, p.Cluster, p.Attribute)
	for _, s := range e.subs {
		for _, r := range s.paths {
			if !covers(r, p) {
				continue
			}
			dup := false
			for _, d := range s.dirty {
				if d == p {
					dup = true
					break
				}
			}
			if !dup {
				s.dirty = append(s.dirty, p)
			}
			break
		}
	}
}

// due returns when s next needs HandleTimeout, or clock.Never.
func (s *subscription) due() clock.Time {
	if s.state != SubActive {
		return clock.Never
	}
	t := s.last.Add(s.max)
	if len(s.dirty) > 0 {
		if m := s.last.Add(s.min); m < t {
			t = m
		}
	}
	return t
}

// NextDeadline returns the earliest time a report falls due, or
// clock.Never. After MarkDirty it may lie in the past (the change came
// after the minimum interval had already passed): call HandleTimeout now.
func (e *SubscriptionEngine) NextDeadline() clock.Time {
	t := clock.Never
	for _, s := range e.subs {
		t = min(t, s.due())
	}
	return t
}

// HandleTimeout sends every report due at now: for a subscription with
// changed attributes whose minimum interval has passed since its previous
// report, a ReportData of their current values (chunked if needed; each
// chunk expects a StatusResponse); for one with nothing to report whose
// maximum interval has passed, an empty keep-alive ReportData carrying only
// the SubscriptionId. Neither sets SuppressResponse: the SDK's Engine
// (src/app/reporting/Engine.cpp, BuildAndSendSingleReportData) sets it only
// for a Read, so a keep-alive too is answered by a StatusResponse, and a
// subscriber that stops answering ends the subscription. Both open a new
// exchange and restart the intervals from now.
func (e *SubscriptionEngine) HandleTimeout(now clock.Time) {
	for _, s := range e.subs {
		if s.due() > now {
			continue
		}
		s.last = now
		var rep *ReportData
		if len(s.dirty) > 0 {
			rep = e.changeReport(s)
			s.dirty = s.dirty[:0]
		}
		if rep == nil || len(rep.AttributeReports) == 0 {
			s.chunks = [][]byte{AppendReportData(nil, &ReportData{SubscriptionID: s.id, HasSubscriptionID: true,
				Revision: e.Server.revision()})}
		} else {
			s.chunks = SplitReport(rep, e.budget())
		}
		s.state = SubReporting
		e.sendChunk(s, true)
	}
}

// changeReport builds the ReportData of s's dirty attributes, in the order
// they changed; an attribute that no longer exists is left out.
func (e *SubscriptionEngine) changeReport(s *subscription) *ReportData {
	rep := &ReportData{SubscriptionID: s.id, HasSubscriptionID: true, Revision: e.Server.revision(),
		AttributeReports: make([]AttributeReport, 0, len(s.dirty))}
	for _, p := range s.dirty {
		ep := e.Server.Node.Endpoint(p.Endpoint)
		if ep == nil {
			continue
		}
		c := ep.Cluster(p.Cluster)
		if c == nil || !c.hasAttribute(p.Attribute) {
			continue
		}
		rep.AttributeReports = append(rep.AttributeReports, dataReport(ep.ID, c, p.Attribute))
	}
	return rep
}
