package im_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/tlv"
)

// commissionee is a commissionable light with its store, driven through
// the IM server as a commissioner would.
type commissionee struct {
	t     *testing.T
	store *fabrics.Store
	c     *im.Commissioning
	light *im.Light
	srv   *im.Server
	ca    *testca.Fabric
	chal  [16]byte
}

const adminNode = 0x1122

func newCommissionee(t *testing.T) *commissionee {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{7})
	st, err := fabrics.New(fabrics.Config{Rand: rng, Epoch: testca.DefaultNotBefore + 86400})
	require.NoError(t, err)
	att, err := fabrics.TestAttestation()
	require.NoError(t, err)
	ca, err := testca.Mint(testca.Options{Seed: 3, FabricID: 0xFAB})
	require.NoError(t, err)
	e := &commissionee{t: t, store: st, ca: ca, chal: [16]byte{0xA5, 1, 2, 3}}
	e.c = &im.Commissioning{Store: st, Attestation: att,
		Challenge: func(*im.Accessor) ([16]byte, bool) { return e.chal, true }}
	e.light = im.NewCommissionableLight(im.InteropBasicInfo(), 1, e.c)
	e.srv = im.NewServer(e.light.Node)
	e.pase()
	return e
}

func (e *commissionee) pase() { e.light.Node.Accessor = &im.Accessor{AuthMode: fabrics.AuthPASE} }

func (e *commissionee) caseAs(fabric uint8, node uint64) {
	e.light.Node.Accessor = &im.Accessor{AuthMode: fabrics.AuthCASE, FabricIndex: fabric, NodeID: node}
}

// invoke runs one command on endpoint 0 and returns the response fields
// (nil for a status) and the status.
func (e *commissionee) invoke(ep uint16, cluster, cmd uint32, fields func(w *tlv.Writer)) (uint32, map[uint8]any, im.Status) {
	e.t.Helper()
	v := im.NewValue(func(w *tlv.Writer) {
		w.StartStruct(tlv.AnonymousTag())
		if fields != nil {
			fields(w)
		}
		w.EndContainer()
	})
	res, st := e.srv.Invoke(im.NewInvokeRequest(im.CommandPath{Endpoint: ep, Cluster: cluster, Command: cmd}, v))
	require.Equal(e.t, im.StatusSuccess, st)
	require.Len(e.t, res.Responses, 1)
	r := res.Responses[0]
	if r.IsStatus {
		return 0, nil, r.Status.Status.Status
	}
	return r.Command.Path.Command, decodeStruct(e.t, r.Command.Fields), im.StatusSuccess
}

// decodeStruct reads a flat structure: context tag → uint64, []byte,
// string, bool or nil.
func decodeStruct(t *testing.T, v im.Value) map[uint8]any {
	t.Helper()
	out := map[uint8]any{}
	r := tlv.NewReader(v)
	require.NoError(t, r.Next())
	require.NoError(t, r.Enter())
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		n := uint8(r.Tag().Number)
		switch r.Type() {
		case tlv.Uint:
			out[n], _ = r.Uint()
		case tlv.Bytes:
			b, _ := r.Bytes()
			out[n] = append([]byte(nil), b...)
		case tlv.UTF8:
			out[n], _ = r.String()
		case tlv.Bool:
			out[n], _ = r.Bool()
		default:
			out[n] = nil
			require.NoError(t, r.Skip())
		}
	}
	return out
}

func (e *commissionee) arm(secs, crumb uint64) fabrics.CommissioningError {
	e.t.Helper()
	id, f, st := e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdArmFailSafe, func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), secs)
		w.PutUint(tlv.ContextTag(1), crumb)
	})
	require.Equal(e.t, im.StatusSuccess, st)
	require.Equal(e.t, im.GCCmdArmFailSafeResponse, id)
	return fabrics.CommissioningError(f[0].(uint64))
}

func nonce(b byte) []byte {
	n := make([]byte, 32)
	for i := range n {
		n[i] = b + byte(i)
	}
	return n
}

