package nodes_test

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

func caseRand(n *nodes.Node) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(n.Index())+1234)
	return rand.NewChaCha8(s)
}

var caseTestEpoch = func() cert.Time {
	t, _ := cert.Date(2026, 12, 4, 0, 0, 0)
	return t
}()

// caseFabric mints a fabric whose NOC i names node i of newNode
// (0x1000+i).
func caseFabric(t *testing.T, seed uint64, n int) *testca.Fabric {
	t.Helper()
	f, err := testca.Mint(testca.Options{Seed: seed, Nodes: n, FirstNodeID: 0x1000})
	require.NoError(t, err)
	return f
}

func newCASE(t *testing.T, n int) *nodes.CASE {
	f := caseFabric(t, 7, n)
	return &nodes.CASE{
		Credentials: func(nd *nodes.Node) (*casesess.Fabric, error) {
			return casesess.FabricFromTestCA(1, f, nd.Index())
		},
		Rand: caseRand, Epoch: caseTestEpoch,
	}
}

type caseResult struct {
	at  clock.Time
	p   nodes.Pair
	err error
}

// caseNet is a controller (index 0, reading) and k devices on a fakeNet;
// establish(now, d) opens device d's session with est.
func caseNet(t *testing.T, k int, est *nodes.CASE) (*fakeNet, []*nodes.Node, *nodes.Reader, *[]caseResult, func(clock.Time, *nodes.Node)) {
	f := &fakeNet{}
	rd := &nodes.Reader{Interval: time.Second}
	ns := []*nodes.Node{newNode(t, 0, rd)}
	f.add(ns[0])
	for i := 1; i <= k; i++ {
		n := newNode(t, i, &nodes.Responder{Model: nodes.DeviceModel(i)})
		f.add(n)
		ns = append(ns, n)
	}
	require.NoError(t, est.Prepare(ns))
	res := &[]caseResult{}
	establish := func(now clock.Time, d *nodes.Node) {
		est.Establish(now, ns[0], d, func(now clock.Time, p nodes.Pair, err error) {
			*res = append(*res, caseResult{now, p, err})
			if err == nil {
				rd.AddPeerAt(now, p.InitiatorRef)
			}
		})
	}
	for _, d := range ns[1:] {
		establish(0, d)
	}
	ns[0].Start(0)
	return f, ns, rd, res, establish
}

// events records the controller's CASEHandshake events.
func caseEvents(n *nodes.Node) *[]nodes.NodeEvent {
	out := &[]nodes.NodeEvent{}
	n.OnNodeEvent = func(_ clock.Time, _ *nodes.Node, ev *nodes.NodeEvent) {
		if ev.Kind == nodes.CASEHandshake {
			*out = append(*out, *ev)
		}
	}
	return out
}

// Full handshakes: both ends hold a CASE session with matching ids, the
// operational node ids of the NOCs and fabric index 1; reads run over it;
// the handshakes' unsecured sessions are gone once they have lingered.
func TestCASEEstablish(t *testing.T) {
	est := newCASE(t, 4)
	f, ns, rd, res, _ := caseNet(t, 3, est)
	evs := caseEvents(ns[0])
	f.runUntil(clock.Time(5 * time.Second))
	require.Len(t, *res, 3)
	for _, r := range *res {
		require.NoError(t, r.err)
		a, ok := ns[0].Manager().SessionInfo(r.p.InitiatorRef)
		require.True(t, ok)
		b, ok := r.p.Responder.Manager().SessionInfo(r.p.ResponderRef)
		require.True(t, ok)
		require.Equal(t, session.CASE, a.Kind)
		require.Equal(t, session.CASE, b.Kind)
		require.Equal(t, a.PeerID, b.Ref.LocalID)
		require.Equal(t, b.PeerID, a.Ref.LocalID)
		require.Equal(t, r.p.Responder.NodeID(), a.PeerNodeID)
		require.Equal(t, ns[0].NodeID(), b.PeerNodeID)
	}
	s := est.Stats()
	require.Equal(t, uint64(3), s.Full)
	require.Zero(t, s.Resumed)
	require.Zero(t, s.Failed)
	require.Equal(t, uint64(3), s.DeviceEstablished)
	require.Len(t, *evs, 3)
	for _, ev := range *evs {
		require.Equal(t, nodes.PairingSucceeded, ev.Outcome)
		require.False(t, ev.ResumeOffered)
		require.Positive(t, ev.Latency)
	}
	require.NotZero(t, rd.Stats().Answered)
	require.Zero(t, rd.Stats().SendErrors)
	f.runUntil(clock.Time(20 * time.Second))
	for _, n := range ns {
		for _, r := range n.Manager().Sessions() {
			require.True(t, r.Secure(), "node %d: %s", n.Index(), r)
		}
	}
	q, a, w := est.Pending()
	require.Zero(t, q+a+w)
}

