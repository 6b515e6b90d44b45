package commissionee

import (
	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
)

// Handshaker runs a Device on a simulated node: it is the node's
// nodes.Handshaker and takes every session event (the workload under it
// sees none: the Device answers the Interaction Model itself), and its
// timers are folded into the node's. So a virtual device in a scenario
// network, or behind `mattersim bridge`, is commissionable like
// `mattersim device`.
//
// It is a nodes.Lifecycle: a power-off drops the Device, a boot builds a
// new one on the fresh core with the same Config (and verifier). The
// fabric table is not persisted in the node's Store, so a reboot is a
// factory reset here: the window is open again and the fabrics are gone.
// Not safe for concurrent use.
type Handshaker struct {
	cfg Config
	dev *Device
	// Notify, if set, sees every notice in order, from inside the node's
	// input (it may call the node's Manager, not Node.Do). Without it the
	// notices are dropped.
	Notify func(now clock.Time, n *nodes.Node, nt Notice)
}

var (
	_ nodes.Handshaker = (*Handshaker)(nil)
	_ nodes.Lifecycle  = (*Handshaker)(nil)
)

// NewHandshaker builds a Device on n's core and installs it as n's
// Handshaker (replacing any). Call it from outside a node input, before
// the node receives anything meant for the Device.
func NewHandshaker(n *nodes.Node, cfg Config) (*Handshaker, error) {
	d, err := New(n.Manager(), cfg)
	if err != nil {
		return nil, err
	}
	h := &Handshaker{cfg: d.cfg, dev: d}
	n.SetHandshaker(h)
	return h, nil
}

// Device returns the running Device (nil while the node is off).
func (h *Handshaker) Device() *Device { return h.dev }

// HandleEvent feeds ev to the Device and consumes it.
func (h *Handshaker) HandleEvent(now clock.Time, n *nodes.Node, ev *session.Event) bool {
	if h.dev == nil {
		return true
	}
	h.dev.HandleEvent(n.Manager(), now, *ev)
	h.drain(now, n)
	return true
}

// HandleTimer runs the Device's due timeouts.
func (h *Handshaker) HandleTimer(now clock.Time, n *nodes.Node) {
	if h.dev == nil {
		return
	}
	h.dev.HandleTimeout(n.Manager(), now)
	h.drain(now, n)
}

// Deadline is the Device's.
func (h *Handshaker) Deadline() clock.Time {
	if h.dev == nil {
		return clock.Never
	}
	return h.dev.Deadline()
}

// PowerOff drops the Device with the core it ran on.
func (h *Handshaker) PowerOff(clock.Time, *nodes.Node) { h.dev = nil }

// Boot builds a new Device on the fresh core.
func (h *Handshaker) Boot(now clock.Time, n *nodes.Node) {
	d, err := New(n.Manager(), h.cfg)
	if err != nil {
		return // New fails only on a bad Config, which the first boot accepted
	}
	h.dev = d
	d.now = now
	d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowNoFabric, Text: "booted: commissioning window open, no fabric"})
	h.drain(now, n)
}

func (h *Handshaker) drain(now clock.Time, n *nodes.Node) {
	for {
		nt, ok := h.dev.Poll()
		if !ok {
			return
		}
		if h.Notify != nil {
			h.Notify(now, n, nt)
		}
	}
}
