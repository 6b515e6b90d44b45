package cert

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomCert draws a certificate that both encodings can carry: any mix of
// attributes (Matter ids, CATs, UTF-8, PrintableString and IA5String
// text), validity across the UTCTime/GeneralizedTime boundary and
// NoExpiry, and any order of the extensions, future ones included.
func randomCert(r *rand.Rand) *Certificate {
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	dn := func(min int) DN {
		var d DN
		for n := min + r.IntN(5); len(d) < n; {
			switch k := r.IntN(6); {
			case k == 0:
				d = append(d, Attribute{Tag: AttrMatterNOCCAT, Value: uint64(r.Uint32())})
			case k <= 2:
				d = append(d, Attribute{Tag: AttrMatterNodeID + AttrTag(r.IntN(5)), Value: r.Uint64()})
			case k == 3:
				d = append(d, Attribute{Tag: AttrTag(1+r.IntN(15)) | PrintableFlag, Text: "Printable (" + string(rune('A'+r.IntN(26))) + ")"})
			case k == 4:
				d = append(d, Attribute{Tag: AttrDomainComponent, Text: "dc" + string(rune('a'+r.IntN(26)))})
			default:
				d = append(d, Attribute{Tag: AttrTag(1 + r.IntN(15)), Text: "Ünïcode ✓"})
			}
		}
		return d
	}
	serial := bytes(1 + r.IntN(MaxSerialLen))
	serial[0] = serial[0]&0x7F | 0x01
	c := &Certificate{
		SerialNumber: serial,
		SigAlgo:      SigAlgoECDSAWithSHA256,
		Issuer:       dn(1),
		NotBefore:    Time(r.Uint32()),
		NotAfter:     Time(r.Uint32()),
		Subject:      dn(0),
		PubKeyAlgo:   PubKeyAlgoEC,
		Curve:        CurvePrime256v1,
		PublicKey:    append([]byte{4}, bytes(64)...),
		Signature:    bytes(SignatureLen),
		Extensions:   []Extension{},
	}
	c.Signature[0] |= 0x01 // r > 0
	c.Signature[32] |= 0x01
	if r.IntN(4) == 0 {
		c.NotAfter = NoExpiry
	}
	typed := []Extension{
		BasicConstraints(r.IntN(2) == 0, r.IntN(4)-1),
		{ID: ExtKeyUsage, PathLen: -1, KeyUsage: KeyUsage(r.IntN(0x200))},
		{ID: ExtExtendedKeyUsage, PathLen: -1, Purposes: []KeyPurpose{KeyPurpose(1 + r.IntN(6)), KeyPurpose(1 + r.IntN(6))}},
		{ID: ExtSubjectKeyID, PathLen: -1, KeyID: bytes(KeyIDLen)},
		{ID: ExtAuthorityKeyID, PathLen: -1, KeyID: bytes(KeyIDLen)},
	}
	r.Shuffle(len(typed), func(i, j int) { typed[i], typed[j] = typed[j], typed[i] })
	for _, e := range typed[:r.IntN(len(typed)+1)] {
		c.Extensions = append(c.Extensions, e)
		if r.IntN(3) == 0 { // a subjectAltName, critical or not
			raw := []byte{0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x11, 0x04, 0x11, 0x30, 0x0f, 0x81, 0x0d,
				't', 'e', 's', 't', '@', 'c', 'h', 'i', 'p', '.', 'o', 'r', 'g'}
			if r.IntN(2) == 0 {
				raw = append([]byte{0x30, 0x1b, 0x06, 0x03, 0x55, 0x1d, 0x11, 0x01, 0x01, 0xff}, raw[7:]...)
			}
			c.Extensions = append(c.Extensions, Extension{ID: ExtFuture, PathLen: -1, Raw: raw})
		}
	}
	return c
}

// Property: every certificate both forms can carry survives TLV and DER
// encoding, and the two conversions are inverse on the encoded bytes.
func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		c := randomCert(r)
		tl, err := AppendTLV(nil, c)
		require.NoError(t, err, "case %d", i)
		fromTLV, err := DecodeTLV(tl)
		require.NoError(t, err, "case %d", i)
		require.True(t, fromTLV.Equal(c), "case %d: TLV round trip", i)

		der, err := AppendDER(nil, c)
		require.NoError(t, err, "case %d", i)
		fromDER, err := ParseDER(der)
		require.NoError(t, err, "case %d: %x", i, der)
		require.True(t, fromDER.Equal(c), "case %d: DER round trip", i)

		d2, err := TLVToDER(tl)
		require.NoError(t, err)
		require.Equal(t, der, d2, "case %d", i)
		t2, err := DERToTLV(der)
		require.NoError(t, err)
		require.Equal(t, tl, t2, "case %d", i)
	}
}
