package spake2p

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"

	"filippo.io/nistec"
)

// Sizes of the wire and storage encodings (spec 3.10; connectedhomeip
// src/crypto/CHIPCryptoPAL.h kP256_Point_Length, kSpake2p_WS_Length,
// kSpake2p_VerifierSerialized_Length).
const (
	ScalarLen   = 32                   // a scalar, big-endian
	PointLen    = 65                   // an uncompressed point 0x04 || x || y
	ConfirmLen  = sha256.Size          // cA, cB
	WSLen       = ScalarLen + 8        // w0s, w1s: 40 bytes each before reduction
	VerifierLen = ScalarLen + PointLen // serialized verifier w0 || L
)

// PBKDF parameter limits (spec 3.9 / 5.1.7; connectedhomeip
// src/crypto/CHIPCryptoPAL.h kSpake2p_Min_PBKDF_Iterations and friends).
const (
	MinIterations = 1000
	MaxIterations = 100000
	MinSaltLen    = 16
	MaxSaltLen    = 32
)

// Passcode range (spec 5.1.7.1): a 27-bit field holding 1..99999998.
const (
	MinPasscode = 1
	MaxPasscode = 99999998
)

// Scalar is an integer modulo the P-256 group order n, 32 bytes big-endian.
// The zero value is the scalar 0.
type Scalar [ScalarLen]byte

// Point is an uncompressed P-256 point, 0x04 || x || y.
type Point [PointLen]byte

// Verifier is what a device stores for PASE instead of the passcode:
// w0 and L = w1·G (spec 3.10; connectedhomeip Spake2pVerifier). Its zero
// value is not a valid verifier.
type Verifier struct {
	W0 Scalar
	L  Point
}

// The SPAKE2+ P-256 constants M and N (draft-bar-cfrg-spake2plus-01 §4;
// connectedhomeip src/crypto/CHIPCryptoPAL.h spake2p_M_p256/spake2p_N_p256).
const (
	hexM = "04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f" +
		"5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20"
	hexN = "04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49" +
		"07d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7"
	hexOrder = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
)

var (
	pointM, pointN Point
	order          Scalar // n, big-endian
	orderBig       *big.Int
	mPt, nPt       *nistec.P256Point
)

func init() {
	mustHex(pointM[:], hexM)
	mustHex(pointN[:], hexN)
	mustHex(order[:], hexOrder)
	orderBig = new(big.Int).SetBytes(order[:])
	var err error
	if mPt, err = nistec.NewP256Point().SetBytes(pointM[:]); err != nil {
		panic("spake2p: bad constant M")
	}
	if nPt, err = nistec.NewP256Point().SetBytes(pointN[:]); err != nil {
		panic("spake2p: bad constant N")
	}
}

func mustHex(dst []byte, s string) {
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		panic("spake2p: bad constant " + s)
	}
}

// M returns the SPAKE2+ constant point M.
func M() Point { return pointM }

// N returns the SPAKE2+ constant point N.
func N() Point { return pointN }

// CheckPasscode enforces spec 5.1.7.1: 1..99999998, and none of the trivial
// codes 00000000, 11111111, …, 99999999, 12345678, 87654321
// (connectedhomeip src/setup_payload/SetupPayload.cpp IsValidSetupPIN).
func CheckPasscode(p uint32) error {
	if p < MinPasscode || p > MaxPasscode {
		return &PasscodeError{Passcode: p, Reason: "outside 1..99999998"}
	}
	switch p {
	case 11111111, 22222222, 33333333, 44444444, 55555555,
		66666666, 77777777, 88888888, 12345678, 87654321:
		return &PasscodeError{Passcode: p, Reason: "trivial passcode"}
	}
	return nil
}

// CheckPBKDFParams enforces the iteration range 1000..100000 and the salt
// length 16..32 bytes (spec 3.9; connectedhomeip Spake2pVerifier::ComputeWS).
func CheckPBKDFParams(iterations int, salt []byte) error {
	if iterations < MinIterations || iterations > MaxIterations {
		return &ParamError{Param: "iterations", Value: iterations, Min: MinIterations, Max: MaxIterations}
	}
	if len(salt) < MinSaltLen || len(salt) > MaxSaltLen {
		return &ParamError{Param: "salt length", Value: len(salt), Min: MinSaltLen, Max: MaxSaltLen}
	}
	return nil
}

