package nodes

import (
	"math/rand/v2"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// Reader defaults.
const (
	DefaultReadInterval = 10 * time.Second
	// DefaultReadTimeout bounds the wait for a ReportData after the request
	// went out. It is longer than a full MRP retransmission schedule (5
	// transmissions with backoff, spec 4.12.8: under 10 s at the idle
	// interval), so a timeout means the device gave its response up.
	DefaultReadTimeout = 30 * time.Second
)

// VendorNamePath is the attribute the Reader reads by default: Basic
// Information (cluster 0x0028) VendorName (0x0001) on endpoint 0 (core spec
// 11.1.6.3).
var VendorNamePath = im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName)

// ReaderStats counts a Reader's reads. Requests = Answered + BadResponses +
// GaveUp + TimedOut + Aborted + (reads still in flight). A plain value.
type ReaderStats struct {
	Requests     uint64 // ReadRequests sent
	Answered     uint64 // a ReportData with the attribute's value came back
	BadResponses uint64 // an answer that was not a ReportData with the value
	GaveUp       uint64 // the request was never acknowledged (MRP give-up)
	TimedOut     uint64 // acknowledged, but no answer within Timeout
	Aborted      uint64 // the session closed under the read
	Skipped      uint64 // a read fell due while the previous one was in flight
	SendErrors   uint64 // the core refused to send the request
	LatencySum   time.Duration
	LatencyMax   time.Duration
}

// Add adds o to s.
func (s *ReaderStats) Add(o ReaderStats) {
	s.Requests += o.Requests
	s.Answered += o.Answered
	s.BadResponses += o.BadResponses
	s.GaveUp += o.GaveUp
	s.TimedOut += o.TimedOut
	s.Aborted += o.Aborted
	s.Skipped += o.Skipped
	s.SendErrors += o.SendErrors
	s.LatencySum += o.LatencySum
	s.LatencyMax = max(s.LatencyMax, o.LatencyMax)
}

// Reader is the controller workload: over one secure session per device it
// reads an attribute every Interval, with an Interaction Model ReadRequest
// (spec 8.9.2, reliable, on a new exchange) answered by a ReportData
// (spec 8.9.3). One read per device is in flight at a time. A read ends
// answered, given up (EventGiveUp on its exchange), timed out, or aborted
// with its session; its exchange is then closed (flushing the pending ack,
// spec 4.12.5.2.2).
//
// Set the exported fields and AddPeer before Start. The zero value reads
// VendorNamePath every DefaultReadInterval. Not safe for concurrent use.
//
// Client supersedes Reader (every operation kind, skips that cost no
// timer events, re-establishment of lost sessions, NodeEvents for
// metrics); Reader stays for the tests written against it.
type Reader struct {
	Interval time.Duration // between reads of one device; 0 = DefaultReadInterval
	Timeout  time.Duration // response timeout; 0 = DefaultReadTimeout
	// Path is the attribute read; the zero value means VendorNamePath.
	Path im.AttributePath
	// Rand places each device's first read in [0, Interval); nil spreads
	// them evenly.
	Rand *rand.Rand

	stats   ReaderStats
	peers   []readPeer
	byEx    map[session.Exchange]int // lookup only, never iterated
	bySess  map[session.Ref]int      // lookup only, never iterated
	q       timerQueue
	stopped bool
	started bool
	req     []byte
}

type readPeer struct {
	ref    session.Ref
	ex     session.Exchange
	busy   bool
	sentAt clock.Time
	gen    uint64
}

const (
	timerRead uint8 = iota + 1
	timerTimeout
)

var _ Workload = (*Reader)(nil)

// AddPeer adds a device session to read and returns its index.
func (r *Reader) AddPeer(ref session.Ref) int {
	if r.bySess == nil {
		r.bySess = make(map[session.Ref]int)
		r.byEx = make(map[session.Exchange]int)
	}
	r.peers = append(r.peers, readPeer{ref: ref})
	r.bySess[ref] = len(r.peers) - 1
	return len(r.peers) - 1
}

// AddPeerAt adds a device session whose session was established at now
// (a handshake that finished after Start) and returns its index. Before
// Start it is AddPeer; after, the device's first read is placed within one
// Interval of now (Rand, or at once when Rand is nil).
func (r *Reader) AddPeerAt(now clock.Time, ref session.Ref) int {
	i := r.AddPeer(ref)
	if r.started {
		var off time.Duration
		if r.Rand != nil {
			off = time.Duration(r.Rand.Int64N(int64(r.interval())))
		}
		r.q.push(timerEntry{at: now.Add(off), key: i, kind: timerRead})
	}
	return i
}

// Peers returns the number of device sessions.
func (r *Reader) Peers() int { return len(r.peers) }

