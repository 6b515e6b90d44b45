package im

import "testing"

// commissionCodecs are the codecs of every command of commission_codec.go.
var commissionCodecs = []msgCodec{
	commandCodec[ArmFailSafe](), commandCodec[SetRegulatoryConfig](), commandCodec[CommissioningResponse](),
	commandCodec[AttestationRequest](), commandCodec[SignedElements](), commandCodec[CertificateChainRequest](),
	commandCodec[CertificateChainResponse](), commandCodec[CSRRequest](), commandCodec[AddNOC](),
	commandCodec[NOCResponse](), commandCodec[AddTrustedRootCertificate](),
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
		for _, c := range commissionCodecs {
			checkRoundTrip(t, c, b)
		}
		_, _ = DecodeAttestationElements(b)
		_, _ = DecodeNOCSRElements(b)
	})
}
