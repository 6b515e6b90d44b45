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
	ats  []clock.Time // of evs
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
	r.ctl.OnNodeEvent = func(now clock.Time, _ *nodes.Node, ev *nodes.NodeEvent) {
		r.evs, r.ats = append(r.evs, *ev), append(r.ats, now)
	}
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

// Under heavy loss steps fail (MRP gives up, answers time out): each
// failure is counted at its step, retried after the doubling backoff,
// and every device ends commissioned; nothing is silently dropped.
func TestCommissionUnderLoss(t *testing.T) {
	r := newCommRig(t, 6)
	rng := rand.New(rand.NewPCG(5, 6))
	r.f.drop = func(pkt) bool { return rng.Float64() < 0.45 }
	for _, d := range r.devs {
		r.establish(0, d)
	}
	r.f.runUntil(clock.Time(60 * time.Minute))
	require.Len(t, r.res, 6)
	for i, x := range r.res {
		require.NoError(t, x.err, "establishment %d", i)
	}
	for i := range r.devs {
		require.Equal(t, 1, r.fabrics(i), "device %d: one fabric, no leftover", i)
	}
	s := r.est.Stats()
	t.Logf("stats: %+v", s)
	require.Equal(t, uint64(6), s.Commissioned)
	var fails uint64
	steps := 0
	for _, n := range s.CommissionFails {
		fails += n
		if n > 0 {
			steps++
		}
	}
	require.Positive(t, fails)
	require.GreaterOrEqual(t, steps, 2, "failures at more than one step: %v", s.CommissionFails)
	require.Equal(t, s.Retries, s.Failed, "every failure retried (none gave up)")
	require.Zero(t, s.GaveUp)
	r.checkAccounting(t)
	// Backoff: each retry starts at least Backoff·2^(n-1) (capped) after
	// the failure of attempt n, as establishLoop.failed schedules it.
	failedAt := map[[2]int]clock.Time{}
	for k, ev := range r.evs {
		switch ev.Kind {
		case nodes.PairingFailed:
			failedAt[[2]int{ev.Peer, ev.Attempt}] = r.ats[k]
		case nodes.PairingStarted:
			if ev.Attempt > 1 {
				at, ok := failedAt[[2]int{ev.Peer, ev.Attempt - 1}]
				require.True(t, ok, "attempt %d of %d started without a failure before it", ev.Attempt, ev.Peer)
				b := nodes.DefaultCommissionBackoff << (ev.Attempt - 2)
				b = min(b, nodes.MaxCommissionBackoff)
				require.GreaterOrEqual(t, r.ats[k].Sub(at), b, "retry %d of device %d", ev.Attempt, ev.Peer)
			}
		}
	}
}

// A failed attempt at AddNOC (its answer lost) rolls the device's fabric
// back at once: the controller disarms the fail-safe over the PASE
// session (ArmFailSafe 0), so the table is empty from the failure until
// the retry, which commissions the device.
func TestCommissionFailedAddNOCRollsBack(t *testing.T) {
	r := newCommRig(t, 1)
	dev, ctl := r.devs[0].Addr(), r.ctl.Addr()
	cut, lose := true, false
	// Drop the device's answers while it holds a pending fabric: the
	// NOCResponse never arrives, MRP gives up on AddNOC. The controller's
	// first datagram after the failure is lost too: a disarm is
	// retransmitted (MRP), a lone CloseSession would not be.
	r.f.drop = func(p pkt) bool {
		if lose && p.from == ctl {
			lose = false
			return true
		}
		return cut && p.from == dev && r.fabrics(0) > 0
	}
	hook := r.ctl.OnNodeEvent
	r.ctl.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
		hook(now, n, ev)
		if ev.Kind == nodes.CommissionEnded && ev.Outcome == nodes.Failed && len(r.ended()) == 1 {
			lose = true
		}
	}
	r.establish(0, r.devs[0])
	require.True(t, r.runUntilCond(clock.Time(2*time.Minute), func() bool { return len(r.ended()) > 0 }))
	ev := r.ended()[0]
	require.Equal(t, nodes.Failed, ev.Outcome)
	require.Equal(t, nodes.FlowStep(commissioner.StepAddNOC), ev.Step, "%v", ev.Err)
	failed := r.f.now
	cut = false
	started := func() bool {
		n := 0
		for _, e := range r.evs {
			if e.Kind == nodes.CommissionStarted {
				n++
			}
		}
		return n > 1
	}
	// Until the retry the table stays empty, well before the 60 s fail-safe.
	require.True(t, r.runUntilCond(failed.Add(5*time.Second), func() bool { return r.fabrics(0) == 0 }),
		"fabric rolled back within 5 s of the failure, not at the fail-safe's expiry")
	t.Logf("failed at %v, rolled back %v later", time.Duration(failed), r.f.now.Sub(failed))
	require.True(t, lose == false, "the datagram after the failure was dropped")
	require.True(t, r.hs[0].Device().WindowOpen(), "window listening again")
	for !started() {
		require.Equal(t, 0, r.fabrics(0), "no fabric before the retry")
		require.True(t, r.f.step(failed.Add(time.Minute)))
	}
	require.Less(t, r.f.now.Sub(failed), 2*nodes.DefaultCommissionBackoff)
	r.f.runUntil(r.f.now.Add(30 * time.Second))
	require.Len(t, r.res, 1)
	require.NoError(t, r.res[0].err)
	require.Equal(t, 1, r.fabrics(0))
	s := r.est.Stats()
	require.Equal(t, uint64(1), s.CommissionFails[nodes.FlowStep(commissioner.StepAddNOC)-1])
	require.Equal(t, uint64(2), s.Commissionings)
	r.checkAccounting(t)
}

