package session

import (
	"net/netip"
	"slices"
	"time"

	"mattersim/clock"
	"mattersim/session/group"
	"mattersim/session/mcsp"
	"mattersim/session/message"
	"mattersim/session/mrp"
)

// Message counter synchronization (spec 4.18 MCSP, 4.16 in Matter 1.0).
//
// Choices where the spec leaves room, each also in docs/groups.md:
//
//   - Transport: both messages are secured with the group key being
//     synchronized (session type group, the group session id of the key
//     that authenticated the trigger, C=1, the group control counter), sent
//     unicast to the peer's address with S=1, DSIZ=1 and the peer's node id
//     as destination, and P=1 (spec 4.18.5 lists P among the flags it
//     sets). No unicast (PASE/CASE) session is involved: a
//     MsgCounterSyncReq that arrives on one is never answered (it is an
//     unsolicited Secure Channel message nothing registered, so the core
//     acks it if asked and drops it as EventUnhandled), as in rs-matter
//     src/sc/mcsp.rs respond ("unicast (CASE/PASE) deliveries of MCSP are
//     protocol errors").
//   - Reliability: the request has I=1, R=1 on a new exchange; the
//     response has I=0, A=1 (acking the request) and R=1 on the same
//     exchange (spec 4.18.5), so the requester acks it with a standalone
//     ack. Retransmissions follow MRP (Config.MRP) with the peer's default
//     intervals, active since we just heard from it. MRP does not outlive
//     the attempt: MSG_COUNTER_SYNC_TIMEOUT after the first transmission the
//     exchange is closed, retransmitted or not.
//   - Which counter: the Synchronized Counter is the responder's Global
//     Group Encrypted Data Message Counter's current value, the one its
//     next group data message will carry (counter.Group.Peek; rs-matter's
//     responder sends the value it hands out next). A value of 0 is
//     consumed and never sent, since requesters reject 0.
//   - The window after synchronization: counter.Window.SyncNext with
//     GroupConfig.SyncInit (default: open below the counter). The queued
//     messages are then re-processed through that window in arrival order
//     (spec 4.18.5: "processed in the order received").
//   - Control messages are trust-first (spec 4.18.1.1), in a control
//     window per (fabric, sender).

type syncPhase uint8

const (
	syncWaiting    syncPhase = iota + 1 // the request waits out its jitter
	syncRequesting                      // the request is out; the timeout runs
)

// syncAttempt is one synchronization exchange with a sender for one key set
// (spec 4.18.4: at most one per peer node id and group key).
type syncAttempt struct {
	phase     syncPhase
	key       *opKey         // the key that authenticated the trigger (spec 4.18.5)
	to        netip.AddrPort // where the trigger came from
	queue     []rxMsg
	challenge mcsp.Challenge
	exchange  uint16
	attempt   int
	triggered clock.Time
	jitter    time.Duration
	sendAt    clock.Time
	sentAt    clock.Time
	timeoutAt clock.Time
	rtx       mcspRtx
}

// mcspRtx is an MCSP message kept for MRP retransmission.
type mcspRtx struct {
	valid   bool
	data    []byte
	counter uint32
	sent    int
	at      clock.Time
}

// mcspRsp is our latest response to a requester, until it is acked.
type mcspRsp struct {
	key      *opKey
	to       netip.AddrPort
	exchange uint16
	rtx      mcspRtx
}

func (g *groupState) activate(p *peer) {
	if !p.active {
		p.active = true
		g.active = append(g.active, p)
	}
}

