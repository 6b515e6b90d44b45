package cert

import (
	"bytes"
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of the X.509 form.
var (
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPrime256v1      = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidKeyPurposeArc   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3}

	// Extensions (RFC 5280 4.2.1) and whether the SDK marks them critical.
	extOIDs = [...]struct {
		id       ExtensionID
		oid      asn1.ObjectIdentifier
		critical bool
	}{
		{ExtBasicConstraints, asn1.ObjectIdentifier{2, 5, 29, 19}, true},
		{ExtKeyUsage, asn1.ObjectIdentifier{2, 5, 29, 15}, true},
		{ExtExtendedKeyUsage, asn1.ObjectIdentifier{2, 5, 29, 37}, true},
		{ExtSubjectKeyID, asn1.ObjectIdentifier{2, 5, 29, 14}, false},
		{ExtAuthorityKeyID, asn1.ObjectIdentifier{2, 5, 29, 35}, false},
	}
)

func extByOID(oid asn1.ObjectIdentifier) (int, bool) {
	for i, e := range extOIDs {
		if e.oid.Equal(oid) {
			return i, true
		}
	}
	return 0, false
}

// Tags of the ASN.1 string and time types used.
const (
	tagPrintableString = cbasn1.Tag(19)
	tagIA5String       = cbasn1.IA5String
	tagUTF8String      = cbasn1.UTF8String
	tagUTCTime         = cbasn1.UTCTime
	tagGeneralizedTime = cbasn1.GeneralizedTime
)

// AppendTBS appends the DER TBSCertificate of c to dst: the bytes the
// signature covers (spec 6.5, CHIPCertToX509.cpp EncodeTBSCert).
func AppendTBS(dst []byte, c *Certificate) ([]byte, error) {
	if err := c.checkEncodable("der"); err != nil {
		return dst, err
	}
	b := cryptobyte.NewBuilder(dst)
	addTBS(b, c)
	return b.Bytes()
}

// AppendDER appends the X.509 DER encoding of c to dst.
func AppendDER(dst []byte, c *Certificate) ([]byte, error) {
	if err := c.checkEncodable("der"); err != nil {
		return dst, err
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addTBS(b, c)
		addSigAlg(b)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddBytes(SignatureToASN1(c.Signature))
		})
	})
	return b.Bytes()
}

// SignatureToASN1 converts a 64-octet r||s signature to an ASN.1
// ECDSA-Sig-Value (RFC 5480 2.2.3 / SEC 1 C.5). It panics if sig is not
// SignatureLen octets.
func SignatureToASN1(sig []byte) []byte {
	if len(sig) != SignatureLen {
		panic("cert: SignatureToASN1 needs a 64-octet signature")
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 72))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[32:]))
	})
	return b.BytesOrPanic()
}

// SignatureFromASN1 converts an ASN.1 ECDSA-Sig-Value to r||s; it fails
// unless r and s are positive and fit 32 octets.
func SignatureFromASN1(der []byte) ([]byte, bool) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	r, ss := new(big.Int), new(big.Int)
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(ss) || !seq.Empty() {
		return nil, false
	}
	if r.Sign() <= 0 || ss.Sign() <= 0 || r.BitLen() > 256 || ss.BitLen() > 256 {
		return nil, false
	}
	out := make([]byte, SignatureLen)
	r.FillBytes(out[:32])
	ss.FillBytes(out[32:])
	return out, true
}

func addSigAlg(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidECDSAWithSHA256)
	})
}

func addTBS(b *cryptobyte.Builder, c *Certificate) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(c.SerialNumber) })
		addSigAlg(b)
		addName(b, c.Issuer)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, c.NotBefore, false)
			addTime(b, c.NotAfter, true)
		})
		addName(b, c.Subject)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidECPublicKey)
				b.AddASN1ObjectIdentifier(oidPrime256v1)
			})
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddBytes(c.PublicKey)
			})
		})
		if len(c.Extensions) > 0 {
			b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for i := range c.Extensions {
						addExtension(b, &c.Extensions[i])
					}
				})
			})
		}
	})
}

