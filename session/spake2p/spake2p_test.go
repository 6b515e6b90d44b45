package spake2p

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// loadBlocks reads a "key = value" file with blank-line separated blocks.
func loadBlocks(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "bad line %q", line)
		cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	require.NoError(t, sc.Err())
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err, s)
	return b
}

func scalar(t *testing.T, s string) Scalar {
	t.Helper()
	v, err := ScalarFromBytes(unhex(t, s))
	require.NoError(t, err)
	return v
}

func point(t *testing.T, s string) Point {
	t.Helper()
	b := unhex(t, s)
	require.Len(t, b, PointLen)
	require.NoError(t, CheckPoint(b))
	return Point(b)
}

// TestDraft01Vectors runs every SDK SPAKE2+ vector through both roles:
// shares, Z/V on each side, TT with the vector's identities, key schedule
// and confirmation MACs.
func TestDraft01Vectors(t *testing.T) {
	vs := loadBlocks(t, "testdata/draft01_vectors.txt")
	require.Len(t, vs, 4)
	for i, v := range vs {
		w0, w1 := scalar(t, v["w0"]), scalar(t, v["w1"])
		x, y := scalar(t, v["x"]), scalar(t, v["y"])
		wantX, wantY := point(t, v["X"]), point(t, v["Y"])

		ver, err := VerifierFromW0W1(w0, w1)
		require.NoError(t, err)
		require.Equal(t, point(t, v["L"]), ver.L, "vector %d L", i)

		gotX, err := ProverShare(x, w0)
		require.NoError(t, err)
		require.Equal(t, wantX, gotX, "vector %d X", i)
		gotY, err := VerifierShare(y, w0)
		require.NoError(t, err)
		require.Equal(t, wantY, gotY, "vector %d Y", i)

		pz, pv, err := ProverSecrets(x, w0, w1, gotY[:])
		require.NoError(t, err)
		vz, vv, err := VerifierSecrets(y, ver, gotX[:])
		require.NoError(t, err)
		require.Equal(t, point(t, v["Z"]), pz, "vector %d Z (prover)", i)
		require.Equal(t, point(t, v["V"]), pv, "vector %d V (prover)", i)
		require.Equal(t, pz, vz)
		require.Equal(t, pv, vv)

		tt := Transcript{
			Context: []byte(v["context"]), IDProver: []byte(v["idProver"]), IDVerifier: []byte(v["idVerifier"]),
			X: gotX, Y: gotY, Z: pz, V: pv, W0: w0,
		}
		k := DeriveKeys(tt.Sum())
		require.Equal(t, unhex(t, v["Ka"]), k.Ka[:], "vector %d Ka", i)
		require.Equal(t, unhex(t, v["Ke"]), k.Ke[:], "vector %d Ke", i)
		require.Equal(t, unhex(t, v["KcA"]), k.KcA[:], "vector %d KcA", i)
		require.Equal(t, unhex(t, v["KcB"]), k.KcB[:], "vector %d KcB", i)
		cA, cB := k.ConfirmA(gotY), k.ConfirmB(gotX)
		require.Equal(t, unhex(t, v["MAC_KcA"]), cA[:], "vector %d cA", i)
		require.Equal(t, unhex(t, v["MAC_KcB"]), cB[:], "vector %d cB", i)
		require.NoError(t, k.VerifyA(gotY, cA[:]))
		require.NoError(t, k.VerifyB(gotX, cB[:]))
		cA[0] ^= 1
		require.ErrorIs(t, k.VerifyA(gotY, cA[:]), ErrConfirmation)
		require.ErrorIs(t, k.VerifyB(gotX, cB[:31]), ErrConfirmation)
	}
}

// TestIdentityPrefixMatters: swapping the identities must change TT (the
// length prefixes keep "client"/"" distinct from ""/"client").
func TestIdentityPrefixMatters(t *testing.T) {
	a := Transcript{Context: []byte("c"), IDProver: []byte("client")}
	b := Transcript{Context: []byte("c"), IDVerifier: []byte("client")}
	require.NotEqual(t, a.Sum(), b.Sum())
}