// A session lost at both ends (as after a partition: defunct, closed) is
// established again by resumption: Sigma1 offers the record, the device
// answers Sigma2_Resume, and the new session works.
func TestCASEResumesLostSession(t *testing.T) {
	est := newCASE(t, 2)
	f, ns, rd, res, establish := caseNet(t, 1, est)
	evs := caseEvents(ns[0])
	f.runUntil(clock.Time(3 * time.Second))
	require.Len(t, *res, 1)
	require.NoError(t, (*res)[0].err)
	p := (*res)[0].p
	now := f.now
	require.NoError(t, ns[0].Do(now, func(m *session.Manager) error { return m.RemoveSession(now, p.InitiatorRef) }))
	require.NoError(t, ns[1].Do(now, func(m *session.Manager) error { return m.RemoveSession(now, p.ResponderRef) }))
	establish(now, ns[1])
	f.runUntil(now.Add(3 * time.Second))
	require.Len(t, *res, 2)
	require.NoError(t, (*res)[1].err)
	s := est.Stats()
	require.Equal(t, uint64(1), s.Full)
	require.Equal(t, uint64(1), s.Resumed)
	require.Equal(t, uint64(1), s.ResumeOffered)
	require.Len(t, *evs, 2)
	require.True(t, (*evs)[1].Resumed)
	require.True(t, (*evs)[1].ResumeOffered)
	a, ok := ns[0].Manager().SessionInfo((*res)[1].p.InitiatorRef)
	require.True(t, ok)
	require.Equal(t, session.CASE, a.Kind)
	before := rd.Stats().Answered
	f.runUntil(f.now.Add(5 * time.Second))
	require.Greater(t, rd.Stats().Answered, before, "reads run over the resumed session")
}

// A device that keeps no resumption records answers the controller's
// offer with a full handshake (Sigma2), which the controller accepts: a
// fallback, counted as a full handshake.
func TestCASEResumptionFallback(t *testing.T) {
	est := newCASE(t, 2)
	est.ResumptionCapacity = func(n *nodes.Node) int {
		if n.Index() == 0 {
			return 0 // the default
		}
		return -1
	}
	f, ns, _, res, establish := caseNet(t, 1, est)
	evs := caseEvents(ns[0])
	f.runUntil(clock.Time(3 * time.Second))
	require.Len(t, *res, 1)
	p := (*res)[0].p
	now := f.now
	require.NoError(t, ns[0].Do(now, func(m *session.Manager) error { return m.RemoveSession(now, p.InitiatorRef) }))
	establish(now, ns[1])
	f.runUntil(now.Add(3 * time.Second))
	require.Len(t, *res, 2)
	require.NoError(t, (*res)[1].err)
	s := est.Stats()
	require.Equal(t, uint64(2), s.Full)
	require.Zero(t, s.Resumed)
	require.Equal(t, uint64(1), s.ResumeOffered)
	require.Equal(t, uint64(1), s.Fallbacks)
	require.True(t, (*evs)[1].ResumeOffered)
	require.False(t, (*evs)[1].Resumed)
}

// A device rebooted loses its sessions but keeps its resumption records
// (flash): the controller's next handshake resumes.
func TestCASEResumesAfterDeviceReboot(t *testing.T) {
	est := newCASE(t, 2)
	f := &fakeNet{}
	rd := &nodes.Reader{Interval: time.Second}
	c := newNode(t, 0, rd)
	f.add(c)
	factory := func(boot int, _ *nodes.Store) (*session.Manager, error) {
		return session.New(session.Config{}, rand.NewChaCha8([32]byte{1, byte(boot)}), rand.NewPCG(1, uint64(boot)))
	}
	d, err := nodes.NewBooted(1, 0x1001, factory, &nodes.Responder{Model: nodes.DeviceModel(1)})
	require.NoError(t, err)
	f.add(d)
	require.NoError(t, est.Prepare([]*nodes.Node{c, d}))
	var res []caseResult
	establish := func(now clock.Time) {
		est.Establish(now, c, d, func(now clock.Time, p nodes.Pair, err error) { res = append(res, caseResult{now, p, err}) })
	}
	establish(0)
	c.Start(0)
	f.runUntil(clock.Time(3 * time.Second))
	require.Len(t, res, 1)
	require.NoError(t, res[0].err)
	require.NoError(t, d.Reboot(f.now))
	require.Empty(t, d.Manager().Sessions())
	establish(f.now)
	f.runUntil(f.now.Add(5 * time.Second))
	require.Len(t, res, 2)
	require.NoError(t, res[1].err)
	require.Equal(t, uint64(1), est.Stats().Resumed)
	require.Zero(t, res[1].p.ResponderRef, "unknown at the controller's end of a resumption")
	var secure []session.Ref
	for _, r := range d.Manager().Sessions() {
		if r.Secure() {
			secure = append(secure, r)
		}
	}
	require.Len(t, secure, 1, "the rebooted device holds the resumed session")
	info, ok := d.Manager().SessionInfo(secure[0])
	require.True(t, ok)
	require.Equal(t, session.CASE, info.Kind)
	a, ok := c.Manager().SessionInfo(res[1].p.InitiatorRef)
	require.True(t, ok)
	require.Equal(t, a.PeerID, info.Ref.LocalID)
}

