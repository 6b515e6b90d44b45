package session

import (
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/group"
	"mattersim/session/mcsp"
	"mattersim/session/message"
	"mattersim/session/security"
)

// syncPair is a cache-and-sync receiver b and a sender a.
func syncPair(t *testing.T, cfg Config) (a, b *gnode) {
	a = newGroupNode(t, cfg, 1, 0xa, group.CacheAndSync)
	b = newGroupNode(t, cfg, 2, 0xb, group.CacheAndSync)
	return a, b
}

func noJitter() Config { return Config{Group: GroupConfig{SyncReqJitter: -1}} }

// TestMCSPExchange walks one synchronization end to end and checks every
// message's header against spec 4.18.5.
func TestMCSPExchange(t *testing.T) {
	a, b := syncPair(t, noJitter())
	c1 := a.send(t, 0, "first")
	trig := drainAll(a.m)

	// Receiver: the message is queued, the request goes out at once (no jitter).
	req, evs := b.deliver(clockAt(10), a.addr, trig)
	require.Equal(t, []string{"mcsp-triggered", "mcsp-queued", "mcsp-request-sent"}, evKinds(evs))
	require.Equal(t, 1, evs[1].Group.Queued)
	require.Len(t, req, 1)
	require.Equal(t, a.addr, req[0].To, "unicast to the trigger's source")
	h, ph, payload := openMCSP(t, req[0].Data)
	require.True(t, h.IsValidMCSPMessage())
	require.True(t, h.Flags.Privacy(), "P=1 (spec 4.18.5)")
	require.Equal(t, message.NodeID(0xb), h.Source)
	require.Equal(t, message.NodeID(0xa), h.DestNode)
	require.Equal(t, message.InitiatorFlag|message.ReliableFlag, ph.Flags)
	require.Equal(t, uint8(message.OpMsgCounterSyncReq), ph.Opcode)
	rq, err := mcsp.DecodeRequest(payload)
	require.NoError(t, err)
	require.Equal(t, evs[2].Group.Challenge, rq.Challenge)
	_, ctl, _ := b.m.GroupCounters()
	require.Equal(t, ctl-1, h.Counter, "the control counter")
	require.Equal(t, clockAt(10).Add(330*time.Millisecond), b.m.NextDeadline(), "MRP's first retry (300 ms active interval x 1.1, jitter 0) comes before the 400 ms timeout")

	// Sender answers with its data counter (the next one it will use).
	rsp, evs := a.deliver(clockAt(20), b.addr, req)
	require.Equal(t, []string{"mcsp-responded"}, evKinds(evs))
	data, _, _ := a.m.GroupCounters()
	require.Equal(t, data, evs[0].Group.SyncCounter)
	require.Equal(t, c1+1, data)
	h, ph, payload = openMCSP(t, rsp[0].Data)
	require.Equal(t, message.AckFlag|message.ReliableFlag, ph.Flags, "I=0, A=1, R=1")
	require.Equal(t, req0Counter(t, req), ph.AckCounter)
	rs, err := mcsp.DecodeResponse(payload)
	require.NoError(t, err)
	require.Equal(t, rq.Challenge, rs.Response)
	require.Equal(t, data, rs.Counter)

	// Receiver: synchronized, the queued message released and delivered, the response acked.
	ack, evs := b.deliver(clockAt(30), a.addr, rsp)
	require.Equal(t, []string{"mcsp-synced", "mcsp-released", "group-message"}, evKinds(evs))
	require.Equal(t, 20*time.Millisecond, evs[0].Group.Latency)
	require.Equal(t, 20*time.Millisecond, evs[0].Group.RTT)
	require.Equal(t, counter.InWindow, evs[1].Verdict)
	require.Equal(t, 20*time.Millisecond, evs[1].Group.Latency)
	require.Equal(t, "first", string(evs[2].Payload))
	require.Len(t, ack, 1)
	_, ph, _ = openMCSP(t, ack[0].Data)
	require.Equal(t, message.InitiatorFlag|message.AckFlag, ph.Flags)
	require.Equal(t, uint8(message.OpStandaloneAck), ph.Opcode)
	require.Equal(t, clock.Never, b.m.NextDeadline(), "exchange closed")

	// Sender: the ack clears its response.
	_, evs = a.deliver(clockAt(40), b.addr, ack)
	require.Empty(t, evs)
	require.Equal(t, clock.Never, a.m.NextDeadline())

	// From now on messages go through the window.
	a.send(t, clockAt(50), "second")
	_, evs = b.deliver(clockAt(51), a.addr, drainAll(a.m))
	require.Equal(t, []string{"group-message"}, evKinds(evs))
	require.Equal(t, counter.Future, evs[0].Verdict)
	_, evs = b.deliver(clockAt(52), a.addr, trig)
	require.Equal(t, []string{"group-duplicate"}, evKinds(evs))
	p := b.m.GroupPeers()
	require.Len(t, p, 2) // data entry for a, control entry for a
	require.True(t, p[0].Synced)
	require.Equal(t, 1, p[0].Attempts)
}

