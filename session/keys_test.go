package session

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/group"
	"mattersim/session/message"
	"mattersim/session/security"
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

// TestGroupKeys: the key log accessor lists the operational key of every
// epoch of every key set, with its group session id (the SDK's vector:
// epoch key 10..1f gives group session id 0xa512), in key set and epoch
// order; none before a fabric exists.
func TestGroupKeys(t *testing.T) {
	m := newManager(t, Config{}, 1, jitterHalf)
	require.Empty(t, m.GroupKeys())
	n := newGroupNode(t, Config{}, 2, 7, group.TrustFirst)
	second := security.Key{0x20}
	require.NoError(t, n.m.SetKeySet(testFabric, group.KeySet{ID: 0x41, Epochs: []group.EpochKey{{Key: testEpoch}, {Key: second, Start: 5}}}))
	op := security.DeriveGroupOperationalKey(testEpoch, testCFID)
	op2 := security.DeriveGroupOperationalKey(second, testCFID)
	require.Equal(t, []GroupKey{
		{Fabric: testFabric, KeySet: 0x41, Epoch: 0, SessionID: 0xa512, Operational: op},
		{Fabric: testFabric, KeySet: 0x41, Epoch: 1, SessionID: uint16(security.GroupSessionID(op2)), Operational: op2},
		{Fabric: testFabric, KeySet: testKeySet, Epoch: 0, SessionID: 0xa512, Operational: op},
	}, n.m.GroupKeys())
}