// csr runs CSRRequest and returns the operational public key of the CSR
// after checking the CSR and the attestation signature.
func (e *commissionee) csr() *ecdsa.PublicKey {
	e.t.Helper()
	id, f, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdCSRRequest, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), nonce(9))
	})
	require.Equal(e.t, im.StatusSuccess, st)
	require.Equal(e.t, im.OCCmdCSRResponse, id)
	elements, sig := f[0].([]byte), f[1].([]byte)
	verifyDAC(e.t, e.c.Attestation, elements, e.chal, sig)
	el := decodeStruct(e.t, im.Value(elements))
	require.Equal(e.t, nonce(9), el[2])
	req, err := x509.ParseCertificateRequest(el[1].([]byte))
	require.NoError(e.t, err)
	require.NoError(e.t, req.CheckSignature())
	pub, ok := req.PublicKey.(*ecdsa.PublicKey)
	require.True(e.t, ok)
	return pub
}

// verifyDAC checks an AttestationSignature with the DAC's public key.
func verifyDAC(t *testing.T, a fabrics.Attestation, msg []byte, chal [16]byte, sig []byte) {
	t.Helper()
	dac, err := x509.ParseCertificate(a.DAC)
	require.NoError(t, err)
	pub := dac.PublicKey.(*ecdsa.PublicKey)
	h := sha256.Sum256(append(append([]byte(nil), msg...), chal[:]...))
	require.Len(t, sig, 64)
	require.True(t, ecdsa.VerifyASN1(pub, h[:], cert.SignatureToASN1(sig)), "attestation signature does not verify with the DAC key")
}

// noc issues a NOC for pub on the test fabric, signed by its root.
func (e *commissionee) noc(pub *ecdsa.PublicKey, node uint64) []byte {
	e.t.Helper()
	raw, err := pub.Bytes()
	require.NoError(e.t, err)
	rootPub, _ := e.ca.RCAC.Key.PublicKey.Bytes()
	c := &cert.Certificate{
		SerialNumber: []byte{0x42}, SigAlgo: cert.SigAlgoECDSAWithSHA256, Issuer: e.ca.RCAC.Cert.Subject,
		NotBefore: testca.DefaultNotBefore, Subject: cert.DN{{Tag: cert.AttrMatterNodeID, Value: node},
			{Tag: cert.AttrMatterFabricID, Value: e.ca.Options.FabricID}},
		PubKeyAlgo: cert.PubKeyAlgoEC, Curve: cert.CurvePrime256v1, PublicKey: raw,
		Extensions: []cert.Extension{cert.BasicConstraints(false, -1),
			{ID: cert.ExtKeyUsage, PathLen: -1, KeyUsage: cert.KeyUsageDigitalSignature},
			{ID: cert.ExtExtendedKeyUsage, PathLen: -1, Purposes: []cert.KeyPurpose{cert.PurposeClientAuth, cert.PurposeServerAuth}},
			{ID: cert.ExtSubjectKeyID, PathLen: -1, KeyID: testca.KeyID(raw)},
			{ID: cert.ExtAuthorityKeyID, PathLen: -1, KeyID: testca.KeyID(rootPub)}},
	}
	require.NoError(e.t, c.Sign(e.ca.RCAC.Key))
	b, err := cert.AppendTLV(nil, c)
	require.NoError(e.t, err)
	return b
}

func (e *commissionee) addRoot() im.Status {
	_, _, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdAddTrustedRootCertificate, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), e.ca.RCAC.TLV)
	})
	return st
}

func (e *commissionee) addNOC(noc []byte) (map[uint8]any, im.Status) {
	e.t.Helper()
	id, f, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdAddNOC, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), noc)
		w.PutBytes(tlv.ContextTag(2), e.ca.IPK[:])
		w.PutUint(tlv.ContextTag(3), adminNode)
		w.PutUint(tlv.ContextTag(4), 0xFFF1)
	})
	if st == im.StatusSuccess {
		require.Equal(e.t, im.OCCmdNOCResponse, id)
	}
	return f, st
}

