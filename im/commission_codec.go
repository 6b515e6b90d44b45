package im

import (
	"errors"

	"mattersim/tlv"
)

// Commissioning cluster and command IDs: General Commissioning (core spec
// 11.10) and Operational Credentials (core spec 11.18). IDs and field tags
// are those of matter.js packages/model/src/standard/elements
// general-commissioning.element.ts and operational-credentials.element.ts
// (connectedhomeip src/app/zap-templates/zcl/data-model/chip/
// general-commissioning-cluster.xml, operational-credentials-cluster.xml).
const (
	ClusterGeneralCommissioning   uint32 = 0x0030
	ClusterOperationalCredentials uint32 = 0x003E

	// General Commissioning commands (core spec 11.10.7).
	GCCmdArmFailSafe                   uint32 = 0x00
	GCCmdArmFailSafeResponse           uint32 = 0x01
	GCCmdSetRegulatoryConfig           uint32 = 0x02
	GCCmdSetRegulatoryConfigResponse   uint32 = 0x03
	GCCmdCommissioningComplete         uint32 = 0x04
	GCCmdCommissioningCompleteResponse uint32 = 0x05
	GCAttrBreadcrumb                   uint32 = 0x00
	GCAttrBasicCommissioningInfo       uint32 = 0x01
	GCAttrRegulatoryConfig             uint32 = 0x02
	GCAttrLocationCapability           uint32 = 0x03
	GCAttrSupportsConcurrentConnection uint32 = 0x04

	// Operational Credentials commands (core spec 11.18.6).
	OCCmdAttestationRequest        uint32 = 0x00
	OCCmdAttestationResponse       uint32 = 0x01
	OCCmdCertificateChainRequest   uint32 = 0x02
	OCCmdCertificateChainResponse  uint32 = 0x03
	OCCmdCSRRequest                uint32 = 0x04
	OCCmdCSRResponse               uint32 = 0x05
	OCCmdAddNOC                    uint32 = 0x06
	OCCmdUpdateNOC                 uint32 = 0x07
	OCCmdNOCResponse               uint32 = 0x08
	OCCmdUpdateFabricLabel         uint32 = 0x09
	OCCmdRemoveFabric              uint32 = 0x0A
	OCCmdAddTrustedRootCertificate uint32 = 0x0B
	OCAttrNOCs                     uint32 = 0x00
	OCAttrFabrics                  uint32 = 0x01
	OCAttrSupportedFabrics         uint32 = 0x02
	OCAttrCommissionedFabrics      uint32 = 0x03
	OCAttrTrustedRootCertificates  uint32 = 0x04
	OCAttrCurrentFabricIndex       uint32 = 0x05
)

// Lengths fixed by core spec 11.18.6 (matter.js constraints "32", "64", "16").
const (
	AttestationNonceLen = 32
	CSRNonceLen         = 32
	IPKValueLen         = 16
	AttestationSigLen   = 64
)

// CommissioningError is CommissioningErrorEnum (core spec 11.10.5.1).
type CommissioningError uint8

// CommissioningErrorEnum values.
const (
	CommissioningOK                    CommissioningError = 0
	CommissioningValueOutsideRange     CommissioningError = 1
	CommissioningInvalidAuthentication CommissioningError = 2
	CommissioningNoFailSafe            CommissioningError = 3
	CommissioningBusyWithOtherAdmin    CommissioningError = 4
)

func (e CommissioningError) String() string {
	switch e {
	case CommissioningOK:
		return "OK"
	case CommissioningValueOutsideRange:
		return "ValueOutsideRange"
	case CommissioningInvalidAuthentication:
		return "InvalidAuthentication"
	case CommissioningNoFailSafe:
		return "NoFailSafe"
	case CommissioningBusyWithOtherAdmin:
		return "BusyWithOtherAdmin"
	}
	return "CommissioningError(" + fmtUint(uint64(e)) + ")"
}

// NOCStatus is NodeOperationalCertStatusEnum (core spec 11.18.4.3).
type NOCStatus uint8

// NodeOperationalCertStatusEnum values.
const (
	NOCStatusOK                  NOCStatus = 0
	NOCStatusInvalidPublicKey    NOCStatus = 1
	NOCStatusInvalidNodeOpID     NOCStatus = 2
	NOCStatusInvalidNOC          NOCStatus = 3
	NOCStatusMissingCsr          NOCStatus = 4
	NOCStatusTableFull           NOCStatus = 5
	NOCStatusInvalidAdminSubject NOCStatus = 6
	NOCStatusFabricConflict      NOCStatus = 9
	NOCStatusLabelConflict       NOCStatus = 10
	NOCStatusInvalidFabricIndex  NOCStatus = 11
)