// A commissioned device rebooted keeps its fabric (Persist): the
// controller's next establishment is CASE only.
func TestCommissionRebootThenCASEOnly(t *testing.T) {
	r := newCommRig(t, 1)
	r.establish(0, r.devs[0])
	r.f.runUntil(clock.Time(10 * time.Second))
	require.Len(t, r.res, 1)
	require.NoError(t, r.res[0].err)
	require.NoError(t, r.devs[0].Reboot(r.f.now))
	require.Equal(t, 1, r.fabrics(0), "fabric kept across the reboot")
	require.False(t, r.hs[0].Device().WindowOpen())
	r.establish(r.f.now, r.devs[0])
	r.f.runUntil(r.f.now.Add(10 * time.Second))
	require.Len(t, r.res, 2)
	require.NoError(t, r.res[1].err)
	s := r.est.Stats()
	require.Equal(t, uint64(1), s.Commissionings, "not commissioned again")
	require.Equal(t, uint64(1), s.CASEOnly)
	require.Zero(t, s.Recommissions)
	in, ok := r.ctl.Manager().SessionInfo(r.res[1].p.InitiatorRef)
	require.True(t, ok)
	require.Equal(t, session.CASE, in.Kind)
	r.checkAccounting(t)
}

// A device rebooted while its fail-safe is armed with a pending fabric
// boots with the fail-safe expired (the fabric rolled back) and the
// window open; the controller's attempt fails, the retry commissions it.
func TestCommissionRebootDuringCommissioning(t *testing.T) {
	r := newCommRig(t, 1)
	r.establish(0, r.devs[0])
	require.True(t, r.runUntilCond(clock.Time(10*time.Second), func() bool { return r.fabrics(0) > 0 }),
		"AddNOC reached the device")
	require.NoError(t, r.devs[0].Reboot(r.f.now))
	require.Equal(t, 0, r.fabrics(0), "pending fabric rolled back at boot")
	require.True(t, r.hs[0].Device().WindowOpen(), "window open after boot")
	r.f.runUntil(r.f.now.Add(3 * time.Minute))
	require.Len(t, r.res, 1)
	require.NoError(t, r.res[0].err)
	require.Equal(t, 1, r.fabrics(0))
	s := r.est.Stats()
	require.Equal(t, uint64(1), s.Commissioned)
	require.Equal(t, uint64(2), s.Commissionings, "one failed attempt, one retry: %+v", s)
	r.checkAccounting(t)
}

// A partition starting once PASE is up and healing 20 s later: the
// attempt fails, its disarm is lost, the device keeps its fail-safe (and
// ignores PASE) until it expires 60 s after PASE, then a retry
// commissions it.
func TestCommissionPartitionHeals(t *testing.T) {
	r := newCommRig(t, 1)
	var cut clock.Time = clock.Never
	r.hs[0].Notify = func(now clock.Time, _ *nodes.Node, nt commissionee.Notice) {
		if nt.Kind == commissionee.NoticePASEEstablished && cut == clock.Never {
			cut = now
		}
	}
	r.f.drop = func(pkt) bool { return r.f.now >= cut && r.f.now < cut.Add(20*time.Second) }
	r.establish(0, r.devs[0])
	r.f.runUntil(clock.Time(10 * time.Minute))
	require.Len(t, r.res, 1)
	require.NoError(t, r.res[0].err)
	require.Equal(t, 1, r.fabrics(0))
	s := r.est.Stats()
	t.Logf("partition at %v: commissioned at %v, stats %+v", time.Duration(cut), time.Duration(r.res[0].at), s)
	require.Positive(t, s.Retries)
	require.Zero(t, s.GaveUp)
	require.Less(t, r.res[0].at.Sub(cut), 3*time.Minute)
	r.checkAccounting(t)
}

// CommissioningComplete committed on the device but its answer lost: the
// device's window is closed, so the retry is CASE only (a PASE retry
// would be ignored until the controller gave up).
func TestCommissionCompleteAnswerLost(t *testing.T) {
	r := newCommRig(t, 1)
	dev := r.devs[0].Addr()
	cut := false
	r.hs[0].Notify = func(_ clock.Time, _ *nodes.Node, nt commissionee.Notice) {
		if nt.Kind == commissionee.NoticeCommissioned {
			cut = true
		}
	}
	hook := r.ctl.OnNodeEvent
	r.ctl.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
		hook(now, n, ev)
		if ev.Kind == nodes.CommissionEnded && ev.Outcome == nodes.Failed {
			cut = false
		}
	}
	r.f.drop = func(p pkt) bool { return cut && p.from == dev }
	r.establish(0, r.devs[0])
	r.f.runUntil(clock.Time(10 * time.Minute))
	require.Len(t, r.res, 1)
	require.NoError(t, r.res[0].err)
	s := r.est.Stats()
	t.Logf("stats %+v", s)
	require.Equal(t, uint64(1), s.CommissionFails[nodes.FlowStep(commissioner.StepComplete)-1])
	require.Equal(t, uint64(1), s.Commissionings, "not commissioned again")
	require.Equal(t, uint64(1), s.CASEOnly)
	require.Equal(t, uint64(1), s.Recovered, "the CASE-only retry found it commissioned")
	require.Equal(t, uint64(0), s.Commissioned, "the attempt itself failed")
	require.Equal(t, 1, r.fabrics(0))
	r.checkAccounting(t)
}