// cacheAndSync queues a message from an unsynchronized sender under
// cache-and-sync and starts an attempt if none is in flight (spec 4.18.4).
func (m *Manager) cacheAndSync(now clock.Time, p *peer, key *opKey, r rxMsg, gev GroupEvent) {
	g := m.grp
	cfg := &m.cfg.Group
	p.cas = true
	p.lastRx = now
	s := p.sync
	if s == nil {
		var ch mcsp.Challenge
		if err := m.read(ch[:], "MCSP challenge"); err != nil {
			m.emit(Event{Kind: EventGroupRejected, From: r.from, Counter: r.counter, Err: err, Group: gev})
			return
		}
		p.attempts++
		s = &syncAttempt{phase: syncWaiting, key: key, to: r.from, challenge: ch, exchange: m.nextExch,
			attempt: p.attempts, triggered: now}
		m.nextExch++
		// The trigger is a group data message, always sent to the group's
		// multicast address: wait a uniform time in [0, jitter] first.
		if j := cfg.SyncReqJitter; j > 0 {
			s.jitter = time.Duration(g.rng.Int64N(int64(j) + 1))
		}
		s.sendAt = now.Add(s.jitter)
		p.sync = s
		g.activate(p)
		gev.SyncAttempt, gev.Challenge = s.attempt, s.challenge
		m.emit(r.event(EventMCSPTriggered, 0, gev))
	}
	gev.SyncAttempt = s.attempt
	if len(s.queue) >= cfg.SyncQueue {
		ov := gev
		if cfg.SyncQueueDrop == DropNewest {
			ov.Reason = ReasonNewest
			m.emit(r.event(EventMCSPQueueOverflow, 0, ov))
			return
		}
		old := s.queue[0]
		s.queue = slices.Delete(s.queue, 0, 1)
		ov.Reason = ReasonOldest
		m.emit(old.event(EventMCSPQueueOverflow, 0, ov))
	}
	r.payload = slices.Clone(r.payload) // the queue outlives the arena
	s.queue = append(s.queue, r)
	gev.Queued = len(s.queue)
	m.emit(r.event(EventMCSPQueued, 0, gev))
	if s.phase == syncWaiting && s.sendAt <= now {
		m.sendSyncRequest(now, p)
	}
}

// mcspBackoff is the MRP timeout after n+1 transmissions to a group peer:
// its intervals are unknown (no session parameters), so the spec defaults,
// active or idle by when we last heard from it (spec 4.12.2.1, 4.12.8).
func (m *Manager) mcspBackoff(now clock.Time, p *peer, n int) time.Duration {
	i := mrp.Intervals{}.Normalize().Base(now.Sub(p.lastRx), true)
	return m.cfg.MRP.Backoff(i, n, m.jitter.Float64())
}

func mcspHeader(key *opKey, ctr uint32, src, dst message.NodeID) message.Header {
	return message.Header{SessionID: key.info.SessionID,
		Flags:   message.PrivacyFlag | message.ControlFlag | message.SecurityFlags(message.SessionGroup),
		Counter: ctr, HasSource: true, Source: src, DestKind: message.DestinationNode, DestNode: dst}
}

// sendSyncRequest sends the MsgCounterSyncReq of p's attempt (spec 4.18.5).
func (m *Manager) sendSyncRequest(now clock.Time, p *peer) {
	s := p.sync
	gev := GroupEvent{Fabric: p.fab.Index, KeySet: p.keySet, Source: p.node, Policy: group.CacheAndSync,
		SyncAttempt: s.attempt, Jitter: s.jitter, Challenge: s.challenge}
	ctr, err := m.controlCounter()
	if err != nil {
		m.endAttempt(now, p, ReasonStore, err)
		return
	}
	h := mcspHeader(s.key, ctr, p.fab.NodeID, p.node)
	ph := message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncReq,
		ExchangeID: s.exchange, ProtocolID: message.ProtocolSecureChannel}
	data := m.sealGroup(s.key, &h, &ph, mcsp.Request{Challenge: s.challenge}.Append(nil), true)
	s.phase, s.sentAt, s.timeoutAt = syncRequesting, now, now.Add(m.cfg.Group.SyncTimeout)
	s.rtx = mcspRtx{valid: true, data: data, counter: ctr, sent: 1, at: now.Add(m.mcspBackoff(now, p, 0))}
	m.emitDatagram(s.to, data)
	m.emit(Event{Kind: EventMCSPRequestSent, Counter: ctr, Exchange: Exchange{ID: s.exchange, Initiator: true}, Group: gev})
}

func (m *Manager) controlCounter() (uint32, error) {
	if err := m.groupCounters(); err != nil {
		return 0, err
	}
	return m.grp.ctl.Next()
}

