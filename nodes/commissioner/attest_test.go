package commissioner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"mattersim/im"
)

func TestTestPAAs(t *testing.T) {
	paas := TestPAAs()
	if len(paas) != 2 {
		t.Fatalf("%d embedded PAAs, want 2", len(paas))
	}
	for _, p := range paas {
		if p.Subject.CommonName != "Matter Test PAA" || !p.IsCA {
			t.Errorf("PAA %q (CA %v)", p.Subject.CommonName, p.IsCA)
		}
		if err := p.CheckSignatureFrom(p); err != nil {
			t.Errorf("PAA %q not self-signed: %v", p.Subject.CommonName, err)
		}
	}
}

func TestVerifyAttestation(t *testing.T) {
	p := newPKI(t)
	nonce := make([]byte, 32)
	nonce[0] = 1
	var ch [16]byte
	ch[0] = 9
	ok := attestationResponse(t, p.dacKey, p.cd, nonce, ch)

	other := newPKI(t) // a chain under a PAA we do not trust
	tests := []struct {
		name     string
		dac, pai *x509.Certificate
		resp     *im.SignedElements
		nonce    []byte
		ch       [16]byte
		now      time.Time
		wantErr  bool
	}{
		{name: "valid", dac: p.dac, pai: p.pai, resp: ok, nonce: nonce, ch: ch, now: testNow},
		{name: "other nonce", dac: p.dac, pai: p.pai, resp: ok, nonce: make([]byte, 32), ch: ch, now: testNow, wantErr: true},
		{name: "other challenge", dac: p.dac, pai: p.pai, resp: ok, nonce: nonce, ch: [16]byte{1}, now: testNow, wantErr: true},
		{name: "signed by another key", dac: p.dac, pai: p.pai, resp: attestationResponse(t, newKey(t), p.cd, nonce, ch), nonce: nonce, ch: ch, now: testNow, wantErr: true},
		{name: "untrusted PAA", dac: other.dac, pai: other.pai, resp: attestationResponse(t, other.dacKey, p.cd, nonce, ch), nonce: nonce, ch: ch, now: testNow, wantErr: true},
		{name: "DAC under another PAI", dac: other.dac, pai: p.pai, resp: attestationResponse(t, other.dacKey, p.cd, nonce, ch), nonce: nonce, ch: ch, now: testNow, wantErr: true},
		{name: "before validity", dac: p.dac, pai: p.pai, resp: ok, nonce: nonce, ch: ch, now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: true},
		{name: "PAI as DAC", dac: p.pai, pai: p.pai, resp: attestationResponse(t, p.paiKey, p.cd, nonce, ch), nonce: nonce, ch: ch, now: testNow, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := VerifyAttestation(tc.dac.Raw, tc.pai.Raw, tc.resp, tc.nonce, tc.ch, []*x509.Certificate{p.paa}, tc.now)
			if tc.wantErr {
				if !errors.Is(err, ErrAttestation) {
					t.Fatalf("err = %v, want ErrAttestation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.VendorID != 0xFFF1 || a.ProductID != 0x8000 || a.PAA.Subject.CommonName != "Test PAA" || a.CD == nil || a.CD.VendorID != 0xFFF1 {
				t.Fatalf("attested %+v", a)
			}
		})
	}
	t.Run("VID mismatch", func(t *testing.T) {
		far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		k := newKey(t)
		dac := issueX509(t, 9, matterName("DAC", "FFF2", "8000"), k, p.pai, p.paiKey, false, -1, far)
		_, err := VerifyAttestation(dac.Raw, p.pai.Raw, attestationResponse(t, k, p.cd, nonce, ch), nonce, ch, []*x509.Certificate{p.paa}, testNow)
		if !errors.Is(err, ErrAttestation) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("garbage DER", func(t *testing.T) {
		if _, err := VerifyAttestation([]byte{0x30, 0x00}, p.pai.Raw, ok, nonce, ch, []*x509.Certificate{p.paa}, testNow); !errors.Is(err, ErrAttestation) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestVerifyCSR(t *testing.T) {
	p := newPKI(t)
	op := newKey(t)
	nonce := make([]byte, 32)
	nonce[5] = 5
	var ch [16]byte
	ch[3] = 3
	csr := csrFor(t, op)
	wantPub, _ := op.PublicKey.Bytes()

	tampered := append([]byte(nil), csr...)
	tampered[len(tampered)-3] ^= 0xFF // inside the signature
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name    string
		resp    *im.SignedElements
		dacKey  *ecdsa.PublicKey
		nonce   []byte
		wantErr bool
	}{
		{"valid", csrResponse(t, p.dacKey, csr, nonce, ch), &p.dacKey.PublicKey, nonce, false},
		{"valid, attestation skipped", csrResponse(t, newKey(t), csr, nonce, ch), nil, nonce, false},
		{"not signed by the DAC", csrResponse(t, newKey(t), csr, nonce, ch), &p.dacKey.PublicKey, nonce, true},
		{"other nonce", csrResponse(t, p.dacKey, csr, nonce, ch), &p.dacKey.PublicKey, make([]byte, 32), true},
		{"PKCS#10 signature broken", csrResponse(t, p.dacKey, tampered, nonce, ch), &p.dacKey.PublicKey, nonce, true},
		{"P-384 key", csrResponse(t, p.dacKey, csrFor384(t, p384), nonce, ch), &p.dacKey.PublicKey, nonce, true},
		{"not a CSR", csrResponse(t, p.dacKey, []byte{0x30, 0x00}, nonce, ch), &p.dacKey.PublicKey, nonce, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := VerifyCSR(tc.resp, tc.nonce, ch, tc.dacKey)
			if tc.wantErr {
				if !errors.Is(err, ErrCSR) {
					t.Fatalf("err = %v, want ErrCSR", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(pub) != string(wantPub) {
				t.Fatal("returned key is not the CSR's")
			}
		})
	}
}

func csrFor384(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