func req0Counter(t *testing.T, req []Output) uint32 {
	h, _, _ := openMCSP(t, req[0].Data)
	return h.Counter
}

// openMCSP de-obfuscates and opens a datagram sealed with the test key.
func openMCSP(t *testing.T, d []byte) (message.Header, message.ProtocolHeader, []byte) {
	t.Helper()
	n := newGroupNode(t, Config{}, 99, 0xffff, group.TrustFirst)
	k := n.m.grp.bySession[0xa512][0]
	buf := slices.Clone(d)
	var h message.Header
	_, err := h.Decode(buf)
	require.NoError(t, err)
	if h.Flags.Privacy() {
		require.NoError(t, k.priv.Deobfuscate(buf))
	}
	hl, err := h.Decode(buf)
	require.NoError(t, err)
	pt, err := security.OpenMessage(nil, k.enc, buf, hl, h.Source)
	require.NoError(t, err)
	var ph message.ProtocolHeader
	pn, err := ph.Decode(pt)
	require.NoError(t, err)
	return h, ph, pt[pn:]
}

// TestMCSPJitterUniform: with a fixed seed, the delays drawn before 4000
// requests are uniform over [0, 500 ms] (Kolmogorov-Smirnov, 1% level:
// D < 1.63/sqrt(n)), the bounds included in the range and each request sent
// exactly when its delay ends.
func TestMCSPJitterUniform(t *testing.T) {
	const n = 4000
	b := newGroupNode(t, Config{Group: GroupConfig{DataPeers: n}}, 7, 0xb, group.CacheAndSync)
	var js []time.Duration
	for i := range n {
		src := message.NodeID(0x1000 + i)
		now := clockAt(i)
		b.m.HandleDatagram(now, nodeAddr(src), craftData(src, 5, true))
		_, evs := split(drainAll(b.m))
		require.Equal(t, []string{"mcsp-triggered", "mcsp-queued"}, evKinds(evs))
		p := b.m.grp.fabrics[testFabric].data[dataKey{node: src, keySet: testKeySet}]
		j := p.sync.jitter
		require.GreaterOrEqual(t, j, time.Duration(0))
		require.LessOrEqual(t, j, mcsp.DefaultSyncReqJitter)
		require.Equal(t, now.Add(j), p.sync.sendAt)
		js = append(js, j)
	}
	slices.Sort(js)
	var d float64
	for i, j := range js {
		f := float64(j) / float64(mcsp.DefaultSyncReqJitter)
		d = math.Max(d, math.Max(math.Abs(float64(i+1)/n-f), math.Abs(f-float64(i)/n)))
	}
	require.Less(t, d, 1.63/math.Sqrt(n), "KS distance %.4f", d)
	require.Less(t, js[0], 5*time.Millisecond)
	require.Greater(t, js[n-1], 495*time.Millisecond)

	// Every request goes out at its own instant, reported with its jitter.
	sent := 0
	for b.m.NextDeadline() < clockAt(n+600) {
		at := b.m.NextDeadline()
		_, evs := b.timeout(at)
		for _, e := range eventsOf(evs, EventMCSPRequestSent) {
			p := b.m.grp.fabrics[testFabric].data[dataKey{node: e.Group.Source, keySet: testKeySet}]
			require.Equal(t, p.sync.triggered.Add(e.Group.Jitter), at)
			sent++
		}
	}
	require.Equal(t, n, sent)
}

