package im

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/mrp"
)

func TestSDKMaxBackoff(t *testing.T) {
	// Hand-computed from ReliableMessageMgr::GetBackoff's integer steps:
	// 500 ms → 550 ms (×1127/1024), ×1.6^e, ×1279/1024.
	cases := []struct {
		base time.Duration
		n    int
		want time.Duration
	}{
		{500 * time.Millisecond, 0, 686 * time.Millisecond},
		{500 * time.Millisecond, 1, 686 * time.Millisecond},
		{500 * time.Millisecond, 2, 1099 * time.Millisecond},
		{500 * time.Millisecond, 3, 1758 * time.Millisecond},
		{500 * time.Millisecond, 4, 2812 * time.Millisecond},
		{300 * time.Millisecond, 0, 412 * time.Millisecond},
		{300 * time.Millisecond, 2, 659 * time.Millisecond},
		{300 * time.Millisecond, 3, 1054 * time.Millisecond},
		{300 * time.Millisecond, 4, 1687 * time.Millisecond},
		{300 * time.Millisecond, 9, 2700 * time.Millisecond}, // exponent clamped at 4: 330·1.6⁴ = 2162 → 2700
	}
	for _, c := range cases {
		require.Equal(t, c.want, sdkMaxBackoff(c.base, c.n), "base %v n %d", c.base, c.n)
	}
}

func TestLivenessTimeout(t *testing.T) {
	cases := []struct {
		name        string
		max         time.Duration
		local, peer mrp.Intervals
		want        time.Duration
	}{
		// receipt: idle 686+686+1099+1758+2812 = 7041; back: active 412+412+659+1054+1687 = 4224.
		{"defaults", 60 * time.Second, mrp.Intervals{}, mrp.Intervals{}, 60*time.Second + 7041*time.Millisecond + 2*time.Second + 4224*time.Millisecond},
		{"zero max interval", 0, mrp.Intervals{}, mrp.Intervals{}, 13265 * time.Millisecond},
		// A sleepy publisher (SAI 2 s): our answer's retransmissions use its
		// active interval: 2000 → 2201 ms, then 2749, 2749, 4397, 7036, 11259.
		{"peer active 2s", 10 * time.Second, mrp.Intervals{}, mrp.Intervals{Active: 2 * time.Second},
			10*time.Second + 7041*time.Millisecond + 2*time.Second + 28190*time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, LivenessTimeout(c.max, c.local, c.peer))
		})
	}
	// The response direction always uses the active interval: changing the
	// peer's idle interval must not matter, changing ours must.
	require.Equal(t, LivenessTimeout(0, mrp.Intervals{}, mrp.Intervals{}), LivenessTimeout(0, mrp.Intervals{}, mrp.Intervals{Idle: 5 * time.Second}))
	require.Greater(t, LivenessTimeout(0, mrp.Intervals{Idle: 5 * time.Second}, mrp.Intervals{}), LivenessTimeout(0, mrp.Intervals{}, mrp.Intervals{}))
	// An initial message sent while active stays on the active interval
	// until the threshold is crossed.
	require.Equal(t, 412+412+659+1054+1687, int(sdkRetransmissionTimeout(mrp.Intervals{ActiveThreshold: time.Hour}, 0, true)/time.Millisecond))
}

func TestResubscribeDelay(t *testing.T) {
	cases := []struct {
		retries uint32
		r       uint32
		want    time.Duration
	}{
		{0, 12345, 0},                         // F(0) = 0: immediately
		{1, 0, 3 * time.Second},               // window [3 s, 10 s)
		{1, 6999, 9999 * time.Millisecond},    // top of the window
		{1, 7000, 3 * time.Second},            // r wraps modulo 7000
		{2, 1000, 4 * time.Second},            // F(2) = 1
		{3, 0, 6 * time.Second},               // F(3) = 2: [6 s, 20 s)
		{5, 0, 15 * time.Second},              // F(5) = 5: [15 s, 50 s)
		{14, 0, 1131 * time.Second},           // F(14) = 377: 30 % of 3770 s
		{15, 0, 1661400 * time.Millisecond},   // beyond step 14: 30 % of 5538 s
		{1000, 1, 1661401 * time.Millisecond}, // stays at the cap
	}
	for _, c := range cases {
		require.Equal(t, c.want, ResubscribeDelay(c.retries, c.r), "retries %d r %d", c.retries, c.r)
	}
	require.Equal(t, []uint64{0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377}, func() []uint64 {
		var f []uint64
		for i := uint32(0); i <= 14; i++ {
			f = append(f, fibonacci(i))
		}
		return f
	}())
}

