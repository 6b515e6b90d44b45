// Package adversary is mattersim's on-path replay attacker (Matter's
// threat model, spec 4.6 "Message Counters" and 4.7 "Message Security":
// an attacker can record, delay, redirect and replay any frame but cannot
// forge a MIC).
//
// An Attacker taps every frame the simulator's switch carries (Observe),
// records the frames its rules select, and injects copies back through the
// switch (Network.Inject) now, after a delay, or after the victim has sent
// N further frames (so the receiver's counter window has moved on), to the
// original receiver or another node, from the original or a spoofed source
// address. Injected frames carry the original Matter bytes unchanged and
// are marked Injected, so traces and reports can count which were
// accepted. Rules select frames with fault.Match: by node, multicast,
// Matter session id, counter range, security/control/group flags, and
// protocol/opcode where visible (unsecured messages only).
//
// The package does not import the simulator: it needs only Network, which
// the switch implements. Wire it as
//
//	a := adversary.New(sw, rules...)
//	sw.OnFrame(a.Observe)
//
// An Attacker is not safe for concurrent use; the simulator is
// single-threaded.
package adversary

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"mattersim/clock"
	"mattersim/sim/fault"
)

// Network is what the attacker needs from the switch: a way to send a frame
// at a given instant (not before the current one). The switch marks it
// Injected and runs it through the link's fault stages like any frame.
type Network interface {
	Inject(at clock.Time, p fault.Packet)
}

// Endpoint names a node and its IPv6 address: where a replay is redirected
// to, or whom it pretends to come from. An invalid Addr leaves the packet's
// address unchanged (only the switch's From/To attribution changes).
type Endpoint struct {
	Node int
	Addr netip.Addr
}

// Rule says which frames to capture and how to replay them.
//
// The zero value captures every genuine frame and replays one copy of each
// immediately to its original receiver.
type Rule struct {
	// Name labels the rule in String and Stats; optional.
	Name string
	// Match selects the frames to capture. Injected frames are never
	// captured (the attacker would replay its own replays).
	Match fault.Match
	// MaxCaptures stops capturing after this many frames; 0 = no limit.
	MaxCaptures int

	// AfterFrames, when > 0, holds each capture until the victim has sent
	// this many further frames of the same flow (Window) after it: the
	// receiver's counter window has then moved past the replayed counter.
	AfterFrames int
	// Window selects the frames AfterFrames counts. The zero value counts
	// genuine frames with the captured frame's From, To and (for Matter
	// frames) session id.
	Window fault.Match
	// Delay is added to the replay instant: capture time (or the instant
	// the AfterFrames count is reached) + Delay.
	Delay time.Duration
	// Copies is how many copies of each capture to inject (0 = 1), spaced
	// Interval apart.
	Copies   int
	Interval time.Duration

	// Redirect, when set, sends the replay to another node, rewriting the
	// IPv6 destination to Redirect.Addr and fixing the UDP checksum.
	Redirect *Endpoint
	// Spoof, when set, makes the replay come from another node, rewriting
	// the IPv6 source to Spoof.Addr and fixing the UDP checksum.
	Spoof *Endpoint
}

func (r *Rule) String() string {
	var b strings.Builder
	if r.Name != "" {
		b.WriteString(r.Name + ": ")
	}
	b.WriteString("replay " + r.Match.String())
	if r.MaxCaptures > 0 {
		b.WriteString(" max " + strconv.Itoa(r.MaxCaptures))
	}
	if r.AfterFrames > 0 {
		b.WriteString(" after " + strconv.Itoa(r.AfterFrames) + " frames")
		if w := r.Window.String(); w != "all" {
			b.WriteString(" of " + w)
		}
	}
	if r.Delay > 0 {
		b.WriteString(" delay " + r.Delay.String())
	}
	if r.Copies > 1 {
		b.WriteString(" x" + strconv.Itoa(r.Copies))
		if r.Interval > 0 {
			b.WriteString(" every " + r.Interval.String())
		}
	}
	if r.Redirect != nil {
		b.WriteString(" to " + endpointString(r.Redirect))
	}
	if r.Spoof != nil {
		b.WriteString(" from " + endpointString(r.Spoof))
	}
	return b.String()
}

