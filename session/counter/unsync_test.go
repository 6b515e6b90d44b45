package counter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnsync: after Unsync a rollover window trusts the next counter again
// (even one far behind the old max), and a secure-unicast window is back at
// the SDK's starting state (max 0, empty bitmap).
func TestUnsync(t *testing.T) {
	g, err := NewWindow(PolicyGroup, 32)
	require.NoError(t, err)
	g.Commit(1000)
	require.Equal(t, BehindWindow, g.Verify(10))
	g.Unsync()
	require.False(t, g.Synced())
	require.Equal(t, First, g.Verify(10))
	g.Commit(10)
	require.Equal(t, uint32(10), g.Max())

	s, err := NewWindow(PolicySecureUnicast, 32)
	require.NoError(t, err)
	s.Commit(5)
	s.Commit(3)
	s.Unsync()
	require.Equal(t, uint32(0), s.Max())
	require.Equal(t, uint64(0), s.Bitmap())
	require.Equal(t, Future, s.Verify(3))
}
