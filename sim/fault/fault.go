// Package fault holds mattersim's network impairments: composable,
// deterministic stages that the simulator's switch runs on every frame
// crossing a directed link (house style B8).
//
// A Stage sees one Packet at a time, draws randomness only from the
// *rand.Rand it is handed (one stream per directed link, owned by the
// switch), and appends 0 (dropped), 1 or several (duplicated) packets to the
// output slice, each with the extra delay it adds. Stages never mutate a
// packet's bytes in place: one that changes bytes copies first.
//
// The vocabulary is tc-netem's (man tc-netem, Linux net/sched/sch_netem.c):
// loss random / gemodel / state, delay with jitter, correlation and a
// distribution, reorder with gap, duplicate, corrupt, rate, plus an MTU
// limit. Filter wraps a stage so that it only touches matching frames
// (direction, multicast, Matter session id / protocol / opcode as far as
// they are visible in clear).
//
// Stateful stages (Gilbert-Elliott, the 4-state model, correlated draws, the
// rate queue, reorder's gap counter) keep their state in the stage value.
// Give every directed link its own value: describe stages as data with a
// Spec and call Spec.New once per link.
package fault

import (
	"math/rand/v2"
	"strings"
	"time"

	"mattersim/clock"
)

// Packet is one frame crossing a directed link.
//
// The zero value is an empty unicast frame from node 0 to node 0.
type Packet struct {
	Data      []byte // the whole IPv6 packet; a stage that changes bytes copies first (never mutate a packet you do not own)
	From, To  int    // node indexes; To < 0 for multicast
	Multicast bool
	Injected  bool // sent by the adversary
	// Corrupted: a Corrupt stage flipped a bit of this copy. The switch
	// carries the mark to delivery, where a copy its receiver's stack
	// discards is counted as dropped for corruption.
	Corrupted bool
	ID        uint64 // assigned by the switch, for traces
}

// Clone returns p with a private copy of Data, for a stage that is about to
// change bytes.
func (p Packet) Clone() Packet {
	p.Data = append([]byte(nil), p.Data...)
	return p
}

// Out is a packet leaving a stage after extra delay (relative to the time
// the packet entered the stage).
type Out struct {
	P     Packet
	Delay time.Duration
}

// Drop explains why a packet vanished, for traces. The zero value means
// "not dropped".
type Drop struct {
	Stage  string // the dropping stage's String()
	Reason string // short reason: "loss", "mtu", "queue full", ...
}

// Dropped reports whether d records a drop.
func (d Drop) Dropped() bool { return d != Drop{} }

// String formats d as "reason (stage)", or "" for the zero value.
func (d Drop) String() string {
	if !d.Dropped() {
		return ""
	}
	return d.Reason + " (" + d.Stage + ")"
}

// Stage is one impairment of a directed link.
//
// Apply handles packet p entering the stage at now, appends what leaves it
// to out and returns the extended slice. Appending nothing means the packet
// was dropped, and then the Drop says why; appending several means
// duplicates. Each Out's Delay is relative to now. Apply may keep state in
// the stage (a stage value is not safe for concurrent use) and draws
// randomness only from rng.
type Stage interface {
	Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop)
	// String describes the stage in netem-like words, e.g.
	// "loss gemodel p 1% r 30% 1-h 100% 1-k 0%".
	String() string
}

// Spec describes a stage as data. New returns a fresh stage with its own
// state; call it once per directed link. Spec values are immutable and safe
// to share.
type Spec interface {
	New() Stage
	String() string
}

// Chain runs stages in order. Each stage sees every packet the previous
// stage let through, at the time it reaches that stage (now plus the delay
// accumulated so far), and delays accumulate. The zero value (nil) passes
// every packet through unchanged. A Chain is itself a Stage.
type Chain []Stage

// Apply runs p through every stage. If nothing comes out, the returned Drop
// is the last drop recorded; if some copies survive, Drop is the zero value.
func (c Chain) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	start := len(out)
	out = append(out, Out{P: p})
	var last Drop
	for _, s := range c {
		n := len(out)
		for i := start; i < n; i++ {
			in := out[i]
			m := len(out)
			var d Drop
			out, d = s.Apply(now.Add(in.Delay), in.P, rng, out)
			if d.Dropped() {
				last = d
			}
			for j := m; j < len(out); j++ {
				out[j].Delay += in.Delay
			}
		}
		// Shift this stage's output down over its input.
		k := copy(out[start:], out[n:])
		clear(out[start+k:])
		out = out[:start+k]
		if len(out) == start {
			return out, last
		}
	}
	return out, Drop{}
}

// String joins the stages' descriptions with " | ", or "pass" when empty.
func (c Chain) String() string {
	if len(c) == 0 {
		return "pass"
	}
	parts := make([]string, len(c))
	for i, s := range c {
		parts[i] = s.String()
	}
	return strings.Join(parts, " | ")
}

// Specs is a chain described as data.
type Specs []Spec

// New builds a fresh Chain, one new stage per spec.
func (s Specs) New() Stage {
	c := make(Chain, len(s))
	for i, sp := range s {
		c[i] = sp.New()
	}
	return c
}

// String joins the specs' descriptions with " | ", or "pass" when empty.
func (s Specs) String() string {
	if len(s) == 0 {
		return "pass"
	}
	parts := make([]string, len(s))
	for i, sp := range s {
		parts[i] = sp.String()
	}
	return strings.Join(parts, " | ")
}

// Change is one entry of a link schedule: at At, the directed link
// From → To gets a fresh stage from Spec (nil Spec: a clean link). The
// switch applies changes at their exact instants; From or To < 0 means every
// node on that side.
type Change struct {
	At       clock.Time
	From, To int
	Spec     Spec
}

var (
	_ Stage = Chain(nil)
	_ Spec  = Specs(nil)
)
