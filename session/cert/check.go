package cert

import (
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// checkEncodable reports why c has no encoding in the given form, or nil.
// Both forms share one set of rules, so that whatever encodes in one
// converts to the other:
//   - serial number: 1..20 octets, a positive minimally encoded DER INTEGER;
//   - signature algorithm ecdsa-with-SHA256, public key EC on prime256v1,
//     an uncompressed 65-octet point, a 64-octet r||s signature;
//   - a non-empty issuer; attribute tags known; CATs 32-bit; strings valid
//     UTF-8, PrintableString and IA5String variants in their alphabets;
//   - extensions known, none of the five typed ones twice; key usage within
//     its 9 bits; path length 0..255; key purposes known; key identifiers 20
//     octets; a future extension one DER Extension whose OID is none of the
//     typed ones.
func (c *Certificate) checkEncodable(form string) error {
	bad := func(field, format string, args ...any) error {
		e := derErr(field, format, args...)
		e.Form = form
		return e
	}
	if n := len(c.SerialNumber); n < 1 || n > MaxSerialLen {
		return bad("serial-num", "length %d, want 1..%d", n, MaxSerialLen)
	}
	if c.SerialNumber[0]&0x80 != 0 {
		return bad("serial-num", "negative")
	}
	if len(c.SerialNumber) > 1 && c.SerialNumber[0] == 0 && c.SerialNumber[1]&0x80 == 0 {
		return bad("serial-num", "not minimally encoded")
	}
	if c.SigAlgo != SigAlgoECDSAWithSHA256 {
		return bad("sig-algo", "unsupported signature algorithm %d", c.SigAlgo)
	}
	if c.PubKeyAlgo != PubKeyAlgoEC {
		return bad("pub-key-algo", "unsupported public key algorithm %d", c.PubKeyAlgo)
	}
	if c.Curve != CurvePrime256v1 {
		return bad("ec-curve-id", "unsupported curve %d", c.Curve)
	}
	if len(c.PublicKey) != PublicKeyLen || c.PublicKey[0] != 0x04 {
		return bad("ec-pub-key", "want a %d-octet uncompressed point", PublicKeyLen)
	}
	if len(c.Signature) != SignatureLen {
		return bad("signature", "length %d, want %d", len(c.Signature), SignatureLen)
	}
	if len(c.Issuer) == 0 {
		return bad("issuer", "empty")
	}
	for _, f := range []struct {
		name string
		dn   DN
	}{{"issuer", c.Issuer}, {"subject", c.Subject}} {
		for _, a := range f.dn {
			if !a.Tag.valid() {
				return bad(f.name, "unknown attribute tag %d", uint8(a.Tag))
			}
			switch {
			case a.Tag == AttrMatterNOCCAT && a.Value > 0xFFFFFFFF:
				return bad(f.name, "%s 0x%X does not fit 32 bits", a.Tag, a.Value)
			case a.Tag.IsMatter():
			case !utf8.ValidString(a.Text):
				return bad(f.name, "%s is not valid UTF-8", a.Tag)
			case a.Tag.Printable() && !isPrintable(a.Text):
				return bad(f.name, "%s has characters outside PrintableString", a.Tag)
			case a.Tag == AttrDomainComponent && !isIA5(a.Text):
				return bad(f.name, "%s has characters outside IA5String", a.Tag)
			}
		}
	}
	var seen [ExtFuture]bool
	for _, e := range c.Extensions {
		field := "extensions " + e.ID.String()
		if e.ID < ExtBasicConstraints || e.ID > ExtFuture {
			return bad("extensions", "unknown extension %d", uint8(e.ID))
		}
		if e.ID != ExtFuture {
			if seen[e.ID-1] {
				return bad(field, "appears twice")
			}
			seen[e.ID-1] = true
		}
		switch e.ID {
		case ExtBasicConstraints:
			if e.PathLen < -1 || e.PathLen > 255 {
				return bad(field, "path length %d out of range", e.PathLen)
			}
		case ExtKeyUsage:
			if e.KeyUsage > 0x1FF {
				return bad(field, "bits 0x%X beyond decipherOnly", e.KeyUsage)
			}
		case ExtExtendedKeyUsage:
			for _, p := range e.Purposes {
				if purposeArc(p) == 0 {
					return bad(field, "unknown key purpose %d", p)
				}
			}
		case ExtSubjectKeyID, ExtAuthorityKeyID:
			if len(e.KeyID) != KeyIDLen {
				return bad(field, "length %d, want %d", len(e.KeyID), KeyIDLen)
			}
		case ExtFuture:
			if err := checkFuture(e.Raw); err != "" {
				return bad(field, "%s", err)
			}
		}
	}
	return nil
}

// checkFuture checks that raw is exactly one DER Extension whose OID is not
// one of the typed extensions, so that ParseDER maps it back to a
// future-extension.
func checkFuture(raw []byte) string {
	s := cryptobyte.String(raw)
	var ext cryptobyte.String
	if !s.ReadASN1(&ext, cbasn1.SEQUENCE) || !s.Empty() {
		return "not one DER SEQUENCE"
	}
	id, ok := readOID(&ext)
	if !ok {
		return "no extension OID"
	}
	if _, known := extByOID(id); known {
		return "OID " + id.String() + " is a typed extension"
	}
	if ext.PeekASN1Tag(cbasn1.BOOLEAN) {
		var crit bool
		if !ext.ReadASN1Boolean(&crit) {
			return "bad critical flag"
		}
	}
	var val cryptobyte.String
	if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
		return "bad extnValue"
	}
	return ""
}

// isPrintable reports whether s uses only the PrintableString alphabet
// (X.680 41.4).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\'', c == '(', c == ')', c == '+', c == ',', c == '-', c == '.', c == '/', c == ':', c == '=', c == '?':
		default:
			return false
		}
	}
	return true
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
