package commissionee

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
	"mattersim/session/pase"
	"mattersim/tlv"
)

// loopRig runs a Device on the device side of a pipe and a bare
// controller Manager, joined by a PASE session with test keys.
type loopRig struct {
	pipe
	d      *Device
	log    bytes.Buffer
	ctlRef session.Ref
	devRef session.Ref
}

func newLoopRig(t *testing.T) *loopRig {
	t.Helper()
	r := &loopRig{pipe: newPipe(t, 2)}
	r.onDev = func(ev session.Event) {
		r.d.HandleEvent(r.dev, r.now, ev)
		r.drainNotices()
	}
	var err error
	r.d, err = New(r.dev, Config{Passcode: 20202021, Salt: make([]byte, 32), Rand: rand.NewChaCha8([32]byte{4}),
		Epoch: func(clock.Time) cert.Time { return testca.DefaultNotBefore }, Info: im.InteropBasicInfo(), DataVersion: 1})
	require.NoError(t, err)

	// A PASE session as pairing would leave it (the device side as the
	// NoticeEstablished handler records it).
	i2r, r2i := [16]byte{1}, [16]byte{2}
	id, err := r.ctl.ReserveLocalID(0)
	require.NoError(t, err)
	r.devRef, err = r.dev.InstallSecureSession(0, session.SecureSession{Kind: session.PASE, PeerID: id, Peer: r.ctlA,
		I2RKey: i2r, R2IKey: r2i, AttestationChallenge: [16]byte{9}})
	require.NoError(t, err)
	r.ctlRef, err = r.ctl.InstallSecureSession(0, session.SecureSession{Kind: session.PASE, Initiator: true, LocalID: id,
		PeerID: r.devRef.LocalID, Peer: r.devA, I2RKey: i2r, R2IKey: r2i})
	require.NoError(t, err)
	r.d.sess[r.devRef] = &im.Accessor{AuthMode: fabrics.AuthPASE, Session: r.devRef}
	r.d.store.ArmImplicit(0, fabrics.DefaultFailSafe)
	return r
}

// drainNotices writes the notices' log lines to r.log.
func (r *loopRig) drainNotices() {
	for n, ok := r.d.Poll(); ok; n, ok = r.d.Poll() {
		r.log.WriteString(n.Text + "\n")
	}
}

// invoke sends one InvokeRequest from the controller and returns the
// decoded InvokeResponse.
func (r *loopRig) invoke(p im.CommandPath, fields im.Value) *im.InvokeResponse {
	r.t.Helper()
	x, err := r.ctl.NewExchange(r.ctlRef)
	require.NoError(r.t, err)
	require.NoError(r.t, r.ctl.Send(r.now, x, session.Message{Protocol: message.ProtocolInteractionModel,
		Opcode: uint8(im.OpInvokeRequest), Payload: im.AppendInvokeRequest(nil, im.NewInvokeRequest(p, fields)), Reliable: true}))
	r.ctlEvents = nil
	r.pump()
	for _, ev := range r.ctlEvents {
		if ev.Kind == session.EventMessage && ev.Exchange == x {
			res, err := im.ParseInvokeResponse(im.Opcode(ev.Opcode), ev.Payload)
			require.NoError(r.t, err)
			_ = r.ctl.CloseExchange(r.now, x)
			return res
		}
	}
	r.t.Fatalf("no response to %s", p)
	return nil
}

func (r *loopRig) armFailSafe(secs uint64) uint64 {
	r.t.Helper()
	res := r.invoke(im.CommandPath{Endpoint: 0, Cluster: im.ClusterGeneralCommissioning, Command: im.GCCmdArmFailSafe},
		im.NewValue(func(w *tlv.Writer) {
			w.StartStruct(tlv.AnonymousTag())
			w.PutUint(tlv.ContextTag(0), secs)
			w.PutUint(tlv.ContextTag(1), 1)
			w.EndContainer()
		}))
	require.Len(r.t, res.Responses, 1)
	require.False(r.t, res.Responses[0].IsStatus)
	require.Equal(r.t, im.GCCmdArmFailSafeResponse, res.Responses[0].Command.Path.Command)
	rd := tlv.NewReader(res.Responses[0].Command.Fields)
	require.NoError(r.t, rd.Next())
	require.NoError(r.t, rd.Enter())
	require.NoError(r.t, rd.Next())
	code, err := rd.Uint()
	require.NoError(r.t, err)
	return code
}

func (r *loopRig) sessionClosedAtController() bool {
	for _, ev := range r.ctlEvents {
		if ev.Kind == session.EventSessionClosed && ev.Session == r.ctlRef {
			return true
		}
	}
	return false
}

