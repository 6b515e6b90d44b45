package nodes

import (
	"fmt"
	"math/rand/v2"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session"
	"mattersim/session/message"
)

// GroupSender is a workload that invokes a command on a group every
// Interval: an InvokeRequest with SuppressResponse set, sent as a group
// message (spec 4.15, 8.8.2: a group command gets no response). Its node
// must be provisioned with the group (session.Manager AddFabric,
// SetKeySet, AddGroup) by its CoreFactory; receivers apply the command
// (Responder) and never answer. Each send is a GroupSent NodeEvent.
//
// Set the exported fields before Start. Not safe for concurrent use.
type GroupSender struct {
	Fabric  uint8
	Group   message.GroupID
	Command im.CommandPath // zero: OnOffToggle
	// From is the first send; Until (0: never) when sending ends.
	From, Until clock.Time
	// Interval between sends (0: DefaultOpInterval); each send is delayed
	// by a uniform offset in [0, Jitter), Jitter < Interval.
	Interval, Jitter time.Duration
	// Rand draws the jitter; required when Jitter > 0.
	Rand *rand.Rand

	next    clock.Time
	stopped bool
	buf     []byte
	stats   GroupSenderStats
}

// GroupSenderStats counts what a GroupSender did.
type GroupSenderStats struct {
	Sent, SendErrors uint64
}

var _ Workload = (*GroupSender)(nil)

// Validate reports a configuration the sender cannot run.
func (g *GroupSender) Validate() error {
	switch {
	case g.Group == 0:
		return fmt.Errorf("nodes: group sender: group id 0 is the null group")
	case g.Interval < 0:
		return fmt.Errorf("nodes: group sender: negative interval %v", g.Interval)
	case g.Jitter < 0 || (g.Jitter > 0 && g.Jitter >= g.interval()):
		return fmt.Errorf("nodes: group sender: jitter %v must be in [0, interval %v)", g.Jitter, g.interval())
	case g.Jitter > 0 && g.Rand == nil:
		return fmt.Errorf("nodes: group sender: jitter needs Rand")
	}
	return nil
}

func (g *GroupSender) interval() time.Duration {
	if g.Interval == 0 {
		return DefaultOpInterval
	}
	return g.Interval
}

// Stats returns the counts so far.
func (g *GroupSender) Stats() GroupSenderStats { return g.stats }

// Start (Workload) arms the first send.
func (g *GroupSender) Start(now clock.Time, _ *Node) {
	g.next = g.due(max(now, g.From))
}

func (g *GroupSender) due(at clock.Time) clock.Time {
	if g.Jitter > 0 {
		at = at.Add(time.Duration(g.Rand.Int64N(int64(g.Jitter))))
	}
	if g.Until != 0 && at >= g.Until {
		return clock.Never
	}
	return at
}

// Stop (Workload) ends sending.
func (g *GroupSender) Stop(clock.Time, *Node) { g.stopped, g.next = true, clock.Never }

// HandleEvent (Workload): a sender expects no answers.
func (g *GroupSender) HandleEvent(clock.Time, *Node, *session.Event) {}

// Deadline (Workload) is the next send.
func (g *GroupSender) Deadline() clock.Time {
	if g.stopped {
		return clock.Never
	}
	return g.next
}

// HandleTimer (Workload) sends the due invoke and arms the next.
func (g *GroupSender) HandleTimer(now clock.Time, n *Node) {
	if g.stopped || now < g.next {
		return
	}
	cmd := g.Command
	if cmd == (im.CommandPath{}) {
		cmd = OnOffToggle
	}
	req := im.InvokeRequest{SuppressResponse: true, Requests: []im.CommandData{{Path: cmd}}}
	g.buf = im.AppendInvokeRequest(g.buf[:0], &req)
	_, err := n.Manager().SendGroup(now, session.GroupMessage{Fabric: g.Fabric, Group: g.Group,
		Protocol: message.ProtocolID(im.ProtocolID), Opcode: uint8(im.OpInvokeRequest), Payload: g.buf})
	if err != nil {
		g.stats.SendErrors++
	} else {
		g.stats.Sent++
	}
	n.Emit(now, NodeEvent{Kind: GroupSent, Peer: -1, Group: g.Group, Err: err})
	// The next instant on the grid after now (a late timer skips, it does
	// not burst).
	iv := g.interval()
	base := g.From
	if base > now {
		base = now
	}
	k := now.Sub(base)/iv + 1
	g.next = g.due(base.Add(k * iv))
}