// Stats returns the counters.
func (r *Reader) Stats() ReaderStats { return r.stats }

// InFlight returns the reads not yet finished.
func (r *Reader) InFlight() int { return len(r.byEx) }

func (r *Reader) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultReadInterval
}

// Start schedules each device's first read within one Interval.
func (r *Reader) Start(now clock.Time, _ *Node) {
	iv := r.interval()
	r.started = true
	if r.Path == (im.AttributePath{}) {
		r.Path = VendorNamePath
	}
	r.req = im.AppendReadRequest(r.req[:0], im.NewReadRequest(r.Path))
	k := len(r.peers)
	for i := range r.peers {
		var off time.Duration
		if r.Rand != nil {
			off = time.Duration(r.Rand.Int64N(int64(iv)))
		} else {
			off = iv * time.Duration(i) / time.Duration(max(k, 1))
		}
		r.q.push(timerEntry{at: now.Add(off), key: i, kind: timerRead})
	}
}

// Stop stops starting reads; reads in flight finish.
func (r *Reader) Stop(clock.Time, *Node) { r.stopped = true }

// Deadline returns the next read or timeout instant.
func (r *Reader) Deadline() clock.Time {
	for r.q.len() > 0 {
		t := r.q.top()
		if r.live(t) {
			return t.at
		}
		r.q.pop()
	}
	return clock.Never
}

func (r *Reader) live(t *timerEntry) bool {
	switch t.kind {
	case timerRead:
		return !r.stopped
	case timerTimeout:
		p := &r.peers[t.key]
		return p.busy && p.gen == t.gen
	}
	return false
}

// HandleTimer starts due reads and times out overdue ones.
func (r *Reader) HandleTimer(now clock.Time, n *Node) {
	for r.q.len() > 0 && r.q.top().at <= now {
		t := r.q.pop()
		if !r.live(&t) {
			continue
		}
		switch t.kind {
		case timerRead:
			r.read(now, n, t.key)
			r.q.push(timerEntry{at: now.Add(r.interval()), key: t.key, kind: timerRead})
		case timerTimeout:
			r.stats.TimedOut++
			r.finish(now, n, t.key)
		}
	}
}

func (r *Reader) read(now clock.Time, n *Node, i int) {
	p := &r.peers[i]
	if p.busy {
		r.stats.Skipped++
		return
	}
	m := n.Manager()
	ex, err := m.NewExchange(p.ref)
	if err != nil {
		r.stats.SendErrors++
		return
	}
	err = m.Send(now, ex, session.Message{
		Protocol: message.ProtocolID(im.ProtocolID),
		Opcode:   uint8(im.OpReadRequest),
		Payload:  r.req,
		Reliable: true,
	})
	if err != nil {
		r.stats.SendErrors++
		_ = m.CloseExchange(now, ex)
		return
	}
	r.stats.Requests++
	p.busy, p.ex, p.sentAt = true, ex, now
	p.gen++
	r.byEx[ex] = i
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	r.q.push(timerEntry{at: now.Add(timeout), key: i, kind: timerTimeout, gen: p.gen})
}

// finish ends peer i's read and closes its exchange.
func (r *Reader) finish(now clock.Time, n *Node, i int) {
	p := &r.peers[i]
	delete(r.byEx, p.ex)
	_ = n.Manager().CloseExchange(now, p.ex) // ErrNoSession after an abort: nothing to close
	p.busy = false
	p.gen++
}

// HandleEvent completes reads: a report, a give-up, a closed session.
func (r *Reader) HandleEvent(now clock.Time, n *Node, ev *session.Event) {
	switch ev.Kind {
	case session.EventMessage:
		i, ok := r.byEx[ev.Exchange]
		if !ok {
			return
		}
		rep, err := im.ParseReadResponse(im.Opcode(ev.Opcode), ev.Payload)
		if ev.Protocol != message.ProtocolID(im.ProtocolID) || err != nil {
			r.stats.BadResponses++
		} else if _, err := rep.Value(r.Path); err != nil {
			r.stats.BadResponses++
		} else {
			r.stats.Answered++
			d := now.Sub(r.peers[i].sentAt)
			r.stats.LatencySum += d
			r.stats.LatencyMax = max(r.stats.LatencyMax, d)
		}
		r.finish(now, n, i)
	case session.EventGiveUp:
		if i, ok := r.byEx[ev.Exchange]; ok {
			r.stats.GaveUp++
			r.finish(now, n, i)
		}
	case session.EventSessionClosed:
		if i, ok := r.bySess[ev.Session]; ok && r.peers[i].busy {
			r.stats.Aborted++
			r.finish(now, n, i)
		}
	}
}
