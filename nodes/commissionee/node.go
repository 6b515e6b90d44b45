package commissionee

import (
	"fmt"

	"mattersim/clock"
	"mattersim/im/fabrics"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/casesess"
)

// Handshaker runs a Device on a simulated node: it is the node's
// nodes.Handshaker and takes every session event (the workload under it
// sees none: the Device answers the Interaction Model itself), and its
// timers are folded into the node's. So a virtual device in a scenario
// network, or behind `mattersim bridge`, is commissionable like
// `mattersim device`.
//
// It is a nodes.Lifecycle: a power-off drops the Device, a boot builds a
// new one on the fresh core with the same Config (and verifier). Without
// Persist a reboot is a factory reset: the window is open again and the
// fabrics are gone. With Persist the Device keeps its fabric table and
// CASE resumption records across power cycles, as a real device keeps
// them in flash (connectedhomeip FabricTable and
// DefaultSessionResumptionStorage live in the key-value store). Not safe
// for concurrent use.
type Handshaker struct {
	cfg Config
	dev *Device
	// Persist keeps the fabric table (fabrics, ACL, operational keys) and
	// the CASE resumption records across power cycles. A fail-safe armed
	// at power-off is expired at the next boot (what it added is rolled
	// back: connectedhomeip Server::Init checks the fail-safe marker left
	// in storage and reverts the pending fabric), and a device booting
	// with a fabric keeps its commissioning window closed. Set it before
	// the first power-off.
	Persist bool
	// Notify, if set, sees every notice in order, from inside the node's
	// input (it may call the node's Manager, not Node.Do). Without it the
	// notices are dropped.
	Notify func(now clock.Time, n *nodes.Node, nt Notice)

	// With Persist: what the last power-off kept (nil: nothing yet).
	kept       *fabrics.Store
	keptResume *casesess.Resumption
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

// PowerOff drops the Device with the core it ran on (with Persist, its
// fabric table and resumption records are kept for the next boot).
func (h *Handshaker) PowerOff(_ clock.Time, _ *nodes.Node) {
	if h.Persist && h.dev != nil {
		h.kept, h.keptResume = h.dev.store, h.dev.cs.resume
	}
	h.dev = nil
}

// Boot builds a new Device on the fresh core: a factory-new one, or with
// Persist the kept fabric table and resumption records.
func (h *Handshaker) Boot(now clock.Time, n *nodes.Node) {
	cfg := h.cfg
	cfg.fabrics = h.kept
	d, err := New(n.Manager(), cfg)
	if err != nil {
		return // New fails only on a bad Config, which the first boot accepted
	}
	h.dev = d
	d.now = now
	if h.kept == nil {
		d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowNoFabric, Text: "booted: commissioning window open, no fabric"})
		h.drain(now, n)
		return
	}
	d.cs.resume = h.keptResume
	// The fail-safe did not survive the power cycle: expire it now, which
	// rolls back an uncommitted fabric.
	if e, ok := d.store.HandleTimeout(clock.Never); ok && e.RemovedFabric != 0 {
		d.cs.resume.DeleteFabric(e.RemovedFabric)
		d.logf("booted: fail-safe expired across the power cycle, fabric %d rolled back", e.RemovedFabric)
	}
	if nf := len(d.store.Fabrics()); nf > 0 {
		d.window = false
		d.resp.Close(now)
		d.notify(Notice{Kind: NoticeWindowClosed, Window: WindowCommissioned,
			Text: fmt.Sprintf("booted: %d fabric(s) kept, commissioning window closed", nf)})
	} else {
		d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowNoFabric, Text: "booted: commissioning window open, no fabric"})
	}
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
