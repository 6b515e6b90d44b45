package cert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sdkCert is one SDK test certificate (testdata/sdk/README.md).
type sdkCert struct {
	name string
	tlv  []byte
	der  []byte
	key  *ecdsa.PrivateKey // nil when the vector file has none
}

var hexByte = regexp.MustCompile(`0x([0-9a-fA-F]{2})`)

func loadSDK(t testing.TB, name string) sdkCert {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdk", name+".txt"))
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "chip:")
	j := strings.Index(s, "-----BEGIN")
	require.True(t, i >= 0 && j > i, "%s: layout", name)
	c := sdkCert{name: name}
	for _, m := range hexByte.FindAllStringSubmatch(s[i:j], -1) {
		v, _ := hex.DecodeString(m[1])
		c.tlv = append(c.tlv, v...)
	}
	rest := []byte(s[j:])
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c.der = blk.Bytes
		case "EC PRIVATE KEY":
			c.key, err = x509.ParseECPrivateKey(blk.Bytes)
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, c.der, name)
	return c
}

var sdkNames = []string{
	"Root01", "Root02", "Root03", "ICA01", "ICA02", "ICA01_1", "FWSign01",
	"Node01_01", "Node01_02", "Node02_01", "Node02_02", "Node02_03", "Node02_04", "Node02_05", "Node02_06", "Node02_07", "Node02_08",
}

// issuerOf names the certificate that signed each vector.
var issuerOf = map[string]string{
	"Root01": "Root01", "Root02": "Root02", "Root03": "Root03",
	"ICA01": "Root01", "ICA01_1": "Root01", "ICA02": "Root02", "FWSign01": "ICA01_1",
	"Node01_01": "ICA01", "Node01_02": "Root01",
	"Node02_01": "ICA02", "Node02_02": "ICA02", "Node02_03": "ICA02", "Node02_04": "ICA02", "Node02_05": "ICA02", "Node02_06": "ICA02", "Node02_07": "ICA02", "Node02_08": "ICA02",
}

// Both conversions reproduce the SDK's other form byte for byte, and each
// form re-encodes to itself.
func TestSDKVectorsConvertBothWays(t *testing.T) {
	for _, name := range sdkNames {
		t.Run(name, func(t *testing.T) {
			v := loadSDK(t, name)
			der, err := TLVToDER(v.tlv)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(v.der), hex.EncodeToString(der), "TLV→DER")
			tl, err := DERToTLV(v.der)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(v.tlv), hex.EncodeToString(tl), "DER→TLV")

			a, err := DecodeTLV(v.tlv)
			require.NoError(t, err)
			b, err := ParseDER(v.der)
			require.NoError(t, err)
			require.True(t, a.Equal(b), "the two forms decode to the same certificate")

			// The standard library agrees on what the DER says.
			x, err := x509.ParseCertificate(v.der)
			require.NoError(t, err)
			require.Equal(t, x.RawSubjectPublicKeyInfo[len(x.RawSubjectPublicKeyInfo)-65:], a.PublicKey)
			tbs, err := AppendTBS(nil, a)
			require.NoError(t, err)
			require.Equal(t, x.RawTBSCertificate, tbs)
			if a.NotAfter == NoExpiry {
				require.Equal(t, 9999, x.NotAfter.Year())
			} else {
				require.Equal(t, x.NotAfter.Unix(), int64(a.NotAfter)+epochUnix)
			}
			require.Equal(t, x.NotBefore.Unix(), int64(a.NotBefore)+epochUnix)
		})
	}
}

// The signature of every vector verifies with its issuer's key over the TBS
// we rebuild from the TLV form.
func TestSDKVectorsSignatures(t *testing.T) {
	for _, name := range sdkNames {
		t.Run(name, func(t *testing.T) {
			c, err := DecodeTLV(loadSDK(t, name).tlv)
			require.NoError(t, err)
			iss, err := DecodeTLV(loadSDK(t, issuerOf[name]).tlv)
			require.NoError(t, err)
			require.NoError(t, c.CheckSignatureFrom(iss))
			if name != issuerOf[name] {
				require.True(t, bytes.Equal(c.AuthorityKeyID(), iss.SubjectKeyID()))
			}
			bad := *c
			bad.Signature = append([]byte(nil), c.Signature...)
			bad.Signature[10] ^= 1
			require.Error(t, bad.CheckSignatureFrom(iss))
		})
	}
}

// Spot checks of decoded fields against the SDK's openssl dumps.
func TestSDKVectorsFields(t *testing.T) {
	n, err := DecodeTLV(loadSDK(t, "Node02_04").tlv)
	require.NoError(t, err)
	id, ok := n.Subject.NodeID()
	require.True(t, ok)
	require.Equal(t, uint64(0xDEDEDEDE00020004), id)
	fab, _ := n.Subject.FabricID()
	require.Equal(t, uint64(0xFAB000000000001D), fab)
	require.Equal(t, []uint32{0xABCE1002, 0xABCD0003}, n.Subject.CATs())
	require.Equal(t, "matter-noc-cat=ABCE1002, common-name=TestCert02_04, matter-fabric-id=FAB000000000001D, "+
		"matter-noc-cat=ABCD0003, matter-node-id=DEDEDEDE00020004", n.Subject.String())
	require.Equal(t, "2020-10-15T14:23:43Z", n.NotBefore.String())
	require.Equal(t, "2040-10-15T14:23:42Z", n.NotAfter.String())

	r, err := DecodeTLV(loadSDK(t, "Root03").tlv)
	require.NoError(t, err)
	require.Equal(t, NoExpiry, r.NotAfter)

	fw, err := DecodeTLV(loadSDK(t, "FWSign01").tlv)
	require.NoError(t, err)
	require.Equal(t, []Extension{
		{ID: ExtBasicConstraints, PathLen: -1},
		{ID: ExtKeyUsage, PathLen: -1, KeyUsage: KeyUsageDigitalSignature},
		{ID: ExtExtendedKeyUsage, PathLen: -1, Purposes: []KeyPurpose{PurposeCodeSigning}},
		{ID: ExtSubjectKeyID, PathLen: -1, KeyID: fw.SubjectKeyID()},
		{ID: ExtAuthorityKeyID, PathLen: -1, KeyID: fw.AuthorityKeyID()},
	}, fw.Extensions)
	require.Equal(t, "matter-firmware-signing-id=FFFFFFFF00000001, common-name=FW SIGN CERT 01", fw.Subject.String())
}