// Under 60% loss in both directions every device still gets its session:
// MRP retransmits the handshake messages, and the attempts MRP gave up on
// are retried after a backoff.
func TestCASEUnderLoss(t *testing.T) {
	est := newCASE(t, 9)
	f, ns, _, res, _ := caseNet(t, 8, est)
	rng := rand.New(rand.NewPCG(3, 4))
	f.drop = func(pkt) bool { return rng.Float64() < 0.6 }
	f.runUntil(clock.Time(10 * time.Minute))
	require.Len(t, *res, 8)
	for _, r := range *res {
		require.NoError(t, r.err)
		_, ok := ns[0].Manager().SessionInfo(r.p.InitiatorRef)
		require.True(t, ok)
	}
	s := est.Stats()
	require.Equal(t, uint64(8), s.Full+s.Resumed)
	require.Positive(t, s.Retries, "some attempts failed and were retried")
	require.Equal(t, s.Attempts, s.Full+s.Resumed+s.Failed)
	require.Greater(t, ns[0].Stats().Retransmissions, uint64(0), "MRP carried the handshakes")
	t.Logf("stats under loss: %+v", s)
}

// A device on another fabric (a different root) never matches the
// destination id: it answers NO_SHARED_TRUST_ROOTS, every attempt fails
// with that cause and the establishment is given up after Attempts.
func TestCASENoSharedTrustRoots(t *testing.T) {
	ours, theirs := caseFabric(t, 7, 2), caseFabric(t, 8, 2)
	est := &nodes.CASE{
		Credentials: func(nd *nodes.Node) (*casesess.Fabric, error) {
			f := ours
			if nd.Index() == 1 {
				f = theirs
			}
			return casesess.FabricFromTestCA(1, f, nd.Index())
		},
		Rand: caseRand, Epoch: caseTestEpoch, Attempts: 2, Backoff: 100 * time.Millisecond,
	}
	f, ns, _, res, _ := caseNet(t, 1, est)
	evs := caseEvents(ns[0])
	f.runUntil(clock.Time(time.Minute))
	require.Len(t, *res, 1)
	require.Error(t, (*res)[0].err)
	require.True(t, errors.Is((*res)[0].err, casesess.ErrNoSharedTrustRoots), "%v", (*res)[0].err)
	require.Len(t, *evs, 2)
	for _, ev := range *evs {
		require.Equal(t, nodes.CauseNoSharedTrustRoots, ev.Cause)
	}
	s := est.Stats()
	require.Equal(t, uint64(2), s.Failed)
	require.Equal(t, uint64(1), s.GaveUp)
	require.Equal(t, uint64(2), s.DeviceFailed)
}

// Missing configuration fails the establishment, never panics.
func TestCASEConfig(t *testing.T) {
	f := &fakeNet{}
	c, d := newNode(t, 0, &nodes.Reader{Interval: time.Second}), newNode(t, 1, &nodes.Responder{Model: nodes.DeviceModel(1)})
	f.add(c)
	f.add(d)
	var got error
	(&nodes.CASE{}).Establish(0, c, d, func(_ clock.Time, _ nodes.Pair, err error) { got = err })
	require.ErrorIs(t, got, casesess.ErrConfig)
	got = nil
	est := &nodes.CASE{Rand: caseRand, Credentials: func(*nodes.Node) (*casesess.Fabric, error) { return nil, nil }}
	est.Establish(0, c, d, func(_ clock.Time, _ nodes.Pair, err error) { got = err })
	require.ErrorIs(t, got, casesess.ErrConfig)
}
