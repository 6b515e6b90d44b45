package nodes_test

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/pase"
	"mattersim/session/status"
)

func paseRand(n *nodes.Node) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(n.Index())+77)
	return rand.NewChaCha8(s)
}

type paseResult struct {
	at  clock.Time
	p   nodes.Pair
	err error
}

// paseNet is a controller (index 0, reading) and k devices on a fakeNet,
// each device paired by est; results collects done calls in order.
func paseNet(t *testing.T, k int, est *nodes.PASE) (*fakeNet, []*nodes.Node, *nodes.Reader, *[]paseResult) {
	f := &fakeNet{}
	rd := &nodes.Reader{Interval: time.Second}
	ns := []*nodes.Node{newNode(t, 0, rd)}
	f.add(ns[0])
	for i := 1; i <= k; i++ {
		n := newNode(t, i, &nodes.Responder{Model: nodes.DeviceModel(i)})
		f.add(n)
		ns = append(ns, n)
	}
	res := &[]paseResult{}
	for _, d := range ns[1:] {
		est.Establish(0, ns[0], d, func(now clock.Time, p nodes.Pair, err error) {
			*res = append(*res, paseResult{now, p, err})
			if err == nil {
				rd.AddPeerAt(now, p.InitiatorRef)
			}
		})
	}
	ns[0].Start(0)
	return f, ns, rd, res
}

// With one handshake in flight, devices are paired one after the other;
// the sessions are PASE sessions with matching ids at both ends, and reads
// run over them.
func TestPASESerialised(t *testing.T) {
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand, InFlight: 1}
	f, ns, rd, res := paseNet(t, 3, est)
	require.Equal(t, uint64(1), est.Stats().Attempts, "one handshake in flight")
	f.runUntil(clock.Time(5 * time.Second))
	require.Len(t, *res, 3)
	for i, r := range *res {
		require.NoError(t, r.err)
		require.Equal(t, ns[i+1], r.p.Responder, "in queue order")
		if i > 0 {
			require.Greater(t, r.at, (*res)[i-1].at)
		}
		a, ok := ns[0].Manager().SessionInfo(r.p.InitiatorRef)
		require.True(t, ok)
		b, ok := r.p.Responder.Manager().SessionInfo(r.p.ResponderRef)
		require.True(t, ok)
		require.Equal(t, session.PASE, a.Kind)
		require.Equal(t, a.PeerID, b.Ref.LocalID)
		require.Equal(t, b.PeerID, a.Ref.LocalID)
	}
	s := est.Stats()
	require.Equal(t, nodes.PairingStats{Devices: 3, Attempts: 3, Succeeded: 3, Verifiers: 3,
		LatencySum: s.LatencySum, LatencyMax: s.LatencyMax}, s)
	require.NotZero(t, s.LatencyMax)
	require.Equal(t, 3, rd.Peers())
	require.NotZero(t, rd.Stats().Answered)
	require.Zero(t, rd.Stats().SendErrors)
	// The handshake's unsecured sessions are gone at both ends once the
	// controller's retired ones have lingered (session.Config.UnsecuredLinger).
	f.runUntil(clock.Time(15 * time.Second))
	for _, n := range ns {
		for _, r := range n.Manager().Sessions() {
			require.True(t, r.Secure(), "node %d: %s", n.Index(), r)
		}
	}
}

// SharedSalt: devices with the same passcode share one verifier.
func TestPASESharedVerifier(t *testing.T) {
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand, SharedSalt: []byte("0123456789abcdef")}
	f, _, _, res := paseNet(t, 4, est)
	f.runUntil(clock.Time(3 * time.Second))
	require.Len(t, *res, 4)
	for _, r := range *res {
		require.NoError(t, r.err)
	}
	require.Equal(t, uint64(1), est.Stats().Verifiers)
}

// A device that never answers: every attempt ends with an MRP give-up, is
// retried after a doubling backoff, and the device is given up after
// Attempts, with the last cause.
func TestPASERetryThenGiveUp(t *testing.T) {
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand, Attempts: 3, Backoff: 500 * time.Millisecond}
	f, ns, rd, res := paseNet(t, 1, est)
	dev := ns[1].Addr()
	f.drop = func(p pkt) bool { return p.to == dev }
	f.q = f.q[:0] // the first request, already queued
	f.runUntil(clock.Time(5 * time.Minute))
	require.Len(t, *res, 1)
	require.ErrorIs(t, (*res)[0].err, pairing.ErrNoAck)
	require.Contains(t, (*res)[0].err.Error(), "gave up after 3 attempts")
	s := est.Stats()
	require.Equal(t, uint64(3), s.Attempts)
	require.Equal(t, uint64(3), s.Failed)
	require.Equal(t, uint64(3), s.NoAck)
	require.Equal(t, uint64(2), s.Retries)
	require.Equal(t, uint64(1), s.GaveUp)
	require.Zero(t, rd.Peers())
	require.Empty(t, ns[0].Manager().Sessions())
}