func (s NOCStatus) String() string {
	switch s {
	case NOCStatusOK:
		return "OK"
	case NOCStatusInvalidPublicKey:
		return "InvalidPublicKey"
	case NOCStatusInvalidNodeOpID:
		return "InvalidNodeOpId"
	case NOCStatusInvalidNOC:
		return "InvalidNoc"
	case NOCStatusMissingCsr:
		return "MissingCsr"
	case NOCStatusTableFull:
		return "TableFull"
	case NOCStatusInvalidAdminSubject:
		return "InvalidAdminSubject"
	case NOCStatusFabricConflict:
		return "FabricConflict"
	case NOCStatusLabelConflict:
		return "LabelConflict"
	case NOCStatusInvalidFabricIndex:
		return "InvalidFabricIndex"
	}
	return "NOCStatus(" + fmtUint(uint64(s)) + ")"
}

func fmtUint(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// Certificate types of CertificateChainRequest (CertificateChainTypeEnum,
// core spec 11.18.4.2).
const (
	CertTypeDAC uint8 = 1
	CertTypePAI uint8 = 2
)

// Regulatory location types (RegulatoryLocationTypeEnum, core spec 11.10.5.3).
const (
	RegulatoryIndoor        uint8 = 0
	RegulatoryOutdoor       uint8 = 1
	RegulatoryIndoorOutdoor uint8 = 2
)

// ---- fields tables ----

// member is one member of a command's fields structure (or of a signed
// element payload), bound to the Go field it is encoded from and decoded
// into: its context tag, its name in decode errors, whether a decoder
// requires it, and how it is written and read. Each command below lists
// its members once, in tag order, and both directions walk that list
// (putMembers, decodeMembers), so a command's encoder and decoder cannot
// disagree on a tag, a type or a constraint.
type member struct {
	tag  uint8
	name string
	need bool        // decoding fails with ErrMissingField without it
	omit func() bool // true: not written (nil: always written)
	put  func(w *tlv.Writer, t tlv.Tag)
	get  func(d *dec) error
}

// optional makes m one a decoder does without; omit (nil: never) says
// when the encoder leaves it out.
func (m member) optional(omit func() bool) member {
	m.need, m.omit = false, omit
	return m
}

// present makes m optional, written only when *has, and sets *has when a
// decoder finds it.
func (m member) present(has *bool) member {
	get := m.get
	m.get = func(d *dec) error {
		err := get(d)
		*has = err == nil
		return err
	}
	return m.optional(func() bool { return !*has })
}

// newMember is a required member of Go type T, written by put and read
// by read (a dec method, which names the member in its errors).
func newMember[T any](tag uint8, name string, p *T, put func(*tlv.Writer, tlv.Tag, T), read func(*dec, string) (T, error)) member {
	return member{tag: tag, name: name, need: true,
		put: func(w *tlv.Writer, t tlv.Tag) { put(w, t, *p) },
		get: func(d *dec) (err error) { *p, err = read(d, name); return err },
	}
}

// sized fails a decoded member whose length (of *p) is not size, with
// ErrConstraint; size 0 is any length.
func sized[T []byte | string](m member, p *T, size int) member {
	if size == 0 {
		return m
	}
	get := m.get
	m.get = func(d *dec) error {
		err := get(d)
		if err == nil && len(*p) != size {
			err = d.fail(m.name, ErrConstraint)
		}
		return err
	}
	return m
}

// uintMember is an unsigned integer; read is the dec method of its width,
// which refuses a value that does not fit.
func uintMember[T ~uint8 | ~uint16 | ~uint32 | ~uint64](tag uint8, name string, p *T, read func(*dec, string) (T, error)) member {
	return newMember(tag, name, p, func(w *tlv.Writer, t tlv.Tag, v T) { w.PutUint(t, uint64(v)) }, read)
}

// octetsMember is an octet string of exactly size bytes (0: any length).
func octetsMember(tag uint8, name string, p *[]byte, size int) member {
	return sized(newMember(tag, name, p, (*tlv.Writer).PutBytes, (*dec).octets), p, size)
}

// stringMember is a character string of exactly size bytes (0: any length).
func stringMember(tag uint8, name string, p *string, size int) member {
	return sized(newMember(tag, name, p, (*tlv.Writer).PutString, (*dec).str), p, size)
}

// putMembers writes ms as an anonymous structure, in list order.
func putMembers(w *tlv.Writer, ms []member) {
	w.StartStruct(tlv.AnonymousTag())
	for _, m := range ms {
		if m.omit == nil || !m.omit() {
			m.put(w, ctx(m.tag))
		}
	}
	w.EndContainer()
}

// decodeMembers decodes b, one anonymous structure named msg in errors,
// into ms: members of other tags are skipped, a member given twice keeps
// its last value, and the first required member missing (in list order,
// which is tag order) is reported after the walk.
func decodeMembers(b []byte, msg string, ms []member) error {
	var seen uint64 // bit i: ms[i]
	err := decodeTop(b, msg, func(d *dec, tag uint8) error {
		for i := range ms {
			if ms[i].tag == tag {
				seen |= 1 << i
				return ms[i].get(d)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, m := range ms {
		if m.need && seen&(1<<i) == 0 {
			return &DecodeError{Message: msg, Field: m.name, Err: ErrMissingField}
		}
	}
	return nil
}

// fieldsOf is a command (a pointer to T) that lists its members.
type fieldsOf[T any] interface {
	*T
	members() []member
}

// encodeCommand is every command's Fields.
func encodeCommand(c interface{ members() []member }) Value {
	return NewValue(func(w *tlv.Writer) { putMembers(w, c.members()) })
}

// decodeCommand is every command's Decode: c is zeroed first, so a member
// absent from v reads as its zero value.
func decodeCommand[T any, P fieldsOf[T]](c P, v Value, msg string) error {
	var zero T
	*c = zero
	return decodeMembers(v, msg, c.members())
}

func (d *dec) octets(field string) ([]byte, error) {
	b, err := d.r.Bytes()
	if err != nil {
		return nil, d.fail(field, err)
	}
	return append([]byte(nil), b...), nil
}

func (d *dec) str(field string) (string, error) {
	s, err := d.r.String()
	if err != nil {
		return "", d.fail(field, err)
	}
	return string([]byte(s)), nil
}

// ErrConstraint reports a field outside its constraint (a fixed length).
var ErrConstraint = errors.New("im: field violates its constraint")

// ---- General Commissioning ----

// ArmFailSafe is the ArmFailSafe command (core spec 11.10.7.2): tag 0
// ExpiryLengthSeconds (uint16), tag 1 Breadcrumb (uint64).
type ArmFailSafe struct {
	ExpiryLengthSeconds uint16
	Breadcrumb          uint64
}

func (c *ArmFailSafe) members() []member {
	return []member{
		uintMember(0, "ExpiryLengthSeconds", &c.ExpiryLengthSeconds, (*dec).u16),
		uintMember(1, "Breadcrumb", &c.Breadcrumb, (*dec).u64),
	}
}

// Fields encodes the command fields.
func (c *ArmFailSafe) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *ArmFailSafe) Decode(v Value) error { return decodeCommand(c, v, "ArmFailSafe") }

// SetRegulatoryConfig is the SetRegulatoryConfig command (core spec
// 11.10.7.4): tag 0 NewRegulatoryConfig (enum8), tag 1 CountryCode
// (string, 2), tag 2 Breadcrumb (uint64).
type SetRegulatoryConfig struct {
	NewRegulatoryConfig uint8
	CountryCode         string
	Breadcrumb          uint64
}

func (c *SetRegulatoryConfig) members() []member {
	return []member{
		uintMember(0, "NewRegulatoryConfig", &c.NewRegulatoryConfig, (*dec).u8),
		stringMember(1, "CountryCode", &c.CountryCode, 2),
		uintMember(2, "Breadcrumb", &c.Breadcrumb, (*dec).u64),
	}
}

// Fields encodes the command fields.
func (c *SetRegulatoryConfig) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *SetRegulatoryConfig) Decode(v Value) error {
	return decodeCommand(c, v, "SetRegulatoryConfig")
}

// CommissioningResponse is the common shape of ArmFailSafeResponse,
// SetRegulatoryConfigResponse and CommissioningCompleteResponse (core spec
// 11.10.7.3, .5, .7): tag 0 ErrorCode (CommissioningErrorEnum), tag 1
// DebugText (string).
type CommissioningResponse struct {
	ErrorCode CommissioningError
	DebugText string
}

// members: DebugText is mandatory in the spec and always written, but
// tolerated when absent.
func (c *CommissioningResponse) members() []member {
	return []member{
		uintMember(0, "ErrorCode", (*uint8)(&c.ErrorCode), (*dec).u8),
		stringMember(1, "DebugText", &c.DebugText, 0).optional(nil),
	}
}

// Fields encodes the response fields.
func (c *CommissioningResponse) Fields() Value { return encodeCommand(c) }

// Decode decodes the response fields. DebugText is mandatory in the spec
// but tolerated when absent.
func (c *CommissioningResponse) Decode(v Value) error {
	return decodeCommand(c, v, "CommissioningResponse")
}

// ---- Operational Credentials ----

// AttestationRequest is the AttestationRequest command (core spec
// 11.18.6.1): tag 0 AttestationNonce (octstr, 32).
type AttestationRequest struct{ Nonce []byte }

func (c *AttestationRequest) members() []member {
	return []member{octetsMember(0, "AttestationNonce", &c.Nonce, AttestationNonceLen)}
}

// Fields encodes the command fields.
func (c *AttestationRequest) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *AttestationRequest) Decode(v Value) error {
	return decodeCommand(c, v, "AttestationRequest")
}

// SignedElements is the shape of AttestationResponse and CSRResponse (core
// spec 11.18.6.2, 11.18.6.6): tag 0 the elements (AttestationElements or
// NOCSRElements, octstr max 900), tag 1 AttestationSignature (octstr, 64).
type SignedElements struct {
	Elements  []byte
	Signature []byte
}

func (c *SignedElements) members() []member {
	return []member{
		octetsMember(0, "Elements", &c.Elements, 0),
		octetsMember(1, "AttestationSignature", &c.Signature, AttestationSigLen),
	}
}

// Fields encodes the response fields.
func (c *SignedElements) Fields() Value { return encodeCommand(c) }

// Decode decodes the response fields.
func (c *SignedElements) Decode(v Value) error { return decodeCommand(c, v, "SignedElements") }

// CertificateChainRequest is the CertificateChainRequest command (core
// spec 11.18.6.3): tag 0 CertificateType (CertTypeDAC or CertTypePAI).
type CertificateChainRequest struct{ CertificateType uint8 }

func (c *CertificateChainRequest) members() []member {
	return []member{uintMember(0, "CertificateType", &c.CertificateType, (*dec).u8)}
}

// Fields encodes the command fields.
func (c *CertificateChainRequest) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *CertificateChainRequest) Decode(v Value) error {
	return decodeCommand(c, v, "CertificateChainRequest")
}

// CertificateChainResponse is the CertificateChainResponse command (core
// spec 11.18.6.4): tag 0 Certificate (octstr, X.509 DER, max 600).
type CertificateChainResponse struct{ Certificate []byte }

func (c *CertificateChainResponse) members() []member {
	return []member{octetsMember(0, "Certificate", &c.Certificate, 0)}
}

// Fields encodes the response fields.
func (c *CertificateChainResponse) Fields() Value { return encodeCommand(c) }

// Decode decodes the response fields.
func (c *CertificateChainResponse) Decode(v Value) error {
	return decodeCommand(c, v, "CertificateChainResponse")
}

// CSRRequest is the CSRRequest command (core spec 11.18.6.5): tag 0
// CSRNonce (octstr, 32), tag 1 IsForUpdateNOC (bool, optional).
type CSRRequest struct {
	Nonce          []byte
	IsForUpdateNOC bool
}

// members: IsForUpdateNOC is sent only when true.
func (c *CSRRequest) members() []member {
	return []member{
		octetsMember(0, "CSRNonce", &c.Nonce, CSRNonceLen),
		newMember(1, "IsForUpdateNOC", &c.IsForUpdateNOC, (*tlv.Writer).PutBool, (*dec).boolean).optional(func() bool { return !c.IsForUpdateNOC }),
	}
}

// Fields encodes the command fields; IsForUpdateNOC is sent only when true.
func (c *CSRRequest) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *CSRRequest) Decode(v Value) error { return decodeCommand(c, v, "CSRRequest") }

