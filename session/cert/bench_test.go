package cert

import "testing"

func BenchmarkTLVToDER(b *testing.B) {
	tl := loadSDK(b, "Node02_05").tlv
	for b.Loop() {
		if _, err := TLVToDER(tl); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDERToTLV(b *testing.B) {
	der := loadSDK(b, "Node02_05").der
	for b.Loop() {
		if _, err := DERToTLV(der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyChain validates RCAC → ICAC → NOC: three signatures.
func BenchmarkVerifyChain(b *testing.B) {
	dec := func(n string) *Certificate {
		c, err := DecodeTLV(loadSDK(b, n).tlv)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	ch := Chain{RCAC: dec("Root01"), ICAC: dec("ICA01"), NOC: dec("Node01_01")}
	opts := VerifyOptions{Epoch: 800000000}
	for b.Loop() {
		if _, err := ch.Verify(opts); err != nil {
			b.Fatal(err)
		}
	}
}
