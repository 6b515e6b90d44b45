package security

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"

	pionccm "github.com/pion/dtls/v3/pkg/crypto/ccm"
)

// The Matter-shaped workload: an 8-byte message header as AAD and a
// 64-byte protocol header + payload, sealed and opened in reused buffers.
var (
	benchAAD   = []byte{0x00, 0x34, 0x12, 0x00, 0x0a, 0x00, 0x00, 0x00}
	benchPlain = make([]byte, 64)
	benchNonce = make([]byte, NonceSize)
)

func benchSealOpen(b *testing.B, a cipher.AEAD) {
	sealed := make([]byte, 0, 64+a.Overhead())
	opened := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		sealed = a.Seal(sealed[:0], benchNonce[:a.NonceSize()], benchPlain, benchAAD)
		var err error
		opened, err = a.Open(opened[:0], benchNonce[:a.NonceSize()], sealed, benchAAD)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealOpen64: our AES-CCM-128 (13-byte nonce, 16-byte MIC).
// Budget: <= 1 µs per seal+open, 0 allocs.
func BenchmarkSealOpen64(b *testing.B) { benchSealOpen(b, NewCCM(fuzzKey)) }

// BenchmarkPionCCMSealOpen64: github.com/pion/dtls/v3/pkg/crypto/ccm with
// the same parameters, the candidate we evaluated and rejected.
func BenchmarkPionCCMSealOpen64(b *testing.B) {
	blk, _ := aes.NewCipher(fuzzKey[:])
	a, err := pionccm.NewCCM(blk, MICSize, NonceSize)
	if err != nil {
		b.Fatal(err)
	}
	benchSealOpen(b, a)
}

// BenchmarkAESGCMSealOpen64: standard-library AES-128-GCM (12-byte nonce),
// the yardstick for a hardware-accelerated AEAD.
func BenchmarkAESGCMSealOpen64(b *testing.B) {
	blk, _ := aes.NewCipher(fuzzKey[:])
	a, err := cipher.NewGCM(blk)
	if err != nil {
		b.Fatal(err)
	}
	benchSealOpen(b, a)
}

// BenchmarkSealMessage64 seals a whole message in place: header append +
// SealInPlace, as the session core sends.
func BenchmarkSealMessage64(b *testing.B) {
	c := NewCCM(fuzzKey)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], benchAAD...)
		buf = append(buf, benchPlain...)
		buf = SealInPlace(c, buf, len(benchAAD), 1)
	}
}

// BenchmarkPrivacyObfuscate obfuscates a group header (14 bytes).
func BenchmarkPrivacyObfuscate(b *testing.B) {
	p := NewPrivacy(fuzzKey)
	msg := make([]byte, 18+8+16)
	msg[0] = 0x06
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Obfuscate(msg); err != nil {
			b.Fatal(err)
		}
	}
}