// commission runs the PASE part of commissioning up to AddNOC.
func (e *commissionee) commission() uint8 {
	e.t.Helper()
	require.Equal(e.t, fabrics.CommissioningOK, e.arm(60, 1))
	pub := e.csr()
	require.Equal(e.t, im.StatusSuccess, e.addRoot())
	f, st := e.addNOC(e.noc(pub, 0x77))
	require.Equal(e.t, im.StatusSuccess, st)
	require.Equal(e.t, uint64(fabrics.NOCOK), f[0])
	return uint8(f[1].(uint64))
}

func (e *commissionee) read(attr im.AttributePath) im.Value {
	e.t.Helper()
	rep, st := e.srv.Read(im.NewReadRequest(attr))
	require.Equal(e.t, im.StatusSuccess, st)
	v, err := rep.Value(attr)
	require.NoError(e.t, err)
	return v
}

func TestCommissioningFlow(t *testing.T) {
	e := newCommissionee(t)
	// Certificate chain and attestation (spec 6.2.3).
	for typ, want := range map[uint64][]byte{1: e.c.Attestation.DAC, 2: e.c.Attestation.PAI} {
		id, f, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdCertificateChainRequest, func(w *tlv.Writer) {
			w.PutUint(tlv.ContextTag(0), typ)
		})
		require.Equal(t, im.StatusSuccess, st)
		require.Equal(t, im.OCCmdCertificateChainResponse, id)
		require.Equal(t, want, f[0])
	}
	_, f, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdAttestationRequest, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), nonce(1))
	})
	require.Equal(t, im.StatusSuccess, st)
	verifyDAC(t, e.c.Attestation, f[0].([]byte), e.chal, f[1].([]byte))
	el := decodeStruct(t, im.Value(f[0].([]byte)))
	require.Equal(t, e.c.Attestation.CD, el[1])
	require.Equal(t, nonce(1), el[2])

	idx := e.commission()
	require.Equal(t, uint8(1), idx)
	require.Len(t, e.store.Fabrics(), 1)
	fab := e.store.Fabrics()[0]
	require.Equal(t, uint64(0x77), fab.NodeID)
	require.Equal(t, uint64(0xFAB), fab.FabricID)
	require.Equal(t, []fabrics.Entry{{FabricIndex: 1, Privilege: fabrics.PrivilegeAdminister,
		AuthMode: fabrics.AuthCASE, Subjects: []uint64{adminNode}}}, e.store.ACL())
	n, err := e.read(im.ConcreteAttribute(0, im.ClusterOperationalCredentials, im.OCAttrCommissionedFabrics)).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
	require.Contains(t, e.read(im.ConcreteAttribute(0, im.ClusterAccessControl, im.ACLAttrACL)).Format(), "uint16 4386")

	// CommissioningComplete needs CASE on the new fabric (spec 11.10.7.6).
	_, f, _ = e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdCommissioningComplete, nil)
	require.Equal(t, uint64(fabrics.CommissioningInvalidAuth), f[0])
	e.caseAs(1, adminNode)
	cur, err := e.read(im.ConcreteAttribute(0, im.ClusterOperationalCredentials, im.OCAttrCurrentFabricIndex)).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(1), cur)
	id, f, st := e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdCommissioningComplete, nil)
	require.Equal(t, im.StatusSuccess, st)
	require.Equal(t, im.GCCmdCommissioningCompleteResponse, id)
	require.Equal(t, uint64(fabrics.CommissioningOK), f[0])
	require.False(t, e.store.Armed())
	n2, ok := e.c.Poll()
	require.True(t, ok)
	require.Equal(t, im.NoticeFabricAdded, n2.Kind)
	n2, _ = e.c.Poll()
	require.Equal(t, im.NoticeCommissioned, n2.Kind)

	// The committed fabric survives a later fail-safe expiry.
	e.c.HandleTimeout(clock.Time(time.Hour))
	require.Len(t, e.store.Fabrics(), 1)

	// Label, then the light over CASE, then removal.
	_, f, _ = e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdUpdateFabricLabel, func(w *tlv.Writer) {
		w.PutString(tlv.ContextTag(0), "home")
	})
	require.Equal(t, uint64(fabrics.NOCOK), f[0])
	require.Equal(t, "home", e.store.Fabrics()[0].Label)
	_, _, st = e.invoke(1, im.ClusterOnOff, im.OnOffCmdToggle, nil)
	require.Equal(t, im.StatusSuccess, st)
	require.True(t, e.light.On())
	_, f, _ = e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdRemoveFabric, func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), 1)
	})
	require.Equal(t, uint64(fabrics.NOCOK), f[0])
	require.Empty(t, e.store.Fabrics())
	require.Empty(t, e.store.ACL())
}