// endAttempt closes p's synchronization exchange without a valid response:
// every queued message is discarded (spec 4.18.5) and the sender stays
// unsynchronized, so its next message starts a new attempt.
func (m *Manager) endAttempt(now clock.Time, p *peer, why GroupReason, err error) {
	s := p.sync
	p.sync = nil
	gev := GroupEvent{Fabric: p.fab.Index, KeySet: p.keySet, Source: p.node, Policy: group.CacheAndSync,
		SyncAttempt: s.attempt, Reason: why, Challenge: s.challenge}
	for i := range s.queue {
		q := &s.queue[i]
		ev := gev
		ev.Latency = now.Sub(q.at)
		m.emit(q.event(EventMCSPReleased, 0, ev))
	}
	gev.Queued = len(s.queue)
	m.emit(Event{Kind: EventMCSPTimeout, Exchange: Exchange{ID: s.exchange, Initiator: true}, Err: err, Group: gev})
}

// receiveMCSP handles an authenticated group-keyed message in the MCSP
// shape (DSIZ=1, C=1).
func (m *Manager) receiveMCSP(now clock.Time, from netip.AddrPort, key *opKey, h *message.Header, ph *message.ProtocolHeader, payload []byte, gev GroupEvent) {
	f := key.fab
	gev.Policy = group.TrustFirst
	ev := Event{Kind: EventMCSPRejected, From: from, Counter: h.Counter, Protocol: ph.ProtocolID, Vendor: ph.VendorID,
		Opcode: ph.Opcode, Exchange: Exchange{ID: ph.ExchangeID, Initiator: !ph.Flags.Initiator()}, Reliable: ph.Flags.Reliable()}
	reject := func(r GroupReason, kind EventKind) {
		ev.Kind, ev.Group = kind, gev
		ev.Group.Reason = r
		m.emit(ev)
	}
	if h.DestNode != f.NodeID {
		reject(ReasonWrongNode, EventMCSPRejected) // spec 4.18.5: discard
		return
	}
	if ph.VendorID != 0 || ph.ProtocolID != message.ProtocolSecureChannel ||
		(ph.Opcode != message.OpMsgCounterSyncReq && ph.Opcode != message.OpMsgCounterSyncRsp && ph.Opcode != message.OpStandaloneAck) {
		reject(ReasonUnhandled, EventGroupRejected)
		return
	}
	p := m.controlPeer(now, f, h.Source)
	if p == nil {
		reject(ReasonTableFull, EventGroupRejected)
		return
	}
	v := p.win.Verify(h.Counter)
	ev.Verdict = v
	if !v.Accepted() {
		// An MRP retransmission (our ack or answer was lost) or a replay:
		// never processed again; re-acked at once if it asked (spec
		// 4.12.5.2.2), which stops a genuine peer's retransmissions.
		p.lastRx = now
		reject(ReasonDuplicate, EventMCSPRejected)
		if ph.Flags.Reliable() {
			m.sendMCSPAck(key, from, p.node, ph.ExchangeID, !ph.Flags.Initiator(), h.Counter)
		}
		return
	}
	commit := func() {
		p.win.Commit(h.Counter)
		p.lastRx, p.used, p.seq = now, now, m.grp.nextSeq()
	}
	switch ph.Opcode {
	case message.OpMsgCounterSyncReq:
		m.answerSyncRequest(now, from, key, p, h, ph, payload, gev, commit)
	case message.OpMsgCounterSyncRsp:
		commit()
		if ph.Flags.Reliable() {
			m.sendMCSPAck(key, from, p.node, ph.ExchangeID, true, h.Counter)
		}
		if r := m.syncResponse(now, f, key, h, ph, payload, gev); r != ReasonNone {
			reject(r, EventMCSPRejected)
		}
	default: // standalone ack
		commit()
		if !m.mcspAcked(f, p, h.Source, ph) {
			reject(ReasonUnsolicited, EventMCSPRejected)
		}
	}
}