// TestMCSPTimeoutExactly: without a response the attempt ends exactly
// MSG_COUNTER_SYNC_TIMEOUT (400 ms) after the request; the queue is
// discarded and the next message starts a new attempt.
func TestMCSPTimeoutExactly(t *testing.T) {
	a, b := syncPair(t, noJitter())
	a.send(t, 0, "x")
	_, evs := b.deliver(clockAt(100), a.addr, drainAll(a.m))
	require.Equal(t, "mcsp-request-sent", evs[2].Kind.String())
	t0 := clockAt(100)
	// MRP: first retry at 300 ms * 1.1 (active interval, jitter 0) = 330 ms.
	require.Equal(t, t0.Add(330*time.Millisecond), b.m.NextDeadline())
	dgs, evs := b.timeout(t0.Add(330 * time.Millisecond))
	require.Equal(t, []string{"mcsp-retransmit"}, evKinds(evs))
	require.Equal(t, 2, evs[0].Attempt)
	require.Len(t, dgs, 1)
	require.Equal(t, t0.Add(400*time.Millisecond), b.m.NextDeadline())
	_, evs = b.timeout(t0.Add(400*time.Millisecond - 1))
	require.Empty(t, evs)
	_, evs = b.timeout(t0.Add(400 * time.Millisecond))
	require.Equal(t, []string{"mcsp-released", "mcsp-timeout"}, evKinds(evs))
	require.Equal(t, ReasonTimeout, evs[0].Group.Reason)
	require.Equal(t, 400*time.Millisecond, evs[0].Group.Latency)
	require.Equal(t, 1, evs[1].Group.Queued)
	require.Equal(t, clock.Never, b.m.NextDeadline(), "no retransmission after the timeout")
	p := b.m.GroupPeers()[0]
	require.False(t, p.Synced)
	require.False(t, p.Syncing)

	a.send(t, clockAt(600), "y")
	_, evs = b.deliver(clockAt(600), a.addr, drainAll(a.m))
	require.Equal(t, []string{"mcsp-triggered", "mcsp-queued", "mcsp-request-sent"}, evKinds(evs))
	require.Equal(t, 2, evs[0].Group.SyncAttempt)

	// A response that arrives at the timeout instant is too late, whether
	// or not HandleTimeout ran first.
	a3, b3 := syncPair(t, noJitter())
	a3.send(t, 0, "x")
	req3, _ := b3.deliver(0, a3.addr, drainAll(a3.m))
	rsp3, _ := a3.deliver(clockAt(1), b3.addr, req3)
	_, evs = b3.deliver(clockAt(400), a3.addr, rsp3)
	require.Equal(t, []string{"mcsp-released", "mcsp-timeout", "mcsp-rejected"}, evKinds(evs))
	require.Equal(t, ReasonUnsolicited, evs[2].Group.Reason)

	// The timeout is a parameter.
	a2, b2 := syncPair(t, Config{Group: GroupConfig{SyncReqJitter: -1, SyncTimeout: 2 * time.Second}})
	a2.send(t, 0, "x")
	b2.deliver(0, a2.addr, drainAll(a2.m))
	for b2.m.NextDeadline() < clockAt(2000) {
		_, evs = b2.timeout(b2.m.NextDeadline())
		require.Empty(t, eventsOf(evs, EventMCSPTimeout))
	}
	require.Equal(t, clockAt(2000), b2.m.NextDeadline())
}

// TestMCSPRetransmissionInsideTimeout: the first request is lost; MRP
// sends it again at 330 ms, inside the 400 ms timeout, and that one is
// answered.
func TestMCSPRetransmissionInsideTimeout(t *testing.T) {
	a, b := syncPair(t, noJitter())
	a.send(t, 0, "x")
	lost, _ := b.deliver(0, a.addr, drainAll(a.m))
	require.Len(t, lost, 1) // dropped on the floor
	again, evs := b.timeout(clockAt(330))
	require.Equal(t, []string{"mcsp-retransmit"}, evKinds(evs))
	require.Equal(t, ReasonRequest, evs[0].Group.Reason)
	require.Equal(t, lost[0].Data, again[0].Data, "byte for byte")
	rsp, evs := a.deliver(clockAt(340), b.addr, again)
	require.Equal(t, []string{"mcsp-responded"}, evKinds(evs))
	_, evs = b.deliver(clockAt(350), a.addr, rsp)
	require.Equal(t, []string{"mcsp-synced", "mcsp-released", "group-message"}, evKinds(evs))
	require.Equal(t, 350*time.Millisecond, evs[0].Group.Latency)
	require.Equal(t, 350*time.Millisecond, evs[0].Group.RTT, "from the first transmission")

	// The lost original arriving late is a duplicate at the responder, re-acked.
	dgs, evs := a.deliver(clockAt(360), b.addr, lost)
	require.Equal(t, []string{"mcsp-rejected"}, evKinds(evs))
	require.Equal(t, ReasonDuplicate, evs[0].Group.Reason)
	require.Len(t, dgs, 1, "standalone ack")
}

