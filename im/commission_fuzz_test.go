package im

import (
	"reflect"
	"testing"
)

// commissionCodecs returns a fresh zero value of every command codec of
// commission_codec.go, in a fixed order (the fuzz input's selector).
func commissionCodecs() []fieldCodec {
	return []fieldCodec{&ArmFailSafe{}, &SetRegulatoryConfig{}, &CommissioningResponse{}, &AttestationRequest{},
		&SignedElements{}, &CertificateChainRequest{}, &CertificateChainResponse{}, &CSRRequest{}, &AddNOC{},
		&NOCResponse{}, &AddTrustedRootCertificate{}}
}

// FuzzCommissionCodecs decodes arbitrary fields with every codec: no
// panic, and whatever decodes re-encodes to fields that decode to the same
// value (the canonical form is stable). The signed-element payloads are
// decoded too (no panic).
func FuzzCommissionCodecs(f *testing.F) {
	for _, v := range commissionVectors() {
		f.Add([]byte(v.in.Fields()))
	}
	f.Add((&AttestationElements{CertificationDeclaration: []byte{1}, Nonce: make([]byte, 32)}).Append(nil))
	f.Add((&NOCSRElements{CSR: []byte{1}, Nonce: make([]byte, 32)}).Append(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for i, c := range commissionCodecs() {
			if c.Decode(Value(b)) != nil {
				continue
			}
			again := commissionCodecs()[i]
			if err := again.Decode(c.Fields()); err != nil {
				t.Fatalf("%T: re-encoding of %+v does not decode: %v", c, c, err)
			}
			if !reflect.DeepEqual(normalize(again), normalize(c)) {
				t.Fatalf("%T: %+v re-decodes as %+v", c, c, again)
			}
		}
		_, _ = DecodeAttestationElements(b)
		_, _ = DecodeNOCSRElements(b)
	})
}

// normalize maps empty byte slices to nil, which the encoders cannot
// tell apart (an absent optional ICAC and an empty one differ only there).
func normalize(c fieldCodec) fieldCodec {
	if n, ok := c.(*AddNOC); ok && len(n.ICAC) == 0 {
		m := *n
		m.ICAC = nil
		return &m
	}
	return c
}
