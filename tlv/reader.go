package tlv

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
	"unsafe"
)

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxDepth    = 32      // containers open at once
	DefaultMaxElements = 1 << 20 // elements read per input
	// MaxDepthCap bounds Limits.MaxDepth: the reader keeps its container
	// stack in a fixed array so that walking never allocates.
	MaxDepthCap = 64
)

// Limits bound the work a Reader does on one input. Zero fields take the
// defaults; MaxDepth above MaxDepthCap is treated as MaxDepthCap.
type Limits struct {
	MaxDepth    int // maximum containers open at once (Enter fails beyond it)
	MaxElements int // maximum elements (not counting end-of-container markers) per Reset
}

func (l Limits) resolved() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxDepth > MaxDepthCap {
		l.MaxDepth = MaxDepthCap
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	return l
}

// Reader walks TLV elements in a caller-owned buffer without allocating.
//
// Typical use:
//
//	r := tlv.NewReader(b)
//	if err := r.Next(); err != nil { ... }       // the outer anonymous struct
//	if err := r.Enter(); err != nil { ... }
//	for {
//		err := r.Next()
//		if err == io.EOF { break }               // end of the structure
//		if err != nil { return err }
//		switch r.Tag() {
//		case tlv.ContextTag(1): v, err := r.Uint() ...
//		default:                                 // unknown tags: just call Next
//		}
//	}
//	if err := r.Exit(); err != nil { ... }
//
// Next skips any part of the current element the caller did not read,
// including a whole container that was not entered, so unknown members are
// ignored by simply moving on. Structural errors (truncation, reserved
// types, misplaced tags, missing end-of-container, limits) are sticky:
// once Next, Enter, Exit or Skip returns one, they keep returning it.
// UTF-8 is checked by String, not while skipping. The reader checks the
// tag rules of containers (array members anonymous, structure members
// tagged, spec A.6) but not that structure tags are unique: a decoder that
// cares sees each member and can reject a repeat. Unlike the C++ SDK it
// accepts context tags at top level, as the spec's example table does.
//
// Strings and byte slices returned by String, Bytes and Raw alias the input:
// they are valid as long as the caller keeps the buffer unmodified. Copy
// them (strings.Clone, bytes.Clone) to keep them longer.
//
// The zero Reader reads an empty input with default limits. A Reader is not
// safe for concurrent use.
type Reader struct {
	buf []byte
	lim Limits // as set; eff is lim with defaults applied
	eff Limits
	err error // sticky structural error

	pos   int // next unread byte
	count int // elements read

	// Current element; typ is None when there is none.
	start     int
	typ       Type
	et        byte // encoded element type (low 5 bits of the control octet)
	tag       Tag
	val       uint64 // ints (sign-extended), float bits
	voff      int    // strings: offset of the value
	vlen      int    // strings: length of the value
	unentered bool   // current element is a container whose contents lie ahead

	depth int
	done  bool // the current container's end-of-container was read
	kinds [MaxDepthCap]Type
}

// NewReader returns a reader over b with default limits.
func NewReader(b []byte) *Reader {
	r := &Reader{}
	r.Reset(b)
	return r
}

// Reset makes r read b from the start, keeping its limits.
func (r *Reader) Reset(b []byte) {
	lim := r.lim
	*r = Reader{buf: b, lim: lim, eff: lim.resolved(), start: -1}
}

// SetLimits changes the limits; call it before reading.
func (r *Reader) SetLimits(l Limits) { r.lim, r.eff = l, l.resolved() }

// limits returns the effective limits (the zero Reader has none resolved yet).
func (r *Reader) limits() Limits {
	if r.eff.MaxDepth == 0 {
		r.eff = r.lim.resolved()
	}
	return r.eff
}

// Type returns the type of the current element, or None.
func (r *Reader) Type() Type { return r.typ }

// Tag returns the tag of the current element (anonymous if none).
func (r *Reader) Tag() Tag { return r.tag }

// Offset returns the offset of the current element's control octet, or,
// when there is no current element, the offset of the next unread byte.
func (r *Reader) Offset() int {
	if r.typ != None {
		return r.start
	}
	return r.pos
}

// Depth returns the number of containers entered and not exited.
func (r *Reader) Depth() int { return r.depth }

