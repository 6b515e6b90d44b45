package sim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/sim/fault"
)

func TestParseMode(t *testing.T) {
	for _, m := range Modes() {
		got, err := ParseMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := ParseMode("udp")
	require.ErrorContains(t, err, `unknown network mode "udp"`)
	_, err = NewNetwork(New(1), NetConfig{Mode: Mode(7)})
	require.ErrorContains(t, err, "unknown network mode 7")
	require.Equal(t, "Mode(7)", Mode(7).String())
}

// modeRun is what one mode made of a scripted exchange: every frame that
// entered the switch (hex), every datagram a socket read, every send error
// and the trace.
type modeRun struct {
	frames, got, errs []string
	trace             string
	stats             NetStats
	events            uint64
}

// script sends from node 0 (a member of testGroup, as node 2) to every kind
// of destination, at several sizes, and runs the network.
func script(t *testing.T, mode Mode) modeRun {
	e, n := newNetMode(t, mode, 3, 4)
	var r modeRun
	var tb bytes.Buffer
	e.SetTrace(NewTrace(&tb))
	n.OnFrame(func(_ clock.Time, p Packet) { r.frames = append(r.frames, hex.EncodeToString(p.Data)) })
	socks := make([]*Socket, 4)
	for i := range socks {
		i := i
		s, err := n.Node(i).Bind(MatterPort, handlerFunc(func(now clock.Time, from netip.AddrPort, p []byte) {
			r.got = append(r.got, fmt.Sprintf("%d %s %s %d %x", i, now, from, len(p), p[:min(len(p), 8)]))
		}))
		require.NoError(t, err)
		socks[i] = s
	}
	require.NoError(t, n.Node(0).JoinGroup(testGroup))
	require.NoError(t, n.Node(2).JoinGroup(testGroup))
	site := netip.MustParseAddr("ff35:40:fd00::100:1") // a Matter group address (spec 2.5.6.2), site scope
	require.NoError(t, n.Node(0).JoinGroup(site))
	dsts := []netip.AddrPort{
		ap(Addr(1)), ap(LinkLocalAddr(1)), ap(testGroup), ap(site), ap(netip.MustParseAddr("ff02::1")),
		ap(netip.MustParseAddr("ff02::fd")), ap(Addr(0)), ap(Addr(9)), ap(netip.MustParseAddr("2001:db8::1")),
		ap(netip.MustParseAddr("::1")), ap(netip.IPv6Unspecified()),
		netip.AddrPortFrom(Addr(1), 9), netip.AddrPortFrom(LinkLocalAddr(1), 9), // no socket: ICMPv6 port unreachable
		netip.AddrPortFrom(testGroup, 9), // nor to a multicast destination (RFC 4443 2.4 (e.3))
	}
	for _, size := range []int{0, 1, 63, 64, 1000, MaxDirectPayload} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i*7 + size)
		}
		for _, d := range dsts {
			if err := socks[0].Send(d, payload); err != nil {
				r.errs = append(r.errs, err.Error())
			}
			e.RunFor(100 * time.Microsecond)
		}
	}
	e.Run()
	require.NoError(t, e.Trace().Flush())
	r.trace, r.stats, r.events = tb.String(), n.Stats(), e.Processed()
	return r
}

// sameLines reports the first difference between two lists, shortened: the
// frames are long.
func sameLines(t *testing.T, want, got []string, what string) {
	t.Helper()
	short := func(s string) string {
		if len(s) > 200 {
			return s[:200] + "..."
		}
		return s
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("%s: first difference at %d:\nnetstack %s\ndirect   %s", what, i, short(want[i]), short(got[i]))
		}
	}
	require.Equal(t, len(want), len(got), "%s: count", what)
}

type handlerFunc func(now clock.Time, from netip.AddrPort, p []byte)

func (f handlerFunc) HandleDatagram(now clock.Time, from netip.AddrPort, p []byte) { f(now, from, p) }
func (handlerFunc) HandleTimer(clock.Time)                                         {}

// The direct host writes the bytes a gVisor stack writes, and delivers what
// gVisor delivers, in the same order and at the same instants, with the
// same number of events.
func TestDirectFramesEqualNetstack(t *testing.T) {
	ns, d := script(t, ModeNetstack), script(t, ModeDirect)
	require.NotEmpty(t, ns.frames)
	sameLines(t, ns.frames, d.frames, "frames")
	sameLines(t, ns.got, d.got, "datagrams read")
	require.Equal(t, ns.errs, d.errs)
	sameLines(t, strings.Split(ns.trace, "\n"), strings.Split(d.trace, "\n"), "trace")
	require.Equal(t, ns.stats, d.stats)
	require.Equal(t, ns.events, d.events)
	require.Greater(t, len(ns.got), 40, "unicast, link-local, own group loopback, ...")
}

