package cert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

func decodeSDK(t *testing.T, name string) *Certificate {
	t.Helper()
	c, err := DecodeTLV(loadSDK(t, name).tlv)
	require.NoError(t, err)
	return c
}

func date(t *testing.T, y, mo, d, h, mi, s int) Time {
	t.Helper()
	v, ok := Date(y, mo, d, h, mi, s)
	require.True(t, ok)
	return v
}

// in2025 is a time inside every SDK vector's validity.
func in2025(t *testing.T) VerifyOptions { return VerifyOptions{Epoch: date(t, 2025, 6, 1, 0, 0, 0)} }

func TestVerifySDKChains(t *testing.T) {
	for _, tc := range []struct{ root, ica, noc string }{
		{"Root01", "ICA01", "Node01_01"},
		{"Root01", "", "Node01_02"},
		{"Root02", "ICA02", "Node02_01"},
		{"Root02", "ICA02", "Node02_02"},
		{"Root02", "ICA02", "Node02_03"},
		{"Root02", "ICA02", "Node02_04"},
		{"Root02", "ICA02", "Node02_05"},
		{"Root02", "ICA02", "Node02_06"},
		{"Root02", "ICA02", "Node02_07"},
		{"Root02", "ICA02", "Node02_08"},
	} {
		t.Run(tc.noc, func(t *testing.T) {
			ch := Chain{RCAC: decodeSDK(t, tc.root), NOC: decodeSDK(t, tc.noc)}
			if tc.ica != "" {
				ch.ICAC = decodeSDK(t, tc.ica)
			}
			v, err := ch.Verify(in2025(t))
			require.NoError(t, err)
			id, _ := ch.NOC.Subject.NodeID()
			require.Equal(t, id, v.NodeID)
			require.Equal(t, ch.NOC.Subject.CATs(), v.CATs)
		})
	}
}

// The validation time is the clock reading plus the epoch it is given:
// the SDK vectors expire at 2040-10-15T14:23:42Z.
func TestVerifyTimeFromClock(t *testing.T) {
	ch := Chain{RCAC: decodeSDK(t, "Root01"), ICAC: decodeSDK(t, "ICA01"), NOC: decodeSDK(t, "Node01_01")}
	epoch := date(t, 2040, 10, 15, 14, 23, 0)
	_, err := ch.Verify(VerifyOptions{Epoch: epoch, Now: clock.Time(42 * time.Second)})
	require.NoError(t, err)
	_, err = ch.Verify(VerifyOptions{Epoch: epoch, Now: clock.Time(43 * time.Second)})
	require.ErrorIs(t, err, CheckExpired)
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, RoleRCAC, ve.Cert, "the root is checked first")

	// Root03 never expires.
	r3 := decodeSDK(t, "Root03")
	require.NoError(t, verifyOne(RoleRCAC, r3, r3, r3, date(t, 2136, 1, 1, 0, 0, 0), false))
}

// resign signs c again with key after mutate changed it.
func resign(t *testing.T, c *Certificate, signer string, mutate func(*Certificate)) *Certificate {
	t.Helper()
	cp, err := DecodeTLV(mustTLV(t, c))
	require.NoError(t, err)
	mutate(cp)
	key := loadSDK(t, signer).key
	require.NotNil(t, key, signer)
	require.NoError(t, cp.Sign(key))
	return cp
}

func mustTLV(t *testing.T, c *Certificate) []byte {
	t.Helper()
	b, err := AppendTLV(nil, c)
	require.NoError(t, err)
	return b
}

func without(id ExtensionID) func(*Certificate) {
	return func(c *Certificate) {
		var keep []Extension
		for _, e := range c.Extensions {
			if e.ID != id {
				keep = append(keep, e)
			}
		}
		c.Extensions = keep
	}
}

func setSubject(tag AttrTag, v uint64) func(*Certificate) {
	return func(c *Certificate) {
		for i := range c.Subject {
			if c.Subject[i].Tag == tag {
				c.Subject[i].Value = v
			}
		}
	}
}

