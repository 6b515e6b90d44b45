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

// fieldsStruct encodes a command's fields: fn writes the members.
func fieldsStruct(fn func(w *tlv.Writer)) Value {
	return NewValue(func(w *tlv.Writer) {
		w.StartStruct(tlv.AnonymousTag())
		fn(w)
		w.EndContainer()
	})
}

// decodeFields decodes a command's fields (an anonymous structure); need
// is a bit mask of the required tags (bit n for tag n), checked after the
// walk.
func decodeFields(v Value, msg string, names []string, need uint32, member func(d *dec, tag uint8) error) error {
	var seen uint32
	err := decodeTop(v, msg, func(d *dec, tag uint8) error {
		if tag < 32 {
			seen |= 1 << tag
		}
		return member(d, tag)
	})
	if err != nil {
		return err
	}
	if miss := need &^ seen; miss != 0 {
		for n := 0; n < 32; n++ {
			if miss&(1<<n) != 0 {
				name := ""
				if n < len(names) {
					name = names[n]
				}
				return &DecodeError{Message: msg, Field: name, Err: ErrMissingField}
			}
		}
	}
	return nil
}

func (d *dec) octets(field string) ([]byte, error) {
	b, err := d.r.Bytes()
	if err != nil {
		return nil, d.fail(field, err)
	}
	return append([]byte(nil), b...), nil
}

func (d *dec) fixedOctets(field string, n int) ([]byte, error) {
	b, err := d.octets(field)
	if err == nil && len(b) != n {
		err = d.fail(field, ErrConstraint)
	}
	return b, err
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

// Fields encodes the command fields.
func (c *ArmFailSafe) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutUint(ctx(0), uint64(c.ExpiryLengthSeconds))
		w.PutUint(ctx(1), c.Breadcrumb)
	})
}

// Decode decodes the command fields.
func (c *ArmFailSafe) Decode(v Value) (err error) {
	*c = ArmFailSafe{}
	return decodeFields(v, "ArmFailSafe", []string{"ExpiryLengthSeconds", "Breadcrumb"}, 0b11, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			c.ExpiryLengthSeconds, err = d.u16("ExpiryLengthSeconds")
		case 1:
			c.Breadcrumb, err = d.u64("Breadcrumb")
		}
		return err
	})
}

// SetRegulatoryConfig is the SetRegulatoryConfig command (core spec
// 11.10.7.4): tag 0 NewRegulatoryConfig (enum8), tag 1 CountryCode
// (string, 2), tag 2 Breadcrumb (uint64).
type SetRegulatoryConfig struct {
	NewRegulatoryConfig uint8
	CountryCode         string
	Breadcrumb          uint64
}

// Fields encodes the command fields.
func (c *SetRegulatoryConfig) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutUint(ctx(0), uint64(c.NewRegulatoryConfig))
		w.PutString(ctx(1), c.CountryCode)
		w.PutUint(ctx(2), c.Breadcrumb)
	})
}

// Decode decodes the command fields.
func (c *SetRegulatoryConfig) Decode(v Value) (err error) {
	*c = SetRegulatoryConfig{}
	return decodeFields(v, "SetRegulatoryConfig", []string{"NewRegulatoryConfig", "CountryCode", "Breadcrumb"}, 0b111, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			c.NewRegulatoryConfig, err = d.u8("NewRegulatoryConfig")
		case 1:
			c.CountryCode, err = d.str("CountryCode")
			if err == nil && len(c.CountryCode) != 2 {
				err = d.fail("CountryCode", ErrConstraint)
			}
		case 2:
			c.Breadcrumb, err = d.u64("Breadcrumb")
		}
		return err
	})
}

// CommissioningResponse is the common shape of ArmFailSafeResponse,
// SetRegulatoryConfigResponse and CommissioningCompleteResponse (core spec
// 11.10.7.3, .5, .7): tag 0 ErrorCode (CommissioningErrorEnum), tag 1
// DebugText (string).
type CommissioningResponse struct {
	ErrorCode CommissioningError
	DebugText string
}

// Fields encodes the response fields.
func (c *CommissioningResponse) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutUint(ctx(0), uint64(c.ErrorCode))
		w.PutString(ctx(1), c.DebugText)
	})
}

// Decode decodes the response fields. DebugText is mandatory in the spec
// but tolerated when absent.
func (c *CommissioningResponse) Decode(v Value) (err error) {
	*c = CommissioningResponse{}
	return decodeFields(v, "CommissioningResponse", []string{"ErrorCode", "DebugText"}, 0b1, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			var e uint8
			e, err = d.u8("ErrorCode")
			c.ErrorCode = CommissioningError(e)
		case 1:
			c.DebugText, err = d.str("DebugText")
		}
		return err
	})
}

