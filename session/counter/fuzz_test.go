package counter

import (
	"encoding/binary"
	"testing"
)

// FuzzWindow feeds a counter sequence (4 bytes each, little-endian; the
// first byte picks policy and size, the second the initialisation in bit 0
// and, in bit 1, whether the first counter is a synchronization point
// (SyncNext) rather than a received one) to a Window and the naive model
// and checks they agree on every verdict and state, and that Verify never
// changes state.
func FuzzWindow(f *testing.F) {
	seed := func(sel, mode byte, cs ...uint32) []byte {
		b := []byte{sel, mode}
		for _, c := range cs {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
		return b
	}
	f.Add(seed(0, 0, 0x64, 0x64, 0x63, 0x65, 0x45, 0x44, 0x85, 0xc8))
	f.Add(seed(1, 0, 0x3e8, 0x3e7, 0x3c8, 0x3c7, 0x800003e7, 0xffffffff, 0))
	f.Add(seed(3*31+1, 1, 0x3e8, 0x3e7, 0x3c8, 0x3c7, 0x800003e7, 0xffffffff, 0))
	f.Add(seed(3*31+1, 3, 0x3e8, 0x3e7, 0x3e6, 0x3c8, 0x3c7, 0x3e8, 0x3e9))
	f.Add(seed(3*31+1, 2, 0x0, 0xffffffff, 0xffffffe0, 0xffffffdf, 0x1))
	f.Add(seed(2, 0, 0x1f4, 0x1f3, 0xa, 0x1f4, 0xffffffff, 0, 0xffffffff))
	f.Add(seed(3*64+31, 0, 5, 6, 7, 4, 70, 6))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		p := Policy(b[0] % 3)
		size := int(b[0]/3)%MaxWindowSize + 1
		init := InitSpec
		if b[1]&1 != 0 {
			init = InitSDK
		}
		w, err := NewWindowInit(p, size, init)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(p, size, init)
		syncFirst := b[1]&2 != 0 && p != PolicySecureUnicast
		for b = b[2:]; len(b) >= 4; b = b[4:] {
			if syncFirst {
				syncFirst = false
				c := binary.LittleEndian.Uint32(b)
				w.SyncNext(c, InitDefault)
				m.syncNext(int64(c), InitDefault)
				continue
			}
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
