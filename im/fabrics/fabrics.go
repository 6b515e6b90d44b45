// Package fabrics is the commissionable device's persistent state as the
// commissioning clusters change it: the fabric table (trusted roots, NOCs,
// IPKs, labels), the Access Control List, and the fail-safe context that
// makes commissioning atomic (core spec 11.10.7.2 ArmFailSafe, 11.17
// Operational Credentials, 9.10 Access Control; connectedhomeip
// src/credentials/FabricTable.cpp, src/app/FailSafeContext.cpp,
// src/access/AccessControl.cpp).
//
// A Store is a sans-I/O state machine: it never reads the clock (callers
// pass now), draws randomness only from Config.Rand, and reports the
// fail-safe deadline for the driver's one timer. It is not safe for
// concurrent use.
package fabrics

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/tlv"
)

// Defaults (spec 11.10.6.2 BasicCommissioningInfo; 11.17.5.3).
const (
	// DefaultFailSafe is FailSafeExpiryLengthSeconds: the expiry a
	// commissioner should use, and the implicit arm at PASE (SDK
	// CommissioningWindowManager arms 60 s on PASE establishment).
	DefaultFailSafe = 60 * time.Second
	// DefaultMaxCumulativeFailSafe is MaxCumulativeFailsafeSeconds.
	DefaultMaxCumulativeFailSafe = 900 * time.Second
	// DefaultMaxFabrics is SupportedFabrics (spec minimum 5).
	DefaultMaxFabrics = 5
	// MaxLabelLen is the longest fabric label (spec 11.17.4.5).
	MaxLabelLen = 32
)

// CommissioningError is the ErrorCode of the General Commissioning
// responses (spec 11.10.4.1 CommissioningErrorEnum).
type CommissioningError uint8

const (
	CommissioningOK                 CommissioningError = 0
	CommissioningValueOutsideRange  CommissioningError = 1
	CommissioningInvalidAuth        CommissioningError = 2
	CommissioningNoFailSafe         CommissioningError = 3
	CommissioningBusyWithOtherAdmin CommissioningError = 4
)

// NOCStatus is the StatusCode of NOCResponse (spec 11.17.4.4
// NodeOperationalCertStatusEnum).
type NOCStatus uint8

const (
	NOCOK                  NOCStatus = 0
	NOCInvalidPublicKey    NOCStatus = 1
	NOCInvalidNodeOpID     NOCStatus = 2
	NOCInvalidNOC          NOCStatus = 3
	NOCMissingCSR          NOCStatus = 4
	NOCTableFull           NOCStatus = 5
	NOCInvalidAdminSubject NOCStatus = 6
	NOCFabricConflict      NOCStatus = 9
	NOCLabelConflict       NOCStatus = 10
	NOCInvalidFabricIndex  NOCStatus = 11
)

// Privilege and AuthMode values of ACL entries (spec 9.10.4.2, 9.10.4.3).
const (
	PrivilegeView       uint8 = 1
	PrivilegeProxyView  uint8 = 2
	PrivilegeOperate    uint8 = 3
	PrivilegeManage     uint8 = 4
	PrivilegeAdminister uint8 = 5

	AuthPASE  uint8 = 1
	AuthCASE  uint8 = 2
	AuthGroup uint8 = 3
)

// Errors of the Store's commands; the clusters map them to IM statuses.
var (
	// ErrFailSafeRequired: the command needs an armed fail-safe (spec
	// 11.17.6: FAILSAFE_REQUIRED).
	ErrFailSafeRequired = errors.New("fabrics: fail-safe not armed")
	// ErrConstraint: a field is out of range (CONSTRAINT_ERROR).
	ErrConstraint = errors.New("fabrics: constraint error")
	// ErrInvalidCommand: the command is not valid in this state
	// (INVALID_COMMAND, e.g. a second AddTrustedRootCertificate).
	ErrInvalidCommand = errors.New("fabrics: invalid command in this state")
)