// ---- Operational Credentials ----

// AttestationRequest is the AttestationRequest command (core spec
// 11.18.6.1): tag 0 AttestationNonce (octstr, 32).
type AttestationRequest struct{ Nonce []byte }

// Fields encodes the command fields.
func (c *AttestationRequest) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) { w.PutBytes(ctx(0), c.Nonce) })
}

// Decode decodes the command fields.
func (c *AttestationRequest) Decode(v Value) (err error) {
	*c = AttestationRequest{}
	return decodeFields(v, "AttestationRequest", []string{"AttestationNonce"}, 0b1, func(d *dec, tag uint8) error {
		if tag == 0 {
			c.Nonce, err = d.fixedOctets("AttestationNonce", AttestationNonceLen)
		}
		return err
	})
}

// SignedElements is the shape of AttestationResponse and CSRResponse (core
// spec 11.18.6.2, 11.18.6.6): tag 0 the elements (AttestationElements or
// NOCSRElements, octstr max 900), tag 1 AttestationSignature (octstr, 64).
type SignedElements struct {
	Elements  []byte
	Signature []byte
}

// Fields encodes the response fields.
func (c *SignedElements) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutBytes(ctx(0), c.Elements)
		w.PutBytes(ctx(1), c.Signature)
	})
}

// Decode decodes the response fields.
func (c *SignedElements) Decode(v Value) (err error) {
	*c = SignedElements{}
	return decodeFields(v, "SignedElements", []string{"Elements", "AttestationSignature"}, 0b11, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			c.Elements, err = d.octets("Elements")
		case 1:
			c.Signature, err = d.fixedOctets("AttestationSignature", AttestationSigLen)
		}
		return err
	})
}

// CertificateChainRequest is the CertificateChainRequest command (core
// spec 11.18.6.3): tag 0 CertificateType (CertTypeDAC or CertTypePAI).
type CertificateChainRequest struct{ CertificateType uint8 }

// Fields encodes the command fields.
func (c *CertificateChainRequest) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) { w.PutUint(ctx(0), uint64(c.CertificateType)) })
}

// Decode decodes the command fields.
func (c *CertificateChainRequest) Decode(v Value) (err error) {
	*c = CertificateChainRequest{}
	return decodeFields(v, "CertificateChainRequest", []string{"CertificateType"}, 0b1, func(d *dec, tag uint8) error {
		if tag == 0 {
			c.CertificateType, err = d.u8("CertificateType")
		}
		return err
	})
}

// CertificateChainResponse is the CertificateChainResponse command (core
// spec 11.18.6.4): tag 0 Certificate (octstr, X.509 DER, max 600).
type CertificateChainResponse struct{ Certificate []byte }

// Fields encodes the response fields.
func (c *CertificateChainResponse) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) { w.PutBytes(ctx(0), c.Certificate) })
}

// Decode decodes the response fields.
func (c *CertificateChainResponse) Decode(v Value) (err error) {
	*c = CertificateChainResponse{}
	return decodeFields(v, "CertificateChainResponse", []string{"Certificate"}, 0b1, func(d *dec, tag uint8) error {
		if tag == 0 {
			c.Certificate, err = d.octets("Certificate")
		}
		return err
	})
}

// CSRRequest is the CSRRequest command (core spec 11.18.6.5): tag 0
// CSRNonce (octstr, 32), tag 1 IsForUpdateNOC (bool, optional).
type CSRRequest struct {
	Nonce          []byte
	IsForUpdateNOC bool
}

// Fields encodes the command fields; IsForUpdateNOC is sent only when true.
func (c *CSRRequest) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutBytes(ctx(0), c.Nonce)
		if c.IsForUpdateNOC {
			w.PutBool(ctx(1), true)
		}
	})
}

// Decode decodes the command fields.
func (c *CSRRequest) Decode(v Value) (err error) {
	*c = CSRRequest{}
	return decodeFields(v, "CSRRequest", []string{"CSRNonce", "IsForUpdateNOC"}, 0b1, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			c.Nonce, err = d.fixedOctets("CSRNonce", CSRNonceLen)
		case 1:
			c.IsForUpdateNOC, err = d.boolean("IsForUpdateNOC")
		}
		return err
	})
}

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

// Fields encodes the command fields.
func (c *AddNOC) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutBytes(ctx(0), c.NOC)
		if c.ICAC != nil {
			w.PutBytes(ctx(1), c.ICAC)
		}
		w.PutBytes(ctx(2), c.IPK)
		w.PutUint(ctx(3), c.CaseAdminSubject)
		w.PutUint(ctx(4), uint64(c.AdminVendorID))
	})
}

