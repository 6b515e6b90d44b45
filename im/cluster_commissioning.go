package im

import (
	"errors"
	"io"
	"time"

	"mattersim/clock"
	"mattersim/im/fabrics"
	"mattersim/tlv"
)

// Cluster IDs of a commissionable root node (core spec chapter 11); General
// Commissioning and Operational Credentials, with their command and
// attribute IDs, are in commission_codec.go.
const (
	ClusterAccessControl        uint32 = 0x001F // core spec 9.10
	ClusterNetworkCommissioning uint32 = 0x0031 // core spec 11.9
	ClusterGroupKeyManagement   uint32 = 0x003F // core spec 11.2
)

// Access Control, Network Commissioning and Group Key Management attribute
// IDs (core spec 9.10.5, 11.9.6, 11.2.6), and server-side constants.
const (
	ACLAttrACL                     uint32 = 0x00
	ACLAttrSubjectsPerEntry        uint32 = 0x02
	ACLAttrTargetsPerEntry         uint32 = 0x03
	ACLAttrEntriesPerFabric        uint32 = 0x04
	NCAttrMaxNetworks              uint32 = 0x00
	NCAttrNetworks                 uint32 = 0x01
	NCAttrInterfaceEnabled         uint32 = 0x04
	NCAttrLastNetworkingStatus     uint32 = 0x05
	NCAttrLastNetworkID            uint32 = 0x06
	NCAttrLastConnectErrorValue    uint32 = 0x07
	NCFeatureEthernet              uint32 = 1 << 2 // EthernetNetworkInterface (spec 11.9.4)
	GKAttrGroupKeyMap              uint32 = 0x00
	GKAttrGroupTable               uint32 = 0x01
	GKAttrMaxGroupsPerFabric       uint32 = 0x02
	GKAttrMaxGroupKeysPerFabric    uint32 = 0x03
	certificateTypeDAC             uint64 = 1 // CertificateChainTypeEnum (spec 11.18.4.2)
	certificateTypePAI             uint64 = 2
	fabricIndexTag                 uint8  = 0xFE // fabric-scoped structs (spec 7.13.6)
	regulatoryIndoorOutdoor        uint64 = 2
	maxAttestationElements                = 900 // RESP_MAX (spec 11.18.4.6)
	maxCertLen                            = 400 // connectedhomeip kMaxCHIPCertLength
	attestationNonceLen                   = 32
	revisionGeneralCommissioning   uint16 = 1
	revisionOperationalCredentials uint16 = 1
	revisionAccessControl          uint16 = 1
	revisionNetworkCommissioning   uint16 = 1
	revisionGroupKeyManagement     uint16 = 1
)

// CommissioningNoticeKind names what a commissioning command changed that
// the driver must act on (sessions to close, the CASE fabrics to update).
type CommissioningNoticeKind uint8

const (
	// NoticeFabricAdded: AddNOC added Fabric (uncommitted); the session
	// that sent it now belongs to that fabric (SDK: the PASE session's
	// fabric index is set at AddNOC).
	NoticeFabricAdded CommissioningNoticeKind = iota + 1
	// NoticeFailSafeExpired: the fail-safe expired or was disarmed with
	// ExpiryLengthSeconds 0; Fabric, if not 0, was rolled back.
	NoticeFailSafeExpired
	// NoticeCommissioned: CommissioningComplete committed Fabric.
	NoticeCommissioned
	// NoticeFabricRemoved: RemoveFabric removed Fabric.
	NoticeFabricRemoved
)

// CommissioningNotice is one thing the driver must act on.
type CommissioningNotice struct {
	Kind    CommissioningNoticeKind
	Fabric  uint8
	Session any // Accessor.Session of the request that caused it
}

// Commissioning holds the server side of the commissioning clusters over a
// fabrics.Store. The driver sets Now (and Node.Accessor) before each
// request and drains Poll after it. Not safe for concurrent use.
type Commissioning struct {
	Store       *fabrics.Store
	Attestation fabrics.Attestation
	// Now is the time of the request in progress.
	Now clock.Time
	// Challenge returns the attestation challenge of the accessor's
	// secure session (spec 4.13.2.6; 6.2.3 uses it in the signatures).
	Challenge func(a *Accessor) ([16]byte, bool)

	node                          *Node
	gc, oc, acl                   *Cluster
	regulatory, location, country uint64
	notices                       []CommissioningNotice
}

