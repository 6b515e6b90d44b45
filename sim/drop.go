package sim

import (
	"fmt"

	"mattersim/clock"
)

// DropCause says why the network lost a frame copy. Every drop has exactly
// one cause; the names are those of the network.dropped.<cause> metrics.
type DropCause uint8

// Drop causes.
const (
	// DropLoss: a loss stage (random, Gilbert-Elliott, 4-state) dropped it.
	// Drops by a stage whose reason is none of the causes below count here
	// too.
	DropLoss DropCause = iota + 1
	// DropMTU: larger than a link's MTU stage allowed.
	DropMTU
	// DropQueueFull: a rate stage's queue was full (tail drop).
	DropQueueFull
	// DropPartition: an active partition separates sender and receiver.
	DropPartition
	// DropCorrupt: a Corrupt stage changed the copy and the receiver's
	// stack discarded it (bad checksum or header) before any socket saw it.
	DropCorrupt
	// DropNoRoute: no node owns the destination address, or the frame is
	// not an IPv6 packet.
	DropNoRoute
	// DropDown: the receiving node was powered off when the copy arrived
	// (Node.SetDown).
	DropDown
	numDropCauses = iota + 1 // array size: causes start at 1
)

var dropCauseNames = [...]string{
	DropLoss:      "loss",
	DropMTU:       "mtu",
	DropQueueFull: "queue_full",
	DropPartition: "partition",
	DropCorrupt:   "corrupt",
	DropNoRoute:   "no_route",
	DropDown:      "down",
}

func (c DropCause) String() string {
	if c > 0 && int(c) < len(dropCauseNames) {
		return dropCauseNames[c]
	}
	return fmt.Sprintf("DropCause(%d)", uint8(c))
}

// DropCauses returns every cause, in declaration order.
func DropCauses() []DropCause {
	out := make([]DropCause, 0, numDropCauses)
	for c := DropLoss; c <= DropDown; c++ {
		out = append(out, c)
	}
	return out
}

// stageCause maps a stage's drop reason (fault.Drop.Reason) to its cause.
func stageCause(reason string) DropCause {
	switch reason {
	case "mtu":
		return DropMTU
	case "queue full":
		return DropQueueFull
	}
	return DropLoss
}

// DropCounts counts dropped frame copies by cause, indexed by DropCause. A
// plain value.
type DropCounts [numDropCauses]uint64

// Of returns the count for cause c.
func (d DropCounts) Of(c DropCause) uint64 {
	if int(c) < len(d) {
		return d[c]
	}
	return 0
}

// Total returns the sum over causes.
func (d DropCounts) Total() uint64 {
	var t uint64
	for _, v := range d {
		t += v
	}
	return t
}

// NetObserver sees the switch's accounting of every frame copy, for
// metrics. Every copy queued for delivery ends exactly once: delivered,
// dropped at delivery (DropDown, DropCorrupt), or still queued when the
// run ends; frames dropped before they are queued (partition, stages, no
// route) are reported by Dropped alone. Methods run on the engine's
// goroutine, must not run the engine, and must not keep or modify p.Data.
type NetObserver interface {
	// FrameIn: a frame entered the switch (sent by a stack or injected),
	// before partitions and faults; p.To < 0 for multicast.
	FrameIn(now clock.Time, p Packet)
	// Queued: one copy was queued for delivery to node p.To, after the
	// link's stage (several for a duplicating stage or a multicast group).
	Queued(now clock.Time, p Packet)
	// Duplicated: a duplicating stage made extra copies of p.
	Duplicated(now clock.Time, p Packet, extra int)
	// Delivered: a copy reached node p.To and its stack took it.
	Delivered(now clock.Time, p Packet)
	// Dropped: a copy was lost, for cause c.
	Dropped(now clock.Time, p Packet, c DropCause)
}

// Observe adds o to the network's observers, called in the order added.
func (n *Network) Observe(o NetObserver) { n.obs = append(n.obs, o) }

// DropStats returns the dropped frame copies by cause.
func (n *Network) DropStats() DropCounts { return n.drops }
