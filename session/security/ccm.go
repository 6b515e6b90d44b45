package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"unsafe"
)

// Sizes of the Matter AEAD (spec 3.6; connectedhomeip CryptoContext.h).
const (
	KeySize   = 16 // AES-128
	NonceSize = 13 // CCM nonce; leaves L = 2 length bytes
	MICSize   = 16 // CCM tag
)

// MaxPlaintext is the longest plaintext AES-CCM with a 13-byte nonce
// protects: the 2-byte length field of the CCM counter blocks.
const MaxPlaintext = 0xFFFF

// Key is an AES-128 key.
type Key [KeySize]byte

// ccm is AES-CCM (RFC 3610, NIST SP 800-38C) with a configurable nonce
// length (7..13 bytes) and tag length (4..16, even). The Matter type CCM
// fixes 13 and 16; the general core lets tests run the RFC 3610 and
// SP 800-38C vectors. Scratch blocks live in the struct so that the
// cipher.Block calls (interface calls, whose arguments escape) allocate
// nothing.
type ccm struct {
	block     cipher.Block
	nonceSize int
	tagSize   int
	x         [16]byte // CBC-MAC state
	p         [16]byte // current data block
	a         [16]byte // counter block A_i
	s         [16]byte // key stream block S_i
}

func (c *ccm) init(key []byte, nonceSize, tagSize int) error {
	b, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	c.block, c.nonceSize, c.tagSize = b, nonceSize, tagSize
	return nil
}

// maxLen is the largest payload the length field L = 15-nonceSize encodes.
func (c *ccm) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*uint(l)) - 1
}

// counterInit sets c.a to A_0 = flags(L-1) || nonce || 0 (RFC 3610 2.3).
func (c *ccm) counterInit(nonce []byte) {
	c.a[0] = byte(14 - c.nonceSize) // L-1
	copy(c.a[1:], nonce)
	clear(c.a[1+c.nonceSize:])
}

// setCounter writes i into the L counter bytes of c.a.
func (c *ccm) setCounter(i uint64) {
	for j := 15; j > c.nonceSize; j-- {
		c.a[j] = byte(i)
		i >>= 8
	}
}

// xorBlock sets dst = a ^ b for whole 16-byte blocks; much cheaper than
// subtle.XORBytes at this size.
func xorBlock(dst, a, b []byte) {
	_, _, _ = dst[15], a[15], b[15]
	x0 := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b)
	x1 := binary.LittleEndian.Uint64(a[8:]) ^ binary.LittleEndian.Uint64(b[8:])
	binary.LittleEndian.PutUint64(dst, x0)
	binary.LittleEndian.PutUint64(dst[8:], x1)
}

// macStart computes the CBC-MAC over B0 and the AAD blocks (RFC 3610 2.2).
func (c *ccm) macStart(nonce []byte, msgLen int, aad []byte) {
	l := 15 - c.nonceSize
	flags := byte(((c.tagSize-2)/2)<<3 | (l - 1))
	if len(aad) > 0 {
		flags |= 0x40
	}
	c.x[0] = flags
	copy(c.x[1:], nonce)
	n := uint64(msgLen)
	for j := 15; j > c.nonceSize; j-- {
		c.x[j] = byte(n)
		n >>= 8
	}
	c.block.Encrypt(c.x[:], c.x[:])
	if len(aad) == 0 {
		return
	}
	// Length encoding of the AAD, then the AAD, zero padded to a block.
	var hdr int
	switch la := uint64(len(aad)); {
	case la < 0xFF00:
		binary.BigEndian.PutUint16(c.p[:], uint16(la))
		hdr = 2
	case la <= 0xFFFFFFFF:
		c.p[0], c.p[1] = 0xFF, 0xFE
		binary.BigEndian.PutUint32(c.p[2:], uint32(la))
		hdr = 6
	default:
		c.p[0], c.p[1] = 0xFF, 0xFF
		binary.BigEndian.PutUint64(c.p[2:], la)
		hdr = 10
	}
	k := copy(c.p[hdr:], aad)
	clear(c.p[hdr+k:])
	c.macBlock()
	for aad = aad[k:]; len(aad) > 0; {
		k = copy(c.p[:], aad)
		clear(c.p[k:])
		c.macBlock()
		aad = aad[k:]
	}
}

// macBlock folds c.p into the CBC-MAC state.
func (c *ccm) macBlock() {
	xorBlock(c.x[:], c.x[:], c.p[:])
	c.block.Encrypt(c.x[:], c.x[:])
}

// seal appends ciphertext||tag to dst. Exact overlap of the output with
// plaintext is allowed (in-place); any other overlap panics.
func (c *ccm) seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("security: incorrect CCM nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("security: plaintext too long for CCM")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	if inexactOverlap(out[:len(plaintext)], plaintext) {
		panic("security: invalid buffer overlap")
	}
	c.macStart(nonce, len(plaintext), aad)
	c.counterInit(nonce)
	var i uint64 = 1
	off := 0
	for ; off+16 <= len(plaintext); off += 16 {
		// Full block: MAC the plaintext, then encrypt it. With exact
		// in-place overlap each word is read before it is written.
		p := plaintext[off : off+16]
		xorBlock(c.x[:], c.x[:], p)
		c.block.Encrypt(c.x[:], c.x[:])
		c.setCounter(i)
		c.block.Encrypt(c.s[:], c.a[:])
		xorBlock(out[off:off+16], p, c.s[:])
		i++
	}
	if k := len(plaintext) - off; k > 0 {
		copy(c.p[:], plaintext[off:])
		clear(c.p[k:])
		c.macBlock()
		c.setCounter(i)
		c.block.Encrypt(c.s[:], c.a[:])
		subtle.XORBytes(out[off:off+k], c.p[:k], c.s[:k])
	}
	c.setCounter(0)
	c.block.Encrypt(c.s[:], c.a[:])
	subtle.XORBytes(out[len(plaintext):], c.x[:c.tagSize], c.s[:c.tagSize])
	return ret
}