// Config configures a Store.
type Config struct {
	// Rand supplies the operational keys. Required.
	Rand io.Reader
	// Epoch is the Matter epoch time of clock time 0, for validating
	// added NOCs (cert.VerifyOptions).
	Epoch cert.Time
	// EpochAt, if set, replaces Epoch: the epoch to check an AddNOC at
	// clock time now against. A device whose clock does not stay tied to
	// one wall-clock instant (a long real-time run) gives the epoch as
	// it stands at now.
	EpochAt func(now clock.Time) cert.Time
	// MaxFabrics is SupportedFabrics (0: DefaultMaxFabrics).
	MaxFabrics int
	// MaxCumulativeFailSafe bounds one fail-safe period (0: default).
	MaxCumulativeFailSafe time.Duration
}

// Fabric is one committed or pending entry of the fabric table.
type Fabric struct {
	Index    uint8
	VendorID uint16 // AdminVendorId of AddNOC
	FabricID uint64
	NodeID   uint64
	Label    string
	RCAC     []byte // Matter TLV form
	NOC      []byte
	ICAC     []byte // nil without an intermediate
	IPK      [16]byte
	RootKey  []byte // RCAC public key, 65 octets
	Key      *ecdsa.PrivateKey
	// CASE is the fabric as the CASE responder uses it.
	CASE *casesess.Fabric
}

// Entry is one Access Control entry (spec 9.10.4.5
// AccessControlEntryStruct) without targets (whole node).
type Entry struct {
	FabricIndex uint8
	Privilege   uint8
	AuthMode    uint8
	Subjects    []uint64 // empty: any subject of AuthMode on the fabric
}

// Subject is who a request comes from (spec 6.6.2 "Subject").
type Subject struct {
	AuthMode    uint8
	FabricIndex uint8
	NodeID      uint64
	CATs        []uint32
}

// Expiry reports a fail-safe that ran out and what it rolled back.
type Expiry struct {
	// RemovedFabric is the index of the fabric added under the fail-safe
	// and now removed, 0 if none.
	RemovedFabric uint8
}

// Store is the device's fabric table, ACL and fail-safe context.
type Store struct {
	cfg     Config
	fabrics []*Fabric
	acl     []Entry

	// Fail-safe context (SDK FailSafeContext).
	armed      bool
	armedBy    uint8 // accessing fabric index that armed it (0: PASE)
	expiry     clock.Time
	limit      clock.Time // start + MaxCumulativeFailSafe
	breadcrumb uint64
	pendingKey *ecdsa.PrivateKey
	pendingRCA []byte
	added      uint8 // fabric added under the fail-safe (uncommitted)
	// next is the index the next AddNOC takes (SDK FabricTable
	// mNextAvailableFabricIndex): it starts at 1 and moves on only when an
	// added fabric is committed, to the next free index above it (254
	// wraps to 1), so a removed fabric's index is not handed out again at
	// once. 0: none free.
	next uint8
}

// New returns an empty store.
func New(cfg Config) (*Store, error) {
	if cfg.Rand == nil {
		return nil, errors.New("fabrics: Config.Rand is nil")
	}
	if cfg.MaxFabrics == 0 {
		cfg.MaxFabrics = DefaultMaxFabrics
	}
	if cfg.MaxFabrics < 1 || cfg.MaxFabrics > 254 {
		return nil, fmt.Errorf("fabrics: MaxFabrics %d out of 1..254", cfg.MaxFabrics)
	}
	if cfg.MaxCumulativeFailSafe == 0 {
		cfg.MaxCumulativeFailSafe = DefaultMaxCumulativeFailSafe
	}
	return &Store{cfg: cfg, expiry: clock.Never, next: 1}, nil
}

// MaxFabrics is SupportedFabrics.
func (s *Store) MaxFabrics() int { return s.cfg.MaxFabrics }

// MaxCumulativeFailSafe is MaxCumulativeFailsafeSeconds.
func (s *Store) MaxCumulativeFailSafe() time.Duration { return s.cfg.MaxCumulativeFailSafe }

// Breadcrumb is the General Commissioning Breadcrumb attribute.
func (s *Store) Breadcrumb() uint64 { return s.breadcrumb }

// SetBreadcrumb sets it (commands that carry a Breadcrumb field).
func (s *Store) SetBreadcrumb(b uint64) { s.breadcrumb = b }