// TestMCSPResponseRetransmitted: the requester's ack is lost; the responder
// retransmits its response; the requester, already synchronized, sees a
// duplicate and acks again.
func TestMCSPResponseRetransmitted(t *testing.T) {
	a, b := syncPair(t, noJitter())
	a.send(t, 0, "x")
	req, _ := b.deliver(0, a.addr, drainAll(a.m))
	rsp, _ := a.deliver(clockAt(1), b.addr, req)
	b.deliver(clockAt(2), a.addr, rsp) // its ack is lost
	again, evs := a.timeout(a.m.NextDeadline())
	require.Equal(t, []string{"mcsp-retransmit"}, evKinds(evs))
	require.Equal(t, ReasonResponse, evs[0].Group.Reason)
	ack, evs := b.deliver(clockAt(400), a.addr, again)
	require.Equal(t, []string{"mcsp-rejected"}, evKinds(evs))
	require.Equal(t, ReasonDuplicate, evs[0].Group.Reason)
	_, evs = a.deliver(clockAt(401), b.addr, ack)
	require.Empty(t, evs)
	require.Equal(t, clock.Never, a.m.NextDeadline())
	// With every ack lost MRP gives up after MaxTransmissions.
	a2, b2 := syncPair(t, noJitter())
	a2.send(t, 0, "x")
	req, _ = b2.deliver(0, a2.addr, drainAll(a2.m))
	a2.deliver(1, b2.addr, req)
	var kinds []string
	for a2.m.NextDeadline() != clock.Never {
		_, evs = a2.timeout(a2.m.NextDeadline())
		kinds = append(kinds, evKinds(evs)...)
	}
	require.Equal(t, []string{"mcsp-retransmit", "mcsp-retransmit", "mcsp-retransmit", "mcsp-retransmit", "mcsp-give-up"}, kinds)
}

// TestMCSPQueueOverflow: the queue holds SyncQueue messages; the drop rule
// decides which one a full queue loses, and each loss is an event.
func TestMCSPQueueOverflow(t *testing.T) {
	for _, tc := range []struct {
		drop     QueueDrop
		reason   GroupReason
		released []string
	}{
		{DropNewest, ReasonNewest, []string{"m0", "m1"}},
		{DropOldest, ReasonOldest, []string{"m2", "m3"}},
	} {
		t.Run(tc.drop.String(), func(t *testing.T) {
			cfg := Config{Group: GroupConfig{SyncQueue: 2, SyncQueueDrop: tc.drop}}
			a, b := syncPair(t, cfg)
			var overflow []Event
			for i := range 4 {
				a.send(t, clockAt(i), "m"+string(rune('0'+i)))
				_, evs := b.deliver(clockAt(i), a.addr, drainAll(a.m))
				overflow = append(overflow, eventsOf(evs, EventMCSPQueueOverflow)...)
			}
			require.Len(t, overflow, 2)
			for _, e := range overflow {
				require.Equal(t, tc.reason, e.Group.Reason)
			}
			require.Equal(t, 2, b.m.GroupPeers()[0].Queued)
			req, _ := b.timeout(b.m.NextDeadline())
			rsp, _ := a.deliver(clockAt(600), b.addr, req)
			_, evs := b.deliver(clockAt(601), a.addr, rsp)
			var got []string
			for _, e := range eventsOf(evs, EventGroupMessage) {
				got = append(got, string(e.Payload))
			}
			require.Equal(t, tc.released, got, "released in arrival order")
		})
	}
	for _, s := range []string{"drop-newest", "drop-oldest"} {
		d, ok := ParseQueueDrop(s)
		require.True(t, ok)
		require.Equal(t, s, d.String())
	}
}

// TestSyncInitClosed: with GroupConfig.SyncInit spec the window below the
// Synchronized Counter is closed, so the queued messages are released as
// dropped: the literal spec 4.6.5.4 reading at a synchronization point.
func TestSyncInitClosed(t *testing.T) {
	cfg := Config{Group: GroupConfig{SyncReqJitter: -1, SyncInit: counter.InitSpec}}
	a, b := syncPair(t, cfg)
	a.send(t, 0, "x")
	req, _ := b.deliver(0, a.addr, drainAll(a.m))
	rsp, _ := a.deliver(1, b.addr, req)
	_, evs := b.deliver(2, a.addr, rsp)
	require.Equal(t, []string{"mcsp-synced", "mcsp-released"}, evKinds(evs))
	require.Equal(t, ReasonWindow, evs[1].Group.Reason)
	require.Equal(t, counter.Duplicate, evs[1].Verdict)
	a.send(t, 3, "y")
	_, evs = b.deliver(4, a.addr, drainAll(a.m))
	require.Equal(t, []string{"group-message"}, evKinds(evs))
}

