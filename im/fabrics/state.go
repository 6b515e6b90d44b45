package fabrics

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"

	"mattersim/session/casesess"
	"mattersim/session/cert"
)

// Snapshot is the committed part of a Store: what a device keeps in
// non-volatile storage so that a restart does not factory-reset it
// (connectedhomeip FabricTable::StoreFabricMetadata, StoreCommitMarker
// aside; AccessControl entries in the key-value store). A fabric added
// under an armed fail-safe and not yet committed by CommissioningComplete
// is not part of it, nor are its ACL entries, the fail-safe or the
// breadcrumb: a restart expires the fail-safe (spec 11.10.7.2.2; SDK
// Server::Init reverts the pending fabric).
type Snapshot struct {
	Fabrics []FabricState
	ACL     []Entry
	// NextIndex is the index the next AddNOC takes (SDK FabricTable
	// mNextAvailableFabricIndex; 0: none free).
	NextIndex uint8
}

// FabricState is one committed fabric: its certificates in Matter TLV
// form, the raw 32-octet operational private key and the IPK epoch key.
type FabricState struct {
	Index    uint8
	VendorID uint16
	FabricID uint64
	NodeID   uint64
	Label    string
	RCAC     []byte
	ICAC     []byte // nil without an intermediate
	NOC      []byte
	IPK      [16]byte
	Key      []byte // P-256 scalar, 32 octets
}

// ErrBadSnapshot is what every StateError wraps.
var ErrBadSnapshot = errors.New("fabrics: bad snapshot")

// StateError is a Snapshot that Restore refuses: Field names what is
// wrong (e.g. "fabrics[0].noc"), Err why.
type StateError struct {
	Field string
	Err   error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("fabrics: snapshot field %s: %v", e.Field, e.Err)
}

// Unwrap gives ErrBadSnapshot and the cause.
func (e *StateError) Unwrap() []error { return []error{ErrBadSnapshot, e.Err} }

