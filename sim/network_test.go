package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/sim/fault"
)

func newNet(t testing.TB, seed uint64, k int) (*Engine, *Network) {
	t.Helper()
	return newNetMode(t, ModeNetstack, seed, k)
}

// bothModes runs f as a subtest per network mode: what a test checks of the
// switch and the sockets holds in both.
func bothModes(t *testing.T, f func(t *testing.T, mode Mode)) {
	for _, m := range Modes() {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func newNetMode(t testing.TB, mode Mode, seed uint64, k int) (*Engine, *Network) {
	t.Helper()
	e := New(seed)
	n, err := NewNetwork(e, NetConfig{Mode: mode})
	require.NoError(t, err)
	require.NoError(t, n.AddNodes(k))
	return e, n
}

// rx records datagrams.
type rx struct {
	got []string // "t from payload"
}

func (r *rx) HandleDatagram(now clock.Time, from netip.AddrPort, p []byte) {
	r.got = append(r.got, fmt.Sprintf("%s %s %s", now, from, p))
}
func (r *rx) HandleTimer(clock.Time) {}

func bind(t testing.TB, nd *Node) (*Socket, *rx) {
	t.Helper()
	r := &rx{}
	s, err := nd.Bind(MatterPort, r)
	require.NoError(t, err)
	return s, r
}

func ap(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, MatterPort) }

func TestAddressPlan(t *testing.T) {
	require.Equal(t, "fd00:6d73:696d::1", Addr(0).String())
	require.Equal(t, "fe80::2", LinkLocalAddr(1).String())
	_, n := newNet(t, 1, 3)
	for i := range 3 {
		require.Equal(t, i, n.nodeIndex(Addr(i).AsSlice()))
		require.Equal(t, i, n.nodeIndex(LinkLocalAddr(i).AsSlice()))
	}
	require.Equal(t, -1, n.nodeIndex(Addr(3).AsSlice()), "beyond the last node")
	require.Equal(t, -1, n.nodeIndex(netip.MustParseAddr("fd00:6d73:696d::").AsSlice()), "iid 0")
	require.Equal(t, -1, n.nodeIndex(netip.MustParseAddr("2001:db8::1").AsSlice()))
}

func TestUnicastDeliveryULAAndLinkLocal(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 3)
		sa, _ := bind(t, n.Node(0))
		_, rb := bind(t, n.Node(1))
		_, rc := bind(t, n.Node(2))
		require.NoError(t, sa.Send(ap(n.Node(1).Addr()), []byte("ula")))
		require.NoError(t, sa.Send(ap(n.Node(1).LinkLocal()), []byte("ll")))
		require.Equal(t, 2, e.Pending(), "both frames are queued deliveries before the loop runs")
		require.Empty(t, rb.got)
		e.Run()
		require.Equal(t, []string{
			"0.001000000s [fd00:6d73:696d::1]:5540 ula",
			"0.001000000s [fe80::1]:5540 ll",
		}, rb.got, "1 ms per hop; source address follows destination scope")
		require.Empty(t, rc.got)
		require.Equal(t, NetStats{Sent: 2, Delivered: 2}, n.Stats())

		// A frame to an address no node owns is dropped by the switch.
		require.NoError(t, sa.Send(ap(netip.MustParseAddr("fd00:6d73:696d::99")), []byte("x")))
		e.Run()
		require.Equal(t, uint64(1), n.Stats().Dropped)

		var se *SendError
		require.ErrorAs(t, sa.Send(netip.MustParseAddrPort("10.0.0.1:5540"), nil), &se)
		require.Equal(t, 0, se.Node)
	})
}

func TestConfigurableLatency(t *testing.T) {
	for _, tc := range []struct {
		lat  time.Duration
		want clock.Time
	}{{0, ms(1)}, {7 * time.Millisecond, ms(7)}, {-1, 0}} {
		e := New(1)
		n, err := NewNetwork(e, NetConfig{Latency: tc.lat})
		require.NoError(t, err)
		require.NoError(t, n.AddNodes(2))
		sa, _ := bind(t, n.Node(0))
		_, rb := bind(t, n.Node(1))
		require.NoError(t, sa.Send(ap(n.Node(1).Addr()), []byte("x")))
		e.Run()
		require.Len(t, rb.got, 1)
		require.Equal(t, tc.want, e.Now(), "latency %v", tc.lat)
	}
	e := New(1)
	_, err := NewNetwork(e, NetConfig{})
	require.NoError(t, err)
	_, err = NewNetwork(e, NetConfig{})
	require.Error(t, err, "one network per engine")
}