// ComputeWS runs PBKDF2-HMAC-SHA256 over the passcode as a 4-byte
// little-endian integer and returns the 80-byte w0s || w1s (spec 3.10).
// It checks the passcode and the PBKDF parameters first.
func ComputeWS(passcode uint32, salt []byte, iterations int) ([2 * WSLen]byte, error) {
	var ws [2 * WSLen]byte
	if err := CheckPasscode(passcode); err != nil {
		return ws, err
	}
	if err := CheckPBKDFParams(iterations, salt); err != nil {
		return ws, err
	}
	var pw [4]byte
	binary.LittleEndian.PutUint32(pw[:], passcode)
	out, err := pbkdf2.Key(sha256.New, string(pw[:]), salt, iterations, len(ws))
	if err != nil {
		return ws, fmt.Errorf("spake2p: pbkdf2: %w", err)
	}
	copy(ws[:], out)
	return ws, nil
}

// ComputeW0W1 derives the prover's secrets: w0 = w0s mod n, w1 = w1s mod n
// (spec 3.10; the 40-byte halves are reduced as big-endian integers).
func ComputeW0W1(passcode uint32, salt []byte, iterations int) (w0, w1 Scalar, err error) {
	ws, err := ComputeWS(passcode, salt, iterations)
	if err != nil {
		return w0, w1, err
	}
	return ReduceWide(ws[:WSLen]), ReduceWide(ws[WSLen:]), nil
}

// ComputeVerifier derives the device's verifier record (w0, L = w1·G) from
// a passcode. The device keeps only the result, never the passcode.
func ComputeVerifier(passcode uint32, salt []byte, iterations int) (Verifier, error) {
	w0, w1, err := ComputeW0W1(passcode, salt, iterations)
	if err != nil {
		return Verifier{}, err
	}
	return VerifierFromW0W1(w0, w1)
}

// VerifierFromW0W1 computes L = w1·G and returns (w0, L).
func VerifierFromW0W1(w0, w1 Scalar) (Verifier, error) {
	p, err := nistec.NewP256Point().ScalarBaseMult(w1[:])
	if err != nil {
		return Verifier{}, err
	}
	if p.IsInfinity() == 1 {
		return Verifier{}, fmt.Errorf("spake2p: L: %w", ErrIdentityPoint)
	}
	v := Verifier{W0: w0}
	copy(v.L[:], p.Bytes())
	return v, nil
}

// AppendBinary appends the 97-byte serialization w0 || L
// (connectedhomeip Spake2pVerifier::Serialize).
func (v Verifier) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, v.W0[:]...)
	return append(b, v.L[:]...), nil
}

// ParseVerifier decodes w0 || L, checking that w0 < n and that L is a
// valid point other than the identity.
func ParseVerifier(b []byte) (Verifier, error) {
	var v Verifier
	if len(b) != VerifierLen {
		return v, fmt.Errorf("spake2p: verifier is %d bytes, want %d: %w", len(b), VerifierLen, ErrInvalidLength)
	}
	w0, err := ScalarFromBytes(b[:ScalarLen])
	if err != nil {
		return v, err
	}
	if _, err := decodePoint(b[ScalarLen:]); err != nil {
		return v, fmt.Errorf("spake2p: L: %w", err)
	}
	v.W0 = w0
	copy(v.L[:], b[ScalarLen:])
	return v, nil
}

// ReduceWide reduces a big-endian integer of any length modulo n.
func ReduceWide(b []byte) Scalar {
	var s Scalar
	new(big.Int).Mod(new(big.Int).SetBytes(b), orderBig).FillBytes(s[:])
	return s
}

// ScalarFromBytes accepts exactly 32 big-endian bytes below n.
func ScalarFromBytes(b []byte) (Scalar, error) {
	var s Scalar
	if len(b) != ScalarLen {
		return s, fmt.Errorf("spake2p: scalar is %d bytes, want %d: %w", len(b), ScalarLen, ErrInvalidLength)
	}
	if bytes.Compare(b, order[:]) >= 0 {
		return s, ErrInvalidScalar
	}
	copy(s[:], b)
	return s, nil
}

// maxDraws bounds rejection sampling. A uniform 256-bit draw is >= n with
// probability below 2^-32, so 64 rejections in a row mean a broken reader.
const maxDraws = 64