func TestVerifierVector(t *testing.T) {
	vs := loadBlocks(t, "testdata/verifier_vectors.txt")
	require.NotEmpty(t, vs)
	for _, v := range vs {
		var pc uint32
		for _, c := range v["passcode"] {
			pc = pc*10 + uint32(c-'0')
		}
		salt := unhex(t, v["salt"])
		iters := 0
		for _, c := range v["iterations"] {
			iters = iters*10 + int(c-'0')
		}
		ws, err := ComputeWS(pc, salt, iters)
		require.NoError(t, err)
		require.Equal(t, unhex(t, v["ws"]), ws[:])
		w0, w1, err := ComputeW0W1(pc, salt, iters)
		require.NoError(t, err)
		require.Equal(t, unhex(t, v["w0"]), w0[:])
		require.Equal(t, unhex(t, v["w1"]), w1[:])
		ver, err := ComputeVerifier(pc, salt, iters)
		require.NoError(t, err)
		require.Equal(t, unhex(t, v["L"]), ver.L[:])

		ser, err := ver.AppendBinary(nil)
		require.NoError(t, err)
		require.Len(t, ser, VerifierLen)
		back, err := ParseVerifier(ser)
		require.NoError(t, err)
		require.Equal(t, ver, back)
	}
}

func TestCheckPasscode(t *testing.T) {
	for i, tc := range []struct {
		p  uint32
		ok bool
	}{
		{0, false}, {1, true}, {2, true}, {20202021, true}, {99999998, true},
		{99999999, false}, {100000000, false}, {0x7FFFFFF, false}, {0xFFFFFFFF, false},
		{11111111, false}, {22222222, false}, {33333333, false}, {44444444, false},
		{55555555, false}, {66666666, false}, {77777777, false}, {88888888, false},
		{12345678, false}, {87654321, false}, {12345679, true}, {11111112, true},
		{1111111, true}, // 7 digits: 01111111 is not a repeated code
	} {
		err := CheckPasscode(tc.p)
		if tc.ok {
			require.NoError(t, err, "case %d passcode %d", i, tc.p)
			continue
		}
		var pe *PasscodeError
		require.ErrorAs(t, err, &pe, "case %d passcode %d", i, tc.p)
		require.Equal(t, tc.p, pe.Passcode)
	}
}

func TestCheckPBKDFParams(t *testing.T) {
	salt := func(n int) []byte { return make([]byte, n) }
	for i, tc := range []struct {
		it    int
		salt  int
		param string
	}{
		{1000, 16, ""}, {100000, 32, ""}, {5000, 24, ""},
		{999, 16, "iterations"}, {100001, 16, "iterations"}, {0, 16, "iterations"}, {-1, 16, "iterations"},
		{1000, 15, "salt length"}, {1000, 33, "salt length"}, {1000, 0, "salt length"},
	} {
		err := CheckPBKDFParams(tc.it, salt(tc.salt))
		if tc.param == "" {
			require.NoError(t, err, "case %d", i)
			continue
		}
		var pe *ParamError
		require.ErrorAs(t, err, &pe, "case %d", i)
		require.Equal(t, tc.param, pe.Param)
		// ComputeVerifier enforces the same rules.
		_, err = ComputeVerifier(20202021, salt(tc.salt), tc.it)
		require.ErrorAs(t, err, &pe, "case %d", i)
	}
	_, err := ComputeVerifier(12345678, salt(16), 1000)
	var pce *PasscodeError
	require.ErrorAs(t, err, &pce)
}