// TestMCSPRejectsBadResponses: wrong challenge, wrong exchange, wrong or
// unknown source, wrong destination, zero counter, unsolicited and
// replayed responses never synchronize anyone; each is counted.
func TestMCSPRejectsBadResponses(t *testing.T) {
	a, b := syncPair(t, noJitter())
	a.send(t, 0, "x")
	req, evs := b.deliver(0, a.addr, drainAll(a.m))
	ch := evs[2].Group.Challenge
	rh, rph, _ := openMCSP(t, req[0].Data)
	forge := func(src, dst message.NodeID, ctr uint32, x uint16, initiator bool, payload []byte) Output {
		ph := message.ProtocolHeader{Flags: message.AckFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncRsp,
			ExchangeID: x, ProtocolID: message.ProtocolSecureChannel, AckCounter: rh.Counter}
		if initiator {
			ph.Flags |= message.InitiatorFlag
		}
		h := message.Header{Flags: message.PrivacyFlag | message.ControlFlag, Counter: ctr, Source: src, DestKind: message.DestinationNode, DestNode: dst}
		return Output{Data: craft(testEpoch, h, ph, payload)}
	}
	good := func(c uint32, chal mcsp.Challenge) []byte {
		return mcsp.Response{Counter: c, Response: chal}.Append(nil)
	}
	wrong := ch
	wrong[0] ^= 1
	for i, tc := range []struct {
		name string
		o    Output
		kind EventKind
		want GroupReason
	}{
		{"challenge", forge(0xa, 0xb, 900, rph.ExchangeID, false, good(77, wrong)), EventMCSPRejected, ReasonChallenge},
		{"exchange", forge(0xa, 0xb, 901, rph.ExchangeID+1, false, good(77, ch)), EventMCSPRejected, ReasonExchange},
		{"initiator flag", forge(0xa, 0xb, 902, rph.ExchangeID, true, good(77, ch)), EventMCSPRejected, ReasonExchange},
		{"other source", forge(0xc, 0xb, 903, rph.ExchangeID, false, good(77, ch)), EventMCSPRejected, ReasonUnsolicited},
		{"other destination", forge(0xa, 0xd, 904, rph.ExchangeID, false, good(77, ch)), EventMCSPRejected, ReasonWrongNode},
		{"zero counter", forge(0xa, 0xb, 905, rph.ExchangeID, false, good(0, ch)), EventMCSPRejected, ReasonZeroCounter},
		{"short", forge(0xa, 0xb, 906, rph.ExchangeID, false, good(77, ch)[:11]), EventMCSPRejected, ReasonMalformed},
	} {
		_, evs := b.deliver(clockAt(i+1), a.addr, []Output{tc.o})
		rej := eventsOf(evs, tc.kind)
		require.Len(t, rej, 1, "%s: %v", tc.name, evKinds(evs))
		require.Equal(t, tc.want, rej[0].Group.Reason, tc.name)
		require.Empty(t, eventsOf(evs, EventMCSPSynced), tc.name)
	}
	require.True(t, b.m.GroupPeers()[0].Syncing, "the attempt is still waiting for the real answer")

	// The real response synchronizes; replaying it afterwards is a duplicate.
	rsp, _ := a.deliver(clockAt(20), b.addr, req)
	_, evs = b.deliver(clockAt(21), a.addr, rsp)
	require.Equal(t, "mcsp-synced", evs[0].Kind.String())
	_, evs = b.deliver(clockAt(22), a.addr, rsp)
	require.Equal(t, []string{"mcsp-rejected"}, evKinds(evs))
	require.Equal(t, ReasonDuplicate, evs[0].Group.Reason)

	// After a reboot (state gone) the old response is unsolicited, and
	// during a new attempt it answers the wrong exchange: never accepted.
	b2 := newGroupNode(t, noJitter(), 3, 0xb, group.CacheAndSync)
	_, evs = b2.deliver(clockAt(30), a.addr, rsp)
	require.Equal(t, []string{"mcsp-rejected"}, evKinds(evs))
	require.Equal(t, ReasonUnsolicited, evs[0].Group.Reason)
	a.send(t, clockAt(31), "y")
	b2.deliver(clockAt(31), a.addr, drainAll(a.m))
	b3 := newGroupNode(t, noJitter(), 4, 0xb, group.CacheAndSync)
	a.send(t, clockAt(32), "z")
	b3.deliver(clockAt(32), a.addr, drainAll(a.m))
	_, evs = b3.deliver(clockAt(33), a.addr, rsp)
	require.Len(t, eventsOf(evs, EventMCSPRejected), 1)
	require.Contains(t, []GroupReason{ReasonExchange, ReasonChallenge}, eventsOf(evs, EventMCSPRejected)[0].Group.Reason)
	require.True(t, b3.m.GroupPeers()[0].Syncing)
}

