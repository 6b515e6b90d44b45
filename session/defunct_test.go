package session

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
)

// casePair installs a CASE session between two Managers (node ids 1 and
// 2, fabric 1) and returns them with their refs.
func casePair(t *testing.T, kind Kind) (a, b *Manager, ra, rb Ref) {
	t.Helper()
	a = newManager(t, Config{}, 71, jitterHalf)
	b = newManager(t, Config{}, 72, jitterHalf)
	ida, err := a.ReserveLocalID(0)
	require.NoError(t, err)
	idb, err := b.ReserveLocalID(0)
	require.NoError(t, err)
	s := SecureSession{Kind: kind, I2RKey: testI2R, R2IKey: testR2I}
	sa, sb := s, s
	sa.Initiator, sa.LocalID, sa.PeerID, sa.Peer = true, ida, idb, addrB
	sb.LocalID, sb.PeerID, sb.Peer = idb, ida, addrA
	if kind == CASE {
		sa.LocalNodeID, sa.PeerNodeID, sa.FabricIndex = 1, 2, 1
		sb.LocalNodeID, sb.PeerNodeID, sb.FabricIndex = 2, 1, 1
	}
	ra, err = a.InstallSecureSession(0, sa)
	require.NoError(t, err)
	rb, err = b.InstallSecureSession(0, sb)
	require.NoError(t, err)
	drainAll(a)
	drainAll(b)
	return a, b, ra, rb
}

// giveUp sends one reliable message from m on r and runs its timers until
// MRP gives up (nothing is delivered), returning every output.
func giveUp(t *testing.T, m *Manager, r Ref, now clock.Time) []Output {
	t.Helper()
	x, err := m.NewExchange(r)
	require.NoError(t, err)
	require.NoError(t, m.Send(now, x, Message{Protocol: 4, Opcode: 1, Reliable: true}))
	var out []Output
	out = append(out, drainAll(m)...)
	for dl := m.NextDeadline(); dl != clock.Never; dl = m.NextDeadline() {
		m.HandleTimeout(dl)
		out = append(out, drainAll(m)...)
	}
	return out
}

// TestDefunctAfterGiveUp: an MRP give-up marks a CASE session defunct
// (connectedhomeip ReliableMessageMgr::ExecuteActions ->
// SecureSession::MarkAsDefunct), FindSession then skips it, and the next
// authenticated message returns it to active (SecureSession::MarkActiveRx).
// A PASE session is never marked (the SDK marks CASE sessions only).
func TestDefunctAfterGiveUp(t *testing.T) {
	a, b, ra, rb := casePair(t, CASE)
	peerB := Peer{Fabric: 1, Node: 2}
	got, ok := a.FindSession(peerB, CASE)
	require.True(t, ok)
	require.Equal(t, ra, got)

	out := giveUp(t, a, ra, 0)
	k := kinds(out)
	require.Equal(t, "session-defunct", k[len(k)-1], "the defunct event follows the give-up: %v", k)
	require.Equal(t, "give-up", k[len(k)-2])
	in, _ := a.SessionInfo(ra)
	require.True(t, in.Defunct)
	_, ok = a.FindSession(peerB, 0)
	require.False(t, ok, "a defunct session is not chosen for new work")

	// A second give-up does not repeat the event.
	out = giveUp(t, a, ra, clockAt(20000))
	require.NotContains(t, kinds(out), "session-defunct")

	// b sends on its session; a authenticates it: active again.
	x, err := b.NewExchange(rb)
	require.NoError(t, err)
	require.NoError(t, b.Send(clockAt(40000), x, Message{Protocol: 4, Opcode: 1}))
	d := drainAll(b)
	require.Len(t, d, 1)
	a.HandleDatagram(clockAt(40000), netip.AddrPortFrom(addrB.Addr(), addrB.Port()), d[0].Data)
	out = drainAll(a)
	require.Equal(t, []string{"session-active", "message"}, kinds(out))
	in, _ = a.SessionInfo(ra)
	require.False(t, in.Defunct)
	got, ok = a.FindSession(peerB, CASE)
	require.True(t, ok)
	require.Equal(t, ra, got)

	// A forged datagram (bad MIC) does not revive a defunct session.
	giveUp(t, a, ra, clockAt(50000))
	bad := append([]byte(nil), d[0].Data...)
	bad[len(bad)-1] ^= 1
	a.HandleDatagram(clockAt(70000), addrB, bad)
	require.Equal(t, []string{"mic-failure"}, kinds(drainAll(a)))
	in, _ = a.SessionInfo(ra)
	require.True(t, in.Defunct)

	pa, _, rpa, _ := casePair(t, PASE)
	out = giveUp(t, pa, rpa, 0)
	require.NotContains(t, kinds(out), "session-defunct")
}