func TestEchoApp(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 2)
		a, err := BindApp(n.Node(0), MatterPort)
		require.NoError(t, err)
		b, err := BindApp(n.Node(1), MatterPort)
		require.NoError(t, err)
		a.Peers = []netip.AddrPort{b.Socket().LocalAddr()}
		a.Interval, a.Echo, a.Limit, a.Size = 100*time.Millisecond, true, 5, 64
		a.Start(0)
		e.Run()
		require.Equal(t, uint64(5), a.Sent)
		require.Equal(t, uint64(5), b.Requests)
		require.Equal(t, uint64(5), a.Replies)
		require.Equal(t, ms(402), e.Now(), "last send at 400 ms, reply 2 hops later")
	})
}

func TestNetstackQuiet(t *testing.T) {
	// Lean stacks arm no timers and start no goroutines.
	g := runtime.NumGoroutine()
	e, n := newNet(t, 1, 20)
	apps := make([]*App, 20)
	for i := range apps {
		var err error
		apps[i], err = BindApp(n.Node(i), MatterPort)
		require.NoError(t, err)
		apps[i].Peers = []netip.AddrPort{ap(Addr((i + 1) % 20))}
		apps[i].Interval, apps[i].Echo, apps[i].Limit = time.Second, true, 10
		apps[i].Start(0)
	}
	e.Run()
	require.Equal(t, uint64(0), e.NetClock().AfterFuncs)
	// Not Equal: a goroutine another test left behind (an exec'd tshark's
	// waiter) may end meanwhile; stacks that started any would add to g.
	require.LessOrEqual(t, runtime.NumGoroutine(), g)
	require.Equal(t, uint64(400), n.Stats().Delivered)
}

var testGroup = netip.MustParseAddr("ff05::fd")

func TestMulticastToJoinedNodesOnly(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 5)
		socks := make([]*Socket, 5)
		rxs := make([]*rx, 5)
		for i := range 5 {
			socks[i], rxs[i] = bind(t, n.Node(i))
		}
		var trace bytes.Buffer
		e.SetTrace(NewTrace(&trace))
		require.NoError(t, n.Node(3).JoinGroup(testGroup))
		require.NoError(t, n.Node(1).JoinGroup(testGroup))
		require.NoError(t, n.Node(1).JoinGroup(testGroup), "joining twice is harmless")
		require.Equal(t, []int{1, 3}, n.Members(testGroup))
		require.Error(t, n.Node(1).JoinGroup(netip.MustParseAddr("fd00::1")))

		require.NoError(t, socks[0].Send(ap(testGroup), []byte("g1")))
		e.Run()
		for i, want := range []int{0, 1, 0, 1, 0} {
			require.Len(t, rxs[i].got, want, "node %d", i)
		}
		require.Equal(t, "0.001000000s [fd00:6d73:696d::1]:5540 g1", rxs[3].got[0])

		// A member sending to the testGroup: the switch does not reflect the frame
		// to the sender's port; gVisor loops it back inside the sender's stack.
		require.NoError(t, socks[3].Send(ap(testGroup), []byte("g2")))
		e.Run()
		require.Len(t, rxs[1].got, 2)
		require.Len(t, rxs[3].got, 2, "own multicast via the stack's loopback")
		require.Equal(t, "0.001000000s [fd00:6d73:696d::4]:5540 g2", rxs[3].got[1], "at the send instant")

		require.NoError(t, n.Node(1).LeaveGroup(testGroup))
		require.Equal(t, []int{3}, n.Members(testGroup))
		require.NoError(t, socks[0].Send(ap(testGroup), []byte("g3")))
		e.Run()
		require.Len(t, rxs[1].got, 2, "left the testGroup")
		require.Len(t, rxs[3].got, 3)
		require.NoError(t, e.Trace().Flush())
		lines := strings.Split(strings.TrimSpace(trace.String()), "\n")
		require.Contains(t, lines[0], `"ev":"send","id":1,"from":0,"to":-1,"dst":"ff05::fd"`)
		require.Contains(t, lines[1], `"ev":"deliver","id":1,"from":0,"to":1`)
		require.Contains(t, lines[2], `"ev":"deliver","id":1,"from":0,"to":3`)
	})
}

