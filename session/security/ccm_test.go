package security

import (
	"bytes"
	"crypto/aes"
	"math/rand/v2"
	"strconv"
	"testing"

	pionccm "github.com/pion/dtls/v3/pkg/crypto/ccm"
	"github.com/stretchr/testify/require"
)

// checkCore seals and opens one vector with the general CCM core, both into
// fresh buffers and in place, and checks that any altered byte fails.
func checkCore(t *testing.T, c *ccm, nonce, aad, plain, want []byte) {
	t.Helper()
	got := c.seal(nil, nonce, plain, aad)
	require.Equal(t, want, got, "seal")
	pt, err := c.open(nil, nonce, got, aad)
	require.NoError(t, err)
	requireBytes(t, plain, pt)

	// In place: plaintext sits where the ciphertext goes.
	buf := make([]byte, len(plain), len(plain)+c.tagSize)
	copy(buf, plain)
	sealed := c.seal(buf[:0], nonce, buf, aad)
	require.Equal(t, want, sealed)
	opened, err := c.open(sealed[:0], nonce, sealed, aad)
	require.NoError(t, err)
	requireBytes(t, plain, opened)

	for i := range want {
		bad := bytes.Clone(want)
		bad[i] ^= 0x01
		_, err := c.open(nil, nonce, bad, aad)
		require.ErrorIs(t, err, ErrAuthentication, "flip byte %d", i)
	}
	if len(aad) > 0 {
		bad := bytes.Clone(aad)
		bad[len(bad)-1] ^= 0x80
		_, err := c.open(nil, nonce, want, bad)
		require.ErrorIs(t, err, ErrAuthentication, "altered AAD")
	}
}

// TestRFC3610 runs packet vectors #1-#24 (13-byte nonce, 8/10-byte MIC).
func TestRFC3610(t *testing.T) {
	lines := readLines(t, "rfc3610.txt")
	require.Len(t, lines, 24)
	for _, l := range lines {
		t.Run("packet-"+l[0], func(t *testing.T) {
			aadLen, _ := strconv.Atoi(l[3])
			m, _ := strconv.Atoi(l[4])
			packet, out := unhex(t, l[5]), unhex(t, l[6])
			c := newCore(t, unhex(t, l[1]), 13, m)
			checkCore(t, c, unhex(t, l[2]), packet[:aadLen], packet[aadLen:], out[aadLen:])
		})
	}
}

// TestNISTSP80038C runs examples C.1-C.4 (nonces of 7, 8, 12 and 13 bytes;
// C.4 has a 65536-byte AAD, exercising the 0xFFFE length encoding).
func TestNISTSP80038C(t *testing.T) {
	for _, l := range readLines(t, "nist-sp800-38c.txt") {
		t.Run(l[0], func(t *testing.T) {
			nonce, plain, want := unhex(t, l[2]), unhex(t, l[4]), unhex(t, l[5])
			var aad []byte
			if l[3] == "GENERATED" {
				aad = make([]byte, 65536)
				for i := range aad {
					aad[i] = byte(i)
				}
			} else {
				aad = unhex(t, l[3])
			}
			c := newCore(t, unhex(t, l[1]), len(nonce), len(want)-len(plain))
			checkCore(t, c, nonce, aad, plain, want)
		})
	}
}

// TestSDKVectors runs the Matter-profile vectors of the C++ SDK through
// the Matter-facing CCM type.
func TestSDKVectors(t *testing.T) {
	for _, l := range readLines(t, "sdk-aes-ccm-128.txt") {
		t.Run(l[0], func(t *testing.T) {
			c := NewCCM(key(t, l[1]))
			nonce, aad, plain := unhex(t, l[2]), unhex(t, l[3]), unhex(t, l[4])
			want := append(unhex(t, l[5]), unhex(t, l[6])...)
			checkCore(t, &c.c, nonce, aad, plain, want)
			require.Equal(t, want, c.Seal(nil, nonce, plain, aad))
		})
	}
}

// TestAgainstPion is a property test against an independent implementation
// (pion's CCM): random keys, nonce lengths, tag lengths, AAD and payload
// sizes around block boundaries.
func TestAgainstPion(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for i := range 2000 {
		k := rnd(16)
		nonceSize := 7 + r.IntN(7)
		tagSize := 4 + 2*r.IntN(7)
		nonce, aad, plain := rnd(nonceSize), rnd(r.IntN(70)), rnd(r.IntN(100))
		if i%10 == 0 {
			aad = nil
		}
		blk, err := aes.NewCipher(k)
		require.NoError(t, err)
		ref, err := pionccm.NewCCM(blk, tagSize, nonceSize)
		require.NoError(t, err)
		want := ref.Seal(nil, nonce, plain, aad)
		c := newCore(t, k, nonceSize, tagSize)
		require.Equal(t, want, c.seal(nil, nonce, plain, aad), "case %d", i)
		got, err := c.open(nil, nonce, want, aad)
		require.NoError(t, err)
		requireBytes(t, plain, got)
	}
}

func TestCCMEdgeCases(t *testing.T) {
	c := NewCCM(Key{})
	require.Equal(t, 13, c.NonceSize())
	require.Equal(t, 16, c.Overhead())
	nonce := make([]byte, 13)

	// 1. Ciphertext shorter than the MIC.
	_, err := c.Open(nil, nonce, make([]byte, 15), nil)
	require.ErrorIs(t, err, ErrShort)
	// 2. Empty plaintext and AAD: the output is just the MIC.
	mic := c.Seal(nil, nonce, nil, nil)
	require.Len(t, mic, 16)
	pt, err := c.Open(nil, nonce, mic, nil)
	require.NoError(t, err)
	require.Empty(t, pt)
	// 3. Wrong nonce length is a programming error.
	require.Panics(t, func() { c.Seal(nil, nonce[:12], nil, nil) })
	require.Panics(t, func() { _, _ = c.Open(nil, nonce[:12], mic, nil) })
	// 4. Plaintext over the L=2 limit panics (sender's bug, never network input).
	require.Panics(t, func() { c.Seal(nil, nonce, make([]byte, MaxPlaintext+1), nil) })
	// 5. The longest plaintext works.
	big := c.Seal(nil, nonce, make([]byte, MaxPlaintext), nil)
	_, err = c.Open(nil, nonce, big, nil)
	require.NoError(t, err)
	// 6. A ciphertext over the limit is rejected without a panic.
	_, err = c.Open(nil, nonce, make([]byte, MaxPlaintext+1+16), nil)
	require.ErrorIs(t, err, ErrAuthentication)
	// 7. Inexact overlap panics like crypto/cipher.
	buf := make([]byte, 64)
	require.Panics(t, func() { c.Seal(buf[1:1], nonce, buf[:32], nil) })
	// 8. A failed in-place open zeroes the output.
	sealed := c.Seal(nil, nonce, []byte("secret payload!!"), nil)
	sealed[0] ^= 1
	_, err = c.Open(sealed[:0], nonce, sealed, nil)
	require.ErrorIs(t, err, ErrAuthentication)
	require.Equal(t, make([]byte, 16), sealed[:16])
	// 9. Seal appends after existing dst content.
	out := c.Seal([]byte{0xAA}, nonce, []byte{1, 2, 3}, nil)
	require.Equal(t, byte(0xAA), out[0])
	require.Len(t, out, 1+3+16)
}