// ArmedFor reports whether the fail-safe is armed and belongs to the
// accessing fabric (0 over PASE before AddNOC): connectedhomeip
// FailSafeContext::IsFailSafeArmed(FabricIndex), required by CSRRequest and
// AddNOC (OperationalCredentialsCluster.cpp).
func (s *Store) ArmedFor(accessing uint8) bool { return s.armed && s.armedBy == accessing }

// Armed reports whether the fail-safe is armed.
func (s *Store) Armed() bool { return s.armed }

// Deadline is when the fail-safe expires, clock.Never when disarmed.
func (s *Store) Deadline() clock.Time {
	if !s.armed {
		return clock.Never
	}
	return s.expiry
}

// ArmFailSafe is ArmFailSafe (spec 11.10.7.2) from a subject on the
// accessing fabric (0 over PASE). An expiry of 0 expires the fail-safe at
// once (with rollback); the returned Expiry says what was rolled back.
func (s *Store) ArmFailSafe(now clock.Time, expiry time.Duration, accessing uint8, breadcrumb uint64) (CommissioningError, *Expiry) {
	if s.armed && s.armedBy != accessing {
		return CommissioningBusyWithOtherAdmin, nil
	}
	if expiry == 0 {
		// Expire at once; the command's breadcrumb is not applied, the
		// expiry resets it (connectedhomeip general-commissioning-server.cpp
		// HandleArmFailSafe; FailSafeContext::ForceFailSafeTimerExpiry is a
		// no-op when nothing is armed).
		if !s.armed {
			return CommissioningOK, nil
		}
		e := s.expire()
		return CommissioningOK, &e
	}
	if !s.armed {
		s.armed, s.armedBy, s.limit = true, accessing, now.Add(s.cfg.MaxCumulativeFailSafe)
	}
	s.expiry = min(now.Add(expiry), s.limit)
	s.breadcrumb = breadcrumb
	return CommissioningOK, nil
}

// epoch is the epoch certificates are checked against at now.
func (s *Store) epoch(now clock.Time) cert.Time {
	if s.cfg.EpochAt != nil {
		return s.cfg.EpochAt(now)
	}
	return s.cfg.Epoch
}

// ArmImplicit arms the fail-safe for d from PASE establishment unless it is
// armed already (SDK CommissioningWindowManager::OnSessionEstablished).
func (s *Store) ArmImplicit(now clock.Time, d time.Duration) {
	if !s.armed {
		s.ArmFailSafe(now, d, 0, s.breadcrumb)
	}
}

// ForceExpiry expires an armed fail-safe now, with its cleanup
// (connectedhomeip FailSafeContext::ForceFailSafeTimerExpiry, which
// CommissioningWindowManager::OnSessionReleased calls when the
// commissioning PASE session dies). ok is false if it was not armed.
func (s *Store) ForceExpiry() (Expiry, bool) {
	if !s.armed {
		return Expiry{}, false
	}
	return s.expire(), true
}

// HandleTimeout expires the fail-safe when its deadline has passed.
func (s *Store) HandleTimeout(now clock.Time) (Expiry, bool) {
	if !s.armed || now < s.expiry {
		return Expiry{}, false
	}
	return s.expire(), true
}

// expire is the fail-safe cleanup (spec 11.10.7.2.2): the fabric added
// under the fail-safe and its ACL entries go, the pending root and
// operational key are forgotten, the breadcrumb resets.
func (s *Store) expire() Expiry {
	e := Expiry{RemovedFabric: s.added}
	if s.added != 0 {
		s.remove(s.added)
	}
	s.disarm()
	s.breadcrumb = 0
	return e
}

func (s *Store) disarm() {
	s.armed, s.armedBy, s.expiry, s.limit = false, 0, clock.Never, clock.Never
	s.pendingKey, s.pendingRCA, s.added = nil, nil, 0
}

