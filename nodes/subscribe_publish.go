package nodes

import (
	"fmt"
	"math/rand/v2"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// Change is a device's local attribute change, repeated: the device
// invokes Command on its own data model (the light is switched at its
// wall switch), which changes the attribute, marks it dirty for every
// subscription and is reported to the subscribers.
//
// Timing: the first change at Start plus a uniform offset in [0,
// Interval), then every Interval plus a uniform delay in [0, Jitter); with
// Poisson the gaps are exponential with mean Interval instead (a Poisson
// process; Jitter unused). No change at or after Stop (0: never).
type Change struct {
	// Command is what the device does locally; the zero value =
	// OnOffToggle.
	Command     im.CommandPath
	Start, Stop clock.Time
	Interval    time.Duration
	Jitter      time.Duration
	Poisson     bool
}

func (c *Change) validate(i int) error {
	switch {
	case c.Interval <= 0:
		return &OpError{i, "Interval", "must be above 0"}
	case c.Jitter < 0 || c.Jitter >= c.Interval:
		return &OpError{i, "Jitter", fmt.Sprintf("must be in [0, interval %s), got %s", c.Interval, c.Jitter)}
	case c.Start < 0 || (c.Stop != 0 && c.Stop < c.Start):
		return &OpError{i, "Stop", "must be 0 (never) or not before Start"}
	}
	return nil
}

// PubStats counts a Publisher's work. A plain value.
type PubStats struct {
	Changes      uint64 // local changes made
	Requests     uint64 // SubscribeRequests received
	Reports      uint64 // ReportData messages sent (chunks and keep-alives)
	Terminated   uint64 // subscriptions ended
	SendErrors   uint64
	ResponseWait uint64 // StatusResponses not received within Timeout
}

// Publisher is the device side of subscriptions: it drives an
// im.SubscriptionEngine (the SDK's ReadHandler and reporting Engine) on
// the device's data model, and makes the device's local changes. It is
// installed on a Responder (Responder.Subs), which hands it the
// SubscribeRequests and StatusResponses of its subscriptions and uses its
// timers.
//
// Exchanges: the priming reports and the SubscribeResponse answer on the
// request's exchange; later reports open a new exchange on the session the
// subscription came on. Every report is sent reliably (MRP); one that asks
// for a StatusResponse keeps its exchange open until the answer, which is
// passed to the engine. MRP giving up on a report (keep-alives included),
// or no StatusResponse within Timeout, ends the subscription
// (HandleExchangeFailed, as the SDK's ReadHandler closes when a report
// cannot be delivered); so does the session closing.
//
// Stop: local changes stop and keep-alives are no longer sent; changes
// already made are still reported. PowerOff (through the Responder) drops
// every subscription: the SDK does not persist them here (subscription
// resumption is not modelled), so subscribers notice by their liveness
// timeout.
//
// Not safe for concurrent use.
type Publisher struct {
	Changes []Change
	// Rand draws the change instants; needed with Changes.
	Rand *rand.Rand
	// Timeout bounds the wait for a StatusResponse; 0 = DefaultOpTimeout.
	Timeout time.Duration

	stats   PubStats
	eng     *im.SubscriptionEngine
	srv     *im.Server
	peers   map[session.Ref]uint64 // lookup only
	refs    []session.Ref          // peer id - 1 → session
	byEx    map[session.Exchange]uint32
	subEx   map[uint32]session.Exchange
	mine    map[session.Exchange]uint32 // closed report exchanges awaiting their ack
	next    []clock.Time                // per Change
	q       timerQueue                  // StatusResponse timeouts
	gen     map[uint32]uint64
	stopped bool
	now     clock.Time
	n       *Node
	vbuf    []ClusterVersion
}

// Validate checks the Changes.
func (p *Publisher) Validate() error {
	for i := range p.Changes {
		if err := p.Changes[i].validate(i); err != nil {
			return err
		}
	}
	if len(p.Changes) > 0 && p.Rand == nil {
		return &OpError{-1, "Rand", "changes need a random source"}
	}
	return nil
}

// Stats returns the counters.
func (p *Publisher) Stats() PubStats { return p.stats }

// Subscriptions returns the engine's live subscriptions.
func (p *Publisher) Subscriptions() []im.SubscriptionInfo {
	if p.eng == nil {
		return nil
	}
	return p.eng.Subscriptions()
}

func (p *Publisher) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultOpTimeout
}