func TestFailSafeExpiryRollsBackFabric(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expire func(e *commissionee)
	}{
		{"timer", func(e *commissionee) {
			e.c.HandleTimeout(clock.Time(59 * time.Second))
			require.Len(t, e.store.Fabrics(), 1, "expired early")
			e.c.HandleTimeout(clock.Time(60 * time.Second))
		}},
		{"expiry 0", func(e *commissionee) {
			require.Equal(t, fabrics.CommissioningOK, e.arm(0, 5))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCommissionee(t)
			require.Equal(t, clock.Time(0), e.c.Now)
			idx := e.commission()
			require.Equal(t, clock.Time(60*time.Second), e.c.Deadline())
			for {
				if _, ok := e.c.Poll(); !ok {
					break
				}
			}
			tc.expire(e)
			require.Empty(t, e.store.Fabrics())
			require.Empty(t, e.store.ACL())
			require.False(t, e.store.Armed())
			require.Equal(t, clock.Never, e.c.Deadline())
			n, ok := e.c.Poll()
			require.True(t, ok)
			require.Equal(t, im.CommissioningNotice{Kind: im.NoticeFailSafeExpired, Fabric: idx}, n)
			// The pending CSR key is gone: AddNOC after re-arming needs a new CSR.
			e.pase()
			require.Equal(t, fabrics.CommissioningOK, e.arm(60, 0))
			require.Equal(t, im.StatusSuccess, e.addRoot())
			f, st := e.addNOC(e.noc(&e.ca.Nodes[0].Key.PublicKey, 0x77))
			require.Equal(t, im.StatusSuccess, st)
			require.Equal(t, uint64(fabrics.NOCMissingCSR), f[0])
		})
	}
}

