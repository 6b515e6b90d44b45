package cert

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"strconv"
)

// Algorithm identifiers of the TLV form (spec 6.5, "sig-algo", "pub-key-algo", "ec-curve-id").
const (
	SigAlgoECDSAWithSHA256 = 1 // signature-algorithm: ecdsa-with-SHA256
	PubKeyAlgoEC           = 1 // public-key-algorithm: id-ecPublicKey
	CurvePrime256v1        = 1 // elliptic-curve-id: prime256v1 (P-256)
)

// Sizes fixed by the profile.
const (
	PublicKeyLen = 65 // uncompressed P-256 point
	SignatureLen = 64 // r||s
	MaxSerialLen = 20 // RFC 5280 4.1.2.2
)

// Certificate is a Matter operational certificate (RCAC, ICAC or NOC; also
// firmware-signing certificates) in the form shared by its TLV and DER
// encodings (spec 6.5, "matter-certificate"). The zero value is not a valid certificate. Byte
// slices are owned by the Certificate: decoders copy them out of the input.
type Certificate struct {
	SerialNumber []byte // the DER INTEGER contents octets, 1..20 octets
	SigAlgo      uint8  // SigAlgoECDSAWithSHA256
	Issuer       DN
	NotBefore    Time
	NotAfter     Time // NoExpiry for none
	Subject      DN
	PubKeyAlgo   uint8  // PubKeyAlgoEC
	Curve        uint8  // CurvePrime256v1
	PublicKey    []byte // PublicKeyLen octets, 0x04 || X || Y
	Extensions   []Extension
	Signature    []byte // SignatureLen octets, r||s
}

// AttrTag is the context tag of a distinguished-name attribute in the TLV
// form (spec 6.5, "dn-attribute"). Tags 1..16 are the standard attributes encoded as
// UTF8String (IA5String for domain-component); the same number plus
// PrintableFlag is the PrintableString variant; 17..22 are Matter's.
type AttrTag uint8

// Distinguished-name attribute tags (spec 6.5, CHIPCert.h).
const (
	AttrCommonName          AttrTag = 1
	AttrSurname             AttrTag = 2
	AttrSerialNumber        AttrTag = 3
	AttrCountryName         AttrTag = 4
	AttrLocalityName        AttrTag = 5
	AttrStateOrProvinceName AttrTag = 6
	AttrOrgName             AttrTag = 7
	AttrOrgUnitName         AttrTag = 8
	AttrTitle               AttrTag = 9
	AttrName                AttrTag = 10
	AttrGivenName           AttrTag = 11
	AttrInitials            AttrTag = 12
	AttrGenerationQualifier AttrTag = 13
	AttrDNQualifier         AttrTag = 14
	AttrPseudonym           AttrTag = 15
	AttrDomainComponent     AttrTag = 16
	AttrMatterNodeID        AttrTag = 17 // matter-node-id, 64-bit
	AttrMatterFWSigningID   AttrTag = 18 // matter-firmware-signing-id, 64-bit
	AttrMatterICACID        AttrTag = 19 // matter-icac-id, 64-bit
	AttrMatterRCACID        AttrTag = 20 // matter-rcac-id, 64-bit
	AttrMatterFabricID      AttrTag = 21 // matter-fabric-id, 64-bit
	AttrMatterNOCCAT        AttrTag = 22 // matter-noc-cat, 32-bit CASE Authenticated Tag

	// PrintableFlag marks the PrintableString variant of tags 1..15.
	PrintableFlag AttrTag = 0x80
)

// attrInfo describes one attribute type: its OID and how its value is
// encoded in DER.
type attrInfo struct {
	name string
	oid  asn1.ObjectIdentifier
	hex  int // Matter identifiers: number of hex digits (16 or 8); 0 for strings
}

// matterOID is the arc of Matter's DN attribute OIDs, 1.3.6.1.4.1.37244.1.
func matterOID(n int) asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37244, 1, n}
}

