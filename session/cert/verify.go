package cert

import (
	"bytes"
	"fmt"

	"mattersim/clock"
)

// Role is a certificate's place in an operational chain.
type Role uint8

// Roles.
const (
	RoleRCAC Role = iota + 1 // root CA certificate
	RoleICAC                 // intermediate CA certificate
	RoleNOC                  // node operational certificate
)

func (r Role) String() string {
	switch r {
	case RoleRCAC:
		return "RCAC"
	case RoleICAC:
		return "ICAC"
	case RoleNOC:
		return "NOC"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Check names one validation rule. A Check is an error, so errors.Is(err,
// cert.CheckExpired) matches a *VerifyError that failed it.
type Check uint8

// Checks, in the order Verify applies them to each certificate.
const (
	CheckMissing          Check = iota + 1 // the chain lacks a required certificate
	CheckEncoding                          // no valid encoding (algorithm, key, sizes), or over MaxTLVLen in TLV
	CheckPublicKey                         // the public key is not a P-256 point
	CheckSubject                           // subject attributes wrong for the role (ids, fabric, CATs)
	CheckBasicConstraints                  // basic-constraints missing, or cA wrong for the role
	CheckPathLen                           // a CA's path length constraint forbids the chain
	CheckKeyUsage                          // key-usage missing or wrong for the role
	CheckExtKeyUsage                       // extended-key-usage missing or wrong for the role
	CheckSubjectKeyID                      // subject-key-identifier missing
	CheckAuthorityKeyID                    // authority-key-identifier missing or not the issuer's subject key id
	CheckIssuer                            // issuer DN is not the issuer's subject DN
	CheckFabricID                          // matter-fabric-id differs from the issuer's
	CheckNotYetValid                       // now is before not-before
	CheckExpired                           // now is after not-after
	CheckSignature                         // signature does not verify with the issuer's key
)

var checkNames = [...]string{
	CheckMissing:          "missing certificate",
	CheckEncoding:         "encoding",
	CheckPublicKey:        "public key",
	CheckSubject:          "subject",
	CheckBasicConstraints: "basic constraints",
	CheckPathLen:          "path length",
	CheckKeyUsage:         "key usage",
	CheckExtKeyUsage:      "extended key usage",
	CheckSubjectKeyID:     "subject key identifier",
	CheckAuthorityKeyID:   "authority key identifier",
	CheckIssuer:           "issuer",
	CheckFabricID:         "fabric id",
	CheckNotYetValid:      "not yet valid",
	CheckExpired:          "expired",
	CheckSignature:        "signature",
}

func (c Check) String() string {
	if int(c) < len(checkNames) && checkNames[c] != "" {
		return checkNames[c]
	}
	return fmt.Sprintf("check(%d)", uint8(c))
}

func (c Check) Error() string { return "cert: " + c.String() }

// VerifyError reports the first check a chain failed: which certificate,
// which check, and why.
type VerifyError struct {
	Cert   Role
	Check  Check
	Detail string
}

func (e *VerifyError) Error() string {
	return "cert: " + e.Cert.String() + ": " + e.Check.String() + ": " + e.Detail
}

// Unwrap returns the Check, for errors.Is.
func (e *VerifyError) Unwrap() error { return e.Check }

var (
	_ error = (*VerifyError)(nil)
	_ error = Check(0)
)

// Chain is an operational certificate chain: RCAC → (ICAC) → NOC. ICAC is
// nil when the NOC is issued by the root. Verify only reads the
// certificates, so one Chain may be verified from several goroutines.
type Chain struct {
	RCAC, ICAC, NOC *Certificate
}

// VerifyOptions says when to validate. The zero value validates at
// 2000-01-01T00:00:00Z.
type VerifyOptions struct {
	// Epoch is the Matter epoch time of clock time 0, and Now the clock
	// reading: certificates are checked at TimeAt(Epoch, Now). Verify never
	// reads the wall clock.
	Epoch Time
	Now   clock.Time
}

// MaxTLVLen is the largest operational certificate in the TLV form (spec
// 6.1.3; the SDK's kMaxCHIPCertLength, matter.js OperationalBase.MAX_TLV_BYTES).
const MaxTLVLen = 400

// Operational node id range (spec 2.5.5, "Operational Node ID").
const (
	minOperationalNodeID = 0x0000_0000_0000_0001
	maxOperationalNodeID = 0xFFFF_FFEF_FFFF_FFFF
)

// Verified is what a chain proves about the node it certifies.
type Verified struct {
	NodeID   uint64
	FabricID uint64
	CATs     []uint32
	RootKey  []byte // the RCAC public key, which with FabricID names the fabric
}

// Verify validates the chain (spec 6.5 and 6.6; the SDK's
// ChipCertificateSet::ValidateCert and FabricTable::VerifyCredentials):
//
//   - RCAC: self-issued (issuer DN = subject DN, authority key id = subject
//     key id), one matter-rcac-id, basic constraints cA=TRUE, key usage
//     keyCertSign and no extended key usage, self-signature;
//   - ICAC: one matter-icac-id, cA=TRUE and keyCertSign, no extended key
//     usage, the RCAC's path length constraint (if any) at least 1;
//   - NOC: one matter-node-id in the operational range, one
//     matter-fabric-id (not 0), at most three CATs with non-zero versions and
//     distinct identifiers, cA=FALSE, digitalSignature and no certificate
//     signing, extended key usage with both clientAuth and serverAuth;
//   - every issued certificate: issuer DN = its issuer's subject DN,
//     authority key id = the issuer's subject key id, a matter-fabric-id (if
//     any) equal to the issuer's (if any), signature by the issuer's key;
//   - every certificate: subject key identifier present, valid at the time
//     given (not-before ≤ now, and now ≤ not-after unless NoExpiry).
//
// Certificates are checked root first; the first failure is returned as a
// *VerifyError.
func (ch Chain) Verify(opts VerifyOptions) (*Verified, error) {
	now := TimeAt(opts.Epoch, opts.Now)
	if ch.RCAC == nil {
		return nil, &VerifyError{RoleRCAC, CheckMissing, "no root certificate"}
	}
	if ch.NOC == nil {
		return nil, &VerifyError{RoleNOC, CheckMissing, "no node operational certificate"}
	}
	type link struct {
		role   Role
		c, iss *Certificate
	}
	links := []link{{RoleRCAC, ch.RCAC, ch.RCAC}}
	if ch.ICAC != nil {
		links = append(links, link{RoleICAC, ch.ICAC, ch.RCAC}, link{RoleNOC, ch.NOC, ch.ICAC})
	} else {
		links = append(links, link{RoleNOC, ch.NOC, ch.RCAC})
	}
	for _, l := range links {
		if err := verifyOne(l.role, l.c, l.iss, ch.RCAC, now, ch.ICAC != nil); err != nil {
			return nil, err
		}
	}
	v := &Verified{CATs: ch.NOC.Subject.CATs(), RootKey: append([]byte(nil), ch.RCAC.PublicKey...)}
	v.NodeID, _ = ch.NOC.Subject.NodeID()
	v.FabricID, _ = ch.NOC.Subject.FabricID()
	return v, nil
}

func verifyOne(role Role, c, iss, root *Certificate, now Time, haveICAC bool) error {
	fail := func(check Check, format string, args ...any) error {
		return &VerifyError{Cert: role, Check: check, Detail: fmt.Sprintf(format, args...)}
	}
	if err := c.checkEncodable("der"); err != nil {
		return fail(CheckEncoding, "%v", err)
	}
	if tl, err := AppendTLV(nil, c); err == nil && len(tl) > MaxTLVLen {
		return fail(CheckEncoding, "%d octets in the TLV form, over %d", len(tl), MaxTLVLen)
	}
	if _, err := c.PublicKeyECDSA(); err != nil {
		return fail(CheckPublicKey, "%v", err)
	}

	// Subject attributes for the role.
	s := c.Subject
	switch role {
	case RoleRCAC:
		if n := s.count(AttrMatterRCACID); n != 1 {
			return fail(CheckSubject, "%d matter-rcac-id attributes, want 1", n)
		}
	case RoleICAC:
		if n := s.count(AttrMatterICACID); n != 1 {
			return fail(CheckSubject, "%d matter-icac-id attributes, want 1", n)
		}
	case RoleNOC:
		if n := s.count(AttrMatterNodeID); n != 1 {
			return fail(CheckSubject, "%d matter-node-id attributes, want 1", n)
		}
		if id, _ := s.NodeID(); id < minOperationalNodeID || id > maxOperationalNodeID {
			return fail(CheckSubject, "node id 0x%016X is not an operational node id", id)
		}
		if n := s.count(AttrMatterFabricID); n != 1 {
			return fail(CheckSubject, "%d matter-fabric-id attributes, want 1", n)
		}
		if f, _ := s.FabricID(); f == 0 {
			return fail(CheckSubject, "fabric id 0 is reserved")
		}
		cats := s.CATs()
		if len(cats) > 3 {
			return fail(CheckSubject, "%d CATs, at most 3", len(cats))
		}
		for i, a := range cats {
			if a&0xFFFF == 0 {
				return fail(CheckSubject, "CAT 0x%08X has version 0", a)
			}
			for _, b := range cats[:i] {
				if a>>16 == b>>16 {
					return fail(CheckSubject, "CATs 0x%08X and 0x%08X share an identifier", b, a)
				}
			}
		}
	}
	forbidden := map[Role][3]AttrTag{
		RoleRCAC: {AttrMatterNodeID, AttrMatterICACID, AttrMatterFWSigningID},
		RoleICAC: {AttrMatterNodeID, AttrMatterRCACID, AttrMatterFWSigningID},
		RoleNOC:  {AttrMatterRCACID, AttrMatterICACID, AttrMatterFWSigningID},
	}[role]
	for _, t := range forbidden {
		if s.count(t) > 0 {
			return fail(CheckSubject, "%s in a %s", t, role)
		}
	}
	if s.count(AttrMatterFabricID) > 1 {
		return fail(CheckSubject, "more than one matter-fabric-id")
	}

	// Extensions.
	isCA := role != RoleNOC
	bc, ok := c.find(ExtBasicConstraints)
	if !ok {
		return fail(CheckBasicConstraints, "missing")
	}
	if bc.IsCA != isCA {
		return fail(CheckBasicConstraints, "cA=%t, a %s needs cA=%t", bc.IsCA, role, isCA)
	}
	if role == RoleRCAC && haveICAC && bc.PathLen == 0 {
		return fail(CheckPathLen, "path length 0 forbids the ICAC")
	}
	if !isCA && bc.PathLen >= 0 {
		return fail(CheckPathLen, "path length constraint on a non-CA")
	}
	ku, ok := c.find(ExtKeyUsage)
	if !ok {
		return fail(CheckKeyUsage, "missing")
	}
	if isCA {
		if ku.KeyUsage&KeyUsageKeyCertSign == 0 {
			return fail(CheckKeyUsage, "0x%04X lacks keyCertSign", uint16(ku.KeyUsage))
		}
		if _, ok := c.find(ExtExtendedKeyUsage); ok {
			return fail(CheckExtKeyUsage, "a CA certificate has extended key usage")
		}
	} else {
		if ku.KeyUsage&KeyUsageDigitalSignature == 0 {
			return fail(CheckKeyUsage, "0x%04X lacks digitalSignature", uint16(ku.KeyUsage))
		}
		if ku.KeyUsage&(KeyUsageKeyCertSign|KeyUsageCRLSign) != 0 {
			return fail(CheckKeyUsage, "0x%04X allows certificate signing", uint16(ku.KeyUsage))
		}
		eku, ok := c.find(ExtExtendedKeyUsage)
		if !ok {
			return fail(CheckExtKeyUsage, "missing")
		}
		var client, server bool
		for _, p := range eku.Purposes {
			client = client || p == PurposeClientAuth
			server = server || p == PurposeServerAuth
		}
		if !client || !server {
			return fail(CheckExtKeyUsage, "need both clientAuth and serverAuth")
		}
	}
	skid := c.SubjectKeyID()
	if skid == nil {
		return fail(CheckSubjectKeyID, "missing")
	}
	akid := c.AuthorityKeyID()
	if akid == nil {
		return fail(CheckAuthorityKeyID, "missing")
	}
	if !bytes.Equal(akid, iss.SubjectKeyID()) {
		return fail(CheckAuthorityKeyID, "%X is not the issuer's subject key id %X", akid, iss.SubjectKeyID())
	}

	// Issuer.
	if !c.Issuer.Equal(iss.Subject) {
		return fail(CheckIssuer, "issuer %q is not the %s subject %q", c.Issuer, issuerRole(role, haveICAC), iss.Subject)
	}
	if f, ok := s.FabricID(); ok && role != RoleRCAC {
		for _, ca := range []*Certificate{iss, root} {
			if g, ok := ca.Subject.FabricID(); ok && f != g {
				return fail(CheckFabricID, "0x%016X, but the %s has 0x%016X", f, caRole(ca, root), g)
			}
		}
	}

	// Validity.
	if now < c.NotBefore {
		return fail(CheckNotYetValid, "not before %s, now %s", c.NotBefore, now)
	}
	if c.NotAfter != NoExpiry && now > c.NotAfter {
		return fail(CheckExpired, "not after %s, now %s", c.NotAfter, now)
	}

	if err := c.CheckSignatureFrom(iss); err != nil {
		return fail(CheckSignature, "not signed by the %s key", issuerRole(role, haveICAC))
	}
	return nil
}

func issuerRole(r Role, haveICAC bool) Role {
	if r == RoleNOC && haveICAC {
		return RoleICAC
	}
	return RoleRCAC
}

func caRole(ca, root *Certificate) Role {
	if ca == root {
		return RoleRCAC
	}
	return RoleICAC
}
