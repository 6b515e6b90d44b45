package adversary

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/sim/fault"
)

var (
	addr = []netip.Addr{
		netip.MustParseAddr("fd00:6d73:696d::1"),
		netip.MustParseAddr("fd00:6d73:696d::2"),
		netip.MustParseAddr("fd00:6d73:696d::3"),
	}
)

type injection struct {
	At clock.Time
	P  fault.Packet
}

// recorder is a fake Network that records Inject calls.
type recorder struct{ got []injection }

func (r *recorder) Inject(at clock.Time, p fault.Packet) { r.got = append(r.got, injection{at, p}) }

var _ Network = (*recorder)(nil)

// secureFrame is a secure unicast message from node from to node to.
func secureFrame(from, to int, session message.SessionID, ctr uint32) fault.Packet {
	h := message.Header{SessionID: session, Counter: ctr}
	b := h.Append(nil)
	b = append(b, make([]byte, 6+4+message.MICSize)...) // stand-in ciphertext + MIC
	b[len(b)-1] = byte(ctr)                             // make each frame distinct
	return fault.Packet{Data: fault.BuildUDP6(addr[from], addr[to], 5540, 5540, b), From: from, To: to}
}

// mcspFrame is an MCSP message (spec 4.18: group key, C=1, S=1, DSIZ=1);
// the response carries 4 more payload bytes than the request.
func mcspFrame(from, to int, ctr uint32, response bool) fault.Packet {
	h := message.Header{SessionID: 0x7777, Flags: message.ControlFlag | message.SecurityFlags(message.SessionGroup),
		Counter: ctr, HasSource: true, Source: message.NodeID(from + 1), DestKind: message.DestinationNode, DestNode: message.NodeID(to + 1)}
	n := 6 + 8
	if response {
		n += 4
	}
	b := append(h.Append(nil), make([]byte, n+message.MICSize)...)
	return fault.Packet{Data: fault.BuildUDP6(addr[from], addr[to], 5540, 5540, b), From: from, To: to}
}

func paseFrame(from, to int, op uint8) fault.Packet {
	h := message.Header{Counter: 1, HasSource: true, Source: 42}
	ph := message.ProtocolHeader{Flags: message.InitiatorFlag, Opcode: op}
	b := ph.Append(h.Append(nil))
	return fault.Packet{Data: fault.BuildUDP6(addr[from], addr[to], 5540, 5540, b), From: from, To: to}
}

// mcspResponses: "replay every MCSP counter-sync response" (response =
// the longer of the two MCSP messages).
var mcspResponses = Rule{Name: "mcsp-rsp", Match: fault.Match{Matter: func() fault.MatterMatch {
	m := fault.MCSP()
	m.PayloadMin = 24 + 6 + 12 + message.MICSize
	return m
}()}}

func TestReplayNowSelectsAndKeepsBytes(t *testing.T) {
	var net recorder
	a := New(&net, mcspResponses)
	frames := []fault.Packet{
		secureFrame(0, 1, 0x10, 1),
		mcspFrame(0, 1, 5, false), // request
		mcspFrame(1, 0, 6, true),  // response: selected
		paseFrame(0, 1, message.OpPBKDFParamRequest),
		mcspFrame(1, 2, 7, true), // response: selected
	}
	for i, p := range frames {
		p.ID = uint64(100 + i)
		a.Observe(clock.Time(i)*1e6, p)
	}
	require.Len(t, net.got, 2)
	for k, want := range []int{2, 4} {
		inj := net.got[k]
		orig := frames[want]
		require.Equal(t, clock.Time(want)*1e6, inj.At, "replayed at the capture instant")
		require.True(t, inj.P.Injected)
		require.Zero(t, inj.P.ID)
		require.Equal(t, orig.Data, inj.P.Data, "original bytes, addresses included")
		require.Equal(t, orig.From, inj.P.From)
		require.Equal(t, orig.To, inj.P.To)
	}
	st := a.Stats()
	require.Equal(t, uint64(5), st.Seen)
	require.Equal(t, uint64(2), st.Recorded)
	require.Equal(t, uint64(2), st.Replayed)
	require.Equal(t, []RuleStats{{Captured: 2, Replayed: 2}}, st.Rules)
	// Its own injections, tapped again, are not captured (no replay loop).
	a.Observe(10e6, net.got[0].P)
	require.Len(t, net.got, 2)
	require.Equal(t, uint64(6), a.Stats().Seen)
}

func TestReplayCapturedCopyIsPrivate(t *testing.T) {
	var net recorder
	a := New(&net, Rule{AfterFrames: 1})
	p := secureFrame(0, 1, 1, 1)
	want := append([]byte(nil), p.Data...)
	a.Observe(0, p)
	p.Data[50] ^= 0xFF // the switch reuses its buffer
	a.Observe(1, secureFrame(0, 1, 1, 2))
	require.Equal(t, want, net.got[0].P.Data)
}

