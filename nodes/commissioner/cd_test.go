package commissioner

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// readCDVector reads testdata/matterjs_cd_fff1_8000.hex (source named there).
func readCDVector(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/matterjs_cd_fff1_8000.hex")
	if err != nil {
		t.Fatal(err)
	}
	var h string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") {
			h += strings.TrimSpace(l)
		}
	}
	der, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// The CD matter.js gives its test devices parses to the values of its
// CertificationDeclaration.generate and verifies with the SDK's test CD
// signing certificate.
func TestCDMatterJS(t *testing.T) {
	signers := TestCDSigners()
	if len(signers) != 1 || signers[0].Subject.CommonName != "Matter Test CD Signing Authority" ||
		hex.EncodeToString(signers[0].SubjectKeyId) != "62fa823359acfaa9963e1cfa140addf504f37160" {
		t.Fatalf("test CD signers %v", signers)
	}
	cd, err := ParseCD(readCDVector(t))
	if err != nil {
		t.Fatal(err)
	}
	got := *cd
	got.SignerKeyID, got.Signature, got.Content = nil, nil, nil
	want := CD{FormatVersion: 1, VendorID: 0xFFF1, ProductIDs: []uint16{0x8000}, DeviceTypeID: 22,
		CertificateID: "CSA00000SWC00000-00", VersionNumber: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CD %+v\nwant %+v", got, want)
	}
	p := newPKI(t) // DAC and PAI of vendor 0xFFF1, product 0x8000
	a := &Attested{DAC: p.dac, PAI: p.pai, PAA: p.paa, VendorID: 0xFFF1, ProductID: 0x8000}
	if err := VerifyCD(cd, signers, a, 0xFFF1, 0x8000); err != nil {
		t.Fatal(err)
	}
	// The same CD under another trust store, or for another product.
	if err := VerifyCD(cd, []*x509.Certificate{p.cdSigner}, a, 0xFFF1, 0x8000); !errors.Is(err, ErrCD) {
		t.Fatalf("untrusted signer: %v", err)
	}
	if err := VerifyCD(cd, signers, a, 0xFFF1, 0x8001); !errors.Is(err, ErrCD) {
		t.Fatalf("other BasicInformation ProductID: %v", err)
	}
}

func TestVerifyCD(t *testing.T) {
	p := newPKI(t)
	a := &Attested{DAC: p.dac, PAI: p.pai, PAA: p.paa, VendorID: 0xFFF1, ProductID: 0x8000}
	signers := []*x509.Certificate{p.cdSigner}
	tests := []struct {
		name    string
		f       cdFields
		key     bool // sign with another key
		tamper  bool // flip a content octet after signing
		bvid    uint16
		bpid    uint16
		wantErr bool
	}{
		{name: "valid", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}}, bvid: 0xFFF1, bpid: 0x8000},
		{name: "valid, several products", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8001, 0x8000}}, bvid: 0xFFF1, bpid: 0x8001},
		{name: "BasicInformation not read", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}}},
		{name: "other signing key", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}}, key: true, wantErr: true},
		{name: "content changed", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}}, tamper: true, wantErr: true},
		{name: "other vendor", f: cdFields{vid: 0xFFF2, pids: []uint16{0x8000}}, wantErr: true},
		{name: "DAC product not listed", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8001}}, wantErr: true},
		{name: "BasicInformation vendor differs", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}}, bvid: 0xFFF2, bpid: 0x8000, wantErr: true},
		{name: "DAC origin matches", f: cdFields{vid: 0xFFF2, pids: []uint16{0x8001}, originVID: 0xFFF1, originPID: 0x8000}, bvid: 0xFFF2, bpid: 0x8001},
		{name: "DAC origin differs", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}, originVID: 0xFFF1, originPID: 0x8009}, wantErr: true},
		{name: "PAA authorized", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}, authorizedPAAKey: p.paa.SubjectKeyId}},
		{name: "PAA not authorized", f: cdFields{vid: 0xFFF1, pids: []uint16{0x8000}, authorizedPAAKey: []byte{1, 2, 3}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := p.cdKey
			if tc.key {
				key = newKey(t)
			}
			cd, err := ParseCD(makeCD(t, key, p.cdSigner.SubjectKeyId, tc.f))
			if err != nil {
				t.Fatal(err)
			}
			if tc.tamper {
				cd.Content[len(cd.Content)-2] ^= 1
			}
			err = VerifyCD(cd, signers, a, tc.bvid, tc.bpid)
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrCD)) {
				t.Fatalf("VerifyCD = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestParseCDRejects(t *testing.T) {
	p := newPKI(t)
	good := makeCD(t, p.cdKey, p.cdSigner.SubjectKeyId, cdFields{vid: 0xFFF1, pids: []uint16{0x8000}})
	for name, der := range map[string][]byte{
		"empty":             nil,
		"not DER":           {0x15, 0x18},
		"trailing octets":   append(append([]byte(nil), good...), 0),
		"truncated":         good[:len(good)-4],
		"no version_number": makeCD(t, p.cdKey, p.cdSigner.SubjectKeyId, cdFields{vid: 0xFFF1, pids: []uint16{0x8000}, omitVersion: true}),
		"no product ids":    makeCD(t, p.cdKey, p.cdSigner.SubjectKeyId, cdFields{vid: 0xFFF1}),
	} {
		if _, err := ParseCD(der); !errors.Is(err, ErrCD) {
			t.Errorf("%s: ParseCD = %v, want ErrCD", name, err)
		}
	}
}