// Next moves to the next element of the current container (or of the top
// level). It returns io.EOF at the end of the container (after consuming
// its end-of-container marker) or at the end of the input at top level,
// and keeps returning io.EOF until Exit.
func (r *Reader) Next() error {
	if r.err != nil {
		return r.err
	}
	if r.unentered {
		if err := r.skipContents(); err != nil {
			return err
		}
	}
	r.clear()
	if r.done {
		return io.EOF
	}
	if r.pos >= len(r.buf) {
		if r.depth == 0 {
			r.done = true
			return io.EOF
		}
		return r.fail(len(r.buf), Tag{}, KindMissingEnd,
			fmt.Sprintf("input ends inside a %s (depth %d) with no end-of-container", r.kinds[r.depth-1], r.depth))
	}
	start := r.pos
	ctl := r.buf[start]
	et, tc := ctl&0x1F, ctl>>5
	if et >= etReserved {
		return r.fail(start, Tag{}, KindReservedType, fmt.Sprintf("reserved element type 0x%02X", et))
	}
	if et == etEnd {
		if tc != tcAnonymous {
			return r.fail(start, Tag{}, KindBadTag, "end-of-container with a tag")
		}
		if r.depth == 0 {
			return r.fail(start, Tag{}, KindUnexpectedEnd, "end-of-container outside any container")
		}
		r.pos = start + 1
		r.done = true
		return io.EOF
	}
	r.count++
	if r.count > r.limits().MaxElements {
		return r.fail(start, Tag{}, KindTooManyElements, fmt.Sprintf("more than %d elements", r.limits().MaxElements))
	}
	p := start + 1
	n := tagSizes[tc]
	if len(r.buf)-p < n {
		return r.fail(start, Tag{}, KindTruncated, fmt.Sprintf("%d-octet tag runs past the end of the input", n))
	}
	tag := decodeTag(tc, r.buf[p:p+n])
	p += n
	if r.depth > 0 {
		switch r.kinds[r.depth-1] {
		case Struct:
			if tag.Form == Anonymous {
				return r.fail(start, tag, KindBadTag, "anonymous member in a structure")
			}
		case Array:
			if tag.Form != Anonymous {
				return r.fail(start, tag, KindBadTag, "tagged member in an array")
			}
		}
	}
	var typ Type
	var val uint64
	voff, vlen := 0, 0
	switch {
	case et < etFalse: // integers 0x00..0x07
		w := 1 << (et & 3)
		if len(r.buf)-p < w {
			return r.fail(start, tag, KindTruncated, fmt.Sprintf("%d-octet integer runs past the end of the input", w))
		}
		val = readLE(r.buf[p:], w)
		p += w
		if et < etUint8 {
			typ = Int
			sh := uint(64 - 8*w)
			val = uint64(int64(val<<sh) >> sh) // sign-extend
		} else {
			typ = Uint
		}
	case et == etFalse || et == etTrue:
		typ, val = Bool, uint64(et&1)
	case et == etFloat32 || et == etFloat64:
		w, t := 4, Float32
		if et == etFloat64 {
			w, t = 8, Float64
		}
		if len(r.buf)-p < w {
			return r.fail(start, tag, KindTruncated, fmt.Sprintf("%s runs past the end of the input", t))
		}
		typ, val = t, readLE(r.buf[p:], w)
		p += w
	case et < etNull: // strings 0x0C..0x13
		typ = UTF8
		if et >= etBytesL1 {
			typ = Bytes
		}
		w := 1 << (et & 3)
		if len(r.buf)-p < w {
			return r.fail(start, tag, KindTruncated, fmt.Sprintf("%d-octet length runs past the end of the input", w))
		}
		l := readLE(r.buf[p:], w)
		p += w
		if l > uint64(len(r.buf)-p) {
			return r.fail(start, tag, KindTruncated,
				fmt.Sprintf("%s of length %d runs past the end of the input (%d octets left)", typ, l, len(r.buf)-p))
		}
		voff, vlen = p, int(l)
		p += int(l)
	case et == etNull:
		typ = Null
	default: // 0x15..0x17
		typ = [...]Type{Struct, Array, List}[et-etStruct]
	}
	r.pos = p
	r.start, r.typ, r.et, r.tag, r.val, r.voff, r.vlen = start, typ, et, tag, val, voff, vlen
	r.unentered = typ.IsContainer()
	return nil
}

func decodeTag(tc byte, b []byte) Tag {
	switch tc {
	case tcContext:
		return Tag{Form: Context, Number: uint32(b[0])}
	case tcCommon2:
		return Tag{Form: CommonProfile, Number: uint32(readLE(b, 2))}
	case tcCommon4:
		return Tag{Form: CommonProfile, Number: uint32(readLE(b, 4))}
	case tcImplicit2:
		return Tag{Form: ImplicitProfile, Number: uint32(readLE(b, 2))}
	case tcImplicit4:
		return Tag{Form: ImplicitProfile, Number: uint32(readLE(b, 4))}
	case tcFull6, tcFull8:
		return Tag{Form: FullyQualified, Vendor: uint16(readLE(b, 2)), Profile: uint16(readLE(b[2:], 2)),
			Number: uint32(readLE(b[4:], len(b)-4))}
	}
	return Tag{}
}