func TestMulticastUnjoinedStackDrops(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		// The switch only knows membership it was told; a node whose stack did
		// not join drops the frame even if the switch hands it over (here via
		// Inject addressed to node 2 directly).
		e, n := newNetMode(t, mode, 1, 3)
		sa, _ := bind(t, n.Node(0))
		_, rc := bind(t, n.Node(2))
		var frame []byte
		n.OnFrame(func(_ clock.Time, p Packet) { frame = p.Data })
		require.NoError(t, sa.Send(ap(testGroup), []byte("g")))
		e.Run()
		require.NotNil(t, frame)
		n.Inject(e.Now(), Packet{Data: frame, From: -1, To: 2})
		e.Run()
		require.Empty(t, rc.got)
		require.Equal(t, uint64(1), n.Stats().Delivered)
	})
}

func TestPartitionAtExactInstants(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 4)
		s0, _ := bind(t, n.Node(0))
		_, r1 := bind(t, n.Node(1))
		s2, _ := bind(t, n.Node(2))
		_, r3 := bind(t, n.Node(3))
		send := func(at clock.Time, s *Socket, to int, msg string) {
			e.At(at, func(clock.Time) { require.NoError(t, s.Send(ap(Addr(to)), []byte(msg))) })
		}
		// Queued before the partition's events: the 100 ms send runs first and
		// passes; the 200 ms send runs first and is still cut.
		send(ms(100), s0, 1, "before-cut")
		send(ms(200), s0, 1, "before-heal")
		p := n.NewPartition([]int{0}, []int{1, 2})
		p.ActivateAt(ms(100))
		p.HealAt(ms(200))
		// Queued after them.
		send(ms(99), s0, 1, "99ms")
		send(ms(100), s0, 1, "after-cut")
		send(ms(150), s2, 1, "same-side")
		send(ms(150), s0, 3, "to-outsider")
		send(ms(199), s0, 1, "in-flight") // enters at 199 ms: cut
		send(ms(200), s0, 1, "after-heal")

		var trace bytes.Buffer
		e.SetTrace(NewTrace(&trace))
		e.Run()
		var got []string
		for _, g := range r1.got {
			got = append(got, g[strings.LastIndex(g, " ")+1:])
		}
		require.Equal(t, []string{"99ms", "before-cut", "same-side", "after-heal"}, got)
		require.Len(t, r3.got, 1)
		require.False(t, p.Active())
		require.NoError(t, e.Trace().Flush())
		require.Equal(t, 3, strings.Count(trace.String(), `"by":"partition","why":"p1 side 0->1"`))
		require.Equal(t, uint64(3), n.Stats().Dropped)

		// A frame in flight when a partition starts is still delivered.
		e2, n2 := newNetMode(t, mode, 1, 2)
		a, _ := bind(t, n2.Node(0))
		_, rb := bind(t, n2.Node(1))
		require.NoError(t, a.Send(ap(Addr(1)), []byte("x")))
		n2.NewPartition([]int{0}, []int{1}).ActivateAt(clock.Time(500 * time.Microsecond))
		e2.Run()
		require.Len(t, rb.got, 1)
	})
}

// dropOdd drops frames with an odd ID; delay delays; dup duplicates.
type dropOdd struct{}

func (dropOdd) Apply(_ clock.Time, p Packet, _ *rand.Rand, out []Out) ([]Out, Drop) {
	if p.ID%2 == 1 {
		return out, Drop{Stage: "dropodd", Reason: "odd id"}
	}
	return append(out, Out{P: p}), Drop{}
}
func (dropOdd) String() string { return "dropodd" }