// AddNOC is the AddNOC command (core spec 11.18.6.8): tag 0 NOCValue
// (Matter TLV certificate), tag 1 ICACValue (optional), tag 2 IPKValue
// (octstr, 16), tag 3 CaseAdminSubject (subject-id, uint64), tag 4
// AdminVendorId (vendor-id, uint16).
type AddNOC struct {
	NOC              []byte
	ICAC             []byte // nil: absent
	IPK              []byte
	CaseAdminSubject uint64
	AdminVendorID    uint16
}

func (c *AddNOC) members() []member {
	return []member{
		octetsMember(0, "NOCValue", &c.NOC, 0),
		octetsMember(1, "ICACValue", &c.ICAC, 0).optional(func() bool { return c.ICAC == nil }),
		octetsMember(2, "IPKValue", &c.IPK, IPKValueLen),
		uintMember(3, "CaseAdminSubject", &c.CaseAdminSubject, (*dec).u64),
		uintMember(4, "AdminVendorId", &c.AdminVendorID, (*dec).u16),
	}
}

// Fields encodes the command fields.
func (c *AddNOC) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *AddNOC) Decode(v Value) error { return decodeCommand(c, v, "AddNOC") }

// NOCResponse is the NOCResponse command (core spec 11.18.6.10): tag 0
// StatusCode (NodeOperationalCertStatusEnum), tag 1 FabricIndex
// (optional), tag 2 DebugText (optional).
type NOCResponse struct {
	StatusCode     NOCStatus
	FabricIndex    uint8
	HasFabricIndex bool
	DebugText      string
}