// Poll returns the next notice.
func (c *Commissioning) Poll() (CommissioningNotice, bool) {
	if len(c.notices) == 0 {
		return CommissioningNotice{}, false
	}
	n := c.notices[0]
	c.notices = c.notices[1:]
	return n, true
}

// HandleTimeout expires the fail-safe when due (rollback included).
func (c *Commissioning) HandleTimeout(now clock.Time) {
	c.Now = now
	if e, ok := c.Store.HandleTimeout(now); ok {
		c.expired(e, nil)
	}
}

// ExpireFailSafe expires an armed fail-safe at once (fabrics.Store
// ForceExpiry), with the NoticeFailSafeExpired of a timeout.
func (c *Commissioning) ExpireFailSafe(now clock.Time) {
	c.Now = now
	if e, ok := c.Store.ForceExpiry(); ok {
		c.expired(e, nil)
	}
}

// Deadline is the fail-safe deadline.
func (c *Commissioning) Deadline() clock.Time { return c.Store.Deadline() }

func (c *Commissioning) expired(e fabrics.Expiry, session any) {
	c.changed()
	c.notices = append(c.notices, CommissioningNotice{Kind: NoticeFailSafeExpired, Fabric: e.RemovedFabric, Session: session})
}

func (c *Commissioning) changed() {
	for _, cl := range []*Cluster{c.gc, c.oc, c.acl} {
		cl.DataVersion++
	}
}

func (c *Commissioning) accessor() *Accessor {
	if a := c.node.Accessor; a != nil {
		return a
	}
	return &Accessor{}
}

// subject converts an Accessor for the Store.
func subject(a *Accessor) fabrics.Subject {
	return fabrics.Subject{AuthMode: a.AuthMode, FabricIndex: a.FabricIndex, NodeID: a.NodeID, CATs: a.CATs}
}

// NewCommissionableLight is NewLight with the root node clusters a
// commissioner needs on endpoint 0 (Access Control, General
// Commissioning, Network Commissioning for an Ethernet-like interface,
// Operational Credentials, Group Key Management) over c.Store, and the
// access check of c.Store's ACL on every command.
func NewCommissionableLight(info BasicInfo, dataVersion uint32, c *Commissioning) *Light {
	l := NewLight(info, dataVersion)
	n := l.Node
	c.node = n
	c.regulatory, c.location = regulatoryIndoorOutdoor, regulatoryIndoorOutdoor
	root := n.Endpoint(0)
	c.gc = c.generalCommissioning(dataVersion)
	c.oc = c.operationalCredentials(dataVersion)
	c.acl = c.accessControl(dataVersion)
	root.AddCluster(c.acl)
	root.AddCluster(c.gc)
	root.AddCluster(networkCommissioning(dataVersion))
	root.AddCluster(c.oc)
	root.AddCluster(groupKeyManagement(dataVersion))
	n.Authorize = func(a *Accessor, _ uint16, _ uint32, priv uint8) bool {
		return c.Store.Allowed(subject(a), priv)
	}
	return l
}

func (c *Commissioning) generalCommissioning(dv uint32) *Cluster {
	st := c.Store
	return &Cluster{
		ID: ClusterGeneralCommissioning, Revision: revisionGeneralCommissioning, DataVersion: dv,
		Attributes: []Attribute{
			{GCAttrBreadcrumb, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, st.Breadcrumb()) }},
			{GCAttrBasicCommissioningInfo, func(w *tlv.Writer, t tlv.Tag) {
				w.StartStruct(t) // BasicCommissioningInfo (spec 11.10.5.1)
				w.PutUint(tlv.ContextTag(0), uint64(fabrics.DefaultFailSafe/time.Second))
				w.PutUint(tlv.ContextTag(1), uint64(st.MaxCumulativeFailSafe()/time.Second))
				w.EndContainer()
			}},
			{GCAttrRegulatoryConfig, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, c.regulatory) }},
			{GCAttrLocationCapability, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, c.location) }},
			{GCAttrSupportsConcurrentConnection, func(w *tlv.Writer, t tlv.Tag) { w.PutBool(t, true) }},
		},
		Commands: []Command{
			{ID: GCCmdArmFailSafe, Privilege: PrivilegeAdminister, Respond: c.armFailSafe},
			{ID: GCCmdSetRegulatoryConfig, Privilege: PrivilegeAdminister, Respond: c.setRegulatoryConfig},
			{ID: GCCmdCommissioningComplete, Privilege: PrivilegeAdminister, Respond: c.commissioningComplete},
		},
	}
}

