package session

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session/counter"
)

// TestEveryReceptionHasOneVerdict: under 30% loss with retransmissions,
// duplicates, standalone and piggybacked acks, every datagram a core
// receives (all authentic here) yields exactly one event carrying a window
// verdict (Event.Verdict), so that verdict counts account for every
// reception. Acks report the transmissions their message took, and the
// standalone acks sent are marked on their datagrams.
func TestEveryReceptionHasOneVerdict(t *testing.T) {
	for _, loss := range []float64{0, 0.3} {
		p := newPair(t, Config{}, 11, func() rand.Source { return rand.NewPCG(3, 4) })
		v := &vnet{nodes: []*node{p.a, p.b}, rng: rand.New(rand.NewPCG(5, 6)), loss: loss}
		lat := rand.New(rand.NewPCG(7, 7))
		v.latency = func() time.Duration { return time.Duration(1+lat.IntN(20)) * time.Millisecond }
		verdicts := map[counter.Verdict]int{}
		withVerdict, acks, giveUps := 0, 0, 0
		v.onEvent = func(i int, e Event) {
			if e.Verdict != counter.Invalid {
				withVerdict++
				verdicts[e.Verdict]++
			}
			switch e.Kind {
			case EventMessage:
				if i == 1 {
					// Answer every other message on its exchange, so both
					// piggybacked and standalone acks occur.
					if e.Counter%2 == 0 {
						require.NoError(t, p.b.m.Send(v.now, e.Exchange, Message{Protocol: testProto, Opcode: 2, Reliable: true}))
					}
					require.NoError(t, p.b.m.CloseExchange(v.now, e.Exchange))
				} else {
					require.NoError(t, p.a.m.CloseExchange(v.now, e.Exchange))
				}
			case EventAck:
				acks++
				require.GreaterOrEqual(t, e.Attempt, 1)
				require.LessOrEqual(t, e.Attempt, 5)
			case EventGiveUp:
				giveUps++
			}
		}
		received := 0
		const total = 500
		for k := range total {
			x, err := p.a.m.NewExchange(p.a.ref)
			require.NoError(t, err)
			require.NoError(t, p.a.m.Send(v.now, x, Message{Protocol: testProto, Opcode: 1, Payload: []byte{byte(k)}, Reliable: true}))
			v.drain(0)
			for {
				// v.step, counting deliveries.
				next := min(p.a.m.NextDeadline(), p.b.m.NextDeadline())
				if len(v.q) > 0 && v.q[0].at <= next {
					e := heap.Pop(&v.q).(netEvent)
					v.now = e.at
					received++
					v.nodes[e.to].m.HandleDatagram(v.now, e.from, e.data)
					v.drain(e.to)
					continue
				}
				if !v.step() {
					break
				}
			}
		}
		require.Equal(t, received, withVerdict, "loss %v: one verdict per reception (%v)", loss, verdicts)
		require.Positive(t, acks)
		if loss == 0 {
			require.Zero(t, giveUps)
			require.Zero(t, verdicts[counter.Duplicate])
		} else {
			require.Positive(t, verdicts[counter.Duplicate])
		}
	}
}

// TestStandaloneAckMarked: the datagram of a standalone ack is marked on
// its Output; an application message is not.
func TestStandaloneAckMarked(t *testing.T) {
	p := newPair(t, Config{}, 12, pcg)
	drainAll(p.a.m)
	drainAll(p.b.m)
	x, err := p.a.m.NewExchange(p.a.ref)
	require.NoError(t, err)
	require.NoError(t, p.a.m.Send(0, x, Message{Protocol: testProto, Opcode: 1, Reliable: true}))
	out := drainAll(p.a.m)
	require.Len(t, out, 1)
	require.False(t, out[0].StandaloneAck)
	p.b.m.HandleDatagram(0, addrA, out[0].Data)
	got := drainAll(p.b.m)
	require.Equal(t, []string{"message"}, kinds(got))
	require.NoError(t, p.b.m.CloseExchange(0, got[0].Event.Exchange))
	out = drainAll(p.b.m)
	require.True(t, out[0].IsDatagram() && out[0].StandaloneAck, "closing flushes the ack as a standalone ack")
	p.a.m.HandleDatagram(1, addrB, out[0].Data)
	got = drainAll(p.a.m)
	require.Equal(t, []string{"ack", "standalone-ack"}, kinds(got))
	require.Equal(t, 1, got[0].Event.Attempt)
	require.Equal(t, counter.Future, got[1].Event.Verdict)
}