// TestEvictionOrderSDK: with a full table the victim follows
// connectedhomeip SecureSessionTable DefaultEvictionPolicy: the fabric
// with most sessions, then the hint's fabric, the peer with most sessions,
// the hint's peer, defunct before active, least recently active. No
// CloseSession is sent.
func TestEvictionOrderSDK(t *testing.T) {
	type sdef struct {
		fabric uint8
		node   message.NodeID
		at     int // install time, ms (= last activity)
	}
	cases := []struct {
		name    string
		table   []sdef
		defunct int // index of a session to make defunct, -1 none
		hint    Peer
		want    int // index evicted
	}{
		{"fabric with most sessions first", []sdef{{1, 10, 0}, {2, 20, 1}, {2, 21, 2}}, -1, Peer{}, 1},
		{"hint's fabric breaks a fabric tie", []sdef{{1, 10, 0}, {2, 20, 1}}, -1, Peer{Fabric: 2, Node: 99}, 1},
		{"peer with most sessions first", []sdef{{1, 10, 0}, {1, 11, 1}, {1, 11, 2}}, -1, Peer{}, 1},
		{"hint's peer breaks a peer tie", []sdef{{1, 10, 0}, {1, 11, 1}}, -1, Peer{Fabric: 1, Node: 11}, 1},
		{"defunct before active", []sdef{{1, 10, 0}, {1, 11, 1}, {1, 12, 2}}, 2, Peer{}, 2},
		{"least recently active last", []sdef{{1, 10, 5}, {1, 11, 1}, {1, 12, 3}}, -1, Peer{}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, Config{MaxSessions: len(tc.table)}, 81, jitterHalf)
			var refs []Ref
			for i, d := range tc.table {
				peer := netip.AddrPortFrom(netip.MustParseAddr("fd00::9"), uint16(2000+i))
				r, err := m.InstallSecureSession(clockAt(d.at), SecureSession{Kind: CASE, PeerID: uint16(300 + i), Peer: peer,
					LocalNodeID: 1, PeerNodeID: d.node, FabricIndex: d.fabric, I2RKey: testI2R, R2IKey: testR2I})
				require.NoError(t, err)
				refs = append(refs, r)
			}
			if tc.defunct >= 0 {
				giveUp(t, m, refs[tc.defunct], clockAt(10))
			}
			drainAll(m)
			_, err := m.ReserveLocalIDFor(clockAt(60000), tc.hint)
			require.NoError(t, err)
			out := drainAll(m)
			for _, o := range out {
				require.False(t, o.IsDatagram(), "eviction sends nothing")
			}
			last := out[len(out)-1].Event // exchange-closed events of the victim may precede it
			require.Equal(t, EventSessionClosed, last.Kind)
			require.Equal(t, ClosedEvicted, last.Reason)
			require.Equal(t, refs[tc.want], last.Session)
		})
	}
}

// A retransmission is activity like any send (connectedhomeip
// SessionManager::SendPreparedMessage marks the session active): s0 sends
// a reliable message at 2.0 s, retried at 2.37125 s and 2.7425 s; s1 sends
// at 2.5 s. At 3.0 s a full table evicts s1, the less recently active,
// although s0's last new message is older.
func TestRetransmissionIsActivity(t *testing.T) {
	m := newManager(t, Config{MaxSessions: 2}, 82, jitterHalf)
	var refs []Ref
	for i := range 2 {
		peer := netip.AddrPortFrom(netip.MustParseAddr("fd00::9"), uint16(2000+i))
		r, err := m.InstallSecureSession(0, SecureSession{Kind: CASE, PeerID: uint16(300 + i), Peer: peer,
			LocalNodeID: 1, PeerNodeID: message.NodeID(10 + i), FabricIndex: 1, I2RKey: testI2R, R2IKey: testR2I})
		require.NoError(t, err)
		refs = append(refs, r)
	}
	send := func(r Ref, at clock.Time, reliable bool) {
		x, err := m.NewExchange(r)
		require.NoError(t, err)
		require.NoError(t, m.Send(at, x, Message{Protocol: 4, Opcode: 1, Reliable: reliable}))
	}
	send(refs[0], clockAt(2000), true)
	send(refs[1], clockAt(2500), false)
	for m.NextDeadline() <= clockAt(3000) {
		m.HandleTimeout(m.NextDeadline())
	}
	out := drainAll(m)
	require.Equal(t, 2, countKind(out, EventRetransmit), "retransmissions at 2.37125 s and 2.7425 s")
	_, err := m.ReserveLocalIDFor(clockAt(3000), Peer{})
	require.NoError(t, err)
	out = drainAll(m)
	last := out[len(out)-1].Event
	require.Equal(t, EventSessionClosed, last.Kind)
	require.Equal(t, refs[1], last.Session)
}
