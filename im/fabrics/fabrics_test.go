package fabrics

import (
	"crypto/x509"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/tlv"
)

func newStore(t *testing.T, seed byte) *Store {
	t.Helper()
	s, err := New(Config{Rand: rand.NewChaCha8([32]byte{seed})})
	require.NoError(t, err)
	return s
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Rand: rand.NewChaCha8([32]byte{}), MaxFabrics: 255}, {Rand: rand.NewChaCha8([32]byte{}), MaxFabrics: -1}} {
		_, err := New(cfg)
		require.Error(t, err)
	}
}

func TestGrants(t *testing.T) {
	for _, tc := range []struct {
		have, want uint8
		ok         bool
	}{
		{PrivilegeAdminister, PrivilegeView, true},
		{PrivilegeAdminister, PrivilegeProxyView, true},
		{PrivilegeManage, PrivilegeOperate, true},
		{PrivilegeManage, PrivilegeAdminister, false},
		{PrivilegeOperate, PrivilegeManage, false},
		{PrivilegeOperate, PrivilegeProxyView, false},
		{PrivilegeProxyView, PrivilegeView, true},
		{PrivilegeProxyView, PrivilegeOperate, false},
		{PrivilegeView, PrivilegeView, true},
	} {
		require.Equal(t, tc.ok, grants(tc.have, tc.want), "have %d want %d", tc.have, tc.want)
	}
}

func TestAllowedSubjects(t *testing.T) {
	s := newStore(t, 1)
	s.acl = []Entry{
		{FabricIndex: 1, Privilege: PrivilegeAdminister, AuthMode: AuthCASE, Subjects: []uint64{0x42}},
		{FabricIndex: 1, Privilege: PrivilegeOperate, AuthMode: AuthCASE, Subjects: []uint64{0xFFFF_FFFD_0001_0002}},
		{FabricIndex: 2, Privilege: PrivilegeView, AuthMode: AuthCASE},
	}
	for _, tc := range []struct {
		name string
		sub  Subject
		priv uint8
		ok   bool
	}{
		{"admin node", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 0x42}, PrivilegeAdminister, true},
		{"admin node, other fabric", Subject{AuthMode: AuthCASE, FabricIndex: 3, NodeID: 0x42}, PrivilegeView, false},
		{"unknown node", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 0x43}, PrivilegeView, false},
		{"CAT same version", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 9, CATs: []uint32{0x0001_0002}}, PrivilegeOperate, true},
		{"CAT newer version", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 9, CATs: []uint32{0x0001_0003}}, PrivilegeOperate, true},
		{"CAT older version", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 9, CATs: []uint32{0x0001_0001}}, PrivilegeOperate, false},
		{"CAT other id", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 9, CATs: []uint32{0x0002_0002}}, PrivilegeOperate, false},
		{"CAT, too much", Subject{AuthMode: AuthCASE, FabricIndex: 1, NodeID: 9, CATs: []uint32{0x0001_0002}}, PrivilegeManage, false},
		{"wildcard subjects", Subject{AuthMode: AuthCASE, FabricIndex: 2, NodeID: 77}, PrivilegeView, true},
		{"wildcard, too much", Subject{AuthMode: AuthCASE, FabricIndex: 2, NodeID: 77}, PrivilegeOperate, false},
		{"group auth", Subject{AuthMode: AuthGroup, FabricIndex: 1, NodeID: 0x42}, PrivilegeView, false},
		{"PASE", Subject{AuthMode: AuthPASE}, PrivilegeAdminister, true},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.ok, s.Allowed(tc.sub, tc.priv)) })
	}
}

func TestValidAdminSubject(t *testing.T) {
	for id, ok := range map[uint64]bool{
		0: false, 1: true, 0xFFFF_FFEF_FFFF_FFFF: true, 0xFFFF_FFF0_0000_0000: false,
		0xFFFF_FFFD_0001_0001: true, 0xFFFF_FFFD_0001_0000: false, 0xFFFF_FFFF_FFFF_FFFF: false,
	} {
		require.Equal(t, ok, validAdminSubject(id), "0x%X", id)
	}
}