func gcResponse(id uint32, code fabrics.CommissioningError, debug string) (uint32, Value, Status) {
	return id, respStruct(func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), uint64(code))
		w.PutString(tlv.ContextTag(1), debug)
	}), StatusSuccess
}

// armFailSafe: ArmFailSafe {0 ExpiryLengthSeconds u16, 1 Breadcrumb u64}
// → ArmFailSafeResponse {0 ErrorCode, 1 DebugText} (spec 11.10.7.2).
func (c *Commissioning) armFailSafe(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	secs, ok1 := f.uint(0)
	crumb, ok2 := f.uint(1)
	if !ok || !ok1 || !ok2 || secs > 0xFFFF {
		return 0, nil, StatusInvalidCommand
	}
	a := c.accessor()
	code, e := c.Store.ArmFailSafe(c.Now, time.Duration(secs)*time.Second, a.FabricIndex, crumb)
	if e != nil {
		c.expired(*e, a.Session)
	} else if code == fabrics.CommissioningOK {
		c.gc.DataVersion++
	}
	return gcResponse(GCCmdArmFailSafeResponse, code, "")
}

// setRegulatoryConfig: {0 NewRegulatoryConfig enum8, 1 CountryCode
// string[2], 2 Breadcrumb} (spec 11.10.7.4). Any country is accepted. As
// connectedhomeip general-commissioning-server.cpp HandleSetRegulatoryConfig:
// no fail-safe is needed, a country code not of 2 characters is
// CONSTRAINT_ERROR, a location past IndoorOutdoor or not in
// LocationCapability is ErrorCode ValueOutsideRange.
func (c *Commissioning) setRegulatoryConfig(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	loc, ok1 := f.uint(0)
	cc, ok2 := f.str(1)
	crumb, ok3 := f.uint(2)
	if !ok || !ok1 || !ok2 || !ok3 {
		return 0, nil, StatusInvalidCommand
	}
	if len(cc) != 2 {
		return 0, nil, StatusConstraintError
	}
	if loc > regulatoryIndoorOutdoor {
		return gcResponse(GCCmdSetRegulatoryConfigResponse, fabrics.CommissioningValueOutsideRange, "unknown location")
	}
	if loc != c.location && c.location != regulatoryIndoorOutdoor {
		return gcResponse(GCCmdSetRegulatoryConfigResponse, fabrics.CommissioningValueOutsideRange, "location not supported")
	}
	c.regulatory = loc
	c.Store.SetBreadcrumb(crumb)
	c.gc.DataVersion++
	return gcResponse(GCCmdSetRegulatoryConfigResponse, fabrics.CommissioningOK, "")
}

// commissioningComplete (spec 11.10.7.6): over CASE on the fabric added
// under the fail-safe.
func (c *Commissioning) commissioningComplete(v Value) (uint32, Value, Status) {
	if _, ok := parseFields(v); !ok {
		return 0, nil, StatusInvalidCommand
	}
	a := c.accessor()
	code := c.Store.CommissioningComplete(subject(a))
	if code == fabrics.CommissioningOK {
		c.changed()
		c.notices = append(c.notices, CommissioningNotice{Kind: NoticeCommissioned, Fabric: a.FabricIndex, Session: a.Session})
	}
	return gcResponse(GCCmdCommissioningCompleteResponse, code, "")
}