func TestReplayDelayAndCopies(t *testing.T) {
	var net recorder
	a := New(&net, Rule{Match: fault.Match{From: []int{0}}, Delay: 300 * time.Millisecond, Copies: 3, Interval: 50 * time.Millisecond})
	a.Observe(clock.Time(2*time.Second), secureFrame(0, 1, 1, 1))
	a.Observe(clock.Time(3*time.Second), secureFrame(1, 0, 1, 1)) // other direction: ignored
	require.Len(t, net.got, 3)
	for k, want := range []time.Duration{2300, 2350, 2400} {
		require.Equal(t, clock.Time(want*time.Millisecond), net.got[k].At)
	}
	require.Equal(t, uint64(3), a.Stats().Rules[0].Replayed)
}

func TestReplayAfterFrames(t *testing.T) {
	var net recorder
	// Capture counter 10 of session 0x10 from node 0 to 1, replay it once
	// the victim has sent 3 more frames of that session to node 1.
	a := New(&net, Rule{
		Match:       fault.Match{From: []int{0}, Matter: fault.MatterMatch{Sessions: []message.SessionID{0x10}, Counters: []fault.CounterRange{{Lo: 10, Hi: 10}}}},
		AfterFrames: 3,
		Delay:       time.Millisecond,
	})
	seq := []struct {
		p       fault.Packet
		replays int // total injections after observing it
	}{
		{secureFrame(0, 1, 0x10, 10), 0}, // captured
		{secureFrame(0, 1, 0x10, 11), 0}, // 1
		{secureFrame(1, 0, 0x20, 5), 0},  // reverse direction: not counted
		{secureFrame(0, 1, 0x11, 1), 0},  // other session: not counted
		{secureFrame(0, 2, 0x10, 12), 0}, // other receiver: not counted
		{secureFrame(0, 1, 0x10, 12), 0}, // 2
		{secureFrame(0, 1, 0x10, 13), 1}, // 3: replay due now + 1 ms
		{secureFrame(0, 1, 0x10, 14), 1},
	}
	for i, s := range seq {
		a.Observe(clock.Time(i)*1e6, s.p)
		require.Len(t, net.got, s.replays, "after frame %d", i)
		if i == 0 {
			require.Equal(t, 1, a.Stats().Pending)
		}
	}
	require.Equal(t, clock.Time(6e6+1e6), net.got[0].At)
	require.Equal(t, seq[0].p.Data, net.got[0].P.Data)
	require.Zero(t, a.Stats().Pending)

	// An explicit Window counts whatever it selects: here any frame from node 1.
	net.got = nil
	b := New(&net, Rule{Match: fault.Match{From: []int{0}}, AfterFrames: 2, Window: fault.Match{From: []int{1}}})
	b.Observe(0, secureFrame(0, 1, 1, 1))
	b.Observe(1, secureFrame(0, 1, 1, 2)) // captured too, waits as well
	b.Observe(2, secureFrame(1, 0, 1, 1))
	require.Empty(t, net.got)
	inj := secureFrame(1, 0, 1, 2)
	inj.Injected = true
	b.Observe(3, inj) // injected frames do not count
	require.Empty(t, net.got)
	b.Observe(4, secureFrame(1, 2, 9, 9))
	require.Len(t, net.got, 2)
	require.Equal(t, byte(1), net.got[0].P.Data[len(net.got[0].P.Data)-1], "capture order kept")
}

func verifyUDP(t *testing.T, b []byte) {
	t.Helper()
	ip := header.IPv6(b)
	u := header.UDP(ip.Payload())
	require.True(t, u.IsChecksumValid(ip.SourceAddress(), ip.DestinationAddress(), checksum.Checksum(u.Payload(), 0)),
		"gVisor says the UDP checksum is wrong")
}