// RandomScalar draws a scalar uniformly from [1, n-1] by rejection sampling
// 32-byte big-endian values from r. (Go's ecdsa/ecdh key generation ignores
// a caller's reader, so it cannot serve deterministic simulations.)
func RandomScalar(r io.Reader) (Scalar, error) {
	var s Scalar
	var zero Scalar
	for range maxDraws {
		if _, err := io.ReadFull(r, s[:]); err != nil {
			return Scalar{}, fmt.Errorf("spake2p: reading random scalar: %w", err)
		}
		if s != zero && bytes.Compare(s[:], order[:]) < 0 {
			return s, nil
		}
	}
	return Scalar{}, ErrRandomExhausted
}

// decodePoint parses a 65-byte uncompressed point, rejecting other
// encodings, points off the curve and the identity (spec 3.10: each party
// verifies the peer's share; connectedhomeip Spake2p::PointIsValid).
func decodePoint(b []byte) (*nistec.P256Point, error) {
	if len(b) != PointLen {
		return nil, fmt.Errorf("%d bytes, want %d: %w", len(b), PointLen, ErrInvalidPoint)
	}
	if b[0] != 4 {
		return nil, fmt.Errorf("prefix 0x%02x, want 0x04: %w", b[0], ErrInvalidPoint)
	}
	p, err := nistec.NewP256Point().SetBytes(b)
	if err != nil {
		return nil, fmt.Errorf("not on the curve: %w", ErrInvalidPoint)
	}
	if p.IsInfinity() == 1 {
		return nil, ErrIdentityPoint
	}
	return p, nil
}

// CheckPoint reports whether b is a valid uncompressed P-256 point other
// than the identity.
func CheckPoint(b []byte) error {
	_, err := decodePoint(b)
	return err
}

func toPoint(p *nistec.P256Point) (Point, error) {
	var out Point
	if p.IsInfinity() == 1 {
		return out, ErrIdentityPoint
	}
	copy(out[:], p.Bytes())
	return out, nil
}

// share computes s·G + w0·K.
func share(s, w0 Scalar, k *nistec.P256Point) (Point, error) {
	if s == (Scalar{}) {
		return Point{}, ErrInvalidScalar
	}
	a, err := nistec.NewP256Point().ScalarBaseMult(s[:])
	if err != nil {
		return Point{}, err
	}
	b, err := nistec.NewP256Point().ScalarMult(k, w0[:])
	if err != nil {
		return Point{}, err
	}
	return toPoint(a.Add(a, b))
}

// ProverShare returns X = x·G + w0·M, the prover's share pA (spec 3.10).
func ProverShare(x, w0 Scalar) (Point, error) { return share(x, w0, mPt) }

// VerifierShare returns Y = y·G + w0·N, the verifier's share pB (spec 3.10).
func VerifierShare(y, w0 Scalar) (Point, error) { return share(y, w0, nPt) }

// unblind parses the peer's share P and returns P − w0·K, rejecting an
// invalid share and a result at the identity.
func unblind(peer []byte, w0 Scalar, k *nistec.P256Point) (*nistec.P256Point, error) {
	p, err := decodePoint(peer)
	if err != nil {
		return nil, err
	}
	t, err := nistec.NewP256Point().ScalarMult(k, w0[:])
	if err != nil {
		return nil, err
	}
	t.Negate(t)
	t.Add(p, t)
	if t.IsInfinity() == 1 {
		return nil, ErrIdentityPoint
	}
	return t, nil
}

func mul(p *nistec.P256Point, s Scalar) (Point, error) {
	r, err := nistec.NewP256Point().ScalarMult(p, s[:])
	if err != nil {
		return Point{}, err
	}
	return toPoint(r)
}

// ProverSecrets validates the verifier's share Y and returns
// Z = x·(Y − w0·N) and V = w1·(Y − w0·N) (spec 3.10).
func ProverSecrets(x, w0, w1 Scalar, y []byte) (z, v Point, err error) {
	t, err := unblind(y, w0, nPt)
	if err != nil {
		return z, v, fmt.Errorf("spake2p: share Y: %w", err)
	}
	if z, err = mul(t, x); err != nil {
		return z, v, fmt.Errorf("spake2p: Z: %w", err)
	}
	if v, err = mul(t, w1); err != nil {
		return z, v, fmt.Errorf("spake2p: V: %w", err)
	}
	return z, v, nil
}