// CommissioningComplete is CommissioningComplete (spec 11.10.7.6) from
// sub: it must come over CASE on the fabric the armed fail-safe belongs to
// (the fabric added under it, or the existing fabric that armed it; SDK
// general-commissioning-server.cpp HandleCommissioningComplete checks
// failSafe.MatchesFabricIndex). Success commits any fabric added under the
// fail-safe and disarms.
func (s *Store) CommissioningComplete(sub Subject) CommissioningError {
	if !s.armed {
		return CommissioningNoFailSafe
	}
	if sub.AuthMode != AuthCASE || sub.FabricIndex == 0 || sub.FabricIndex != s.armedBy {
		return CommissioningInvalidAuth
	}
	if s.added != 0 {
		s.advanceNext(s.added)
	}
	s.disarm()
	s.breadcrumb = 0
	return CommissioningOK
}

// CSR is CSRRequest (spec 11.17.6.5): it makes a new operational key from
// Config.Rand and returns the NOCSRElements TLV {1: CSR (PKCS#10 DER), 2:
// CSRNonce}.
func (s *Store) CSR(nonce []byte) ([]byte, error) {
	if !s.armed {
		return nil, ErrFailSafeRequired
	}
	if s.added != 0 {
		// connectedhomeip OperationalCredentialsCluster.cpp HandleCSRRequest:
		// NocCommandHasBeenInvoked is CONSTRAINT_ERROR.
		return nil, fmt.Errorf("%w: AddNOC already ran under this fail-safe", ErrConstraint)
	}
	if len(nonce) != 32 {
		return nil, fmt.Errorf("%w: CSRNonce of %d octets, want 32", ErrConstraint, len(nonce))
	}
	key, err := s.newKey()
	if err != nil {
		return nil, err
	}
	// Signed deterministically (detSigner), so that a seeded run
	// replays byte for byte.
	csr, err := x509.CreateCertificateRequest(s.cfg.Rand, &x509.CertificateRequest{
		Subject: pkix.Name{Organization: []string{"CSR"}}}, detSigner{key})
	if err != nil {
		return nil, err
	}
	s.pendingKey = key
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tlv.ContextTag(1), csr)
	w.PutBytes(tlv.ContextTag(2), nonce)
	w.EndContainer()
	return w.Bytes(), nil
}

// newKey draws a P-256 scalar from Config.Rand by rejection sampling, so
// a seeded reader gives the same key (ecdsa.GenerateKey ignores custom
// readers).
func (s *Store) newKey() (*ecdsa.PrivateKey, error) {
	var b [32]byte
	for range 64 {
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return nil, fmt.Errorf("fabrics: operational key: %w", err)
		}
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b[:]); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("fabrics: operational key: 64 rejected scalars")
}

// AddTrustedRoot is AddTrustedRootCertificate (spec 11.17.6.13): the root
// is held pending for the AddNOC of this fail-safe.
func (s *Store) AddTrustedRoot(rcac []byte) error {
	if !s.armed {
		return ErrFailSafeRequired
	}
	// One root per fail-safe, none after AddNOC: CONSTRAINT_ERROR; a root
	// that does not validate: INVALID_COMMAND (connectedhomeip
	// OperationalCredentialsCluster.cpp HandleAddTrustedRootCertificate).
	if s.pendingRCA != nil || s.added != 0 {
		return fmt.Errorf("%w: a root was already added under this fail-safe", ErrConstraint)
	}
	c, err := cert.DecodeTLV(rcac)
	if err != nil {
		return fmt.Errorf("%w: root certificate: %w", ErrInvalidCommand, err)
	}
	pub, err := c.PublicKeyECDSA()
	if err != nil {
		return fmt.Errorf("%w: root public key: %w", ErrInvalidCommand, err)
	}
	if err := c.CheckSignature(pub); err != nil {
		return fmt.Errorf("%w: root certificate is not self-signed: %w", ErrInvalidCommand, err)
	}
	s.pendingRCA = append([]byte(nil), rcac...)
	return nil
}

