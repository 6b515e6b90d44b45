package counter

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// fixedSource returns the given words in turn.
type fixedSource []uint32

func (s *fixedSource) Uint32() uint32 { v := (*s)[0]; *s = (*s)[1:]; return v }

func TestInitialValueRange(t *testing.T) {
	// Spec 4.6.1.1: [1, 2^28] via (rand & 0x0FFFFFFF) + 1.
	for _, tc := range []struct{ in, want uint32 }{
		{0, 1},
		{0x0FFFFFFF, 1 << 28},
		{0xFFFFFFFF, 1 << 28},
		{0xF0000000, 1},
		{0x12345678, 0x02345679},
	} {
		src := fixedSource{tc.in}
		require.Equal(t, tc.want, InitialValue(&src), "in %#x", tc.in)
	}
	rng := rand.New(rand.NewPCG(1, 2)) // *rand.Rand is a Source
	for range 10000 {
		v := InitialValue(rng)
		require.GreaterOrEqual(t, v, uint32(1))
		require.LessOrEqual(t, v, uint32(1<<28))
	}
}

func TestReaderSource(t *testing.T) {
	src := NewReaderSource(bytes.NewReader([]byte{0x78, 0x56, 0x34, 0x12}))
	require.Equal(t, uint32(0x02345679), InitialValue(src)) // little-endian word 0x12345678
	require.NoError(t, src.Err())
	require.Equal(t, uint32(1), InitialValue(src)) // exhausted reader: 0 -> 1
	require.Error(t, src.Err())

	bad := NewReaderSource(iotest.ErrReader(errors.New("boom")))
	bad.Uint32()
	require.EqualError(t, bad.Err(), "boom")
}

func TestUnencryptedWraps(t *testing.T) {
	c := UnencryptedAt(0xFFFFFFFE)
	require.Equal(t, uint32(0xFFFFFFFE), c.Next())
	require.Equal(t, uint32(0xFFFFFFFF), c.Next())
	require.Equal(t, uint32(0), c.Next()) // wraps mod 2^32, not at 0xFFFFFFFF
	require.Equal(t, uint32(1), c.Peek())

	src := fixedSource{41}
	require.Equal(t, uint32(42), NewUnencrypted(&src).Next())
}

func TestSecureNeverWraps(t *testing.T) {
	c := SecureAt(0xFFFFFFFD)
	for _, want := range []uint32{0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF} {
		v, err := c.Next()
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	require.True(t, c.Exhausted())
	for range 3 { // stays exhausted
		_, err := c.Next()
		require.ErrorIs(t, err, ErrExhausted)
	}
	_, ok := c.Peek()
	require.False(t, ok)

	src := fixedSource{0}
	s := NewSecure(&src)
	v, err := s.Next()
	require.NoError(t, err)
	require.Equal(t, uint32(1), v)
	require.False(t, s.Exhausted())
}

func TestKindString(t *testing.T) {
	require.Equal(t, "group-control", KindGroupControl.String())
	require.Equal(t, "kind(9)", Kind(9).String())
}

// failStore fails every Save after the first n.
type failStore struct {
	MemStore
	saves int
	limit int
}

func (s *failStore) Save(key string, v uint32) error {
	if s.saves >= s.limit {
		return errors.New("disk full")
	}
	s.saves++
	return s.MemStore.Save(key, v)
}

func TestGroupLookAhead(t *testing.T) {
	var st MemStore
	src := fixedSource{99} // initial value 100
	g, err := NewGroup(&st, KeyGroupData, &src)
	require.NoError(t, err)
	stored, ok, _ := st.Load(KeyGroupData)
	require.True(t, ok)
	require.Equal(t, uint32(100+MinIncrement), stored) // V + 1000 stored at init

	for i := range MinIncrement {
		v, err := g.Next()
		require.NoError(t, err)
		require.Equal(t, uint32(100+i), v)
	}
	stored, _, _ = st.Load(KeyGroupData)
	require.Equal(t, uint32(100+MinIncrement), stored, "not advanced before reaching it")
	v, err := g.Next() // reaches the stored value: store +1000 first
	require.NoError(t, err)
	require.Equal(t, uint32(100+MinIncrement), v)
	stored, _, _ = st.Load(KeyGroupData)
	require.Equal(t, uint32(100+2*MinIncrement), stored)

	// The control counter is independent.
	src2 := fixedSource{4}
	gc, err := NewGroup(&st, KeyGroupControl, &src2)
	require.NoError(t, err)
	require.Equal(t, uint32(5), gc.Peek())
}

// TestGroupRebootNeverReuses reboots the node (a new Group from the same
// store) at random points, including mid-block, and checks no counter value
// is ever handed out twice (spec 4.6.1; SDK GroupOutgoingCounters).
func TestGroupRebootNeverReuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, start := range []uint32{1, 1 << 28, 0xFFFFFFFF - 2500} { // the last one wraps
		var st MemStore
		require.NoError(t, st.Save(KeyGroupData, start))
		used := map[uint32]bool{}
		var last uint32
		for boot := range 40 {
			g, err := NewGroup(&st, KeyGroupData, rng)
			require.NoError(t, err)
			if boot > 0 {
				// Skips at most MinIncrement values past the last one used.
				require.LessOrEqual(t, g.Peek()-last, uint32(MinIncrement+1))
			}
			for range rng.IntN(2500) {
				v, err := g.Next()
				require.NoError(t, err)
				require.False(t, used[v], "value %#x reused after boot %d", v, boot)
				used[v] = true
				last = v
			}
		}
	}
}

func TestGroupStoreErrors(t *testing.T) {
	st := &failStore{limit: 1}
	src := fixedSource{0}
	g, err := NewGroup(st, KeyGroupData, &src)
	require.NoError(t, err)
	for range MinIncrement {
		_, err := g.Next()
		require.NoError(t, err)
	}
	_, err = g.Next()
	var se *StoreError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "save", se.Op)
	require.Equal(t, uint32(1+MinIncrement), g.Peek(), "value not consumed on failure")

	st0 := &failStore{limit: 0}
	src = fixedSource{0}
	_, err = NewGroup(st0, KeyGroupControl, &src)
	require.ErrorAs(t, err, &se)
}
