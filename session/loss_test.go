package session

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

// TestSpec_4_12_MRPUnderLoss sends 10,000 reliable messages from a to b with
// 30% iid loss in both directions (data, acks, retransmissions) on a virtual
// clock. Every message must be delivered exactly once or have its give-up
// reported to the sender (possibly both: delivered but every ack lost);
// none may be delivered twice, and nothing may be left behind (exchanges,
// timers). Up to 4 exchanges are in flight at once, which keeps reordering
// well inside the 32-counter window (spec 4.6.5: a retransmission more than
// 32 counters behind would be acked as a duplicate without delivery).
func TestSpec_4_12_MRPUnderLoss(t *testing.T) {
	const total, inFlight = 10000, 4
	p := newPair(t, Config{}, 7, func() rand.Source { return rand.NewPCG(1, 2) })
	v := &vnet{
		nodes:   []*node{p.a, p.b},
		rng:     rand.New(rand.NewPCG(42, 43)),
		loss:    0.30,
		latency: func() time.Duration { return 5 * time.Millisecond },
	}
	lat := rand.New(rand.NewPCG(9, 9))
	v.latency = func() time.Duration { return time.Duration(1+lat.IntN(20)) * time.Millisecond }

	delivered := make([]int, total)
	gaveUp := make([]bool, total)
	acked := make([]bool, total)
	byExchange := map[Exchange]int{}
	sent, done := 0, 0
	var failures []string

	sendNext := func() {
		x, err := p.a.m.NewExchange(p.a.ref)
		require.NoError(t, err)
		var payload [4]byte
		binary.LittleEndian.PutUint32(payload[:], uint32(sent))
		require.NoError(t, p.a.m.Send(v.now, x, Message{Protocol: 0x0004, Opcode: 1, Payload: payload[:], Reliable: true}))
		require.NoError(t, p.a.m.CloseExchange(v.now, x)) // released once acked or given up
		byExchange[x] = sent
		sent++
	}
	v.onEvent = func(i int, e Event) {
		switch {
		case i == 1 && e.Kind == EventMessage:
			id := int(binary.LittleEndian.Uint32(e.Payload))
			delivered[id]++
			// The receiving application is done with the exchange at once:
			// closing flushes the ack (spec 4.12.5.2.2).
			require.NoError(t, p.b.m.CloseExchange(v.now, e.Exchange))
		case i == 0 && e.Kind == EventAck:
			acked[byExchange[e.Exchange]] = true
		case i == 0 && e.Kind == EventGiveUp:
			gaveUp[byExchange[e.Exchange]] = true
		case i == 0 && e.Kind == EventExchangeClosed:
			done++
		case e.Kind == EventSessionClosed:
			failures = append(failures, e.String())
		}
	}
	for sent < inFlight {
		sendNext()
	}
	v.drain(0)
	for v.step() {
		for sent < total && sent-done < inFlight {
			sendNext()
			v.drain(0)
		}
	}
	require.Empty(t, failures)
	require.Equal(t, total, sent)
	nGive, nDelivered := 0, 0
	for id := range total {
		require.LessOrEqual(t, delivered[id], 1, "message %d delivered twice", id)
		require.True(t, delivered[id] == 1 || gaveUp[id], "message %d neither delivered nor given up", id)
		require.False(t, acked[id] && gaveUp[id], "message %d both acked and given up", id)
		require.True(t, acked[id] || gaveUp[id], "message %d never settled", id)
		if acked[id] {
			require.Equal(t, 1, delivered[id], "message %d acked but not delivered", id)
		}
		if gaveUp[id] {
			nGive++
		}
		nDelivered += delivered[id]
	}
	t.Logf("virtual time %s, delivered %d, give-ups %d", v.now, nDelivered, nGive)
	// 30% loss each way: a transmission round trip succeeds with p = 0.49,
	// so about 0.51^5 ≈ 3.5% of messages exhaust their 5 transmissions.
	require.Greater(t, nGive, 100)
	require.Less(t, nGive, 700)
	for _, n := range v.nodes {
		in, ok := n.m.SessionInfo(n.ref)
		require.True(t, ok)
		require.Zero(t, in.Exchanges, "%s leaks exchanges", n.name)
		require.Equal(t, clock.Never, n.m.NextDeadline())
	}
}
