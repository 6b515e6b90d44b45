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
		moved = false
		for o, ok := p.dev.Poll(); ok; o, ok = p.dev.Poll() {
			moved = true
			if o.IsDatagram() {
				p.ctl.HandleDatagram(p.now, p.devA, slices.Clone(o.Data))
				continue
			}
			ev := o.Event
			ev.Payload = slices.Clone(ev.Payload)
			p.onDev(ev)
		}
		for o, ok := p.ctl.Poll(); ok; o, ok = p.ctl.Poll() {
			moved = true
			if o.IsDatagram() {
				p.dev.HandleDatagram(p.now, p.ctlA, slices.Clone(o.Data))
				continue
			}
			ev := o.Event
			ev.Payload = slices.Clone(ev.Payload)
			p.ctlEvents = append(p.ctlEvents, ev)
		}
	}
}
