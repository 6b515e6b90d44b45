package tlv

import (
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(cleanHex(s))
	require.NoError(t, err)
	return b
}

// TestDecodeErrors: numbered malformed inputs, each with the Kind and the
// offset Validate must report.
func TestDecodeErrors(t *testing.T) {
	for i, tc := range []struct {
		hex    string
		kind   Kind
		offset int
	}{
		/* 1 */ {"19", KindReservedType, 0},
		/* 2 */ {"1f", KindReservedType, 0},
		/* 3 */ {"15 3f 18", KindReservedType, 1},
		/* 4 */ {"18", KindUnexpectedEnd, 0},
		/* 5 */ {"15", KindMissingEnd, 1},
		/* 6 */ {"15 24 01 2a", KindMissingEnd, 4},
		/* 7 */ {"16 16 18", KindMissingEnd, 3},
		/* 8 */ {"15 38 18", KindBadTag, 1}, // end-of-container with a tag
		/* 9 */ {"15 04 2a 18", KindBadTag, 1}, // anonymous member of a structure
		/* 10 */ {"16 24 01 2a 18", KindBadTag, 1}, // tagged member of an array
		/* 11 */ {"01 2a", KindTruncated, 0}, // 2-octet int, 1 octet left
		/* 12 */ {"03 00 00 00 00 00 00 00", KindTruncated, 0},
		/* 13 */ {"24", KindTruncated, 0}, // context tag missing
		/* 14 */ {"e4 f1 ff ed de ed fe 55", KindTruncated, 0}, // 8-octet tag cut
		/* 15 */ {"0c 05 68 69", KindTruncated, 0}, // string past the end
		/* 16 */ {"0d 01", KindTruncated, 0}, // length field cut
		/* 17 */ {"13 ff ff ff ff ff ff ff ff", KindTruncated, 0}, // 2^64-1 octets
		/* 18 */ {"0f 00 00 00 00 00 00 00 80", KindTruncated, 0}, // length > MaxInt64
		/* 19 */ {"0a 00 00 80", KindTruncated, 0},
		/* 20 */ {"0b 00", KindTruncated, 0},
		/* 21 */ {"0c 02 c3 28", KindBadUTF8, 2}, // c3 starts a bad sequence
		/* 22 */ {"15 2c 01 03 61 ff 62 18", KindBadUTF8, 5},
		/* 23 */ {"0c 03 ed a0 80", KindBadUTF8, 2}, // surrogate half
		/* 24 */ {"15 18 18", KindUnexpectedEnd, 2},
	} {
		err := Validate(mustHex(t, tc.hex))
		var de *DecodeError
		require.True(t, errors.As(err, &de), "case %d: %v", i+1, err)
		require.Equal(t, tc.kind, de.Kind, "case %d: %v", i+1, err)
		require.Equal(t, tc.offset, de.Offset, "case %d: %v", i+1, err)
		require.ErrorIs(t, err, tc.kind, "case %d", i+1)
		require.True(t, strings.HasPrefix(err.Error(), "tlv: offset "), err.Error())
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	err := Validate(mustHex(t, "15 24 07 2a 25 09 01"))
	require.EqualError(t, err, "tlv: offset 4: 2-octet integer runs past the end of the input (tag 9)")
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, ContextTag(9), de.Tag)
}