// seqRand returns its values in turn, then zeros.
type seqRand struct{ v []uint32 }

func (s *seqRand) Uint32() uint32 {
	if len(s.v) == 0 {
		return 0
	}
	x := s.v[0]
	s.v = s.v[1:]
	return x
}

// link wires a SubscriptionEngine and a SubscriptionClient with a perfect
// network; down drops everything.
type link struct {
	t    *testing.T
	rig  *engineRig
	c    *SubscriptionClient
	down bool
	// log of what crossed, for the assertions
	reports     int
	keepalives  int
	established int
	lost        []ClientOutput
	subID       uint32 // engine subscription of the client's current exchange
}

func newLink(t *testing.T, minS, maxS uint16, paths ...AttributePath) *link {
	l := &link{t: t, rig: newEngineRig(t)}
	l.c = &SubscriptionClient{Request: *NewSubscribeRequest(minS, maxS, paths...), Rand: &seqRand{}}
	return l
}

// pump moves messages both ways until both sides are quiet.
func (l *link) pump(now clock.Time) {
	for moved := true; moved; {
		moved = false
		for {
			o, ok := l.c.Poll()
			if !ok {
				break
			}
			moved = true
			switch o.Kind {
			case ClientSend:
				if l.down {
					if o.ExpectResponse {
						l.c.HandleExchangeFailed(now, nil)
					}
					continue
				}
				switch o.Opcode {
				case OpSubscribeRequest:
					l.rig.e.HandleSubscribeRequest(now, 1, o.Payload)
				case OpStatusResponse:
					l.rig.e.HandleStatusResponse(now, l.subID, o.Payload)
				}
			case ClientReport:
				l.reports++
			case ClientEstablished:
				l.established++
			case ClientLost:
				l.lost = append(l.lost, o)
			}
		}
		for {
			o, ok := l.rig.e.Poll()
			if !ok {
				break
			}
			moved = true
			if o.Kind != SubSend {
				continue
			}
			l.subID = o.Subscription
			if l.down {
				if o.ExpectResponse {
					l.rig.e.HandleExchangeFailed(now, o.Subscription)
				}
				continue
			}
			if o.Opcode == OpReportData {
				var rd ReportData
				if DecodeReportData(o.Payload, &rd) == nil && len(rd.AttributeReports) == 0 && !rd.MoreChunkedMessages {
					l.keepalives++
				}
			}
			l.c.HandleMessage(now, o.Opcode, o.Payload)
		}
	}
}

// runTo advances the fake clock to end, firing both sides' deadlines in
// time order.
func (l *link) runTo(end clock.Time) {
	for {
		next := min(l.c.NextDeadline(), l.rig.e.NextDeadline())
		if next > end {
			return
		}
		l.rig.e.HandleTimeout(next)
		l.c.HandleTimeout(next)
		l.pump(next)
	}
}

func TestClientEstablishKeepAliveAndLiveness(t *testing.T) {
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	l := newLink(t, 1, 10, onoff)
	l.c.Start(0)
	l.pump(0)
	require.Equal(t, ClientActive, l.c.State())
	require.Equal(t, 1, l.established)
	require.Equal(t, 1, l.reports, "the priming report")
	live := LivenessTimeout(10*time.Second, mrp.Intervals{}, mrp.Intervals{})
	require.Equal(t, clock.Time(live), l.c.NextDeadline())

	// Keep-alives at 10, 20, 30 s refresh liveness each time.
	l.runTo(30 * sec)
	require.Equal(t, 3, l.keepalives)
	require.Equal(t, ClientActive, l.c.State())
	require.Equal(t, (30 * sec).Add(live), l.c.NextDeadline())

	// A change is reported (after the 1 s floor) and refreshes liveness too.
	l.rig.toggle()
	l.runTo(31 * sec)
	require.Equal(t, 2, l.reports)
	require.Equal(t, (31 * sec).Add(live), l.c.NextDeadline())

	// The publisher goes silent: liveness fails exactly at the last report + timeout.
	l.down = true
	l.rig.e.Terminate(l.c.SubscriptionID())
	l.runTo((31 * sec).Add(live) - 1)
	require.Empty(t, l.lost)
	l.runTo((31 * sec).Add(live))
	require.Len(t, l.lost, 2, "lost, then the immediate first resubscribe fails on the dead link")
	require.ErrorIs(t, l.lost[0].Err, ErrLivenessTimeout)
	require.True(t, l.lost[0].ReestablishCASE, "a liveness timeout asks for a new CASE session")
	require.False(t, l.lost[1].ReestablishCASE, "a failed setup exchange does not")
	require.True(t, l.lost[0].Resubscribe)
	require.Equal(t, time.Duration(0), l.lost[0].Delay)
}