// addName writes a Name with one attribute per RDN (CHIPCertToX509.cpp
// EncodeName); Matter identifiers become upper-case hex UTF8Strings.
func addName(b *cryptobyte.Builder, dn DN) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range dn {
			info := attrs[a.Tag.base()]
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(info.oid)
					switch {
					case a.Tag.IsMatter():
						b.AddASN1(tagUTF8String, func(b *cryptobyte.Builder) {
							b.AddBytes(appendHexUpper(nil, a.Value, info.hex))
						})
					case a.Tag.Printable():
						b.AddASN1(tagPrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.Text)) })
					case a.Tag == AttrDomainComponent:
						b.AddASN1(tagIA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.Text)) })
					default:
						b.AddASN1(tagUTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.Text)) })
					}
				})
			})
		}
	})
}

// addTime writes t as UTCTime before 2050 and GeneralizedTime from 2050
// on (RFC 5280 4.1.2.5); a not-after of NoExpiry is 99991231235959Z.
func addTime(b *cryptobyte.Builder, t Time, notAfter bool) {
	if notAfter && t == NoExpiry {
		b.AddASN1(tagGeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("99991231235959Z")) })
		return
	}
	y, mo, d, h, mi, s := t.civil()
	var v []byte
	tag := tagUTCTime
	if y >= 2050 {
		tag = tagGeneralizedTime
		v = appendDigits(v, y, 4)
	} else {
		v = appendDigits(v, y%100, 2)
	}
	for _, x := range [...]int{mo, d, h, mi, s} {
		v = appendDigits(v, x, 2)
	}
	v = append(v, 'Z')
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addExtension(b *cryptobyte.Builder, e *Extension) {
	if e.ID == ExtFuture {
		b.AddBytes(e.Raw)
		return
	}
	info := extOIDs[e.ID-1]
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(info.oid)
		if info.critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
			switch e.ID {
			case ExtBasicConstraints:
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					if e.IsCA {
						b.AddASN1Boolean(true)
					}
					if e.PathLen >= 0 {
						b.AddASN1Int64(int64(e.PathLen))
					}
				})
			case ExtKeyUsage:
				b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(keyUsageBits(e.KeyUsage)) })
			case ExtExtendedKeyUsage:
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, p := range e.Purposes {
						oid := append(append(asn1.ObjectIdentifier(nil), oidKeyPurposeArc...), purposeArc(p))
						b.AddASN1ObjectIdentifier(oid)
					}
				})
			case ExtSubjectKeyID:
				b.AddASN1OctetString(e.KeyID)
			case ExtAuthorityKeyID:
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(e.KeyID) })
				})
			}
		})
	})
}

