package tlv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// node is a naive model of one TLV element, holding everything needed to
// re-encode it with the same widths: the oracle for property and fuzz tests.
type node struct {
	Tag   Tag
	Type  Type
	Width int    // integer width or string length-field width (octets)
	Bits  uint64 // integers (two's complement), bools, float bits
	Data  []byte // strings and octet strings
	Kids  []node
}

// decodeTree walks b completely. canonicalTags reports whether every tag
// used its shortest form (the only width Writer cannot reproduce).
func decodeTree(b []byte, lim Limits) (nodes []node, canonicalTags bool, err error) {
	var r Reader
	r.SetLimits(lim)
	r.Reset(b)
	canonicalTags = true
	var walk func() ([]node, error)
	walk = func() ([]node, error) {
		var out []node
		for {
			err := r.Next()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if tc := r.buf[r.start] >> 5; tc != minimalTC(r.tag) {
				canonicalTags = false
			}
			n := node{Tag: r.Tag(), Type: r.Type(), Width: r.width()}
			switch r.Type() {
			case Int:
				v, err := r.Int()
				if err != nil {
					return nil, err
				}
				n.Bits = uint64(v)
			case Uint:
				n.Bits, err = r.Uint()
			case Bool:
				var v bool
				v, err = r.Bool()
				if v {
					n.Bits = 1
				}
			case Float32:
				var f float32
				f, err = r.Float32() // not Float: widening would quiet a signalling NaN
				n.Bits = uint64(math.Float32bits(f))
			case Float64:
				var f float64
				f, err = r.Float()
				n.Bits = math.Float64bits(f)
			case UTF8:
				var s string
				s, err = r.String()
				n.Data = []byte(s)
			case Bytes:
				n.Data, err = r.Bytes()
				n.Data = bytes.Clone(n.Data)
			case Null:
			case Struct, Array, List:
				if err := r.Enter(); err != nil {
					return nil, err
				}
				if n.Kids, err = walk(); err != nil {
					return nil, err
				}
				if err := r.Exit(); err != nil {
					return nil, err
				}
			}
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	nodes, err = walk()
	return nodes, canonicalTags, err
}

func minimalTC(t Tag) byte {
	b := appendTag(nil, t, 0)
	return b[0] >> 5
}

// encodeTree writes nodes with Writer, keeping every recorded width.
func encodeTree(w *Writer, nodes []node) {
	for _, n := range nodes {
		switch n.Type {
		case Int:
			w.PutIntWidth(n.Tag, int64(n.Bits), n.Width)
		case Uint:
			w.PutUintWidth(n.Tag, n.Bits, n.Width)
		case Bool:
			w.PutBool(n.Tag, n.Bits == 1)
		case Float32:
			w.PutFloat32(n.Tag, math.Float32frombits(uint32(n.Bits)))
		case Float64:
			w.PutFloat64(n.Tag, math.Float64frombits(n.Bits))
		case UTF8:
			w.PutStringWidth(n.Tag, string(n.Data), n.Width)
		case Bytes:
			w.PutBytesWidth(n.Tag, n.Data, n.Width)
		case Null:
			w.PutNull(n.Tag)
		case Struct, Array, List:
			switch n.Type {
			case Struct:
				w.StartStruct(n.Tag)
			case Array:
				w.StartArray(n.Tag)
			default:
				w.StartList(n.Tag)
			}
			encodeTree(w, n.Kids)
			w.EndContainer()
		}
	}
}

// randTree builds a random valid element list for a container of kind
// parent (None = top level), following the tag rules of spec A.11.
func randTree(rng *rand.Rand, parent Type, depth int) []node {
	n := rng.IntN(5)
	if depth == 0 {
		n = 1 + rng.IntN(2)
	}
	out := make([]node, 0, n)
	for range n {
		out = append(out, randNode(rng, parent, depth))
	}
	return out
}

func randTag(rng *rand.Rand, parent Type) Tag {
	if parent == Array {
		return AnonymousTag()
	}
	k := rng.IntN(6)
	if parent == Struct && k == 0 {
		k = 1
	}
	num := func() uint32 {
		if rng.IntN(2) == 0 {
			return uint32(rng.IntN(0x10000))
		}
		return rng.Uint32()
	}
	switch k {
	case 0:
		return AnonymousTag()
	case 1, 2:
		return ContextTag(uint8(rng.IntN(256)))
	case 3:
		return CommonProfileTag(num())
	case 4:
		return ImplicitProfileTag(num())
	}
	return FullyQualifiedTag(uint16(rng.Uint32()), uint16(rng.Uint32()), num())
}

var widths = []int{1, 2, 4, 8}

func randNode(rng *rand.Rand, parent Type, depth int) node {
	n := node{Tag: randTag(rng, parent)}
	kinds := 11
	if depth >= 5 {
		kinds = 8 // no more containers
	}
	switch rng.IntN(kinds) {
	case 0:
		n.Type = Int
		n.Width = widths[rng.IntN(4)]
		sh := uint(64 - 8*n.Width)
		n.Bits = uint64(int64(rng.Uint64()<<sh) >> sh)
	case 1:
		n.Type = Uint
		n.Width = widths[rng.IntN(4)]
		n.Bits = rng.Uint64() >> uint(64-8*n.Width)
	case 2:
		n.Type, n.Bits = Bool, uint64(rng.IntN(2))
	case 3:
		n.Type, n.Bits = Float32, uint64(rng.Uint32())
	case 4:
		n.Type, n.Bits = Float64, rng.Uint64()
	case 5:
		n.Type = UTF8
		runes := []rune("aZ0 é€😀\"\\\n")
		l := rng.IntN(12)
		var s []rune
		for range l {
			s = append(s, runes[rng.IntN(len(runes))])
		}
		n.Data = []byte(string(s))
		n.Width = widths[rng.IntN(4)]
	case 6:
		n.Type = Bytes
		n.Data = make([]byte, rng.IntN(300))
		for i := range n.Data {
			n.Data[i] = byte(rng.Uint32())
		}
		n.Width = widths[rng.IntN(4)]
		if len(n.Data) > 255 && n.Width == 1 {
			n.Width = 2
		}
	case 7:
		n.Type = Null
	default:
		n.Type = []Type{Struct, Array, List}[rng.IntN(3)]
		n.Kids = randTree(rng, n.Type, depth+1)
	}
	return n
}

// TestPropertyRoundTrip: random trees → encode → decode gives the same
// tree → encode gives the same bytes; Raw of each top-level element
// concatenates back to the input; Format and Validate accept it.
func TestPropertyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		tree := randTree(rng, None, 0)
		var w Writer
		encodeTree(&w, tree)
		enc := bytes.Clone(w.Bytes())

		got, canon, err := decodeTree(enc, Limits{})
		require.NoError(t, err, "case %d: %x", i, enc)
		require.True(t, canon, "case %d", i)
		require.Equal(t, normalize(tree), normalize(got), "case %d: %x", i, enc)

		var w2 Writer
		encodeTree(&w2, got)
		require.Equal(t, enc, w2.Bytes(), "case %d", i)

		require.NoError(t, Validate(enc))
		_, err = Format(enc)
		require.NoError(t, err)

		r := NewReader(enc)
		var cat []byte
		for r.Next() == nil {
			raw, err := r.Raw()
			require.NoError(t, err)
			cat = append(cat, raw...)
		}
		require.Equal(t, enc, cat, "case %d: Raw pieces", i)
	}
}