// A wrong passcode is final: one attempt, counted on both sides.
func TestPASEWrongPasscodeFinal(t *testing.T) {
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand,
		DevicePasscode: func(*nodes.Node) uint32 { return 11223344 }}
	f, ns, _, res := paseNet(t, 1, est)
	f.runUntil(clock.Time(time.Minute))
	require.Len(t, *res, 1)
	require.ErrorIs(t, (*res)[0].err, pase.ErrWrongPasscode)
	s := est.Stats()
	require.Equal(t, uint64(1), s.Attempts)
	require.Equal(t, uint64(1), s.WrongPasscode)
	require.Equal(t, uint64(1), s.DeviceFailures)
	require.Empty(t, ns[1].Manager().Sessions())
}

func TestPASEConfigErrors(t *testing.T) {
	for i, est := range []*nodes.PASE{
		{Passcode: 20202021},                                              // 1: no Rand
		{Passcode: 12345678, Rand: paseRand},                              // 2: invalid passcode (spec 5.1.7.1)
		{Passcode: 20202021, Rand: paseRand, Iterations: 10},              // 3: too few iterations
		{Passcode: 20202021, Rand: paseRand, SharedSalt: []byte("short")}, // 4: salt under 16 bytes
	} {
		f := &fakeNet{}
		a, b := newNode(t, 0, nil), newNode(t, 1, nil)
		f.add(a)
		f.add(b)
		var got []error
		est.Establish(0, a, b, func(_ clock.Time, _ nodes.Pair, err error) { got = append(got, err) })
		require.Len(t, got, 1, "case %d", i+1)
		require.Error(t, got[0], "case %d", i+1)
		require.Equal(t, uint64(1), est.Stats().GaveUp, "case %d", i+1)
		require.Empty(t, f.q, "case %d: nothing sent", i+1)
	}
	// A node has one Handshaker: a second establisher on it is refused.
	f := &fakeNet{}
	a, b := newNode(t, 0, nil), newNode(t, 1, nil)
	f.add(a)
	f.add(b)
	a.SetHandshaker(nopHandshaker{})
	var got error
	(&nodes.PASE{Passcode: 20202021, Rand: paseRand}).Establish(0, a, b, func(_ clock.Time, _ nodes.Pair, err error) { got = err })
	require.ErrorContains(t, got, "already has a Handshaker")
}

type nopHandshaker struct{}

func (nopHandshaker) HandleEvent(clock.Time, *nodes.Node, *session.Event) bool { return false }
func (nopHandshaker) HandleTimer(clock.Time, *nodes.Node)                      {}
func (nopHandshaker) Deadline() clock.Time                                     { return clock.Never }

// busyReply forges the device's StatusReport BUSY (minimum wait w) in
// answer to the PBKDFParamRequest req, as a responder still holding
// another pairing sends it (spec 4.11.1.3; session/pase busyOutput).
func busyReply(t *testing.T, req []byte, w time.Duration) []byte {
	t.Helper()
	var h message.Header
	n, err := h.Decode(req)
	require.NoError(t, err)
	var ph message.ProtocolHeader
	_, err = ph.Decode(req[n:])
	require.NoError(t, err)
	require.True(t, ph.Is(message.ProtocolSecureChannel, pase.OpPBKDFParamRequest))
	rh := message.Header{Counter: 0x1234, DestKind: message.DestinationNode, DestNode: h.Source}
	rph := message.ProtocolHeader{Opcode: pase.OpStatusReport, ExchangeID: ph.ExchangeID,
		ProtocolID: message.ProtocolSecureChannel, Flags: message.AckFlag, AckCounter: h.Counter}
	b := rh.Append(nil)
	b = rph.Append(b)
	return append(b, status.Busy(w).Append(nil)...)
}

// A device that answers BUSY with a 5 s minimum wait is retried once,
// exactly 5 s later (not after the 1 s backoff), and the retry pairs.
func TestPASEBusyWaitHonoured(t *testing.T) {
	est := &nodes.PASE{Passcode: 20202021, Rand: paseRand, Backoff: time.Second}
	f, ns, _, res := paseNet(t, 1, est)
	dev, ctl := ns[1].Addr(), ns[0].Addr()
	var requests []clock.Time
	answered := false
	f.drop = func(p pkt) bool {
		if p.to != dev {
			return false
		}
		var h message.Header
		n, err := h.Decode(p.data)
		if err != nil || h.IsSecure() {
			return false
		}
		var ph message.ProtocolHeader
		if _, err := ph.Decode(p.data[n:]); err != nil || !ph.Is(message.ProtocolSecureChannel, pase.OpPBKDFParamRequest) {
			return false
		}
		requests = append(requests, p.at.Add(-time.Millisecond)) // sent at
		if answered {
			return false
		}
		answered = true
		f.inject(dev, ctl, busyReply(t, p.data, 5*time.Second))
		return true
	}
	// The first request is already queued: take it back and answer BUSY.
	first := f.q[0]
	f.q = f.q[:0]
	require.True(t, f.drop(first))
	f.runUntil(clock.Time(30 * time.Second))
	require.Len(t, *res, 1)
	require.NoError(t, (*res)[0].err)
	require.Len(t, requests, 2, "one retry")
	// The BUSY arrives 1 ms after the request; the retry is 5 s after it.
	require.Equal(t, 5*time.Second+time.Millisecond, requests[1].Sub(requests[0]))
	s := est.Stats()
	require.Equal(t, uint64(1), s.Busy)
	require.Equal(t, uint64(1), s.Retries)
	require.Equal(t, uint64(1), s.BusyRetries)
	require.Equal(t, uint64(1), s.Succeeded)
}