var attrs = map[AttrTag]attrInfo{
	AttrCommonName:          {"common-name", asn1.ObjectIdentifier{2, 5, 4, 3}, 0},
	AttrSurname:             {"surname", asn1.ObjectIdentifier{2, 5, 4, 4}, 0},
	AttrSerialNumber:        {"serial-num", asn1.ObjectIdentifier{2, 5, 4, 5}, 0},
	AttrCountryName:         {"country-name", asn1.ObjectIdentifier{2, 5, 4, 6}, 0},
	AttrLocalityName:        {"locality-name", asn1.ObjectIdentifier{2, 5, 4, 7}, 0},
	AttrStateOrProvinceName: {"state-or-province-name", asn1.ObjectIdentifier{2, 5, 4, 8}, 0},
	AttrOrgName:             {"org-name", asn1.ObjectIdentifier{2, 5, 4, 10}, 0},
	AttrOrgUnitName:         {"org-unit-name", asn1.ObjectIdentifier{2, 5, 4, 11}, 0},
	AttrTitle:               {"title", asn1.ObjectIdentifier{2, 5, 4, 12}, 0},
	AttrName:                {"name", asn1.ObjectIdentifier{2, 5, 4, 41}, 0},
	AttrGivenName:           {"given-name", asn1.ObjectIdentifier{2, 5, 4, 42}, 0},
	AttrInitials:            {"initials", asn1.ObjectIdentifier{2, 5, 4, 43}, 0},
	AttrGenerationQualifier: {"gen-qualifier", asn1.ObjectIdentifier{2, 5, 4, 44}, 0},
	AttrDNQualifier:         {"dn-qualifier", asn1.ObjectIdentifier{2, 5, 4, 46}, 0},
	AttrPseudonym:           {"pseudonym", asn1.ObjectIdentifier{2, 5, 4, 65}, 0},
	AttrDomainComponent:     {"domain-component", asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, 0},
	AttrMatterNodeID:        {"matter-node-id", matterOID(1), 16},
	AttrMatterFWSigningID:   {"matter-firmware-signing-id", matterOID(2), 16},
	AttrMatterICACID:        {"matter-icac-id", matterOID(3), 16},
	AttrMatterRCACID:        {"matter-rcac-id", matterOID(4), 16},
	AttrMatterFabricID:      {"matter-fabric-id", matterOID(5), 16},
	AttrMatterNOCCAT:        {"matter-noc-cat", matterOID(6), 8},
}

// base returns the tag without PrintableFlag.
func (t AttrTag) base() AttrTag { return t &^ PrintableFlag }

// IsMatter reports whether t is one of Matter's integer attributes (17..22).
func (t AttrTag) IsMatter() bool { return t >= AttrMatterNodeID && t <= AttrMatterNOCCAT }

// Printable reports whether t is the PrintableString variant.
func (t AttrTag) Printable() bool { return t&PrintableFlag != 0 }

// valid reports whether t is a known tag: 1..22, or 129..143 (the
// PrintableString variants; domain-component has none).
func (t AttrTag) valid() bool {
	if t.Printable() {
		return t.base() >= AttrCommonName && t.base() <= AttrPseudonym
	}
	_, ok := attrs[t]
	return ok
}

// String names the attribute as the spec does, e.g. "matter-node-id" or
// "common-name-ps" for a PrintableString common name.
func (t AttrTag) String() string {
	if !t.valid() {
		return "attr(" + strconv.Itoa(int(t)) + ")"
	}
	s := attrs[t.base()].name
	if t.Printable() {
		s += "-ps"
	}
	return s
}

// Attribute is one distinguished-name attribute. Matter attributes carry
// Value; the others carry Text.
type Attribute struct {
	Tag   AttrTag
	Value uint64 // Matter identifiers (32-bit for AttrMatterNOCCAT)
	Text  string // standard attributes
}

// DN is a distinguished name: its attributes in encoding order, each one
// its own RDN in DER. The zero value is the empty name.
type DN []Attribute

// Get returns the value of the first Matter attribute with tag t.
func (dn DN) Get(t AttrTag) (uint64, bool) {
	for _, a := range dn {
		if a.Tag == t {
			return a.Value, true
		}
	}
	return 0, false
}

// count returns the number of attributes with tag t.
func (dn DN) count(t AttrTag) int {
	n := 0
	for _, a := range dn {
		if a.Tag == t {
			n++
		}
	}
	return n
}

