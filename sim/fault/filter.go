package fault

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"mattersim/clock"
	"mattersim/session/message"
)

// Tri is a three-way condition: Any (the zero value) ignores the property,
// Yes requires it, No forbids it.
type Tri int8

// Tri values.
const (
	Any Tri = iota
	Yes
	No
)

func (t Tri) ok(v bool) bool { return t == Any || (t == Yes) == v }

// CounterRange is an inclusive range of message counters. Lo > Hi wraps
// around 2^32 (e.g. {0xFFFFFFF0, 0x10}), since counters do (spec 4.6).
type CounterRange struct{ Lo, Hi uint32 }

// Contains reports whether c is in the range.
func (r CounterRange) Contains(c uint32) bool {
	if r.Lo <= r.Hi {
		return c >= r.Lo && c <= r.Hi
	}
	return c >= r.Lo || c <= r.Hi
}

// MessageType names a Matter message by vendor, protocol and opcode (spec
// 4.4.3). AnyOpcode matches every opcode of the protocol.
type MessageType struct {
	Vendor    uint16
	Protocol  message.ProtocolID
	Opcode    uint8
	AnyOpcode bool
}

func (m MessageType) String() string {
	s := "0x" + strconv.FormatUint(uint64(m.Vendor)<<16|uint64(m.Protocol), 16)
	if m.AnyOpcode {
		return s + "/*"
	}
	return s + "/0x" + strconv.FormatUint(uint64(m.Opcode), 16)
}

// MatterMatch selects Matter messages by what is readable without keys.
// Every non-empty condition must hold (AND); a list matches any of its
// elements (OR). A packet that does not decode as a Matter message never
// matches a non-empty MatterMatch. The zero value matches every packet,
// Matter or not.
//
// Visibility: for secure messages (spec 4.4.1.2) only the message header
// is clear, so Types can match only unsecured messages (session 0:
// PASE/CASE handshakes, spec 4.13-4.14). With privacy (P flag, spec
// 4.9.3) the counter and node ids are obfuscated, so Counters never match
// such messages; flags (hence Dest), session id and security flags stay
// clear. MCSP messages (spec 4.18) are secure and group-keyed: select
// them by shape with Group, Control and Dest (see MCSP), and tell request
// from response by direction or by PayloadMin/PayloadMax (the response
// payload is 4 bytes longer).
type MatterMatch struct {
	Sessions []message.SessionID // session ids
	Secure   Tri                 // encrypted (everything but session 0 unicast)
	Group    Tri                 // session type group
	Control  Tri                 // C flag: control message counter space
	Dest     []message.DestinationKind
	Counters []CounterRange
	Types    []MessageType // protocol/opcode, unsecured messages only
	// PayloadMin and PayloadMax bound the UDP payload length in bytes; 0
	// means unbounded.
	PayloadMin, PayloadMax int
}

// MCSP returns the shape of message counter synchronisation messages
// (spec 4.18; SDK PacketHeader::IsValidMCSPMsg): group session, C=1,
// destination node id.
func MCSP() MatterMatch {
	return MatterMatch{Secure: Yes, Group: Yes, Control: Yes, Dest: []message.DestinationKind{message.DestinationNode}}
}

// IsZero reports whether m has no condition.
func (m *MatterMatch) IsZero() bool {
	return len(m.Sessions) == 0 && m.Secure == Any && m.Group == Any && m.Control == Any &&
		len(m.Dest) == 0 && len(m.Counters) == 0 && len(m.Types) == 0 && m.PayloadMin == 0 && m.PayloadMax == 0
}

