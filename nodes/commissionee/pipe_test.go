package commissionee

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
)

// pipe is a controller and a device session.Manager joined in process at
// one virtual instant: the CASE server tests and the Device tests both need
// it and differ only in who handles the device's events, so the shuttle
// lives here once.
type pipe struct {
	t          *testing.T
	now        clock.Time
	ctl, dev   *session.Manager
	ctlA, devA netip.AddrPort
	ctlEvents  []session.Event
	onDev      func(session.Event) // the device side's handler of its Manager's events
}

// newPipe makes the two Managers, seeded 1 (controller) and 2 (device) with
// PCG stream pcgStream, so that each test's wire bytes stay as they were.
func newPipe(t *testing.T, pcgStream uint64) pipe {
	t.Helper()
	mk := func(seed byte) *session.Manager {
		m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{seed}), rand.NewPCG(uint64(seed), pcgStream))
		require.NoError(t, err)
		return m
	}
	return pipe{t: t, ctl: mk(1), dev: mk(2),
		ctlA: netip.MustParseAddrPort("[fd00::2]:5540"), devA: netip.MustParseAddrPort("[fd00::1]:5540")}
}

// pump delivers datagrams both ways until both Managers are quiet, giving
// device events to onDev and keeping the controller's in ctlEvents.
func (p *pipe) pump() {
	for moved := true; moved; {
		moved = p.drain(p.dev, p.ctl, p.devA, p.onDev)
		moved = p.drain(p.ctl, p.dev, p.ctlA, func(ev session.Event) { p.ctlEvents = append(p.ctlEvents, ev) }) || moved
	}
}

// drain polls from until it is empty: its datagrams go to to as from fromA,
// its events (payload copied: the Manager reuses the buffer) to handle. It
// reports whether anything came out.
func (p *pipe) drain(from, to *session.Manager, fromA netip.AddrPort, handle func(session.Event)) (moved bool) {
	for o, ok := from.Poll(); ok; o, ok = from.Poll() {
		moved = true
		if o.IsDatagram() {
			to.HandleDatagram(p.now, fromA, slices.Clone(o.Data))
			continue
		}
		ev := o.Event
		ev.Payload = slices.Clone(ev.Payload)
		handle(ev)
	}
	return moved
}