// AddNOC is AddNOC (spec 11.17.6.8): the NOC (and ICAC) must chain to the
// pending root at now, carry the CSR's key, and name a fabric not already
// present. The fabric is added (uncommitted until CommissioningComplete)
// with an Administer ACL entry for caseAdminSubject.
func (s *Store) AddNOC(now clock.Time, noc, icac, ipk []byte, caseAdminSubject uint64, vendor uint16) (uint8, NOCStatus, error) {
	if !s.armed {
		return 0, 0, ErrFailSafeRequired
	}
	if len(ipk) != 16 {
		return 0, 0, fmt.Errorf("%w: IPKValue of %d octets, want 16", ErrInvalidCommand, len(ipk))
	}
	if s.added != 0 {
		// One AddNOC/UpdateNOC per fail-safe: CONSTRAINT_ERROR
		// (connectedhomeip OperationalCredentialsCluster.cpp HandleAddNOC).
		return 0, 0, fmt.Errorf("%w: AddNOC already ran under this fail-safe", ErrConstraint)
	}
	if s.pendingKey == nil {
		return 0, NOCMissingCSR, nil
	}
	if s.pendingRCA == nil {
		return 0, NOCInvalidNOC, nil
	}
	if !validAdminSubject(caseAdminSubject) {
		return 0, NOCInvalidAdminSubject, nil
	}
	if len(s.fabrics) >= s.cfg.MaxFabrics {
		return 0, NOCTableFull, nil
	}
	rc, err := cert.DecodeTLV(s.pendingRCA)
	if err != nil {
		return 0, NOCInvalidNOC, nil
	}
	nc, err := cert.DecodeTLV(noc)
	if err != nil {
		return 0, NOCInvalidNOC, nil
	}
	ch := cert.Chain{RCAC: rc, NOC: nc}
	if len(icac) > 0 {
		if ch.ICAC, err = cert.DecodeTLV(icac); err != nil {
			return 0, NOCInvalidNOC, nil
		}
	}
	v, err := ch.Verify(cert.VerifyOptions{Epoch: s.epoch(now), Now: now})
	if err != nil {
		return 0, NOCInvalidNOC, nil
	}
	pub, err := s.pendingKey.PublicKey.Bytes()
	if err != nil || string(pub) != string(nc.PublicKey) {
		return 0, NOCInvalidPublicKey, nil
	}
	for _, f := range s.fabrics {
		if string(f.RootKey) == string(v.RootKey) && f.FabricID == v.FabricID {
			return 0, NOCFabricConflict, nil
		}
	}
	idx := s.freeIndex()
	var epochKey [16]byte
	copy(epochKey[:], ipk)
	cf, err := casesess.NewFabric(idx, rc, noc, icac, s.pendingKey, epochKey)
	if err != nil {
		return 0, NOCInvalidNOC, nil
	}
	f := &Fabric{Index: idx, VendorID: vendor, FabricID: v.FabricID, NodeID: v.NodeID,
		RCAC: s.pendingRCA, NOC: append([]byte(nil), noc...), IPK: epochKey,
		RootKey: append([]byte(nil), v.RootKey...), Key: s.pendingKey, CASE: cf}
	if len(icac) > 0 {
		f.ICAC = append([]byte(nil), icac...)
	}
	s.insert(f)
	s.acl = append(s.acl, Entry{FabricIndex: idx, Privilege: PrivilegeAdminister, AuthMode: AuthCASE,
		Subjects: []uint64{caseAdminSubject}})
	// The fail-safe now belongs to the new fabric (SDK FailSafeContext::
	// SetAddNocCommandInvoked): the PASE session that sent AddNOC, now on
	// that fabric, and a CASE session on it may re-arm and complete.
	s.added, s.armedBy, s.pendingKey, s.pendingRCA = idx, idx, nil, nil
	return idx, NOCOK, nil
}

// validAdminSubject: an operational node id or a CASE Authenticated Tag
// subject (spec 2.5.5, 6.6.2.1.2).
func validAdminSubject(id uint64) bool {
	switch {
	case id >= 1 && id <= 0xFFFF_FFEF_FFFF_FFFF:
		return true
	case id>>32 == 0xFFFF_FFFD && id&0xFFFF != 0: // CAT with a non-zero version
		return true
	}
	return false
}

// freeIndex is the index AddNOC gives a new fabric: connectedhomeip
// src/credentials/FabricTable.cpp allocates from mNextAvailableFabricIndex
// (AllocatePendingOperationalKey, AddNewPendingFabricCommon) rather than
// the lowest free index; EnsureNextAvailableFabricIndexUpdated restarts
// the search at 1 when the counter has no value.
func (s *Store) freeIndex() uint8 {
	if s.next != 0 && s.Fabric(s.next) == nil {
		return s.next
	}
	s.next = 1
	if s.Fabric(1) != nil {
		s.advanceNext(1)
	}
	return s.next
}

