package commissioner

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"mattersim/im"
)

// Step names one step of the flow, in the order they run.
type Step uint8

// The steps, in matter.js's order (connectedhomeip CommissioningStage names
// in brackets; see the package doc for where the SDK's order differs).
const (
	StepArmFailSafe   Step = iota // [kArmFailsafe] over PASE
	StepReadLocation              // [kReadCommissioningInfo] LocationCapability
	StepSetRegulatory             // [kConfigRegulatory]
	StepDACRequest                // [kSendDACCertificateRequest]
	StepPAIRequest                // [kSendPAICertificateRequest]
	StepAttestation               // [kSendAttestationRequest] + [kAttestationVerification]
	StepCSR                       // [kSendOpCertSigningRequest] + [kValidateCSR]
	StepAddRoot                   // [kSendTrustedRootCert]
	StepAddNOC                    // [kSendNOC]
	StepCASE                      // [kFindOperationalForCommissioningComplete]: the caller runs CASE
	StepComplete                  // [kSendComplete] over CASE
	StepReadBack                  // VendorName and CommissionedFabrics over CASE
	StepDone
)

var stepNames = [...]string{"ArmFailSafe", "Read(LocationCapability, VendorID, ProductID)", "SetRegulatoryConfig", "CertificateChainRequest(DAC)",
	"CertificateChainRequest(PAI)", "AttestationRequest", "CSRRequest", "AddTrustedRootCertificate", "AddNOC", "CASE",
	"CommissioningComplete", "Read(VendorName, CommissionedFabrics)", "done"}

func (s Step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return fmt.Sprintf("Step(%d)", uint8(s))
}

// Config configures a Flow.
type Config struct {
	Fabric       *Fabric
	DeviceNodeID uint64 // the node id put in the device's NOC
	// AdminVendorID is sent in AddNOC (0xFFF1, a test vendor, when 0).
	AdminVendorID uint16
	// Challenge is the PASE session's attestation challenge (spec 4.14.1.5),
	// signed into the attestation and NOCSR responses.
	Challenge [16]byte
	// Rand supplies the attestation and CSR nonces. Required.
	Rand io.Reader
	// PAAs is the attestation trust store; nil means TestPAAs().
	PAAs []*x509.Certificate
	// CDSigners are the trusted Certification Declaration signing
	// certificates; nil means TestCDSigners().
	CDSigners []*x509.Certificate
	// SkipAttestation leaves out the DAC, PAI and attestation steps; the
	// CSR is then checked without the DAC signature.
	SkipAttestation bool
	// Now is the time the DAC chain is validated at.
	Now time.Time
	// FailSafe is ArmFailSafe's ExpiryLengthSeconds (DefaultFailSafe when 0).
	FailSafe uint16
	// CountryCode for SetRegulatoryConfig ("XX", unknown, when empty).
	CountryCode string
}

// DefaultFailSafe is the fail-safe armed for commissioning, in seconds
// (connectedhomeip src/controller/CommissioningDelegate.h kDefaultFailsafeTimeout).
const DefaultFailSafe = 60

// Request is what the caller sends next: an Interaction Model message on
// the PASE session (or, when OverCASE, on the CASE session).
type Request struct {
	Step     Step
	OverCASE bool
	Opcode   im.Opcode
	Payload  []byte
}

// Result is what a finished flow learned.
type Result struct {
	Attested            *Attested // nil with SkipAttestation
	NOC                 []byte    // the device's NOC (Matter TLV)
	DevicePublicKey     []byte
	FabricIndex         uint8 // from NOCResponse
	LocationCapability  uint8
	BasicVendorID       uint16 // BasicInformation VendorID, read over PASE
	BasicProductID      uint16
	VendorName          string // read over CASE
	CommissionedFabrics uint64 // read over CASE
}

// Flow is the commissioner's side of commissioning as a sequence of
// request/response steps (see the package doc). Make it with New; call
// Next for the request of the current step, send it, and feed the response
// to Handle. At StepCASE the caller establishes CASE with the device (with
// Fabric.CASEFabric and DeviceNodeID) and calls CASEEstablished. Not safe
// for concurrent use.
type Flow struct {
	cfg      Config
	step     Step
	err      error
	dac, pai []byte
	attNonce []byte
	csrNonce []byte
	res      Result
}

// Errors of the flow.
var (
	ErrConfig   = errors.New("commissioner: bad configuration")
	ErrResponse = errors.New("commissioner: unexpected response")
)

