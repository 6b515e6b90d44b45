package scenarios

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/pase"
)

// connected returns how many of c's targets have a session.
func connected(c *nodes.Client) int {
	k := 0
	for i := range c.Targets() {
		if _, ok := c.Session(i); ok {
			k++
		}
	}
	return k
}

// secureSessions returns node n's secure sessions and checks their kind.
func secureSessions(t *testing.T, n *nodes.Node, kind session.Kind) int {
	t.Helper()
	c := 0
	for _, r := range n.Manager().Sessions() {
		if !r.Secure() {
			continue
		}
		in, ok := n.Manager().SessionInfo(r)
		require.True(t, ok)
		require.Equal(t, kind, in.Kind, "node %d session %s", n.Index(), r)
		c++
	}
	return c
}

// With 20% loss on every link, every device is paired by PASE (MRP
// retransmits the handshake messages; a failed attempt is retried), and the
// controller then reads every device over its PASE session.
func TestPASELossy(t *testing.T) {
	d, err := Build(Options{Seed: 4, Nodes: 20, LossPercent: 20, Duration: 30 * time.Second})
	require.NoError(t, err)
	s, err := d.Run()
	require.NoError(t, err)
	g := s.Pairing
	require.Equal(t, uint64(19), g.Devices)
	require.Equal(t, uint64(19), g.Succeeded)
	require.Zero(t, g.GaveUp)
	require.Empty(t, d.EstablishErrors)
	require.Equal(t, g.Attempts, g.Succeeded+g.Failed)
	require.Equal(t, g.Failed, g.WrongPasscode+g.NoAck+g.TimedOut+g.Busy+g.OtherFailures)
	require.Zero(t, g.WrongPasscode)
	require.Equal(t, uint64(19), g.Verifiers) // one salt per device
	require.NotZero(t, g.LatencyMax)
	require.NotZero(t, s.Session.Retransmissions)
	// Every device holds one PASE session, the controller one per device.
	require.Equal(t, 19, secureSessions(t, d.Nodes[0], session.PASE))
	for _, n := range d.Nodes[1:] {
		require.Equal(t, 1, secureSessions(t, n, session.PASE), "device %d", n.Index())
	}
	// Reads went over those sessions, and every device answered some.
	require.Equal(t, 19, connected(d.Clients[0]))
	r := s.Reads
	require.Equal(t, r.Sent, r.Answered+r.GaveUp+r.TimedOut)
	require.Greater(t, r.Answered, uint64(19*3))
	for i, resp := range d.Responders {
		require.NotZero(t, resp.Stats().Responses, "device %d", i+1)
	}
	require.Zero(t, s.Replays.Failures())
}

// A device built with another passcode than the controller's fails its
// pairing once, counted as a wrong passcode on both sides, without a retry
// and without a session; the others pair and are read.
func TestPASEWrongPasscode(t *testing.T) {
	d, err := Build(Options{Seed: 2, Nodes: 4, Duration: 10 * time.Second, NoAttacker: true,
		DevicePasscode: func(i int) uint32 {
			if i == 2 {
				return 20202022
			}
			return DefaultPasscode
		}})
	require.NoError(t, err)
	s, err := d.Run()
	require.NoError(t, err)
	g := s.Pairing
	require.Equal(t, uint64(3), g.Devices)
	require.Equal(t, uint64(2), g.Succeeded)
	require.Equal(t, uint64(3), g.Attempts) // no retry
	require.Equal(t, uint64(1), g.Failed)
	require.Equal(t, uint64(1), g.WrongPasscode)
	require.Equal(t, uint64(1), g.GaveUp)
	require.Equal(t, uint64(1), g.DeviceFailures) // the device counted it too
	require.Len(t, d.EstablishErrors, 1)
	require.ErrorIs(t, d.EstablishErrors[0], pase.ErrWrongPasscode)
	require.Contains(t, d.EstablishErrors[0].Error(), "wrong passcode")
	require.Zero(t, secureSessions(t, d.Nodes[2], session.PASE))
	require.Equal(t, 2, secureSessions(t, d.Nodes[0], session.PASE))
	require.Equal(t, 2, connected(d.Clients[0]))
	require.Zero(t, d.Responders[1].Stats().Requests)
	require.NotZero(t, d.Responders[0].Stats().Responses)
	require.NotZero(t, d.Responders[2].Stats().Responses)

	var b bytes.Buffer
	require.NoError(t, s.WriteTable(&b))
	require.Contains(t, b.String(), "secure sessions from PASE")
	require.Contains(t, b.String(), "3 devices: 2 paired, 1 given up; 3 attempts, 1 failed (wrong passcode 1,")
}