// TestMCSPResponderRateLimit: a second request from the same requester
// within ResponseInterval is dropped unacknowledged; its MRP retransmission
// after the interval is answered.
func TestMCSPResponderRateLimit(t *testing.T) {
	a := newGroupNode(t, Config{}, 1, 0xa, group.CacheAndSync)
	b := newGroupNode(t, noJitter(), 2, 0xb, group.CacheAndSync)
	require.NoError(t, a.m.SetKeySet(testFabric, group.KeySet{ID: 0x43, Epochs: []group.EpochKey{{Key: testEpoch2}}}))
	require.NoError(t, a.m.AddGroup(Group{Fabric: testFabric, ID: 0x0202, KeySet: 0x43}))
	require.NoError(t, b.m.SetKeySet(testFabric, group.KeySet{ID: 0x43, Policy: group.CacheAndSync, Epochs: []group.EpochKey{{Key: testEpoch2}}}))
	require.NoError(t, b.m.AddGroup(Group{Fabric: testFabric, ID: 0x0202, KeySet: 0x43}))
	a.send(t, 0, "g1")
	_, err := a.m.SendGroup(0, GroupMessage{Fabric: testFabric, Group: 0x0202, Protocol: imProto, Payload: []byte("g2")})
	require.NoError(t, err)
	reqs, _ := b.deliver(0, a.addr, drainAll(a.m))
	require.Len(t, reqs, 2, "one attempt per key set")
	rsp1, evs := a.deliver(clockAt(1), b.addr, reqs[:1])
	require.Equal(t, []string{"mcsp-responded"}, evKinds(evs))
	dgs, evs := a.deliver(clockAt(2), b.addr, reqs[1:])
	require.Equal(t, []string{"mcsp-rate-limited"}, evKinds(evs))
	require.Empty(t, dgs, "no ack: the retransmission must still be answerable")
	ack1, _ := b.deliver(clockAt(3), a.addr, rsp1)
	a.deliver(clockAt(4), b.addr, ack1)
	again, _ := b.timeout(clockAt(330))
	require.Len(t, again, 1)
	rsp2, evs := a.deliver(clockAt(331), b.addr, again)
	require.Equal(t, []string{"mcsp-responded"}, evKinds(evs))
	_, evs = b.deliver(clockAt(332), a.addr, rsp2)
	require.Equal(t, "mcsp-synced", evs[0].Kind.String())
	require.Equal(t, uint16(0x43), evs[0].Group.KeySet)
}

var testEpoch2 = [16]byte{0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f}

// TestMCSPNeverOnUnicastSession: a MsgCounterSyncReq on a PASE session is
// an unsolicited Secure Channel message nothing handles: acked (it asked),
// never answered.
func TestMCSPNeverOnUnicastSession(t *testing.T) {
	p := newPair(t, Config{}, 3, pcg)
	drainAll(p.a.m)
	drainAll(p.b.m)
	h := message.Header{SessionID: message.SessionID(p.b.ref.LocalID), Counter: 1000}
	ph := message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncReq,
		ExchangeID: 9, ProtocolID: message.ProtocolSecureChannel}
	req := security.SealMessage(nil, security.NewCCM(testI2R), &h, 0, append(ph.Append(nil), mcsp.Request{}.Append(nil)...))
	p.b.m.HandleDatagram(0, addrA, req)
	out := drainAll(p.b.m)
	require.Equal(t, []string{"datagram", "unhandled"}, kinds(out))
	require.Equal(t, uint8(message.OpMsgCounterSyncReq), out[1].Event.Opcode)
	require.Contains(t, describe(p.b, out[0].Data), "A=0x3e8 proto=0x0 op=0x10 len=0", "a standalone ack, no answer")
}

// TestGroupPeerEviction: a full peer table refuses new trust-first senders
// under the safe and never rules; lru recycles, which is what lets an
// adversary flush a sender and replay its traffic.
func TestGroupPeerEviction(t *testing.T) {
	for _, rule := range []Eviction{EvictSafe, EvictNever, EvictLRU} {
		t.Run(rule.String(), func(t *testing.T) {
			b := newGroupNode(t, Config{Group: GroupConfig{DataPeers: 2, PeerEviction: rule}}, 2, 0xb, group.TrustFirst)
			old := craftData(0xa, 100, true)
			b.m.HandleDatagram(0, nodeAddr(0xa), old)
			b.m.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 101, true))
			b.m.HandleDatagram(clockAt(1), nodeAddr(0xc), craftData(0xc, 1, true))
			drainAll(b.m)
			// The adversary floods from a third identity (it holds the key).
			b.m.HandleDatagram(clockAt(2), nodeAddr(0xd), craftData(0xd, 1, true))
			_, evs := split(drainAll(b.m))
			if rule == EvictLRU {
				require.Equal(t, []string{"group-peer-evicted", "group-message"}, evKinds(evs))
				require.Equal(t, message.NodeID(0xa), evs[0].Group.Source)
				require.Equal(t, ReasonEvictLRU, evs[0].Group.Reason)
				b.m.HandleDatagram(clockAt(3), nodeAddr(0xa), old)
				_, evs = split(drainAll(b.m))
				// A table slot is needed again: 0xc goes, and the replay is trusted.
				require.Equal(t, []string{"group-peer-evicted", "group-message"}, evKinds(evs))
				require.Equal(t, counter.First, evs[1].Verdict, "the replay got in")
				return
			}
			require.Equal(t, []string{"group-rejected"}, evKinds(evs))
			require.Equal(t, ReasonTableFull, evs[0].Group.Reason)
			b.m.HandleDatagram(clockAt(3), nodeAddr(0xa), old)
			_, evs = split(drainAll(b.m))
			require.Equal(t, []string{"group-duplicate"}, evKinds(evs))
		})
	}
	// Under safe, a synchronized cache-and-sync sender is recycled: its
	// return costs a new synchronization, not a replay.
	cfg := Config{Group: GroupConfig{DataPeers: 1, SyncReqJitter: -1}}
	a, b := syncPair(t, cfg)
	a.send(t, 0, "x")
	req, _ := b.deliver(0, a.addr, drainAll(a.m))
	rsp, _ := a.deliver(1, b.addr, req)
	b.deliver(2, a.addr, rsp)
	b.m.HandleDatagram(clockAt(3), nodeAddr(0xd), craftData(0xd, 1, true))
	_, evs := split(drainAll(b.m))
	require.Equal(t, []string{"group-peer-evicted", "mcsp-triggered", "mcsp-queued", "mcsp-request-sent"}, evKinds(evs))
	require.Equal(t, ReasonEvictSafe, evs[0].Group.Reason)
	for _, s := range []string{"safe", "never", "lru"} {
		e, ok := ParseEviction(s)
		require.True(t, ok)
		require.Equal(t, s, e.String())
	}
}

