// Package testca is a deterministic Matter test certificate authority: from
// a seed it mints a fabric (an RCAC, an optional ICAC, and NOCs for any
// number of nodes, with their private keys and an IPK epoch key), the same
// bytes on every run, machine and Go version. It is for simulations,
// tests and lab devices, never for production fabrics: anyone who knows
// the seed knows every key.
//
// Determinism. crypto/ecdsa's key generation ignores a caller's reader
// (Go 1.26), so keys are derived here: the private scalar of (role, index)
// is HKDF-SHA256 (RFC 5869) with secret "mattersim/testca/v1" || seed (8
// octets, big-endian), no salt, and info "key/" || role || "/" || index
// (8 octets, big-endian) || attempt (1 octet), read as a big-endian
// integer and rejected and re-derived with the next attempt unless 0 < d <
// n (crypto/ecdsa.ParseRawPrivateKey checks the range). Serial numbers
// (info "serial/..."), the IPK epoch key (info "ipk") come from the same
// HKDF. Signatures are deterministic by RFC 6979 (crypto/ecdsa signing with
// a nil random source, see cert.Certificate.Sign), so a certificate is a
// pure function of the seed and the Options.
//
// The certificates follow the SDK's issuers (connectedhomeip
// src/credentials/CHIPCert.cpp NewRootX509Cert, NewICAX509Cert,
// NewNodeOperationalX509Cert): RCAC subject matter-rcac-id and
// matter-fabric-id, basic constraints cA=TRUE (path length 1 with an ICAC,
// none without), key usage keyCertSign|cRLSign; ICAC subject matter-icac-id
// and matter-fabric-id, cA=TRUE with path length 0; NOC subject
// matter-node-id, matter-fabric-id and the CATs, cA=FALSE, digitalSignature,
// extended key usage clientAuth and serverAuth. Key identifiers are the
// SHA-1 of the public key (RFC 5280 4.2.1.2 method 1).
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"mattersim/session/cert"
)

// Roles name the key-derivation streams.
const (
	RoleRCAC = "rcac"
	RoleICAC = "icac"
	RoleNOC  = "noc"
)

// Options describe a fabric. The zero value mints fabric 1 with one node
// and no ICAC from seed 0.
type Options struct {
	Seed        uint64
	FabricID    uint64   // 0 means 1
	Nodes       int      // number of NOCs; 0 means 1
	FirstNodeID uint64   // node ids are FirstNodeID, FirstNodeID+1, ...; 0 means 1
	ICAC        bool     // issue the NOCs from an ICAC
	CATs        []uint32 // CASE Authenticated Tags put in every NOC
	RCACID      uint64   // 0 means 1
	ICACID      uint64   // 0 means 2
	NotBefore   cert.Time
	NotAfter    cert.Time // cert.NoExpiry (the zero value) for none
}

// DefaultNotBefore is the not-before of certificates when Options.NotBefore
// is zero: 2020-01-01T00:00:00Z, before any device's last-known-good time.
const DefaultNotBefore cert.Time = 631152000

func (o Options) resolved() Options {
	if o.FabricID == 0 {
		o.FabricID = 1
	}
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if o.FirstNodeID == 0 {
		o.FirstNodeID = 1
	}
	if o.RCACID == 0 {
		o.RCACID = 1
	}
	if o.ICACID == 0 {
		o.ICACID = 2
	}
	if o.NotBefore == 0 {
		o.NotBefore = DefaultNotBefore
	}
	return o
}

// Identity is a certificate with its private key and both encodings,
// owned by the Identity.
type Identity struct {
	Cert *cert.Certificate
	Key  *ecdsa.PrivateKey
	TLV  []byte // Matter TLV form
	DER  []byte // X.509 DER form
}

// Fabric is a minted fabric. Nodes[i] has node id FirstNodeID+i. A Fabric
// is not modified after Mint returns, so it may be read concurrently.
type Fabric struct {
	Options Options // with defaults filled in
	RCAC    Identity
	ICAC    *Identity // nil without an ICAC
	Nodes   []Identity
	IPK     [16]byte // the IPK epoch key (group key set 0)
}

// Chain returns node i's chain.
func (f *Fabric) Chain(i int) cert.Chain {
	ch := cert.Chain{RCAC: f.RCAC.Cert, NOC: f.Nodes[i].Cert}
	if f.ICAC != nil {
		ch.ICAC = f.ICAC.Cert
	}
	return ch
}

// NodeID returns the node id of Nodes[i].
func (f *Fabric) NodeID(i int) uint64 { return f.Options.FirstNodeID + uint64(i) }

