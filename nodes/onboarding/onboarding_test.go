package onboarding

import (
	"errors"
	"testing"
)

// Vectors: matter.js prints manual=34970112332 qr=MT:Y.K90AFN00KA0648G00
// for passcode 20202021, discriminator 3840, vendor 0xFFF1, product
// 0x8000, on-network discovery; the SDK's examples print
// MT:Y.K9042C00KA0648G00 for the same with BLE.
func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		p          Payload
		manual, qr string
	}{
		{"matter.js on-network", Payload{VendorID: 0xFFF1, ProductID: 0x8000, Discovery: DiscoveryOnNetwork,
			Discriminator: 3840, Passcode: 20202021}, "34970112332", "MT:Y.K90AFN00KA0648G00"},
		{"SDK example BLE", Payload{VendorID: 0xFFF1, ProductID: 0x8000, Discovery: DiscoveryBLE,
			Discriminator: 3840, Passcode: 20202021}, "34970112332", "MT:Y.K9042C00KA0648G00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.p.Manual()
			if err != nil || m != tc.manual {
				t.Errorf("Manual() = %q, %v; want %q", m, err, tc.manual)
			}
			q, err := tc.p.QR()
			if err != nil || q != tc.qr {
				t.Errorf("QR() = %q, %v; want %q", q, err, tc.qr)
			}
		})
	}
}

func TestVerhoeffDetectsSingleDigitErrors(t *testing.T) {
	code, err := Payload{Discriminator: 0xABC, Passcode: 12345679}.Manual()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(code) - 1 {
		b := []byte(code[:len(code)-1])
		b[i] = '0' + (b[i]-'0'+1)%10
		if verhoeff(string(b)) == int(code[len(code)-1]-'0') {
			t.Errorf("changing digit %d of %s keeps the check digit", i, code)
		}
	}
}

func TestOutOfRange(t *testing.T) {
	for _, p := range []Payload{{Discriminator: 0x1000, Passcode: 1}, {Passcode: 0}, {Passcode: 99999999}} {
		if _, err := p.Manual(); !errors.Is(err, ErrRange) {
			t.Errorf("Manual(%+v) = %v, want ErrRange", p, err)
		}
		if _, err := p.QR(); !errors.Is(err, ErrRange) {
			t.Errorf("QR(%+v) = %v, want ErrRange", p, err)
		}
	}
}