// advanceNext moves next past from, a fabric just committed, to the next
// free index (FabricTable::UpdateNextAvailableFabricIndex, called from
// CommitPendingFabricData when an AddNOC is committed; a fabric rolled back
// by the fail-safe does not move it).
func (s *Store) advanceNext(from uint8) {
	for c := from%254 + 1; c != from; c = c%254 + 1 {
		if s.Fabric(c) == nil {
			s.next = c
			return
		}
	}
	s.next = 0
}

func (s *Store) insert(f *Fabric) {
	i := 0
	for i < len(s.fabrics) && s.fabrics[i].Index < f.Index {
		i++
	}
	s.fabrics = append(s.fabrics[:i], append([]*Fabric{f}, s.fabrics[i:]...)...)
}

// UpdateFabricLabel is UpdateFabricLabel (spec 11.17.6.11) on the
// accessing fabric.
func (s *Store) UpdateFabricLabel(accessing uint8, label string) (NOCStatus, error) {
	if len(label) > MaxLabelLen {
		return 0, ErrInvalidCommand // as connectedhomeip HandleUpdateFabricLabel
	}
	f := s.Fabric(accessing)
	if f == nil {
		return NOCInvalidFabricIndex, nil
	}
	for _, o := range s.fabrics {
		if o != f && label != "" && o.Label == label {
			return NOCLabelConflict, nil
		}
	}
	f.Label = label
	return NOCOK, nil
}

// RemoveFabric is RemoveFabric (spec 11.17.6.12).
func (s *Store) RemoveFabric(index uint8) NOCStatus {
	if s.Fabric(index) == nil {
		return NOCInvalidFabricIndex
	}
	s.remove(index)
	if s.added == index {
		s.added = 0
	}
	return NOCOK
}

func (s *Store) remove(index uint8) {
	out := s.fabrics[:0]
	for _, f := range s.fabrics {
		if f.Index != index {
			out = append(out, f)
		}
	}
	s.fabrics = out
	acl := s.acl[:0]
	for _, e := range s.acl {
		if e.FabricIndex != index {
			acl = append(acl, e)
		}
	}
	s.acl = acl
}

// Fabrics returns the fabric table in index order (owned by the Store).
func (s *Store) Fabrics() []*Fabric { return s.fabrics }

// Fabric returns the fabric with the index, or nil.
func (s *Store) Fabric(index uint8) *Fabric {
	for _, f := range s.fabrics {
		if f.Index == index {
			return f
		}
	}
	return nil
}

// PendingRoot is the root added under the fail-safe and not yet used by
// AddNOC, nil if none (TrustedRootCertificates lists it, spec 11.17.5.5).
func (s *Store) PendingRoot() []byte { return s.pendingRCA }

// CASEFabrics are the fabrics for the CASE responder.
func (s *Store) CASEFabrics() []*casesess.Fabric {
	out := make([]*casesess.Fabric, 0, len(s.fabrics))
	for _, f := range s.fabrics {
		out = append(out, f.CASE)
	}
	return out
}

// ACL returns the Access Control List (owned by the Store).
func (s *Store) ACL() []Entry { return s.acl }

// Allowed reports whether sub holds at least priv on the node (spec 6.6.6
// access checking, without targets or groups). A PASE subject is always
// allowed: commissioning runs over PASE before any ACL exists, and the
// driver bounds a PASE session by the fail-safe (SDK AccessControl::Check
// returns early for AuthMode kPase; spec 6.6.2.9).
func (s *Store) Allowed(sub Subject, priv uint8) bool {
	if sub.AuthMode == AuthPASE {
		return true
	}
	for _, e := range s.acl {
		if e.FabricIndex != sub.FabricIndex || e.AuthMode != sub.AuthMode || !grants(e.Privilege, priv) {
			continue
		}
		if len(e.Subjects) == 0 {
			return true
		}
		for _, id := range e.Subjects {
			if id == sub.NodeID || catMatches(id, sub.CATs) {
				return true
			}
		}
	}
	return false
}