func TestRedirectAndSpoof(t *testing.T) {
	var net recorder
	a := New(&net,
		Rule{Name: "redirect", Match: fault.Match{Matter: fault.MatterMatch{Counters: []fault.CounterRange{{Lo: 1, Hi: 1}}}},
			Redirect: &Endpoint{Node: 2, Addr: addr[2]}},
		Rule{Name: "spoof", Match: fault.Match{Matter: fault.MatterMatch{Counters: []fault.CounterRange{{Lo: 2, Hi: 2}}}},
			Spoof: &Endpoint{Node: 2, Addr: addr[2]}},
		Rule{Name: "attribution only", Match: fault.Match{Matter: fault.MatterMatch{Counters: []fault.CounterRange{{Lo: 3, Hi: 3}}}},
			Redirect: &Endpoint{Node: 2}},
	)
	for c := uint32(1); c <= 3; c++ {
		a.Observe(clock.Time(c), secureFrame(0, 1, 0x10, c))
	}
	require.Len(t, net.got, 3)
	red, spf, attr := net.got[0].P, net.got[1].P, net.got[2].P

	ip := header.IPv6(red.Data)
	require.Equal(t, tcpip.AddrFrom16(addr[2].As16()), ip.DestinationAddress())
	require.Equal(t, tcpip.AddrFrom16(addr[0].As16()), ip.SourceAddress())
	require.Equal(t, 2, red.To)
	require.Equal(t, 0, red.From)
	verifyUDP(t, red.Data)

	ip = header.IPv6(spf.Data)
	require.Equal(t, tcpip.AddrFrom16(addr[2].As16()), ip.SourceAddress())
	require.Equal(t, tcpip.AddrFrom16(addr[1].As16()), ip.DestinationAddress())
	require.Equal(t, 2, spf.From)
	require.Equal(t, 1, spf.To)
	verifyUDP(t, spf.Data)

	orig := secureFrame(0, 1, 0x10, 3)
	require.Equal(t, orig.Data, attr.Data, "no address given: bytes unchanged")
	require.Equal(t, 2, attr.To)

	// The Matter message is untouched by the rewrite.
	o1 := secureFrame(0, 1, 0x10, 1)
	require.Equal(t, o1.Data[48:], red.Data[48:])
}

func TestSelectionByTypeNodeAndLimit(t *testing.T) {
	var net recorder
	a := New(&net, Rule{
		Match:       fault.Match{To: []int{1}, Matter: fault.MatterMatch{Types: []fault.MessageType{{Opcode: message.OpCASESigma1}}}},
		MaxCaptures: 2,
	})
	a.Observe(0, paseFrame(0, 1, message.OpCASESigma1))
	a.Observe(1, paseFrame(0, 2, message.OpCASESigma1)) // wrong node
	a.Observe(2, paseFrame(0, 1, message.OpPBKDFParamRequest))
	a.Observe(3, paseFrame(2, 1, message.OpCASESigma1))
	a.Observe(4, paseFrame(0, 1, message.OpCASESigma1)) // over the limit
	require.Len(t, net.got, 2)
	require.Equal(t, []clock.Time{0, 3}, []clock.Time{net.got[0].At, net.got[1].At})
}

func TestBoundedMemory(t *testing.T) {
	var net recorder
	a := New(&net, Rule{AfterFrames: 1_000_000})
	a.SetCapacity(4)
	for i := range 10 {
		a.Observe(clock.Time(i), secureFrame(0, 1, 1, uint32(i)))
	}
	st := a.Stats()
	require.Equal(t, 4, st.Pending)
	require.Equal(t, uint64(6), st.Rules[0].Evicted)
	rec := a.Recorded()
	require.Len(t, rec, 4)
	for k, c := range rec {
		require.Equal(t, clock.Time(6+k), c.At, "oldest first, newest kept")
	}
	require.Equal(t, uint64(10), st.Recorded)

	// Manual replay from the history, redirected.
	a.Replay(100, rec[0], &Endpoint{Node: 2, Addr: addr[2]}, nil)
	require.Len(t, net.got, 1)
	require.Equal(t, clock.Time(100), net.got[0].At)
	require.True(t, net.got[0].P.Injected)
	verifyUDP(t, net.got[0].P.Data)
	require.Equal(t, uint64(1), a.Stats().Replayed)
}

func TestRecordAll(t *testing.T) {
	var net recorder
	a := New(&net)
	a.RecordAll(true)
	a.Observe(0, secureFrame(0, 1, 1, 1))
	inj := secureFrame(0, 1, 1, 2)
	inj.Injected = true
	a.Observe(1, inj)
	rec := a.Recorded()
	require.Len(t, rec, 1)
	require.Equal(t, -1, rec[0].Rule)
	require.Empty(t, net.got)
}

func TestOnInjectAndString(t *testing.T) {
	var net recorder
	r := Rule{Name: "late", Match: fault.Match{From: []int{0}, Matter: fault.MatterMatch{Sessions: []message.SessionID{0x10}}},
		AfterFrames: 3, Delay: 2 * time.Second, Copies: 2, Interval: time.Second,
		Redirect: &Endpoint{Node: 2, Addr: addr[2]}, Spoof: &Endpoint{Node: 1}}
	require.Equal(t, "late: replay from 0 session 0x10 after 3 frames delay 2s x2 every 1s to node 2 [fd00:6d73:696d::3] from node 1", r.String())
	require.Equal(t, "replay all", (&Rule{}).String())
	a := New(&net, r, mcspResponses)
	require.Equal(t, r.String()+"\nmcsp-rsp: replay secure group control dest node len 58..0", a.String())
	var seen []int
	a.OnInject = func(at clock.Time, p fault.Packet, rule int) { seen = append(seen, rule) }
	a.Observe(0, mcspFrame(1, 0, 1, true))
	require.Equal(t, []int{1}, seen)
}

type discard struct{ n int }

func (d *discard) Inject(at clock.Time, p fault.Packet) { d.n++ }