// Export returns the committed state (see Snapshot). The slices are
// copies: the Snapshot does not change with the Store.
func (s *Store) Export() Snapshot {
	snap := Snapshot{NextIndex: s.next}
	for _, f := range s.fabrics {
		if f.Index == s.added {
			continue // uncommitted
		}
		key, err := f.Key.Bytes()
		if err != nil {
			continue // not a P-256 key: never made by this package
		}
		snap.Fabrics = append(snap.Fabrics, FabricState{Index: f.Index, VendorID: f.VendorID, FabricID: f.FabricID,
			NodeID: f.NodeID, Label: f.Label, RCAC: clone(f.RCAC), ICAC: clone(f.ICAC), NOC: clone(f.NOC),
			IPK: f.IPK, Key: key})
	}
	for _, e := range s.acl {
		if s.added != 0 && e.FabricIndex == s.added {
			continue
		}
		e.Subjects = append([]uint64(nil), e.Subjects...)
		snap.ACL = append(snap.ACL, e)
	}
	return snap
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Restore returns a Store with cfg holding snap, the fail-safe disarmed.
// Every fabric is checked as AddNOC checked it, except for the time: the
// chain must verify (signatures, DNs, key ids, roles: cert.Chain.Verify
// at the latest not-before of the chain, as connectedhomeip
// FabricTable::LoadFromStorage does not re-check validity periods), name
// the stored fabric and node ids, and carry the public key of the stored
// operational key. Indexes are 1..254 and distinct, fabrics distinct
// (root key and fabric id), labels at most MaxLabelLen and distinct, ACL
// entries valid (as SetACL) and on a stored fabric. The first failure is
// a *StateError.
func Restore(cfg Config, snap Snapshot) (*Store, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if len(snap.Fabrics) > s.cfg.MaxFabrics {
		return nil, &StateError{"fabrics", fmt.Errorf("%d fabrics, at most %d", len(snap.Fabrics), s.cfg.MaxFabrics)}
	}
	for i, fs := range snap.Fabrics {
		f, err := restoreFabric(fs)
		if err != nil {
			var se *StateError
			if errors.As(err, &se) {
				se.Field = fmt.Sprintf("fabrics[%d].%s", i, se.Field)
			}
			return nil, err
		}
		bad := func(field, format string, args ...any) error {
			return &StateError{fmt.Sprintf("fabrics[%d].%s", i, field), fmt.Errorf(format, args...)}
		}
		for _, o := range s.fabrics {
			switch {
			case o.Index == f.Index:
				return nil, bad("index", "index %d repeated", f.Index)
			case string(o.RootKey) == string(f.RootKey) && o.FabricID == f.FabricID:
				return nil, bad("rcac", "fabric 0x%016X of this root repeated (index %d)", f.FabricID, o.Index)
			case f.Label != "" && o.Label == f.Label:
				return nil, bad("label", "label %q repeated (index %d)", f.Label, o.Index)
			}
		}
		s.insert(f)
	}
	if snap.NextIndex == 255 {
		return nil, &StateError{"next_index", fmt.Errorf("%d out of 0..254", snap.NextIndex)}
	}
	s.next = snap.NextIndex
	perFabric := map[uint8][]Entry{}
	var order []uint8
	for i, e := range snap.ACL {
		if s.Fabric(e.FabricIndex) == nil {
			return nil, &StateError{fmt.Sprintf("acl[%d].fabric_index", i), fmt.Errorf("no fabric %d", e.FabricIndex)}
		}
		if _, ok := perFabric[e.FabricIndex]; !ok {
			order = append(order, e.FabricIndex)
		}
		perFabric[e.FabricIndex] = append(perFabric[e.FabricIndex], e)
	}
	for _, idx := range order {
		if err := s.SetACL(idx, perFabric[idx]); err != nil {
			return nil, &StateError{fmt.Sprintf("acl (fabric %d)", idx), err}
		}
	}
	// SetACL appends per fabric; keep the stored order, which Export gives.
	s.acl = s.acl[:0]
	for _, e := range snap.ACL {
		e.Subjects = append([]uint64(nil), e.Subjects...)
		s.acl = append(s.acl, e)
	}
	return s, nil
}

func restoreFabric(fs FabricState) (*Fabric, error) {
	bad := func(field string, err error) error { return &StateError{field, err} }
	if fs.Index == 0 || fs.Index == 255 {
		return nil, bad("index", fmt.Errorf("%d out of 1..254", fs.Index))
	}
	if len(fs.Label) > MaxLabelLen {
		return nil, bad("label", fmt.Errorf("%d octets, at most %d", len(fs.Label), MaxLabelLen))
	}
	if len(fs.Key) != 32 {
		return nil, bad("key", fmt.Errorf("%d octets, want a 32-octet P-256 scalar", len(fs.Key)))
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), fs.Key)
	if err != nil {
		return nil, bad("key", err)
	}
	rc, err := cert.DecodeTLV(fs.RCAC)
	if err != nil {
		return nil, bad("rcac", err)
	}
	nc, err := cert.DecodeTLV(fs.NOC)
	if err != nil {
		return nil, bad("noc", err)
	}
	ch := cert.Chain{RCAC: rc, NOC: nc}
	at := max(rc.NotBefore, nc.NotBefore)
	if len(fs.ICAC) > 0 {
		if ch.ICAC, err = cert.DecodeTLV(fs.ICAC); err != nil {
			return nil, bad("icac", err)
		}
		at = max(at, ch.ICAC.NotBefore)
	}
	v, err := ch.Verify(cert.VerifyOptions{Epoch: at})
	if err != nil {
		field := "noc"
		var ve *cert.VerifyError
		if errors.As(err, &ve) {
			field = map[cert.Role]string{cert.RoleRCAC: "rcac", cert.RoleICAC: "icac"}[ve.Cert]
			if field == "" {
				field = "noc"
			}
		}
		return nil, bad(field, err)
	}
	if v.FabricID != fs.FabricID {
		return nil, bad("fabric_id", fmt.Errorf("0x%016X, the NOC says 0x%016X", fs.FabricID, v.FabricID))
	}
	if v.NodeID != fs.NodeID {
		return nil, bad("node_id", fmt.Errorf("0x%016X, the NOC says 0x%016X", fs.NodeID, v.NodeID))
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil || string(pub) != string(nc.PublicKey) {
		return nil, bad("key", errors.New("not the private key of the NOC's public key"))
	}
	cf, err := casesess.NewFabric(fs.Index, rc, fs.NOC, fs.ICAC, key, fs.IPK)
	if err != nil {
		return nil, bad("noc", err)
	}
	f := &Fabric{Index: fs.Index, VendorID: fs.VendorID, FabricID: v.FabricID, NodeID: v.NodeID, Label: fs.Label,
		RCAC: clone(fs.RCAC), NOC: clone(fs.NOC), IPK: fs.IPK, RootKey: v.RootKey, Key: key, CASE: cf}
	if len(fs.ICAC) > 0 {
		f.ICAC = clone(fs.ICAC)
	}
	return f, nil
}