// Same seed, same run with PASE, with keys and with CASE; the methods differ.
func TestEstablishDeterministic(t *testing.T) {
	for _, e := range []Establishment{EstablishPASE, EstablishKeys, EstablishCASE} {
		o := Options{Seed: 3, Nodes: 12, LossPercent: 10, Duration: 10 * time.Second, Establish: e}
		var tr1, tr2 bytes.Buffer
		o.Trace = &tr1
		s1, err := Default(o)
		require.NoError(t, err)
		o.Trace = &tr2
		s2, err := Default(o)
		require.NoError(t, err)
		require.Equal(t, tr1.String(), tr2.String(), e.String())
		s1.Wall, s2.Wall, s1.BuildWall, s2.BuildWall = 0, 0, 0, 0
		require.Equal(t, s1, s2)
		require.Equal(t, e != EstablishKeys, bytes.Contains(tr1.Bytes(), []byte(`"ev":"pairing"`)), e.String())
		require.Equal(t, e == EstablishCASE, bytes.Contains(tr1.Bytes(), []byte(`"ev":"case"`)), e.String())
		require.Equal(t, e == EstablishCASE, s1.CASE.Full == 11, e.String())
		require.Equal(t, e == EstablishPASE, s1.Pairing.Succeeded == 11, e.String())
	}
}

// The attacker's replays of secure frames are refused as with installed
// keys; its replays of the unsecured PASE frames ("handshake" rule, 1.5 s
// later) open no session and reach no application. What happens to them:
//
//   - a replayed PBKDFParamRequest finds the handshake's unsecured session
//     gone (removed once the exchange was released), so it is new to a
//     fresh unsecured session's window and reaches the device's PASE
//     responder, which holds its PASE session and serves one pairing at a
//     time: it answers StatusReport BUSY and counts a refusal
//     (pairing.NoticeRefused), no failure, no session. Only a replay that
//     arrives while the unsecured session still exists is a duplicate.
//   - replayed Pake1/Pake3 are unsolicited messages nobody registered for:
//     the core acks them if asked and drops them as unhandled, opening no
//     exchange and no session (Ignored).
//   - replayed device→controller frames name an ephemeral node id the
//     controller no longer has: unknown session.
//   - replayed standalone acks deliver nothing and leave no state (Ignored).
func TestPASEHandshakeReplays(t *testing.T) {
	d, err := Build(DefaultOptions())
	require.NoError(t, err)
	type key struct {
		kind session.EventKind
		op   uint8
	}
	seen := map[key]int{}
	for _, n := range d.Nodes[1:] {
		n.OnEvent = func(_ clock.Time, _ *nodes.Node, ev *session.Event, injected bool) {
			if injected && ev.Session != (session.Ref{}) && !ev.Session.Secure() &&
				(ev.Kind == session.EventMessage || ev.Kind == session.EventDuplicate) &&
				ev.Protocol == message.ProtocolSecureChannel {
				seen[key{ev.Kind, ev.Opcode}]++
			}
		}
	}
	s, err := d.Run()
	require.NoError(t, err)
	p := s.Replays
	h := p.Handshake
	require.NotZero(t, h.Received)
	require.Zero(t, p.Failures())
	require.Zero(t, h.Application)
	require.Zero(t, h.Malformed)
	require.Equal(t, h.Received, h.Duplicate+h.UnknownSession+h.Handshake+h.Ignored)
	require.Equal(t, p.Injected-p.Dropped, p.Refused+h.Received)
	require.Equal(t, p.Reached, p.Refused+h.Received)
	require.NotZero(t, h.UnknownSession) // device→controller replays
	require.NotZero(t, h.Handshake)
	// Every replayed PBKDFParamRequest that was new to its window was
	// refused as busy: one refusal each, and nothing else counted.
	reqs := seen[key{session.EventMessage, pase.OpPBKDFParamRequest}]
	require.NotZero(t, reqs)
	require.Equal(t, uint64(reqs), s.Pairing.DeviceRefused)
	require.Zero(t, s.Pairing.DeviceFailures)
	require.Equal(t, uint64(reqs+seen[key{session.EventMessage, pase.OpPake1}]+seen[key{session.EventMessage, pase.OpPake3}]), h.Handshake)
	// No extra pairing or session anywhere.
	require.Equal(t, uint64(49), s.Pairing.Attempts)
	require.Equal(t, uint64(49), s.Pairing.Succeeded)
	require.Equal(t, 49, secureSessions(t, d.Nodes[0], session.PASE))
	for _, n := range d.Nodes[1:] {
		require.Equal(t, 1, secureSessions(t, n, session.PASE), "device %d", n.Index())
	}
	t.Logf("handshake replays: %+v; on devices: %v", h, seen)
}

func TestParseEstablishment(t *testing.T) {
	for _, e := range []Establishment{EstablishPASE, EstablishKeys, EstablishCASE} {
		got, err := ParseEstablishment(e.String())
		require.NoError(t, err)
		require.Equal(t, e, got)
	}
	_, err := ParseEstablishment("quic")
	var oe *OptionError
	require.True(t, errors.As(err, &oe))
	_, err = Build(Options{Establish: 7})
	require.True(t, errors.As(err, &oe))
	require.Equal(t, "Establish", oe.Option)
}