// answerSyncRequest is the responder side (spec 4.18.5 "Sender of
// MsgCounterSyncRsp"): answer with our group data counter and the echoed
// challenge, on the request's exchange, rate-limited per requester.
func (m *Manager) answerSyncRequest(now clock.Time, from netip.AddrPort, key *opKey, p *peer, h *message.Header,
	ph *message.ProtocolHeader, payload []byte, gev GroupEvent, commit func()) {
	iv := m.cfg.Group.ResponseInterval
	if iv > 0 && p.answered && now.Sub(p.lastAnswered) < iv {
		// Not committed and not acked: the requester's MRP retransmission,
		// which carries the same counter, can still be answered once the
		// interval has passed.
		m.emit(Event{Kind: EventMCSPRateLimited, From: from, Counter: h.Counter, Opcode: ph.Opcode,
			Exchange: Exchange{ID: ph.ExchangeID}, Group: gev})
		return
	}
	commit()
	req, err := mcsp.DecodeRequest(payload)
	if err != nil {
		gev.Reason = ReasonMalformed
		m.emit(Event{Kind: EventMCSPRejected, From: from, Counter: h.Counter, Opcode: ph.Opcode, Err: err,
			Exchange: Exchange{ID: ph.ExchangeID}, Group: gev})
		if ph.Flags.Reliable() {
			m.sendMCSPAck(key, from, p.node, ph.ExchangeID, false, h.Counter)
		}
		return
	}
	if err := m.groupCounters(); err != nil {
		gev.Reason = ReasonStore
		m.emit(Event{Kind: EventMCSPRejected, From: from, Counter: h.Counter, Opcode: ph.Opcode, Err: err, Group: gev})
		return
	}
	if m.grp.data.Peek() == 0 {
		// Requesters reject a Synchronized Counter of 0; skip the value.
		if _, err := m.grp.data.Next(); err != nil {
			gev.Reason = ReasonStore
			m.emit(Event{Kind: EventMCSPRejected, From: from, Counter: h.Counter, Opcode: ph.Opcode, Err: err, Group: gev})
			return
		}
	}
	sync := m.grp.data.Peek()
	ctr, err := m.grp.ctl.Next()
	if err != nil {
		gev.Reason = ReasonStore
		m.emit(Event{Kind: EventMCSPRejected, From: from, Counter: h.Counter, Opcode: ph.Opcode, Err: err, Group: gev})
		return
	}
	rh := mcspHeader(key, ctr, p.fab.NodeID, h.Source)
	rph := message.ProtocolHeader{Flags: message.AckFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncRsp,
		ExchangeID: ph.ExchangeID, ProtocolID: message.ProtocolSecureChannel, AckCounter: h.Counter}
	data := m.sealGroup(key, &rh, &rph, mcsp.Response{Counter: sync, Response: req.Challenge}.Append(nil), true)
	if old := p.rsp; old != nil && old.rtx.valid {
		m.emit(Event{Kind: EventMCSPGiveUp, Counter: old.rtx.counter, Exchange: Exchange{ID: old.exchange}, Attempt: old.rtx.sent,
			Group: GroupEvent{Fabric: p.fab.Index, Source: p.node, Control: true, Reason: ReasonReplaced}})
	}
	p.rsp = &mcspRsp{key: key, to: from, exchange: ph.ExchangeID,
		rtx: mcspRtx{valid: true, data: data, counter: ctr, sent: 1, at: now.Add(m.mcspBackoff(now, p, 0))}}
	m.grp.activate(p)
	p.answered, p.lastAnswered = true, now
	m.emitDatagram(from, data)
	gev.SyncCounter, gev.Challenge, gev.KeySet = sync, req.Challenge, key.ks.ID
	m.emit(Event{Kind: EventMCSPResponded, From: from, Counter: ctr, Opcode: message.OpMsgCounterSyncRsp,
		Exchange: Exchange{ID: ph.ExchangeID}, Group: gev})
}