type delay time.Duration

func (d delay) Apply(_ clock.Time, p Packet, _ *rand.Rand, out []Out) ([]Out, Drop) {
	return append(out, Out{P: p, Delay: time.Duration(d)}), Drop{}
}
func (d delay) String() string { return "delay " + time.Duration(d).String() }

type dup struct{}

func (dup) Apply(_ clock.Time, p Packet, _ *rand.Rand, out []Out) ([]Out, Drop) {
	return append(out, Out{P: p}, Out{P: p, Delay: time.Millisecond}), Drop{}
}
func (dup) String() string { return "dup" }

type specOf func() Stage

func (s specOf) New() Stage     { return s() }
func (s specOf) String() string { return s().String() }

func TestLinkStages(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 3)
		s0, _ := bind(t, n.Node(0))
		_, r1 := bind(t, n.Node(1))
		_, r2 := bind(t, n.Node(2))
		var trace bytes.Buffer
		e.SetTrace(NewTrace(&trace))
		n.SetLink(0, 1, fault.Chain{dropOdd{}, delay(5 * time.Millisecond)})
		n.SetLink(0, 2, dup{})
		require.Nil(t, n.Link(1, 0), "other direction untouched")
		for i := range 4 {
			require.NoError(t, s0.Send(ap(Addr(1)), []byte{byte('a' + i)}))
		}
		require.NoError(t, s0.Send(ap(Addr(2)), []byte("d")))
		e.Run()
		require.Equal(t, []string{
			"0.006000000s [fd00:6d73:696d::1]:5540 b",
			"0.006000000s [fd00:6d73:696d::1]:5540 d",
		}, r1.got, "odd IDs dropped, 1 ms hop + 5 ms stage")
		require.Equal(t, []string{
			"0.001000000s [fd00:6d73:696d::1]:5540 d",
			"0.002000000s [fd00:6d73:696d::1]:5540 d",
		}, r2.got)
		require.NoError(t, e.Trace().Flush())
		require.Equal(t, 2, strings.Count(trace.String(), `"ev":"drop","id":`))
		require.Contains(t, trace.String(), `{"t":0,"ev":"drop","id":1,"from":0,"to":1,"by":"dropodd","why":"odd id"}`)
		require.Equal(t, NetStats{Sent: 5, Delivered: 4, Dropped: 2}, n.Stats())
	})
}

func TestScheduleWildcardSpecs(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 3)
		socks := make([]*Socket, 3)
		rxs := make([]*rx, 3)
		for i := range 3 {
			socks[i], rxs[i] = bind(t, n.Node(i))
		}
		built := 0
		drop := specOf(func() Stage { built++; return dropAll{} })
		n.ApplySchedule([]fault.Change{
			{At: ms(10), From: -1, To: 1, Spec: drop}, // everything into node 1
			{At: ms(20), From: 2, To: 1, Spec: nil},   // ... except from node 2
			{At: ms(30), From: -1, To: -1, Spec: nil}, // all clean again
		})
		for _, at := range []int{5, 15, 25, 35} {
			for _, from := range []int{0, 2} {
				e.At(ms(at), func(clock.Time) {
					require.NoError(t, socks[from].Send(ap(Addr(1)), []byte(fmt.Sprintf("%d@%d", from, at))))
				})
			}
		}
		e.Run()
		var got []string
		for _, g := range rxs[1].got {
			got = append(got, g[strings.LastIndex(g, " ")+1:])
		}
		require.Equal(t, []string{"0@5", "2@5", "2@25", "0@35", "2@35"}, got)
		require.Equal(t, 2, built, "one stage per link, built on first use")
	})
}

type dropAll struct{}

func (dropAll) Apply(_ clock.Time, _ Packet, _ *rand.Rand, out []Out) ([]Out, Drop) {
	return out, Drop{Stage: "dropall", Reason: "all"}
}
func (dropAll) String() string { return "dropall" }

