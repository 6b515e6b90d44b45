package cert

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
)

func TestDate(t *testing.T) {
	for _, tc := range []struct {
		y, mo, d, h, mi, s int
		want               Time
		ok                 bool
	}{
		{2000, 1, 1, 0, 0, 0, 0, true},
		{2020, 10, 15, 14, 23, 43, 0x271B17EF, true}, // the SDK vectors' not-before
		{2040, 10, 15, 14, 23, 42, 0x4CB9B56E, true}, // and not-after
		{2024, 2, 29, 12, 0, 0, 762523200, true},     // Unix 1709208000
		{2136, 2, 7, 6, 28, 15, 0xFFFFFFFF, true},
		{2136, 2, 7, 6, 28, 16, 0, false},
		{1999, 12, 31, 23, 59, 59, 0, false},
	} {
		got, ok := Date(tc.y, tc.mo, tc.d, tc.h, tc.mi, tc.s)
		require.Equal(t, tc.ok, ok, "%v", tc)
		if ok {
			require.Equal(t, tc.want, got, "%v", tc)
			y, mo, d, h, mi, s := got.civil()
			require.Equal(t, [6]int{tc.y, tc.mo, tc.d, tc.h, tc.mi, tc.s}, [6]int{y, mo, d, h, mi, s})
		}
	}
}

// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, and
// 99991231235959Z for "no expiry".
func TestTimeEncoding(t *testing.T) {
	for _, tc := range []struct {
		t        Time
		notAfter bool
		want     string
	}{
		{0, false, "170d3030303130313030303030305a"},           // 000101000000Z
		{NoExpiry, true, "180f39393939313233313233353935395a"}, // 99991231235959Z
		{date(t, 2049, 12, 31, 23, 59, 59), true, "170d3439313233313233353935395a"},
		{date(t, 2050, 1, 1, 0, 0, 0), true, "180f32303530303130313030303030305a"},
	} {
		b := cryptobyte.NewBuilder(nil)
		addTime(b, tc.t, tc.notAfter)
		got := b.BytesOrPanic()
		require.Equal(t, tc.want, hex.EncodeToString(got), "%s", tc.t)
		s := cryptobyte.String(got)
		back, err := readTime(&s, "t")
		require.NoError(t, err)
		require.Equal(t, tc.t, back)
	}
}

func TestKeyUsageBits(t *testing.T) {
	for _, tc := range []struct {
		ku   KeyUsage
		want string
	}{
		{0, "00"},
		{KeyUsageDigitalSignature, "0780"},
		{KeyUsageKeyCertSign | KeyUsageCRLSign, "0106"},
		{KeyUsageDecipherOnly, "070080"},
		{0x1FF, "07ff80"},
	} {
		require.Equal(t, tc.want, hex.EncodeToString(keyUsageBits(tc.ku)), "0x%x", tc.ku)
	}
}

// Every prefix of a valid certificate, and every corrupted one below, is a
// *DecodeError, never a panic.
func TestDecodeTLVErrors(t *testing.T) {
	good := loadSDK(t, "Node02_05").tlv
	for n := 0; n < len(good); n++ {
		_, err := DecodeTLV(good[:n])
		var de *DecodeError
		require.ErrorAs(t, err, &de, "prefix %d", n)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name  string
		in    []byte
		field string
	}{
		{"trailing byte", append(append([]byte(nil), good...), 0), "certificate"},
		{"tagged outer structure", mut(func(b []byte) []byte { return append([]byte{0x35, 0x01}, b[1:]...) }), "certificate"},
		{"sig-algo 2", mut(func(b []byte) []byte { b[14] = 2; return b }), "sig-algo"},
		{"serial out of order", mut(func(b []byte) []byte { b[2] = 0x02; return b }), "serial-num"},
		{"unknown DN attribute", mut(func(b []byte) []byte { b[18] = 0x17; return b }), "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTLV(tc.in)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "tlv", de.Form)
			require.Equal(t, tc.field, de.Field, "%v", err)
		})
	}
}

// ParseDER takes only what converts to TLV and back unchanged.
func TestParseDERRejects(t *testing.T) {
	good := loadSDK(t, "Root01").der
	at := func(sub string) int {
		i := bytes.Index(good, []byte(sub))
		require.True(t, i > 0, sub)
		return i
	}
	for _, tc := range []struct {
		name string
		edit func(b []byte)
	}{
		{"lower-case hex id", func(b []byte) { b[at("CACACACA")] = 'c' }},
		{"id as PrintableString", func(b []byte) { b[at("CACACACA")-2] = 0x13 }},
		{"basic constraints not critical", func(b []byte) {
			b[at("\x06\x03\x55\x1d\x13\x01\x01\xff")+7] = 0
		}},
		{"trailing byte", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			if tc.edit == nil {
				b = append(b, 0)
			} else {
				tc.edit(b)
			}
			_, err := ParseDER(b)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "der", de.Form)
		})
	}
}

// Standard attributes in their PrintableString and IA5String variants keep
// their string types through both conversions.
func TestStringVariantsRoundTrip(t *testing.T) {
	c := decodeSDK(t, "Node01_02")
	c.Subject = append(c.Subject,
		Attribute{Tag: AttrCommonName | PrintableFlag, Text: "Printable Name"},
		Attribute{Tag: AttrOrgName, Text: "Örg"},
		Attribute{Tag: AttrDomainComponent, Text: "example"},
	)
	require.NoError(t, c.Sign(loadSDK(t, "Root01").key))
	der, err := AppendDER(nil, c)
	require.NoError(t, err)
	x, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	require.Equal(t, "Printable Name", x.Subject.CommonName)
	require.Equal(t, []string{"Örg"}, x.Subject.Organization)
	tl, err := DERToTLV(der)
	require.NoError(t, err)
	back, err := DecodeTLV(tl)
	require.NoError(t, err)
	require.True(t, back.Equal(c))
	require.NoError(t, back.CheckSignatureFrom(decodeSDK(t, "Root01")))

	c.Subject = append(c.Subject, Attribute{Tag: AttrCommonName | PrintableFlag, Text: "no_underscores"})
	_, err = AppendTLV(nil, c)
	require.Error(t, err)
	require.True(t, errors.As(err, new(*DecodeError)))
}
