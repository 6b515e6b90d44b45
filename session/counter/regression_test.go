package counter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Regression tests for public reports about reception windows, each named
// after its report. The session package repeats the first two end to end
// (group replay through Managers, TestGroupReplayConnectedhomeip72535).

// TestConnectedhomeipIssue72535 (connectedhomeip issue #72535, "below-max
// group replay window reachable via Trust-first"): a group sender sends
// N-5..N; a receiver that has just joined or rebooted first hears N and
// trusts it; an adversary then replays N-3, captured earlier. Spec 4.6.5.4
// initialises the bitmap to all ones, so N-3 is a duplicate; the SDK
// initialises it empty and accepts the replay once.
func TestConnectedhomeipIssue72535(t *testing.T) {
	const n = uint32(0x1000)
	for _, tc := range []struct {
		init   Init
		replay Verdict
	}{
		{InitSpec, Duplicate},
		{InitSDK, InWindow},
		{InitDefault, Duplicate}, // the default for group reception is the spec's
	} {
		t.Run(tc.init.String(), func(t *testing.T) {
			w, err := NewWindowInit(PolicyGroup, DefaultWindowSize, tc.init)
			require.NoError(t, err)
			require.Equal(t, First, w.Verify(n))
			w.Commit(n)
			for c := n - 5; c < n; c++ { // every captured message, not only N-3
				require.Equal(t, tc.replay, w.Verify(c), "replay of %#x", c)
			}
			if tc.replay == InWindow {
				w.Commit(n - 3)
				require.Equal(t, Duplicate, w.Verify(n-3), "accepted once only")
			}
			require.Equal(t, Future, w.Verify(n+1), "the sender's next message")
		})
	}
}

// TestMatterJSPR4098 (matter.js PR #4098, "start unsecured message reception
// window empty"): with redundant border routers the controller's
// PBKDFParamRequest reaches the device twice; the device sends its
// PBKDFParamResponse (counter c) and a standalone ack (c+1), the small ack
// overtakes the fragmented response, and with an all-ones unencrypted window
// the response is then a duplicate, so PASE stalls. The unencrypted policy
// starts empty by default and accepts it.
func TestMatterJSPR4098(t *testing.T) {
	const c = uint32(0xae)
	for _, tc := range []struct {
		init     Init
		response Verdict
	}{
		{InitDefault, InWindow}, // unencrypted default: empty, as the SDK
		{InitSDK, InWindow},
		{InitSpec, Duplicate}, // matter.js before the fix: PASE stalls
	} {
		t.Run(tc.init.String(), func(t *testing.T) {
			w, err := NewWindowInit(PolicyUnencrypted, DefaultWindowSize, tc.init)
			require.NoError(t, err)
			require.Equal(t, First, w.Verify(c+1), "the standalone ack arrives first")
			w.Commit(c + 1)
			require.Equal(t, tc.response, w.Verify(c), "the delayed PBKDFParamResponse")
		})
	}
	w, _ := NewWindow(PolicyUnencrypted, DefaultWindowSize)
	require.Equal(t, InitSDK, w.Init())
}

// TestMatterJSPR3846 (matter.js PR #3846, "clear stale replay-bitmap bits on
// counter jump of exactly the window size"): in JavaScript `bitmap << 32` is
// a no-op, so a forward jump of exactly 32 kept the old bits. The report's
// example: max 100 with counter 94 seen (bit 5); 132 arrives; the bitmap
// must hold only the old max (bit 31), so the legitimate 126 is new.
func TestMatterJSPR3846(t *testing.T) {
	for _, init := range []Init{InitSpec, InitSDK} {
		for _, p := range []Policy{PolicySecureUnicast, PolicyGroup, PolicyUnencrypted} {
			t.Run(init.String()+"/"+p.String(), func(t *testing.T) {
				w, err := NewWindowInit(p, DefaultWindowSize, init)
				require.NoError(t, err)
				w.Sync(100)
				w.bits = 1 << 5 // counter 94 seen
				require.Equal(t, Duplicate, w.Verify(94))
				require.Equal(t, Future, w.Verify(132))
				w.Commit(132)
				require.Equal(t, uint64(1<<31), w.Bitmap(), "only the old max 100 remains")
				require.Equal(t, InWindow, w.Verify(126), "126 was never received")
				require.Equal(t, Duplicate, w.Verify(100))
			})
		}
	}
	// The same from a spec (all ones) trusted start, which has no stale
	// bits to clear but every bit of the old window set.
	w, _ := NewWindowInit(PolicyGroup, DefaultWindowSize, InitSpec)
	w.Commit(100)
	w.Commit(132)
	require.Equal(t, uint64(1<<31), w.Bitmap())
	require.Equal(t, InWindow, w.Verify(126))
}

// TestSyncNextQueuedTrigger: the counter a cache-and-sync receiver queued
// (the last one its peer used before answering, next-1) is taken once after
// an open synchronization point, and older replays are not (spec 4.18.5).
func TestSyncNextQueuedTrigger(t *testing.T) {
	w, _ := NewWindow(PolicyGroup, DefaultWindowSize)
	const next = uint32(5000)
	w.SyncNext(next, InitSDK)
	require.False(t, w.MaxReceived())
	require.Equal(t, InWindow, w.Verify(next-1))
	w.Commit(next - 1)
	require.True(t, w.MaxReceived())
	require.Equal(t, Duplicate, w.Verify(next-1))
	require.Equal(t, InWindow, w.Verify(next-DefaultWindowSize))
	require.Equal(t, Duplicate, w.Verify(next-DefaultWindowSize-1), "just out of reach")
	require.Equal(t, BehindWindow, w.Verify(next-1000), "an old replay")
	require.Equal(t, Future, w.Verify(next))

	w.SyncNext(next, InitSpec)
	require.True(t, w.MaxReceived())
	require.Equal(t, Duplicate, w.Verify(next-1))
	require.Equal(t, Future, w.Verify(next))
}

func TestInitNames(t *testing.T) {
	for _, i := range []Init{InitDefault, InitSpec, InitSDK} {
		got, ok := ParseInit(i.String())
		require.True(t, ok)
		require.Equal(t, i, got)
	}
	got, ok := ParseInit("")
	require.True(t, ok)
	require.Equal(t, InitDefault, got)
	_, ok = ParseInit("ones")
	require.False(t, ok)
	require.Equal(t, "init(9)", Init(9).String())
	_, err := NewWindowInit(PolicyGroup, 32, Init(9))
	require.Error(t, err)
	require.Equal(t, InitSpec, InitDefault.Resolve(PolicyGroup))
	require.Equal(t, InitSDK, InitDefault.Resolve(PolicyUnencrypted))
	require.Equal(t, InitSDK, InitSDK.Resolve(PolicyGroup))
}