func endpointString(e *Endpoint) string {
	s := "node " + strconv.Itoa(e.Node)
	if e.Addr.IsValid() {
		s += " [" + e.Addr.String() + "]"
	}
	return s
}

// Capture is one recorded frame.
type Capture struct {
	At   clock.Time   // when the tap saw it
	P    fault.Packet // a private copy
	Rule int          // index of the rule that captured it, -1 for Record-all
}

// RuleStats counts one rule's work.
type RuleStats struct {
	Captured uint64 // frames selected
	Replayed uint64 // copies injected
	Evicted  uint64 // captures still waiting for AfterFrames when memory ran out
}

// Stats counts the attacker's work.
type Stats struct {
	Seen     uint64 // frames observed (genuine and injected)
	Recorded uint64 // frames recorded in the history ring
	Replayed uint64 // frames injected
	Pending  int    // captures waiting for AfterFrames
	Rules    []RuleStats
}

// DefaultCapacity bounds the history ring and the pending list.
const DefaultCapacity = 1024

// Attacker records and replays frames. Build it with New.
type Attacker struct {
	net      Network
	rules    []Rule
	stats    []RuleStats
	capacity int

	// history is a ring of the last capacity captures, for Recorded and
	// Replay.
	history []Capture
	hHead   int
	hLen    int

	pending []waiting // captures held for AfterFrames, oldest first

	seen, recorded, replayed uint64
	recordAll                bool

	// OnInject, if set, is called for every injected frame (for traces).
	OnInject func(at clock.Time, p fault.Packet, rule int)
}

type waiting struct {
	c    Capture
	left int
	flow fault.Match
}

// New returns an attacker injecting through net with the given rules and a
// history of DefaultCapacity frames.
func New(net Network, rules ...Rule) *Attacker {
	return &Attacker{net: net, rules: rules, stats: make([]RuleStats, len(rules)), capacity: DefaultCapacity}
}

// SetCapacity bounds the history ring and the pending list to n frames
// (n < 1 means 1). It clears the history.
func (a *Attacker) SetCapacity(n int) {
	a.capacity = max(n, 1)
	a.history, a.hHead, a.hLen = nil, 0, 0
	if len(a.pending) > a.capacity {
		a.evict(len(a.pending) - a.capacity)
	}
}

// RecordAll makes the attacker keep every genuine frame in its history,
// not only those a rule captured, for manual Replay.
func (a *Attacker) RecordAll(on bool) { a.recordAll = on }

// Rules returns the attacker's rules (do not modify).
func (a *Attacker) Rules() []Rule { return a.rules }

// Observe is the switch tap: call it for every frame the switch carries.
// It must be called in time order.
func (a *Attacker) Observe(now clock.Time, p fault.Packet) {
	a.seen++
	if p.Injected {
		return
	}
	// Frames count towards pending windows before they can be captured
	// themselves, so "after N further frames" counts frames after the
	// capture only.
	a.advance(now, &p)
	var owned fault.Packet // one private copy shared by all captures of p
	have := false
	for i := range a.rules {
		r := &a.rules[i]
		if r.MaxCaptures > 0 && a.stats[i].Captured >= uint64(r.MaxCaptures) {
			continue
		}
		if !r.Match.Matches(&p) {
			continue
		}
		if !have {
			owned, have = p.Clone(), true
		}
		a.stats[i].Captured++
		c := Capture{At: now, P: owned, Rule: i}
		a.remember(c)
		if r.AfterFrames > 0 {
			a.hold(c, r)
			continue
		}
		a.replay(now, c)
	}
	if !have && a.recordAll {
		a.remember(Capture{At: now, P: p.Clone(), Rule: -1})
	}
}

func (a *Attacker) remember(c Capture) {
	if a.history == nil {
		a.history = make([]Capture, a.capacity)
	}
	a.recorded++
	if a.hLen < a.capacity {
		a.history[(a.hHead+a.hLen)%a.capacity] = c
		a.hLen++
		return
	}
	a.history[a.hHead] = c
	a.hHead = (a.hHead + 1) % a.capacity
}