func (c *NOCResponse) members() []member {
	return []member{
		uintMember(0, "StatusCode", (*uint8)(&c.StatusCode), (*dec).u8),
		uintMember(1, "FabricIndex", &c.FabricIndex, (*dec).u8).present(&c.HasFabricIndex),
		stringMember(2, "DebugText", &c.DebugText, 0).optional(func() bool { return c.DebugText == "" }),
	}
}

// Fields encodes the response fields.
func (c *NOCResponse) Fields() Value { return encodeCommand(c) }

// Decode decodes the response fields.
func (c *NOCResponse) Decode(v Value) error { return decodeCommand(c, v, "NOCResponse") }

// AddTrustedRootCertificate is the AddTrustedRootCertificate command (core
// spec 11.18.6.13): tag 0 RootCACertificate (Matter TLV certificate).
type AddTrustedRootCertificate struct{ RootCACertificate []byte }

func (c *AddTrustedRootCertificate) members() []member {
	return []member{octetsMember(0, "RootCACertificate", &c.RootCACertificate, 0)}
}

// Fields encodes the command fields.
func (c *AddTrustedRootCertificate) Fields() Value { return encodeCommand(c) }

// Decode decodes the command fields.
func (c *AddTrustedRootCertificate) Decode(v Value) error {
	return decodeCommand(c, v, "AddTrustedRootCertificate")
}

