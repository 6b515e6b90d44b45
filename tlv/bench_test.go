package tlv

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchStruct encodes a ~200-byte nested structure shaped like a session
// or Interaction Model payload: integers, strings, bytes, and an array of
// structures.
func benchStruct(w *Writer) {
	w.StartStruct(AnonymousTag())
	w.PutUint(ContextTag(1), 0x1234)
	w.PutInt(ContextTag(2), -300000)
	w.PutString(ContextTag(3), "living-room-light")
	w.PutBytes(ContextTag(4), benchKey[:])
	w.PutBool(ContextTag(5), true)
	w.StartArray(ContextTag(6))
	for i := range 4 {
		w.StartStruct(AnonymousTag())
		w.PutUint(ContextTag(0), uint64(i))
		w.PutUint(ContextTag(1), 0x0006)
		w.PutUint(ContextTag(2), 0xFFF1_0000+uint64(i))
		w.PutString(ContextTag(3), "on-off")
		w.PutNull(ContextTag(4))
		w.EndContainer()
	}
	w.EndContainer()
	w.PutFloat32(ContextTag(7), 21.5)
	w.PutUint(ContextTag(8), 1<<40)
	w.EndContainer()
}

var benchKey = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// walkAll reads every value of b with the streaming reader and returns a
// checksum so the compiler cannot drop the reads.
func walkAll(r *Reader, b []byte) (sum uint64, err error) {
	r.Reset(b)
	for {
		err := r.Next()
		if err == io.EOF {
			if r.Depth() == 0 {
				return sum, nil
			}
			if err := r.Exit(); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		switch r.Type() {
		case Uint:
			v, err := r.Uint()
			if err != nil {
				return 0, err
			}
			sum += v
		case Int:
			v, err := r.Int()
			if err != nil {
				return 0, err
			}
			sum += uint64(v)
		case Bool:
			v, _ := r.Bool()
			if v {
				sum++
			}
		case Float32, Float64:
			f, _ := r.Float()
			sum += uint64(f)
		case UTF8:
			s, err := r.String()
			if err != nil {
				return 0, err
			}
			sum += uint64(len(s))
		case Bytes:
			v, _ := r.Bytes()
			sum += uint64(len(v))
		case Struct, Array, List:
			if err := r.Enter(); err != nil {
				return 0, err
			}
		}
	}
}

func TestBenchStructShape(t *testing.T) {
	var w Writer
	benchStruct(&w)
	require.InDelta(t, 200, w.Len(), 30, "the benchmark payload should stay ~200 bytes")
	require.NoError(t, Validate(w.Bytes()))
}

// TestDecodeStructZeroAllocs asserts the zero-allocation walk the
// benchmark reports (an allocation count, not a timing).
func TestDecodeStructZeroAllocs(t *testing.T) {
	var w Writer
	benchStruct(&w)
	b := w.Bytes()
	var r Reader
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := walkAll(&r, b); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)

	var w2 Writer
	benchStruct(&w2)
	allocs = testing.AllocsPerRun(100, func() {
		w2.Reset()
		benchStruct(&w2)
	})
	require.Zero(t, allocs, "a reused Writer does not allocate")
}

func BenchmarkTLVDecodeStruct(b *testing.B) {
	var w Writer
	benchStruct(&w)
	buf := w.Bytes()
	var r Reader
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := walkAll(&r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTLVEncodeStruct(b *testing.B) {
	var w Writer
	benchStruct(&w)
	b.SetBytes(int64(w.Len()))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		benchStruct(&w)
	}
}

func BenchmarkTLVFormat(b *testing.B) {
	var w Writer
	benchStruct(&w)
	buf := w.Bytes()
	var dst []byte
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendFormat(dst[:0], buf); err != nil {
			b.Fatal(err)
		}
	}
}
