package pase

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIndependentTranscript replays testdata/independent_transcript.txt,
// produced with an independent Python prover: both Go roles, given the same
// randomness, must emit exactly the recorded bytes and derive the recorded
// keys.
func TestIndependentTranscript(t *testing.T) {
	f, err := os.Open("testdata/independent_transcript.txt")
	require.NoError(t, err)
	defer f.Close()
	v := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), " = ")
		if !ok || strings.HasPrefix(k, "#") || strings.HasSuffix(k, "SessionID") {
			continue
		}
		b, err := hex.DecodeString(val)
		require.NoError(t, err, k)
		v[k] = b
	}
	ini, err := NewInitiator(InitiatorConfig{Passcode: testPasscode, LocalSessionID: 0x4321,
		Rand: bytes.NewReader(v["initiatorRand"])})
	require.NoError(t, err)
	resp, err := NewResponder(ResponderConfig{Verifier: testVerifier, Salt: testSalt, Iterations: testIterations,
		LocalSessionID: 0x2222, Rand: bytes.NewReader(v["responderRand"])})
	require.NoError(t, err)

	steps := []struct {
		want string
		run  func(in []byte) (Output, error)
		in   string
	}{
		{"request", func([]byte) (Output, error) { return ini.Start(0) }, ""},
		{"response", func(b []byte) (Output, error) { return resp.Handle(0, OpPBKDFParamRequest, b) }, "request"},
		{"pake1", func(b []byte) (Output, error) { return ini.Handle(0, OpPBKDFParamResponse, b) }, "response"},
		{"pake2", func(b []byte) (Output, error) { return resp.Handle(0, OpPake1, b) }, "pake1"},
		{"pake3", func(b []byte) (Output, error) { return ini.Handle(0, OpPake2, b) }, "pake2"},
	}
	for _, s := range steps {
		out, err := s.run(v[s.in])
		require.NoError(t, err, s.want)
		require.Equal(t, hex.EncodeToString(v[s.want]), hex.EncodeToString(out.Payload), s.want)
	}
	out, err := resp.Handle(0, OpPake3, v["pake3"])
	require.NoError(t, err)
	require.True(t, out.Done)
	out, err = ini.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	require.True(t, out.Done)
	for _, r := range []func() (Result, bool){ini.Result, resp.Result} {
		res, ok := r()
		require.True(t, ok)
		require.Equal(t, v["I2R"], res.I2RKey[:])
		require.Equal(t, v["R2I"], res.R2IKey[:])
		require.Equal(t, v["challenge"], res.AttestationChallenge[:])
	}
}
