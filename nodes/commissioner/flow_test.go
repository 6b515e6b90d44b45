package commissioner

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"reflect"
	"testing"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/tlv"
)

// fakeDevice answers a Flow's requests as a commissionable device does
// (spec 11.10, 11.18), from the synthetic PKI; mutate, when set, may change
// or replace the answer to a command.
type fakeDevice struct {
	t         *testing.T
	pki       *testPKI
	opKey     *ecdsa.PrivateKey
	challenge [16]byte
	location  uint8
	noc       *im.AddNOC
	root      []byte
	regConfig *im.SetRegulatoryConfig
	mutate    func(key uint32, resp *im.InvokeResponseIB) // key(cluster, command)
}

func (d *fakeDevice) answer(req Request) (im.Opcode, []byte) {
	t := d.t
	if req.Opcode == im.OpReadRequest {
		var rr im.ReadRequest
		if err := im.DecodeReadRequest(req.Payload, &rr); err != nil {
			t.Fatal(err)
		}
		rep := &im.ReportData{}
		for _, p := range rr.AttributeRequests {
			var v im.Value
			switch {
			case p.Cluster == im.ClusterGeneralCommissioning && p.Attribute == im.GCAttrLocationCapability:
				v = im.UintValue(uint64(d.location))
			case p.Cluster == im.ClusterBasicInformation && p.Attribute == im.BasicVendorID:
				v = im.UintValue(0xFFF1)
			case p.Cluster == im.ClusterBasicInformation && p.Attribute == im.BasicProductID:
				v = im.UintValue(0x8000)
			case p.Cluster == im.ClusterBasicInformation && p.Attribute == im.BasicVendorName:
				v = im.StringValue("FakeVendor")
			case p.Cluster == im.ClusterOperationalCredentials && p.Attribute == im.OCAttrCommissionedFabrics:
				v = im.UintValue(1)
			default:
				t.Fatalf("unexpected read of %s", p)
			}
			rep.AttributeReports = append(rep.AttributeReports, im.AttributeReport{Path: p, DataVersion: 1, HasDataVersion: true, Data: v})
		}
		return im.OpReportData, im.AppendReportData(nil, rep)
	}
	var ir im.InvokeRequest
	if err := im.DecodeInvokeRequest(req.Payload, &ir); err != nil || len(ir.Requests) != 1 {
		t.Fatalf("invoke request: %v (%d commands)", err, len(ir.Requests))
	}
	c := ir.Requests[0]
	p := c.Path
	data := func(cmd uint32, fields im.Value) im.InvokeResponseIB {
		return im.InvokeResponseIB{Command: im.CommandData{Path: im.CommandPath{Endpoint: 0, Cluster: p.Cluster, Command: cmd}, Fields: fields}}
	}
	var r im.InvokeResponseIB
	ok := (&im.CommissioningResponse{}).Fields()
	switch {
	case p.Cluster == im.ClusterGeneralCommissioning && p.Command == im.GCCmdArmFailSafe:
		var a im.ArmFailSafe
		if err := a.Decode(c.Fields); err != nil || a.ExpiryLengthSeconds != 60 {
			t.Fatalf("ArmFailSafe %+v %v", a, err)
		}
		r = data(im.GCCmdArmFailSafeResponse, ok)
	case p.Cluster == im.ClusterGeneralCommissioning && p.Command == im.GCCmdSetRegulatoryConfig:
		d.regConfig = &im.SetRegulatoryConfig{}
		if err := d.regConfig.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		r = data(im.GCCmdSetRegulatoryConfigResponse, ok)
	case p.Cluster == im.ClusterGeneralCommissioning && p.Command == im.GCCmdCommissioningComplete:
		if !req.OverCASE {
			t.Fatal("CommissioningComplete over PASE")
		}
		r = data(im.GCCmdCommissioningCompleteResponse, ok)
	case p.Cluster == im.ClusterOperationalCredentials && p.Command == im.OCCmdCertificateChainRequest:
		var q im.CertificateChainRequest
		if err := q.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		der := d.pki.dac.Raw
		if q.CertificateType == im.CertTypePAI {
			der = d.pki.pai.Raw
		}
		r = data(im.OCCmdCertificateChainResponse, (&im.CertificateChainResponse{Certificate: der}).Fields())
	case p.Cluster == im.ClusterOperationalCredentials && p.Command == im.OCCmdAttestationRequest:
		var q im.AttestationRequest
		if err := q.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		r = data(im.OCCmdAttestationResponse, attestationResponse(t, d.pki.dacKey, d.pki.cd, q.Nonce, d.challenge).Fields())
	case p.Cluster == im.ClusterOperationalCredentials && p.Command == im.OCCmdCSRRequest:
		var q im.CSRRequest
		if err := q.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		r = data(im.OCCmdCSRResponse, csrResponse(t, d.pki.dacKey, csrFor(t, d.opKey), q.Nonce, d.challenge).Fields())
	case p.Cluster == im.ClusterOperationalCredentials && p.Command == im.OCCmdAddTrustedRootCertificate:
		var q im.AddTrustedRootCertificate
		if err := q.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		d.root = q.RootCACertificate
		r = im.InvokeResponseIB{IsStatus: true, Status: im.CommandStatus{Path: p}}
	case p.Cluster == im.ClusterOperationalCredentials && p.Command == im.OCCmdAddNOC:
		d.noc = &im.AddNOC{}
		if err := d.noc.Decode(c.Fields); err != nil {
			t.Fatal(err)
		}
		r = data(im.OCCmdNOCResponse, (&im.NOCResponse{FabricIndex: 1, HasFabricIndex: true}).Fields())
	default:
		t.Fatalf("unexpected command %s", p)
	}
	if d.mutate != nil {
		d.mutate(key(p.Cluster, p.Command), &r)
	}
	return im.OpInvokeResponse, im.AppendInvokeResponse(nil, &im.InvokeResponse{Responses: []im.InvokeResponseIB{r}})
}