func (c *Commissioning) operationalCredentials(dv uint32) *Cluster {
	st := c.Store
	return &Cluster{
		ID: ClusterOperationalCredentials, Revision: revisionOperationalCredentials, DataVersion: dv,
		Attributes: []Attribute{
			{OCAttrNOCs, func(w *tlv.Writer, t tlv.Tag) {
				a := c.accessor()
				w.StartArray(t) // NOCStruct list, fabric-sensitive (spec 11.18.5.1)
				for _, f := range st.Fabrics() {
					if a.FabricFiltered && f.Index != a.FabricIndex {
						continue
					}
					w.StartStruct(tlv.AnonymousTag())
					if f.Index == a.FabricIndex {
						w.PutBytes(tlv.ContextTag(1), f.NOC)
						if f.ICAC != nil {
							w.PutBytes(tlv.ContextTag(2), f.ICAC)
						} else {
							w.PutNull(tlv.ContextTag(2))
						}
					}
					w.PutUint(tlv.ContextTag(fabricIndexTag), uint64(f.Index))
					w.EndContainer()
				}
				w.EndContainer()
			}},
			{OCAttrFabrics, func(w *tlv.Writer, t tlv.Tag) {
				a := c.accessor()
				w.StartArray(t) // FabricDescriptorStruct list (spec 11.18.4.5)
				for _, f := range st.Fabrics() {
					if a.FabricFiltered && f.Index != a.FabricIndex {
						continue
					}
					w.StartStruct(tlv.AnonymousTag())
					w.PutBytes(tlv.ContextTag(1), f.RootKey)
					w.PutUint(tlv.ContextTag(2), uint64(f.VendorID))
					w.PutUint(tlv.ContextTag(3), f.FabricID)
					w.PutUint(tlv.ContextTag(4), f.NodeID)
					w.PutString(tlv.ContextTag(5), f.Label)
					w.PutUint(tlv.ContextTag(fabricIndexTag), uint64(f.Index))
					w.EndContainer()
				}
				w.EndContainer()
			}},
			{OCAttrSupportedFabrics, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, uint64(st.MaxFabrics())) }},
			{OCAttrCommissionedFabrics, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, uint64(len(st.Fabrics()))) }},
			{OCAttrTrustedRootCertificates, func(w *tlv.Writer, t tlv.Tag) {
				w.StartArray(t)
				for _, f := range st.Fabrics() {
					w.PutBytes(tlv.AnonymousTag(), f.RCAC)
				}
				if r := st.PendingRoot(); r != nil {
					w.PutBytes(tlv.AnonymousTag(), r)
				}
				w.EndContainer()
			}},
			{OCAttrCurrentFabricIndex, func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, uint64(c.accessor().FabricIndex)) }},
		},
		Commands: []Command{
			{ID: OCCmdAttestationRequest, Privilege: PrivilegeAdminister, Respond: c.attestationRequest},
			{ID: OCCmdCertificateChainRequest, Privilege: PrivilegeAdminister, Respond: c.certificateChainRequest},
			{ID: OCCmdCSRRequest, Privilege: PrivilegeAdminister, Respond: c.csrRequest},
			{ID: OCCmdAddNOC, Privilege: PrivilegeAdminister, Respond: c.addNOC},
			{ID: OCCmdUpdateFabricLabel, Privilege: PrivilegeAdminister, Respond: c.updateFabricLabel},
			{ID: OCCmdRemoveFabric, Privilege: PrivilegeAdminister, Respond: c.removeFabric},
			{ID: OCCmdAddTrustedRootCertificate, Privilege: PrivilegeAdminister, Respond: c.addTrustedRoot},
		},
	}
}

func (c *Commissioning) challenge() ([16]byte, bool) {
	if c.Challenge == nil {
		return [16]byte{}, false
	}
	return c.Challenge(c.accessor())
}

// attestationRequest: {0 AttestationNonce octstr[32]} → AttestationResponse
// {0 AttestationElements, 1 AttestationSignature} (spec 11.18.6.1-2). The
// elements are {1 certification_declaration, 2 attestation_nonce, 3
// timestamp} (spec 11.18.4.7); timestamp 0: the device has no time.
func (c *Commissioning) attestationRequest(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	nonce, ok1 := f.bytes(0)
	if !ok || !ok1 {
		return 0, nil, StatusInvalidCommand
	}
	if len(nonce) != attestationNonceLen {
		return 0, nil, StatusInvalidCommand // spec 11.18.6.1: wrong length is INVALID_COMMAND
	}
	ch, ok := c.challenge()
	if !ok {
		return 0, nil, StatusFailure
	}
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tlv.ContextTag(1), c.Attestation.CD)
	w.PutBytes(tlv.ContextTag(2), nonce)
	w.PutUint(tlv.ContextTag(3), 0)
	w.EndContainer()
	elements := w.Bytes()
	if len(elements) > maxAttestationElements {
		return 0, nil, StatusFailure
	}
	sig, err := c.Attestation.Sign(c.Store.Rand(), elements, ch)
	if err != nil {
		return 0, nil, StatusFailure
	}
	return OCCmdAttestationResponse, respStruct(func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), elements)
		w.PutBytes(tlv.ContextTag(1), sig)
	}), StatusSuccess
}