// VerifierSecrets validates the prover's share X and returns
// Z = y·(X − w0·M) and V = y·L (spec 3.10), with w0 and L from ver.
func VerifierSecrets(y Scalar, ver Verifier, x []byte) (z, v Point, err error) {
	t, err := unblind(x, ver.W0, mPt)
	if err != nil {
		return z, v, fmt.Errorf("spake2p: share X: %w", err)
	}
	if z, err = mul(t, y); err != nil {
		return z, v, fmt.Errorf("spake2p: Z: %w", err)
	}
	lp, err := decodePoint(ver.L[:])
	if err != nil {
		return z, v, fmt.Errorf("spake2p: L: %w", err)
	}
	if v, err = mul(lp, y); err != nil {
		return z, v, fmt.Errorf("spake2p: V: %w", err)
	}
	return z, v, nil
}

// Transcript holds the inputs of TT (spec 3.10; draft-01 §3.3). Matter's
// PASE uses empty identities and Context = SHA-256("CHIP PAKE V1
// Commissioning" || PBKDFParamRequest || PBKDFParamResponse).
type Transcript struct {
	Context    []byte
	IDProver   []byte
	IDVerifier []byte
	X, Y, Z, V Point
	W0         Scalar
}

// Sum returns SHA-256(TT), where TT concatenates Context, idProver,
// idVerifier, M, N, X, Y, Z, V, w0, each preceded by its length as an
// 8-byte little-endian integer (connectedhomeip Spake2p::InternalHash).
func (t *Transcript) Sum() [sha256.Size]byte {
	h := sha256.New()
	put := func(b []byte) {
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	put(t.Context)
	put(t.IDProver)
	put(t.IDVerifier)
	put(pointM[:])
	put(pointN[:])
	put(t.X[:])
	put(t.Y[:])
	put(t.Z[:])
	put(t.V[:])
	put(t.W0[:])
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// Keys are the draft-01 key schedule outputs: K = SHA-256(TT) split
// Ka || Ke, and KcA || KcB = HKDF-SHA256(Ka, salt empty, "ConfirmationKeys").
type Keys struct {
	Ka, Ke   [16]byte
	KcA, KcB [16]byte
}

// InfoConfirmationKeys is the HKDF info of the confirmation keys.
const InfoConfirmationKeys = "ConfirmationKeys"

// DeriveKeys runs the key schedule over K = SHA-256(TT)
// (connectedhomeip Spake2p::GenerateKeys).
func DeriveKeys(k [sha256.Size]byte) Keys {
	var out Keys
	copy(out.Ka[:], k[:16])
	copy(out.Ke[:], k[16:])
	kc, err := hkdf.Key(sha256.New, out.Ka[:], nil, InfoConfirmationKeys, 32)
	if err != nil { // only for lengths above 255*32
		panic("spake2p: hkdf: " + err.Error())
	}
	copy(out.KcA[:], kc[:16])
	copy(out.KcB[:], kc[16:])
	return out
}

func mac(key []byte, p Point) [ConfirmLen]byte {
	m := hmac.New(sha256.New, key)
	m.Write(p[:])
	var out [ConfirmLen]byte
	m.Sum(out[:0])
	return out
}

// ConfirmA returns cA = HMAC-SHA256(KcA, Y), sent by the prover in Pake3.
func (k *Keys) ConfirmA(y Point) [ConfirmLen]byte { return mac(k.KcA[:], y) }

// ConfirmB returns cB = HMAC-SHA256(KcB, X), sent by the verifier in Pake2.
func (k *Keys) ConfirmB(x Point) [ConfirmLen]byte { return mac(k.KcB[:], x) }

// VerifyA checks the prover's cA in constant time.
func (k *Keys) VerifyA(y Point, cA []byte) error {
	want := k.ConfirmA(y)
	if len(cA) != ConfirmLen || subtle.ConstantTimeCompare(want[:], cA) != 1 {
		return ErrConfirmation
	}
	return nil
}

// VerifyB checks the verifier's cB in constant time.
func (k *Keys) VerifyB(x Point, cB []byte) error {
	want := k.ConfirmB(x)
	if len(cB) != ConfirmLen || subtle.ConstantTimeCompare(want[:], cB) != 1 {
		return ErrConfirmation
	}
	return nil
}
