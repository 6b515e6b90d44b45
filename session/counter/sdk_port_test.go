package counter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Ports of the parameterised tests in connectedhomeip
// src/transport/tests/TestPeerMessageCounter.cpp (window size 32). The SDK
// returns CHIP_NO_ERROR for our Accepted verdicts and
// CHIP_ERROR_DUPLICATE_MESSAGE_RECEIVED for the rest.

var sdkCounterValues = []uint32{0, 10, 0x7FFFFFFF, 0x80000000, 0x80000001, 0x80000002, 0xFFFFFFF0, 0xFFFFFFFF}

const sdkW = DefaultWindowSize

func newW(t *testing.T, p Policy) *Window {
	t.Helper()
	w, err := NewWindowInit(p, sdkW, InitSDK) // the SDK initialises empty (SetCounter)
	require.NoError(t, err)
	return &w
}

// commit asserts c is accepted and commits it.
func commit(t *testing.T, w *Window, c uint32) {
	t.Helper()
	v := w.Verify(c)
	require.True(t, v.Accepted(), "counter %#x: %s (state %s)", c, v, w)
	w.Commit(c)
}

func accepted(t *testing.T, w *Window, c uint32, want bool) {
	t.Helper()
	v := w.Verify(c)
	require.Equal(t, want, v.Accepted(), "counter %#x: %s (state %s)", c, v, w)
}

func TestSDKGroupRollOver(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1); k <= 2*sdkW; k++ {
			w := newW(t, PolicyGroup)
			commit(t, w, n)
			commit(t, w, n+k)
			// The SDK reports DUPLICATE for both; we tell them apart.
			if k <= sdkW {
				require.Equal(t, Duplicate, w.Verify(n))
			} else {
				require.Equal(t, BehindWindow, w.Verify(n))
			}
			for i := n - sdkW; i != n+k-sdkW; i++ {
				accepted(t, w, i, false)
			}
			accepted(t, w, n+k-sdkW, k != sdkW)
		}
	}
}

func TestSDKGroupBackTrack(t *testing.T) {
	for _, n := range sdkCounterValues {
		w := newW(t, PolicyGroup)
		commit(t, w, n)
		for k := uint32(1); k*k < sdkW; k++ {
			commit(t, w, n-k*k)
		}
		commit(t, w, n+3)
		for k := uint32(1); k*k < sdkW; k++ {
			accepted(t, w, n-k*k, false)
		}
		for k := n + 3 - sdkW; k != n+3; k++ {
			switch n - k {
			case 0, 1, 4, 9, 16, 25:
				continue
			}
			commit(t, w, k)
		}
	}
}

func bigLeapValues(n, k uint32) []uint32 {
	return []uint32{
		n + k/32 - sdkW, n + k/16 - sdkW, n + k/8 - sdkW, n + k/4 - sdkW,
		n + k/3 - sdkW, n + k/2 - sdkW, n + k - sdkW - 1,
	}
}

func TestSDKGroupBigLeap(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1<<31 - 5); k <= 1<<31-1; k++ {
			w := newW(t, PolicyGroup)
			commit(t, w, n)
			commit(t, w, n+k)
			accepted(t, w, n, false)
			accepted(t, w, n-sdkW, true) // inside the forward half range of the new max
			for _, c := range bigLeapValues(n, k) {
				accepted(t, w, c, false)
			}
			accepted(t, w, n+k-sdkW, true)
		}
	}
}

func TestSDKGroupOutOfWindow(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1 << 31); k <= 1<<31+2; k++ {
			w := newW(t, PolicyGroup)
			commit(t, w, n)
			require.False(t, w.Verify(n+k).Accepted())
		}
	}
}

// sdkUnicastStart reproduces the SDK test's set-up: start at the initial
// sync value 0 and take n if it is new, else SetCounter(n).
func sdkUnicastStart(t *testing.T, n uint32) *Window {
	w := newW(t, PolicySecureUnicast)
	if w.Verify(n).Accepted() {
		w.Commit(n)
	} else {
		w.Sync(n)
	}
	return w
}

func TestSDKUnicastSmallStep(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1); k <= 2*sdkW; k++ {
			w := sdkUnicastStart(t, n)
			require.Equal(t, Duplicate, w.Verify(n))
			if k > 0xFFFFFFFF-n {
				accepted(t, w, n+k, false)
				continue
			}
			commit(t, w, n+k)
			accepted(t, w, n, false)
			var start, end uint32
			if n >= sdkW {
				start = n - sdkW
			}
			if n+k >= sdkW {
				end = n + k - sdkW
			}
			for i := start; i < end; i++ {
				accepted(t, w, i, false)
			}
			if n+k >= sdkW {
				// Not n and not 0 (0 always counts as seen): new; otherwise duplicate.
				accepted(t, w, n+k-sdkW, k != sdkW && n+k != sdkW)
			}
		}
	}
}

func TestSDKUnicastLargeStep(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1<<31 - 5); k <= 1<<31-1; k++ {
			w := sdkUnicastStart(t, n)
			if k > 0xFFFFFFFF-n {
				accepted(t, w, n+k, false)
				continue
			}
			commit(t, w, n+k)
			accepted(t, w, n, false)
			if n >= sdkW {
				accepted(t, w, n-sdkW, false)
			}
			for _, c := range bigLeapValues(n, k) {
				accepted(t, w, c, false)
			}
			accepted(t, w, n+k-sdkW, true)
		}
	}
}

func TestSDKUnencryptedRollOver(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1); k <= 2*sdkW; k++ {
			w := newW(t, PolicyUnencrypted)
			commit(t, w, n)
			commit(t, w, n+k)
			if k <= sdkW {
				require.Equal(t, Duplicate, w.Verify(n))
			} else {
				require.Equal(t, Reset, w.Verify(n))
			}
			accepted(t, w, n+k-sdkW, k != sdkW)
		}
	}
}

func TestSDKUnencryptedBackTrack(t *testing.T) {
	for _, n := range sdkCounterValues {
		w := newW(t, PolicyUnencrypted)
		commit(t, w, n)
		for k := uint32(1); k*k < sdkW; k++ {
			commit(t, w, n-k*k)
		}
		commit(t, w, n+3)
		for k := uint32(1); k*k < sdkW; k++ {
			accepted(t, w, n-k*k, false)
		}
		for k := n + 3 - sdkW; k != n+3; k++ {
			switch n - k {
			case 0, 1, 4, 9, 16, 25:
				continue
			}
			commit(t, w, k)
		}
	}
}

func TestSDKUnencryptedBigLeap(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1<<31 - 5); k <= 1<<31-1; k++ {
			w := newW(t, PolicyUnencrypted)
			commit(t, w, n)
			commit(t, w, n+k)
			accepted(t, w, n, true) // out of window: a rebooted peer
			accepted(t, w, n-sdkW, true)
			for _, c := range bigLeapValues(n, k) {
				accepted(t, w, c, true)
			}
			accepted(t, w, n+k-sdkW, true)
		}
	}
}

func TestSDKUnencryptedOutOfWindow(t *testing.T) {
	for _, n := range sdkCounterValues {
		for k := uint32(1 << 31); k <= 1<<31+2; k++ {
			w := newW(t, PolicyUnencrypted)
			commit(t, w, n)
			require.Equal(t, Reset, w.Verify(n+k))
		}
	}
}