// NodeID returns the matter-node-id.
func (dn DN) NodeID() (uint64, bool) { return dn.Get(AttrMatterNodeID) }

// FabricID returns the matter-fabric-id.
func (dn DN) FabricID() (uint64, bool) { return dn.Get(AttrMatterFabricID) }

// CATs returns the CASE Authenticated Tags (matter-noc-cat), in order.
func (dn DN) CATs() []uint32 {
	var c []uint32
	for _, a := range dn {
		if a.Tag == AttrMatterNOCCAT {
			c = append(c, uint32(a.Value))
		}
	}
	return c
}

// Equal reports whether two DNs have the same attributes in the same
// order (the SDK's ChipDN::IsEqual).
func (dn DN) Equal(o DN) bool {
	if len(dn) != len(o) {
		return false
	}
	for i := range dn {
		if dn[i] != o[i] {
			return false
		}
	}
	return true
}

// String formats dn like "matter-node-id=DEDEDEDE00010001, matter-fabric-id=FAB000000000001D".
func (dn DN) String() string {
	var b []byte
	for i, a := range dn {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, a.Tag.String()...)
		b = append(b, '=')
		if a.Tag.IsMatter() {
			b = appendHexUpper(b, a.Value, attrs[a.Tag].hex)
		} else {
			b = append(b, a.Text...)
		}
	}
	return string(b)
}

func appendHexUpper(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789ABCDEF"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[(v>>(4*uint(i)))&0xF])
	}
	return b
}

// ExtensionID is the context tag of an extension in the TLV form
// (spec 6.5, "extension").
type ExtensionID uint8

// Extension tags.
const (
	ExtBasicConstraints ExtensionID = 1
	ExtKeyUsage         ExtensionID = 2
	ExtExtendedKeyUsage ExtensionID = 3
	ExtSubjectKeyID     ExtensionID = 4
	ExtAuthorityKeyID   ExtensionID = 5
	ExtFuture           ExtensionID = 6
)

func (e ExtensionID) String() string {
	switch e {
	case ExtBasicConstraints:
		return "basic-constraints"
	case ExtKeyUsage:
		return "key-usage"
	case ExtExtendedKeyUsage:
		return "extended-key-usage"
	case ExtSubjectKeyID:
		return "subject-key-identifier"
	case ExtAuthorityKeyID:
		return "authority-key-identifier"
	case ExtFuture:
		return "future-extension"
	}
	return "extension(" + strconv.Itoa(int(e)) + ")"
}

// KeyUsage is the key-usage bit mask of the TLV form (spec 6.5, "key-usage"): bit
// i is X.509 KeyUsage bit i.
type KeyUsage uint16

// Key usage bits.
const (
	KeyUsageDigitalSignature KeyUsage = 0x0001
	KeyUsageNonRepudiation   KeyUsage = 0x0002
	KeyUsageKeyEncipherment  KeyUsage = 0x0004
	KeyUsageDataEncipherment KeyUsage = 0x0008
	KeyUsageKeyAgreement     KeyUsage = 0x0010
	KeyUsageKeyCertSign      KeyUsage = 0x0020
	KeyUsageCRLSign          KeyUsage = 0x0040
	KeyUsageEncipherOnly     KeyUsage = 0x0080
	KeyUsageDecipherOnly     KeyUsage = 0x0100
)

// KeyPurpose is an extended-key-usage purpose id of the TLV form (spec
// 6.5, "extended-key-usage"); each stands for an OID 1.3.6.1.5.5.7.3.x (RFC 5280 4.2.1.12).
type KeyPurpose uint8

// Key purposes.
const (
	PurposeServerAuth      KeyPurpose = 1
	PurposeClientAuth      KeyPurpose = 2
	PurposeCodeSigning     KeyPurpose = 3
	PurposeEmailProtection KeyPurpose = 4
	PurposeTimeStamping    KeyPurpose = 5
	PurposeOCSPSigning     KeyPurpose = 6
)