// normalize makes empty and nil slices compare equal.
func normalize(ns []node) []node {
	out := make([]node, len(ns))
	for i, n := range ns {
		if len(n.Data) == 0 {
			n.Data = nil
		}
		if len(n.Kids) == 0 {
			n.Kids = nil
		} else {
			n.Kids = normalize(n.Kids)
		}
		out[i] = n
	}
	return out
}

// TestTruncations decodes every prefix of every vector: a strict prefix of
// a single-element vector is always a *DecodeError whose offset lies within
// the prefix, nothing panics, and decoding the prefix in place (capacity
// beyond it) and from an exact-capacity copy give identical results, so the
// decoder never looks past the end of its input.
func TestTruncations(t *testing.T) {
	for _, v := range allVectors(t) {
		full, _, err := decodeTree(v.bytes, Limits{})
		require.NoError(t, err)
		single := len(full) == 1
		for n := 0; n < len(v.bytes); n++ {
			inPlace := v.bytes[:n]
			exact := bytes.Clone(inPlace)[:n:n]
			text1, err1 := Format(inPlace)
			text2, err2 := Format(exact)
			require.Equal(t, text1, text2)
			require.Equal(t, fmt.Sprint(err1), fmt.Sprint(err2))
			if n == 0 {
				require.NoError(t, err1, "empty input is an empty sequence")
				continue
			}
			if single {
				require.Error(t, err1, "%s: prefix %d", v.name, n)
			}
			if err1 != nil {
				var de *DecodeError
				require.True(t, errors.As(err1, &de), "%s: %v", v.name, err1)
				require.GreaterOrEqual(t, de.Offset, 0)
				require.LessOrEqual(t, de.Offset, n)
				require.Error(t, Validate(exact))
			}
		}
	}
}