// syncResponse verifies a MsgCounterSyncRsp against the attempts in flight
// (spec 4.18.5 "Receiver of MsgCounterSyncRsp": an active exchange with
// the source node, the same exchange id, the echoed challenge; destination
// and source were checked by the caller and the key lookup) and, if valid,
// synchronizes the sender and releases its queue. It returns why it
// rejected the response, or ReasonNone.
func (m *Manager) syncResponse(now clock.Time, f *fabric, key *opKey, h *message.Header, ph *message.ProtocolHeader,
	payload []byte, gev GroupEvent) GroupReason {
	p := f.data[dataKey{node: h.Source, keySet: key.ks.ID}]
	if p == nil || p.sync == nil || p.sync.phase != syncRequesting {
		return ReasonUnsolicited
	}
	s := p.sync
	if now >= s.timeoutAt {
		// The timeout falls due at or before this arrival: the attempt is
		// over whichever the driver delivers first, so a run does not
		// depend on the order of simultaneous inputs.
		m.endAttempt(now, p, ReasonTimeout, nil)
		return ReasonUnsolicited
	}
	if ph.ExchangeID != s.exchange || ph.Flags.Initiator() {
		return ReasonExchange
	}
	rsp, err := mcsp.DecodeResponse(payload)
	if err != nil {
		return ReasonMalformed
	}
	if rsp.Response != s.challenge {
		return ReasonChallenge
	}
	if rsp.Counter == 0 {
		return ReasonZeroCounter // connectedhomeip HandleMsgCounterSyncResp; rs-matter
	}
	p.sync = nil // the exchange is done: no retransmission, no timeout
	p.win.SyncNext(rsp.Counter, m.cfg.Group.SyncInit)
	p.lastRx = now
	gev.KeySet, gev.Policy = p.keySet, group.CacheAndSync
	gev.SyncAttempt, gev.SyncCounter, gev.Challenge = s.attempt, rsp.Counter, s.challenge
	gev.Latency, gev.RTT = now.Sub(s.triggered), now.Sub(s.sentAt)
	m.emit(Event{Kind: EventMCSPSynced, From: s.to, Counter: h.Counter, Exchange: Exchange{ID: s.exchange, Initiator: true}, Group: gev})
	gev.SyncCounter, gev.Latency, gev.RTT = 0, 0, 0
	for i := range s.queue {
		q := &s.queue[i]
		rev := gev
		rev.Latency = now.Sub(q.at)
		v := p.win.Verify(q.counter)
		if !v.Accepted() {
			rev.Reason = ReasonWindow
			m.emit(q.event(EventMCSPReleased, v, rev))
			continue
		}
		p.win.Commit(q.counter)
		p.used, p.seq = now, m.grp.nextSeq()
		m.emit(q.event(EventMCSPReleased, v, rev))
		m.emit(q.event(EventGroupMessage, v, gev))
	}
	return ReasonNone
}

// mcspAcked processes a standalone ack from node: of our response to it
// (control entry p) or of our request in an attempt with it.
func (m *Manager) mcspAcked(f *fabric, p *peer, node message.NodeID, ph *message.ProtocolHeader) bool {
	if !ph.Flags.Ack() {
		return false
	}
	if r := p.rsp; r != nil && r.rtx.valid && r.exchange == ph.ExchangeID && r.rtx.counter == ph.AckCounter {
		p.rsp = nil
		return true
	}
	for _, ks := range sortedKeySets(f) {
		d := f.data[dataKey{node: node, keySet: ks}]
		if d == nil || d.sync == nil {
			continue
		}
		if s := d.sync; s.rtx.valid && s.exchange == ph.ExchangeID && s.rtx.counter == ph.AckCounter {
			s.rtx.valid = false // the timeout still ends the attempt if no response comes
			return true
		}
	}
	return false
}

