package session

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/counter"
)

// TestWindowSizeSweep drives the configured reception window size through
// the core with real sealed datagrams (spec 4.6.5.1 MSG_COUNTER_WINDOW_SIZE,
// here a research parameter of 1..64). The receiver first gets the newest
// of size+2 messages, max = c0+size+1. Then, for a secure unicast session:
//  1. c0+1, exactly size behind max and unseen, is accepted (in-window) and
//     sets the window's top bit;
//  2. the same datagram again is a duplicate;
//  3. c0, one further behind, is refused as behind-window;
//  4. both refusals are acked (they carry R), and neither is delivered.
func TestWindowSizeSweep(t *testing.T) {
	for _, tc := range []struct {
		cfg, want int // Config.WindowSize and the size in effect
	}{
		{1, 1}, {8, 8}, {31, 31}, {32, 32}, {33, 33}, {64, 64},
		{0, 32},   // default
		{-5, 32},  // default
		{100, 64}, // limited to the bitmap
	} {
		t.Run(fmt.Sprintf("size=%d", tc.cfg), func(t *testing.T) {
			p := newPair(t, Config{WindowSize: tc.cfg}, 3, pcg)
			a, b := p.a, p.b
			require.Equal(t, tc.want, b.m.Config().WindowSize)
			drainAll(a.m)
			drainAll(b.m)

			n := tc.want
			sent := make([][]byte, n+2) // counters c0 .. c0+n+1
			for i := range sent {
				x, err := a.m.NewExchange(a.ref)
				require.NoError(t, err)
				require.NoError(t, a.m.Send(0, x, Message{Protocol: 4, Opcode: 1, Reliable: true}))
				out := drainAll(a.m)
				require.Len(t, out, 1)
				sent[i] = out[0].Data
			}
			deliver := func(i int) Output {
				b.m.HandleDatagram(0, addrA, sent[i])
				out := drainAll(b.m)
				require.NotEmpty(t, out)
				return out[0]
			}

			newest := deliver(n + 1)
			require.Equal(t, EventMessage, newest.Event.Kind)
			require.Equal(t, counter.Future, newest.Event.Verdict)
			c0 := newest.Event.Counter - uint32(n) - 1
			in, ok := b.m.SessionInfo(b.ref)
			require.True(t, ok)
			require.Equal(t, n, in.Window.Size())
			require.Equal(t, c0+uint32(n)+1, in.WindowMax)
			require.Zero(t, in.Window.Bitmap())

			// 1. Exactly size behind max: accepted.
			got := deliver(1)
			require.Equal(t, EventMessage, got.Event.Kind)
			require.Equal(t, counter.InWindow, got.Event.Verdict)
			require.Equal(t, c0+1, got.Event.Counter)
			in, _ = b.m.SessionInfo(b.ref)
			require.Equal(t, uint64(1)<<(n-1), in.Window.Bitmap(), "top bit = max-size")
			require.Equal(t, uint32(in.Window.Bitmap()), in.WindowBits)

			// 2. Replayed: a duplicate, acked at once, not delivered.
			b.m.HandleDatagram(0, addrA, sent[1])
			out := drainAll(b.m)
			require.Equal(t, []string{"duplicate", "datagram"}, kinds(out))
			require.Equal(t, counter.Duplicate, out[0].Event.Verdict)

			// 3. One further behind: refused as behind-window, acked.
			b.m.HandleDatagram(0, addrA, sent[0])
			out = drainAll(b.m)
			require.Equal(t, []string{"duplicate", "datagram"}, kinds(out))
			require.Equal(t, counter.BehindWindow, out[0].Event.Verdict)
			require.Equal(t, c0, out[0].Event.Counter)

			// 4. The window did not move on refusals.
			after, _ := b.m.SessionInfo(b.ref)
			require.Equal(t, in.Window, after.Window)
		})
	}
}

// TestUnencryptedWindowReset: on an unsecured session a counter behind the
// window is taken as a rebooted peer (spec 4.6.5.2; counter.Reset) and
// delivered, whatever the configured size.
func TestUnencryptedWindowReset(t *testing.T) {
	for _, size := range []int{1, 32, 64} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			a := newManager(t, Config{WindowSize: size}, 5, pcg())
			b := newManager(t, Config{WindowSize: size}, 6, pcg())
			ra, err := a.OpenUnsecured(0, addrB)
			require.NoError(t, err)
			var sent [][]byte
			for range size + 2 {
				x, err := a.NewExchange(ra)
				require.NoError(t, err)
				require.NoError(t, a.Send(0, x, Message{Protocol: 4, Opcode: 1}))
				for _, o := range drainAll(a) {
					if o.IsDatagram() {
						sent = append(sent, o.Data)
					}
				}
			}
			b.HandleDatagram(0, addrA, sent[size+1])
			out := drainAll(b)
			require.Equal(t, []string{"session-opened", "message"}, kinds(out))
			require.Equal(t, counter.First, out[1].Event.Verdict)
			b.HandleDatagram(0, addrA, sent[1])
			out = drainAll(b)
			require.Equal(t, []string{"message"}, kinds(out))
			require.Equal(t, counter.InWindow, out[0].Event.Verdict)
			b.HandleDatagram(0, addrA, sent[0])
			out = drainAll(b)
			require.Equal(t, []string{"message"}, kinds(out))
			require.Equal(t, counter.Reset, out[0].Event.Verdict)
			rb := b.Sessions()[0]
			in, _ := b.SessionInfo(rb)
			require.Equal(t, out[0].Event.Counter, in.WindowMax, "reset: the new max")
			require.Zero(t, in.Window.Bitmap())
		})
	}
}
