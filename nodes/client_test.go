package nodes_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
)

// evLog records a node's NodeEvents.
type evLog struct {
	evs []nodes.NodeEvent
}

func (l *evLog) hook(_ clock.Time, _ *nodes.Node, ev *nodes.NodeEvent) {
	if ev.Kind != nodes.NodeSent {
		l.evs = append(l.evs, *ev)
	}
}

func (l *evLog) count(k nodes.NodeEventKind) int {
	n := 0
	for _, e := range l.evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func (l *evLog) outcomes(op nodes.OpKind) map[nodes.Outcome]int {
	m := map[nodes.Outcome]int{}
	for _, e := range l.evs {
		if e.Kind == nodes.OpEnded && e.Op == op {
			m[e.Outcome]++
		}
	}
	return m
}

// factory returns a CoreFactory seeding boot b of node i from its own
// streams, so every boot draws fresh session ids and counters.
func factory(i int) nodes.CoreFactory {
	return func(boot int, _ *nodes.Store) (*session.Manager, error) {
		return session.New(session.Config{}, rand.NewChaCha8([32]byte{byte(i), byte(boot), 1}), rand.NewPCG(uint64(i), uint64(boot)))
	}
}

func booted(t *testing.T, i int, w nodes.Workload) *nodes.Node {
	t.Helper()
	n, err := nodes.NewBooted(i, message.NodeID(0x1000+i), factory(i), w)
	require.NoError(t, err)
	return n
}

// clientNet builds a controller running a Client with ops over installed
// keys to k devices, each running a Responder on DeviceModel.
func clientNet(t *testing.T, k int, ops ...nodes.Operation) (*fakeNet, *nodes.Node, *nodes.Client, []*nodes.Node, *evLog) {
	t.Helper()
	f := &fakeNet{}
	cl := &nodes.Client{Ops: ops, Establisher: &nodes.InstallKeys{Keys: rand.NewChaCha8([32]byte{42})}}
	require.NoError(t, cl.Validate())
	c := booted(t, 0, cl)
	f.add(c)
	log := &evLog{}
	c.OnNodeEvent = log.hook
	var devs []*nodes.Node
	for i := 1; i <= k; i++ {
		d := booted(t, i, &nodes.Responder{Model: nodes.DeviceModel(i)})
		f.add(d)
		devs = append(devs, d)
		cl.Connect(0, c, cl.AddTarget(d))
	}
	return f, c, cl, devs, log
}

// Every operation kind is answered by the device's Responder; stats and
// events agree.
func TestClientOperations(t *testing.T) {
	f, c, cl, _, log := clientNet(t, 2,
		nodes.Operation{Kind: nodes.OpRead, Interval: time.Second},
		nodes.Operation{Kind: nodes.OpInvoke, Interval: 2 * time.Second, Targets: []int{1}},
		nodes.Operation{Kind: nodes.OpRequest, Interval: time.Second, RequestSize: 100, ResponseSize: nodes.MaxEchoPayload},
		nodes.Operation{Kind: nodes.OpInvoke, Interval: 5 * time.Second, Targets: []int{0},
			Command: im.CommandPath{Endpoint: 1, Cluster: 0x9999, Command: 1}}, // not implemented: failed
	)
	c.Start(0)
	f.runUntil(clock.Time(10*time.Second - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(time.Minute))
	rd, inv, req := cl.Stats(nodes.OpRead), cl.Stats(nodes.OpInvoke), cl.Stats(nodes.OpRequest)
	require.Equal(t, uint64(20), rd.Sent) // 2 targets × 10 s / 1 s
	require.Equal(t, rd.Sent, rd.Answered)
	require.Equal(t, uint64(5+2), inv.Sent) // toggles to target 1, the bad command to target 0
	require.Equal(t, uint64(5), inv.Answered)
	require.Equal(t, uint64(2), inv.Failed)
	require.Equal(t, uint64(20), req.Sent)
	require.Equal(t, req.Sent, req.Answered)
	require.Zero(t, cl.InFlight())
	require.Equal(t, int(rd.Sent+inv.Sent+req.Sent), log.count(nodes.OpStarted))
	require.Equal(t, map[nodes.Outcome]int{nodes.Answered: 20}, log.outcomes(nodes.OpRead))
	require.Equal(t, map[nodes.Outcome]int{nodes.Answered: 5, nodes.Failed: 2}, log.outcomes(nodes.OpInvoke))
	for _, e := range log.evs {
		if e.Kind == nodes.OpEnded && e.Outcome == nodes.Answered {
			require.Equal(t, 2*time.Millisecond, e.Latency, "request and answer, 1 ms each")
		}
	}
	require.Equal(t, 2, log.count(nodes.PairingQueued))
	require.Equal(t, 2, log.count(nodes.PairingEnded))
	require.Equal(t, clock.Never, f.trs[0].timer, "quiescent")
}

// An operation interval far below the round trip costs timer events in
// proportion to the operations started, not to the interval: the due
// instants that pass while one is in flight are skipped by arithmetic
// (the `run --interval 1ns` spin).
func TestClientSkipsCostNoTimers(t *testing.T) {
	f, c, cl, _, _ := clientNet(t, 1, nodes.Operation{Kind: nodes.OpRead, Interval: time.Nanosecond})
	fires := 0
	tr := f.trs[0]
	c.Start(0)
	end := clock.Time(time.Second)
	for {
		// Count the controller's timer firings (fakeNet.step inlined).
		if tr.timer <= end && (len(f.q) == 0 || tr.timer < f.q[0].at) && tr.timer <= f.trs[1].timer {
			fires++
		}
		if !f.step(end) {
			break
		}
	}
	c.Stop(end)
	f.runUntil(clock.Time(time.Minute))
	s := cl.Stats(nodes.OpRead)
	// Each read takes 2 ms (request and answer): ~500 in a second.
	require.InDelta(t, 500, float64(s.Sent), 2)
	require.Equal(t, s.Sent, s.Answered)
	require.LessOrEqual(t, fires, 3*int(s.Sent), "timer events per read")
	// Every nanosecond of the second was either a read's start or skipped.
	require.Equal(t, uint64(time.Second), s.Sent+s.Skipped)
}

// Jitter delays each operation by [0, Jitter); starts respect the grid.
func TestClientJitterAndWindow(t *testing.T) {
	f := &fakeNet{}
	cl := &nodes.Client{Ops: []nodes.Operation{{Kind: nodes.OpRead, Interval: time.Second, Jitter: 500 * time.Millisecond,
		Start: clock.Time(3 * time.Second), Stop: clock.Time(8 * time.Second)}},
		Rand: rand.New(rand.NewPCG(1, 2)), Establisher: &nodes.InstallKeys{Keys: rand.NewChaCha8([32]byte{42})}}
	require.NoError(t, cl.Validate())
	c := booted(t, 0, cl)
	f.add(c)
	log := &evLog{}
	var starts []clock.Time
	c.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
		if ev.Kind == nodes.OpStarted {
			starts = append(starts, now)
		}
		log.hook(now, n, ev)
	}
	d := booted(t, 1, &nodes.Responder{Model: nodes.DeviceModel(1)})
	f.add(d)
	cl.Connect(0, c, cl.AddTarget(d))
	c.Start(0)
	f.runUntil(clock.Time(time.Minute))
	require.Len(t, starts, 5, "5 s window, one per second")
	for i := 1; i < len(starts); i++ {
		gap := starts[i].Sub(starts[i-1])
		require.Greater(t, gap, 500*time.Millisecond)
		require.Less(t, gap, 1500*time.Millisecond)
	}
	require.GreaterOrEqual(t, starts[0], clock.Time(3*time.Second))
	require.Less(t, starts[4], clock.Time(8*time.Second))
}

func TestClientValidate(t *testing.T) {
	for _, c := range []struct {
		op    nodes.Operation
		field string
	}{
		{nodes.Operation{}, "Kind"},
		{nodes.Operation{Kind: nodes.OpRead, Interval: -1}, "Interval"},
		{nodes.Operation{Kind: nodes.OpRead, Interval: time.Second, Jitter: time.Second}, "Jitter"},
		{nodes.Operation{Kind: nodes.OpRead, Timeout: -1}, "Timeout"},
		{nodes.Operation{Kind: nodes.OpRead, Start: 10, Stop: 5}, "Stop"},
		{nodes.Operation{Kind: nodes.OpRead, Targets: []int{-1}}, "Targets"},
		{nodes.Operation{Kind: nodes.OpRequest, RequestSize: 2}, "RequestSize"},
		{nodes.Operation{Kind: nodes.OpRequest, ResponseSize: nodes.MaxEchoPayload + 1}, "ResponseSize"},
		{nodes.Operation{Kind: nodes.OpRead, Jitter: time.Millisecond}, "Jitter"}, // needs Rand
	} {
		err := (&nodes.Client{Ops: []nodes.Operation{c.op}}).Validate()
		var oe *nodes.OpError
		require.True(t, errors.As(err, &oe), "%+v: %v", c.op, err)
		require.Equal(t, c.field, oe.Field)
	}
}

// A device that reboots loses its sessions: the controller's next read is
// never acked (unknown session at the device), MRP gives up, and the
// controller re-establishes (re-installs keys) and reads on. The device's
// fresh core draws new session ids.
func TestDeviceRebootReestablished(t *testing.T) {
	f, c, cl, devs, log := clientNet(t, 1, nodes.Operation{Kind: nodes.OpRead, Interval: 5 * time.Second})
	d := devs[0]
	dlog := &evLog{}
	d.OnNodeEvent = dlog.hook
	before := d.Manager().Sessions()
	require.Len(t, before, 1)
	c.Start(0)
	f.runUntil(clock.Time(12 * time.Second))
	require.NoError(t, d.Reboot(f.now))
	require.Equal(t, 1, d.Boot())
	require.Empty(t, d.Manager().Sessions(), "sessions are lost")
	require.Equal(t, 1, dlog.count(nodes.NodeRebooted))
	f.runUntil(clock.Time(2*time.Minute - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(3 * time.Minute))
	s := cl.Stats(nodes.OpRead)
	require.Equal(t, uint64(1), s.GaveUp, "the first read after the reboot")
	require.Equal(t, s.Sent-1, s.Answered)
	require.Equal(t, 2, log.count(nodes.PairingQueued), "initial and re-established")
	after := d.Manager().Sessions()
	require.Len(t, after, 1)
	require.NotEqual(t, before[0].LocalID, after[0].LocalID, "a new session id")
	require.Equal(t, 2, log.count(nodes.PairingEnded))
}

// A controller that reboots aborts what was in flight and re-establishes
// every session it had.
func TestControllerRebootAbortsAndRepairs(t *testing.T) {
	f, c, cl, _, log := clientNet(t, 3, nodes.Operation{Kind: nodes.OpRead, Interval: 10 * time.Second})
	c.Start(0)
	// Reads to the 3 targets start at 0, 3.33 s, 6.67 s; the first is in
	// flight at 1 ms.
	f.runUntil(clock.Time(time.Millisecond))
	require.Equal(t, 1, cl.InFlight())
	require.NoError(t, c.Reboot(f.now))
	require.Zero(t, cl.InFlight())
	require.Equal(t, map[nodes.Outcome]int{nodes.Aborted: 1}, log.outcomes(nodes.OpRead))
	require.Equal(t, 6, log.count(nodes.PairingQueued), "3 at build, 3 after the reboot")
	for i := range 3 {
		_, ok := cl.Session(i)
		require.True(t, ok)
	}
	f.runUntil(clock.Time(35*time.Second - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(2 * time.Minute))
	s := cl.Stats(nodes.OpRead)
	require.Equal(t, uint64(1), s.Aborted)
	require.Equal(t, s.Sent-1, s.Answered)
	// Each target keeps its grid (0, 3.33 s, 6.67 s + k·10 s) up to 35 s:
	// 3 + 4 + 3 reads besides the aborted one.
	require.Equal(t, uint64(10), s.Sent-s.Aborted)
}

// A powered-off node takes no datagram, runs no timer and refuses Do; on
// power-on it boots a fresh core (a new unencrypted counter) and the
// controller re-establishes at its next operation.
func TestPowerCycle(t *testing.T) {
	f, c, cl, devs, log := clientNet(t, 1, nodes.Operation{Kind: nodes.OpRead, Interval: 5 * time.Second})
	d := devs[0]
	c.Start(0)
	f.runUntil(clock.Time(time.Second))
	require.NoError(t, d.PowerOff(f.now))
	require.True(t, d.Down())
	require.ErrorIs(t, d.Do(f.now, func(*session.Manager) error { return nil }), nodes.ErrDown)
	f.runUntil(clock.Time(time.Minute))
	require.NotZero(t, d.Stats().DownDrops, "datagrams handed to it while off")
	require.Equal(t, uint64(2), d.Stats().Received, "the first read and its ack arrived before")
	require.NoError(t, d.PowerOn(f.now))
	require.False(t, d.Down())
	f.runUntil(clock.Time(2*time.Minute - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(3 * time.Minute))
	s := cl.Stats(nodes.OpRead)
	require.NotZero(t, s.GaveUp)
	require.NotZero(t, s.NoSession, "re-establishment failed while the device was off")
	require.Equal(t, int(s.NoSession+s.SendErrors), log.count(nodes.OpNotSent), "every operation not sent is a NodeEvent")
	fails := 0
	for _, e := range log.evs {
		if e.Kind == nodes.PairingFailed {
			require.Equal(t, nodes.CauseUnreachable, e.Cause)
			fails++
		}
	}
	require.NotZero(t, fails)
	// After power-on: re-established, and reads answered again.
	_, ok := cl.Session(0)
	require.True(t, ok)
	require.Greater(t, s.Answered, uint64(1))
	require.Equal(t, s.Sent, s.Answered+s.GaveUp)
}

// The Store survives reboots; group counters persisted through it resume
// beyond every value used (counter.MinIncrement look-ahead).
func TestStoreSurvivesReboot(t *testing.T) {
	f := &fakeNet{}
	var uses []uint32
	fac := func(boot int, st *nodes.Store) (*session.Manager, error) {
		m, err := factory(7)(boot, st)
		if err != nil {
			return nil, err
		}
		if err := m.SetGroupCounterStore(st); err != nil {
			return nil, err
		}
		data, _, _ := m.GroupCounters()
		uses = append(uses, data)
		return m, nil
	}
	n, err := nodes.NewBooted(7, 0x77, fac, nil)
	require.NoError(t, err)
	f.add(n)
	n.Store().Put("note", []byte("kept"))
	require.NoError(t, n.Reboot(0))
	require.NoError(t, n.PowerOff(1))
	require.NoError(t, n.PowerOn(2))
	require.Equal(t, 2, n.Boot())
	v, ok := n.Store().Get("note")
	require.True(t, ok)
	require.Equal(t, "kept", string(v))
	require.Len(t, uses, 3)
	require.Equal(t, uses[0]+1000, uses[1], "resumes at the stored look-ahead")
	require.Equal(t, uses[1]+1000, uses[2])
	require.Contains(t, n.Store().Keys(), "GroupDataCounter")
	n.Store().Put("GroupDataCounter", []byte{1})
	_, _, err = n.Store().Load("GroupDataCounter")
	var se *nodes.StoreError
	require.ErrorAs(t, err, &se)
}

// Power changes from inside a node's own input are refused; Reboot needs
// a factory.
func TestPowerErrors(t *testing.T) {
	n := newNode(t, 1, nil)
	require.ErrorIs(t, n.Reboot(0), nodes.ErrNoCoreFactory)
	require.NoError(t, n.PowerOff(0))
	require.ErrorIs(t, n.PowerOn(0), nodes.ErrNoCoreFactory)
	b := booted(t, 2, nil)
	f := &fakeNet{}
	f.add(b)
	err := b.Do(0, func(*session.Manager) error { return b.Reboot(0) })
	require.ErrorIs(t, err, nodes.ErrInInput)
}

// With PASE, a rebooted device gets a fresh responder on its new core
// (same verifier), and the controller pairs it again after the give-up;
// a controller rebooted mid-handshake counts the attempt aborted and
// starts it again once up.
func TestRebootRepairedByPASE(t *testing.T) {
	f := &fakeNet{}
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand}
	cl := &nodes.Client{Ops: []nodes.Operation{{Kind: nodes.OpRead, Interval: 5 * time.Second}}, Establisher: est}
	c := booted(t, 0, cl)
	f.add(c)
	log := &evLog{}
	c.OnNodeEvent = log.hook
	d := booted(t, 1, &nodes.Responder{Model: nodes.DeviceModel(1)})
	f.add(d)
	cl.Connect(0, c, cl.AddTarget(d))
	c.Start(0)
	// Mid-handshake (PBKDFParamRequest out at 0, response back at 2 ms).
	f.runUntil(clock.Time(time.Millisecond))
	require.Equal(t, 1, log.count(nodes.PairingStarted))
	require.NoError(t, c.Reboot(f.now))
	// The rebooted controller's request at 1 ms is answered BUSY with the
	// time left to the device's dead handshake's step timeout (29.999 s;
	// the SDK's CASEServer likewise sends the expected response timeout),
	// and the retry honours that wait although the device gave the dead
	// handshake up (MRP) at about 3.8 s.
	f.runUntil(clock.Time(30 * time.Second))
	_, ok := cl.Session(0)
	require.False(t, ok, "the BUSY wait is honoured")
	f.runUntil(clock.Time(31 * time.Second))
	_, ok = cl.Session(0)
	require.True(t, ok, "paired after the controller's reboot: %+v", est.Stats())
	require.Equal(t, uint64(1), est.Stats().Aborted)
	require.NoError(t, d.Reboot(f.now))
	f.runUntil(clock.Time(time.Minute - 1))
	c.Stop(f.now)
	f.runUntil(clock.Time(3 * time.Minute))
	ps := est.Stats()
	require.Equal(t, uint64(2), ps.Devices, "paired, then re-paired after the device's reboot")
	require.Equal(t, uint64(2), ps.Succeeded)
	// The aborted attempt, one answered BUSY, the one that paired after
	// the BUSY's wait, and the re-pairing after the device's reboot.
	require.Equal(t, uint64(4), ps.Attempts)
	require.Equal(t, uint64(1), ps.Busy)
	require.Equal(t, uint64(1), ps.BusyRetries)
	require.Equal(t, uint64(1), ps.DeviceFailures)
	require.Equal(t, 2, log.count(nodes.PairingEnded))
	s := cl.Stats(nodes.OpRead)
	require.Equal(t, uint64(1), s.GaveUp)
	require.Equal(t, uint64(4), s.Answered, "reads every 5 s between the pairing at 30 s and the stop at 60 s, less those lost to the device's reboot and re-pairing")
	require.Equal(t, s.Sent, s.Answered+s.GaveUp)
	require.Len(t, d.Manager().Sessions(), 1)
	info, _ := d.Manager().SessionInfo(d.Manager().Sessions()[0])
	require.Equal(t, session.PASE, info.Kind)
}
