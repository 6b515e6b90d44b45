package counter

import "testing"

// BenchmarkWindowVerifyCommit measures the hot path: Verify then Commit of
// a new in-order counter on a secure unicast window (goal <= 10 ns, 0 allocs).
func BenchmarkWindowVerifyCommit(b *testing.B) {
	w, err := NewWindow(PolicySecureUnicast, DefaultWindowSize)
	if err != nil {
		b.Fatal(err)
	}
	c := uint32(1)
	b.ReportAllocs()
	for b.Loop() {
		if w.Verify(c).Accepted() {
			w.Commit(c)
		}
		c++
	}
	if w.Max() == 0 {
		b.Fatal("nothing committed")
	}
}

// BenchmarkWindowVerifyCommitGroupReordered adds reordering (every other
// counter arrives one late) on a rollover window.
func BenchmarkWindowVerifyCommitGroupReordered(b *testing.B) {
	w, _ := NewWindow(PolicyGroup, DefaultWindowSize)
	var i uint32
	b.ReportAllocs()
	for b.Loop() {
		c := 0xFFFF0000 + i ^ 1 // 1,0,3,2,... crossing the wrap
		if w.Verify(c).Accepted() {
			w.Commit(c)
		}
		i++
	}
}

func TestVerifyCommitAllocs(t *testing.T) {
	w, _ := NewWindow(PolicyUnencrypted, 64)
	c := uint32(5)
	n := testing.AllocsPerRun(1000, func() {
		if w.Verify(c).Accepted() {
			w.Commit(c)
		}
		c += 3
	})
	if n != 0 {
		t.Fatalf("%v allocs per Verify+Commit", n)
	}
}