func TestLinkStreamsIndependentOfTraffic(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		// A link's rng is its own stream: traffic on another link does not move it.
		draw := func(extra bool) []uint64 {
			e, n := newNetMode(t, mode, 9, 3)
			var seen []uint64
			n.SetLink(0, 1, stageFunc(func(p Packet, rng *rand.Rand, out []Out) []Out {
				seen = append(seen, rng.Uint64())
				return append(out, Out{P: p})
			}))
			n.SetLink(0, 2, stageFunc(func(p Packet, rng *rand.Rand, out []Out) []Out {
				rng.Uint64()
				return append(out, Out{P: p})
			}))
			s0, _ := bind(t, n.Node(0))
			for range 3 {
				if extra {
					require.NoError(t, s0.Send(ap(Addr(2)), nil))
				}
				require.NoError(t, s0.Send(ap(Addr(1)), nil))
			}
			e.Run()
			return seen
		}
		require.Equal(t, draw(false), draw(true))
	})
}

type stageFunc func(p Packet, rng *rand.Rand, out []Out) []Out

func (f stageFunc) Apply(_ clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	return f(p, rng, out), Drop{}
}
func (stageFunc) String() string { return "func" }

func TestInjectAndTap(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 3)
		s0, _ := bind(t, n.Node(0))
		_, r1 := bind(t, n.Node(1))
		_, r2 := bind(t, n.Node(2))
		var seen []Packet
		n.OnFrame(func(now clock.Time, p Packet) {
			seen = append(seen, p)
			if !p.Injected {
				// Replay the frame 10 ms later to its own destination, and
				// once more forced onto node 2's link.
				n.Inject(now.Add(10*time.Millisecond), Packet{Data: p.Data, From: -1, To: -1})
				n.Inject(now.Add(10*time.Millisecond), Packet{Data: p.Data, From: 0, To: 2})
			}
		})
		var trace bytes.Buffer
		e.SetTrace(NewTrace(&trace))
		require.NoError(t, s0.Send(ap(Addr(1)), []byte("hi")))
		e.Run()
		require.Equal(t, []string{
			"0.001000000s [fd00:6d73:696d::1]:5540 hi",
			"0.011000000s [fd00:6d73:696d::1]:5540 hi",
		}, r1.got)
		require.Empty(t, r2.got, "node 2's stack rejects a frame not addressed to it")
		require.Len(t, seen, 3)
		require.Equal(t, Packet{Data: seen[0].Data, From: 0, To: 1, ID: 1}, seen[0])
		require.True(t, seen[1].Injected)
		require.Equal(t, uint64(2), seen[1].ID)
		require.Equal(t, 2, seen[2].To)
		require.Equal(t, NetStats{Sent: 1, Injected: 2, Delivered: 3}, n.Stats())
		require.NoError(t, e.Trace().Flush())
		require.Contains(t, trace.String(), `"ev":"deliver","id":2,"from":-1,"to":1,"len":50,"inj":true}`)

		// Garbage is dropped by the switch, not a panic.
		n.Inject(0, Packet{Data: []byte{1, 2, 3}, From: -1, To: -1})
		e.Run()
		require.Equal(t, uint64(1), n.Stats().Dropped)
	})
}

func TestSocketTimerAndClose(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 2)
		h := &timerRec{}
		s, err := n.Node(0).Bind(MatterPort, h)
		require.NoError(t, err)
		s.SetTimer(ms(50))
		s.SetTimer(ms(30)) // one timer: replaced
		require.Equal(t, ms(30), s.Deadline())
		e.Run()
		require.Equal(t, []clock.Time{ms(30)}, h.fired)
		s.SetTimer(ms(40))
		s.SetTimer(clock.Never)
		e.Run()
		require.Len(t, h.fired, 1)
		s.SetTimer(ms(60))
		s.Close()
		e.Run()
		require.Len(t, h.fired, 1)
		var se *SendError
		require.ErrorAs(t, s.Send(ap(Addr(1)), nil), &se)
		_, err = n.Node(0).Bind(MatterPort, h)
		require.NoError(t, err, "port free again after Close")
	})
}

type timerRec struct{ fired []clock.Time }

func (r *timerRec) HandleDatagram(clock.Time, netip.AddrPort, []byte) {}
func (r *timerRec) HandleTimer(now clock.Time)                        { r.fired = append(r.fired, now) }