// Mint mints the fabric described by o.
func Mint(o Options) (*Fabric, error) {
	o = o.resolved()
	if o.Nodes < 0 {
		return nil, errors.New("testca: negative node count")
	}
	if last := o.FirstNodeID + uint64(o.Nodes) - 1; last < o.FirstNodeID || last > 0xFFFF_FFEF_FFFF_FFFF {
		return nil, fmt.Errorf("testca: node ids 0x%X.. run out of the operational range", o.FirstNodeID)
	}
	if len(o.CATs) > 3 {
		return nil, errors.New("testca: at most 3 CATs")
	}
	for i, c := range o.CATs {
		if c&0xFFFF == 0 {
			return nil, fmt.Errorf("testca: CAT 0x%08X has version 0", c)
		}
		for _, d := range o.CATs[:i] {
			if c>>16 == d>>16 {
				return nil, fmt.Errorf("testca: CATs 0x%08X and 0x%08X share an identifier", d, c)
			}
		}
	}
	s := newStream(o.Seed)
	f := &Fabric{Options: o}
	copy(f.IPK[:], s.derive("ipk", 16))

	rootKey := s.key(RoleRCAC, 0)
	rootSubject := cert.DN{{Tag: cert.AttrMatterRCACID, Value: o.RCACID}, {Tag: cert.AttrMatterFabricID, Value: o.FabricID}}
	pathLen := -1
	if o.ICAC {
		pathLen = 1
	}
	var err error
	f.RCAC, err = issue(s, RoleRCAC, 0, o, rootSubject, rootSubject, rootKey, rootKey, cert.BasicConstraints(true, pathLen),
		cert.KeyUsageKeyCertSign|cert.KeyUsageCRLSign, nil)
	if err != nil {
		return nil, err
	}
	issuer, issuerKey := f.RCAC, rootKey
	if o.ICAC {
		icacKey := s.key(RoleICAC, 0)
		subj := cert.DN{{Tag: cert.AttrMatterICACID, Value: o.ICACID}, {Tag: cert.AttrMatterFabricID, Value: o.FabricID}}
		ica, err := issue(s, RoleICAC, 0, o, subj, issuer.Cert.Subject, icacKey, issuerKey, cert.BasicConstraints(true, 0),
			cert.KeyUsageKeyCertSign|cert.KeyUsageCRLSign, nil)
		if err != nil {
			return nil, err
		}
		f.ICAC = &ica
		issuer, issuerKey = ica, icacKey
	}
	f.Nodes = make([]Identity, o.Nodes)
	for i := range f.Nodes {
		id := f.NodeID(i)
		subj := cert.DN{{Tag: cert.AttrMatterNodeID, Value: id}, {Tag: cert.AttrMatterFabricID, Value: o.FabricID}}
		for _, c := range o.CATs {
			subj = append(subj, cert.Attribute{Tag: cert.AttrMatterNOCCAT, Value: uint64(c)})
		}
		f.Nodes[i], err = issue(s, RoleNOC, uint64(i), o, subj, issuer.Cert.Subject, s.key(RoleNOC, uint64(i)), issuerKey,
			cert.BasicConstraints(false, -1), cert.KeyUsageDigitalSignature,
			[]cert.KeyPurpose{cert.PurposeClientAuth, cert.PurposeServerAuth})
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// issue makes and signs one certificate.
func issue(s *stream, role string, index uint64, o Options, subject, issuer cert.DN, key, signer *ecdsa.PrivateKey,
	bc cert.Extension, ku cert.KeyUsage, purposes []cert.KeyPurpose) (Identity, error) {
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return Identity{}, err
	}
	signerPub, err := signer.PublicKey.Bytes()
	if err != nil {
		return Identity{}, err
	}
	c := &cert.Certificate{
		SerialNumber: s.serial(role, index),
		SigAlgo:      cert.SigAlgoECDSAWithSHA256,
		Issuer:       issuer,
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		Subject:      subject,
		PubKeyAlgo:   cert.PubKeyAlgoEC,
		Curve:        cert.CurvePrime256v1,
		PublicKey:    pub,
	}
	c.Extensions = append(c.Extensions, bc, cert.Extension{ID: cert.ExtKeyUsage, PathLen: -1, KeyUsage: ku})
	if purposes != nil {
		c.Extensions = append(c.Extensions, cert.Extension{ID: cert.ExtExtendedKeyUsage, PathLen: -1, Purposes: purposes})
	}
	c.Extensions = append(c.Extensions,
		cert.Extension{ID: cert.ExtSubjectKeyID, PathLen: -1, KeyID: KeyID(pub)},
		cert.Extension{ID: cert.ExtAuthorityKeyID, PathLen: -1, KeyID: KeyID(signerPub)})
	if err := c.Sign(signer); err != nil {
		return Identity{}, err
	}
	id := Identity{Cert: c, Key: key}
	if id.TLV, err = cert.AppendTLV(nil, c); err != nil {
		return Identity{}, err
	}
	if id.DER, err = cert.AppendDER(nil, c); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// KeyID returns the key identifier of an uncompressed public key: its
// SHA-1 (RFC 5280 4.2.1.2, method 1), as the SDK computes it.
func KeyID(pub []byte) []byte {
	h := sha1.Sum(pub)
	return h[:]
}

// stream derives key material from the seed.
type stream struct{ secret []byte }

func newStream(seed uint64) *stream {
	s := append([]byte("mattersim/testca/v1"), make([]byte, 8)...)
	binary.BigEndian.PutUint64(s[len(s)-8:], seed)
	return &stream{secret: s}
}

func (s *stream) derive(info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, s.secret, nil, info, n)
	if err != nil {
		panic("testca: hkdf: " + err.Error()) // only for n > 255*32
	}
	return out
}

func indexed(kind, role string, index uint64, attempt byte) string {
	b := []byte(kind + "/" + role + "/")
	b = binary.BigEndian.AppendUint64(b, index)
	return string(append(b, attempt))
}

// key derives the P-256 key of (role, index), by rejection sampling.
func (s *stream) key(role string, index uint64) *ecdsa.PrivateKey {
	for attempt := 0; attempt < 256; attempt++ {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), s.derive(indexed("key", role, index, byte(attempt)), 32))
		if err == nil {
			return k
		}
	}
	panic("testca: 256 rejected scalars in a row") // probability about 2^-8192
}

// Key returns the private key Mint uses for (role, index) from seed.
func Key(seed uint64, role string, index uint64) *ecdsa.PrivateKey {
	return newStream(seed).key(role, index)
}

// serial derives an 8-octet positive serial number in minimal DER form.
func (s *stream) serial(role string, index uint64) []byte {
	b := s.derive(indexed("serial", role, index, 0), 8)
	b[0] &= 0x7F
	if b[0] == 0 {
		b[0] = 1
	}
	return b
}