// StepError reports the step a flow failed at.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("commissioning step %s: %v", e.Step, e.Err) }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// New validates cfg and returns a flow at StepArmFailSafe.
func New(cfg Config) (*Flow, error) {
	switch {
	case cfg.Fabric == nil || cfg.Fabric.IssuerKey == nil || cfg.Fabric.RCAC == nil:
		return nil, fmt.Errorf("%w: incomplete Fabric", ErrConfig)
	case cfg.Rand == nil:
		return nil, fmt.Errorf("%w: Rand is nil", ErrConfig)
	case cfg.DeviceNodeID == 0 || cfg.DeviceNodeID > 0xFFFF_FFEF_FFFF_FFFF:
		return nil, fmt.Errorf("%w: device node id 0x%X is not operational", ErrConfig, cfg.DeviceNodeID)
	}
	if cfg.AdminVendorID == 0 {
		cfg.AdminVendorID = 0xFFF1
	}
	if cfg.PAAs == nil {
		cfg.PAAs = TestPAAs()
	}
	if cfg.CDSigners == nil {
		cfg.CDSigners = TestCDSigners()
	}
	if cfg.FailSafe == 0 {
		cfg.FailSafe = DefaultFailSafe
	}
	if cfg.CountryCode == "" {
		cfg.CountryCode = "XX"
	}
	if len(cfg.CountryCode) != 2 {
		return nil, fmt.Errorf("%w: country code %q is not two characters", ErrConfig, cfg.CountryCode)
	}
	return &Flow{cfg: cfg}, nil
}

// Step returns the current step.
func (f *Flow) Step() Step { return f.step }

// Err returns the error that stopped the flow, or nil.
func (f *Flow) Err() error { return f.err }

// Done reports whether the flow has finished successfully.
func (f *Flow) Done() bool { return f.step == StepDone && f.err == nil }

// Result returns what the flow learned so far.
func (f *Flow) Result() Result { return f.res }

func invoke(cluster, command uint32, fields im.Value) []byte {
	return im.AppendInvokeRequest(nil, im.NewInvokeRequest(im.CommandPath{Endpoint: 0, Cluster: cluster, Command: command}, fields))
}

func read(paths ...im.AttributePath) []byte {
	return im.AppendReadRequest(nil, im.NewReadRequest(paths...))
}

var (
	pathLocation   = im.ConcreteAttribute(0, im.ClusterGeneralCommissioning, im.GCAttrLocationCapability)
	pathVendorID   = im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorID)
	pathProductID  = im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicProductID)
	pathVendorName = im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName)
	pathFabrics    = im.ConcreteAttribute(0, im.ClusterOperationalCredentials, im.OCAttrCommissionedFabrics)
)

// Next returns the request of the current step; ok is false at StepCASE
// (the caller's handshake), after the flow is done, or once it failed.
// Nonces are drawn when a step's request is first made, so call Next once
// per step.
func (f *Flow) Next() (req Request, ok bool) {
	if f.err != nil {
		return Request{}, false
	}
	r := Request{Step: f.step, Opcode: im.OpInvokeRequest}
	switch f.step {
	case StepArmFailSafe:
		r.Payload = invoke(im.ClusterGeneralCommissioning, im.GCCmdArmFailSafe,
			(&im.ArmFailSafe{ExpiryLengthSeconds: f.cfg.FailSafe, Breadcrumb: 1}).Fields())
	case StepReadLocation:
		r.Opcode, r.Payload = im.OpReadRequest, read(pathLocation, pathVendorID, pathProductID)
	case StepSetRegulatory:
		r.Payload = invoke(im.ClusterGeneralCommissioning, im.GCCmdSetRegulatoryConfig,
			(&im.SetRegulatoryConfig{NewRegulatoryConfig: f.res.LocationCapability, CountryCode: f.cfg.CountryCode, Breadcrumb: 2}).Fields())
	case StepDACRequest, StepPAIRequest:
		t := im.CertTypeDAC
		if f.step == StepPAIRequest {
			t = im.CertTypePAI
		}
		r.Payload = invoke(im.ClusterOperationalCredentials, im.OCCmdCertificateChainRequest,
			(&im.CertificateChainRequest{CertificateType: t}).Fields())
	case StepAttestation:
		if f.attNonce = f.nonce(); f.attNonce == nil {
			return Request{}, false
		}
		r.Payload = invoke(im.ClusterOperationalCredentials, im.OCCmdAttestationRequest,
			(&im.AttestationRequest{Nonce: f.attNonce}).Fields())
	case StepCSR:
		if f.csrNonce = f.nonce(); f.csrNonce == nil {
			return Request{}, false
		}
		r.Payload = invoke(im.ClusterOperationalCredentials, im.OCCmdCSRRequest, (&im.CSRRequest{Nonce: f.csrNonce}).Fields())
	case StepAddRoot:
		r.Payload = invoke(im.ClusterOperationalCredentials, im.OCCmdAddTrustedRootCertificate,
			(&im.AddTrustedRootCertificate{RootCACertificate: f.cfg.Fabric.RCACTLV}).Fields())
	case StepAddNOC:
		r.Payload = invoke(im.ClusterOperationalCredentials, im.OCCmdAddNOC, (&im.AddNOC{NOC: f.res.NOC,
			ICAC: f.cfg.Fabric.ICACTLV, IPK: f.cfg.Fabric.IPKEpochKey[:], CaseAdminSubject: f.cfg.Fabric.ControllerNodeID,
			AdminVendorID: f.cfg.AdminVendorID}).Fields())
	case StepComplete:
		r.OverCASE = true
		r.Payload = invoke(im.ClusterGeneralCommissioning, im.GCCmdCommissioningComplete, nil)
	case StepReadBack:
		r.OverCASE = true
		r.Opcode, r.Payload = im.OpReadRequest, read(pathVendorName, pathFabrics)
	default:
		return Request{}, false
	}
	return r, true
}