func TestInvalidPoints(t *testing.T) {
	w0 := ReduceWide([]byte{7})
	w1 := ReduceWide([]byte{9})
	x := ReduceWide([]byte{11})
	ver, err := VerifierFromW0W1(w0, w1)
	require.NoError(t, err)

	good, err := ProverShare(x, w0)
	require.NoError(t, err)
	offCurve := good
	offCurve[64] ^= 1
	compressed := append([]byte{2 + good[64]&1}, good[1:33]...)
	// X = w0·M makes X − w0·M the identity: a verifier must refuse it.
	w0M, err := mul(mPt, w0)
	require.NoError(t, err)

	for i, tc := range []struct {
		b    []byte
		want error
	}{
		{nil, ErrInvalidPoint},
		{[]byte{0}, ErrInvalidPoint},
		{good[:64], ErrInvalidPoint},
		{append(good[:], 0), ErrInvalidPoint},
		{compressed, ErrInvalidPoint},
		{offCurve[:], ErrInvalidPoint},
		{make([]byte, 65), ErrInvalidPoint},
		{append([]byte{4}, make([]byte, 64)...), ErrInvalidPoint},
		{w0M[:], ErrIdentityPoint},
	} {
		_, _, err := VerifierSecrets(x, ver, tc.b)
		require.ErrorIs(t, err, tc.want, "case %d", i)
		if i < 8 {
			_, _, err = ProverSecrets(x, w0, w1, tc.b)
			require.ErrorIs(t, err, tc.want, "case %d", i)
		}
	}
	_, err = ParseVerifier(append(w0[:], offCurve[:]...))
	require.ErrorIs(t, err, ErrInvalidPoint)
	_, err = ParseVerifier(append(order[:], good[:]...))
	require.ErrorIs(t, err, ErrInvalidScalar)
	_, err = ParseVerifier(good[:])
	require.ErrorIs(t, err, ErrInvalidLength)
}

func TestRandomScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return len(p), nil
	})
	seen := map[Scalar]bool{}
	for range 50 {
		s, err := RandomScalar(src)
		require.NoError(t, err)
		require.NotEqual(t, Scalar{}, s)
		require.Negative(t, bytes.Compare(s[:], order[:]))
		seen[s] = true
	}
	require.Len(t, seen, 50)

	// Rejection sampling: all-0xFF (>= n) and zero are skipped.
	seq := append(bytes.Repeat([]byte{0xFF}, 32), make([]byte, 32)...)
	seq = append(seq, bytes.Repeat([]byte{0x01}, 32)...)
	s, err := RandomScalar(bytes.NewReader(seq))
	require.NoError(t, err)
	require.Equal(t, Scalar(bytes.Repeat([]byte{1}, 32)), s)

	_, err = RandomScalar(bytes.NewReader(bytes.Repeat([]byte{0xFF}, 32*maxDraws)))
	require.ErrorIs(t, err, ErrRandomExhausted)
	_, err = RandomScalar(bytes.NewReader([]byte{1, 2, 3}))
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrRandomExhausted))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestRoundTripRandom: both roles agree for random passcode-derived secrets,
// and a wrong w0/w1 on the prover side makes the confirmations fail.
func TestRoundTripRandom(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	for i := range 5 {
		w0, _ := RandomScalar(r)
		w1, _ := RandomScalar(r)
		x, _ := RandomScalar(r)
		y, _ := RandomScalar(r)
		ver, err := VerifierFromW0W1(w0, w1)
		require.NoError(t, err)
		pw0, pw1 := w0, w1
		wrong := i%2 == 1
		if wrong {
			pw1 = ReduceWide(append(w1[:], 1))
		}
		X, err := ProverShare(x, pw0)
		require.NoError(t, err)
		Y, err := VerifierShare(y, w0)
		require.NoError(t, err)
		pz, pv, err := ProverSecrets(x, pw0, pw1, Y[:])
		require.NoError(t, err)
		vz, vv, err := VerifierSecrets(y, ver, X[:])
		require.NoError(t, err)
		kp := DeriveKeys((&Transcript{X: X, Y: Y, Z: pz, V: pv, W0: pw0}).Sum())
		kv := DeriveKeys((&Transcript{X: X, Y: Y, Z: vz, V: vv, W0: w0}).Sum())
		cA := kp.ConfirmA(Y)
		if wrong {
			require.ErrorIs(t, kv.VerifyA(Y, cA[:]), ErrConfirmation)
		} else {
			require.NoError(t, kv.VerifyA(Y, cA[:]))
			require.Equal(t, kp, kv)
		}
	}
}
