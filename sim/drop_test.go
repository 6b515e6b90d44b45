package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/sim/fault"
)

// countObs is a NetObserver that counts.
type countObs struct {
	in, queued, dup, delivered int
	drops                      DropCounts
}

func (o *countObs) FrameIn(clock.Time, Packet)                  { o.in++ }
func (o *countObs) Queued(clock.Time, Packet)                   { o.queued++ }
func (o *countObs) Duplicated(_ clock.Time, _ Packet, k int)    { o.dup += k }
func (o *countObs) Delivered(clock.Time, Packet)                { o.delivered++ }
func (o *countObs) Dropped(_ clock.Time, _ Packet, c DropCause) { o.drops[c]++ }

func TestDropCauseNames(t *testing.T) {
	var names []string
	for _, c := range DropCauses() {
		names = append(names, c.String())
	}
	// The metric names of scenarios/metrics (DropCauses), in order.
	require.Equal(t, []string{"loss", "mtu", "queue_full", "partition", "corrupt", "no_route", "down"}, names)
	require.Equal(t, "DropCause(0)", DropCause(0).String())
	// Every reason a fault stage gives maps to its cause.
	require.Equal(t, DropLoss, stageCause("loss"))
	require.Equal(t, DropMTU, stageCause("mtu"))
	require.Equal(t, DropQueueFull, stageCause("queue full"))
}

// TestDropCausesAndObserver drops frames for every cause and checks the
// observer's conservation: every queued copy is delivered or dropped at
// delivery once the run is over.
func TestDropCausesAndObserver(t *testing.T) {
	e, n := newNet(t, 3, 4)
	o := &countObs{}
	n.Observe(o)
	s0, _ := bind(t, n.Node(0))
	_, r1 := bind(t, n.Node(1))
	_, r2 := bind(t, n.Node(2))
	_, r3 := bind(t, n.Node(3))
	send := func(to int, size int) {
		require.NoError(t, s0.Send(ap(n.Node(to).Addr()), make([]byte, size)))
	}
	// loss: 100% on 0→1.
	n.SetLinkSpec(0, 1, fault.LossRandom{P: 1})
	send(1, 10)
	// mtu on 0→2, then a clean link again.
	n.SetLinkSpec(0, 2, fault.MTU{Bytes: 100})
	send(2, 200)
	// queue full: a rate stage with room for one packet.
	n.SetLinkSpec(0, 2, fault.Rate{Bits: 8, Limit: 1})
	send(2, 10)
	send(2, 10)
	n.SetLinkSpec(0, 2, nil)
	// corrupt (a payload bit, checksum not fixed: the stack discards it).
	n.SetLinkSpec(0, 3, fault.Corrupt{P: 1, Scope: fault.CorruptPayload})
	send(3, 10)
	n.SetLinkSpec(0, 3, fault.Duplicate{P: 1})
	send(3, 10) // 2 copies
	n.SetLinkSpec(0, 3, nil)
	// no route.
	require.NoError(t, s0.Send(ap(Addr(99)), []byte("x")))
	// partition.
	p := n.Partition([]int{0}, []int{2})
	send(2, 10)
	p.Heal()
	e.RunFor(time.Second)
	// down: queued while up, arrives while down.
	send(3, 10)
	n.Node(3).SetDown(true)
	require.True(t, n.Node(3).Down())
	e.RunFor(5 * time.Millisecond)
	n.Node(3).SetDown(false)
	send(3, 10)
	e.RunFor(time.Minute)

	ds := n.DropStats()
	for c, want := range map[DropCause]uint64{DropLoss: 1, DropMTU: 1, DropQueueFull: 1, DropCorrupt: 1,
		DropNoRoute: 1, DropPartition: 1, DropDown: 1} {
		require.Equal(t, want, ds.Of(c), c.String())
	}
	require.Equal(t, uint64(7), ds.Total())
	require.Equal(t, ds, o.drops, "the observer sees every drop")
	st := n.Stats()
	require.Equal(t, ds.Total()-ds.Of(DropCorrupt), st.Dropped, "NetStats.Dropped leaves stack discards out")
	require.Equal(t, 1, o.dup)
	require.Equal(t, int(st.Sent), o.in)
	require.Equal(t, o.queued, o.delivered+int(ds.Of(DropDown)+ds.Of(DropCorrupt)), "every queued copy ended")
	require.Len(t, r1.got, 0)
	require.Len(t, r2.got, 1, "the second rate-limited frame")
	require.Len(t, r3.got, 3, "two duplicates and the one sent after power-on")
}

// TestAddressesBeyond16Bits: the address plan has no 65,536-node limit
// (interface identifier = index + 1, 64 bits).
func TestAddressesBeyond16Bits(t *testing.T) {
	require.Equal(t, "fd00:6d73:696d::1:86a1", Addr(100000).String())
	n := &Network{nodes: make([]*Node, 100001)}
	require.Equal(t, 100000, n.nodeIndex(Addr(100000).AsSlice()))
	require.Equal(t, 70000, n.nodeIndex(LinkLocalAddr(70000).AsSlice()))
	require.Equal(t, -1, n.nodeIndex(Addr(100001).AsSlice()))
}