// The random echo workload (unicast and multicast, random link delays) is
// byte-identical in both modes: trace and capture.
func TestDirectWorkloadEqualsNetstack(t *testing.T) {
	t1, p1 := randomWorkloadMode(t, ModeNetstack, 7, 30, 20)
	t2, p2 := randomWorkloadMode(t, ModeDirect, 7, 30, 20)
	require.Greater(t, bytes.Count(t1, []byte("\n")), 1000)
	require.Equal(t, string(t1), string(t2))
	require.Equal(t, p1, p2)
}

// Every single-bit corruption of a frame is accepted or refused by the
// direct host exactly as by a gVisor stack, and answered with the same
// ICMPv6 error if any (what a Corrupt stage of scope packet does to frames):
// for a unicast, a link-local and a multicast UDP frame, for a port
// unreachable (an ICMPv6 frame), and for truncated and padded frames.
func TestDirectBitFlipsMatchNetstack(t *testing.T) {
	type outcome struct {
		read    int
		replies []string
	}
	deliver := func(mode Mode, b []byte) outcome {
		e, n := newNetMode(t, mode, 1, 2)
		_, r := bind(t, n.Node(1))
		require.NoError(t, n.Node(1).JoinGroup(testGroup))
		var o outcome
		n.OnFrame(func(_ clock.Time, p Packet) {
			if !p.Injected {
				o.replies = append(o.replies, hex.EncodeToString(p.Data))
			}
		})
		n.Inject(0, Packet{Data: b, From: -1, To: 1})
		e.Run()
		o.read = len(r.got)
		return o
	}
	for _, c := range []struct {
		name string
		dst  netip.AddrPort
	}{
		{"unicast", ap(Addr(1))}, {"link-local", ap(LinkLocalAddr(1))}, {"multicast", ap(testGroup)},
		{"port-unreachable", netip.AddrPortFrom(Addr(0), 9)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var frame []byte
			{
				// The frame node 0 sends to c.dst; for port-unreachable,
				// the ICMPv6 error node 0 sends back to node 1.
				e, n := newNetMode(t, ModeNetstack, 1, 2)
				s1, _ := bind(t, n.Node(1))
				s0, _ := bind(t, n.Node(0))
				n.OnFrame(func(_ clock.Time, p Packet) { frame = p.Data })
				if c.name == "port-unreachable" {
					require.NoError(t, s1.Send(c.dst, []byte("a Matter message of some length")))
				} else {
					require.NoError(t, s0.Send(c.dst, []byte("a Matter message of some length")))
				}
				e.Run()
				require.NotNil(t, frame)
			}
			refused, answered := 0, 0
			for i := range len(frame) * 8 {
				b := bytes.Clone(frame)
				b[i/8] ^= 1 << (i % 8)
				ns, d := deliver(ModeNetstack, b), deliver(ModeDirect, b)
				require.Equal(t, ns.read, d.read, "bit %d (byte %d): datagrams read", i, i/8)
				sameLines(t, ns.replies, d.replies, fmt.Sprintf("bit %d (byte %d): frames sent in reply", i, i/8))
				if ns.read == 0 {
					refused++
				}
				if len(ns.replies) > 0 {
					answered++
				}
			}
			t.Logf("%d bits: %d refused, %d answered with ICMPv6", len(frame)*8, refused, answered)
			require.Greater(t, refused, len(frame)*4/5, "most flips are refused")
			for _, b := range [][]byte{frame[:len(frame)-1], frame[:47], frame[:40], frame[:39], append(bytes.Clone(frame), 0, 0)} {
				ns, d := deliver(ModeNetstack, b), deliver(ModeDirect, b)
				require.Equal(t, ns.read, d.read, "length %d", len(b))
				sameLines(t, ns.replies, d.replies, fmt.Sprintf("length %d: frames sent in reply", len(b)))
			}
		})
	}
}