func TestCommissioningCommandErrors(t *testing.T) {
	e := newCommissionee(t)
	// Not armed: CSR, root and NOC need the fail-safe (spec 11.18.6).
	_, _, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdCSRRequest, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), nonce(0))
	})
	require.Equal(t, im.StatusFailsafeRequired, st)
	require.Equal(t, im.StatusFailsafeRequired, e.addRoot())
	_, st = e.addNOC([]byte{1})
	require.Equal(t, im.StatusFailsafeRequired, st)
	require.Equal(t, fabrics.CommissioningOK, e.arm(60, 0))
	for _, tc := range []struct {
		name   string
		cmd    uint32
		fields func(w *tlv.Writer)
		want   im.Status
	}{
		{"CSR short nonce", im.OCCmdCSRRequest, func(w *tlv.Writer) { w.PutBytes(tlv.ContextTag(0), []byte{1}) }, im.StatusInvalidCommand},
		{"CSR no nonce", im.OCCmdCSRRequest, nil, im.StatusInvalidCommand},
		{"attestation long nonce", im.OCCmdAttestationRequest, func(w *tlv.Writer) { w.PutBytes(tlv.ContextTag(0), make([]byte, 33)) }, im.StatusInvalidCommand},
		{"chain type 3", im.OCCmdCertificateChainRequest, func(w *tlv.Writer) { w.PutUint(tlv.ContextTag(0), 3) }, im.StatusInvalidCommand},
		// connectedhomeip OperationalCredentialsCluster.cpp
		// HandleAddTrustedRootCertificate: ValidateChipRCAC failing and a
		// root over 400 octets are INVALID_COMMAND; HandleUpdateFabricLabel:
		// a label over 32 is INVALID_COMMAND.
		{"root not a cert", im.OCCmdAddTrustedRootCertificate, func(w *tlv.Writer) { w.PutBytes(tlv.ContextTag(0), []byte{0x15, 0x18}) }, im.StatusInvalidCommand},
		{"root too long", im.OCCmdAddTrustedRootCertificate, func(w *tlv.Writer) { w.PutBytes(tlv.ContextTag(0), make([]byte, 401)) }, im.StatusInvalidCommand},
		{"label too long", im.OCCmdUpdateFabricLabel, func(w *tlv.Writer) { w.PutString(tlv.ContextTag(0), string(make([]byte, 33))) }, im.StatusInvalidCommand},
		{"NOC fields missing", im.OCCmdAddNOC, func(w *tlv.Writer) { w.PutBytes(tlv.ContextTag(0), []byte{1}) }, im.StatusInvalidCommand},
		{"remove index 0", im.OCCmdRemoveFabric, func(w *tlv.Writer) { w.PutUint(tlv.ContextTag(0), 0) }, im.StatusInvalidCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, st := e.invoke(0, im.ClusterOperationalCredentials, tc.cmd, tc.fields)
			require.Equal(t, tc.want, st)
		})
	}
	// AddNOC before CSR, with a NOC for the wrong key, and a repeat root.
	require.Equal(t, im.StatusSuccess, e.addRoot())
	require.Equal(t, im.StatusConstraintError, e.addRoot()) // one root per fail-safe (SDK HandleAddTrustedRootCertificate)
	f, _ := e.addNOC(e.noc(&e.ca.Nodes[0].Key.PublicKey, 0x77))
	require.Equal(t, uint64(fabrics.NOCMissingCSR), f[0])
	e.csr()
	f, _ = e.addNOC(e.noc(&e.ca.Nodes[0].Key.PublicKey, 0x77))
	require.Equal(t, uint64(fabrics.NOCInvalidPublicKey), f[0])
	// A NOC from another root.
	other, err := testca.Mint(testca.Options{Seed: 99})
	require.NoError(t, err)
	f, _ = e.addNOC(other.Nodes[0].TLV)
	require.Equal(t, uint64(fabrics.NOCInvalidNOC), f[0])
	// SetRegulatoryConfig: bad country code length, then fine.
	_, _, st = e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdSetRegulatoryConfig, func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), 2)
		w.PutString(tlv.ContextTag(1), "XXX")
		w.PutUint(tlv.ContextTag(2), 3)
	})
	require.Equal(t, im.StatusConstraintError, st)
	_, f, st = e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdSetRegulatoryConfig, func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), 1)
		w.PutString(tlv.ContextTag(1), "DE")
		w.PutUint(tlv.ContextTag(2), 3)
	})
	require.Equal(t, im.StatusSuccess, st)
	require.Equal(t, uint64(fabrics.CommissioningOK), f[0])
	crumb, err := e.read(im.ConcreteAttribute(0, im.ClusterGeneralCommissioning, im.GCAttrBreadcrumb)).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(3), crumb)
}

func TestAccessControl(t *testing.T) {
	e := newCommissionee(t)
	idx := e.commission()
	for _, tc := range []struct {
		name   string
		fabric uint8
		node   uint64
		want   im.Status
	}{
		{"admin", idx, adminNode, im.StatusSuccess},
		{"other node", idx, adminNode + 1, im.StatusUnsupportedAccess},
		{"other fabric", idx + 1, adminNode, im.StatusUnsupportedAccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.caseAs(tc.fabric, tc.node)
			_, _, st := e.invoke(1, im.ClusterOnOff, im.OnOffCmdToggle, nil)
			require.Equal(t, tc.want, st)
			_, _, st = e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdUpdateFabricLabel, func(w *tlv.Writer) {
				w.PutString(tlv.ContextTag(0), "x")
			})
			require.Equal(t, tc.want, st)
		})
	}
	// A second admin fabric while this one holds the fail-safe is busy.
	e.caseAs(idx+1, 5)
	code, exp := e.store.ArmFailSafe(0, time.Minute, idx+1, 0)
	require.Equal(t, fabrics.CommissioningBusyWithOtherAdmin, code)
	require.Nil(t, exp)
}