func TestVerifyFailures(t *testing.T) {
	r1, i1, n1 := decodeSDK(t, "Root01"), decodeSDK(t, "ICA01"), decodeSDK(t, "Node01_01")
	r2, i2, n2 := decodeSDK(t, "Root02"), decodeSDK(t, "ICA02"), decodeSDK(t, "Node02_01")
	flip := func(c *Certificate) *Certificate {
		cp := *c
		cp.Signature = append([]byte(nil), c.Signature...)
		cp.Signature[40] ^= 0x80
		return &cp
	}
	for _, tc := range []struct {
		name  string
		chain Chain
		opts  VerifyOptions
		role  Role
		check Check
	}{
		{"no NOC", Chain{RCAC: r1, ICAC: i1}, in2025(t), RoleNOC, CheckMissing},
		{"no root", Chain{ICAC: i1, NOC: n1}, in2025(t), RoleRCAC, CheckMissing},
		{"wrong root for the ICAC", Chain{RCAC: r2, ICAC: i1, NOC: n1}, in2025(t), RoleICAC, CheckAuthorityKeyID},
		{"wrong root for the NOC", Chain{RCAC: r2, NOC: decodeSDK(t, "Node01_02")}, in2025(t), RoleNOC, CheckAuthorityKeyID},
		{"wrong ICAC for the NOC", Chain{RCAC: r1, ICAC: decodeSDK(t, "ICA01_1"), NOC: n1}, in2025(t), RoleNOC, CheckAuthorityKeyID},
		{"issuer DN differs", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Issuer = DN{{Tag: AttrMatterICACID, Value: 0xCACACACA00000099}}
		})}, in2025(t), RoleNOC, CheckIssuer},
		{"expired", Chain{RCAC: r1, ICAC: i1, NOC: n1}, VerifyOptions{Epoch: date(t, 2041, 1, 1, 0, 0, 0)}, RoleRCAC, CheckExpired},
		{"not yet valid", Chain{RCAC: r1, ICAC: i1, NOC: n1}, VerifyOptions{Epoch: date(t, 2019, 1, 1, 0, 0, 0)}, RoleRCAC, CheckNotYetValid},
		{"NOC expired before its CAs", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.NotAfter = date(t, 2024, 1, 1, 0, 0, 0)
		})}, in2025(t), RoleNOC, CheckExpired},
		{"bad NOC signature", Chain{RCAC: r1, ICAC: i1, NOC: flip(n1)}, in2025(t), RoleNOC, CheckSignature},
		{"bad ICAC signature", Chain{RCAC: r1, ICAC: flip(i1), NOC: n1}, in2025(t), RoleICAC, CheckSignature},
		{"bad root signature", Chain{RCAC: flip(r1), ICAC: i1, NOC: n1}, in2025(t), RoleRCAC, CheckSignature},
		{"NOC fabric id differs from the ICAC's", Chain{RCAC: r2, ICAC: i2, NOC: resign(t, n2, "ICA02",
			setSubject(AttrMatterFabricID, 0xFAB000000000001E))}, in2025(t), RoleNOC, CheckFabricID},
		{"NOC without extended key usage", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", without(ExtExtendedKeyUsage))},
			in2025(t), RoleNOC, CheckExtKeyUsage},
		{"NOC without basic constraints", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", without(ExtBasicConstraints))},
			in2025(t), RoleNOC, CheckBasicConstraints},
		{"NOC without key usage", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", without(ExtKeyUsage))},
			in2025(t), RoleNOC, CheckKeyUsage},
		{"NOC without subject key id", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", without(ExtSubjectKeyID))},
			in2025(t), RoleNOC, CheckSubjectKeyID},
		{"ICAC without authority key id", Chain{RCAC: r1, ICAC: resign(t, i1, "Root01", without(ExtAuthorityKeyID)), NOC: n1},
			in2025(t), RoleICAC, CheckAuthorityKeyID},
		{"NOC that is a CA", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Extensions[0] = BasicConstraints(true, -1)
		})}, in2025(t), RoleNOC, CheckBasicConstraints},
		{"NOC that may sign certificates", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Extensions[1].KeyUsage |= KeyUsageKeyCertSign
		})}, in2025(t), RoleNOC, CheckKeyUsage},
		{"NOC with server auth only", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Extensions[2].Purposes = []KeyPurpose{PurposeServerAuth}
		})}, in2025(t), RoleNOC, CheckExtKeyUsage},
		{"root path length 0 with an ICAC", Chain{RCAC: resign(t, r1, "Root01", func(c *Certificate) {
			c.Extensions[0] = BasicConstraints(true, 0)
		}), ICAC: i1, NOC: n1}, in2025(t), RoleRCAC, CheckPathLen},
		{"CA with extended key usage", Chain{RCAC: r1, ICAC: resign(t, i1, "Root01", func(c *Certificate) {
			c.Extensions = append(c.Extensions, Extension{ID: ExtExtendedKeyUsage, PathLen: -1, Purposes: []KeyPurpose{PurposeClientAuth}})
		}), NOC: n1}, in2025(t), RoleICAC, CheckExtKeyUsage},
		{"NOC without node id", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Subject = c.Subject[1:]
		})}, in2025(t), RoleNOC, CheckSubject},
		{"NOC with a non-operational node id", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01",
			setSubject(AttrMatterNodeID, 0xFFFFFFFD00000001))}, in2025(t), RoleNOC, CheckSubject},
		{"NOC with four CATs", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			for i := uint64(1); i <= 4; i++ {
				c.Subject = append(c.Subject, Attribute{Tag: AttrMatterNOCCAT, Value: i<<16 | 1})
			}
		})}, in2025(t), RoleNOC, CheckSubject},
		{"NOC with a CAT of version 0", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Subject = append(c.Subject, Attribute{Tag: AttrMatterNOCCAT, Value: 0xABCD0000})
		})}, in2025(t), RoleNOC, CheckSubject},
		{"firmware-signing certificate as a NOC", Chain{RCAC: r1, ICAC: decodeSDK(t, "ICA01_1"), NOC: decodeSDK(t, "FWSign01")},
			in2025(t), RoleNOC, CheckSubject},
		{"NOC over 400 octets in TLV", Chain{RCAC: r1, ICAC: i1, NOC: resign(t, n1, "ICA01", func(c *Certificate) {
			c.Subject = append(c.Subject, Attribute{Tag: AttrCommonName, Text: strings.Repeat("x", 200)})
		})}, in2025(t), RoleNOC, CheckEncoding},
		{"ICAC as the root", Chain{RCAC: i1, NOC: n1}, in2025(t), RoleRCAC, CheckSubject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.chain.Verify(tc.opts)
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.role, ve.Cert, "%v", err)
			require.Equal(t, tc.check, ve.Check, "%v", err)
			require.True(t, errors.Is(err, tc.check))
		})
	}
}