// MatchFrame reports whether an inspected frame satisfies m.
func (m *MatterMatch) MatchFrame(f *Frame) bool {
	if m.IsZero() {
		return true
	}
	if !f.Matter {
		return false
	}
	h := &f.Header
	if len(m.Sessions) > 0 && !slices.Contains(m.Sessions, h.SessionID) {
		return false
	}
	if !m.Secure.ok(h.IsSecure()) || !m.Group.ok(h.Flags.SessionType() == message.SessionGroup) ||
		!m.Control.ok(h.Flags.Control()) {
		return false
	}
	// DSIZ sits in the message flags, which privacy leaves clear.
	if len(m.Dest) > 0 && !slices.Contains(m.Dest, h.DestKind) {
		return false
	}
	if m.PayloadMin > 0 && len(f.Payload) < m.PayloadMin || m.PayloadMax > 0 && len(f.Payload) > m.PayloadMax {
		return false
	}
	if len(m.Counters) > 0 {
		if f.Obfuscated() {
			return false
		}
		hit := false
		for _, r := range m.Counters {
			if r.Contains(h.Counter) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if len(m.Types) > 0 {
		if !f.Clear {
			return false
		}
		hit := false
		for _, t := range m.Types {
			if t.Vendor == f.Protocol.VendorID && t.Protocol == f.Protocol.ProtocolID &&
				(t.AnyOpcode || t.Opcode == f.Protocol.Opcode) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func (m *MatterMatch) String() string {
	var parts []string
	if len(m.Sessions) > 0 {
		s := make([]string, len(m.Sessions))
		for i, id := range m.Sessions {
			s[i] = "0x" + strconv.FormatUint(uint64(id), 16)
		}
		parts = append(parts, "session "+strings.Join(s, ","))
	}
	tri := func(name string, t Tri) {
		switch t {
		case Yes:
			parts = append(parts, name)
		case No:
			parts = append(parts, "!"+name)
		}
	}
	tri("secure", m.Secure)
	tri("group", m.Group)
	tri("control", m.Control)
	if len(m.Dest) > 0 {
		s := make([]string, len(m.Dest))
		for i, d := range m.Dest {
			s[i] = [...]string{"none", "node", "group", "reserved"}[d&3]
		}
		parts = append(parts, "dest "+strings.Join(s, ","))
	}
	if len(m.Counters) > 0 {
		s := make([]string, len(m.Counters))
		for i, r := range m.Counters {
			s[i] = strconv.FormatUint(uint64(r.Lo), 10) + ".." + strconv.FormatUint(uint64(r.Hi), 10)
		}
		parts = append(parts, "counter "+strings.Join(s, ","))
	}
	if len(m.Types) > 0 {
		s := make([]string, len(m.Types))
		for i, t := range m.Types {
			s[i] = t.String()
		}
		parts = append(parts, "type "+strings.Join(s, ","))
	}
	if m.PayloadMin > 0 || m.PayloadMax > 0 {
		parts = append(parts, "len "+strconv.Itoa(m.PayloadMin)+".."+strconv.Itoa(m.PayloadMax))
	}
	return strings.Join(parts, " ")
}

// Match selects packets by direction, cast and Matter header. Every set
// condition must hold; the zero value matches every packet.
type Match struct {
	From []int // sender node indexes; empty = any
	To   []int // receiver node indexes (p.To); empty = any
	// Multicast: Yes for multicast frames only, No for unicast only.
	Multicast Tri
	// Injected: Yes for adversary frames only, No for genuine ones.
	Injected Tri
	Matter   MatterMatch
}

// Matches reports whether p satisfies m. It parses p's headers only when
// a Matter condition is set.
func (m *Match) Matches(p *Packet) bool {
	if len(m.From) > 0 && !slices.Contains(m.From, p.From) ||
		len(m.To) > 0 && !slices.Contains(m.To, p.To) ||
		!m.Multicast.ok(p.Multicast) || !m.Injected.ok(p.Injected) {
		return false
	}
	if m.Matter.IsZero() {
		return true
	}
	f := Inspect(p.Data)
	return m.Matter.MatchFrame(&f)
}

func (m *Match) String() string {
	var parts []string
	ints := func(name string, v []int) {
		if len(v) > 0 {
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = strconv.Itoa(x)
			}
			parts = append(parts, name+" "+strings.Join(s, ","))
		}
	}
	ints("from", m.From)
	ints("to", m.To)
	switch m.Multicast {
	case Yes:
		parts = append(parts, "multicast")
	case No:
		parts = append(parts, "unicast")
	}
	switch m.Injected {
	case Yes:
		parts = append(parts, "injected")
	case No:
		parts = append(parts, "genuine")
	}
	if s := m.Matter.String(); s != "" {
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

// Filter applies Stage only to packets that satisfy Match; the others pass
// through with no delay. The inner stage's state (Gilbert-Elliott state,
// rate queue) advances only with matching packets. The zero value (nil
// Stage) passes everything.
type Filter struct {
	Match Match
	Stage Spec
}

// New returns a fresh filter with a fresh inner stage for one directed link.
func (s Filter) New() Stage {
	f := &filter{cfg: s, name: s.String()}
	if s.Stage != nil {
		f.inner = s.Stage.New()
	}
	return f
}

func (s Filter) String() string {
	inner := "pass"
	if s.Stage != nil {
		inner = s.Stage.String()
	}
	return "filter " + s.Match.String() + " { " + inner + " }"
}

type filter struct {
	name  string
	cfg   Filter
	inner Stage
}

func (f *filter) Apply(now clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	if f.inner == nil || !f.cfg.Match.Matches(&p) {
		return append(out, Out{P: p}), Drop{}
	}
	return f.inner.Apply(now, p, rng, out)
}

func (f *filter) String() string { return f.name }

var _ Spec = Filter{}