func TestFailSafeTimingAndBusy(t *testing.T) {
	s := newStore(t, 2)
	require.Equal(t, clock.Never, s.Deadline())
	code, exp := s.ArmFailSafe(0, time.Minute, 0, 7)
	require.Equal(t, CommissioningOK, code)
	require.Nil(t, exp)
	require.Equal(t, clock.Time(time.Minute), s.Deadline())
	require.Equal(t, uint64(7), s.Breadcrumb())
	// Re-arming extends, but never past MaxCumulativeFailSafe from the first arm.
	code, _ = s.ArmFailSafe(clock.Time(30*time.Second), time.Hour, 0, 8)
	require.Equal(t, CommissioningOK, code)
	require.Equal(t, clock.Time(DefaultMaxCumulativeFailSafe), s.Deadline())
	// Another fabric cannot take it over.
	code, _ = s.ArmFailSafe(clock.Time(31*time.Second), time.Minute, 3, 9)
	require.Equal(t, CommissioningBusyWithOtherAdmin, code)
	require.Equal(t, uint64(8), s.Breadcrumb())
	_, ok := s.HandleTimeout(clock.Time(DefaultMaxCumulativeFailSafe) - 1)
	require.False(t, ok)
	e, ok := s.HandleTimeout(clock.Time(DefaultMaxCumulativeFailSafe))
	require.True(t, ok)
	require.Equal(t, Expiry{}, e)
	require.False(t, s.Armed())
	require.Zero(t, s.Breadcrumb())
	// CommissioningComplete without a fail-safe.
	require.Equal(t, CommissioningNoFailSafe, s.CommissioningComplete(Subject{AuthMode: AuthCASE, FabricIndex: 1}))
	// Implicit arm at PASE does not shorten an armed fail-safe.
	s.ArmImplicit(0, DefaultFailSafe)
	s.ArmFailSafe(0, 5*time.Minute, 0, 0)
	s.ArmImplicit(clock.Time(time.Second), DefaultFailSafe)
	require.Equal(t, clock.Time(5*time.Minute), s.Deadline())
}

func TestCSRIsSeededAndValid(t *testing.T) {
	run := func() []byte {
		s := newStore(t, 3)
		_, err := s.CSR(make([]byte, 32))
		require.ErrorIs(t, err, ErrFailSafeRequired)
		s.ArmFailSafe(0, time.Minute, 0, 0)
		_, err = s.CSR(make([]byte, 31))
		require.ErrorIs(t, err, ErrConstraint)
		el, err := s.CSR(make([]byte, 32))
		require.NoError(t, err)
		r := tlv.NewReader(el)
		require.NoError(t, r.Next())
		require.NoError(t, r.Enter())
		require.NoError(t, r.Next())
		csr, err := r.Bytes()
		require.NoError(t, err)
		req, err := x509.ParseCertificateRequest(csr)
		require.NoError(t, err)
		require.NoError(t, req.CheckSignature())
		pub, err := s.pendingKey.PublicKey.Bytes()
		require.NoError(t, err)
		return pub
	}
	require.Equal(t, run(), run(), "the operational key is a function of the injected randomness")
}

func TestTestAttestationKeyMatchesDAC(t *testing.T) {
	a, err := TestAttestation()
	require.NoError(t, err)
	dac, err := x509.ParseCertificate(a.DAC)
	require.NoError(t, err)
	require.True(t, a.Key.PublicKey.Equal(dac.PublicKey))
	pai, err := x509.ParseCertificate(a.PAI)
	require.NoError(t, err)
	require.NoError(t, dac.CheckSignatureFrom(pai))
	require.Len(t, a.CD, 541)
}

// ArmFailSafe with ExpiryLengthSeconds 0 expires the fail-safe and leaves
// the breadcrumb at 0 (or untouched when nothing was armed): the command's
// Breadcrumb is not applied (connectedhomeip general-commissioning-server.cpp
// HandleArmFailSafe: "Don't set the breadcrumb, since expiring the failsafe
// should reset it anyway"; ForceFailSafeTimerExpiry is a no-op unarmed).
func TestArmFailSafeZeroKeepsBreadcrumb(t *testing.T) {
	s := newStore(t, 9)
	s.SetBreadcrumb(5)
	code, exp := s.ArmFailSafe(0, 0, 0, 42)
	require.Equal(t, CommissioningOK, code)
	require.Nil(t, exp)
	require.Equal(t, uint64(5), s.Breadcrumb())
	s.ArmFailSafe(0, time.Minute, 0, 7)
	code, exp = s.ArmFailSafe(clock.Time(time.Second), 0, 0, 42)
	require.Equal(t, CommissioningOK, code)
	require.NotNil(t, exp)
	require.False(t, s.Armed())
	require.Zero(t, s.Breadcrumb())
}

