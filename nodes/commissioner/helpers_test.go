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
)

// A synthetic device attestation PKI in the shape of spec 6.2.2 (and of
// matter.js AttestationCertificateManager): PAA (CA, path length 1), PAI
// (CA, path length 0, VID), DAC (VID, PID, digitalSignature).
type testPKI struct {
	paa, pai, dac          *x509.Certificate
	paaKey, paiKey, dacKey *ecdsa.PrivateKey
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
	return p
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

func attestationResponse(t *testing.T, key *ecdsa.PrivateKey, nonce []byte, challenge [16]byte) *im.SignedElements {
	t.Helper()
	el := (&im.AttestationElements{CertificationDeclaration: []byte{0x30, 0x03, 1, 2, 3}, Nonce: nonce}).Append(nil)
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