func sortedKeySets(f *fabric) []uint16 {
	ids := make([]uint16, 0, len(f.keySets))
	for id := range f.keySets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// sendMCSPAck sends a standalone ack of counter on an MCSP exchange, now
// (the exchange closes right after, so the ack is not delayed).
func (m *Manager) sendMCSPAck(key *opKey, to netip.AddrPort, dst message.NodeID, exchange uint16, initiator bool, ackCtr uint32) {
	ctr, err := m.controlCounter()
	if err != nil {
		return // the store failed; the peer's MRP will ask again
	}
	h := mcspHeader(key, ctr, key.fab.NodeID, dst)
	ph := message.ProtocolHeader{Flags: message.AckFlag, Opcode: message.OpStandaloneAck, ExchangeID: exchange,
		ProtocolID: message.ProtocolSecureChannel, AckCounter: ackCtr}
	if initiator {
		ph.Flags |= message.InitiatorFlag
	}
	m.emitDatagram(to, m.sealGroup(key, &h, &ph, nil, false))
}

// ---- timers ----

type mcspTimer uint8

// Timers due at the same instant run in this order: a timeout first (its
// attempt's retransmission is then moot), then sends and retransmissions.
const (
	timerTimeout mcspTimer = iota
	timerSend
	timerRequest
	timerResponse
)

type mcspDue struct {
	at   clock.Time
	kind mcspTimer
	p    *peer
}

func (p *peer) timers(yield func(clock.Time, mcspTimer)) {
	if s := p.sync; s != nil {
		switch s.phase {
		case syncWaiting:
			yield(s.sendAt, timerSend)
		case syncRequesting:
			yield(s.timeoutAt, timerTimeout)
			if s.rtx.valid {
				yield(s.rtx.at, timerRequest)
			}
		}
	}
	if r := p.rsp; r != nil && r.rtx.valid {
		yield(r.rtx.at, timerResponse)
	}
}

// deadline returns the earliest MCSP timer, or clock.Never.
func (g *groupState) deadline() clock.Time {
	t := clock.Never
	for _, p := range g.active {
		p.timers(func(at clock.Time, _ mcspTimer) { t = min(t, at) })
	}
	return t
}

// mcspTimeout runs every MCSP timer due at or before now, in (time, kind,
// peer creation) order.
func (m *Manager) mcspTimeout(now clock.Time) {
	g := m.grp
	var due []mcspDue
	for _, p := range g.active {
		p.timers(func(at clock.Time, k mcspTimer) {
			if at <= now {
				due = append(due, mcspDue{at: at, kind: k, p: p})
			}
		})
	}
	slices.SortFunc(due, func(a, b mcspDue) int {
		switch {
		case a.at != b.at:
			return cmpTime(a.at, b.at)
		case a.kind != b.kind:
			return int(a.kind) - int(b.kind)
		}
		return cmpU64(a.p.id, b.p.id)
	})
	for _, d := range due {
		p := d.p
		s := p.sync
		switch d.kind {
		case timerTimeout:
			if s != nil && s.phase == syncRequesting && s.timeoutAt <= now {
				m.endAttempt(now, p, ReasonTimeout, nil)
			}
		case timerSend:
			if s != nil && s.phase == syncWaiting && s.sendAt <= now {
				m.sendSyncRequest(now, p)
			}
		case timerRequest:
			if s != nil && s.phase == syncRequesting && s.rtx.valid && s.rtx.at <= now {
				gev := GroupEvent{Fabric: p.fab.Index, KeySet: p.keySet, Source: p.node, Policy: group.CacheAndSync,
					SyncAttempt: s.attempt, Reason: ReasonRequest}
				m.mcspRetransmit(now, p, &s.rtx, s.to, Exchange{ID: s.exchange, Initiator: true}, gev)
			}
		case timerResponse:
			if r := p.rsp; r != nil && r.rtx.valid && r.rtx.at <= now {
				gev := GroupEvent{Fabric: p.fab.Index, KeySet: r.key.ks.ID, Source: p.node, Control: true, Reason: ReasonResponse}
				m.mcspRetransmit(now, p, &r.rtx, r.to, Exchange{ID: r.exchange}, gev)
				if !r.rtx.valid {
					p.rsp = nil
				}
			}
		}
	}
	g.active = slices.DeleteFunc(g.active, func(p *peer) bool {
		if p.sync == nil && p.rsp == nil {
			p.active = false
			return true
		}
		return false
	})
}

// mcspRetransmit resends an MCSP message or gives up after MaxTransmissions
// (spec 4.12.2.1).
func (m *Manager) mcspRetransmit(now clock.Time, p *peer, r *mcspRtx, to netip.AddrPort, x Exchange, gev GroupEvent) {
	if r.sent >= m.cfg.MRP.MaxTransmissions {
		r.valid = false
		m.emit(Event{Kind: EventMCSPGiveUp, Counter: r.counter, Exchange: x, Attempt: r.sent, Group: gev})
		r.data = nil
		return
	}
	r.sent++
	m.emit(Event{Kind: EventMCSPRetransmit, Counter: r.counter, Exchange: x, Attempt: r.sent, Group: gev})
	m.emitDatagram(to, r.data)
	r.at = now.Add(m.mcspBackoff(now, p, r.sent-1))
}