// purposeArc maps a key purpose to the last arc of its OID
// 1.3.6.1.5.5.7.3.x; 0 means no such purpose.
func purposeArc(p KeyPurpose) int {
	switch p {
	case PurposeServerAuth, PurposeClientAuth, PurposeCodeSigning, PurposeEmailProtection:
		return int(p)
	case PurposeTimeStamping:
		return 8
	case PurposeOCSPSigning:
		return 9
	}
	return 0
}

// Extension is one certificate extension; which fields are used depends
// on ID, and PathLen is -1 unless it is a basic-constraints extension with
// a path length constraint (so a zero Extension is not a valid one; use a
// literal with PathLen: -1 or BasicConstraints). Extensions keep their
// order through both encodings.
type Extension struct {
	ID ExtensionID

	IsCA    bool // basic-constraints
	PathLen int  // basic-constraints path length constraint; -1 when absent

	KeyUsage KeyUsage // key-usage

	Purposes []KeyPurpose // extended-key-usage

	KeyID []byte // subject- and authority-key-identifier

	Raw []byte // future-extension: the whole DER Extension
}

// BasicConstraints returns a basic-constraints extension; pathLen < 0 means
// no path length constraint.
func BasicConstraints(isCA bool, pathLen int) Extension {
	if pathLen < 0 {
		pathLen = -1
	}
	return Extension{ID: ExtBasicConstraints, IsCA: isCA, PathLen: pathLen}
}

// find returns the first extension with the given id.
func (c *Certificate) find(id ExtensionID) (*Extension, bool) {
	for i := range c.Extensions {
		if c.Extensions[i].ID == id {
			return &c.Extensions[i], true
		}
	}
	return nil, false
}

// SubjectKeyID returns the subject key identifier, or nil.
func (c *Certificate) SubjectKeyID() []byte {
	if e, ok := c.find(ExtSubjectKeyID); ok {
		return e.KeyID
	}
	return nil
}

// AuthorityKeyID returns the authority key identifier, or nil.
func (c *Certificate) AuthorityKeyID() []byte {
	if e, ok := c.find(ExtAuthorityKeyID); ok {
		return e.KeyID
	}
	return nil
}

// Equal reports whether two certificates are the same in every field that
// is encoded (PathLen counts only in basic-constraints).
func (c *Certificate) Equal(o *Certificate) bool {
	if !bytes.Equal(c.SerialNumber, o.SerialNumber) || c.SigAlgo != o.SigAlgo || !c.Issuer.Equal(o.Issuer) ||
		c.NotBefore != o.NotBefore || c.NotAfter != o.NotAfter || !c.Subject.Equal(o.Subject) ||
		c.PubKeyAlgo != o.PubKeyAlgo || c.Curve != o.Curve || !bytes.Equal(c.PublicKey, o.PublicKey) ||
		!bytes.Equal(c.Signature, o.Signature) || len(c.Extensions) != len(o.Extensions) {
		return false
	}
	for i, e := range c.Extensions {
		f := o.Extensions[i]
		if e.ID != f.ID || e.IsCA != f.IsCA || (e.ID == ExtBasicConstraints && e.PathLen != f.PathLen) || e.KeyUsage != f.KeyUsage ||
			!bytes.Equal(e.KeyID, f.KeyID) || !bytes.Equal(e.Raw, f.Raw) || len(e.Purposes) != len(f.Purposes) {
			return false
		}
		for j := range e.Purposes {
			if e.Purposes[j] != f.Purposes[j] {
				return false
			}
		}
	}
	return true
}

// DecodeError reports a malformed or unsupported encoding.
type DecodeError struct {
	Form   string // "tlv" or "der"
	Field  string // the certificate field, e.g. "subject" or "extensions"
	Reason string
	Err    error // the underlying TLV error, if any
}

func (e *DecodeError) Error() string {
	s := "cert: " + e.Form + " " + e.Field + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

var _ error = (*DecodeError)(nil)

func tlvErr(field string, err error, format string, args ...any) *DecodeError {
	return &DecodeError{Form: "tlv", Field: field, Reason: fmt.Sprintf(format, args...), Err: err}
}

func derErr(field, format string, args ...any) *DecodeError {
	return &DecodeError{Form: "der", Field: field, Reason: fmt.Sprintf(format, args...)}
}