func TestClientResubscribeBackoffSequence(t *testing.T) {
	onoff := ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff)
	l := newLink(t, 0, 10, onoff)
	rnd := []uint32{0, 0, 100, 200, 300, 400, 500}
	l.c.Rand = &seqRand{v: append([]uint32(nil), rnd...)}
	l.c.Start(0)
	l.pump(0)
	require.Equal(t, ClientActive, l.c.State())
	l.down = true
	l.rig.e.Terminate(l.c.SubscriptionID())
	l.rig.drain()
	live := clock.Time(LivenessTimeout(10*time.Second, mrp.Intervals{}, mrp.Intervals{}))

	// Each failed attempt (the dead link fails the exchange at once)
	// schedules the next with the SDK's window for the retry count so far.
	now := live
	var got []time.Duration
	var at []clock.Time
	for len(l.lost) < len(rnd) {
		l.runTo(now)
		for _, o := range l.lost[len(got):] {
			got = append(got, o.Delay)
			at = append(at, now)
		}
		now = l.c.NextDeadline()
	}
	want := []time.Duration{
		0,                                     // retries 0: F(0) = 0
		3 * time.Second,                       // retries 1: [3 s, 10 s), r = 0
		3*time.Second + 100*time.Millisecond,  // retries 2: F(2) = 1, r = 100
		6*time.Second + 200*time.Millisecond,  // retries 3: F(3) = 2: [6 s, 20 s)
		9*time.Second + 300*time.Millisecond,  // retries 4: F(4) = 3: [9 s, 30 s)
		15*time.Second + 400*time.Millisecond, // retries 5: F(5) = 5
		24*time.Second + 500*time.Millisecond, // retries 6: F(6) = 8
	}
	require.Equal(t, want, got[:len(want)])
	require.Equal(t, uint32(len(want)-1), l.c.Retries())
	// Attempts happen at the scheduled instants.
	for i := 1; i < len(want); i++ {
		require.Equal(t, at[i-1].Add(want[i-1]), at[i], "attempt %d", i)
	}

	// The link comes back: the next attempt succeeds and resets the count.
	l.down = false
	l.runTo(l.c.NextDeadline())
	require.Equal(t, ClientActive, l.c.State())
	require.Equal(t, uint32(0), l.c.Retries())
	require.Equal(t, 2, l.established)
}

func TestClientRejectsForeignReport(t *testing.T) {
	l := newLink(t, 0, 10, ConcreteAttribute(1, ClusterOnOff, OnOffAttrOnOff))
	l.c.Start(0)
	l.pump(0)
	l.c.HandleMessage(sec, OpReportData, AppendReportData(nil, &ReportData{SubscriptionID: 0xBAD, HasSubscriptionID: true, Revision: Revision}))
	o, ok := l.c.Poll()
	require.True(t, ok)
	require.Equal(t, OpStatusResponse, o.Opcode)
	var sr StatusResponse
	require.NoError(t, DecodeStatusResponse(o.Payload, &sr))
	require.Equal(t, StatusInvalidSubscription, sr.Status)
	require.Equal(t, ClientActive, l.c.State())
}

func TestClientSetupRefused(t *testing.T) {
	c := &SubscriptionClient{Request: *NewSubscribeRequest(5, 1, AttributePathWildcard()), NoResubscribe: true}
	c.Start(0)
	c.Poll()
	c.HandleMessage(0, OpStatusResponse, AppendStatusResponse(nil, &StatusResponse{Status: StatusInvalidAction}))
	o, ok := c.Poll()
	require.True(t, ok)
	require.Equal(t, ClientLost, o.Kind)
	var se *StatusError
	require.ErrorAs(t, o.Err, &se)
	require.Equal(t, StatusInvalidAction, se.Status)
	require.False(t, o.Resubscribe)
	require.Equal(t, ClientIdle, c.State())
	require.Equal(t, clock.Never, c.NextDeadline())
}