// randomWorkload runs k nodes sending jittered echo requests to random peers
// (and some multicast) and returns the trace and pcap bytes.
func randomWorkload(t testing.TB, seed uint64, k, perNode int) (trace, pcap []byte) {
	return randomWorkloadMode(t, ModeNetstack, seed, k, perNode)
}

func randomWorkloadMode(t testing.TB, mode Mode, seed uint64, k, perNode int) (trace, pcap []byte) {
	e, n := newNetMode(t, mode, seed, k)
	var tb, pb bytes.Buffer
	e.SetTrace(NewTrace(&tb))
	pc, err := NewPcap(&pb)
	require.NoError(t, err)
	n.SetPcap(pc)
	peers := make([]netip.AddrPort, k)
	for i := range k {
		peers[i] = ap(Addr(i))
	}
	peers = append(peers, ap(testGroup))
	for i := range k {
		a, err := BindApp(n.Node(i), MatterPort)
		require.NoError(t, err)
		if i%3 == 0 {
			require.NoError(t, n.Node(i).JoinGroup(testGroup))
		}
		a.Peers, a.Echo, a.Interval, a.Jitter, a.Limit, a.Size = peers, true, 50*time.Millisecond, 100*time.Millisecond, uint64(perNode), 40
		a.Start(0)
	}
	n.SetLinkSpec(-1, -1, specOf(func() Stage { return randomDelay{} }))
	e.Run()
	e.Trace().Event(e.Now(), NoNode, "end", Str("why", "quiescent"), Int("events", int64(e.Processed())))
	require.NoError(t, e.Trace().Flush())
	// Every frame entering the switch is one pcap record.
	require.Equal(t, n.Stats().Sent, pc.Packets())
	require.NoError(t, pc.Err())
	return tb.Bytes(), pb.Bytes()
}

// randomDelay adds 0..2 ms drawn from the link's stream.
type randomDelay struct{}

func (randomDelay) Apply(_ clock.Time, p Packet, rng *rand.Rand, out []Out) ([]Out, Drop) {
	return append(out, Out{P: p, Delay: time.Duration(rng.IntN(2000)) * time.Microsecond}), Drop{}
}
func (randomDelay) String() string { return "randomdelay" }

func TestDeterminism(t *testing.T) {
	t1, p1 := randomWorkload(t, 7, 30, 20)
	t2, p2 := randomWorkload(t, 7, 30, 20)
	t3, _ := randomWorkload(t, 8, 30, 20)
	require.Greater(t, bytes.Count(t1, []byte("\n")), 1000)
	require.Equal(t, sha256.Sum256(t1), sha256.Sum256(t2), "same seed: byte-identical trace")
	require.Equal(t, sha256.Sum256(p1), sha256.Sum256(p2), "same seed: byte-identical pcap")
	require.NotEqual(t, sha256.Sum256(t1), sha256.Sum256(t3), "different seed: different run")
}

func TestTraceFieldOrderAndEscaping(t *testing.T) {
	var b bytes.Buffer
	tr := NewTrace(&b)
	tr.Event(clock.Time(1500), 3, "session", Str("state", "established"), Int("id", 42), Str("note", "a\"b\\c\n\x01"))
	require.NoError(t, tr.Flush())
	require.Equal(t, `{"t":1500,"ev":"session","node":3,"state":"established","id":42,"note":"a\"b\\c\n\u0001"}`+"\n", b.String())
	require.Equal(t, uint64(1), tr.Lines())
}