func (f *Flow) nonce() []byte {
	n := make([]byte, 32)
	if _, err := io.ReadFull(f.cfg.Rand, n); err != nil {
		f.fail(fmt.Errorf("drawing a nonce: %w", err))
		return nil
	}
	return n
}

func (f *Flow) fail(err error) error {
	f.err = &StepError{Step: f.step, Err: err}
	return f.err
}

// Disarm returns an ArmFailSafe with ExpiryLengthSeconds 0 for the PASE
// session, which expires the fail-safe at once and makes the device roll
// back what the failed attempt installed (spec 11.10.7.2; connectedhomeip
// DeviceCommissioner's cleanup after an error). ok is false when there is
// nothing to disarm: the fail-safe was never armed, or
// CommissioningComplete succeeded.
func (f *Flow) Disarm() (Request, bool) {
	if f.step == StepArmFailSafe || f.step > StepComplete {
		return Request{}, false
	}
	return Request{Step: StepArmFailSafe, Opcode: im.OpInvokeRequest, Payload: invoke(im.ClusterGeneralCommissioning,
		im.GCCmdArmFailSafe, (&im.ArmFailSafe{ExpiryLengthSeconds: 0, Breadcrumb: 0}).Fields())}, true
}

// CASEEstablished moves the flow past StepCASE.
func (f *Flow) CASEEstablished() {
	if f.err == nil && f.step == StepCASE {
		f.step++
	}
}

