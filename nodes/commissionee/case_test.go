package commissionee

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
)

// caseRig is a controller Manager running casesess.Initiator and a device
// Manager running caseServer, joined by a pipe.
type caseRig struct {
	pipe
	cs *caseServer
}

func newCASERig(t *testing.T, fabrics []*casesess.Fabric) *caseRig {
	t.Helper()
	r := &caseRig{pipe: newPipe(t, 1)}
	r.cs = newCASEServer(r.dev, rand.NewChaCha8([32]byte{3}), func(clock.Time) cert.Time { return testca.DefaultNotBefore + 86400 },
		func() []*casesess.Fabric { return fabrics })
	r.onDev = func(ev session.Event) { r.cs.HandleEvent(r.now, ev) }
	return r
}

// newServingRig is a caseRig whose device serves node 1 of a fabric minted
// from seed 5; it returns that fabric and its node 0, the controller's
// identity for handshake.
func newServingRig(t *testing.T) (*caseRig, *testca.Fabric, *casesess.Fabric) {
	t.Helper()
	tf, err := testca.Mint(testca.Options{Seed: 5, Nodes: 2})
	require.NoError(t, err)
	ctlFab, err := casesess.FabricFromTestCA(1, tf, 0)
	require.NoError(t, err)
	devFab, err := casesess.FabricFromTestCA(1, tf, 1)
	require.NoError(t, err)
	return newCASERig(t, []*casesess.Fabric{devFab}), tf, ctlFab
}

// handshake runs one CASE initiator against the device; it returns the
// initiator's error, nil on success.
func (r *caseRig) handshake(fab *casesess.Fabric, peer uint64) error {
	r.t.Helper()
	id, err := r.ctl.ReserveLocalID(r.now)
	require.NoError(r.t, err)
	ini, err := casesess.NewInitiator(casesess.InitiatorConfig{Fabric: fab, PeerNodeID: peer, LocalSessionID: id,
		Rand: rand.NewChaCha8([32]byte{4}), Epoch: testca.DefaultNotBefore + 86400})
	require.NoError(r.t, err)
	unsec, err := r.ctl.OpenUnsecured(r.now, r.devA)
	require.NoError(r.t, err)
	x, err := r.ctl.NewExchange(unsec)
	require.NoError(r.t, err)
	send := func(out casesess.Output) {
		if out.Send {
			require.NoError(r.t, r.ctl.Send(r.now, x, session.Message{Protocol: message.ProtocolSecureChannel,
				Opcode: out.Opcode, Payload: out.Payload, Reliable: true}))
		}
	}
	out, err := ini.Start(r.now)
	require.NoError(r.t, err)
	send(out)
	for range 10 {
		r.ctlEvents = nil
		r.pump()
		for _, ev := range r.ctlEvents {
			if ev.Kind != session.EventMessage || ev.Exchange != x {
				continue
			}
			out, err := ini.Handle(r.now, ev.Opcode, ev.Payload)
			send(out)
			if err != nil {
				r.pump()
				return err
			}
			if out.Done {
				r.pump()
				return nil
			}
		}
		r.now = r.now.Add(10 * time.Millisecond)
	}
	r.t.Fatal("handshake did not finish")
	return nil
}

func TestCASEServerEstablishesAndCleansUp(t *testing.T) {
	r, tf, ctlFab := newServingRig(t)

	require.NoError(t, r.handshake(ctlFab, tf.NodeID(1)))
	n, ok := r.cs.poll()
	require.True(t, ok)
	require.NoError(t, n.Err)
	require.Equal(t, uint8(1), n.Result.FabricIndex)
	require.Equal(t, tf.NodeID(0), n.Result.PeerNodeID)
	in, ok := r.dev.SessionInfo(n.Session)
	require.True(t, ok)
	require.Equal(t, session.CASE, in.Kind)
	require.Equal(t, uint8(1), in.FabricIndex)
	require.Equal(t, r.ctlA, in.Peer)
	require.False(t, r.cs.active())
	// The handshake's unsecured session goes once its exchange is released
	// (the exchange lingers for MRP; let time pass).
	r.now = r.now.Add(time.Minute)
	r.dev.HandleTimeout(r.now)
	r.ctl.HandleTimeout(r.now)
	r.pump()
	for _, ref := range r.dev.Sessions() {
		require.True(t, ref.Secure(), "unsecured session %s left behind", ref)
	}
	require.Empty(t, r.cs.closing)

	// A Sigma1 for a node the device is not: NO_SHARED_TRUST_ROOTS, a
	// failure notice, and nothing installed.
	other, err := testca.Mint(testca.Options{Seed: 6, Nodes: 2})
	require.NoError(t, err)
	otherFab, err := casesess.FabricFromTestCA(1, other, 0)
	require.NoError(t, err)
	countSecure := func() int {
		n := 0
		for _, ref := range r.dev.Sessions() {
			if ref.Secure() {
				n++
			}
		}
		return n
	}
	before := countSecure()
	require.Error(t, r.handshake(otherFab, other.NodeID(1)))
	n, ok = r.cs.poll()
	require.True(t, ok)
	require.Error(t, n.Err)
	require.False(t, r.cs.active())
	require.Equal(t, before, countSecure(), "a failed handshake installed a session")
}