// The fail-safe expiring on the device's timer closes the PASE session
// (CloseSession reaches the controller) and says so in the log.
func TestDeviceFailSafeExpiryClosesPASE(t *testing.T) {
	r := newLoopRig(t)
	require.Equal(t, uint64(fabrics.CommissioningOK), r.armFailSafe(30))
	require.Equal(t, clock.Time(30*time.Second), r.d.comm.Deadline())
	r.now = clock.Time(30 * time.Second)
	r.ctlEvents = nil
	r.d.HandleTimeout(r.dev, r.now)
	r.drainNotices()
	r.pump()
	require.True(t, r.sessionClosedAtController(), "the controller got no CloseSession")
	_, ok := r.dev.SessionInfo(r.devRef)
	require.False(t, ok)
	require.Contains(t, r.log.String(), "fail-safe expired: closing the PASE sessions")
	require.Empty(t, r.d.sess)
}

// ArmFailSafe with 0 expires it at once: the answer still reaches the
// controller, then the PASE session is closed.
func TestDeviceArmFailSafeZero(t *testing.T) {
	r := newLoopRig(t)
	require.Equal(t, uint64(fabrics.CommissioningOK), r.armFailSafe(0))
	require.True(t, r.sessionClosedAtController())
	require.False(t, r.d.store.Armed())
}

// Over PASE the light answers invokes (PASE is allowed, spec 6.6.2.9),
// and the toggle is visible in a read.
func TestDeviceToggleOverPASE(t *testing.T) {
	r := newLoopRig(t)
	res := r.invoke(im.CommandPath{Endpoint: 1, Cluster: im.ClusterOnOff, Command: im.OnOffCmdToggle}, nil)
	require.NoError(t, res.Result(0))
	require.True(t, r.d.light.On())
	require.Contains(t, r.log.String(), "invoke 1/0x0006/0x02 ")
}

// New refuses a bad Config with an error, never a panic.
func TestNewConfigErrors(t *testing.T) {
	epoch := func(clock.Time) cert.Time { return testca.DefaultNotBefore }
	rnd := rand.NewChaCha8([32]byte{1})
	m, err := session.New(session.Config{}, rand.NewChaCha8([32]byte{2}), rand.NewPCG(1, 2))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		m    *session.Manager
		cfg  Config
	}{
		{"nil manager", nil, Config{Passcode: 20202021, Rand: rnd, Epoch: epoch}},
		{"no rand", m, Config{Passcode: 20202021, Epoch: epoch}},
		{"no epoch", m, Config{Passcode: 20202021, Rand: rnd}},
		{"trivial passcode", m, Config{Passcode: 11111111, Rand: rnd, Epoch: epoch}},
		{"short salt", m, Config{Passcode: 20202021, Salt: []byte{1, 2, 3}, Rand: rnd, Epoch: epoch}},
		{"negative reopen", m, Config{Passcode: 20202021, Rand: rnd, Epoch: epoch, ReopenAfter: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.m, tc.cfg)
			require.Error(t, err)
		})
	}
	d, err := New(m, Config{Passcode: 20202021, Rand: rnd, Epoch: epoch})
	require.NoError(t, err)
	require.Len(t, d.Salt(), 32, "a salt is drawn when none is given")
	require.True(t, d.WindowOpen())
	require.Empty(t, d.Operational())
}

// A second PBKDFParamRequest while a pairing is in progress is acked and
// dropped, not answered BUSY: the SDK unregisters the PBKDFParamRequest
// handler when a pairing starts (CommissioningWindowManager::
// OnUnsolicitedMessageReceived) and the exchange manager only acks a
// message nobody handles (ExchangeMgr.cpp sendAckAndCloseExchange).
func TestDeviceIgnoresSecondPBKDFParamRequest(t *testing.T) {
	r := newLoopRig(t)
	request := func(seed byte) session.Exchange {
		ini, err := pase.NewInitiator(pase.InitiatorConfig{Passcode: 20202021, LocalSessionID: uint16(100 + seed),
			Rand: rand.NewChaCha8([32]byte{seed})})
		require.NoError(t, err)
		out, err := ini.Start(r.now)
		require.NoError(t, err)
		unsec, err := r.ctl.OpenUnsecured(r.now, r.devA)
		require.NoError(t, err)
		x, err := r.ctl.NewExchange(unsec)
		require.NoError(t, err)
		require.NoError(t, r.ctl.Send(r.now, x, session.Message{Protocol: message.ProtocolSecureChannel,
			Opcode: out.Opcode, Payload: out.Payload, Reliable: true}))
		r.ctlEvents = nil
		r.pump()
		return x
	}
	answers := func(x session.Exchange) []uint8 {
		var ops []uint8
		for _, ev := range r.ctlEvents {
			if ev.Kind == session.EventMessage && ev.Exchange == x {
				ops = append(ops, ev.Opcode)
			}
		}
		return ops
	}
	first := request(1)
	require.Equal(t, []uint8{pase.OpPBKDFParamResponse}, answers(first))
	second := request(2)
	require.Empty(t, answers(second), "the second request was answered")
	require.Equal(t, pase.StateWaitPake1, r.d.resp.State(), "the pairing in progress was disturbed")
}