// open appends the plaintext of ciphertext||tag to dst, or returns
// ErrAuthentication (having zeroed the output) if the tag does not match.
func (c *ccm) open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("security: incorrect CCM nonce length")
	}
	if len(ciphertext) < c.tagSize {
		return nil, ErrShort
	}
	n := len(ciphertext) - c.tagSize
	if uint64(n) > c.maxLen() {
		return nil, ErrAuthentication
	}
	tag := ciphertext[n:]
	ciphertext = ciphertext[:n]
	ret, out := sliceForAppend(dst, n)
	if inexactOverlap(out, ciphertext) {
		panic("security: invalid buffer overlap")
	}
	// The tag may sit right after the plaintext in an in-place buffer;
	// take it before anything is written.
	var want [16]byte
	copy(want[:], tag)
	c.macStart(nonce, n, aad)
	c.counterInit(nonce)
	var i uint64 = 1
	off := 0
	for ; off+16 <= n; off += 16 {
		c.setCounter(i)
		c.block.Encrypt(c.s[:], c.a[:])
		o := out[off : off+16]
		xorBlock(o, ciphertext[off:off+16], c.s[:])
		xorBlock(c.x[:], c.x[:], o)
		c.block.Encrypt(c.x[:], c.x[:])
		i++
	}
	if k := n - off; k > 0 {
		c.setCounter(i)
		c.block.Encrypt(c.s[:], c.a[:])
		subtle.XORBytes(c.p[:k], ciphertext[off:], c.s[:k])
		clear(c.p[k:])
		copy(out[off:], c.p[:k])
		c.macBlock()
	}
	c.setCounter(0)
	c.block.Encrypt(c.s[:], c.a[:])
	subtle.XORBytes(c.s[:c.tagSize], c.s[:c.tagSize], c.x[:c.tagSize])
	if subtle.ConstantTimeCompare(c.s[:c.tagSize], want[:c.tagSize]) != 1 {
		clear(out)
		return nil, ErrAuthentication
	}
	return ret, nil
}

// ctr XORs data with the CCM key stream S_start, S_start+1, ... in place
// (CCM's CTR half on its own, as the SDK's AES_CTR_crypt computes it).
func (c *ccm) ctr(nonce, data []byte, start uint64) {
	c.counterInit(nonce)
	i := start
	for off := 0; off < len(data); off += 16 {
		c.setCounter(i)
		c.block.Encrypt(c.s[:], c.a[:])
		subtle.XORBytes(data[off:], data[off:], c.s[:])
		i++
	}
}

// CCM is AES-128-CCM with a 13-byte nonce and a 16-byte MIC, the Matter
// message AEAD (spec 3.6.1; connectedhomeip CryptoContext). It implements
// cipher.AEAD: Seal and Open follow its buffer rules (the output may overlap
// the input exactly, for in-place use, or not at all) and panic on a nonce
// of the wrong length. Seal panics on a plaintext over MaxPlaintext bytes.
//
// Create one with NewCCM; the zero value is not usable. A CCM keeps scratch
// blocks so that it never allocates, and is therefore not safe for
// concurrent use.
type CCM struct {
	c ccm
}

var _ cipher.AEAD = (*CCM)(nil)

// NewCCM returns a CCM for key, with the AES key schedule precomputed.
func NewCCM(key Key) *CCM {
	c := new(CCM)
	if err := c.c.init(key[:], NonceSize, MICSize); err != nil {
		panic("security: " + err.Error()) // unreachable: the key is 16 bytes
	}
	return c
}

// NonceSize returns 13.
func (c *CCM) NonceSize() int { return NonceSize }

// Overhead returns 16, the MIC length.
func (c *CCM) Overhead() int { return MICSize }

// Seal encrypts and authenticates plaintext, authenticates aad, and appends
// ciphertext||MIC to dst.
func (c *CCM) Seal(dst, nonce, plaintext, aad []byte) []byte {
	return c.c.seal(dst, nonce, plaintext, aad)
}

// Open authenticates ciphertext||MIC and aad and appends the plaintext to
// dst. On failure it returns ErrAuthentication (or ErrShort if the input is
// shorter than a MIC); when decrypting in place the ciphertext is then
// overwritten with zeros, so callers that may retry with another key must
// open into a separate buffer.
func (c *CCM) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	return c.c.open(dst, nonce, ciphertext, aad)
}

// sliceForAppend extends in by n bytes, returning the whole slice and the
// new tail (as crypto/cipher does).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

// inexactOverlap reports whether x and y share memory at different offsets.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	if xs == ys {
		return false
	}
	return xs <= ys+uintptr(len(y)-1) && ys <= xs+uintptr(len(x)-1)
}
