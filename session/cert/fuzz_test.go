package cert

import (
	"bytes"
	"testing"
)

// FuzzDecodeTLV: decoding never panics; whatever decodes converts to DER
// and back to the same certificate, and the canonical TLV is a fixed point.
func FuzzDecodeTLV(f *testing.F) {
	for _, name := range sdkNames {
		f.Add(loadSDK(f, name).tlv)
	}
	f.Add([]byte{0x15, 0x18})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeTLV(b)
		if err != nil {
			return
		}
		canon, err := AppendTLV(nil, c)
		if err != nil {
			t.Fatalf("decoded but does not re-encode: %v", err)
		}
		der, err := AppendDER(nil, c)
		if err != nil {
			t.Fatalf("decoded but has no DER: %v", err)
		}
		back, err := ParseDER(der)
		if err != nil {
			t.Fatalf("our DER does not parse: %v\n%x", err, der)
		}
		if !back.Equal(c) {
			t.Fatalf("DER round trip changed the certificate")
		}
		tl, err := AppendTLV(nil, back)
		if err != nil || !bytes.Equal(tl, canon) {
			t.Fatalf("DER→TLV %x, want %x (%v)", tl, canon, err)
		}
		c2, err := DecodeTLV(canon)
		if err != nil || !c2.Equal(c) {
			t.Fatalf("canonical TLV does not decode to the same certificate: %v", err)
		}
	})
}

// FuzzParseDER: parsing never panics; whatever parses is reproduced byte
// for byte by AppendDER, and survives a trip through TLV.
func FuzzParseDER(f *testing.F) {
	for _, name := range sdkNames {
		f.Add(loadSDK(f, name).der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseDER(der)
		if err != nil {
			return
		}
		tl, err := AppendTLV(nil, c)
		if err != nil {
			t.Fatalf("parsed but has no TLV: %v", err)
		}
		re, err := TLVToDER(tl)
		if err != nil || !bytes.Equal(re, der) {
			t.Fatalf("TLV→DER %x, want %x (%v)", re, der, err)
		}
	})
}