// TestGroupCounterPersistence: the node layer keeps the counter store
// across reboots; a rebooted node resumes beyond every counter it used.
func TestGroupCounterPersistence(t *testing.T) {
	var st counter.MemStore
	a := newGroupNode(t, Config{}, 1, 0xa, group.TrustFirst)
	require.NoError(t, a.m.SetGroupCounterStore(&st))
	var last uint32
	for range 1500 {
		last = a.send(t, 0, "x")
		drainAll(a.m)
	}
	stored, ok, _ := st.Load(counter.KeyGroupData)
	require.True(t, ok)
	require.Greater(t, stored, last)
	a2 := newGroupNode(t, Config{}, 5, 0xa, group.TrustFirst)
	require.NoError(t, a2.m.SetGroupCounterStore(&st))
	next, _, ok := a2.m.GroupCounters()
	require.True(t, ok)
	require.Greater(t, next, last)
	require.LessOrEqual(t, next-last, uint32(counter.MinIncrement+1))
	require.ErrorIs(t, a2.m.SetGroupCounterStore(&st), ErrCountersInUse)
}

func TestGroupAPIErrors(t *testing.T) {
	m := newManager(t, Config{}, 1, pcg())
	_, err := m.SendGroup(0, GroupMessage{Fabric: 1, Group: 1})
	require.ErrorIs(t, err, ErrNoFabric)
	require.ErrorIs(t, m.AddFabric(Fabric{Index: 0, NodeID: 1}), ErrInvalidFabric)
	require.ErrorIs(t, m.AddFabric(Fabric{Index: 1}), ErrInvalidFabric)
	require.NoError(t, m.AddFabric(Fabric{Index: 1, ID: 9, NodeID: 1}))
	require.ErrorIs(t, m.AddFabric(Fabric{Index: 1, NodeID: 1}), ErrFabricExists)
	require.ErrorIs(t, m.SetKeySet(1, group.KeySet{ID: 0, Epochs: []group.EpochKey{{}}}), group.ErrIPKKeySet)
	require.ErrorIs(t, m.AddGroup(Group{Fabric: 1, ID: 5, KeySet: 7}), ErrNoKeySet)
	require.NoError(t, m.SetKeySet(1, group.KeySet{ID: 7, Epochs: []group.EpochKey{{Start: clockAt(1000)}}}))
	require.ErrorIs(t, m.AddGroup(Group{Fabric: 1, ID: 0, KeySet: 7}), ErrInvalidGroupID)
	require.NoError(t, m.AddGroup(Group{Fabric: 1, ID: 5, KeySet: 7}))
	_, err = m.SendGroup(0, GroupMessage{Fabric: 1, Group: 5})
	require.ErrorIs(t, err, ErrNoCurrentKey, "the only epoch key starts at 1 s")
	_, err = m.SendGroup(clockAt(1000), GroupMessage{Fabric: 1, Group: 5, Payload: make([]byte, 1300)})
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = m.SendGroup(clockAt(1000), GroupMessage{Fabric: 1, Group: 6})
	require.ErrorIs(t, err, ErrNoGroup)
	require.ErrorIs(t, m.RemoveKeySet(1, 7), ErrKeySetInUse)
	ap, err := m.GroupAddress(1, 5)
	require.NoError(t, err)
	require.Equal(t, netip.MustParseAddrPort("[ff35:40:fd00::900:5]:5540"), ap)
	require.Equal(t, []Group{{Fabric: 1, ID: 5, KeySet: 7}}, m.Groups())
	require.NoError(t, m.RemoveGroup(1, 5))
	require.NoError(t, m.RemoveKeySet(1, 7))
	require.ErrorIs(t, m.RemoveKeySet(1, 7), ErrNoKeySet)
	require.Empty(t, m.grp.bySession)
}