// CommissioningComplete over CASE on the fabric that armed the fail-safe
// succeeds even when no AddNOC ran under it (re-arm on an existing fabric):
// the SDK checks only failSafe.MatchesFabricIndex and commits fabric data
// when NocCommandHasBeenInvoked (general-commissioning-server.cpp
// HandleCommissioningComplete).
func TestCommissioningCompleteWithoutAddNOC(t *testing.T) {
	s := newStore(t, 10)
	s.ArmFailSafe(0, time.Minute, 2, 3)
	require.Equal(t, CommissioningInvalidAuth, s.CommissioningComplete(Subject{AuthMode: AuthCASE, FabricIndex: 1}))
	require.Equal(t, CommissioningInvalidAuth, s.CommissioningComplete(Subject{AuthMode: AuthPASE, FabricIndex: 2}))
	require.True(t, s.Armed())
	require.Equal(t, CommissioningOK, s.CommissioningComplete(Subject{AuthMode: AuthCASE, FabricIndex: 2}))
	require.False(t, s.Armed())
	require.Zero(t, s.Breadcrumb())
}

// A root whose public key is not a P-256 point is refused with
// ErrInvalidCommand (connectedhomeip HandleAddTrustedRootCertificate:
// ValidateChipRCAC fails, INVALID_COMMAND), not a panic in the signature
// check.
func TestAddTrustedRootBadKey(t *testing.T) {
	ca, err := testca.Mint(testca.Options{Seed: 1})
	require.NoError(t, err)
	c, err := cert.DecodeTLV(ca.RCAC.TLV)
	require.NoError(t, err)
	pk := append([]byte(nil), c.PublicKey...)
	pk[10] ^= 1 // off the curve
	c.PublicKey = pk
	b, err := cert.AppendTLV(nil, c)
	require.NoError(t, err)
	s := newStore(t, 11)
	s.ArmFailSafe(0, time.Minute, 0, 0)
	require.ErrorIs(t, s.AddTrustedRoot(b), ErrInvalidCommand)
	require.Nil(t, s.PendingRoot())
}

// TestFabricIndexAllocation: AddNOC takes the next index of a rising
// counter that moves on at commit (connectedhomeip FabricTable
// mNextAvailableFabricIndex), not the lowest free one; a fail-safe
// rollback does not move it; it wraps from 254 to 1 past used indexes.
func TestFabricIndexAllocation(t *testing.T) {
	// add puts a fabric at the index AddNOC would take, pending; commit
	// or expire ends its fail-safe.
	add := func(s *Store) uint8 {
		idx := s.freeIndex()
		s.insert(&Fabric{Index: idx})
		s.armed, s.armedBy, s.added, s.expiry = true, idx, idx, clock.Never
		return idx
	}
	commit := func(t *testing.T, s *Store, idx uint8) {
		require.Equal(t, CommissioningOK, s.CommissioningComplete(Subject{AuthMode: AuthCASE, FabricIndex: idx}))
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s *Store) []uint8
		want []uint8
	}{
		{"first is 1", func(t *testing.T, s *Store) []uint8 { return []uint8{add(s)} }, []uint8{1}},
		{"removed index not reused", func(t *testing.T, s *Store) []uint8 {
			a := add(s)
			commit(t, s, a)
			require.Equal(t, NOCOK, s.RemoveFabric(a))
			b := add(s)
			return []uint8{a, b}
		}, []uint8{1, 2}},
		{"rollback keeps the index", func(t *testing.T, s *Store) []uint8 {
			a := add(s)
			s.expire()
			b := add(s)
			return []uint8{a, b}
		}, []uint8{1, 1}},
		{"wraps past used", func(t *testing.T, s *Store) []uint8 {
			s.insert(&Fabric{Index: 1})
			s.next = 254
			a := add(s)
			commit(t, s, a)
			b := add(s)
			return []uint8{a, b}
		}, []uint8{254, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, 1)
			require.Equal(t, tc.want, tc.run(t, s))
		})
	}
}
