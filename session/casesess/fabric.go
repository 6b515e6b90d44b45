package casesess

import (
	"crypto/ecdsa"
	"errors"
	"fmt"

	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

// Fabric is what CASE needs of one fabric a node belongs to: the trusted
// root, the node's own credentials and operational key, and the fabric's
// operational IPKs (connectedhomeip FabricInfo + GroupDataProvider key set
// 0). A Fabric is read, never modified, by the state machines, so one value
// may serve any number of handshakes, also concurrently. Make it with
// NewFabric; the zero value is not usable.
type Fabric struct {
	// Index is the local fabric index (opaque to CASE, reported in Result).
	Index uint8
	// FabricID and NodeID are taken from the NOC.
	FabricID uint64
	NodeID   uint64
	// RCAC is the trusted root; its public key names the fabric.
	RCAC *cert.Certificate
	// NOC and ICAC are the node's certificates in Matter TLV form, sent as
	// they are; ICAC is nil without an intermediate.
	NOC, ICAC []byte
	// Key is the node's operational private key (the NOC's public key).
	Key *ecdsa.PrivateKey
	// IPKs are the operational IPKs (OperationalIPK of each epoch key of
	// key set 0), oldest epoch first, 1 to 3 of them.
	IPKs [][IPKLen]byte
}

// NewFabric checks that noc (and icac) chain to rcac, that key is the
// NOC's key, and derives the operational IPKs of the epoch keys (oldest
// first). Chain validity in time is not checked here (a node keeps its
// credentials when they expire); the peer checks it.
func NewFabric(index uint8, rcac *cert.Certificate, noc, icac []byte, key *ecdsa.PrivateKey, ipkEpochKeys ...[16]byte) (*Fabric, error) {
	if rcac == nil || key == nil {
		return nil, fmt.Errorf("%w: nil root or key", ErrConfig)
	}
	if len(ipkEpochKeys) == 0 || len(ipkEpochKeys) > 3 {
		return nil, fmt.Errorf("%w: %d IPK epoch keys, want 1..3", ErrConfig, len(ipkEpochKeys))
	}
	nc, err := cert.DecodeTLV(noc)
	if err != nil {
		return nil, fmt.Errorf("%w: NOC: %w", ErrConfig, err)
	}
	ch := cert.Chain{RCAC: rcac, NOC: nc}
	if len(icac) > 0 {
		if ch.ICAC, err = cert.DecodeTLV(icac); err != nil {
			return nil, fmt.Errorf("%w: ICAC: %w", ErrConfig, err)
		}
	}
	// Validate at the NOC's own not-before, where an honest chain is valid.
	v, err := ch.Verify(cert.VerifyOptions{Epoch: nc.NotBefore})
	if err != nil {
		return nil, fmt.Errorf("%w: own chain: %w", ErrConfig, err)
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil || string(pub) != string(nc.PublicKey) {
		return nil, fmt.Errorf("%w: the key is not the NOC's", ErrConfig)
	}
	f := &Fabric{Index: index, FabricID: v.FabricID, NodeID: v.NodeID, RCAC: rcac,
		NOC: append([]byte(nil), noc...), Key: key}
	if len(icac) > 0 {
		f.ICAC = append([]byte(nil), icac...)
	}
	for _, ek := range ipkEpochKeys {
		ipk, err := OperationalIPK(ek, rcac.PublicKey, v.FabricID)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		f.IPKs = append(f.IPKs, ipk)
	}
	return f, nil
}

// FabricFromTestCA returns node i of a fabric minted by package testca,
// with its IPK epoch key.
func FabricFromTestCA(index uint8, f *testca.Fabric, i int) (*Fabric, error) {
	if i < 0 || i >= len(f.Nodes) {
		return nil, errors.New("casesess: no such node in the test fabric")
	}
	var icac []byte
	if f.ICAC != nil {
		icac = f.ICAC.TLV
	}
	return NewFabric(index, f.RCAC.Cert, f.Nodes[i].TLV, icac, f.Nodes[i].Key, f.IPK)
}

// initiatorIPK is the IPK an initiator uses for the destination id: the
// one with the second oldest epoch start time if there are several, else
// the only one (spec 4.14.2.2.1; SDK RecoverInitiatorIpk).
func (f *Fabric) initiatorIPK() [IPKLen]byte {
	if n := len(f.IPKs); n > 1 {
		return f.IPKs[n-2]
	}
	return f.IPKs[0]
}

// matchDestination finds the fabric and IPK a Sigma1's destination id
// names, trying every IPK of every fabric in order (SDK
// FindLocalNodeFromDestinationId).
func matchDestination(fabrics []*Fabric, dest [DestinationLen]byte, initiatorRandom [RandomLen]byte) (*Fabric, [IPKLen]byte, bool) {
	for _, f := range fabrics {
		for _, ipk := range f.IPKs {
			d, err := DestinationID(ipk, initiatorRandom, f.RCAC.PublicKey, f.FabricID, f.NodeID)
			if err == nil && d == dest {
				return f, ipk, true
			}
		}
	}
	return nil, [IPKLen]byte{}, false
}

// verifyPeer decodes the peer's NOC and ICAC, validates the chain against
// the fabric's root at the configured time, and checks the fabric id (spec
// 4.14.2.3 step 4, 4.14.2.4; SDK FabricTable::VerifyCredentials plus the
// fabricId checks of HandleSigma2 and HandleSigma3b).
func (f *Fabric) verifyPeer(tbe *TBEData, opts cert.VerifyOptions) (*cert.Verified, *ecdsa.PublicKey, error) {
	noc, err := cert.DecodeTLV(tbe.NOC)
	if err != nil {
		return nil, nil, &CredentialError{Reason: "NOC does not decode", Err: err}
	}
	ch := cert.Chain{RCAC: f.RCAC, NOC: noc}
	if len(tbe.ICAC) > 0 {
		if ch.ICAC, err = cert.DecodeTLV(tbe.ICAC); err != nil {
			return nil, nil, &CredentialError{Reason: "ICAC does not decode", Err: err}
		}
	}
	v, err := ch.Verify(opts)
	if err != nil {
		return nil, nil, &CredentialError{Reason: "chain does not verify", Err: err}
	}
	if v.FabricID != f.FabricID {
		return nil, nil, &CredentialError{Reason: fmt.Sprintf("peer fabric id 0x%016X, ours is 0x%016X", v.FabricID, f.FabricID),
			Err: ErrPeerIdentity}
	}
	pub, err := noc.PublicKeyECDSA()
	if err != nil {
		return nil, nil, &CredentialError{Reason: "NOC public key", Err: err}
	}
	return v, pub, nil
}