// TestGroupEpochRotation: the sender switches to the epoch key whose start
// time has come; the receiver accepts every installed key, and the sender's
// reception state survives the rotation.
func TestGroupEpochRotation(t *testing.T) {
	ks := group.KeySet{ID: testKeySet, Epochs: []group.EpochKey{{Key: testEpoch, Start: 0}, {Key: testEpoch2, Start: clockAt(1000)}}}
	a := newGroupNode(t, Config{}, 1, 0xa, group.TrustFirst)
	b := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
	require.NoError(t, a.m.SetKeySet(testFabric, ks))
	require.NoError(t, b.m.SetKeySet(testFabric, ks))
	a.send(t, clockAt(999), "old key")
	out := drainAll(a.m)
	require.Equal(t, uint8(0x12), out[0].Data[1], "session id 0xa512")
	evs := b.deliverAll(clockAt(999), a.addr, out)
	require.Equal(t, counter.First, evs[0].Verdict)
	a.send(t, clockAt(1000), "new key")
	out = drainAll(a.m)
	require.NotEqual(t, uint8(0x12), out[0].Data[1])
	evs = b.deliverAll(clockAt(1000), a.addr, out)
	require.Equal(t, counter.Future, evs[0].Verdict, "same reception state")
}

func TestGroupConfigDefaults(t *testing.T) {
	c := Config{}.normalize().Group
	require.Equal(t, GroupConfig{Policy: group.TrustFirst, SyncInit: counter.InitSDK, SyncReqJitter: 500 * time.Millisecond,
		SyncTimeout: 400 * time.Millisecond, SyncQueue: DefaultSyncQueue, DataPeers: 15, ControlPeers: 2,
		ResponseInterval: 100 * time.Millisecond, Port: 5540}, c)
	n := GroupConfig{SyncReqJitter: -1, SyncQueue: -1, ResponseInterval: -1}.normalize()
	require.Equal(t, time.Duration(0), n.SyncReqJitter)
	require.Equal(t, 1, n.SyncQueue)
	require.Equal(t, time.Duration(0), n.ResponseInterval)
}

func TestGroupEventStrings(t *testing.T) {
	from := netip.MustParseAddrPort("[fd00::a]:5540")
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventGroupMessage, From: from, Counter: 0x10, Verdict: counter.First, Protocol: 1, Opcode: 8, Payload: []byte{1, 2},
			Group: GroupEvent{Fabric: 1, Group: 0x101, KeySet: 66, Source: 0xa, Policy: group.TrustFirst, Trials: 1}},
			"group-message f1 src=0xa group=0x101 ks=66 ctr=0x10 first policy=trust-first trials=1 proto=0x1 op=0x8 len=2 from=[fd00::a]:5540"},
		{Event{Kind: EventMCSPRequestSent, Counter: 7, Exchange: Exchange{ID: 9}, Group: GroupEvent{Fabric: 1, KeySet: 66, Source: 0xa, Jitter: 123 * time.Millisecond, SyncAttempt: 1}},
			"mcsp-request-sent f1 src=0xa ks=66 ctr=0x7 x=9 jitter=123ms attempt=1"},
		{Event{Kind: EventMCSPSynced, From: from, Group: GroupEvent{Fabric: 1, Source: 0xa, SyncCounter: 0x99, Latency: time.Second, RTT: 20 * time.Millisecond}},
			"mcsp-synced f1 src=0xa sync=0x99 latency=1s rtt=20ms from=[fd00::a]:5540"},
		{Event{Kind: EventMCSPRejected, Counter: 3, Group: GroupEvent{Fabric: 1, Source: 0xc, Control: true, Reason: ReasonChallenge}},
			"mcsp-rejected f1 src=0xc ctr=0x3 C reason=challenge"},
		{Event{Kind: EventMCSPTimeout, Group: GroupEvent{Fabric: 1, Source: 0xa, Queued: 2, Reason: ReasonTimeout}},
			"mcsp-timeout f1 src=0xa queued=2 reason=timeout"},
	} {
		require.Equal(t, tc.want, tc.e.String())
	}
	for k := EventGroupMessage; k <= EventMCSPRateLimited; k++ {
		require.NotContains(t, k.String(), "EventKind(", "every appended kind has a name")
	}
	require.Equal(t, "reason(200)", GroupReason(200).String())
}