// bind gives the publisher the responder's server (on first use, and after
// a boot): a fresh engine, with the model's changes wired to it.
func (p *Publisher) bind(srv *im.Server) {
	if p.srv == srv && p.eng != nil {
		return
	}
	p.srv = srv
	p.eng = &im.SubscriptionEngine{Server: srv}
	p.peers = make(map[session.Ref]uint64)
	p.refs = nil
	p.byEx = make(map[session.Exchange]uint32)
	p.subEx = make(map[uint32]session.Exchange)
	p.mine = make(map[session.Exchange]uint32)
	p.gen = make(map[uint32]uint64)
	p.q = timerQueue{}
	srv.Node.OnChange = func(a im.AttributePath) {
		p.eng.MarkDirty(a)
		if p.n == nil || p.n.OnNodeEvent == nil {
			return
		}
		ev := NodeEvent{Kind: AttrChanged, Peer: -1}
		if ep := srv.Node.Endpoint(a.Endpoint); ep != nil {
			if c := ep.Cluster(a.Cluster); c != nil {
				p.vbuf = append(p.vbuf[:0], ClusterVersion{Endpoint: a.Endpoint, Cluster: a.Cluster, DataVersion: c.DataVersion})
				ev.Versions = p.vbuf
			}
		}
		p.n.Emit(p.now, ev)
	}
}

func (p *Publisher) enter(now clock.Time, n *Node, srv *im.Server) {
	p.bind(srv)
	p.now, p.n = now, n
}

func (p *Publisher) start(now clock.Time, n *Node, srv *im.Server) {
	p.enter(now, n, srv)
	p.next = make([]clock.Time, len(p.Changes))
	for i := range p.Changes {
		c := &p.Changes[i]
		p.next[i] = c.Start.Add(time.Duration(p.Rand.Int64N(int64(c.Interval))))
		p.clip(i)
	}
}

// clip drops change i's next instant past its Stop or the Stop of the
// workload.
func (p *Publisher) clip(i int) {
	if c := &p.Changes[i]; p.stopped || (c.Stop != 0 && p.next[i] >= c.Stop) {
		p.next[i] = clock.Never
	}
}

func (p *Publisher) gap(c *Change) time.Duration {
	if c.Poisson {
		return time.Duration(p.Rand.ExpFloat64() * float64(c.Interval))
	}
	g := c.Interval
	if c.Jitter > 0 {
		g += time.Duration(p.Rand.Int64N(int64(c.Jitter)))
	}
	return g
}

func (p *Publisher) stop() {
	p.stopped = true
	for i := range p.next {
		p.next[i] = clock.Never
	}
}

// deadline: the next change, StatusResponse timeout or report. After Stop
// the engine's deadline counts only while a subscription has changes to
// report (no more keep-alives).
func (p *Publisher) deadline() clock.Time {
	t := clock.Never
	for _, at := range p.next {
		t = min(t, at)
	}
	for p.q.len() > 0 {
		e := p.q.top()
		if p.liveTimeout(e) {
			t = min(t, e.at)
			break
		}
		p.q.pop()
	}
	return min(t, p.engineDeadline())
}

// engineDeadline is the engine's deadline, or clock.Never after Stop when
// no subscription has a change to report.
func (p *Publisher) engineDeadline() clock.Time {
	if p.eng == nil {
		return clock.Never
	}
	if p.stopped {
		dirty := false
		for _, s := range p.eng.Subscriptions() {
			dirty = dirty || s.Dirty > 0
		}
		if !dirty {
			return clock.Never
		}
	}
	return p.eng.NextDeadline()
}

func (p *Publisher) liveTimeout(e *timerEntry) bool {
	id := uint32(e.key)
	_, open := p.subEx[id]
	return open && p.gen[id] == e.gen
}

func (p *Publisher) handleTimer(now clock.Time, n *Node, srv *im.Server) {
	p.enter(now, n, srv)
	for i := range p.next {
		if p.next[i] > now {
			continue
		}
		c := &p.Changes[i]
		p.next[i] = now.Add(p.gap(c))
		p.clip(i)
		cmd := c.Command
		if cmd == (im.CommandPath{}) {
			cmd = OnOffToggle
		}
		p.stats.Changes++
		srv.Invoke(im.NewInvokeRequest(cmd, nil))
	}
	for p.q.len() > 0 && p.q.top().at <= now {
		e := p.q.pop()
		if p.liveTimeout(&e) {
			p.stats.ResponseWait++
			p.eng.HandleExchangeFailed(now, uint32(e.key))
		}
	}
	if p.engineDeadline() <= now {
		p.eng.HandleTimeout(now)
	}
	p.drain(now, n, session.Exchange{}, false)
}

