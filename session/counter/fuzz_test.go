package counter

import (
	"encoding/binary"
	"testing"
)

// FuzzWindow feeds a counter sequence (4 bytes each, little-endian; the
// first byte picks policy and size) to a Window and the naive model and
// checks they agree on every verdict and state, and that Verify never
// changes state.
func FuzzWindow(f *testing.F) {
	seed := func(sel byte, cs ...uint32) []byte {
		b := []byte{sel}
		for _, c := range cs {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
		return b
	}
	f.Add(seed(0, 0x64, 0x64, 0x63, 0x65, 0x45, 0x44, 0x85, 0xc8))
	f.Add(seed(1, 0x3e8, 0x3e7, 0x3c8, 0x3c7, 0x800003e7, 0xffffffff, 0))
	f.Add(seed(2, 0x1f4, 0x1f3, 0xa, 0x1f4, 0xffffffff, 0, 0xffffffff))
	f.Add(seed(3*64+31, 5, 6, 7, 4, 70, 6))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		p := Policy(b[0] % 3)
		size := int(b[0]/3)%MaxWindowSize + 1
		w, err := NewWindow(p, size)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(p, size)
		for b = b[1:]; len(b) >= 4; b = b[4:] {
			c := binary.LittleEndian.Uint32(b)
			before := w
			got := w.Verify(c)
			if w != before {
				t.Fatalf("Verify(%#x) changed state", c)
			}
			if want := m.classify(int64(c)); got != want {
				t.Fatalf("%s size %d: Verify(%#x) = %s, model %s (state %s)", p, size, c, got, want, &w)
			}
			w.Commit(c)
			if got.Accepted() {
				m.commit(int64(c))
			}
			if uint32(m.max) != w.Max() || m.bitmap() != w.Bitmap() {
				t.Fatalf("after %#x: window %s, model max=%#x bits=%#x", c, &w, m.max, m.bitmap())
			}
		}
	})
}
