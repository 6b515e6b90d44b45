package fault

import (
	"math/rand/v2"
	"strconv"
	"time"

	"mattersim/clock"
)

// Duplicate is netem's "duplicate P [C]": with probability P (through
// netem's correlated generator) the packet is emitted twice, both copies
// with no extra delay (sch_netem.c: count++). The copies share Data: it is
// read-only by contract. The zero value never duplicates.
type Duplicate struct {
	P    float64
	Corr float64
}

// New returns a fresh stage for one directed link.
func (s Duplicate) New() Stage {
	return &duplicate{cfg: s, name: s.String(), p: prob32(s.P), c: newCrand(s.Corr)}
}

// Validate reports a probability outside [0, 1].
func (s Duplicate) Validate() error {
	return firstErr(checkProb("duplicate", "P", s.P), checkProb("duplicate", "correlation", s.Corr))
}

func (s Duplicate) String() string {
	str := "duplicate " + pct(s.P)
	if s.Corr != 0 {
		str += " " + pct(s.Corr)
	}
	return str
}

type duplicate struct {
	name string
	cfg  Duplicate
	p    uint32
	c    crand
}

func (d *duplicate) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	out = append(out, Out{P: p})
	if d.p != 0 && d.p >= d.c.next(rng) {
		out = append(out, Out{P: p})
	}
	return out, Drop{}
}

func (d *duplicate) String() string { return d.name }

// CorruptScope says which bytes Corrupt may flip.
type CorruptScope uint8

const (
	// CorruptPacket flips a bit anywhere in the packet, IPv6 and UDP
	// headers included, as netem does (it flips a bit in the linear skb
	// data after finalising checksums). Most hits make the receiving stack
	// drop the packet: bad UDP checksum, wrong length or address.
	CorruptPacket CorruptScope = iota
	// CorruptPayload flips a bit in the UDP payload (the Matter message)
	// and leaves the UDP checksum alone: the receiver's UDP layer catches
	// it and drops the datagram, as on a real link with checksums.
	CorruptPayload
	// CorruptPayloadFixChecksum flips a bit in the UDP payload and
	// recomputes the UDP checksum, so the damaged message reaches Matter,
	// whose AEAD tag (spec 4.7) or header checks must reject it. A
	// mattersim extension: it models corruption that the link-layer and
	// UDP checksums missed.
	CorruptPayloadFixChecksum
)

var scopeNames = [...]string{"packet", "payload", "payload-fixsum"}

func (c CorruptScope) String() string {
	if int(c) < len(scopeNames) {
		return scopeNames[c]
	}
	return "scope(" + strconv.Itoa(int(c)) + ")"
}

// Corrupt is netem's "corrupt P [C]": with probability P one random bit of
// the packet is flipped, on a private copy. Scope narrows where (netem
// itself is CorruptPacket). A packet too short for its scope (no UDP
// payload) passes unchanged. The zero value never corrupts.
type Corrupt struct {
	P     float64
	Corr  float64
	Scope CorruptScope
}

// New returns a fresh stage for one directed link.
func (s Corrupt) New() Stage {
	return &corrupt{cfg: s, name: s.String(), p: prob32(s.P), c: newCrand(s.Corr)}
}

// Validate reports a probability outside [0, 1].
func (s Corrupt) Validate() error {
	return firstErr(checkProb("corrupt", "P", s.P), checkProb("corrupt", "correlation", s.Corr))
}

func (s Corrupt) String() string {
	str := "corrupt " + pct(s.P)
	if s.Corr != 0 {
		str += " " + pct(s.Corr)
	}
	if s.Scope != CorruptPacket {
		str += " scope " + s.Scope.String()
	}
	return str
}

type corrupt struct {
	name string
	cfg  Corrupt
	p    uint32
	c    crand
}

func (c *corrupt) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	if c.p == 0 || c.p < c.c.next(rng) {
		return append(out, Out{P: p}), Drop{}
	}
	lo := 0
	if c.cfg.Scope != CorruptPacket {
		if !isUDP6(p.Data) || len(p.Data) <= udpPayloadOffset {
			return append(out, Out{P: p}), Drop{}
		}
		lo = udpPayloadOffset
	}
	if len(p.Data) <= lo {
		return append(out, Out{P: p}), Drop{}
	}
	q := p.Clone()
	q.Corrupted = true
	i := lo + rng.IntN(len(q.Data)-lo)
	q.Data[i] ^= 1 << rng.IntN(8)
	if c.cfg.Scope == CorruptPayloadFixChecksum {
		FixUDPChecksum(q.Data)
	}
	return append(out, Out{P: q}), Drop{}
}