// ---- signed element payloads (core spec 11.18.4.7 and 11.18.4.9) ----

// AttestationElements is the TLV structure carried in AttestationResponse
// (core spec 11.18.4.7): tag 1 certification_declaration (octstr), tag 2
// attestation_nonce (octstr 32), tag 3 timestamp (uint32), tag 4
// firmware_information (optional); vendor-reserved profile-tagged members
// are skipped.
type AttestationElements struct {
	CertificationDeclaration []byte
	Nonce                    []byte
	Timestamp                uint32
	FirmwareInformation      []byte
}

func (e *AttestationElements) members() []member {
	return []member{
		octetsMember(1, "certification_declaration", &e.CertificationDeclaration, 0),
		octetsMember(2, "attestation_nonce", &e.Nonce, AttestationNonceLen),
		uintMember(3, "timestamp", &e.Timestamp, (*dec).u32),
		octetsMember(4, "firmware_information", &e.FirmwareInformation, 0).optional(func() bool { return e.FirmwareInformation == nil }),
	}
}

// Append encodes the elements.
func (e *AttestationElements) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	putMembers(w, e.members())
	return w.Bytes()
}

// DecodeAttestationElements decodes b.
func DecodeAttestationElements(b []byte) (*AttestationElements, error) {
	var e AttestationElements
	if err := decodeCommand(&e, b, "AttestationElements"); err != nil {
		return nil, err
	}
	return &e, nil
}

// NOCSRElements is the TLV structure carried in CSRResponse (core spec
// 11.18.4.9): tag 1 csr (octstr, a DER PKCS#10 request), tag 2 CSRNonce
// (octstr 32); the vendor-reserved members 3..5 are skipped.
type NOCSRElements struct {
	CSR   []byte
	Nonce []byte
}

func (e *NOCSRElements) members() []member {
	return []member{
		octetsMember(1, "csr", &e.CSR, 0),
		octetsMember(2, "CSRNonce", &e.Nonce, CSRNonceLen),
	}
}

// Append encodes the elements.
func (e *NOCSRElements) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	putMembers(w, e.members())
	return w.Bytes()
}

// DecodeNOCSRElements decodes b.
func DecodeNOCSRElements(b []byte) (*NOCSRElements, error) {
	var e NOCSRElements
	if err := decodeCommand(&e, b, "NOCSRElements"); err != nil {
		return nil, err
	}
	return &e, nil
}
