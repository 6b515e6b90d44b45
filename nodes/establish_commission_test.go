package nodes_test

// These tests run nodes.Commission against devices running the
// commissionable stack (nodes/commissionee, which imports nodes: an
// external test package, as in nodes/commissionee/sim_test.go).

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/commissioner"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
)

const commPasscode = 20202021

var commEpoch = func() cert.Time {
	t, _ := cert.Date(2026, 1, 1, 0, 0, 0)
	return t
}()

// commRig is a controller (node 0, reading every second over the CASE
// session it gets) and k commissionable devices (nodes 1..k, Persist set)
// on a fakeNet. Every controller node event is kept.
type commRig struct {
	f    *fakeNet
	ctl  *nodes.Node
	devs []*nodes.Node
	hs   []*commissionee.Handshaker
	est  *nodes.Commission
	rd   *nodes.Reader
	res  []caseResult
	evs  []nodes.NodeEvent
	// notices of device i (index in devs).
	notices [][]commissionee.Notice
}

func newCommRig(t *testing.T, k int) *commRig {
	t.Helper()
	tf, err := testca.Mint(testca.Options{Seed: 11, FabricID: 1, FirstNodeID: 0x1_0000})
	require.NoError(t, err)
	fab, err := commissioner.FabricFromTestCA(tf, 0)
	require.NoError(t, err)
	r := &commRig{f: &fakeNet{}, rd: &nodes.Reader{Interval: time.Second}, notices: make([][]commissionee.Notice, k)}
	r.est = &nodes.Commission{
		Fabric:   func(*nodes.Node) (*commissioner.Fabric, error) { return fab, nil },
		Passcode: func(*nodes.Node) uint32 { return commPasscode },
		Rand:     caseRand, Epoch: commEpoch,
	}
	r.ctl = newNode(t, 0, r.rd)
	r.f.add(r.ctl)
	r.ctl.OnNodeEvent = func(_ clock.Time, _ *nodes.Node, ev *nodes.NodeEvent) { r.evs = append(r.evs, *ev) }
	for i := 1; i <= k; i++ {
		factory := func(boot int, _ *nodes.Store) (*session.Manager, error) {
			return session.New(session.Config{}, rand.NewChaCha8([32]byte{byte(i), byte(boot)}), rand.NewPCG(uint64(i), uint64(boot)))
		}
		d, err := nodes.NewBooted(i, message.NodeID(0x1000+i), factory, &nodes.Responder{Model: nodes.DeviceModel(i)})
		require.NoError(t, err)
		r.f.add(d)
		h, err := commissionee.NewHandshaker(d, commissionee.Config{Passcode: commPasscode,
			Rand: caseRand(d), Epoch: func(clock.Time) cert.Time { return commEpoch }, Info: im.InteropBasicInfo()})
		require.NoError(t, err)
		h.Persist = true
		di := i - 1
		h.Notify = func(_ clock.Time, _ *nodes.Node, nt commissionee.Notice) { r.notices[di] = append(r.notices[di], nt) }
		r.devs, r.hs = append(r.devs, d), append(r.hs, h)
	}
	r.ctl.Start(0)
	return r
}

// establish asks the controller for device d's session at now.
func (r *commRig) establish(now clock.Time, d *nodes.Node) {
	r.est.Establish(now, r.ctl, d, func(now clock.Time, p nodes.Pair, err error) {
		r.res = append(r.res, caseResult{now, p, err})
		if err == nil {
			r.rd.AddPeerAt(now, p.InitiatorRef)
		}
	})
}

// fabrics returns the number of fabrics in device i's table (-1: off).
func (r *commRig) fabrics(i int) int {
	d := r.hs[i].Device()
	if d == nil {
		return -1
	}
	return len(d.Fabrics().Fabrics())
}

// ended returns the CommissionEnded events, in order.
func (r *commRig) ended() []nodes.NodeEvent {
	var out []nodes.NodeEvent
	for _, ev := range r.evs {
		if ev.Kind == nodes.CommissionEnded {
			out = append(out, ev)
		}
	}
	return out
}

// runUntilCond steps the network until cond holds (checked between
// inputs) or until passes; it reports whether cond held.
func (r *commRig) runUntilCond(until clock.Time, cond func() bool) bool {
	for !cond() {
		if !r.f.step(until) {
			r.f.now = max(r.f.now, until)
			return cond()
		}
	}
	return true
}

// checkAccounting: every commissioning started has ended, succeeded or
// failed at a step, or is in flight; nothing is silently dropped.
func (r *commRig) checkAccounting(t *testing.T) {
	t.Helper()
	s := r.est.Stats()
	var fails uint64
	for _, n := range s.CommissionFails {
		fails += n
	}
	_, active, _ := r.est.Pending()
	inFlight := 0
	started, ended := 0, 0
	for _, ev := range r.evs {
		switch ev.Kind {
		case nodes.CommissionStarted:
			started++
		case nodes.CommissionEnded:
			ended++
		}
	}
	inFlight = started - ended
	require.LessOrEqual(t, inFlight, active)
	require.Equal(t, s.Commissionings, s.Commissioned+fails+uint64(inFlight),
		"started == succeeded + failed + in flight (stats %+v)", s)
	require.Equal(t, uint64(started), s.Commissionings)
	require.Equal(t, s.Attempts, s.Commissionings+s.CASEOnly)
}

func TestCommissionEstablish(t *testing.T) {
	r := newCommRig(t, 3)
	for _, d := range r.devs {
		r.establish(0, d)
	}
	r.f.runUntil(clock.Time(10 * time.Second))
	require.Len(t, r.res, 3)
	for i, x := range r.res {
		require.NoError(t, x.err)
		in, ok := r.ctl.Manager().SessionInfo(x.p.InitiatorRef)
		require.True(t, ok)
		require.Equal(t, session.CASE, in.Kind)
		require.Equal(t, 1, r.fabrics(i))
		require.False(t, r.hs[i].Device().WindowOpen(), "commissioned: window closed")
		require.True(t, r.est.Commissioned(r.ctl, r.devs[i]))
	}
	s := r.est.Stats()
	require.Equal(t, uint64(3), s.Commissionings)
	require.Equal(t, uint64(3), s.Commissioned)
	require.Equal(t, [13]uint64{}, s.CommissionFails)
	require.Zero(t, s.Retries)
	require.Positive(t, r.rd.Stats().Answered, "reads run over the CASE sessions")
	r.checkAccounting(t)
}
