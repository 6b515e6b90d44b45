package sim

import (
	"bufio"
	"encoding/hex"
	"io"
	"net/netip"
	"strconv"

	"mattersim/clock"
)

// Trace writes one JSON object per line for every network event (frame sent
// into the switch, dropped, delivered) and every event an upper layer adds
// with Event. Field order is fixed and no maps are iterated, so two runs with
// the same seed write byte-identical traces (house style 12).
//
// Line shapes ("t" is virtual nanoseconds since the epoch):
//
//	{"t":1000000,"ev":"send","id":3,"from":0,"to":1,"dst":"fd00:6d73:696d::2","len":72,"sum":"9c0e..."}
//	{"t":1000000,"ev":"drop","id":3,"from":0,"to":1,"by":"partition","why":"sides 0|1"}
//	{"t":2000000,"ev":"deliver","id":3,"from":0,"to":1,"len":72}
//	{"t":2000000,"ev":"session","node":1,"what":"session-opened","sess":"s23749"}
//
// "to" is -1 on a multicast send (the group is in "dst"); deliveries and
// drops of a multicast frame name each member. Frames the switch was handed
// by Network.Inject carry "inj":true. "sum" is the FNV-1a 64 hash of the
// whole IPv6 packet.
//
// The zero value is not usable; call NewTrace. Not safe for concurrent use.
// Writes are buffered; call Flush at the end of a run.
type Trace struct {
	w   *bufio.Writer
	buf []byte
	err error
	n   uint64
}

// NewTrace returns a trace writing to w.
func NewTrace(w io.Writer) *Trace {
	return &Trace{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 256)}
}

// Lines returns the number of lines written.
func (t *Trace) Lines() uint64 { return t.n }

// Flush writes buffered lines and returns the first write error, if any.
func (t *Trace) Flush() error {
	if err := t.w.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

// Field is one key/value pair of an upper-layer event. Build it with Str,
// Int or Bool; the zero value is an empty string field. A plain value.
type Field struct {
	Key   string
	Value string
	num   bool
}

// Str returns a string field.
func Str(key, value string) Field { return Field{Key: key, Value: value} }

// Int returns an integer field.
func Int(key string, v int64) Field {
	return Field{Key: key, Value: strconv.FormatInt(v, 10), num: true}
}

// Bool returns a boolean field, written as JSON true or false (as the
// switch's own "inj":true).
func Bool(key string, v bool) Field {
	return Field{Key: key, Value: strconv.FormatBool(v), num: true}
}

// Event writes an upper-layer event for node (NoNode for none) with fields in
// the given order. kind should be a short lower-case word ("session",
// "mrp", ...).
func (t *Trace) Event(now clock.Time, node int, kind string, fields ...Field) {
	b := t.start(now, kind)
	b = append(b, `,"node":`...)
	b = strconv.AppendInt(b, int64(node), 10)
	for _, f := range fields {
		b = append(b, ',')
		b = appendJSONString(b, f.Key)
		b = append(b, ':')
		if f.num {
			b = append(b, f.Value...)
		} else {
			b = appendJSONString(b, f.Value)
		}
	}
	t.end(b)
}

func (t *Trace) start(now clock.Time, ev string) []byte {
	b := append(t.buf[:0], `{"t":`...)
	b = strconv.AppendInt(b, int64(now), 10)
	b = append(b, `,"ev":`...)
	return appendJSONString(b, ev)
}

func (t *Trace) end(b []byte) {
	b = append(b, "}\n"...)
	t.buf = b
	t.n++
	if _, err := t.w.Write(b); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *Trace) frame(b []byte, id uint64, from, to int) []byte {
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"from":`...)
	b = strconv.AppendInt(b, int64(from), 10)
	b = append(b, `,"to":`...)
	return strconv.AppendInt(b, int64(to), 10)
}

func (t *Trace) send(now clock.Time, id uint64, from, to int, data []byte, injected bool) {
	b := t.start(now, "send")
	b = t.frame(b, id, from, to)
	if len(data) >= 40 {
		b = append(b, `,"dst":"`...)
		b = netip.AddrFrom16([16]byte(data[24:40])).AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, `,"len":`...)
	b = strconv.AppendInt(b, int64(len(data)), 10)
	b = append(b, `,"sum":"`...)
	var s [8]byte
	h := fnv64a(data)
	for i := range s {
		s[i] = byte(h >> (56 - 8*i))
	}
	b = hex.AppendEncode(b, s[:])
	b = append(b, '"')
	if injected {
		b = append(b, `,"inj":true`...)
	}
	t.end(b)
}

func (t *Trace) drop(now clock.Time, id uint64, from, to int, by, why string, injected bool) {
	b := t.start(now, "drop")
	b = t.frame(b, id, from, to)
	b = append(b, `,"by":`...)
	b = appendJSONString(b, by)
	b = append(b, `,"why":`...)
	b = appendJSONString(b, why)
	if injected {
		b = append(b, `,"inj":true`...)
	}
	t.end(b)
}

func (t *Trace) deliver(now clock.Time, id uint64, from, to int, n int, injected bool) {
	b := t.start(now, "deliver")
	b = t.frame(b, id, from, to)
	b = append(b, `,"len":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	if injected {
		b = append(b, `,"inj":true`...)
	}
	t.end(b)
}

func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 passes
// through byte for byte; control characters, quote and backslash are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