func TestPcapStructure(t *testing.T) {
	_, p := randomWorkload(t, 3, 5, 3)
	require.GreaterOrEqual(t, len(p), 24)
	require.Equal(t, uint32(PcapMagicNanos), binary.LittleEndian.Uint32(p[0:]))
	require.Equal(t, uint16(2), binary.LittleEndian.Uint16(p[4:]))
	require.Equal(t, uint16(4), binary.LittleEndian.Uint16(p[6:]))
	require.Equal(t, uint32(PcapLinkTypeRaw), binary.LittleEndian.Uint32(p[20:]))
	off, recs, last := 24, 0, int64(-1)
	for off < len(p) {
		require.LessOrEqual(t, off+16, len(p))
		sec := int64(binary.LittleEndian.Uint32(p[off:]))
		nsec := int64(binary.LittleEndian.Uint32(p[off+4:]))
		incl := int(binary.LittleEndian.Uint32(p[off+8:]))
		orig := int(binary.LittleEndian.Uint32(p[off+12:]))
		require.Less(t, nsec, int64(1e9))
		ts := sec*1e9 + nsec
		require.GreaterOrEqual(t, ts, last, "records in time order")
		last = ts
		require.Equal(t, incl, orig)
		pkt := p[off+16 : off+16+incl]
		require.Equal(t, byte(6), pkt[0]>>4, "IPv6")
		require.Equal(t, byte(17), pkt[6], "next header UDP")
		require.Equal(t, incl-40, int(binary.BigEndian.Uint16(pkt[4:])), "payload length")
		off += 16 + incl
		recs++
	}
	require.Equal(t, len(p), off)
	require.Greater(t, recs, 15)

	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed; structural check only")
		return
	}
	f := t.TempDir() + "/x.pcap"
	require.NoError(t, os.WriteFile(f, p, 0o644))
	out, err := exec.Command(tshark, "-r", f, "-T", "fields", "-e", "ipv6.dst", "-e", "udp.dstport").Output()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, recs)
	require.Contains(t, string(out), "5540")
}

func TestFaultPackageStages(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		// The switch runs package fault's stages: 30% random loss plus a delay
		// on 0 → 1 only; the trace names the stage that dropped each frame.
		run := func(seed uint64) (string, int) {
			e, n := newNetMode(t, mode, seed, 2)
			s0, _ := bind(t, n.Node(0))
			_, r1 := bind(t, n.Node(1))
			var trace bytes.Buffer
			e.SetTrace(NewTrace(&trace))
			n.SetLinkSpec(0, 1, fault.Specs{fault.LossRandom{P: 0.3}, fault.Delay{Delay: 4 * time.Millisecond}})
			for i := range 400 {
				e.At(ms(i), func(clock.Time) { require.NoError(t, s0.Send(ap(Addr(1)), []byte("x"))) })
			}
			e.Run()
			require.NoError(t, e.Trace().Flush())
			drops := strings.Count(trace.String(), `"by":"loss random 30%","why":"loss"`)
			require.Equal(t, 400, len(r1.got)+drops)
			require.Equal(t, uint64(drops), n.Stats().Dropped)
			require.True(t, strings.HasPrefix(r1.got[0], "0.005000000s") || strings.HasPrefix(r1.got[0], "0.006000000s"))
			return trace.String(), drops
		}
		t1, d1 := run(5)
		t2, _ := run(5)
		_, d3 := run(6)
		require.InDelta(t, 120, d1, 40)
		require.Equal(t, t1, t2)
		require.NotEqual(t, d1, d3, "another seed draws other losses (may tie rarely; seeds fixed here)")
	})
}

// TestScheduleLinkAndSchedule: a stage set with ScheduleLink and a heal
// scheduled with Schedule take effect at their exact instants; a send queued
// at the same instant after the change sees it.
func TestScheduleLinkAndSchedule(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 2)
		s0, _ := bind(t, n.Node(0))
		_, r1 := bind(t, n.Node(1))
		n.ScheduleLink(ms(10), 0, 1, dropAll{})
		n.Schedule(ms(20), func(n *Network) { n.SetLink(0, 1, nil) })
		for _, at := range []int{5, 10, 15, 20, 25} {
			e.At(ms(at), func(clock.Time) {
				require.NoError(t, s0.Send(ap(Addr(1)), []byte(fmt.Sprintf("@%d", at))))
			})
		}
		e.Run()
		var got []string
		for _, g := range r1.got {
			got = append(got, g[strings.LastIndex(g, " ")+1:])
		}
		require.Equal(t, []string{"@5", "@20", "@25"}, got)
		require.Nil(t, n.Link(0, 1))
	})
}
