package commissioner

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

// Fabric is what a commissioner needs of its own fabric: the root (and
// optional ICAC) with the issuing key, the controller's own NOC and key,
// and the IPK epoch key. Make it with FabricFromTestCA or by filling every
// field; it is read, never modified.
type Fabric struct {
	FabricID uint64
	RCAC     *cert.Certificate
	RCACTLV  []byte
	ICAC     *cert.Certificate // nil without an ICAC
	ICACTLV  []byte
	// IssuerKey signs NOCs: the ICAC's key with an ICAC, else the root's.
	IssuerKey *ecdsa.PrivateKey
	// Controller credentials (CaseAdminSubject is ControllerNodeID).
	ControllerNodeID uint64
	ControllerNOC    []byte // Matter TLV
	ControllerKey    *ecdsa.PrivateKey
	// IPKEpochKey is the epoch key of group key set 0, sent in AddNOC as
	// IPKValue (spec 11.18.6.8); CASE uses its operational derivation.
	IPKEpochKey [16]byte
}

// FabricFromTestCA takes the controller as node i of a testca fabric.
func FabricFromTestCA(f *testca.Fabric, i int) (*Fabric, error) {
	if f == nil || i < 0 || i >= len(f.Nodes) {
		return nil, errors.New("commissioner: no such node in the test fabric")
	}
	out := &Fabric{FabricID: f.Options.FabricID, RCAC: f.RCAC.Cert, RCACTLV: f.RCAC.TLV, IssuerKey: f.RCAC.Key,
		ControllerNodeID: f.NodeID(i), ControllerNOC: f.Nodes[i].TLV, ControllerKey: f.Nodes[i].Key, IPKEpochKey: f.IPK}
	if f.ICAC != nil {
		out.ICAC, out.ICACTLV, out.IssuerKey = f.ICAC.Cert, f.ICAC.TLV, f.ICAC.Key
	}
	return out, nil
}

// CASEFabric returns the controller's credentials for session/casesess.
func (f *Fabric) CASEFabric(index uint8) (*casesess.Fabric, error) {
	return casesess.NewFabric(index, f.RCAC, f.ControllerNOC, f.ICACTLV, f.ControllerKey, f.IPKEpochKey)
}

// issuer returns the certificate that signs NOCs.
func (f *Fabric) issuer() *cert.Certificate {
	if f.ICAC != nil {
		return f.ICAC
	}
	return f.RCAC
}

// IssueNOC issues a NOC for pub (an uncompressed P-256 point, from the
// device's CSR) with the given node id, in Matter TLV form. The certificate
// has the shape of package testca's NOCs (connectedhomeip
// src/credentials/CHIPCert.cpp NewNodeOperationalX509Cert): subject
// matter-node-id and matter-fabric-id, cA=FALSE, digitalSignature,
// clientAuth and serverAuth, key ids the SHA-1 of the keys, valid from
// testca.DefaultNotBefore with no expiry. The serial number is derived
// from the key (SHA-256, 8 octets, positive), so the same key always gets
// the same certificate (RFC 6979 signatures). The chain is verified before
// it is returned.
func (f *Fabric) IssueNOC(pub []byte, nodeID uint64) ([]byte, error) {
	if nodeID == 0 || nodeID > 0xFFFF_FFEF_FFFF_FFFF {
		return nil, fmt.Errorf("commissioner: node id 0x%X is not operational (spec 2.5.5.1)", nodeID)
	}
	if len(pub) != 65 || pub[0] != 4 {
		return nil, fmt.Errorf("commissioner: public key of %d octets, want an uncompressed P-256 point", len(pub))
	}
	iss := f.issuer()
	signerPub, err := f.IssuerKey.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	serial := append([]byte(nil), sum[:8]...)
	serial[0] &= 0x7F
	if serial[0] == 0 {
		serial[0] = 1
	}
	c := &cert.Certificate{
		SerialNumber: serial,
		SigAlgo:      cert.SigAlgoECDSAWithSHA256,
		Issuer:       iss.Subject,
		NotBefore:    testca.DefaultNotBefore,
		Subject:      cert.DN{{Tag: cert.AttrMatterNodeID, Value: nodeID}, {Tag: cert.AttrMatterFabricID, Value: f.FabricID}},
		PubKeyAlgo:   cert.PubKeyAlgoEC,
		Curve:        cert.CurvePrime256v1,
		PublicKey:    append([]byte(nil), pub...),
	}
	c.Extensions = []cert.Extension{
		cert.BasicConstraints(false, -1),
		{ID: cert.ExtKeyUsage, PathLen: -1, KeyUsage: cert.KeyUsageDigitalSignature},
		{ID: cert.ExtExtendedKeyUsage, PathLen: -1, Purposes: []cert.KeyPurpose{cert.PurposeClientAuth, cert.PurposeServerAuth}},
		{ID: cert.ExtSubjectKeyID, PathLen: -1, KeyID: testca.KeyID(pub)},
		{ID: cert.ExtAuthorityKeyID, PathLen: -1, KeyID: testca.KeyID(signerPub)},
	}
	if err := c.Sign(f.IssuerKey); err != nil {
		return nil, err
	}
	ch := cert.Chain{RCAC: f.RCAC, ICAC: f.ICAC, NOC: c}
	if _, err := ch.Verify(cert.VerifyOptions{Epoch: c.NotBefore}); err != nil {
		return nil, fmt.Errorf("commissioner: issued NOC does not verify: %w", err)
	}
	return cert.AppendTLV(nil, c)
}

// DefaultControllerNodeID is the controller's node id in a fabric minted
// for it: 112233, chip-tool's default commissioner node id, so captures
// look like chip-tool's. `mattersim commission` and the bridge's virtual
// controller use it.
const DefaultControllerNodeID = 0x1B669