// TestWalk reads a structure the way a message decoder does: known tags are
// read, an unknown member (here a nested structure) is stepped over by Next,
// and Exit leaves early.
func TestWalk(t *testing.T) {
	var w Writer
	w.StartStruct(AnonymousTag())
	w.PutUint(ContextTag(1), 0x1234)
	w.StartStruct(ContextTag(8)) // unknown to the reader below
	w.PutString(ContextTag(1), "skip me")
	w.StartArray(ContextTag(2))
	w.PutNull(AnonymousTag())
	w.EndContainer()
	w.EndContainer()
	w.PutBytes(ContextTag(2), []byte{1, 2, 3})
	w.PutInt(ContextTag(3), -5)
	w.StartList(ContextTag(4))
	w.PutBool(AnonymousTag(), true)
	w.PutBool(AnonymousTag(), false)
	w.EndContainer()
	w.EndContainer()
	w.PutNull(CommonProfileTag(7)) // second top-level element
	require.Equal(t, 0, w.Open())

	r := NewReader(w.Bytes())
	require.NoError(t, r.Next())
	require.Equal(t, Struct, r.Type())
	require.Equal(t, 0, r.Offset())
	require.NoError(t, r.Enter())
	require.Equal(t, 1, r.Depth())

	var got []Tag
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, r.Tag())
		switch r.Tag() {
		case ContextTag(1):
			v, err := r.Uint16()
			require.NoError(t, err)
			require.Equal(t, uint16(0x1234), v)
			_, err = r.Uint8()
			require.ErrorIs(t, err, KindOverflow)
		case ContextTag(2):
			b, err := r.Bytes()
			require.NoError(t, err)
			require.Equal(t, []byte{1, 2, 3}, b)
			require.Equal(t, len(b), cap(b), "capacity limited: append cannot clobber the input")
		case ContextTag(3):
			v, err := r.Int8()
			require.NoError(t, err)
			require.Equal(t, int8(-5), v)
			_, err = r.Uint()
			require.ErrorIs(t, err, KindOverflow)
		case ContextTag(4):
			require.NoError(t, r.Enter())
			require.NoError(t, r.Next())
			v, err := r.Bool()
			require.NoError(t, err)
			require.True(t, v)
			require.NoError(t, r.Exit()) // second bool left unread
		}
	}
	require.Equal(t, []Tag{ContextTag(1), ContextTag(8), ContextTag(2), ContextTag(3), ContextTag(4)}, got)
	require.ErrorIs(t, r.Next(), io.EOF, "stays at the end until Exit")
	require.NoError(t, r.Exit())
	require.Equal(t, 0, r.Depth())
	require.NoError(t, r.Next())
	require.True(t, r.IsNull())
	require.Equal(t, CommonProfileTag(7), r.Tag())
	require.ErrorIs(t, r.Next(), io.EOF)
	require.ErrorIs(t, r.Next(), io.EOF)
	require.ErrorIs(t, r.Exit(), KindState)
}

func TestExitSkipsUnreadNestedMembers(t *testing.T) {
	b := mustHex(t, "15 35 01 36 02 04 01 04 02 18 18 24 03 07 18 24 04 09")
	r := NewReader(b)
	require.NoError(t, r.Next())
	require.NoError(t, r.Enter())
	require.NoError(t, r.Next()) // 1: struct
	require.NoError(t, r.Enter())
	require.NoError(t, r.Next()) // 2: array, not entered
	require.NoError(t, r.Exit()) // leaves struct 1, skipping the array
	require.NoError(t, r.Next())
	require.Equal(t, ContextTag(3), r.Tag())
	require.NoError(t, r.Exit())
	require.NoError(t, r.Next())
	require.Equal(t, ContextTag(4), r.Tag())
	v, err := r.Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(9), v)
}