// certificateChainRequest: {0 CertificateType} → {0 Certificate} (spec
// 11.18.6.3-4).
func (c *Commissioning) certificateChainRequest(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	typ, ok1 := f.uint(0)
	if !ok || !ok1 {
		return 0, nil, StatusInvalidCommand
	}
	var der []byte
	switch typ {
	case certificateTypeDAC:
		der = c.Attestation.DAC
	case certificateTypePAI:
		der = c.Attestation.PAI
	default:
		return 0, nil, StatusInvalidCommand
	}
	return OCCmdCertificateChainResponse, respStruct(func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), der)
	}), StatusSuccess
}

// csrRequest: {0 CSRNonce octstr[32], 1 IsForUpdateNOC bool} →
// CSRResponse {0 NOCSRElements, 1 AttestationSignature over
// NOCSRElements || challenge} (spec 11.18.6.5-6).
func (c *Commissioning) csrRequest(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	nonce, ok1 := f.bytes(0)
	if !ok || !ok1 {
		return 0, nil, StatusInvalidCommand
	}
	if len(nonce) != attestationNonceLen {
		return 0, nil, StatusInvalidCommand
	}
	if r := f.reader(1); r != nil {
		if upd, err := r.Bool(); err == nil && upd {
			return 0, nil, StatusInvalidCommand // UpdateNOC is not supported
		}
	}
	if !c.Store.ArmedFor(c.accessor().FabricIndex) {
		return 0, nil, StatusFailsafeRequired // SDK HandleCSRRequest: IsFailSafeArmed(accessing fabric)
	}
	elements, err := c.Store.CSR(nonce)
	if err != nil {
		return 0, nil, storeStatus(err)
	}
	ch, ok := c.challenge()
	if !ok {
		return 0, nil, StatusFailure
	}
	sig, err := c.Attestation.Sign(c.Store.Rand(), elements, ch)
	if err != nil {
		return 0, nil, StatusFailure
	}
	return OCCmdCSRResponse, respStruct(func(w *tlv.Writer) {
		w.PutBytes(tlv.ContextTag(0), elements)
		w.PutBytes(tlv.ContextTag(1), sig)
	}), StatusSuccess
}

func storeStatus(err error) Status {
	switch {
	case errors.Is(err, fabrics.ErrFailSafeRequired):
		return StatusFailsafeRequired
	case errors.Is(err, fabrics.ErrConstraint):
		return StatusConstraintError
	case errors.Is(err, fabrics.ErrInvalidCommand):
		return StatusInvalidCommand
	}
	return StatusFailure
}

func nocResponse(code fabrics.NOCStatus, index uint8) (uint32, Value, Status) {
	return OCCmdNOCResponse, respStruct(func(w *tlv.Writer) {
		w.PutUint(tlv.ContextTag(0), uint64(code))
		if code == fabrics.NOCOK && index != 0 {
			w.PutUint(tlv.ContextTag(1), uint64(index))
		}
	}), StatusSuccess
}

// addTrustedRoot: {0 RootCACertificate} (spec 11.18.6.13); status only.
func (c *Commissioning) addTrustedRoot(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	rcac, ok1 := f.bytes(0)
	if !ok || !ok1 {
		return 0, nil, StatusInvalidCommand
	}
	if len(rcac) > maxCertLen {
		return 0, nil, StatusInvalidCommand // SDK HandleAddTrustedRootCertificate
	}
	if c.Store.Armed() && !c.Store.ArmedFor(c.accessor().FabricIndex) {
		return 0, nil, StatusFailsafeRequired // IsFailSafeArmed(accessing fabric)
	}
	if err := c.Store.AddTrustedRoot(rcac); err != nil {
		return 0, nil, storeStatus(err)
	}
	c.oc.DataVersion++
	return 0, nil, StatusSuccess
}