// grants: Administer implies Manage implies Operate implies View; ProxyView
// is implied by Administer only (spec 9.10.4.2).
func grants(have, want uint8) bool {
	if have == want {
		return true
	}
	if want == PrivilegeProxyView {
		return have == PrivilegeAdminister
	}
	if have == PrivilegeProxyView {
		return want == PrivilegeView
	}
	return have >= want
}

// catMatches: a CAT subject 0xFFFFFFFD_IIIIVVVV matches a CAT of the same
// identifier with an equal or higher version (spec 6.6.2.1.2).
func catMatches(subject uint64, cats []uint32) bool {
	if subject>>32 != 0xFFFF_FFFD {
		return false
	}
	id, ver := uint16(subject>>16), uint16(subject)
	for _, c := range cats {
		if uint16(c>>16) == id && uint16(c) >= ver {
			return true
		}
	}
	return false
}

// Rand is Config.Rand (the attestation signatures draw from it too).
func (s *Store) Rand() io.Reader { return s.cfg.Rand }

// MaxEntriesPerFabric, MaxSubjectsPerEntry: the AccessControl limits
// (AccessControlEntriesPerFabric, SubjectsPerAccessControlEntry; the spec
// minimums, 9.10.5.4-6).
const (
	MaxEntriesPerFabric = 4
	MaxSubjectsPerEntry = 4
)

// SetACL replaces the ACL entries of fabric with entries (a write of the
// ACL attribute from that fabric, spec 9.10.5.3: a fabric-scoped list
// write touches only the accessing fabric's entries). Entries must use
// CASE or Group authentication with a valid privilege (PASE entries are
// not allowed, and Administer is not allowed for groups) and valid
// subjects; otherwise nothing changes and ErrConstraint is returned.
func (s *Store) SetACL(fabric uint8, entries []Entry) error {
	if s.Fabric(fabric) == nil {
		return fmt.Errorf("%w: no fabric %d", ErrConstraint, fabric)
	}
	if len(entries) > MaxEntriesPerFabric {
		return fmt.Errorf("%w: %d entries, at most %d", ErrConstraint, len(entries), MaxEntriesPerFabric)
	}
	for i, e := range entries {
		switch {
		case e.Privilege < PrivilegeView || e.Privilege > PrivilegeAdminister:
			return fmt.Errorf("%w: entry %d: privilege %d", ErrConstraint, i, e.Privilege)
		case e.AuthMode != AuthCASE && e.AuthMode != AuthGroup:
			return fmt.Errorf("%w: entry %d: auth mode %d", ErrConstraint, i, e.AuthMode)
		case e.AuthMode == AuthGroup && e.Privilege == PrivilegeAdminister:
			return fmt.Errorf("%w: entry %d: Administer for a group", ErrConstraint, i)
		case len(e.Subjects) > MaxSubjectsPerEntry:
			return fmt.Errorf("%w: entry %d: %d subjects", ErrConstraint, i, len(e.Subjects))
		}
		for _, id := range e.Subjects {
			if e.AuthMode == AuthCASE && !validAdminSubject(id) || e.AuthMode == AuthGroup && (id == 0 || id > 0xFFFF) {
				return fmt.Errorf("%w: entry %d: subject 0x%X", ErrConstraint, i, id)
			}
		}
	}
	acl := make([]Entry, 0, len(s.acl)+len(entries))
	for _, e := range s.acl {
		if e.FabricIndex != fabric {
			acl = append(acl, e)
		}
	}
	for _, e := range entries {
		e.FabricIndex = fabric
		e.Subjects = append([]uint64(nil), e.Subjects...)
		acl = append(acl, e)
	}
	s.acl = acl
	return nil
}

// detSigner signs with RFC 6979 deterministic ECDSA (crypto/ecdsa with a
// nil random source), whatever reader the caller passes: crypto/ecdsa
// with a custom reader reads it a varying number of times
// (randutil.MaybeReadByte), which breaks seeded replays.
type detSigner struct{ k *ecdsa.PrivateKey }

func (d detSigner) Public() crypto.PublicKey { return d.k.Public() }

func (d detSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return d.k.Sign(nil, digest, opts)
}
