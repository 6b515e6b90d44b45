package tlv

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Writer appends TLV elements to a byte slice. The zero value is an empty
// writer ready to use. By default every element uses its shortest encoding
// (spec A.7: integer width, string length width, tag form); the *Width
// variants force a width. A Writer is not safe for concurrent use.
//
// Misuse by the program (EndContainer with no open container, an invalid
// width, a value that does not fit a forced width, a context tag above 255)
// panics. The writer does not check structural rules such as "array members
// are anonymous" or "structure tags are unique": that is the caller's job.
type Writer struct {
	buf  []byte
	open int
}

// NewWriter returns a writer that appends to dst (which may be nil).
func NewWriter(dst []byte) *Writer { return &Writer{buf: dst} }

// Bytes returns the encoded bytes. The slice aliases the writer's buffer
// and is valid until the next write or Reset.
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of bytes written (including any prefix given to NewWriter).
func (w *Writer) Len() int { return len(w.buf) }

// Reset empties the writer, keeping its buffer's capacity.
func (w *Writer) Reset() { w.buf, w.open = w.buf[:0], 0 }

// Open returns the number of containers started and not yet ended.
func (w *Writer) Open() int { return w.open }

// PutUint writes an unsigned integer in the fewest octets (1, 2, 4 or 8).
func (w *Writer) PutUint(t Tag, v uint64) { w.PutUintWidth(t, v, uintWidth(v)) }

// PutUintWidth writes an unsigned integer with exactly width octets
// (1, 2, 4 or 8). It panics if v does not fit.
func (w *Writer) PutUintWidth(t Tag, v uint64, width int) {
	code := widthCode(width)
	if width < 8 && v>>(8*width) != 0 {
		panic(fmt.Sprintf("tlv: %d does not fit in %d octets", v, width))
	}
	w.buf = appendLE(appendTag(w.buf, t, etUint8|code), v, width)
}

// PutInt writes a signed integer in the fewest octets (1, 2, 4 or 8).
func (w *Writer) PutInt(t Tag, v int64) { w.PutIntWidth(t, v, intWidth(v)) }

// PutIntWidth writes a signed integer with exactly width octets
// (1, 2, 4 or 8), two's complement. It panics if v does not fit.
func (w *Writer) PutIntWidth(t Tag, v int64, width int) {
	code := widthCode(width)
	if width < 8 {
		if lim := int64(1) << (8*width - 1); v < -lim || v >= lim {
			panic(fmt.Sprintf("tlv: %d does not fit in %d octets", v, width))
		}
	}
	w.buf = appendLE(appendTag(w.buf, t, etInt8|code), uint64(v), width)
}

// PutBool writes a boolean (spec A.11: the value is carried by the element type).
func (w *Writer) PutBool(t Tag, v bool) {
	et := byte(etFalse)
	if v {
		et = etTrue
	}
	w.buf = appendTag(w.buf, t, et)
}

// PutFloat32 writes a single-precision float.
func (w *Writer) PutFloat32(t Tag, v float32) {
	w.buf = appendLE(appendTag(w.buf, t, etFloat32), uint64(math.Float32bits(v)), 4)
}

// PutFloat64 writes a double-precision float.
func (w *Writer) PutFloat64(t Tag, v float64) {
	w.buf = appendLE(appendTag(w.buf, t, etFloat64), math.Float64bits(v), 8)
}

// PutString writes a UTF-8 string with the shortest length field. The
// writer does not validate s; the spec requires valid UTF-8 (A.11.2) and
// Reader.String rejects anything else.
func (w *Writer) PutString(t Tag, s string) { w.PutStringWidth(t, s, uintWidth(uint64(len(s)))) }

// PutStringWidth writes a UTF-8 string whose length field has lenWidth
// octets (1, 2, 4 or 8). It panics if the length does not fit.
func (w *Writer) PutStringWidth(t Tag, s string, lenWidth int) {
	w.buf = append(w.putLen(t, etUTF8L1, len(s), lenWidth), s...)
}

// PutBytes writes an octet string with the shortest length field.
func (w *Writer) PutBytes(t Tag, b []byte) { w.PutBytesWidth(t, b, uintWidth(uint64(len(b)))) }

// PutBytesWidth writes an octet string whose length field has lenWidth
// octets (1, 2, 4 or 8). It panics if the length does not fit.
func (w *Writer) PutBytesWidth(t Tag, b []byte, lenWidth int) {
	w.buf = append(w.putLen(t, etBytesL1, len(b), lenWidth), b...)
}

func (w *Writer) putLen(t Tag, base byte, n, width int) []byte {
	code := widthCode(width)
	if width < 8 && uint64(n)>>(8*width) != 0 {
		panic(fmt.Sprintf("tlv: length %d does not fit in %d octets", n, width))
	}
	return appendLE(appendTag(w.buf, t, base|code), uint64(n), width)
}

// PutNull writes a null.
func (w *Writer) PutNull(t Tag) { w.buf = appendTag(w.buf, t, etNull) }

// StartStruct opens a structure; close it with EndContainer.
func (w *Writer) StartStruct(t Tag) { w.start(t, etStruct) }

// StartArray opens an array; its members must be anonymous.
func (w *Writer) StartArray(t Tag) { w.start(t, etArray) }

// StartList opens a list.
func (w *Writer) StartList(t Tag) { w.start(t, etList) }

func (w *Writer) start(t Tag, et byte) {
	w.buf = appendTag(w.buf, t, et)
	w.open++
}

// EndContainer closes the innermost open container. It panics if none is open.
func (w *Writer) EndContainer() {
	if w.open == 0 {
		panic("tlv: EndContainer with no open container")
	}
	w.open--
	w.buf = append(w.buf, etEnd)
}

// AppendRaw appends pre-encoded TLV bytes as they are (for example an
// element obtained from Reader.Raw). It does not check them.
func (w *Writer) AppendRaw(b []byte) { w.buf = append(w.buf, b...) }

func uintWidth(v uint64) int {
	switch {
	case v <= math.MaxUint8:
		return 1
	case v <= math.MaxUint16:
		return 2
	case v <= math.MaxUint32:
		return 4
	}
	return 8
}

func intWidth(v int64) int {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return 1
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 2
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 4
	}
	return 8
}

// widthCode maps an octet width to the low two bits of the element type.
func widthCode(width int) byte {
	switch width {
	case 1:
		return 0
	case 2:
		return 1
	case 4:
		return 2
	case 8:
		return 3
	}
	panic(fmt.Sprintf("tlv: invalid width %d (want 1, 2, 4 or 8)", width))
}

func appendLE(b []byte, v uint64, width int) []byte {
	switch width {
	case 1:
		return append(b, byte(v))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v))
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(b, v)
}
