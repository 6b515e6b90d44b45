package fabrics

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

// testSnapshot is two committed fabrics (one with an ICAC) minted by
// testca, with their admin ACL entries and an Operate entry.
func testSnapshot(t *testing.T) Snapshot {
	t.Helper()
	var snap Snapshot
	for i, icac := range []bool{false, true} {
		ca, err := testca.Mint(testca.Options{Seed: uint64(10 + i), FabricID: uint64(0xA0 + i), FirstNodeID: 0x1000, ICAC: icac})
		require.NoError(t, err)
		key, err := ca.Nodes[0].Key.Bytes()
		require.NoError(t, err)
		fs := FabricState{Index: uint8(1 + 2*i), VendorID: 0xFFF1, FabricID: ca.Options.FabricID, NodeID: ca.NodeID(0),
			Label: []string{"home", ""}[i], RCAC: ca.RCAC.TLV, NOC: ca.Nodes[0].TLV, IPK: ca.IPK, Key: key}
		if icac {
			fs.ICAC = ca.ICAC.TLV
		}
		snap.Fabrics = append(snap.Fabrics, fs)
		snap.ACL = append(snap.ACL, Entry{FabricIndex: fs.Index, Privilege: PrivilegeAdminister, AuthMode: AuthCASE,
			Subjects: []uint64{0x1122}})
	}
	snap.ACL = append(snap.ACL, Entry{FabricIndex: 1, Privilege: PrivilegeOperate, AuthMode: AuthCASE, Subjects: []uint64{0x99}})
	snap.NextIndex = 4
	return snap
}

func restoreConfig() Config { return Config{Rand: rand.NewChaCha8([32]byte{7})} }

// TestSnapshotRoundTrip: Export of a restored Store gives the Snapshot
// back, and the restored Store works: the CASE fabrics, the ACL checks,
// the next index AddNOC would take.
func TestSnapshotRoundTrip(t *testing.T) {
	snap := testSnapshot(t)
	s, err := Restore(restoreConfig(), snap)
	require.NoError(t, err)
	require.Equal(t, snap, s.Export())
	require.Len(t, s.CASEFabrics(), 2)
	require.Equal(t, uint8(3), s.CASEFabrics()[1].Index)
	require.True(t, s.Allowed(Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 0x99}, PrivilegeOperate))
	require.False(t, s.Allowed(Subject{AuthMode: AuthCASE, FabricIndex: 3, NodeID: 0x99}, PrivilegeOperate))
	require.Equal(t, uint8(4), s.freeIndex())
	require.False(t, s.Armed())

	// Restore → Export → Restore is stable.
	s2, err := Restore(restoreConfig(), s.Export())
	require.NoError(t, err)
	require.Equal(t, s.Export(), s2.Export())
}

// An uncommitted fabric (added under the fail-safe) and its ACL entries
// are not exported: a restart rolls them back.
func TestExportSkipsUncommitted(t *testing.T) {
	snap := testSnapshot(t)
	s, err := Restore(restoreConfig(), snap)
	require.NoError(t, err)
	pending := *s.Fabric(3)
	pending.Index = 4
	pending.FabricID = 0xBEEF
	s.insert(&pending)
	s.acl = append(s.acl, Entry{FabricIndex: 4, Privilege: PrivilegeAdminister, AuthMode: AuthCASE, Subjects: []uint64{1}})
	s.armed, s.armedBy, s.added = true, 4, 4
	require.Equal(t, snap, s.Export())
}

// A tampered or inconsistent Snapshot is refused with a *StateError that
// names the field; nothing panics.
func TestRestoreRefusesTampered(t *testing.T) {
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i%len(b)] ^= 0x01
		return b
	}
	otherKey, err := testca.Key(99, "node", 1).Bytes()
	require.NoError(t, err)
	for _, tc := range []struct {
		name, field string
		edit        func(s *Snapshot)
	}{
		{"key of another node", "fabrics[0].key", func(s *Snapshot) { s.Fabrics[0].Key = otherKey }},
		{"short key", "fabrics[0].key", func(s *Snapshot) { s.Fabrics[0].Key = s.Fabrics[0].Key[:31] }},
		{"zero key", "fabrics[0].key", func(s *Snapshot) { s.Fabrics[0].Key = make([]byte, 32) }},
		{"NOC signature", "fabrics[0].noc", func(s *Snapshot) { s.Fabrics[0].NOC = flip(s.Fabrics[0].NOC, len(s.Fabrics[0].NOC)-5) }},
		{"NOC garbage", "fabrics[0].noc", func(s *Snapshot) { s.Fabrics[0].NOC = []byte{1, 2, 3} }},
		{"RCAC signature", "fabrics[0].rcac", func(s *Snapshot) { s.Fabrics[0].RCAC = flip(s.Fabrics[0].RCAC, len(s.Fabrics[0].RCAC)-5) }},
		{"ICAC dropped", "fabrics[1].noc", func(s *Snapshot) { s.Fabrics[1].ICAC = nil }},
		{"ICAC of another fabric", "fabrics[1].", func(s *Snapshot) {
			ca, _ := testca.Mint(testca.Options{Seed: 50, ICAC: true})
			s.Fabrics[1].ICAC = ca.ICAC.TLV
		}},
		{"node id", "fabrics[0].node_id", func(s *Snapshot) { s.Fabrics[0].NodeID++ }},
		{"fabric id", "fabrics[0].fabric_id", func(s *Snapshot) { s.Fabrics[0].FabricID++ }},
		{"index 0", "fabrics[0].index", func(s *Snapshot) { s.Fabrics[0].Index = 0 }},
		{"index repeated", "fabrics[1].index", func(s *Snapshot) { s.Fabrics[1].Index = 1 }},
		{"same fabric twice", "fabrics[1].rcac", func(s *Snapshot) { s.Fabrics[1] = s.Fabrics[0]; s.Fabrics[1].Index = 2 }},
		{"label too long", "fabrics[0].label", func(s *Snapshot) { s.Fabrics[0].Label = string(make([]byte, 33)) }},
		{"label repeated", "fabrics[1].label", func(s *Snapshot) { s.Fabrics[1].Label = "home" }},
		{"ACL on no fabric", "acl[1].fabric_index", func(s *Snapshot) { s.ACL[1].FabricIndex = 2 }},
		{"ACL PASE entry", "acl (fabric 1)", func(s *Snapshot) { s.ACL[0].AuthMode = AuthPASE }},
		{"next index 255", "next_index", func(s *Snapshot) { s.NextIndex = 255 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := testSnapshot(t)
			tc.edit(&snap)
			_, err := Restore(restoreConfig(), snap)
			require.ErrorIs(t, err, ErrBadSnapshot)
			var se *StateError
			require.ErrorAs(t, err, &se)
			require.Contains(t, se.Field, tc.field)
		})
	}
}

// The restore check ignores validity periods (as the SDK's
// FabricTable::LoadFromStorage): a chain whose NOC has expired still loads.
func TestRestoreIgnoresExpiry(t *testing.T) {
	ca, err := testca.Mint(testca.Options{Seed: 3, NotAfter: testca.DefaultNotBefore + 10})
	require.NoError(t, err)
	key, _ := ca.Nodes[0].Key.Bytes()
	_, err = Restore(Config{Rand: rand.NewChaCha8([32]byte{}), Epoch: cert.Time(0xF000_0000)}, Snapshot{
		Fabrics: []FabricState{{Index: 1, FabricID: 1, NodeID: 1, RCAC: ca.RCAC.TLV, NOC: ca.Nodes[0].TLV, Key: key}}})
	require.NoError(t, err)
}