// A datagram a direct node cannot send in one frame is refused with a typed
// error and counted; nothing enters the switch.
func TestDirectTooLarge(t *testing.T) {
	// The session core refuses larger messages itself (session/send.go), so
	// a scenario never meets the limit.
	require.Equal(t, message.MaxUDPPayload, MaxDirectPayload)
	e, n := newNetMode(t, ModeDirect, 1, 2)
	s, _ := bind(t, n.Node(0))
	_, r := bind(t, n.Node(1))
	err := s.Send(ap(Addr(1)), make([]byte, MaxDirectPayload+1))
	require.ErrorIs(t, err, ErrTooLarge)
	var se *SendError
	require.True(t, errors.As(err, &se))
	require.Equal(t, 0, se.Node)
	require.Contains(t, err.Error(), "1233-byte datagram above the direct mode's 1232")
	e.Run()
	require.Empty(t, r.got)
	require.Equal(t, NetStats{Refused: 1}, n.Stats())

	// The netstack fragments it instead: two frames, one datagram.
	e2, n2 := newNetMode(t, ModeNetstack, 1, 2)
	s2, _ := bind(t, n2.Node(0))
	_, r2 := bind(t, n2.Node(1))
	require.NoError(t, s2.Send(ap(Addr(1)), make([]byte, MaxDirectPayload+1)))
	e2.Run()
	require.Len(t, r2.got, 1)
	require.Equal(t, uint64(2), n2.Stats().Sent)
}

func TestDirectBind(t *testing.T) {
	_, n := newNetMode(t, ModeDirect, 1, 1)
	nd := n.Node(0)
	require.Nil(t, nd.Stack())
	s, err := nd.Bind(MatterPort, &rx{})
	require.NoError(t, err)
	_, err = nd.Bind(MatterPort, &rx{})
	require.ErrorContains(t, err, "port is in use")
	_, err = nd.Bind(0, &rx{})
	require.ErrorContains(t, err, "no ephemeral ports")
	s.Close()
	_, err = nd.Bind(MatterPort, &rx{})
	require.NoError(t, err, "free again after Close")
}

// Both modes answer a burst of datagrams to a port nobody bound with the
// same ICMPv6 port unreachables: the same bytes, and as many as gVisor's
// rate limiter (50 at once, then 1000 a second) lets through.
func TestDirectICMPRateLimit(t *testing.T) {
	run := func(mode Mode) (frames []string, sent uint64) {
		e, n := newNetMode(t, mode, 1, 2)
		s, _ := bind(t, n.Node(0))
		n.OnFrame(func(_ clock.Time, p Packet) {
			if p.From == 1 {
				frames = append(frames, hex.EncodeToString(p.Data))
			}
		})
		for range 80 {
			require.NoError(t, s.Send(netip.AddrPortFrom(Addr(1), 9), []byte("x")))
		}
		e.RunFor(15 * time.Millisecond) // the second burst arrives 15 ms after the first: 15 more tokens
		for range 80 {
			require.NoError(t, s.Send(netip.AddrPortFrom(Addr(1), 9), []byte("y")))
		}
		e.Run()
		return frames, n.Stats().Sent
	}
	nf, ns := run(ModeNetstack)
	df, ds := run(ModeDirect)
	require.Equal(t, 50+15, len(nf))
	sameLines(t, nf, df, "ICMPv6 frames")
	require.Equal(t, ns, ds)
}

// Joins count as in gVisor: a node that joined a group twice and left once
// still takes (and loops back) the group's datagrams, though the switch
// forgot it at the first leave; leaving a group it is not in is an error.
func TestDirectJoinRefcount(t *testing.T) {
	run := func(mode Mode) (errs []string, got int) {
		e, n := newNetMode(t, mode, 1, 2)
		s, r := bind(t, n.Node(0))
		nd := n.Node(0)
		for _, f := range []func(netip.Addr) error{nd.LeaveGroup, nd.JoinGroup, nd.JoinGroup, nd.LeaveGroup} {
			if err := f(testGroup); err != nil {
				errs = append(errs, err.Error())
			}
		}
		require.NoError(t, s.Send(ap(testGroup), []byte("x")))
		n.Inject(0, Packet{Data: fault.BuildUDP6(Addr(1), testGroup, MatterPort, MatterPort, []byte("y")), From: 1, To: 0})
		e.Run()
		if err := nd.LeaveGroup(testGroup); err != nil {
			errs = append(errs, err.Error())
		}
		if err := nd.LeaveGroup(testGroup); err != nil {
			errs = append(errs, err.Error())
		}
		return errs, len(r.got)
	}
	ne, ng := run(ModeNetstack)
	de, dg := run(ModeDirect)
	require.Equal(t, 2, ng, "own loopback and the frame forced onto its link")
	require.Len(t, ne, 2)
	require.Equal(t, ne, de)
	require.Equal(t, ng, dg)
}