func (c *corrupt) String() string { return c.name }

// DefaultLimit is netem's default queue limit, in packets.
const DefaultLimit = 1000

// Rate is netem's "rate RATE [PACKETOVERHEAD]" with its "limit PACKETS":
// a link serialising Bits per second. A packet of n bytes occupies the
// link for (n + Overhead)·8/Bits seconds starting when the link frees up
// (the queue is kept as the next-free instant); its delay is the time
// until it has been sent. When Limit packets are already waiting or being
// sent, the packet is dropped ("queue full", tail drop). Unlike netem, the
// limit counts only the packets in this stage's queue, not those held by
// a preceding Delay stage. The zero value (Bits 0) passes everything.
type Rate struct {
	Bits     uint64 // bits per second; 0 = unlimited
	Overhead int    // bytes added to (or, negative, removed from) each packet's size
	Limit    int    // queue capacity in packets; 0 = DefaultLimit
}

// New returns a fresh stage with an empty queue for one directed link.
func (s Rate) New() Stage {
	lim := s.Limit
	if lim <= 0 {
		lim = DefaultLimit
	}
	return &rateStage{cfg: s, name: s.String(), limit: lim}
}

// Validate reports a negative limit.
func (s Rate) Validate() error {
	if s.Limit < 0 {
		return &ParamError{Stage: "rate", Param: "limit", Value: float64(s.Limit), Want: ">= 0"}
	}
	return nil
}

func (s Rate) String() string {
	str := "rate " + FormatBits(s.Bits)
	if s.Overhead != 0 {
		str += " " + strconv.Itoa(s.Overhead)
	}
	lim := s.Limit
	if lim <= 0 {
		lim = DefaultLimit
	}
	return str + " limit " + strconv.Itoa(lim)
}

// FormatBits formats a rate the way tc prints it: "250Kbit", "1Mbit".
func FormatBits(b uint64) string {
	switch {
	case b == 0:
		return "0bit"
	case b%1e9 == 0:
		return strconv.FormatUint(b/1e9, 10) + "Gbit"
	case b%1e6 == 0:
		return strconv.FormatUint(b/1e6, 10) + "Mbit"
	case b%1e3 == 0:
		return strconv.FormatUint(b/1e3, 10) + "Kbit"
	}
	return strconv.FormatUint(b, 10) + "bit"
}

type rateStage struct {
	name  string
	cfg   Rate
	limit int
	// done holds the departure instants of queued packets, oldest first,
	// as a ring; the last one is the link's next-free instant.
	done     []clock.Time
	head, n  int
	nextFree clock.Time
}

func (r *rateStage) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	if r.cfg.Bits == 0 {
		return append(out, Out{P: p}), Drop{}
	}
	if r.done == nil {
		r.done = make([]clock.Time, r.limit)
	}
	// Forget packets that have left by now.
	for r.n > 0 && r.done[r.head] <= now {
		r.head = (r.head + 1) % r.limit
		r.n--
	}
	if r.n >= r.limit {
		return out, Drop{Stage: r.String(), Reason: "queue full"}
	}
	size := max(len(p.Data)+r.cfg.Overhead, 0)
	tx := time.Duration((uint64(size)*8*uint64(time.Second) + r.cfg.Bits - 1) / r.cfg.Bits)
	start := max(now, r.nextFree)
	end := start.Add(tx)
	r.nextFree = end
	r.done[(r.head+r.n)%r.limit] = end
	r.n++
	return append(out, Out{P: p, Delay: end.Sub(now)}), Drop{}
}

func (r *rateStage) String() string { return r.name }

// MTU drops packets longer than Bytes (reason "mtu"). Not a netem option:
// it models a link (Thread's 1280-byte IPv6 MTU, a tunnel) that cannot
// carry the frame. The zero value (Bytes 0) passes everything.
type MTU struct {
	Bytes int
}

// New returns the stage (stateless; one value could serve every link).
func (s MTU) New() Stage { return mtuStage{cfg: s, name: s.String()} }

func (s MTU) String() string { return "mtu " + strconv.Itoa(s.Bytes) }

type mtuStage struct {
	cfg  MTU
	name string
}

func (m mtuStage) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	if m.cfg.Bytes > 0 && len(p.Data) > m.cfg.Bytes {
		return out, Drop{Stage: m.String(), Reason: "mtu"}
	}
	return append(out, Out{P: p}), Drop{}
}

func (m mtuStage) String() string { return m.name }

var (
	_ Spec = Duplicate{}
	_ Spec = Corrupt{}
	_ Spec = Rate{}
	_ Spec = MTU{}
)