// addNOC: {0 NOCValue, 1 ICACValue, 2 IPKValue, 3 CaseAdminSubject, 4
// AdminVendorId} → NOCResponse {0 StatusCode, 1 FabricIndex, 2 DebugText}
// (spec 11.18.6.8, 11.18.6.10).
func (c *Commissioning) addNOC(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	noc, ok1 := f.bytes(0)
	ipk, ok2 := f.bytes(2)
	subj, ok3 := f.uint(3)
	vendor, ok4 := f.uint(4)
	if !ok || !ok1 || !ok2 || !ok3 || !ok4 || vendor > 0xFFFF {
		return 0, nil, StatusInvalidCommand
	}
	icac, _ := f.bytes(1)
	// connectedhomeip OperationalCredentialsCluster.cpp HandleAddNOC: sizes
	// and the IPK length first (INVALID_COMMAND), then the fail-safe armed by
	// the accessing fabric (FAILSAFE_REQUIRED).
	if len(noc) > maxCertLen || len(icac) > maxCertLen || len(ipk) != 16 {
		return 0, nil, StatusInvalidCommand
	}
	if !c.Store.ArmedFor(c.accessor().FabricIndex) {
		return 0, nil, StatusFailsafeRequired
	}
	idx, code, err := c.Store.AddNOC(c.Now, noc, icac, ipk, subj, uint16(vendor))
	if err != nil {
		return 0, nil, storeStatus(err)
	}
	if code == fabrics.NOCOK {
		c.changed()
		a := c.accessor()
		a.FabricIndex = idx // the rest of this request already runs on the new fabric
		c.notices = append(c.notices, CommissioningNotice{Kind: NoticeFabricAdded, Fabric: idx, Session: a.Session})
	}
	return nocResponse(code, idx)
}

// updateFabricLabel: {0 Label string[32]} on the accessing fabric (spec
// 11.18.6.11).
func (c *Commissioning) updateFabricLabel(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	label, ok1 := f.str(0)
	if !ok || !ok1 {
		return 0, nil, StatusInvalidCommand
	}
	a := c.accessor()
	code, err := c.Store.UpdateFabricLabel(a.FabricIndex, label)
	if err != nil {
		return 0, nil, storeStatus(err)
	}
	if code == fabrics.NOCOK {
		c.oc.DataVersion++
	}
	return nocResponse(code, a.FabricIndex)
}

// removeFabric: {0 FabricIndex} (spec 11.18.6.12).
func (c *Commissioning) removeFabric(v Value) (uint32, Value, Status) {
	f, ok := parseFields(v)
	idx, ok1 := f.uint(0)
	if !ok || !ok1 || idx == 0 || idx > 254 {
		return 0, nil, StatusInvalidCommand
	}
	code := c.Store.RemoveFabric(uint8(idx))
	if code == fabrics.NOCOK {
		c.changed()
		c.notices = append(c.notices, CommissioningNotice{Kind: NoticeFabricRemoved, Fabric: uint8(idx), Session: c.accessor().Session})
	}
	return nocResponse(code, uint8(idx))
}

func (c *Commissioning) accessControl(dv uint32) *Cluster {
	st := c.Store
	return &Cluster{
		ID: ClusterAccessControl, Revision: revisionAccessControl, DataVersion: dv,
		Attributes: []Attribute{
			{ACLAttrACL, func(w *tlv.Writer, t tlv.Tag) {
				a := c.accessor()
				w.StartArray(t) // AccessControlEntryStruct list (spec 9.10.5.3)
				for _, e := range st.ACL() {
					if a.FabricFiltered && e.FabricIndex != a.FabricIndex {
						continue
					}
					w.StartStruct(tlv.AnonymousTag())
					w.PutUint(tlv.ContextTag(1), uint64(e.Privilege))
					w.PutUint(tlv.ContextTag(2), uint64(e.AuthMode))
					if len(e.Subjects) == 0 {
						w.PutNull(tlv.ContextTag(3))
					} else {
						w.StartArray(tlv.ContextTag(3))
						for _, s := range e.Subjects {
							w.PutUint(tlv.AnonymousTag(), s)
						}
						w.EndContainer()
					}
					w.PutNull(tlv.ContextTag(4)) // Targets: the whole node
					w.PutUint(tlv.ContextTag(fabricIndexTag), uint64(e.FabricIndex))
					w.EndContainer()
				}
				w.EndContainer()
			}},
			{ACLAttrSubjectsPerEntry, uintAttr(fabrics.MaxSubjectsPerEntry)}, // spec minimums (9.10.5.4-6)
			{ACLAttrTargetsPerEntry, uintAttr(3)},
			{ACLAttrEntriesPerFabric, uintAttr(fabrics.MaxEntriesPerFabric)},
		},
		Writers: []AttributeWriter{{ID: ACLAttrACL, Write: c.writeACL}},
	}
}