// Without fabrics (before AddNOC) the device refuses CASE.
func TestCASEServerNoFabrics(t *testing.T) {
	tf, err := testca.Mint(testca.Options{Seed: 7, Nodes: 2})
	require.NoError(t, err)
	ctlFab, err := casesess.FabricFromTestCA(1, tf, 0)
	require.NoError(t, err)
	r := newCASERig(t, nil)
	require.Error(t, r.handshake(ctlFab, tf.NodeID(1)))
	n, ok := r.cs.poll()
	require.True(t, ok)
	require.Error(t, n.Err)
}

// A Sigma1 while a handshake waits for Sigma3 is answered BUSY with the
// SDK's minimum wait (CASEServer.cpp: ComputeSigma2ResponseTimeout of the
// first initiator, here default MRP: 5 transmissions at 500 ms with the
// largest backoff, 7051 ms, plus 30 s), and the first handshake completes.
func TestCASEServerBusy(t *testing.T) {
	r, tf, ctlFab := newServingRig(t)

	type attempt struct {
		ini *casesess.Initiator
		x   session.Exchange
	}
	begin := func(seed byte) attempt {
		id, err := r.ctl.ReserveLocalID(r.now)
		require.NoError(t, err)
		ini, err := casesess.NewInitiator(casesess.InitiatorConfig{Fabric: ctlFab, PeerNodeID: tf.NodeID(1), LocalSessionID: id,
			Rand: rand.NewChaCha8([32]byte{seed}), Epoch: testca.DefaultNotBefore + 86400})
		require.NoError(t, err)
		unsec, err := r.ctl.OpenUnsecured(r.now, r.devA)
		require.NoError(t, err)
		x, err := r.ctl.NewExchange(unsec)
		require.NoError(t, err)
		out, err := ini.Start(r.now)
		require.NoError(t, err)
		require.NoError(t, r.ctl.Send(r.now, x, session.Message{Protocol: message.ProtocolSecureChannel,
			Opcode: out.Opcode, Payload: out.Payload, Reliable: true}))
		return attempt{ini, x}
	}
	reply := func(a attempt) session.Event {
		for _, ev := range r.ctlEvents {
			if ev.Kind == session.EventMessage && ev.Exchange == a.x {
				return ev
			}
		}
		t.Fatal("no reply")
		return session.Event{}
	}

	first := begin(4)
	r.ctlEvents = nil
	r.pump()
	sigma2 := reply(first)
	require.Equal(t, uint8(casesess.OpSigma2), sigma2.Opcode)

	second := begin(5)
	r.ctlEvents = nil
	r.pump()
	busy := reply(second)
	require.Equal(t, uint8(message.OpStatusReport), busy.Opcode)
	_, err := second.ini.Handle(r.now, busy.Opcode, busy.Payload)
	var pe *casesess.PeerStatusError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, casesess.ErrBusy)
	require.Equal(t, 37051*time.Millisecond, pe.Wait)
	n, ok := r.cs.poll()
	require.True(t, ok)
	require.ErrorIs(t, n.Err, casesess.ErrBusy)
	require.True(t, r.cs.active(), "the handshake in progress was dropped")

	out, err := first.ini.Handle(r.now, sigma2.Opcode, sigma2.Payload)
	require.NoError(t, err)
	require.NoError(t, r.ctl.Send(r.now, first.x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: out.Opcode, Payload: out.Payload, Reliable: true}))
	r.ctlEvents = nil
	r.pump()
	n, ok = r.cs.poll()
	require.True(t, ok)
	require.NoError(t, n.Err, "the first handshake did not complete")
	require.False(t, r.cs.active())
}