func TestAccessors(t *testing.T) {
	next := func(h string) *Reader {
		r := NewReader(mustHex(t, h))
		require.NoError(t, r.Next())
		return r
	}
	// Unsigned from signed and back (spec allows any width; the SDK is stricter).
	v, err := next("00 05").Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(5), v)
	_, err = next("00 ff").Uint()
	require.ErrorIs(t, err, KindOverflow)
	i, err := next("04 ff").Int()
	require.NoError(t, err)
	require.Equal(t, int64(255), i)
	_, err = next("07 ff ff ff ff ff ff ff ff").Int()
	require.ErrorIs(t, err, KindOverflow)
	i, err = next("07 ff ff ff ff ff ff ff 7f").Int()
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), i)
	i8, err := next("03 80 ff ff ff ff ff ff ff").Int8()
	require.NoError(t, err)
	require.Equal(t, int8(-128), i8)
	_, err = next("01 7f ff").Int8()
	require.ErrorIs(t, err, KindOverflow)
	i16, err := next("02 00 80 ff ff").Int16()
	require.NoError(t, err)
	require.Equal(t, int16(math.MinInt16), i16)
	_, err = next("02 ff ff ff 7f").Int16()
	require.ErrorIs(t, err, KindOverflow)
	i32, err := next("02 ff ff ff 7f").Int32()
	require.NoError(t, err)
	require.Equal(t, int32(math.MaxInt32), i32)
	u32, err := next("07 ff ff ff ff 00 00 00 00").Uint32()
	require.NoError(t, err)
	require.Equal(t, uint32(math.MaxUint32), u32)
	_, err = next("07 00 00 00 00 01 00 00 00").Uint32()
	require.ErrorIs(t, err, KindOverflow)

	// Wrong types.
	_, err = next("09").Uint()
	require.ErrorIs(t, err, KindWrongType)
	_, err = next("04 01").Bool()
	require.ErrorIs(t, err, KindWrongType)
	_, err = next("10 00").String()
	require.ErrorIs(t, err, KindWrongType)
	_, err = next("0c 00").Bytes()
	require.ErrorIs(t, err, KindWrongType)
	_, err = next("14").Float()
	require.ErrorIs(t, err, KindWrongType)
	require.ErrorIs(t, next("04 01").Enter(), KindWrongType)
	var zero Reader
	_, err = zero.Uint()
	require.ErrorIs(t, err, KindState)
	require.ErrorIs(t, zero.Next(), io.EOF, "zero Reader reads an empty input")

	// Floats.
	f, err := next("0a 33 33 8f 41").Float()
	require.NoError(t, err)
	require.Equal(t, float64(float32(17.9)), f)
	f32, err := next("0b 00 00 00 00 00 00 f8 3f").Float32()
	require.NoError(t, err)
	require.Equal(t, float32(1.5), f32)
	_, err = next("0b 66 66 66 66 66 e6 31 40").Float32()
	require.ErrorIs(t, err, KindOverflow, "17.9 is not exact in float32")

	// Strings alias the input; Raw does not move the reader.
	b := mustHex(t, "15 2c 01 02 68 69 18 04 07")
	r := NewReader(b)
	require.NoError(t, r.Next())
	raw, err := r.Raw()
	require.NoError(t, err)
	require.Equal(t, b[:7], raw)
	require.NoError(t, r.Enter())
	require.NoError(t, r.Next())
	s, err := r.String()
	require.NoError(t, err)
	require.Equal(t, "hi", s)
	raw, err = r.Raw()
	require.NoError(t, err)
	require.Equal(t, b[1:6], raw)
	require.NoError(t, r.Exit())
	require.NoError(t, r.Next())
	require.Equal(t, 7, r.Offset())
	require.NoError(t, r.Skip())
	require.ErrorIs(t, r.Next(), io.EOF)
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("17", 40) + strings.Repeat("18", 40)
	require.ErrorIs(t, Validate(mustHex(t, deep)), KindTooDeep, "default depth 32")

	r := NewReader(nil)
	r.SetLimits(Limits{MaxDepth: 3})
	r.Reset(mustHex(t, "17 17 17 18 18 18"))
	_, _, err := decodeTree(mustHex(t, "17 17 17 18 18 18"), Limits{MaxDepth: 3})
	require.NoError(t, err)
	_, _, err = decodeTree(mustHex(t, "17 17 17 17 18 18 18 18"), Limits{MaxDepth: 3})
	require.ErrorIs(t, err, KindTooDeep)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, 3, de.Offset)

	// Skipping an unentered container enforces the same depth limit.
	r.SetLimits(Limits{MaxDepth: 2})
	r.Reset(mustHex(t, "17 17 17 18 18 18"))
	require.NoError(t, r.Next())
	require.ErrorIs(t, r.Next(), KindTooDeep)

	_, _, err = decodeTree(mustHex(t, "14 14 14"), Limits{MaxElements: 3})
	require.NoError(t, err)
	_, _, err = decodeTree(mustHex(t, "14 14 14 14"), Limits{MaxElements: 3})
	require.ErrorIs(t, err, KindTooManyElements)

	// MaxDepth above the cap is clamped, not an out-of-range index.
	_, _, err = decodeTree(mustHex(t, strings.Repeat("17", 70)+strings.Repeat("18", 70)), Limits{MaxDepth: 1000})
	require.ErrorIs(t, err, KindTooDeep)
}

func TestStickyError(t *testing.T) {
	r := NewReader(mustHex(t, "15 1f 18"))
	require.NoError(t, r.Next())
	require.NoError(t, r.Enter())
	err := r.Next()
	require.ErrorIs(t, err, KindReservedType)
	require.Equal(t, err, r.Next())
	require.Equal(t, err, r.Exit())
	require.Equal(t, err, r.Skip())
	require.Equal(t, None, r.Type())
}

