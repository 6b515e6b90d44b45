package nodes_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
)

// A controller rebooted with one handshake in flight and one queued
// (InFlight 1), under either establisher: the attempt in flight fails
// (CauseAborted; for CASE also as a failed CASEHandshake), goes back to
// the front of the queue and starts again on Boot, and both devices end
// paired. The whole Pairing*/CASEHandshake sequence is pinned: it is
// what the shared establishment loop must keep.
func TestEstablishControllerRebootMidHandshake(t *testing.T) {
	for _, tc := range []struct {
		name string
		est  func(t *testing.T) nodes.Establisher
		want []string
	}{
		{"PASE", func(*testing.T) nodes.Establisher {
			return &nodes.PASE{Passcode: 20202021, Rand: paseRand, InFlight: 1}
		}, []string{
			"pairing-queued 1 #0", "pairing-started 1 #1", "pairing-queued 2 #0",
			"pairing-failed 1 #1 aborted",
			"pairing-started 1 #2", "pairing-failed 1 #2 busy",
			"pairing-started 2 #1", "pairing-ended 2 #1 succeeded",
			"pairing-started 1 #3", "pairing-ended 1 #3 succeeded",
		}},
		{"CASE", func(t *testing.T) nodes.Establisher {
			c := newCASE(t, 3)
			c.InFlight = 1
			return c
		}, []string{
			"pairing-queued 1 #0", "pairing-started 1 #1", "pairing-queued 2 #0",
			"case-handshake 1 #1 failed aborted", "pairing-failed 1 #1 aborted",
			"pairing-started 1 #2", "case-handshake 1 #2 succeeded", "pairing-ended 1 #2 succeeded",
			"pairing-started 2 #1", "case-handshake 2 #1 succeeded", "pairing-ended 2 #1 succeeded",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeNet{}
			ctl := booted(t, 0, &nodes.Reader{Interval: time.Second})
			f.add(ctl)
			var got []string
			ctl.OnNodeEvent = func(_ clock.Time, _ *nodes.Node, ev *nodes.NodeEvent) {
				switch ev.Kind {
				case nodes.PairingQueued, nodes.PairingStarted, nodes.PairingFailed, nodes.PairingEnded, nodes.CASEHandshake:
				default:
					return
				}
				s := fmt.Sprintf("%s %d #%d", ev.Kind, ev.Peer, ev.Attempt)
				if ev.Kind == nodes.CASEHandshake || ev.Kind == nodes.PairingEnded {
					s += " " + ev.Outcome.String()
				}
				if ev.Kind == nodes.PairingFailed || ev.Kind == nodes.CASEHandshake && ev.Outcome != nodes.PairingSucceeded {
					s += " " + ev.Cause.String()
				}
				got = append(got, s)
			}
			est := tc.est(t)
			var devs []*nodes.Node
			var errs []error
			for i := 1; i <= 2; i++ {
				d := booted(t, i, &nodes.Responder{Model: nodes.DeviceModel(i)})
				f.add(d)
				devs = append(devs, d)
			}
			if c, ok := est.(*nodes.CASE); ok {
				require.NoError(t, c.Prepare(append([]*nodes.Node{ctl}, devs...)))
			}
			for _, d := range devs {
				est.Establish(0, ctl, d, func(_ clock.Time, _ nodes.Pair, err error) { errs = append(errs, err) })
			}
			f.runUntil(clock.Time(time.Millisecond))
			require.NoError(t, ctl.Reboot(f.now))
			f.runUntil(clock.Time(2 * time.Minute))
			require.Equal(t, []error{nil, nil}, errs)
			require.Equal(t, tc.want, got)
			pending := est.(interface{ Pending() (int, int, int) })
			q, a, w := pending.Pending()
			require.Zero(t, q+a+w)
			switch e := est.(type) {
			case *nodes.PASE:
				s := e.Stats()
				require.Equal(t, [5]uint64{4, 2, 2, 1, 1}, [5]uint64{s.Attempts, s.Succeeded, s.Failed, s.Aborted, s.Retries})
			case *nodes.CASE:
				s := e.Stats()
				require.Equal(t, [4]uint64{3, 2, 1, 0}, [4]uint64{s.Attempts, s.Full + s.Resumed, s.Failed, s.Retries})
			}
		})
	}
}