// keyUsageBits returns the contents of the DER BIT STRING of a KeyUsage:
// the unused-bits octet, then the named bits with trailing zero bits
// removed (X.690 11.2.2).
func keyUsageBits(ku KeyUsage) []byte {
	if ku == 0 {
		return []byte{0}
	}
	hi := 0
	for i := 0; i < 16; i++ {
		if ku&(1<<i) != 0 {
			hi = i
		}
	}
	n := hi/8 + 1
	out := make([]byte, 1+n)
	out[0] = byte(7 - hi%8)
	for i := 0; i <= hi; i++ {
		if ku&(1<<i) != 0 {
			out[1+i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// ParseDER parses an X.509 DER certificate into the shared form. It
// accepts exactly the certificates that AppendDER reproduces byte for byte
// (the Matter profile of spec 6.5 in the SDK's encoding); anything else is a
// *DecodeError.
func ParseDER(der []byte) (*Certificate, error) {
	c, err := parseDER(der)
	if err != nil {
		return nil, err
	}
	if err := c.checkEncodable("der"); err != nil {
		return nil, err
	}
	re, err := AppendDER(nil, c)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(re, der) {
		return nil, derErr("certificate", "not in the canonical Matter encoding (would not survive conversion to TLV)")
	}
	return c, nil
}

func parseDER(der []byte) (*Certificate, error) {
	in := cryptobyte.String(der)
	var certSeq, tbs, sigAlg cryptobyte.String
	if !in.ReadASN1(&certSeq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, derErr("certificate", "not one DER SEQUENCE")
	}
	if !certSeq.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, derErr("tbsCertificate", "missing")
	}
	if !certSeq.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !readAlg(sigAlg, oidECDSAWithSHA256) {
		return nil, derErr("signatureAlgorithm", "want ecdsa-with-SHA256")
	}
	var sigBits asn1.BitString
	if !certSeq.ReadASN1BitString(&sigBits) || sigBits.BitLength%8 != 0 || !certSeq.Empty() {
		return nil, derErr("signatureValue", "bad BIT STRING")
	}
	c := &Certificate{SigAlgo: SigAlgoECDSAWithSHA256, PubKeyAlgo: PubKeyAlgoEC, Curve: CurvePrime256v1}
	sig, ok := SignatureFromASN1(sigBits.Bytes)
	if !ok {
		return nil, derErr("signatureValue", "not an ECDSA-Sig-Value with 32-octet r and s")
	}
	c.Signature = sig

	var ver, serial, alg, validity, spki cryptobyte.String
	var v int64
	if !tbs.ReadASN1(&ver, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ver.ReadASN1Integer(&v) || !ver.Empty() || v != 2 {
		return nil, derErr("version", "want v3")
	}
	if !tbs.ReadASN1(&serial, cbasn1.INTEGER) {
		return nil, derErr("serialNumber", "missing")
	}
	c.SerialNumber = append([]byte(nil), serial...)
	if !tbs.ReadASN1(&alg, cbasn1.SEQUENCE) || !readAlg(alg, oidECDSAWithSHA256) {
		return nil, derErr("signature", "want ecdsa-with-SHA256")
	}
	var err error
	if c.Issuer, err = readName(&tbs, "issuer"); err != nil {
		return nil, err
	}
	if !tbs.ReadASN1(&validity, cbasn1.SEQUENCE) {
		return nil, derErr("validity", "missing")
	}
	if c.NotBefore, err = readTime(&validity, "notBefore"); err != nil {
		return nil, err
	}
	if c.NotAfter, err = readTime(&validity, "notAfter"); err != nil {
		return nil, err
	}
	if !validity.Empty() {
		return nil, derErr("validity", "trailing data")
	}
	if c.Subject, err = readName(&tbs, "subject"); err != nil {
		return nil, err
	}
	var keyAlg cryptobyte.String
	var keyBits asn1.BitString
	if !tbs.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&keyAlg, cbasn1.SEQUENCE) ||
		!spki.ReadASN1BitString(&keyBits) || !spki.Empty() || keyBits.BitLength%8 != 0 {
		return nil, derErr("subjectPublicKeyInfo", "malformed")
	}
	if id, ok := readOID(&keyAlg); !ok || !id.Equal(oidECPublicKey) {
		return nil, derErr("subjectPublicKeyInfo", "want id-ecPublicKey")
	}
	if id, ok := readOID(&keyAlg); !ok || !id.Equal(oidPrime256v1) || !keyAlg.Empty() {
		return nil, derErr("subjectPublicKeyInfo", "want prime256v1")
	}
	c.PublicKey = append([]byte(nil), keyBits.Bytes...)
	c.Extensions = []Extension{}
	if tbs.PeekASN1Tag(cbasn1.Tag(3).ContextSpecific().Constructed()) {
		var outer, list cryptobyte.String
		if !tbs.ReadASN1(&outer, cbasn1.Tag(3).ContextSpecific().Constructed()) ||
			!outer.ReadASN1(&list, cbasn1.SEQUENCE) || !outer.Empty() {
			return nil, derErr("extensions", "malformed")
		}
		for !list.Empty() {
			e, err := readExtension(&list)
			if err != nil {
				return nil, err
			}
			c.Extensions = append(c.Extensions, e)
		}
	}
	if !tbs.Empty() {
		return nil, derErr("tbsCertificate", "unsupported fields after the public key (unique identifiers?)")
	}
	return c, nil
}

// readAlg reads an AlgorithmIdentifier with no parameters.
func readAlg(s cryptobyte.String, want asn1.ObjectIdentifier) bool {
	id, ok := readOID(&s)
	return ok && id.Equal(want) && s.Empty()
}

func readOID(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
	var id asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&id) {
		return nil, false
	}
	return id, true
}

// readName reads a Name of single-attribute RDNs.
func readName(s *cryptobyte.String, field string) (DN, error) {
	var name cryptobyte.String
	if !s.ReadASN1(&name, cbasn1.SEQUENCE) {
		return nil, derErr(field, "missing Name")
	}
	dn := DN{}
	for !name.Empty() {
		var rdn, atv cryptobyte.String
		if !name.ReadASN1(&rdn, cbasn1.SET) || !rdn.ReadASN1(&atv, cbasn1.SEQUENCE) {
			return nil, derErr(field, "malformed RDN")
		}
		if !rdn.Empty() {
			return nil, derErr(field, "multi-valued RDN")
		}
		id, ok := readOID(&atv)
		if !ok {
			return nil, derErr(field, "malformed attribute type")
		}
		var tag AttrTag
		for t := AttrCommonName; t <= AttrMatterNOCCAT; t++ {
			if attrs[t].oid.Equal(id) {
				tag = t
				break
			}
		}
		if tag == 0 {
			return nil, derErr(field, "unsupported attribute %s", id)
		}
		var val cryptobyte.String
		var vt cbasn1.Tag
		if !atv.ReadAnyASN1(&val, &vt) || !atv.Empty() {
			return nil, derErr(field, "%s: malformed value", tag)
		}
		a := Attribute{Tag: tag}
		switch {
		case tag.IsMatter():
			digits := attrs[tag].hex
			if vt != tagUTF8String || len(val) != digits {
				return nil, derErr(field, "%s: want a UTF8String of %d hex digits", tag, digits)
			}
			for _, ch := range val {
				var d byte
				switch {
				case '0' <= ch && ch <= '9':
					d = ch - '0'
				case 'A' <= ch && ch <= 'F':
					d = ch - 'A' + 10
				default:
					return nil, derErr(field, "%s: %q is not upper-case hex", tag, string(val))
				}
				a.Value = a.Value<<4 | uint64(d)
			}
		case vt == tagUTF8String && tag != AttrDomainComponent:
			a.Text = string(val)
		case vt == tagPrintableString && tag != AttrDomainComponent:
			a.Tag |= PrintableFlag
			a.Text = string(val)
		case vt == tagIA5String && tag == AttrDomainComponent:
			a.Text = string(val)
		default:
			return nil, derErr(field, "%s: unsupported string type (tag %d)", tag, uint8(vt))
		}
		dn = append(dn, a)
	}
	return dn, nil
}

// readTime reads a UTCTime or GeneralizedTime as a Matter epoch time;
// 99991231235959Z is NoExpiry.
func readTime(s *cryptobyte.String, field string) (Time, error) {
	var v cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&v, &tag) {
		return 0, derErr(field, "missing")
	}
	var year int
	switch {
	case tag == tagUTCTime && len(v) == 13:
		yy, ok := digits(v[:2])
		if !ok {
			return 0, derErr(field, "bad UTCTime %q", string(v))
		}
		year = 2000 + yy
		if yy >= 50 {
			year = 1900 + yy
		}
		v = v[2:]
	case tag == tagGeneralizedTime && len(v) == 15:
		if string(v) == "99991231235959Z" {
			return NoExpiry, nil
		}
		y, ok := digits(v[:4])
		if !ok {
			return 0, derErr(field, "bad GeneralizedTime %q", string(v))
		}
		year = y
		v = v[4:]
	default:
		return 0, derErr(field, "want UTCTime or GeneralizedTime ending in Z, have tag %d %q", uint8(tag), string(v))
	}
	var f [5]int
	for i := range f {
		n, ok := digits(v[2*i : 2*i+2])
		if !ok {
			return 0, derErr(field, "bad time digits")
		}
		f[i] = n
	}
	if v[10] != 'Z' || f[0] < 1 || f[0] > 12 || f[1] < 1 || f[1] > 31 || f[2] > 23 || f[3] > 59 || f[4] > 59 {
		return 0, derErr(field, "bad time")
	}
	t, ok := Date(year, f[0], f[1], f[2], f[3], f[4])
	if !ok {
		return 0, derErr(field, "%04d-%02d-%02d outside the Matter epoch range", year, f[0], f[1])
	}
	return t, nil
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func readExtension(list *cryptobyte.String) (Extension, error) {
	var raw cryptobyte.String
	if !list.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return Extension{}, derErr("extensions", "malformed Extension")
	}
	ext := raw
	var body cryptobyte.String
	if !ext.ReadASN1(&body, cbasn1.SEQUENCE) {
		return Extension{}, derErr("extensions", "malformed Extension")
	}
	id, ok := readOID(&body)
	if !ok {
		return Extension{}, derErr("extensions", "malformed extnID")
	}
	i, known := extByOID(id)
	if !known {
		return Extension{ID: ExtFuture, PathLen: -1, Raw: append([]byte(nil), raw...)}, nil
	}
	info := extOIDs[i]
	field := "extensions " + info.id.String()
	crit := false
	if body.PeekASN1Tag(cbasn1.BOOLEAN) && !body.ReadASN1Boolean(&crit) {
		return Extension{}, derErr(field, "bad critical flag")
	}
	var val cryptobyte.String
	if !body.ReadASN1(&val, cbasn1.OCTET_STRING) || !body.Empty() {
		return Extension{}, derErr(field, "bad extnValue")
	}
	if crit != info.critical {
		return Extension{}, derErr(field, "critical=%t, the Matter encoding has %t", crit, info.critical)
	}
	e := Extension{ID: info.id, PathLen: -1}
	switch info.id {
	case ExtBasicConstraints:
		var seq cryptobyte.String
		if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !val.Empty() {
			return e, derErr(field, "malformed")
		}
		if seq.PeekASN1Tag(cbasn1.BOOLEAN) && !seq.ReadASN1Boolean(&e.IsCA) {
			return e, derErr(field, "bad cA")
		}
		if !seq.Empty() {
			var pl int64
			if !seq.ReadASN1Integer(&pl) || pl < 0 || pl > 255 || !seq.Empty() {
				return e, derErr(field, "bad pathLenConstraint")
			}
			e.PathLen = int(pl)
		}
	case ExtKeyUsage:
		var bits asn1.BitString
		if !val.ReadASN1BitString(&bits) || !val.Empty() || bits.BitLength > 9 {
			return e, derErr(field, "malformed")
		}
		for i := 0; i < bits.BitLength; i++ {
			if bits.At(i) == 1 {
				e.KeyUsage |= 1 << i
			}
		}
	case ExtExtendedKeyUsage:
		var seq cryptobyte.String
		if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !val.Empty() {
			return e, derErr(field, "malformed")
		}
		e.Purposes = []KeyPurpose{}
		for !seq.Empty() {
			p, ok := readOID(&seq)
			if !ok || len(p) != len(oidKeyPurposeArc)+1 || !p[:len(oidKeyPurposeArc)].Equal(oidKeyPurposeArc) {
				return e, derErr(field, "unsupported key purpose")
			}
			found := false
			for kp := PurposeServerAuth; kp <= PurposeOCSPSigning; kp++ {
				if purposeArc(kp) == p[len(p)-1] {
					e.Purposes = append(e.Purposes, kp)
					found = true
				}
			}
			if !found {
				return e, derErr(field, "unsupported key purpose %s", p)
			}
		}
	case ExtSubjectKeyID:
		var kid cryptobyte.String
		if !val.ReadASN1(&kid, cbasn1.OCTET_STRING) || !val.Empty() {
			return e, derErr(field, "malformed")
		}
		e.KeyID = append([]byte(nil), kid...)
	case ExtAuthorityKeyID:
		var seq, kid cryptobyte.String
		if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !val.Empty() ||
			!seq.ReadASN1(&kid, cbasn1.Tag(0).ContextSpecific()) || !seq.Empty() {
			return e, derErr(field, "want only a keyIdentifier")
		}
		e.KeyID = append([]byte(nil), kid...)
	}
	return e, nil
}

// TLVToDER converts a certificate from the Matter TLV form to X.509 DER
// (the SDK's ConvertChipCertToX509Cert).
func TLVToDER(b []byte) ([]byte, error) {
	c, err := DecodeTLV(b)
	if err != nil {
		return nil, err
	}
	return AppendDER(nil, c)
}

// DERToTLV converts an X.509 DER certificate to the Matter TLV form (the
// SDK's ConvertX509CertToChipCert).
func DERToTLV(der []byte) ([]byte, error) {
	c, err := ParseDER(der)
	if err != nil {
		return nil, err
	}
	return AppendTLV(nil, c)
}