// commandResponse returns the fields of the single command response, which
// must be command want of cluster; a status response is its error.
func commandResponse(op im.Opcode, payload []byte, cluster, want uint32) (im.Value, error) {
	m, err := im.ParseInvokeResponse(op, payload)
	if err != nil {
		return nil, err
	}
	if len(m.Responses) != 1 {
		return nil, fmt.Errorf("%w: %d invoke responses, want 1", ErrResponse, len(m.Responses))
	}
	r := m.Responses[0]
	if r.IsStatus {
		if err := r.Status.Status.Err(); err != nil {
			return nil, err
		}
		if want == noResponse {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: a status where command 0x%02X was due", ErrResponse, want)
	}
	if p := r.Command.Path; p.Cluster != cluster || p.Command != want {
		return nil, fmt.Errorf("%w: command %s, want 0x%04X/0x%02X", ErrResponse, p, cluster, want)
	}
	return r.Command.Fields, nil
}

// noResponse marks a command answered by a status only.
const noResponse = 0xFFFFFFFF

func commissioningOK(v im.Value) error {
	var r im.CommissioningResponse
	if err := r.Decode(v); err != nil {
		return err
	}
	if r.ErrorCode != im.CommissioningOK {
		return fmt.Errorf("ErrorCode %s (%q)", r.ErrorCode, r.DebugText)
	}
	return nil
}

// Handle takes the response (opcode and payload) to the current step's
// request and advances the flow; the error is also kept in Err.
func (f *Flow) Handle(op im.Opcode, payload []byte) error {
	if f.err != nil {
		return f.err
	}
	if err := f.handle(op, payload); err != nil {
		return f.fail(err)
	}
	f.step++
	if f.cfg.SkipAttestation && f.step == StepDACRequest {
		f.step = StepCSR
	}
	return nil
}

func (f *Flow) handle(op im.Opcode, payload []byte) error {
	gc, oc := im.ClusterGeneralCommissioning, im.ClusterOperationalCredentials
	switch f.step {
	case StepArmFailSafe, StepSetRegulatory, StepComplete:
		want := map[Step]uint32{StepArmFailSafe: im.GCCmdArmFailSafeResponse, StepSetRegulatory: im.GCCmdSetRegulatoryConfigResponse,
			StepComplete: im.GCCmdCommissioningCompleteResponse}[f.step]
		v, err := commandResponse(op, payload, gc, want)
		if err != nil {
			return err
		}
		return commissioningOK(v)
	case StepReadLocation:
		rd, err := im.ParseReadResponse(op, payload)
		if err != nil {
			return err
		}
		v, err := rd.Value(pathLocation)
		if err != nil {
			return err
		}
		c, err := v.Uint()
		if err != nil {
			return err
		}
		if c > uint64(im.RegulatoryIndoorOutdoor) {
			return fmt.Errorf("%w: LocationCapability %d", ErrResponse, c)
		}
		f.res.LocationCapability = uint8(c)
		for _, a := range []struct {
			p   im.AttributePath
			dst *uint16
		}{{pathVendorID, &f.res.BasicVendorID}, {pathProductID, &f.res.BasicProductID}} {
			v, err := rd.Value(a.p)
			var n uint64
			if err == nil {
				n, err = v.Uint()
			}
			if err != nil || n > 0xFFFF {
				return fmt.Errorf("%w: %s: %v", ErrResponse, a.p, err)
			}
			*a.dst = uint16(n)
		}
		return nil
	case StepDACRequest, StepPAIRequest:
		v, err := commandResponse(op, payload, oc, im.OCCmdCertificateChainResponse)
		if err != nil {
			return err
		}
		var r im.CertificateChainResponse
		if err := r.Decode(v); err != nil {
			return err
		}
		if f.step == StepDACRequest {
			f.dac = r.Certificate
		} else {
			f.pai = r.Certificate
		}
		return nil
	case StepAttestation:
		v, err := commandResponse(op, payload, oc, im.OCCmdAttestationResponse)
		if err != nil {
			return err
		}
		var r im.SignedElements
		if err := r.Decode(v); err != nil {
			return err
		}
		a, err := VerifyAttestation(f.dac, f.pai, &r, f.attNonce, f.cfg.Challenge, f.cfg.PAAs, f.cfg.Now)
		if err != nil {
			return err
		}
		if err := VerifyCD(a.CD, f.cfg.CDSigners, a, f.res.BasicVendorID, f.res.BasicProductID); err != nil {
			return err
		}
		f.res.Attested = a
		return nil
	case StepCSR:
		v, err := commandResponse(op, payload, oc, im.OCCmdCSRResponse)
		if err != nil {
			return err
		}
		var r im.SignedElements
		if err := r.Decode(v); err != nil {
			return err
		}
		var dacKey = f.dacKey()
		pub, err := VerifyCSR(&r, f.csrNonce, f.cfg.Challenge, dacKey)
		if err != nil {
			return err
		}
		f.res.DevicePublicKey = pub
		f.res.NOC, err = f.cfg.Fabric.IssueNOC(pub, f.cfg.DeviceNodeID)
		return err
	case StepAddRoot:
		_, err := commandResponse(op, payload, oc, noResponse)
		return err
	case StepAddNOC:
		v, err := commandResponse(op, payload, oc, im.OCCmdNOCResponse)
		if err != nil {
			return err
		}
		var r im.NOCResponse
		if err := r.Decode(v); err != nil {
			return err
		}
		if r.StatusCode != im.NOCStatusOK {
			return fmt.Errorf("NOCResponse %s (%q)", r.StatusCode, r.DebugText)
		}
		if !r.HasFabricIndex {
			return fmt.Errorf("%w: NOCResponse without a fabric index", ErrResponse)
		}
		f.res.FabricIndex = r.FabricIndex
		return nil
	case StepReadBack:
		rd, err := im.ParseReadResponse(op, payload)
		if err != nil {
			return err
		}
		v, err := rd.Value(pathVendorName)
		if err == nil {
			f.res.VendorName, err = v.String()
		}
		if err != nil {
			return fmt.Errorf("VendorName: %w", err)
		}
		v, err = rd.Value(pathFabrics)
		if err == nil {
			f.res.CommissionedFabrics, err = v.Uint()
		}
		if err != nil {
			return fmt.Errorf("CommissionedFabrics: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: no request outstanding at step %s", ErrResponse, f.step)
}

func (f *Flow) dacKey() *ecdsa.PublicKey {
	if f.res.Attested == nil {
		return nil
	}
	return f.res.Attested.DACKey
}