func TestCommissionableDescriptorAndNetwork(t *testing.T) {
	e := newCommissionee(t)
	servers := e.read(im.ConcreteAttribute(0, im.ClusterDescriptor, im.DescriptorServerList)).Format()
	for _, id := range []string{" 29\n", " 31\n", " 40\n", " 48\n", " 49\n", " 62\n", " 63\n"} {
		require.Contains(t, servers, id)
	}
	fm, err := e.read(im.ConcreteAttribute(0, im.ClusterNetworkCommissioning, im.AttrFeatureMap)).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(im.NCFeatureEthernet), fm)
	require.Contains(t, e.read(im.ConcreteAttribute(0, im.ClusterNetworkCommissioning, im.NCAttrNetworks)).Format(), "true")
	info := e.read(im.ConcreteAttribute(0, im.ClusterGeneralCommissioning, im.GCAttrBasicCommissioningInfo)).Format()
	require.Contains(t, info, "60")
}

// Reads need View: a CASE subject outside the ACL gets UNSUPPORTED_ACCESS
// for a concrete path and nothing for a wildcard.
func TestReadAccessControl(t *testing.T) {
	e := newCommissionee(t)
	idx := e.commission()
	vendor := im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName)
	e.caseAs(idx, adminNode)
	_ = e.read(vendor)
	e.caseAs(idx, adminNode+1)
	rep, st := e.srv.Read(im.NewReadRequest(vendor, im.AttributePathWildcard()))
	require.Equal(t, im.StatusSuccess, st)
	require.Len(t, rep.AttributeReports, 1)
	require.Equal(t, im.StatusUnsupportedAccess, rep.AttributeReports[0].Status.Status)
	require.True(t, rep.AttributeReports[0].IsStatus())
}

func aclValue(entries ...[3]any) im.Value {
	return im.NewValue(func(w *tlv.Writer) {
		w.StartArray(tlv.AnonymousTag())
		for _, e := range entries {
			w.StartStruct(tlv.AnonymousTag())
			w.PutUint(tlv.ContextTag(1), e[0].(uint64))
			w.PutUint(tlv.ContextTag(2), e[1].(uint64))
			if subs, ok := e[2].([]uint64); ok {
				w.StartArray(tlv.ContextTag(3))
				for _, s := range subs {
					w.PutUint(tlv.AnonymousTag(), s)
				}
				w.EndContainer()
			} else {
				w.PutNull(tlv.ContextTag(3))
			}
			w.PutNull(tlv.ContextTag(4))
			w.EndContainer()
		}
		w.EndContainer()
	})
}

