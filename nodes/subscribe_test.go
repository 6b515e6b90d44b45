package nodes_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
)

// subNet builds a controller (a Client with no operations and a
// Subscriber with op) over installed keys to one light whose Responder
// has a Publisher with changes; every datagram takes 1 ms (fakeNet).
func subNet(t *testing.T, op nodes.SubscribeOp, changes ...nodes.Change) (*fakeNet, *nodes.Node, *nodes.Subscriber, *nodes.Node, *nodes.Publisher, *evLog) {
	t.Helper()
	f := &fakeNet{}
	cl := &nodes.Client{Establisher: &nodes.InstallKeys{Keys: rand.NewChaCha8([32]byte{42})}}
	sub := &nodes.Subscriber{Client: cl, Ops: []nodes.SubscribeOp{op}, Rand: rand.New(rand.NewPCG(7, 8))}
	require.NoError(t, sub.Validate())
	c := booted(t, 0, nodes.Workloads{cl, sub})
	f.add(c)
	log := &evLog{}
	c.OnNodeEvent = func(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
		if ev.Kind >= nodes.SubRequested && ev.Kind <= nodes.SubKeepAlive {
			e := *ev
			e.Latency = time.Duration(now) // the instant, for the timing checks
			log.evs = append(log.evs, e)
		}
	}
	pub := &nodes.Publisher{Changes: changes, Rand: rand.New(rand.NewPCG(9, 10))}
	require.NoError(t, pub.Validate())
	d := booted(t, 1, &nodes.Responder{Model: nodes.DeviceModel(1), Subs: pub})
	f.add(d)
	cl.Connect(0, c, cl.AddTarget(d))
	return f, c, sub, d, pub, log
}

// at returns the instants of the events of kind k.
func (l *evLog) at(k nodes.NodeEventKind) []time.Duration {
	var out []time.Duration
	for _, e := range l.evs {
		if e.Kind == k {
			out = append(out, e.Latency)
		}
	}
	return out
}

// With nothing changing, the device sends a keep-alive exactly
// MaxInterval after the previous report (the SubscribeResponse starts the
// interval, im.SubscriptionEngine): the request arrives at 1 ms, the
// priming report at 2 ms, the StatusResponse at 3 ms, the SubscribeResponse
// (sent at 3 ms) at 4 ms; keep-alives are sent at 10.003 s, 20.003 s,
// 30.003 s and received 1 ms later.
func TestSubscriptionKeepAliveAtMaxInterval(t *testing.T) {
	f, c, sub, _, pub, log := subNet(t, nodes.SubscribeOp{MinInterval: time.Second, MaxInterval: 10 * time.Second})
	c.Start(0)
	f.trs[1].node.Start(0)
	f.runUntil(clock.Time(35 * time.Second))
	require.Equal(t, []time.Duration{4 * time.Millisecond}, log.at(nodes.SubEstablished))
	require.Equal(t, []time.Duration{10004 * time.Millisecond, 20004 * time.Millisecond, 30004 * time.Millisecond}, log.at(nodes.SubKeepAlive))
	require.Equal(t, []time.Duration{2 * time.Millisecond}, log.at(nodes.SubReport), "the priming report only")
	st := sub.Stats()
	require.Equal(t, nodes.SubStats{Requested: 1, Established: 1, Reports: 1, KeepAlives: 3}, st)
	require.Len(t, pub.Subscriptions(), 1)
	require.Equal(t, uint64(4), pub.Stats().Reports, "priming + 3 keep-alives")
}

// A local change is reported at once when the minimum interval has
// passed, and reports restart the keep-alive interval.
func TestSubscriptionReportsChanges(t *testing.T) {
	f, c, sub, _, pub, log := subNet(t, nodes.SubscribeOp{MinInterval: time.Second, MaxInterval: 60 * time.Second},
		nodes.Change{Interval: 25 * time.Second})
	c.Start(0)
	f.trs[1].node.Start(0)
	f.runUntil(clock.Time(5 * time.Minute))
	ch := pub.Stats().Changes
	require.GreaterOrEqual(t, ch, uint64(10))
	require.Equal(t, ch+1, sub.Stats().Reports, "every change reported, plus the priming report")
	require.Zero(t, sub.Stats().KeepAlives, "a change every 25 s leaves no 60 s gap")
	require.Zero(t, sub.Stats().Lost)
	require.Len(t, log.at(nodes.SubEstablished), 1)
}

