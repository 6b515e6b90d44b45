package commissioner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"path"
	"strconv"
	"time"

	"mattersim/im"
)

// The SDK's public test PAAs (connectedhomeip
// credentials/development/paa-root-certs: Chip-Test-PAA-NoVID-Cert.der,
// which matter.js also carries as TestCert_PAA_NoVID_Cert in
// packages/protocol/src/certificate/ChipPAAuthorities.ts and uses to sign
// its generated test PAIs, and Chip-Test-PAA-FFF1-Cert.der).
//
//go:embed paa/*.der
var testPAAs embed.FS

// TestPAAs returns the SDK's public test PAAs (never trust them in
// production).
func TestPAAs() []*x509.Certificate {
	ents, _ := testPAAs.ReadDir("paa")
	var out []*x509.Certificate
	for _, e := range ents {
		b, err := testPAAs.ReadFile(path.Join("paa", e.Name()))
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(b); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Attestation errors.
var (
	ErrAttestation = errors.New("commissioner: device attestation failed")
	ErrCSR         = errors.New("commissioner: CSR check failed")
)

// Matter DN attribute OIDs of the attestation PKI (spec 6.2.2.2, 6.2.2.3).
var (
	oidVendorID  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37244, 2, 1}
	oidProductID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37244, 2, 2}
)

// Attested is what a verified attestation tells about the device.
type Attested struct {
	DAC, PAI, PAA *x509.Certificate
	VendorID      uint16 // from the DAC subject (0 when absent)
	ProductID     uint16
	DACKey        *ecdsa.PublicKey
	// CD is the Certification Declaration of the attestation elements,
	// decoded; VerifyCD checks its signature and fields.
	CD *CD
}

// dnID reads a Matter VID/PID attribute (four upper-case hex digits).
func dnID(c *x509.Certificate, oid asn1.ObjectIdentifier) (uint16, bool) {
	for _, a := range c.Subject.Names {
		if !a.Type.Equal(oid) {
			continue
		}
		s, ok := a.Value.(string)
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseUint(s, 16, 16)
		return uint16(v), err == nil
	}
	return 0, false
}

// VerifyAttestation checks the device attestation (spec 6.2.3.1): the DAC
// chains to a PAI and one of paas at now (X.509 validity; the DAC and PAI
// must carry keyCertSign/digitalSignature as their profiles demand, which
// crypto/x509 checks through basic constraints), the DAC's VID equals the
// PAI's when the PAI has one, the AttestationResponse signature is the
// DAC key's ECDSA-SHA256 signature (r||s, 64 octets) over
// AttestationElements || attestation challenge (spec 11.18.4.7), and the
// elements carry our nonce and a well-formed Certification Declaration
// (ParseCD; its signature and fields are VerifyCD's).
func VerifyAttestation(dacDER, paiDER []byte, resp *im.SignedElements, nonce []byte, challenge [16]byte, paas []*x509.Certificate, now time.Time) (*Attested, error) {
	fail := func(format string, a ...any) (*Attested, error) {
		return nil, fmt.Errorf("%w: %s", ErrAttestation, fmt.Sprintf(format, a...))
	}
	dac, err := x509.ParseCertificate(dacDER)
	if err != nil {
		return fail("DAC: %v", err)
	}
	pai, err := x509.ParseCertificate(paiDER)
	if err != nil {
		return fail("PAI: %v", err)
	}
	roots := x509.NewCertPool()
	for _, p := range paas {
		roots.AddCert(p)
	}
	inter := x509.NewCertPool()
	inter.AddCert(pai)
	chains, err := dac.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fail("DAC → PAI → PAA chain: %v", err)
	}
	ch := chains[0]
	if len(ch) != 3 {
		return fail("chain of %d certificates, want DAC, PAI, PAA", len(ch))
	}
	a := &Attested{DAC: dac, PAI: ch[1], PAA: ch[2]}
	a.VendorID, _ = dnID(dac, oidVendorID)
	a.ProductID, _ = dnID(dac, oidProductID)
	if pv, ok := dnID(pai, oidVendorID); ok && pv != a.VendorID {
		return fail("DAC vendor id 0x%04X differs from the PAI's 0x%04X", a.VendorID, pv)
	}
	key, ok := dac.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return fail("DAC key is not P-256")
	}
	a.DACKey = key
	if !verifyRaw(key, resp.Elements, challenge, resp.Signature) {
		return fail("attestation signature does not verify with the DAC key")
	}
	el, err := im.DecodeAttestationElements(resp.Elements)
	if err != nil {
		return fail("%v", err)
	}
	if string(el.Nonce) != string(nonce) {
		return fail("attestation nonce differs from ours")
	}
	if a.CD, err = ParseCD(el.CertificationDeclaration); err != nil {
		return nil, err
	}
	return a, nil
}

// verifyRaw checks a raw r||s ECDSA-SHA256 signature over msg || challenge.
func verifyRaw(key *ecdsa.PublicKey, msg []byte, challenge [16]byte, sig []byte) bool {
	if len(sig) != im.AttestationSigLen {
		return false
	}
	h := sha256.New()
	h.Write(msg)
	h.Write(challenge[:])
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, h.Sum(nil), r, s)
}

// VerifyCSR checks a CSRResponse (spec 11.18.6.6): the attestation
// signature over NOCSRElements || attestation challenge with the DAC key
// (skipped when dacKey is nil, i.e. attestation was skipped), the nonce,
// and the PKCS#10 request's self-signature; it returns the requested
// public key as an uncompressed point.
func VerifyCSR(resp *im.SignedElements, nonce []byte, challenge [16]byte, dacKey *ecdsa.PublicKey) ([]byte, error) {
	fail := func(format string, a ...any) ([]byte, error) {
		return nil, fmt.Errorf("%w: %s", ErrCSR, fmt.Sprintf(format, a...))
	}
	if dacKey != nil && !verifyRaw(dacKey, resp.Elements, challenge, resp.Signature) {
		return fail("NOCSR signature does not verify with the DAC key")
	}
	el, err := im.DecodeNOCSRElements(resp.Elements)
	if err != nil {
		return fail("%v", err)
	}
	if string(el.Nonce) != string(nonce) {
		return fail("CSR nonce differs from ours")
	}
	csr, err := x509.ParseCertificateRequest(el.CSR)
	if err != nil {
		return fail("PKCS#10: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return fail("PKCS#10 signature: %v", err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fail("CSR key is not P-256")
	}
	b, err := pub.Bytes()
	if err != nil {
		return fail("%v", err)
	}
	return b, nil
}