// writeACL replaces the accessing fabric's ACL entries with the written
// list (spec 9.10.5.3); it needs Administer. Entries with Targets are
// refused (CONSTRAINT_ERROR): only whole-node entries are modelled.
func (c *Commissioning) writeACL(v Value) Status {
	a := c.accessor()
	if !c.Store.Allowed(subject(a), PrivilegeAdminister) {
		return StatusUnsupportedAccess
	}
	if a.FabricIndex == 0 {
		return StatusUnsupportedAccess // no accessing fabric (PASE before AddNOC)
	}
	entries, ok := decodeACL(v)
	if !ok {
		return StatusInvalidDataType
	}
	if err := c.Store.SetACL(a.FabricIndex, entries); err != nil {
		return StatusConstraintError
	}
	c.node.NoteChange(0, c.acl, ACLAttrACL)
	return StatusSuccess
}

// decodeACL reads a list of AccessControlEntryStruct {1 Privilege, 2
// AuthMode, 3 Subjects (nullable list of u64), 4 Targets (nullable), 0xFE
// FabricIndex (ignored: the accessing fabric is used)}. A non-null Targets
// fails the decode.
func decodeACL(v Value) ([]fabrics.Entry, bool) {
	r := tlv.NewReader(v)
	if r.Next() != nil || (r.Type() != tlv.Array && r.Type() != tlv.List) || r.Enter() != nil {
		return nil, false
	}
	var out []fabrics.Entry
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil || r.Type() != tlv.Struct {
			return nil, false
		}
		raw, err := rawValue(r)
		if err != nil {
			return nil, false
		}
		f, ok := parseFields(raw)
		if !ok {
			return nil, false
		}
		priv, ok1 := f.uint(1)
		mode, ok2 := f.uint(2)
		if !ok1 || !ok2 || priv > 0xFF || mode > 0xFF {
			return nil, false
		}
		e := fabrics.Entry{Privilege: uint8(priv), AuthMode: uint8(mode)}
		if sr := f.reader(3); sr != nil && !sr.IsNull() {
			if sr.Type() != tlv.Array && sr.Type() != tlv.List || sr.Enter() != nil {
				return nil, false
			}
			for {
				err := sr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, false
				}
				id, err := sr.Uint()
				if err != nil {
					return nil, false
				}
				e.Subjects = append(e.Subjects, id)
			}
		}
		if tr := f.reader(4); tr != nil && !tr.IsNull() {
			return nil, false
		}
		out = append(out, e)
	}
	return out, true
}

// networkCommissioning is the Network Commissioning cluster of a node on
// an Ethernet-like network it cannot change (spec 11.9: feature
// EthernetNetworkInterface; one network, connected).
func networkCommissioning(dv uint32) *Cluster {
	return &Cluster{
		ID: ClusterNetworkCommissioning, Revision: revisionNetworkCommissioning, DataVersion: dv,
		FeatureMap: NCFeatureEthernet,
		Attributes: []Attribute{
			{NCAttrMaxNetworks, uintAttr(1)},
			{NCAttrNetworks, func(w *tlv.Writer, t tlv.Tag) {
				w.StartArray(t) // NetworkInfoStruct (spec 11.9.5.5)
				w.StartStruct(tlv.AnonymousTag())
				w.PutBytes(tlv.ContextTag(0), []byte("eth0"))
				w.PutBool(tlv.ContextTag(1), true)
				w.EndContainer()
				w.EndContainer()
			}},
			{NCAttrInterfaceEnabled, func(w *tlv.Writer, t tlv.Tag) { w.PutBool(t, true) }},
			{NCAttrLastNetworkingStatus, func(w *tlv.Writer, t tlv.Tag) { w.PutNull(t) }},
			{NCAttrLastNetworkID, func(w *tlv.Writer, t tlv.Tag) { w.PutNull(t) }},
			{NCAttrLastConnectErrorValue, func(w *tlv.Writer, t tlv.Tag) { w.PutNull(t) }},
		},
	}
}

// groupKeyManagement is the Group Key Management cluster with empty tables
// (spec 11.2.6); its commands are not implemented.
func groupKeyManagement(dv uint32) *Cluster {
	empty := func(w *tlv.Writer, t tlv.Tag) { w.StartArray(t); w.EndContainer() }
	return &Cluster{
		ID: ClusterGroupKeyManagement, Revision: revisionGroupKeyManagement, DataVersion: dv,
		Attributes: []Attribute{
			{GKAttrGroupKeyMap, empty},
			{GKAttrGroupTable, empty},
			{GKAttrMaxGroupsPerFabric, uintAttr(1)},
			{GKAttrMaxGroupKeysPerFabric, uintAttr(1)},
		},
	}
}
