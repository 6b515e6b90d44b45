package mrp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackoffWithinSDKBounds checks the spec formula against the compliance
// bounds of connectedhomeip src/messaging/tests/TestReliableMessageProtocol.cpp
// (theBackoffComplianceTestVector) for r = 0 (min) and r → 1 (max).
func TestBackoffWithinSDKBounds(t *testing.T) {
	c := Config{}.Normalize()
	cases := []struct {
		base     time.Duration
		n        int
		min, max time.Duration
	}{
		{300 * time.Millisecond, 0, 330 * time.Millisecond, 413 * time.Millisecond},
		{300 * time.Millisecond, 1, 330 * time.Millisecond, 413 * time.Millisecond},
		{300 * time.Millisecond, 2, 528 * time.Millisecond, 661 * time.Millisecond},
		{300 * time.Millisecond, 3, 844 * time.Millisecond, 1057 * time.Millisecond},
		{300 * time.Millisecond, 4, 1351 * time.Millisecond, 1691 * time.Millisecond},
		{4000 * time.Millisecond, 0, 4400 * time.Millisecond, 5503 * time.Millisecond},
		{4000 * time.Millisecond, 2, 7040 * time.Millisecond, 8805 * time.Millisecond},
		{4000 * time.Millisecond, 4, 18022 * time.Millisecond, 22541 * time.Millisecond},
	}
	for _, tc := range cases {
		lo := c.Backoff(tc.base, tc.n, 0)
		hi := c.Backoff(tc.base, tc.n, 0.999999)
		require.GreaterOrEqual(t, lo, tc.min, "base %s n %d", tc.base, tc.n)
		require.LessOrEqual(t, hi, tc.max, "base %s n %d", tc.base, tc.n)
	}
	// Exact spec values: 500 ms · 1.1 · 1.6^(n-1) · 1.125 (r = 0.5).
	require.Equal(t, 618750*time.Microsecond, c.Backoff(500*time.Millisecond, 1, 0.5))
	require.Equal(t, 990*time.Millisecond, c.Backoff(500*time.Millisecond, 2, 0.5))
}

func TestNormalize(t *testing.T) {
	c := Config{BackoffJitter: -1, BackoffThreshold: -1}.Normalize()
	require.Equal(t, 0.0, c.BackoffJitter)
	require.Equal(t, 0, c.BackoffThreshold)
	require.Equal(t, DefaultMaxTransmissions, c.MaxTransmissions)
	require.Equal(t, 2*1.1*float64(time.Second), float64(Config{BackoffJitter: -1, BackoffThreshold: -1}.Normalize().Backoff(time.Second, 0, 0.7))*2)
	iv := Intervals{}.Normalize()
	require.Equal(t, iv.Active, iv.Base(time.Second, true))
	require.Equal(t, iv.Idle, iv.Base(5*time.Second, true))
	require.Equal(t, iv.Idle, iv.Base(0, false))
}