// ACL writes need Administer on the accessing fabric and replace that
// fabric's entries; a bad entry changes nothing.
func TestACLWrite(t *testing.T) {
	e := newCommissionee(t)
	idx := e.commission()
	acl := im.ConcreteAttribute(0, im.ClusterAccessControl, im.ACLAttrACL)
	write := func(v im.Value) im.Status {
		t.Helper()
		res, st := e.srv.Write(im.NewWriteRequest(acl, v, false), false)
		require.Equal(t, im.StatusSuccess, st)
		require.Len(t, res.Responses, 1)
		return res.Responses[0].Status.Status
	}
	admin := [3]any{uint64(fabrics.PrivilegeAdminister), uint64(fabrics.AuthCASE), []uint64{adminNode}}
	operator := [3]any{uint64(fabrics.PrivilegeOperate), uint64(fabrics.AuthCASE), []uint64{0x99}}

	e.pase()
	require.Equal(t, im.StatusUnsupportedAccess, write(aclValue(admin, operator)), "PASE has no accessing fabric")
	e.caseAs(idx, 0x99)
	require.Equal(t, im.StatusUnsupportedAccess, write(aclValue(admin, operator)), "not an administrator")
	e.caseAs(idx, adminNode)
	for name, v := range map[string]im.Value{
		"PASE entry":    aclValue([3]any{uint64(5), uint64(fabrics.AuthPASE), nil}),
		"privilege 6":   aclValue([3]any{uint64(6), uint64(fabrics.AuthCASE), nil}),
		"group admin":   aclValue([3]any{uint64(5), uint64(fabrics.AuthGroup), []uint64{1}}),
		"node id 0":     aclValue([3]any{uint64(3), uint64(fabrics.AuthCASE), []uint64{0}}),
		"five entries":  aclValue(admin, operator, operator, operator, operator),
		"five subjects": aclValue([3]any{uint64(3), uint64(fabrics.AuthCASE), []uint64{1, 2, 3, 4, 5}}),
		"not a list":    im.UintValue(1),
		"targets not null": im.NewValue(func(w *tlv.Writer) {
			w.StartArray(tlv.AnonymousTag())
			w.StartStruct(tlv.AnonymousTag())
			w.PutUint(tlv.ContextTag(1), 3)
			w.PutUint(tlv.ContextTag(2), 2)
			w.StartArray(tlv.ContextTag(4))
			w.EndContainer()
			w.EndContainer()
			w.EndContainer()
		}),
	} {
		st := write(v)
		require.Contains(t, []im.Status{im.StatusConstraintError, im.StatusInvalidDataType}, st, name)
		require.Len(t, e.store.ACL(), 1, name)
	}
	require.Equal(t, im.StatusSuccess, write(aclValue(admin, operator)))
	require.Len(t, e.store.ACL(), 2)
	// The new operator may toggle but not administer.
	e.caseAs(idx, 0x99)
	_, _, st := e.invoke(1, im.ClusterOnOff, im.OnOffCmdToggle, nil)
	require.Equal(t, im.StatusSuccess, st)
	_, _, st = e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdArmFailSafe, func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), 60)
		w.PutUint(tlv.ContextTag(1), 0)
	})
	require.Equal(t, im.StatusUnsupportedAccess, st)
	// An admin that writes itself out locks itself out (as the SDK allows).
	e.caseAs(idx, adminNode)
	require.Equal(t, im.StatusSuccess, write(aclValue(operator)))
	require.Equal(t, im.StatusUnsupportedAccess, write(aclValue(admin)))
}

// FuzzCommissioningCommands: arbitrary fields to every commissioning
// command, from PASE and from CASE, never panic, and the store keeps its
// invariants (at most SupportedFabrics fabrics, every ACL entry on a
// fabric that exists).
func FuzzCommissioningCommands(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0x15, 0x24, 0x00, 0x3c, 0x24, 0x01, 0x01, 0x18})
	f.Add(uint8(1), uint8(4), []byte{0x15, 0x30, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0x18})
	f.Add(uint8(1), uint8(6), []byte{0x15, 0x30, 0x00, 0x01, 0x00, 0x30, 0x02, 0x01, 0x00, 0x24, 0x03, 0x01, 0x25, 0x04, 0xf1, 0xff, 0x18})
	f.Add(uint8(2), uint8(0), []byte{0x16, 0x15, 0x24, 0x01, 0x05, 0x24, 0x02, 0x02, 0x18, 0x18})
	f.Fuzz(func(t *testing.T, cluster, cmd uint8, fields []byte) {
		e := newCommissionee(t)
		_ = e.arm(60, 0)
		clusters := []uint32{im.ClusterGeneralCommissioning, im.ClusterOperationalCredentials, im.ClusterAccessControl}
		cl := clusters[int(cluster)%len(clusters)]
		for _, as := range []func(){e.pase, func() { e.caseAs(1, adminNode) }} {
			as()
			if cl == im.ClusterAccessControl {
				_, _ = e.srv.Write(im.NewWriteRequest(im.ConcreteAttribute(0, cl, im.ACLAttrACL), im.Value(fields), false), false)
			} else {
				_, _ = e.srv.Invoke(im.NewInvokeRequest(im.CommandPath{Endpoint: 0, Cluster: cl, Command: uint32(cmd % 12)}, im.Value(fields)))
			}
			e.c.HandleTimeout(clock.Time(time.Duration(cmd) * time.Second))
			require.LessOrEqual(t, len(e.store.Fabrics()), e.store.MaxFabrics())
			for _, a := range e.store.ACL() {
				require.NotNil(t, e.store.Fabric(a.FabricIndex))
			}
		}
	})
}

