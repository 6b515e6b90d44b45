package commissioner

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"slices"

	"mattersim/tlv"
)

// The SDK's test CD signing certificate (connectedhomeip
// credentials/test/certification-declaration/Chip-Test-CD-Signing-Cert.pem,
// "Matter Test CD Signing Authority"; matter.js carries the same
// certificate as TestCMS_SignerCertificate in
// packages/protocol/src/certificate/kinds/CertificationDeclaration.ts and
// signs its test devices' CDs with its key).
//
//go:embed cdsigner/Chip-Test-CD-Signing-Cert.der
var testCDSignerDER []byte

// TestCDSigners returns the SDK's test CD signing certificate.
func TestCDSigners() []*x509.Certificate {
	c, err := x509.ParseCertificate(testCDSignerDER)
	if err != nil {
		return nil
	}
	return []*x509.Certificate{c}
}

// ErrCD reports a Certification Declaration that fails a check.
var ErrCD = errors.New("commissioner: certification declaration check failed")

// CD is a decoded Certification Declaration (spec 6.3.1): the TLV content
// of a CMS SignedData (RFC 5652) without signed attributes, signed by one
// CD signing key named by its subject key identifier.
type CD struct {
	FormatVersion       uint8
	VendorID            uint16
	ProductIDs          []uint16
	DeviceTypeID        uint32
	CertificateID       string
	SecurityLevel       uint8
	SecurityInformation uint16
	VersionNumber       uint16
	CertificationType   uint8 // 0 development and test, 1 provisional, 2 official
	DACOriginVendorID   uint16
	DACOriginProductID  uint16
	HasDACOrigin        bool
	AuthorizedPAAs      [][]byte // subject key ids; nil when absent

	SignerKeyID []byte
	Signature   []byte // ASN.1 DER ECDSA signature
	Content     []byte // the signed eContent (TLV)
}

// CMS structures (RFC 5652 5.1-5.3), as the SDK's CMSCodec writes them.
type cmsContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type cmsSignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo cmsEncapContentInfo
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []cmsSignerInfo `asn1:"set"`
}

type cmsEncapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,tag:0"`
}