func readLE(b []byte, w int) uint64 {
	switch w {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *Reader) clear() {
	r.start, r.typ, r.et, r.tag, r.unentered = -1, None, 0, Tag{}, false
}

func (r *Reader) fail(off int, t Tag, k Kind, reason string) error {
	r.clear()
	r.err = &DecodeError{Offset: off, Tag: t, Kind: k, Reason: reason}
	return r.err
}

// misuse reports a non-sticky error about the current element.
func (r *Reader) misuse(k Kind, reason string) error {
	return &DecodeError{Offset: r.Offset(), Tag: r.tag, Kind: k, Reason: reason}
}

// Enter descends into the current element, which must be a structure,
// array or list that has not been skipped. Next then walks its members.
func (r *Reader) Enter() error {
	if r.err != nil {
		return r.err
	}
	if !r.unentered {
		if r.typ.IsContainer() {
			return r.misuse(KindState, "container already entered or skipped")
		}
		return r.misuse(KindWrongType, fmt.Sprintf("Enter on %s, want struct, array or list", r.typ))
	}
	if r.depth >= r.limits().MaxDepth {
		return r.fail(r.start, r.tag, KindTooDeep, fmt.Sprintf("nesting deeper than %d", r.limits().MaxDepth))
	}
	r.kinds[r.depth] = r.typ
	r.depth++
	r.done = false
	r.clear()
	return nil
}

// Exit leaves the container entered last, skipping its unread members and
// consuming its end-of-container. Call Next afterwards to continue in the
// enclosing container.
func (r *Reader) Exit() error {
	if r.err != nil {
		return r.err
	}
	if r.depth == 0 {
		return r.misuse(KindState, "Exit at top level")
	}
	for !r.done {
		if err := r.Next(); err != nil && err != io.EOF {
			return err
		}
	}
	r.depth--
	r.done = false
	r.clear()
	return nil
}

// Skip skips the current element; for a container that was not entered it
// skips the whole container. Next would do the same; Skip is for clarity
// and for validating a container's contents without reading them.
func (r *Reader) Skip() error {
	if r.err != nil {
		return r.err
	}
	if r.unentered {
		if err := r.skipContents(); err != nil {
			return err
		}
	}
	r.clear()
	return nil
}

// skipContents walks the current unentered container to its end.
func (r *Reader) skipContents() error {
	if err := r.Enter(); err != nil {
		return err
	}
	return r.Exit()
}

// Raw returns the encoded bytes of the current element, from its control
// octet to its end (for a container, through its end-of-container). The
// slice aliases the input. It does not move the reader.
func (r *Reader) Raw() ([]byte, error) {
	if r.typ == None {
		return nil, r.misuse(KindState, "no current element")
	}
	if !r.unentered {
		if r.typ.IsContainer() {
			return nil, r.misuse(KindState, "container already entered")
		}
		return r.buf[r.start:r.pos:r.pos], nil
	}
	cp := *r // walks a copy: r keeps its position
	if err := cp.skipContents(); err != nil {
		return nil, err
	}
	return r.buf[r.start:cp.pos:cp.pos], nil
}

// Uint returns an unsigned integer of any width, or a signed one that is
// not negative.
func (r *Reader) Uint() (uint64, error) {
	switch r.typ {
	case Uint:
		return r.val, nil
	case Int:
		if int64(r.val) < 0 {
			return 0, r.misuse(KindOverflow, fmt.Sprintf("negative value %d for an unsigned integer", int64(r.val)))
		}
		return r.val, nil
	}
	return 0, r.wrongType("integer")
}

// Int returns a signed integer of any width, or an unsigned one that fits
// in int64.
func (r *Reader) Int() (int64, error) {
	switch r.typ {
	case Int:
		return int64(r.val), nil
	case Uint:
		if r.val > math.MaxInt64 {
			return 0, r.misuse(KindOverflow, fmt.Sprintf("value %d does not fit in int64", r.val))
		}
		return int64(r.val), nil
	}
	return 0, r.wrongType("integer")
}

func (r *Reader) uintN(bits int) (uint64, error) {
	v, err := r.Uint()
	if err == nil && bits < 64 && v>>bits != 0 {
		return 0, r.misuse(KindOverflow, fmt.Sprintf("value %d does not fit in uint%d", v, bits))
	}
	return v, err
}

func (r *Reader) intN(bits int) (int64, error) {
	v, err := r.Int()
	if err == nil && bits < 64 {
		if lim := int64(1) << (bits - 1); v < -lim || v >= lim {
			return 0, r.misuse(KindOverflow, fmt.Sprintf("value %d does not fit in int%d", v, bits))
		}
	}
	return v, err
}

// Uint8 is Uint checked to fit in uint8.
func (r *Reader) Uint8() (uint8, error) { v, err := r.uintN(8); return uint8(v), err }

// Uint16 is Uint checked to fit in uint16.
func (r *Reader) Uint16() (uint16, error) { v, err := r.uintN(16); return uint16(v), err }

// Uint32 is Uint checked to fit in uint32.
func (r *Reader) Uint32() (uint32, error) { v, err := r.uintN(32); return uint32(v), err }

// Int8 is Int checked to fit in int8.
func (r *Reader) Int8() (int8, error) { v, err := r.intN(8); return int8(v), err }

// Int16 is Int checked to fit in int16.
func (r *Reader) Int16() (int16, error) { v, err := r.intN(16); return int16(v), err }

// Int32 is Int checked to fit in int32.
func (r *Reader) Int32() (int32, error) { v, err := r.intN(32); return int32(v), err }

// Bool returns a boolean.
func (r *Reader) Bool() (bool, error) {
	if r.typ != Bool {
		return false, r.wrongType("bool")
	}
	return r.val == 1, nil
}

// Float returns a float32 (widened exactly) or float64.
func (r *Reader) Float() (float64, error) {
	switch r.typ {
	case Float32:
		return float64(math.Float32frombits(uint32(r.val))), nil
	case Float64:
		return math.Float64frombits(r.val), nil
	}
	return 0, r.wrongType("float")
}

// Float32 returns a float32, or a float64 whose value a float32 holds exactly.
func (r *Reader) Float32() (float32, error) {
	switch r.typ {
	case Float32:
		return math.Float32frombits(uint32(r.val)), nil
	case Float64:
		f := math.Float64frombits(r.val)
		if g := float32(f); float64(g) == f || f != f {
			return g, nil
		}
		return 0, r.misuse(KindOverflow, fmt.Sprintf("float64 %g is not exact as float32", f))
	}
	return 0, r.wrongType("float")
}

// String returns a UTF-8 string after checking it is valid UTF-8 (spec
// A.11.2). The string aliases the input buffer (no copy): it changes if the
// buffer does. Use strings.Clone to keep it independently.
func (r *Reader) String() (string, error) {
	if r.typ != UTF8 {
		return "", r.wrongType("utf8")
	}
	b := r.buf[r.voff : r.voff+r.vlen]
	if !utf8.Valid(b) {
		bad := 0
		for bad < len(b) {
			c, size := utf8.DecodeRune(b[bad:])
			if c == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		return "", &DecodeError{Offset: r.voff + bad, Tag: r.tag, Kind: KindBadUTF8,
			Reason: fmt.Sprintf("invalid UTF-8 at octet %d of the string", bad)}
	}
	if len(b) == 0 {
		return "", nil
	}
	return unsafe.String(&b[0], len(b)), nil
}

// Bytes returns an octet string. The slice aliases the input buffer and
// its capacity ends at its length, so appending to it copies.
func (r *Reader) Bytes() ([]byte, error) {
	if r.typ != Bytes {
		return nil, r.wrongType("bytes")
	}
	return r.buf[r.voff : r.voff+r.vlen : r.voff+r.vlen], nil
}

// IsNull reports whether the current element is a null.
func (r *Reader) IsNull() bool { return r.typ == Null }

func (r *Reader) wrongType(want string) error {
	if r.typ == None {
		return r.misuse(KindState, "no current element (call Next first)")
	}
	return r.misuse(KindWrongType, fmt.Sprintf("element is %s, want %s", r.typ, want))
}

// width returns the encoded width of the current integer value or string
// length field (1, 2, 4, 8), or 0 for other types.
func (r *Reader) width() int {
	switch r.typ {
	case Int, Uint, UTF8, Bytes:
		return 1 << (r.et & 3)
	}
	return 0
}

// Validate walks all of b and reports the first structural error, including
// invalid UTF-8 strings. It accepts any number of top-level elements.
func Validate(b []byte) error {
	var r Reader
	r.Reset(b)
	for {
		err := r.Next()
		if err == io.EOF {
			if r.depth == 0 {
				return nil
			}
			if err := r.Exit(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case r.typ.IsContainer():
			if err := r.Enter(); err != nil {
				return err
			}
		case r.typ == UTF8:
			if _, err := r.String(); err != nil {
				return err
			}
		}
	}
}
