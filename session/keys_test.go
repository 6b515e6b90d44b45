package session

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/message"
)

// TestSessionKeys: the key log accessor returns what was installed, from
// each side's point of view, and nothing for unsecured or unknown refs.
func TestSessionKeys(t *testing.T) {
	att := [16]byte{0xa7}
	for _, tc := range []struct {
		name      string
		kind      Kind
		initiator bool
		local     message.NodeID
		peer      message.NodeID
	}{
		{"pase initiator", PASE, true, 0, 0},
		{"pase responder", PASE, false, 0, 0},
		{"case initiator", CASE, true, 0x11, 0x22},
		{"case responder", CASE, false, 0x22, 0x11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, Config{}, 1, jitterHalf)
			id, err := m.ReserveLocalID(0)
			require.NoError(t, err)
			ss := SecureSession{Kind: tc.kind, Initiator: tc.initiator, LocalID: id, PeerID: 77, Peer: addrB,
				I2RKey: testI2R, R2IKey: testR2I, AttestationChallenge: att}
			if tc.kind == CASE {
				ss.LocalNodeID, ss.PeerNodeID, ss.FabricIndex = tc.local, tc.peer, 1
			}
			ref, err := m.InstallSecureSession(0, ss)
			require.NoError(t, err)
			k, ok := m.SessionKeys(ref)
			require.True(t, ok)
			require.Equal(t, Keys{Kind: tc.kind, Initiator: tc.initiator, LocalID: id, PeerID: 77,
				LocalNodeID: tc.local, PeerNodeID: tc.peer, Peer: addrB,
				I2R: testI2R, R2I: testR2I, AttestationChallenge: att}, k)

			require.NoError(t, m.RemoveSession(0, ref))
			_, ok = m.SessionKeys(ref)
			require.False(t, ok, "removed session")
		})
	}
	m := newManager(t, Config{}, 1, jitterHalf)
	u, err := m.OpenUnsecured(0, addrB)
	require.NoError(t, err)
	_, ok := m.SessionKeys(u)
	require.False(t, ok, "unsecured session")
	_, ok = m.SessionKeys(Ref{LocalID: 9})
	require.False(t, ok, "unknown id")
}
