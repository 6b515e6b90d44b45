package nodes

import (
	"mattersim/clock"
	"mattersim/clock/queue"
	"mattersim/session"
)

// Workload is the application on a node: it starts exchanges, answers
// messages and keeps its own timers, which the node folds into its single
// transport timer.
//
// All methods run inside a node input, on the network's goroutine. They may
// call the node's Manager directly (NewExchange, Send, CloseExchange): the
// node drains the outputs when the input ends. They must not call Node.Do
// from another node.
//
// Multicast (group sessions, spec 4.15) is not modelled by the session core
// yet; a group workload will be one more implementation of this interface.
type Workload interface {
	// Start is called once when the run starts.
	Start(now clock.Time, n *Node)
	// Stop ends the workload: nothing new is started; exchanges in flight
	// finish (answered, given up or timed out).
	Stop(now clock.Time, n *Node)
	// HandleEvent sees every session event of the node, in order. ev and
	// its payload are valid only during the call.
	HandleEvent(now clock.Time, n *Node, ev *session.Event)
	// HandleTimer runs the workload timers due at or before now.
	HandleTimer(now clock.Time, n *Node)
	// Deadline returns the earliest workload timer, or clock.Never.
	Deadline() clock.Time
}

// Unsoliciting is implemented by workloads that take unsolicited messages
// (spec 4.10.5.2): New registers what Unsolicited returns on the node's
// Manager (session.Manager.RegisterUnsolicited), so that only those open
// an exchange; every other unsolicited message is acked if asked and
// dropped by the core. A workload that registers must close every
// exchange it is delivered, answered or not.
type Unsoliciting interface {
	Unsolicited() []session.Unsolicited
}

// Workloads runs several workloads on one node, in slice order. A nil or
// empty Workloads does nothing.
type Workloads []Workload

var (
	_ Workload     = Workloads(nil)
	_ Unsoliciting = Workloads(nil)
	_ Lifecycle    = Workloads(nil)
)

// PowerOff passes the power-off to each workload that has a Lifecycle.
func (ws Workloads) PowerOff(now clock.Time, n *Node) {
	for _, w := range ws {
		if l, ok := w.(Lifecycle); ok {
			l.PowerOff(now, n)
		}
	}
}

// Boot passes the boot to each workload that has a Lifecycle.
func (ws Workloads) Boot(now clock.Time, n *Node) {
	for _, w := range ws {
		if l, ok := w.(Lifecycle); ok {
			l.Boot(now, n)
		}
	}
}

// Unsolicited returns the registrations of the workloads that make any.
func (ws Workloads) Unsolicited() []session.Unsolicited {
	var us []session.Unsolicited
	for _, w := range ws {
		if u, ok := w.(Unsoliciting); ok {
			us = append(us, u.Unsolicited()...)
		}
	}
	return us
}

// Start starts each workload.
func (ws Workloads) Start(now clock.Time, n *Node) {
	for _, w := range ws {
		w.Start(now, n)
	}
}

// Stop stops each workload.
func (ws Workloads) Stop(now clock.Time, n *Node) {
	for _, w := range ws {
		w.Stop(now, n)
	}
}

// HandleEvent passes ev to each workload.
func (ws Workloads) HandleEvent(now clock.Time, n *Node, ev *session.Event) {
	for _, w := range ws {
		w.HandleEvent(now, n, ev)
	}
}

// HandleTimer runs the due workloads.
func (ws Workloads) HandleTimer(now clock.Time, n *Node) {
	for _, w := range ws {
		if w.Deadline() <= now {
			w.HandleTimer(now, n)
		}
	}
}

// Deadline returns the earliest deadline.
func (ws Workloads) Deadline() clock.Time {
	t := clock.Never
	for _, w := range ws {
		t = min(t, w.Deadline())
	}
	return t
}

// timerQueue holds workload timers in (at, insertion) order, so equal
// instants fire in the order they were set (clock/queue). Entries are
// cancelled lazily: the owner compares gen with its own.
type timerQueue struct{ q queue.Queue[timerEntry] }

type timerEntry struct {
	at   clock.Time // repeats the queue key for the owner
	key  int        // owner-defined: peer index
	kind uint8      // owner-defined
	gen  uint64     // owner-defined generation, for lazy cancel
}

func (t *timerQueue) len() int            { return t.q.Len() }
func (t *timerQueue) push(e timerEntry)   { t.q.Push(e.at, e) }
func (t *timerQueue) top() *timerEntry    { _, e := t.q.Peek(); return e }
func (t *timerQueue) pop() (e timerEntry) { _, e = t.q.Pop(); return e }