// key names a command of a cluster for fakeDevice.mutate.
func key(cluster, cmd uint32) uint32 { return cluster<<16 | cmd }

// run drives f against d until it is done, fails, or reaches CASE (which
// it passes when passCASE); it returns the steps that sent a request.
func run(t *testing.T, f *Flow, d *fakeDevice, passCASE bool) []Step {
	t.Helper()
	var steps []Step
	for n := 0; n < 20 && !f.Done() && f.Err() == nil; n++ {
		if f.Step() == StepCASE {
			if !passCASE {
				break
			}
			if _, ok := f.Next(); ok {
				t.Fatal("Next gave a request at StepCASE")
			}
			f.CASEEstablished()
			continue
		}
		req, ok := f.Next()
		if !ok {
			t.Fatalf("no request at %s", f.Step())
		}
		if req.Step != f.Step() {
			t.Fatalf("request of %s at %s", req.Step, f.Step())
		}
		steps = append(steps, req.Step)
		op, payload := d.answer(req)
		_ = f.Handle(op, payload)
	}
	return steps
}

func newFlow(t *testing.T, fab *Fabric, pki *testPKI, ch [16]byte, skip bool) *Flow {
	t.Helper()
	f, err := New(Config{Fabric: fab, DeviceNodeID: 0x42, Challenge: ch, Rand: rand.Reader,
		PAAs: pkiRoots(pki), CDSigners: []*x509.Certificate{pki.cdSigner}, SkipAttestation: skip, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlowCommissions(t *testing.T) {
	for _, icac := range []bool{false, true} {
		fab := testFabric(t, icac)
		pki := newPKI(t)
		ch := [16]byte{0xC4}
		d := &fakeDevice{t: t, pki: pki, opKey: newKey(t), challenge: ch, location: im.RegulatoryIndoor}
		f := newFlow(t, fab, pki, ch, false)
		steps := run(t, f, d, true)
		if err := f.Err(); err != nil {
			t.Fatalf("icac=%v: %v", icac, err)
		}
		want := []Step{StepArmFailSafe, StepReadLocation, StepSetRegulatory, StepDACRequest, StepPAIRequest,
			StepAttestation, StepCSR, StepAddRoot, StepAddNOC, StepComplete, StepReadBack}
		if !reflect.DeepEqual(steps, want) || !f.Done() {
			t.Fatalf("steps %v, want %v (done %v)", steps, want, f.Done())
		}
		res := f.Result()
		if res.Attested == nil || res.Attested.VendorID != 0xFFF1 || res.FabricIndex != 1 || res.VendorName != "FakeVendor" ||
			res.CommissionedFabrics != 1 || res.LocationCapability != im.RegulatoryIndoor {
			t.Fatalf("result %+v", res)
		}
		// SetRegulatoryConfig asked for what the device can do.
		if d.regConfig.NewRegulatoryConfig != im.RegulatoryIndoor || d.regConfig.CountryCode != "XX" {
			t.Fatalf("SetRegulatoryConfig %+v", d.regConfig)
		}
		// AddTrustedRootCertificate and AddNOC carry our root, the NOC for
		// the device's key, the IPK epoch key and the admin subject.
		if string(d.root) != string(fab.RCACTLV) || string(d.noc.ICAC) != string(fab.ICACTLV) ||
			string(d.noc.IPK) != string(fab.IPKEpochKey[:]) || d.noc.CaseAdminSubject != 0x1B669 || d.noc.AdminVendorID != 0xFFF1 {
			t.Fatalf("AddNOC %+v", d.noc)
		}
		noc, err := cert.DecodeTLV(d.noc.NOC)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := d.opKey.PublicKey.Bytes()
		if string(noc.PublicKey) != string(pub) {
			t.Fatal("the NOC is not for the CSR's key")
		}
		// The device can run CASE with what it was given, and so can we.
		caseBetween(t, fab, d, 0x42)
	}
}

// caseBetween runs a CASE handshake between the controller's credentials
// and the device's commissioned ones (sans-I/O, both machines in memory).
func caseBetween(t *testing.T, fab *Fabric, d *fakeDevice, nodeID uint64) {
	t.Helper()
	ctl, err := fab.CASEFabric(1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := cert.DecodeTLV(d.root)
	if err != nil {
		t.Fatal(err)
	}
	var ipk [16]byte
	copy(ipk[:], d.noc.IPK)
	dev, err := casesess.NewFabric(1, root, d.noc.NOC, d.noc.ICAC, d.opKey, ipk)
	if err != nil {
		t.Fatalf("the device's credentials: %v", err)
	}
	epoch := cert.Time(852076800) // 2027-01-01, after the NOC's not-before
	ini, err := casesess.NewInitiator(casesess.InitiatorConfig{Fabric: ctl, PeerNodeID: nodeID, LocalSessionID: 1, Rand: rand.Reader, Epoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	rsp, err := casesess.NewResponder(casesess.ResponderConfig{Fabrics: []*casesess.Fabric{dev}, LocalSessionID: 2, Rand: rand.Reader, Epoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	var now clock.Time
	out, err := ini.Start(now)
	for i := 0; err == nil && out.Send && i < 6; i++ {
		m := rsp.Handle
		if i%2 == 1 {
			m = ini.Handle
		}
		out, err = m(now, out.Opcode, out.Payload)
	}
	if err != nil {
		t.Fatalf("CASE: %v", err)
	}
	if r, ok := ini.Result(); !ok || r.PeerNodeID != nodeID {
		t.Fatalf("CASE not established (%+v)", r)
	}
}

func TestFlowSkipAttestation(t *testing.T) {
	fab := testFabric(t, false)
	pki := newPKI(t)
	d := &fakeDevice{t: t, pki: pki, opKey: newKey(t), challenge: [16]byte{1}, location: im.RegulatoryIndoorOutdoor}
	f := newFlow(t, fab, pki, [16]byte{1}, true)
	steps := run(t, f, d, true)
	want := []Step{StepArmFailSafe, StepReadLocation, StepSetRegulatory, StepCSR, StepAddRoot, StepAddNOC, StepComplete, StepReadBack}
	if f.Err() != nil || !reflect.DeepEqual(steps, want) {
		t.Fatalf("steps %v (err %v), want %v", steps, f.Err(), want)
	}
	if f.Result().Attested != nil {
		t.Fatal("attested without attestation")
	}
}

// A device that answers wrongly stops the flow at that step with a typed
// error; nothing more is sent.
func TestFlowFailures(t *testing.T) {
	status := func(s im.Status) func(uint32, *im.InvokeResponseIB) {
		return func(_ uint32, r *im.InvokeResponseIB) {
			*r = im.InvokeResponseIB{IsStatus: true, Status: im.CommandStatus{Path: r.Command.Path, Status: im.StatusIB{Status: s}}}
		}
	}
	on := func(cmd uint32, fn func(uint32, *im.InvokeResponseIB)) func(uint32, *im.InvokeResponseIB) {
		return func(c uint32, r *im.InvokeResponseIB) {
			if c == cmd {
				fn(c, r)
			}
		}
	}
	fields := func(v im.Value) func(uint32, *im.InvokeResponseIB) {
		return func(_ uint32, r *im.InvokeResponseIB) { r.Command.Fields = v }
	}
	tests := []struct {
		name      string
		mutate    func(uint32, *im.InvokeResponseIB)
		challenge [16]byte // the device's view of the challenge
		step      Step
		is        error
	}{
		{"ArmFailSafe busy", on(key(im.ClusterGeneralCommissioning, im.GCCmdArmFailSafe), fields((&im.CommissioningResponse{ErrorCode: im.CommissioningBusyWithOtherAdmin}).Fields())),
			[16]byte{}, StepArmFailSafe, nil},
		{"SetRegulatoryConfig refused", on(key(im.ClusterGeneralCommissioning, im.GCCmdSetRegulatoryConfig), fields((&im.CommissioningResponse{ErrorCode: im.CommissioningValueOutsideRange}).Fields())),
			[16]byte{}, StepSetRegulatory, nil},
		{"other challenge", nil, [16]byte{0xEE}, StepAttestation, ErrAttestation},
		{"CSRRequest unsupported", on(key(im.ClusterOperationalCredentials, im.OCCmdCSRRequest), status(im.StatusUnsupportedCommand)), [16]byte{}, StepCSR, nil},
		{"AddTrustedRootCertificate failed", on(key(im.ClusterOperationalCredentials, im.OCCmdAddTrustedRootCertificate), status(im.StatusFailure)), [16]byte{}, StepAddRoot, nil},
		{"AddNOC InvalidNOC", on(key(im.ClusterOperationalCredentials, im.OCCmdAddNOC), fields((&im.NOCResponse{StatusCode: im.NOCStatusInvalidNOC}).Fields())), [16]byte{}, StepAddNOC, nil},
		{"NOCResponse without fabric index", on(key(im.ClusterOperationalCredentials, im.OCCmdAddNOC), fields((&im.NOCResponse{}).Fields())), [16]byte{}, StepAddNOC, ErrResponse},
		{"wrong response command", on(key(im.ClusterOperationalCredentials, im.OCCmdCertificateChainRequest), func(_ uint32, r *im.InvokeResponseIB) { r.Command.Path.Command = im.OCCmdCSRResponse }),
			[16]byte{}, StepDACRequest, ErrResponse},
		{"malformed attestation response", on(key(im.ClusterOperationalCredentials, im.OCCmdAttestationRequest), fields(im.NewValue(func(w *tlv.Writer) { w.PutUint(tlv.AnonymousTag(), 1) }))),
			[16]byte{}, StepAttestation, im.ErrWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pki := newPKI(t)
			d := &fakeDevice{t: t, pki: pki, opKey: newKey(t), challenge: tc.challenge, mutate: tc.mutate}
			f := newFlow(t, testFabric(t, false), pki, [16]byte{}, false)
			run(t, f, d, true)
			var se *StepError
			if !errors.As(f.Err(), &se) || se.Step != tc.step {
				t.Fatalf("err = %v, want a StepError at %s", f.Err(), tc.step)
			}
			if tc.is != nil && !errors.Is(f.Err(), tc.is) {
				t.Fatalf("err = %v, want %v", f.Err(), tc.is)
			}
			if _, ok := f.Next(); ok || f.Done() {
				t.Fatal("the flow went on after failing")
			}
			if err := f.Handle(im.OpInvokeResponse, nil); err != f.Err() {
				t.Fatalf("Handle after failure = %v", err)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	fab := testFabric(t, false)
	for _, cfg := range []Config{
		{DeviceNodeID: 1, Rand: rand.Reader},
		{Fabric: fab, DeviceNodeID: 1},
		{Fabric: fab, Rand: rand.Reader},
		{Fabric: fab, DeviceNodeID: 0xFFFF_FFF0_0000_0000, Rand: rand.Reader},
		{Fabric: fab, DeviceNodeID: 1, Rand: rand.Reader, CountryCode: "USA"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// Disarm is offered from the first step after ArmFailSafe until
// CommissioningComplete succeeds, and is ArmFailSafe with expiry 0.
func TestFlowDisarm(t *testing.T) {
	pki := newPKI(t)
	d := &fakeDevice{t: t, pki: pki, opKey: newKey(t)}
	f := newFlow(t, testFabric(t, false), pki, [16]byte{}, false)
	if _, ok := f.Disarm(); ok {
		t.Fatal("Disarm before ArmFailSafe")
	}
	for f.Step() != StepCASE {
		req, _ := f.Next()
		op, payload := d.answer(req)
		if err := f.Handle(op, payload); err != nil {
			t.Fatal(err)
		}
		req, ok := f.Disarm()
		if !ok {
			t.Fatalf("no Disarm at %s", f.Step())
		}
		var ir im.InvokeRequest
		if err := im.DecodeInvokeRequest(req.Payload, &ir); err != nil {
			t.Fatal(err)
		}
		var a im.ArmFailSafe
		if err := a.Decode(ir.Requests[0].Fields); err != nil || a.ExpiryLengthSeconds != 0 || req.OverCASE ||
			ir.Requests[0].Path.Command != im.GCCmdArmFailSafe {
			t.Fatalf("Disarm = %+v %+v (%v)", ir.Requests[0].Path, a, err)
		}
	}
	run(t, f, d, true)
	if _, ok := f.Disarm(); ok || !f.Done() {
		t.Fatal("Disarm after CommissioningComplete")
	}
	// A failed ArmFailSafe has nothing to disarm.
	d2 := &fakeDevice{t: t, pki: pki, opKey: newKey(t), mutate: func(k uint32, r *im.InvokeResponseIB) {
		r.Command.Fields = (&im.CommissioningResponse{ErrorCode: im.CommissioningBusyWithOtherAdmin}).Fields()
	}}
	f2 := newFlow(t, testFabric(t, false), pki, [16]byte{}, false)
	run(t, f2, d2, true)
	if _, ok := f2.Disarm(); ok || f2.Err() == nil {
		t.Fatal("Disarm after ArmFailSafe failed")
	}
}