// handleEvent takes the events of the subscriptions; it reports whether
// ev was one (the Responder then leaves it alone).
func (p *Publisher) handleEvent(now clock.Time, n *Node, ev *session.Event, srv *im.Server) bool {
	p.enter(now, n, srv)
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolID(im.ProtocolID) || ev.Vendor != 0 {
			return false
		}
		if id, ok := p.byEx[ev.Exchange]; ok {
			p.eng.HandleStatusResponse(now, id, ev.Payload)
			if p.drain(now, n, ev.Exchange, true) {
				return true
			}
			// Nothing more on this exchange: the report is complete.
			p.closeEx(now, n, ev.Exchange)
			return true
		}
		if ev.Exchange.Initiator || im.Opcode(ev.Opcode) != im.OpSubscribeRequest {
			return false
		}
		p.stats.Requests++
		p.eng.HandleSubscribeRequest(now, p.peer(ev.Exchange.Session), ev.Payload)
		if !p.drain(now, n, ev.Exchange, true) {
			_ = n.Manager().CloseExchange(now, ev.Exchange)
		}
		return true
	case session.EventAck:
		delete(p.mine, ev.Exchange)
	case session.EventGiveUp:
		id, ok := p.byEx[ev.Exchange]
		if !ok {
			id, ok = p.mine[ev.Exchange]
			delete(p.mine, ev.Exchange)
		}
		if ok {
			p.eng.HandleExchangeFailed(now, id)
			p.drain(now, n, session.Exchange{}, false)
		}
		return ok
	case session.EventSessionClosed:
		if peer, ok := p.peers[ev.Session]; ok {
			for _, s := range p.eng.Subscriptions() {
				if s.Peer == peer {
					p.eng.Terminate(s.ID)
				}
			}
			delete(p.peers, ev.Session)
			p.refs[peer-1] = session.Ref{}
			p.drain(now, n, session.Exchange{}, false)
		}
	}
	return false
}

func (p *Publisher) peer(ref session.Ref) uint64 {
	if id, ok := p.peers[ref]; ok {
		return id
	}
	p.refs = append(p.refs, ref)
	id := uint64(len(p.refs))
	p.peers[ref] = id
	return id
}

// closeEx closes a report exchange and forgets it.
func (p *Publisher) closeEx(now clock.Time, n *Node, ex session.Exchange) {
	if id, ok := p.byEx[ex]; ok {
		delete(p.byEx, ex)
		if p.subEx[id] == ex {
			delete(p.subEx, id)
		}
	}
	_ = n.Manager().CloseExchange(now, ex)
}

// drain sends the engine's outputs; it reports whether one went out on
// cur (the exchange of the message just handled, when hasCur).
func (p *Publisher) drain(now clock.Time, n *Node, cur session.Exchange, hasCur bool) bool {
	m := n.Manager()
	used := false
	for o, ok := p.eng.Poll(); ok; o, ok = p.eng.Poll() {
		switch o.Kind {
		case im.SubSend:
			ex := cur
			if o.NewExchange {
				ref := session.Ref{}
				if o.Peer >= 1 && int(o.Peer) <= len(p.refs) {
					ref = p.refs[o.Peer-1]
				}
				var err error
				if ex, err = m.NewExchange(ref); err != nil {
					p.stats.SendErrors++
					p.eng.HandleExchangeFailed(now, o.Subscription)
					continue
				}
			} else if !hasCur {
				continue
			} else {
				used = true
			}
			if o.Opcode == im.OpReportData {
				p.stats.Reports++
			}
			err := m.Send(now, ex, session.Message{Protocol: message.ProtocolID(im.ProtocolID), Opcode: uint8(o.Opcode), Payload: o.Payload, Reliable: true})
			if err != nil {
				p.stats.SendErrors++
				p.closeEx(now, n, ex)
				if o.Subscription != 0 {
					p.eng.HandleExchangeFailed(now, o.Subscription)
				}
				continue
			}
			if o.ExpectResponse {
				p.byEx[ex] = o.Subscription
				p.subEx[o.Subscription] = ex
				p.gen[o.Subscription]++
				p.q.push(timerEntry{at: now.Add(p.timeout()), key: int(o.Subscription), gen: p.gen[o.Subscription]})
				continue
			}
			p.closeEx(now, n, ex)
			if o.Subscription != 0 {
				p.mine[ex] = o.Subscription
			}
		case im.SubTerminated:
			p.stats.Terminated++
			if ex, ok := p.subEx[o.Subscription]; ok {
				p.closeEx(now, n, ex)
			}
			delete(p.gen, o.Subscription)
			for ex, id := range p.mine {
				if id == o.Subscription {
					delete(p.mine, ex) // deleting while ranging is safe; order does not matter
				}
			}
		}
	}
	return used
}

// powerOff drops the engine: the subscriptions die with the core.
func (p *Publisher) powerOff() {
	p.eng, p.srv = nil, nil
	p.n = nil
}