// SetRegulatoryConfig needs no fail-safe, and a NewRegulatoryConfig past
// IndoorOutdoor is answered with ErrorCode ValueOutsideRange, not a status
// (connectedhomeip general-commissioning-server.cpp
// HandleSetRegulatoryConfig: only the country code length is a
// CONSTRAINT_ERROR status).
func TestSetRegulatoryConfigSDKChecks(t *testing.T) {
	e := newCommissionee(t)
	require.Equal(t, fabrics.CommissioningOK, e.arm(0, 0))
	require.False(t, e.store.Armed())
	set := func(loc uint64) (map[uint8]any, im.Status) {
		_, f, st := e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdSetRegulatoryConfig, func(w *tlv.Writer) {
			w.PutUint(tlv.ContextTag(0), loc)
			w.PutString(tlv.ContextTag(1), "DE")
			w.PutUint(tlv.ContextTag(2), 4)
		})
		return f, st
	}
	f, st := set(3)
	require.Equal(t, im.StatusSuccess, st)
	require.Equal(t, uint64(fabrics.CommissioningValueOutsideRange), f[0])
	f, st = set(1)
	require.Equal(t, im.StatusSuccess, st)
	require.Equal(t, uint64(fabrics.CommissioningOK), f[0])
	v, err := e.read(im.ConcreteAttribute(0, im.ClusterGeneralCommissioning, im.GCAttrRegulatoryConfig)).Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(1), v)
}

// CSRRequest and AddNOC follow connectedhomeip
// OperationalCredentialsCluster.cpp HandleCSRRequest / HandleAddNOC: the
// IPK length is checked first (INVALID_COMMAND), the fail-safe must be
// armed by the accessing fabric (FAILSAFE_REQUIRED), and once AddNOC ran
// under the fail-safe both answer CONSTRAINT_ERROR.
func TestCSRAndAddNOCSDKStatuses(t *testing.T) {
	e := newCommissionee(t)
	require.Equal(t, fabrics.CommissioningOK, e.arm(60, 0))
	pub := e.csr()
	require.Equal(t, im.StatusSuccess, e.addRoot())
	_, _, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdAddNOC, func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), e.noc(pub, 0x77))
		w.PutBytes(tlv.ContextTag(2), e.ca.IPK[:15])
		w.PutUint(tlv.ContextTag(3), adminNode)
		w.PutUint(tlv.ContextTag(4), 0xFFF1)
	})
	require.Equal(t, im.StatusInvalidCommand, st)
	f, st := e.addNOC(e.noc(pub, 0x77))
	require.Equal(t, im.StatusSuccess, st)
	require.Equal(t, uint64(fabrics.NOCOK), f[0])
	idx := uint8(f[1].(uint64))
	csr := func() im.Status {
		_, _, st := e.invoke(0, im.ClusterOperationalCredentials, im.OCCmdCSRRequest, func(w *tlv.Writer) {
			w.PutBytes(tlv.ContextTag(0), nonce(3))
		})
		return st
	}
	require.Equal(t, im.StatusConstraintError, csr())
	_, st = e.addNOC(e.noc(pub, 0x78))
	require.Equal(t, im.StatusConstraintError, st)

	// Complete, then a PASE session arms the fail-safe: a CASE admin of
	// the fabric does not hold it.
	e.caseAs(idx, adminNode)
	_, f, _ = e.invoke(0, im.ClusterGeneralCommissioning, im.GCCmdCommissioningComplete, nil)
	require.Equal(t, uint64(fabrics.CommissioningOK), f[0])
	e.pase()
	require.Equal(t, fabrics.CommissioningOK, e.arm(60, 0))
	e.caseAs(idx, adminNode)
	require.Equal(t, im.StatusFailsafeRequired, csr())
	_, st = e.addNOC(e.noc(pub, 0x78))
	require.Equal(t, im.StatusFailsafeRequired, st)
}
