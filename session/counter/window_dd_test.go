package counter

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// TestWindowDataDriven runs the numbered edge-case vectors in
// testdata/window_*.txt. Directives:
//
//	window policy=<secure|group|unencrypted> [size=N] [init=spec|sdk]
//	                                                   new window; prints its state
//	set max=<n> win=<bitmap>                           force a synchronized state (worked-case tables)
//	syncnext <n> [init=spec|sdk]                       synchronization point: n is the peer's next counter
//	recv <c> [<c>...]                                  Verify, then Commit if accepted; one line per counter
//	verify <c> [<c>...]                                Verify only; state must not change
//	replay-accepted                                    re-verify every counter accepted since the last window/set
//
// Each output line is "<counter> <verdict> <state after>".
func TestWindowDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.Contains(path, "window_") {
			t.Skip("not a window file")
		}
		var (
			w        Window
			accepted []uint32
		)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "window":
				var ps string
				d.ScanArgs(t, "policy", &ps)
				p, ok := ParsePolicy(ps)
				require.True(t, ok, "unknown policy %q", ps)
				size := 0
				d.MaybeScanArgs(t, "size", &size)
				init := scanInit(t, d)
				var err error
				w, err = NewWindowInit(p, size, init)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				accepted = accepted[:0]
				return w.String() + "\n"
			case "set":
				var maxS, winS string
				d.ScanArgs(t, "max", &maxS)
				d.ScanArgs(t, "win", &winS)
				w.Sync(parseCounter(t, maxS))
				bits, err := strconv.ParseUint(winS, 0, 64)
				require.NoError(t, err)
				w.bits = bits
				accepted = accepted[:0]
				return w.String() + "\n"
			case "syncnext":
				require.NotEmpty(t, d.CmdArgs, "syncnext needs a counter")
				w.SyncNext(parseCounter(t, d.CmdArgs[0].Key), scanInit(t, d))
				accepted = accepted[:0]
				return w.String() + "\n"
			case "recv", "verify":
				var b strings.Builder
				for _, a := range d.CmdArgs {
					c := parseCounter(t, a.Key)
					before := w
					v := w.Verify(c)
					require.Equal(t, before, w, "Verify changed the window")
					require.NotEqual(t, Invalid, v)
					if d.Cmd == "recv" && v.Accepted() {
						w.Commit(c)
						accepted = append(accepted, c)
					}
					fmt.Fprintf(&b, "%#x %s %s\n", c, v, w.String())
				}
				return b.String()
			case "replay-accepted":
				counts := map[Verdict]int{}
				for _, c := range accepted {
					counts[w.Verify(c)]++
				}
				var b strings.Builder
				fmt.Fprintf(&b, "%d replayed:", len(accepted))
				for v := First; v <= BehindWindow; v++ {
					if counts[v] > 0 {
						fmt.Fprintf(&b, " %s=%d", v, counts[v])
					}
				}
				return b.String() + "\n"
			}
			t.Fatalf("%s: unknown directive %q", d.Pos, d.Cmd)
			return ""
		})
	})
}

func scanInit(t *testing.T, d *datadriven.TestData) Init {
	t.Helper()
	var s string
	if d.HasArg("init") {
		d.ScanArgs(t, "init", &s)
	}
	init, ok := ParseInit(s)
	require.True(t, ok, "unknown init %q", s)
	return init
}

func parseCounter(t *testing.T, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 32)
	require.NoError(t, err, "counter %q", s)
	return uint32(v)
}
