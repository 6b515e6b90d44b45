package commissioner

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/mrp"
)

// Spec 4.12.2.1, 4.3.4: intervals known before the handshake (an
// operational TXT record's SII/SAI) time the first retransmission of
// Sigma1 already, as the SDK's CASEClient creates the unsecured session
// with the resolved node's MRP config; without them it follows the spec
// defaults. A CASE initiator leaves the peer idle (the SDK's CASESession
// does), so the base is the idle interval. The jitter comes from the
// Manager's seeded stream, hence bounds.
func TestCASEFirstRetransmissionUsesPeerIntervals(t *testing.T) {
	cases := []struct {
		name string
		iv   mrp.Intervals
		base time.Duration
	}{
		{"advertised 2s", mrp.Intervals{Idle: 2 * time.Second, Active: 2 * time.Second}, 2 * time.Second},
		{"idle long, active short", mrp.Intervals{Idle: 3 * time.Second, Active: 300 * time.Millisecond}, 3 * time.Second},
		{"none: spec defaults", mrp.Intervals{}, mrp.DefaultIdleInterval},
	}
	fab := testFabric(t, false)
	cf, err := fab.CASEFabric(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seed [32]byte
			binary.LittleEndian.PutUint64(seed[:], 11)
			m, err := session.New(session.Config{}, rand.NewChaCha8(seed), rand.NewPCG(11, 7))
			if err != nil {
				t.Fatal(err)
			}
			peer := netip.MustParseAddrPort("[fd00::99]:5540")
			var now clock.Time
			if _, err := StartCASE(now, m, CASEConfig{Peer: peer, Fabric: cf, PeerNodeID: 0x1B66A,
				Rand: rand.NewChaCha8(seed), Timeout: time.Minute, PeerIntervals: tc.iv}); err != nil {
				t.Fatal(err)
			}
			var sends []clock.Time
			for len(sends) < 2 {
				for {
					o, ok := m.Poll()
					if !ok {
						break
					}
					if o.IsDatagram() && o.To == peer {
						sends = append(sends, now)
					}
				}
				if len(sends) >= 2 {
					break
				}
				next := m.NextDeadline()
				if next == clock.Never || next > clock.Time(0).Add(10*time.Second) {
					t.Fatalf("no retransmission of Sigma1 (next deadline %s)", next)
				}
				now = next
				m.HandleTimeout(now)
			}
			c := mrp.Config{}.Normalize()
			lo, hi := clock.Time(0).Add(c.Backoff(tc.base, 0, 0)), clock.Time(0).Add(c.Backoff(tc.base, 0, 1))
			if sends[0] != 0 || sends[1] < lo || sends[1] >= hi {
				t.Fatalf("Sigma1 sent at %v; want the first retransmission in [%s, %s), the %s-based backoff", sends, lo, hi, tc.base)
			}
		})
	}
}