// A cut longer than the liveness timeout loses the subscription at
// exactly the last report + MaxInterval + 13.265 s (im.LivenessTimeout,
// default MRP on both sides); the client re-establishes the session
// (ReestablishCASE), resubscribes with the SDK's backoff while the cut
// lasts and is subscribed again soon after it heals.
func TestSubscriptionLivenessAndResubscribe(t *testing.T) {
	f, c, sub, _, pub, log := subNet(t, nodes.SubscribeOp{MinInterval: time.Second, MaxInterval: 10 * time.Second})
	cut, heal := clock.Time(15*time.Second), clock.Time(90*time.Second)
	f.drop = func(pkt) bool { return f.now >= cut && f.now < heal }
	c.Start(0)
	f.trs[1].node.Start(0)
	f.runUntil(clock.Time(3 * time.Minute))

	lost := log.at(nodes.SubLost)
	require.Len(t, lost, 1)
	require.Equal(t, 10004*time.Millisecond+10*time.Second+13265*time.Millisecond, lost[0], "last keep-alive + liveness timeout")
	for _, e := range log.evs {
		if e.Kind == nodes.SubLost {
			require.Equal(t, nodes.TimedOut, e.Outcome)
			require.ErrorIs(t, e.Err, im.ErrLivenessTimeout)
		}
	}
	est := log.at(nodes.SubEstablished)
	require.Len(t, est, 2)
	require.Greater(t, est[1], time.Duration(heal))
	require.Less(t, est[1], time.Duration(heal)+30*time.Second, "the resubscribe window at a few retries is under 30 s")
	st := sub.Stats()
	require.Equal(t, uint64(1), st.LivenessFailures)
	require.GreaterOrEqual(t, st.Resubscribes, uint64(2), "at least one attempt during the cut and the one after")
	require.Equal(t, st.Requested, st.Established+st.SetupFailed, "every request ended")
	require.Equal(t, st.Resubscribes, st.Requested-1)
	// The device gave up on the keep-alive it sent into the cut and ended
	// that subscription; only the new one is live.
	require.Len(t, pub.Subscriptions(), 1)
	require.Greater(t, pub.Stats().Terminated, uint64(0))
	// And keep-alives resume after the new subscription.
	ka := log.at(nodes.SubKeepAlive)
	require.Greater(t, ka[len(ka)-1], est[1])
}

// A run is a pure function of its inputs: the same seeds give the same
// events at the same instants.
func TestSubscriptionDeterministic(t *testing.T) {
	run := func() []nodes.NodeEvent {
		f, c, _, _, _, log := subNet(t, nodes.SubscribeOp{MaxInterval: 10 * time.Second}, nodes.Change{Interval: 7 * time.Second, Poisson: true})
		f.drop = func(pkt) bool { return f.now >= clock.Time(20*time.Second) && f.now < clock.Time(70*time.Second) }
		c.Start(0)
		f.trs[1].node.Start(0)
		f.runUntil(clock.Time(2 * time.Minute))
		return log.evs
	}
	a, b := run(), run()
	require.NotEmpty(t, a)
	require.Equal(t, a, b)
}

// A device reboot drops its subscriptions; the subscriber notices by its
// liveness timeout and subscribes again.
func TestSubscriptionDeviceReboot(t *testing.T) {
	f, c, sub, d, pub, log := subNet(t, nodes.SubscribeOp{MaxInterval: 10 * time.Second})
	c.Start(0)
	d.Start(0)
	f.runUntil(clock.Time(12 * time.Second))
	require.NoError(t, d.Reboot(f.now))
	require.Empty(t, pub.Subscriptions())
	f.runUntil(clock.Time(2 * time.Minute))
	require.Equal(t, uint64(1), sub.Stats().LivenessFailures)
	require.Len(t, log.at(nodes.SubEstablished), 2)
	require.Len(t, pub.Subscriptions(), 1)
}

func TestSubscribeOpValidate(t *testing.T) {
	cl := &nodes.Client{}
	for _, tc := range []struct {
		op    nodes.SubscribeOp
		field string
	}{
		{nodes.SubscribeOp{MaxInterval: 0}, "MaxInterval"},
		{nodes.SubscribeOp{MinInterval: 5 * time.Second, MaxInterval: 2 * time.Second}, "MaxInterval"},
		{nodes.SubscribeOp{MinInterval: 1500 * time.Millisecond, MaxInterval: 2 * time.Second}, "MinInterval"},
		{nodes.SubscribeOp{MaxInterval: 70000 * time.Second}, "MaxInterval"},
		{nodes.SubscribeOp{MaxInterval: time.Second, Spread: -1}, "Spread"},
	} {
		s := &nodes.Subscriber{Client: cl, Rand: rand.New(rand.NewPCG(1, 1)), Ops: []nodes.SubscribeOp{tc.op}}
		var oe *nodes.OpError
		require.ErrorAs(t, s.Validate(), &oe, "%+v", tc.op)
		require.Equal(t, tc.field, oe.Field)
	}
	p := &nodes.Publisher{Changes: []nodes.Change{{Interval: time.Second, Jitter: time.Second}}, Rand: rand.New(rand.NewPCG(1, 1))}
	var oe *nodes.OpError
	require.ErrorAs(t, p.Validate(), &oe)
	require.Equal(t, "Jitter", oe.Field)
}
