package commissioner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"mattersim/im"
	"mattersim/session/cert/testca"
	"mattersim/tlv"
)

// A synthetic device attestation PKI in the shape of spec 6.2.2 (and of
// matter.js AttestationCertificateManager): PAA (CA, path length 1), PAI
// (CA, path length 0, VID), DAC (VID, PID, digitalSignature).
type testPKI struct {
	paa, pai, dac          *x509.Certificate
	paaKey, paiKey, dacKey *ecdsa.PrivateKey
	cdSigner               *x509.Certificate // a CD signing certificate
	cdKey                  *ecdsa.PrivateKey
	cd                     []byte // a CD for 0xFFF1/0x8000 signed by cdKey
}

var testNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func matterName(cn string, vid, pid string) pkix.Name {
	n := pkix.Name{CommonName: cn}
	if vid != "" {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier(oidVendorID), Value: vid})
	}
	if pid != "" {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier(oidProductID), Value: pid})
	}
	return n
}

func issueX509(t *testing.T, serial int64, subj pkix.Name, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool, pathLen int, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subj,
		NotBefore: time.Date(2021, 6, 28, 0, 0, 0, 0, time.UTC), NotAfter: notAfter,
		BasicConstraintsValid: true, IsCA: ca, MaxPathLen: pathLen, MaxPathLenZero: ca && pathLen == 0,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	p := &testPKI{paaKey: newKey(t), paiKey: newKey(t), dacKey: newKey(t)}
	p.paa = issueX509(t, 1, matterName("Test PAA", "", ""), p.paaKey, nil, nil, true, 1, far)
	p.pai = issueX509(t, 2, matterName("Test PAI", "FFF1", ""), p.paiKey, p.paa, p.paaKey, true, 0, far)
	p.dac = issueX509(t, 3, matterName("Test DAC", "FFF1", "8000"), p.dacKey, p.pai, p.paiKey, false, -1, far)
	p.cdKey = newKey(t)
	p.cdSigner = issueX509(t, 4, matterName("Test CD Signing Authority", "", ""), p.cdKey, nil, nil, true, 1, far)
	p.cd = makeCD(t, p.cdKey, p.cdSigner.SubjectKeyId, cdFields{vid: 0xFFF1, pids: []uint16{0x8000}})
	return p
}

// cdFields are the variable fields of a test Certification Declaration.
type cdFields struct {
	vid              uint16
	pids             []uint16
	originVID        uint16 // with originPID: dac_origin ids
	originPID        uint16
	authorizedPAAKey []byte // one authorized_paa_list entry
	omitVersion      bool   // leave out version_number (mandatory)
}

// cdContent encodes the TLV content of spec 6.3.1 with the values
// matter.js CertificationDeclaration.generate uses.
func cdContent(f cdFields) []byte {
	w := tlv.NewWriter(nil)
	c := tlv.ContextTag
	w.StartStruct(tlv.AnonymousTag())
	w.PutUint(c(0), 1)
	w.PutUint(c(1), uint64(f.vid))
	w.StartArray(c(2))
	for _, p := range f.pids {
		w.PutUint(tlv.AnonymousTag(), uint64(p))
	}
	w.EndContainer()
	w.PutUint(c(3), 22)
	w.PutString(c(4), "CSA00000SWC00000-00")
	w.PutUint(c(5), 0)
	w.PutUint(c(6), 0)
	if !f.omitVersion {
		w.PutUint(c(7), 1)
	}
	w.PutUint(c(8), 0)
	if f.originVID != 0 {
		w.PutUint(c(9), uint64(f.originVID))
		w.PutUint(c(10), uint64(f.originPID))
	}
	if f.authorizedPAAKey != nil {
		w.StartArray(c(11))
		w.PutBytes(tlv.AnonymousTag(), f.authorizedPAAKey)
		w.EndContainer()
	}
	w.EndContainer()
	return w.Bytes()
}

// makeCD wraps the content in CMS SignedData signed by key (RFC 5652, as
// the SDK's CMS_Sign writes it: no certificates, no signed attributes).
func makeCD(t *testing.T, key *ecdsa.PrivateKey, skid []byte, f cdFields) []byte {
	t.Helper()
	content := cdContent(f)
	h := sha256.Sum256(content)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256}
	sd := cmsSignedData{Version: 3, DigestAlgorithms: []pkix.AlgorithmIdentifier{sha},
		EncapContentInfo: cmsEncapContentInfo{EContentType: oidData, EContent: content},
		SignerInfos: []cmsSignerInfo{{Version: 3, SID: skid, DigestAlgorithm: sha,
			SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, Signature: sig}}}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(cmsContentInfo{ContentType: oidSignedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// signRaw signs msg || challenge as a device does (r||s, 64 octets).
func signRaw(t *testing.T, key *ecdsa.PrivateKey, msg []byte, challenge [16]byte) []byte {
	t.Helper()
	h := sha256.Sum256(append(append([]byte(nil), msg...), challenge[:]...))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

func attestationResponse(t *testing.T, key *ecdsa.PrivateKey, cd, nonce []byte, challenge [16]byte) *im.SignedElements {
	t.Helper()
	el := (&im.AttestationElements{CertificationDeclaration: cd, Nonce: nonce}).Append(nil)
	return &im.SignedElements{Elements: el, Signature: signRaw(t, key, el, challenge)}
}

func csrFor(t *testing.T, opKey *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{Organization: []string{"CSR"}}}, opKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func csrResponse(t *testing.T, dacKey *ecdsa.PrivateKey, csr, nonce []byte, challenge [16]byte) *im.SignedElements {
	t.Helper()
	el := (&im.NOCSRElements{CSR: csr, Nonce: nonce}).Append(nil)
	return &im.SignedElements{Elements: el, Signature: signRaw(t, dacKey, el, challenge)}
}

func testFabric(t *testing.T, icac bool) *Fabric {
	t.Helper()
	tf, err := testca.Mint(testca.Options{Seed: 7, FabricID: 0xFAB1, FirstNodeID: 0x1B669, ICAC: icac})
	if err != nil {
		t.Fatal(err)
	}
	f, err := FabricFromTestCA(tf, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func pkiRoots(p *testPKI) []*x509.Certificate { return []*x509.Certificate{p.paa} }