func (a *Attacker) hold(c Capture, r *Rule) {
	w := waiting{c: c, left: r.AfterFrames, flow: r.Window}
	if isZeroMatch(&r.Window) {
		w.flow = fault.Match{From: []int{c.P.From}, To: []int{c.P.To}, Injected: fault.No}
		if f := fault.Inspect(c.P.Data); f.Matter {
			w.flow.Matter.Sessions = append(w.flow.Matter.Sessions, f.Header.SessionID)
		}
	} else {
		w.flow.Injected = fault.No
	}
	if len(a.pending) >= a.capacity {
		a.evict(1)
	}
	a.pending = append(a.pending, w)
}

func (a *Attacker) evict(n int) {
	for _, w := range a.pending[:n] {
		a.stats[w.c.Rule].Evicted++
	}
	a.pending = append(a.pending[:0], a.pending[n:]...)
}

func isZeroMatch(m *fault.Match) bool {
	return len(m.From) == 0 && len(m.To) == 0 && m.Multicast == fault.Any && m.Injected == fault.Any && m.Matter.IsZero()
}

// advance counts p against every pending capture and replays those whose
// count is reached, in capture order.
func (a *Attacker) advance(now clock.Time, p *fault.Packet) {
	if len(a.pending) == 0 {
		return
	}
	keep := a.pending[:0]
	var due []Capture
	for _, w := range a.pending {
		if w.flow.Matches(p) {
			w.left--
		}
		if w.left <= 0 {
			due = append(due, w.c)
			continue
		}
		keep = append(keep, w)
	}
	clear(a.pending[len(keep):])
	a.pending = keep
	for _, c := range due {
		a.replay(now, c)
	}
}

// replay injects the copies rule c.Rule asks for, based at now.
func (a *Attacker) replay(now clock.Time, c Capture) {
	r := &a.rules[c.Rule]
	at := now.Add(r.Delay)
	for k := range max(r.Copies, 1) {
		a.inject(at.Add(time.Duration(k)*r.Interval), c.P, r.Redirect, r.Spoof, c.Rule)
	}
}

func (a *Attacker) inject(at clock.Time, orig fault.Packet, redirect, spoof *Endpoint, rule int) {
	p := orig
	p.Injected = true
	p.ID = 0 // the switch assigns IDs
	var src, dst netip.Addr
	if orig.Multicast && orig.To >= 0 {
		// A multicast copy captured on one member's link is replayed on
		// that link: to that member, its multicast address kept. (Routed
		// on the address it would reach every member again, one capture
		// becoming a replay per member.)
		p.Multicast = false
	}
	if redirect != nil {
		p.To = redirect.Node
		p.Multicast = false
		dst = redirect.Addr
	}
	if spoof != nil {
		p.From = spoof.Node
		src = spoof.Addr
	}
	if src.IsValid() || dst.IsValid() {
		p.Data = fault.SetAddrs(orig.Data, src, dst)
	}
	a.replayed++
	if rule >= 0 {
		a.stats[rule].Replayed++
	}
	if a.OnInject != nil {
		a.OnInject(at, p, rule)
	}
	a.net.Inject(at, p)
}

// Recorded returns the history, oldest first (at most the capacity).
func (a *Attacker) Recorded() []Capture {
	out := make([]Capture, a.hLen)
	for i := range out {
		out[i] = a.history[(a.hHead+i)%a.capacity]
	}
	return out
}

// Replay injects a recorded frame at at, optionally redirected and/or
// spoofed (nil: unchanged): a manual replay, counted in Stats.Replayed.
func (a *Attacker) Replay(at clock.Time, c Capture, redirect, spoof *Endpoint) {
	a.inject(at, c.P, redirect, spoof, -1)
}

// Stats returns the counters.
func (a *Attacker) Stats() Stats {
	return Stats{Seen: a.seen, Recorded: a.recorded, Replayed: a.replayed, Pending: len(a.pending),
		Rules: append([]RuleStats(nil), a.stats...)}
}

// String describes the attacker's rules, one per line.
func (a *Attacker) String() string {
	lines := make([]string, len(a.rules))
	for i := range a.rules {
		lines[i] = a.rules[i].String()
	}
	return strings.Join(lines, "\n")
}