func TestTopLevelContextTagAccepted(t *testing.T) {
	// The spec's example table encodes "1 = 42U" at top level; the SDK's
	// reader would reject it outside a container. We accept it so that an
	// element cut out with Raw can be decoded on its own.
	require.NoError(t, Validate(mustHex(t, "24 01 2a")))
}

func TestWriterPanicsOnMisuse(t *testing.T) {
	var w Writer
	require.Panics(t, func() { w.EndContainer() })
	require.Panics(t, func() { w.PutUintWidth(AnonymousTag(), 256, 1) })
	require.Panics(t, func() { w.PutIntWidth(AnonymousTag(), 128, 1) })
	require.Panics(t, func() { w.PutIntWidth(AnonymousTag(), 1, 3) })
	require.Panics(t, func() { w.PutStringWidth(AnonymousTag(), strings.Repeat("x", 256), 1) })
	require.Panics(t, func() { w.PutNull(Tag{Form: Context, Number: 256}) })
	require.Panics(t, func() { w.PutNull(Tag{Form: 9}) })
}

func TestWriterShortestForms(t *testing.T) {
	for i, tc := range []struct {
		put  func(w *Writer)
		want string
	}{
		{func(w *Writer) { w.PutInt(AnonymousTag(), 127) }, "007f"},
		{func(w *Writer) { w.PutInt(AnonymousTag(), 128) }, "018000"},
		{func(w *Writer) { w.PutInt(AnonymousTag(), -129) }, "017fff"},
		{func(w *Writer) { w.PutInt(AnonymousTag(), math.MinInt32) }, "0200000080"},
		{func(w *Writer) { w.PutInt(AnonymousTag(), math.MinInt32-1) }, "03ffffff7fffffffff"},
		{func(w *Writer) { w.PutUint(AnonymousTag(), 256) }, "050001"},
		{func(w *Writer) { w.PutUint(AnonymousTag(), 1<<32) }, "070000000001000000"},
		{func(w *Writer) { w.PutBytes(ContextTag(1), make([]byte, 256)) }, "31 01 00 01" + strings.Repeat("00", 256)},
		{func(w *Writer) { w.PutString(CommonProfileTag(0xFFFF), "") }, "4cffff00"},
		{func(w *Writer) { w.PutString(CommonProfileTag(0x10000), "") }, "6c0000010000"},
		{func(w *Writer) { w.PutNull(ImplicitProfileTag(1)) }, "940100"},
		{func(w *Writer) { w.PutNull(ImplicitProfileTag(0x10000)) }, "b400000100"},
		{func(w *Writer) { w.PutNull(FullyQualifiedTag(1, 2, 3)) }, "d4010002000300"},
		{func(w *Writer) { w.PutNull(FullyQualifiedTag(1, 2, 0x10000)) }, "f40100020000000100"},
		{func(w *Writer) { w.PutFloat32(AnonymousTag(), 1.5) }, "0a0000c03f"},
		{func(w *Writer) { w.PutFloat64(AnonymousTag(), 1.5) }, "0b000000000000f83f"},
		{func(w *Writer) { w.AppendRaw([]byte{0x15, 0x18}) }, "1518"},
	} {
		var w Writer
		tc.put(&w)
		require.Equal(t, cleanHex(tc.want), hex.EncodeToString(w.Bytes()), "case %d", i+1)
		require.Equal(t, len(w.Bytes()), w.Len())
	}
	w := NewWriter([]byte{0xAA})
	w.PutBool(AnonymousTag(), true)
	require.Equal(t, []byte{0xAA, 0x09}, w.Bytes(), "NewWriter appends to dst")
	w.Reset()
	require.Equal(t, 0, w.Len())
}

func TestTagString(t *testing.T) {
	require.Equal(t, "anonymous", AnonymousTag().String())
	require.Equal(t, "7", ContextTag(7).String())
	require.Equal(t, "Matter::100000", CommonProfileTag(100000).String())
	require.Equal(t, "Implicit::2", ImplicitProfileTag(2).String())
	require.Equal(t, "0xFFF1::0xDEED:1", FullyQualifiedTag(0xFFF1, 0xDEED, 1).String())
	require.NotEqual(t, CommonProfileTag(1), FullyQualifiedTag(0, 0, 1))
	require.Equal(t, "struct", Struct.String())
	require.Equal(t, "type(99)", Type(99).String())
	require.Equal(t, "tlv: wrong type", KindWrongType.Error())
}