// Decode decodes the command fields.
func (c *AddNOC) Decode(v Value) (err error) {
	*c = AddNOC{}
	return decodeFields(v, "AddNOC", []string{"NOCValue", "ICACValue", "IPKValue", "CaseAdminSubject", "AdminVendorId"}, 0b11101, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			c.NOC, err = d.octets("NOCValue")
		case 1:
			c.ICAC, err = d.octets("ICACValue")
		case 2:
			c.IPK, err = d.fixedOctets("IPKValue", IPKValueLen)
		case 3:
			c.CaseAdminSubject, err = d.u64("CaseAdminSubject")
		case 4:
			c.AdminVendorID, err = d.u16("AdminVendorId")
		}
		return err
	})
}

// NOCResponse is the NOCResponse command (core spec 11.18.6.10): tag 0
// StatusCode (NodeOperationalCertStatusEnum), tag 1 FabricIndex
// (optional), tag 2 DebugText (optional).
type NOCResponse struct {
	StatusCode     NOCStatus
	FabricIndex    uint8
	HasFabricIndex bool
	DebugText      string
}

// Fields encodes the response fields.
func (c *NOCResponse) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) {
		w.PutUint(ctx(0), uint64(c.StatusCode))
		if c.HasFabricIndex {
			w.PutUint(ctx(1), uint64(c.FabricIndex))
		}
		if c.DebugText != "" {
			w.PutString(ctx(2), c.DebugText)
		}
	})
}

// Decode decodes the response fields.
func (c *NOCResponse) Decode(v Value) (err error) {
	*c = NOCResponse{}
	return decodeFields(v, "NOCResponse", []string{"StatusCode", "FabricIndex", "DebugText"}, 0b1, func(d *dec, tag uint8) error {
		switch tag {
		case 0:
			var s uint8
			s, err = d.u8("StatusCode")
			c.StatusCode = NOCStatus(s)
		case 1:
			c.FabricIndex, err = d.u8("FabricIndex")
			c.HasFabricIndex = err == nil
		case 2:
			c.DebugText, err = d.str("DebugText")
		}
		return err
	})
}

// AddTrustedRootCertificate is the AddTrustedRootCertificate command (core
// spec 11.18.6.13): tag 0 RootCACertificate (Matter TLV certificate).
type AddTrustedRootCertificate struct{ RootCACertificate []byte }

// Fields encodes the command fields.
func (c *AddTrustedRootCertificate) Fields() Value {
	return fieldsStruct(func(w *tlv.Writer) { w.PutBytes(ctx(0), c.RootCACertificate) })
}

// Decode decodes the command fields.
func (c *AddTrustedRootCertificate) Decode(v Value) (err error) {
	*c = AddTrustedRootCertificate{}
	return decodeFields(v, "AddTrustedRootCertificate", []string{"RootCACertificate"}, 0b1, func(d *dec, tag uint8) error {
		if tag == 0 {
			c.RootCACertificate, err = d.octets("RootCACertificate")
		}
		return err
	})
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

// Append encodes the elements.
func (e *AttestationElements) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), e.CertificationDeclaration)
	w.PutBytes(ctx(2), e.Nonce)
	w.PutUint(ctx(3), uint64(e.Timestamp))
	if e.FirmwareInformation != nil {
		w.PutBytes(ctx(4), e.FirmwareInformation)
	}
	w.EndContainer()
	return w.Bytes()
}

// DecodeAttestationElements decodes b.
func DecodeAttestationElements(b []byte) (*AttestationElements, error) {
	var e AttestationElements
	err := decodeFields(Value(b), "AttestationElements", []string{"", "certification_declaration", "attestation_nonce", "timestamp"}, 0b1110, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 1:
			e.CertificationDeclaration, err = d.octets("certification_declaration")
		case 2:
			e.Nonce, err = d.fixedOctets("attestation_nonce", AttestationNonceLen)
		case 3:
			e.Timestamp, err = d.u32("timestamp")
		case 4:
			e.FirmwareInformation, err = d.octets("firmware_information")
		}
		return err
	})
	if err != nil {
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

// Append encodes the elements.
func (e *NOCSRElements) Append(b []byte) []byte {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(ctx(1), e.CSR)
	w.PutBytes(ctx(2), e.Nonce)
	w.EndContainer()
	return w.Bytes()
}

// DecodeNOCSRElements decodes b.
func DecodeNOCSRElements(b []byte) (*NOCSRElements, error) {
	var e NOCSRElements
	err := decodeFields(Value(b), "NOCSRElements", []string{"", "csr", "CSRNonce"}, 0b110, func(d *dec, tag uint8) (err error) {
		switch tag {
		case 1:
			e.CSR, err = d.octets("csr")
		case 2:
			e.Nonce, err = d.fixedOctets("CSRNonce", CSRNonceLen)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}
