package fabrics

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"mattersim/session/cert"
)

// Attestation is a device's attestation material (spec 6.2): DAC and PAI
// in X.509 DER, the DAC private key, and the Certification Declaration
// (CMS signed-data, DER).
type Attestation struct {
	DAC, PAI []byte
	Key      *ecdsa.PrivateKey
	CD       []byte
}

// Sign signs msg || challenge with the DAC key: ECDSA P-256 with SHA-256,
// in the raw r || s form (spec 6.2.3 and 11.18.6.2/6: the
// AttestationSignature of AttestationResponse and CSRResponse; SDK
// DeviceAttestationCredentialsProvider::SignWithDeviceAttestationKey).
func (a *Attestation) Sign(rand io.Reader, msg []byte, challenge [16]byte) ([]byte, error) {
	if a.Key == nil {
		return nil, errors.New("fabrics: no DAC key")
	}
	h := sha256.New()
	h.Write(msg)
	h.Write(challenge[:])
	// Deterministic (RFC 6979: crypto/ecdsa with a nil random source),
	// as session/casesess and cert sign: ecdsa.SignASN1 with a custom
	// reader reads it a varying number of times (randutil.MaybeReadByte),
	// so a seeded simulation would not replay byte for byte. rand is
	// kept in the signature for callers.
	_ = rand
	der, err := a.Key.Sign(nil, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, err
	}
	raw, ok := cert.SignatureFromASN1(der)
	if !ok {
		return nil, errors.New("fabrics: bad ECDSA signature encoding")
	}
	return raw, nil
}

//go:embed testdata/*.pem testdata/*.hex
var testCreds embed.FS

// TestAttestation returns the SDK's public test attestation credentials
// for VendorID 0xFFF1, ProductID 0x8000 (testdata/README.md names the
// source files): DAC Chip-Test-DAC-FFF1-8000-0000, PAI
// Chip-Test-PAI-FFF1-8000, and the SDK examples' Certification
// Declaration. For testing only.
func TestAttestation() (Attestation, error) {
	var a Attestation
	der := func(name string) ([]byte, error) {
		b, err := testCreds.ReadFile("testdata/" + name)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("fabrics: %s: no PEM block", name)
		}
		return blk.Bytes, nil
	}
	var err error
	if a.DAC, err = der("Chip-Test-DAC-FFF1-8000-0000-Cert.pem"); err != nil {
		return a, err
	}
	if a.PAI, err = der("Chip-Test-PAI-FFF1-8000-Cert.pem"); err != nil {
		return a, err
	}
	k, err := der("Chip-Test-DAC-FFF1-8000-0000-Key.pem")
	if err != nil {
		return a, err
	}
	if a.Key, err = x509.ParseECPrivateKey(k); err != nil {
		return a, fmt.Errorf("fabrics: DAC key: %w", err)
	}
	h, err := testCreds.ReadFile("testdata/Chip-Test-CD-FFF1-8000-examples.hex")
	if err != nil {
		return a, err
	}
	if a.CD, err = hex.DecodeString(strings.Join(strings.Fields(string(h)), "")); err != nil {
		return a, fmt.Errorf("fabrics: CD: %w", err)
	}
	return a, nil
}