type cmsSignerInfo struct {
	Version            int
	SID                []byte `asn1:"tag:0"` // subjectKeyIdentifier [0] IMPLICIT
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// ParseCD decodes a CMS-wrapped Certification Declaration. It checks the
// envelope (signedData of id-data, one SignerInfo of version 3 with a
// subject key identifier, SHA-256 and ecdsa-with-SHA256; connectedhomeip
// src/credentials/CertificationDeclaration.cpp CMS_ExtractCDContent) and
// the content's mandatory fields, not the signature (VerifyCD).
func ParseCD(der []byte) (*CD, error) {
	fail := func(format string, a ...any) (*CD, error) {
		return nil, fmt.Errorf("%w: %s", ErrCD, fmt.Sprintf(format, a...))
	}
	var ci cmsContentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 {
		return fail("CMS ContentInfo: %v (%d trailing octets)", err, len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return fail("content type %v is not signedData", ci.ContentType)
	}
	var sd cmsSignedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return fail("SignedData: %v", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidData) {
		return fail("eContentType %v is not id-data", sd.EncapContentInfo.EContentType)
	}
	if len(sd.SignerInfos) != 1 {
		return fail("%d SignerInfos, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	if si.Version != 3 || len(si.SID) == 0 || !si.DigestAlgorithm.Algorithm.Equal(oidSHA256) ||
		!si.SignatureAlgorithm.Algorithm.Equal(oidECDSAWithSHA256) {
		return fail("SignerInfo (version %d, digest %v, signature %v) is not v3 SKID/SHA-256/ecdsa-with-SHA256",
			si.Version, si.DigestAlgorithm.Algorithm, si.SignatureAlgorithm.Algorithm)
	}
	cd, err := decodeCDContent(sd.EncapContentInfo.EContent)
	if err != nil {
		return fail("content: %v", err)
	}
	cd.SignerKeyID, cd.Signature, cd.Content = si.SID, si.Signature, sd.EncapContentInfo.EContent
	return cd, nil
}

// decodeCDContent decodes the TLV content (spec 6.3.1 certification-
// declaration): tags 0 format_version, 1 vendor_id, 2 product_id_array,
// 3 device_type_id, 4 certificate_id, 5 security_level, 6
// security_information, 7 version_number, 8 certification_type (all
// mandatory), 9 dac_origin_vendor_id, 10 dac_origin_product_id, 11
// authorized_paa_list (optional).
func decodeCDContent(b []byte) (*CD, error) {
	r := tlv.NewReader(b)
	if err := r.Next(); err != nil {
		return nil, err
	}
	if r.Type() != tlv.Struct {
		return nil, errors.New("not a structure")
	}
	if err := r.Enter(); err != nil {
		return nil, err
	}
	cd := &CD{}
	var seen uint32
	var hasOV, hasOP bool
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if r.Tag().Form != tlv.Context {
			continue
		}
		n := r.Tag().Number
		if n < 32 {
			seen |= 1 << n
		}
		switch n {
		case 0:
			cd.FormatVersion, err = r.Uint8()
		case 1:
			cd.VendorID, err = r.Uint16()
		case 2:
			err = eachElem(r, func() error {
				v, err := r.Uint16()
				cd.ProductIDs = append(cd.ProductIDs, v)
				return err
			})
		case 3:
			cd.DeviceTypeID, err = r.Uint32()
		case 4:
			var s string
			s, err = r.String()
			cd.CertificateID = string([]byte(s))
		case 5:
			cd.SecurityLevel, err = r.Uint8()
		case 6:
			cd.SecurityInformation, err = r.Uint16()
		case 7:
			cd.VersionNumber, err = r.Uint16()
		case 8:
			cd.CertificationType, err = r.Uint8()
		case 9:
			cd.DACOriginVendorID, err = r.Uint16()
			hasOV = true
		case 10:
			cd.DACOriginProductID, err = r.Uint16()
			hasOP = true
		case 11:
			cd.AuthorizedPAAs = [][]byte{}
			err = eachElem(r, func() error {
				k, err := r.Bytes()
				cd.AuthorizedPAAs = append(cd.AuthorizedPAAs, append([]byte(nil), k...))
				return err
			})
		}
		if err != nil {
			return nil, fmt.Errorf("tag %d: %w", n, err)
		}
	}
	if err := r.Exit(); err != nil {
		return nil, err
	}
	if miss := uint32(0x1FF) &^ seen; miss != 0 {
		return nil, fmt.Errorf("mandatory fields missing (mask 0x%03X)", miss)
	}
	if hasOV != hasOP {
		return nil, errors.New("only one of dac_origin_vendor_id and dac_origin_product_id")
	}
	if len(cd.ProductIDs) == 0 {
		return nil, errors.New("empty product_id_array")
	}
	cd.HasDACOrigin = hasOV
	return cd, nil
}

func eachElem(r *tlv.Reader, fn func() error) error {
	if !r.Type().IsContainer() {
		return errors.New("not an array")
	}
	if err := r.Enter(); err != nil {
		return err
	}
	for {
		err := r.Next()
		if err == io.EOF {
			return r.Exit()
		}
		if err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
}

// VerifyCD checks cd's signature with the signer among signers whose
// subject key identifier it names (ECDSA-SHA256 over the eContent, no
// signed attributes), and its fields against the device (spec 6.2.3.1
// steps on the CD): without dac_origin ids, the DAC's and the PAI's vendor
// id must be vendor_id and the DAC's product id (and the PAI's, if any) in
// product_id_array; with them, the DAC's and PAI's ids must be the origin
// ids. When basicVID is non-zero, vendor_id must equal it and basicPID be
// in product_id_array (BasicInformation VendorID and ProductID). With an
// authorized_paa_list the PAA's subject key id must be in it.
func VerifyCD(cd *CD, signers []*x509.Certificate, a *Attested, basicVID, basicPID uint16) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCD, fmt.Sprintf(format, args...))
	}
	var signer *x509.Certificate
	for _, s := range signers {
		if bytes.Equal(s.SubjectKeyId, cd.SignerKeyID) {
			signer = s
			break
		}
	}
	if signer == nil {
		return fail("signer %X is not a trusted CD signing key", cd.SignerKeyID)
	}
	pub, ok := signer.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fail("signer key is not ECDSA")
	}
	h := sha256.Sum256(cd.Content)
	if !ecdsa.VerifyASN1(pub, h[:], cd.Signature) {
		return fail("signature does not verify with %q", signer.Subject.CommonName)
	}
	if basicVID != 0 {
		if cd.VendorID != basicVID {
			return fail("vendor_id 0x%04X, BasicInformation VendorID 0x%04X", cd.VendorID, basicVID)
		}
		if !slices.Contains(cd.ProductIDs, basicPID) {
			return fail("product_id_array %04X lacks BasicInformation ProductID 0x%04X", cd.ProductIDs, basicPID)
		}
	}
	if a == nil {
		return nil
	}
	paiVID, paiHasVID := dnID(a.PAI, oidVendorID)
	paiPID, paiHasPID := dnID(a.PAI, oidProductID)
	if cd.HasDACOrigin {
		if a.VendorID != cd.DACOriginVendorID || (paiHasVID && paiVID != cd.DACOriginVendorID) {
			return fail("DAC/PAI vendor id differs from dac_origin_vendor_id 0x%04X", cd.DACOriginVendorID)
		}
		if a.ProductID != cd.DACOriginProductID || (paiHasPID && paiPID != cd.DACOriginProductID) {
			return fail("DAC/PAI product id differs from dac_origin_product_id 0x%04X", cd.DACOriginProductID)
		}
	} else {
		if a.VendorID != cd.VendorID || (paiHasVID && paiVID != cd.VendorID) {
			return fail("DAC/PAI vendor id 0x%04X differs from vendor_id 0x%04X", a.VendorID, cd.VendorID)
		}
		if !slices.Contains(cd.ProductIDs, a.ProductID) || (paiHasPID && !slices.Contains(cd.ProductIDs, paiPID)) {
			return fail("DAC product id 0x%04X not in product_id_array %04X", a.ProductID, cd.ProductIDs)
		}
	}
	if cd.AuthorizedPAAs != nil && !slices.ContainsFunc(cd.AuthorizedPAAs, func(k []byte) bool { return bytes.Equal(k, a.PAA.SubjectKeyId) }) {
		return fail("PAA %X not in authorized_paa_list", a.PAA.SubjectKeyId)
	}
	return nil
}
