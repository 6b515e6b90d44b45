package pase

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/params"
	"mattersim/session/spake2p"
	"mattersim/session/status"
	"mattersim/tlv"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testPasscode = 20202021

var testSalt = []byte("SPAKE2P Key Salt")

const testIterations = 1000

var testVerifier = func() spake2p.Verifier {
	v, err := spake2p.ComputeVerifier(testPasscode, testSalt, testIterations)
	if err != nil {
		panic(err)
	}
	return v
}()

// present returns p with fields fs marked present: only present fields
// are sent (params.Params).
func present(p SessionParams, fs ...params.Field) *SessionParams {
	for _, f := range fs {
		p.Set(f)
	}
	return &p
}

func seeded(seed byte) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{seed}) }

func newPair(t testing.TB, passcode uint32, seed byte, mutI func(*InitiatorConfig), mutR func(*ResponderConfig)) (*Initiator, *Responder) {
	ic := InitiatorConfig{Passcode: passcode, LocalSessionID: 0x1111, Rand: seeded(seed),
		Params: present(SessionParams{IdleInterval: 5000 * time.Millisecond, ActiveInterval: 300 * time.Millisecond},
			params.IdleInterval, params.ActiveInterval)}
	rc := ResponderConfig{Verifier: testVerifier, Salt: testSalt, Iterations: testIterations,
		LocalSessionID: 0x2222, Rand: seeded(seed + 100),
		Params: present(SessionParams{IdleInterval: 500 * time.Millisecond, ActiveInterval: 300 * time.Millisecond,
			ActiveThreshold: 4 * time.Second, SpecificationVersion: 0x01040000},
			params.IdleInterval, params.ActiveInterval, params.ActiveThreshold, params.SpecificationVersion)}
	if mutI != nil {
		mutI(&ic)
	}
	if mutR != nil {
		mutR(&rc)
	}
	ini, err := NewInitiator(ic)
	require.NoError(t, err)
	resp, err := NewResponder(rc)
	require.NoError(t, err)
	return ini, resp
}

type wireMsg struct {
	from    string
	opcode  uint8
	payload []byte
}

// drive runs the handshake in-process until nobody has anything to send.
// It returns the messages and the last error of each side.
func drive(t testing.TB, ini *Initiator, resp *Responder, now clock.Time) (msgs []wireMsg, iErr, rErr error) {
	out, err := ini.Start(now)
	require.NoError(t, err)
	for out.Send {
		msgs = append(msgs, wireMsg{"I", out.Opcode, out.Payload})
		out, rErr = resp.Handle(now, out.Opcode, out.Payload)
		if !out.Send {
			break
		}
		msgs = append(msgs, wireMsg{"R", out.Opcode, out.Payload})
		out, iErr = ini.Handle(now, out.Opcode, out.Payload)
	}
	return msgs, iErr, rErr
}

func TestHandshakeKeysAgree(t *testing.T) {
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("hasPBKDFParameters=%v", known), func(t *testing.T) {
			ini, resp := newPair(t, testPasscode, 1, func(c *InitiatorConfig) {
				if known {
					c.PBKDF = &PBKDFParams{Iterations: testIterations, Salt: testSalt}
				}
			}, nil)
			msgs, iErr, rErr := drive(t, ini, resp, 0)
			require.NoError(t, iErr)
			require.NoError(t, rErr)
			require.Len(t, msgs, 6)
			ops := []uint8{OpPBKDFParamRequest, OpPBKDFParamResponse, OpPake1, OpPake2, OpPake3, OpStatusReport}
			for k, m := range msgs {
				require.Equal(t, ops[k], m.opcode, "message %d", k)
			}
			require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0}, msgs[5].payload)
			var pr PBKDFParamResponse
			require.NoError(t, pr.Decode(msgs[1].payload))
			// Spec 4.14.1.2: pbkdf_parameters iff the initiator lacks them.
			require.Equal(t, known, pr.PBKDF == nil)

			ri, ok := ini.Result()
			require.True(t, ok)
			rr, ok := resp.Result()
			require.True(t, ok)
			require.Equal(t, ri.I2RKey, rr.I2RKey)
			require.Equal(t, ri.R2IKey, rr.R2IKey)
			require.Equal(t, ri.AttestationChallenge, rr.AttestationChallenge)
			require.NotEqual(t, ri.I2RKey, ri.R2IKey)
			require.Equal(t, uint16(0x1111), ri.LocalSessionID)
			require.Equal(t, uint16(0x2222), ri.PeerSessionID)
			require.Equal(t, uint16(0x2222), rr.LocalSessionID)
			require.Equal(t, uint16(0x1111), rr.PeerSessionID)
			require.Equal(t, 5000*time.Millisecond, rr.PeerParams.IdleInterval)
			require.Equal(t, uint32(0x01040000), ri.PeerParams.SpecificationVersion)
			require.Equal(t, StateEstablished, ini.State())
			require.Equal(t, StateEstablished, resp.State())
			require.Equal(t, clock.Never, ini.Deadline())
			require.Equal(t, clock.Never, resp.Deadline())
		})
	}
}

// TestGoldenTranscript pins the message bytes and keys of a fixed-seed run.
// Regenerate with: go test ./session/pase -run TestGoldenTranscript -update
func TestGoldenTranscript(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 7, nil, nil)
	msgs, iErr, rErr := drive(t, ini, resp, 0)
	require.NoError(t, iErr)
	require.NoError(t, rErr)
	res, ok := ini.Result()
	require.True(t, ok)
	var b strings.Builder
	b.WriteString("# PASE transcript, passcode 20202021, salt \"SPAKE2P Key Salt\", 1000 iterations,\n")
	b.WriteString("# initiator Rand = ChaCha8(seed 7), responder Rand = ChaCha8(seed 107). Generated by TestGoldenTranscript.\n")
	for _, m := range msgs {
		fmt.Fprintf(&b, "%s %s %x\n", m.from, opName(m.opcode), m.payload)
	}
	fmt.Fprintf(&b, "I2R %x\nR2I %x\nchallenge %x\n", res.I2RKey, res.R2IKey, res.AttestationChallenge)
	const path = "testdata/transcript.golden"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())
}

// TestInteropMinimalRequest: the smallest request that worked against
// matter.js (docs/interop.md §3) decodes, and the responder answers
// it with the PBKDF parameters.
func TestInteropMinimalRequest(t *testing.T) {
	rnd := bytes.Repeat([]byte{0xA5}, 32)
	p := append([]byte{0x15, 0x30, 0x01, 0x20}, rnd...)
	p = append(p, 0x25, 0x02, 0x34, 0x12, 0x24, 0x03, 0x00, 0x28, 0x04, 0x18)
	require.Len(t, p, 46)
	var req PBKDFParamRequest
	require.NoError(t, req.Decode(p))
	require.Equal(t, rnd, req.InitiatorRandom[:])
	require.Equal(t, uint16(0x1234), req.InitiatorSessionID)
	require.Zero(t, req.PasscodeID)
	require.False(t, req.HasPBKDFParameters)
	require.Nil(t, req.Params)
	// Our encoder produces the same bytes for the same message.
	require.Equal(t, p, req.Append(nil))

	_, resp := newPair(t, testPasscode, 1, nil, nil)
	out, err := resp.Handle(0, OpPBKDFParamRequest, p)
	require.NoError(t, err)
	var pr PBKDFParamResponse
	require.NoError(t, pr.Decode(out.Payload))
	require.Equal(t, rnd, pr.InitiatorRandom[:])
	require.NotNil(t, pr.PBKDF)
	require.Equal(t, uint32(testIterations), pr.PBKDF.Iterations)
	require.Equal(t, testSalt, pr.PBKDF.Salt)
}

// TestMatterJSStyleResponse: a response shaped like matter.js's (iterations
// as u16, session parameters with tags 1-8, smallest integer widths)
// decodes and drives the initiator.
func TestMatterJSStyleResponse(t *testing.T) {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tlv.ContextTag(1), make([]byte, 32))
	w.PutBytes(tlv.ContextTag(2), bytes.Repeat([]byte{1}, 32))
	w.PutUintWidth(tlv.ContextTag(3), 7, 8) // any width
	w.StartStruct(tlv.ContextTag(4))
	w.PutUintWidth(tlv.ContextTag(1), 1000, 2)
	w.PutBytes(tlv.ContextTag(2), bytes.Repeat([]byte{9}, 32))
	w.EndContainer()
	w.StartStruct(tlv.ContextTag(5))
	w.PutUint(tlv.ContextTag(1), 500)
	w.PutUint(tlv.ContextTag(2), 300)
	w.PutUint(tlv.ContextTag(3), 4000)
	w.PutUint(tlv.ContextTag(4), 18)
	w.PutUint(tlv.ContextTag(5), 12)
	w.PutUint(tlv.ContextTag(6), 0x01060000)
	w.PutUint(tlv.ContextTag(7), 1)
	w.PutUint(tlv.ContextTag(8), 0)
	w.PutUint(tlv.ContextTag(30), 99)         // unknown future tag
	w.PutString(tlv.ContextTag(31), "future") // unknown, other type
	w.EndContainer()
	w.PutBool(tlv.ContextTag(9), true) // unknown top-level tag
	w.EndContainer()
	var pr PBKDFParamResponse
	require.NoError(t, pr.Decode(w.Bytes()))
	require.Equal(t, uint16(7), pr.ResponderSessionID)
	require.Equal(t, uint32(1000), pr.PBKDF.Iterations)
	require.Equal(t, 4000*time.Millisecond, pr.Params.ActiveThreshold)
	require.Equal(t, uint32(0x01060000), pr.Params.SpecificationVersion)
	require.True(t, pr.Params.Has(params.SupportedTransports), "a zero value sent is present")
	require.False(t, pr.Params.Has(params.MaxTCPMessageSize))

	// Missing optional session-parameter fields are absent as decoded and
	// take the spec defaults in the handshake's Result (spec 4.12.8). (An
	// empty structure is refused, as the SDK refuses it: here it holds
	// only an unknown tag.)
	w.Reset()
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tlv.ContextTag(1), make([]byte, 32))
	w.PutBytes(tlv.ContextTag(2), make([]byte, 32))
	w.PutUint(tlv.ContextTag(3), 7)
	w.StartStruct(tlv.ContextTag(5))
	w.PutUint(tlv.ContextTag(30), 1)
	w.EndContainer()
	w.EndContainer()
	require.NoError(t, pr.Decode(w.Bytes()))
	require.Equal(t, SessionParams{}, *pr.Params)
	eff := pr.Params.Effective()
	require.Equal(t, 500*time.Millisecond, eff.IdleInterval)
	require.Equal(t, 300*time.Millisecond, eff.ActiveInterval)
	require.Equal(t, 4*time.Second, eff.ActiveThreshold)
	require.Equal(t, uint16(1), eff.MaxPathsPerInvoke)
}

func TestMessageRoundTrip(t *testing.T) {
	var rnd [32]byte
	for i := range rnd {
		rnd[i] = byte(i)
	}
	req := PBKDFParamRequest{InitiatorRandom: rnd, InitiatorSessionID: 0xBEEF, HasPBKDFParameters: true,
		Params: present(SessionParams{IdleInterval: time.Second, ActiveInterval: 2 * time.Second, ActiveThreshold: 3 * time.Second, MaxPathsPerInvoke: 1},
			params.IdleInterval, params.ActiveInterval, params.ActiveThreshold, params.MaxPathsPerInvoke)}
	var req2 PBKDFParamRequest
	require.NoError(t, req2.Decode(req.Append(nil)))
	require.Equal(t, req, req2)

	resp := PBKDFParamResponse{InitiatorRandom: rnd, ResponderRandom: rnd, ResponderSessionID: 1,
		PBKDF: &PBKDFParams{Iterations: 100000, Salt: testSalt}}
	var resp2 PBKDFParamResponse
	require.NoError(t, resp2.Decode(resp.Append(nil)))
	require.Equal(t, resp, resp2)

	p1 := Pake1{PA: spake2p.M()}
	var p1b Pake1
	require.NoError(t, p1b.Decode(p1.Append(nil)))
	require.Equal(t, p1, p1b)
	p2 := Pake2{PB: spake2p.N(), CB: [32]byte{1, 2, 3}}
	var p2b Pake2
	require.NoError(t, p2b.Decode(p2.Append(nil)))
	require.Equal(t, p2, p2b)
	p3 := Pake3{CA: [32]byte{9}}
	var p3b Pake3
	require.NoError(t, p3b.Decode(p3.Append(nil)))
	require.Equal(t, p3, p3b)
}

func TestConfigValidation(t *testing.T) {
	for i, p := range []uint32{0, 11111111, 12345678, 87654321, 99999999, 100000000} {
		_, err := NewInitiator(InitiatorConfig{Passcode: p, LocalSessionID: 1, Rand: seeded(1)})
		require.ErrorIs(t, err, ErrConfig, "case %d", i)
		var pe *spake2p.PasscodeError
		require.ErrorAs(t, err, &pe, "case %d", i)
	}
	_, err := NewInitiator(InitiatorConfig{Passcode: testPasscode, LocalSessionID: 0, Rand: seeded(1)})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewInitiator(InitiatorConfig{Passcode: testPasscode, LocalSessionID: 1})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewInitiator(InitiatorConfig{Passcode: testPasscode, LocalSessionID: 1, Rand: seeded(1),
		PBKDF: &PBKDFParams{Iterations: 999, Salt: testSalt}})
	var pe *spake2p.ParamError
	require.ErrorAs(t, err, &pe)

	base := ResponderConfig{Verifier: testVerifier, Salt: testSalt, Iterations: testIterations, LocalSessionID: 1, Rand: seeded(1)}
	for i, mut := range []func(*ResponderConfig){
		func(c *ResponderConfig) { c.Rand = nil },
		func(c *ResponderConfig) { c.Salt = make([]byte, 15) },
		func(c *ResponderConfig) { c.Salt = make([]byte, 33) },
		func(c *ResponderConfig) { c.Iterations = 100001 },
		func(c *ResponderConfig) { c.LocalSessionID = 0 },
		func(c *ResponderConfig) { c.Verifier.L[5] ^= 1 },
		func(c *ResponderConfig) { c.Verifier.W0 = spake2p.Scalar(bytes.Repeat([]byte{0xFF}, 32)) },
	} {
		c := base
		mut(&c)
		_, err := NewResponder(c)
		require.ErrorIs(t, err, ErrConfig, "case %d", i)
	}
}

// TestWrongPasscodeInitiatorDetects: with a wrong passcode the initiator's
// cB check fails first; its FAILURE report makes the responder count a
// failed attempt flagged as a wrong passcode.
func TestWrongPasscodeInitiatorDetects(t *testing.T) {
	ini, resp := newPair(t, 20202022, 1, nil, nil)
	msgs, iErr, rErr := drive(t, ini, resp, 0)
	require.ErrorIs(t, iErr, ErrWrongPasscode)
	require.Contains(t, iErr.Error(), "wrong passcode")
	require.Equal(t, StateFailed, ini.State())
	// drive delivered the initiator's FAILURE report to the responder.
	last := msgs[len(msgs)-1]
	require.Equal(t, "I", last.from)
	require.Equal(t, uint8(OpStatusReport), last.opcode)
	require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 2, 0}, last.payload)
	require.Equal(t, uint8(OpPake2), msgs[len(msgs)-2].opcode)
	out, err := ini.Handle(0, OpPake2, nil) // finished: no output
	require.ErrorIs(t, err, ErrFinished)
	require.False(t, out.Send)
	require.ErrorIs(t, rErr, ErrWrongPasscode)
	var ae *AttemptError
	require.ErrorAs(t, rErr, &ae)
	require.Equal(t, 1, ae.Failures)
	require.False(t, errors.Is(rErr, ErrWindowClosed))
	require.Equal(t, 1, resp.Failures())
	require.Equal(t, StateIdle, resp.State())
}

// TestWrongPasscodeResponderDetects: an initiator that ignores cB and sends
// a bad cA gets FAILURE/INVALID_PARAMETER, which it reports as a wrong
// passcode.
func TestWrongPasscodeResponderDetects(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	out, err := ini.Start(0)
	require.NoError(t, err)
	out, err = resp.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	out, err = ini.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	out, err = resp.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	out, err = ini.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	require.Equal(t, uint8(OpPake3), out.Opcode)
	bad := Pake3{CA: [32]byte{1}}
	rout, err := resp.Handle(0, OpPake3, bad.Append(nil))
	require.ErrorIs(t, err, ErrWrongPasscode)
	require.True(t, rout.Send)
	require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 2, 0}, rout.Payload)
	_, ok := resp.Result()
	require.False(t, ok)

	_, err = ini.Handle(0, rout.Opcode, rout.Payload)
	require.ErrorIs(t, err, ErrWrongPasscode)
	require.Contains(t, err.Error(), "wrong passcode")
	_, ok = ini.Result()
	require.False(t, ok)
}

func TestFailureLimitClosesWindow(t *testing.T) {
	for _, max := range []int{0, 3} {
		want := max
		if want == 0 {
			want = DefaultMaxFailures
		}
		_, resp := newPair(t, testPasscode, 1, nil, func(c *ResponderConfig) { c.MaxFailures = max })
		for k := 1; k <= want; k++ {
			ini, _ := newPair(t, 20202022, byte(k), nil, nil)
			_, iErr, rErr := drive(t, ini, resp, 0)
			require.ErrorIs(t, iErr, ErrWrongPasscode)
			require.ErrorIs(t, rErr, ErrWrongPasscode)
			require.Equal(t, k, resp.Failures())
			require.Equal(t, k == want, errors.Is(rErr, ErrWindowClosed), "attempt %d", k)
		}
		require.Equal(t, StateClosed, resp.State())
		// Even the right passcode is refused now, with nothing sent.
		ini, _ := newPair(t, testPasscode, 99, nil, nil)
		out, _ := ini.Start(0)
		rout, err := resp.Handle(0, out.Opcode, out.Payload)
		require.ErrorIs(t, err, ErrWindowClosed)
		require.False(t, rout.Send)
	}
}

func TestResponderTimeouts(t *testing.T) {
	sec := func(s int) clock.Time { return clock.Time(time.Duration(s) * time.Second) }
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	out, _ := ini.Start(0)
	rout, err := resp.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	require.Equal(t, sec(30), resp.Deadline(), "step timeout")
	// Before the deadline nothing happens.
	o, err := resp.HandleTimeout(sec(29))
	require.NoError(t, err)
	require.False(t, o.Send)
	require.Equal(t, StateWaitPake1, resp.State())
	// Pake1 at 29 s moves the step deadline but the pairing bound stays 60 s.
	out, err = ini.Handle(sec(1), rout.Opcode, rout.Payload)
	require.NoError(t, err)
	_, err = resp.Handle(sec(29), out.Opcode, out.Payload)
	require.NoError(t, err)
	require.Equal(t, sec(59), resp.Deadline())
	_, err = resp.HandleTimeout(sec(59))
	require.ErrorIs(t, err, ErrTimeout)
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	require.Equal(t, StateWaitPake3, te.State)
	require.Equal(t, 1, resp.Failures())
	require.Equal(t, StateIdle, resp.State())
	require.Equal(t, clock.Never, resp.Deadline())

	// The whole-pairing bound (60 s) wins over a step deadline.
	_, resp = newPair(t, testPasscode, 1, nil, func(c *ResponderConfig) { c.StepTimeout = 50 * time.Second })
	ini, _ = newPair(t, testPasscode, 2, nil, nil)
	out, _ = ini.Start(0)
	rout, _ = resp.Handle(0, out.Opcode, out.Payload)
	out, _ = ini.Handle(0, rout.Opcode, rout.Payload)
	_, err = resp.Handle(sec(40), out.Opcode, out.Payload)
	require.NoError(t, err)
	require.Equal(t, sec(60), resp.Deadline())

	// A late message is refused via Handle too; a late new request is served.
	ini, resp = newPair(t, testPasscode, 3, nil, nil)
	out, _ = ini.Start(0)
	rout, _ = resp.Handle(0, out.Opcode, out.Payload)
	out, _ = ini.Handle(0, rout.Opcode, rout.Payload)
	_, err = resp.Handle(sec(31), out.Opcode, out.Payload)
	require.ErrorIs(t, err, ErrTimeout)
	ini2, _ := newPair(t, testPasscode, 4, nil, nil)
	_, resp2 := newPair(t, testPasscode, 1, nil, nil)
	o2, _ := ini2.Start(0)
	_, _ = resp2.Handle(0, o2.Opcode, o2.Payload)
	ini3, _ := newPair(t, testPasscode, 5, nil, nil)
	o3, _ := ini3.Start(sec(31))
	r3, err := resp2.Handle(sec(31), o3.Opcode, o3.Payload)
	require.NoError(t, err)
	require.Equal(t, uint8(OpPBKDFParamResponse), r3.Opcode)
	require.Equal(t, 1, resp2.Failures())
}

func TestInitiatorTimeout(t *testing.T) {
	ini, _ := newPair(t, testPasscode, 1, nil, nil)
	_, err := ini.Start(0)
	require.NoError(t, err)
	require.Equal(t, clock.Time(DefaultStepTimeout), ini.Deadline())
	_, err = ini.HandleTimeout(clock.Time(DefaultStepTimeout) - 1)
	require.NoError(t, err)
	_, err = ini.HandleTimeout(clock.Time(DefaultStepTimeout))
	require.ErrorIs(t, err, ErrTimeout)
	require.Equal(t, StateFailed, ini.State())
	_, err = ini.Handle(0, OpPBKDFParamResponse, nil)
	require.ErrorIs(t, err, ErrFinished)
}

func TestBusy(t *testing.T) {
	iniA, resp := newPair(t, testPasscode, 1, nil, nil)
	out, _ := iniA.Start(0)
	rout, err := resp.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)

	iniB, _ := newPair(t, testPasscode, 2, nil, nil)
	outB, _ := iniB.Start(clock.Time(10 * time.Second))
	busy, err := resp.Handle(clock.Time(10*time.Second), outB.Opcode, outB.Payload)
	require.ErrorIs(t, err, ErrBusy)
	require.True(t, busy.Send)
	// BUSY / SecureChannel / BUSY, wait = 20 s left of the step timer.
	require.Equal(t, []byte{8, 0, 0, 0, 0, 0, 4, 0, 0x20, 0x4e}, busy.Payload)
	require.Equal(t, StateWaitPake1, resp.State())
	require.Zero(t, resp.Failures())
	_, err = iniB.Handle(clock.Time(10*time.Second), busy.Opcode, busy.Payload)
	require.ErrorIs(t, err, ErrBusy)
	var pse *PeerStatusError
	require.ErrorAs(t, err, &pse)
	require.Equal(t, 20*time.Second, pse.Wait)
	var se *status.Error // the report, for callers that know only package status
	require.ErrorAs(t, err, &se)
	require.Equal(t, status.GeneralBusy, se.Report.General)
	w, ok := se.Report.BusyWait()
	require.True(t, ok)
	require.Equal(t, 20*time.Second, w)

	// The first pairing is undisturbed.
	out, err = iniA.Handle(0, rout.Opcode, rout.Payload)
	require.NoError(t, err)
	for out.Send {
		rout, err = resp.Handle(0, out.Opcode, out.Payload)
		require.NoError(t, err)
		if rout.Done {
			out, err = iniA.Handle(0, rout.Opcode, rout.Payload)
			require.NoError(t, err)
			break
		}
		out, err = iniA.Handle(0, rout.Opcode, rout.Payload)
		require.NoError(t, err)
	}
	require.True(t, out.Done)
	// Established: still busy until Release.
	iniC, _ := newPair(t, testPasscode, 3, nil, nil)
	outC, _ := iniC.Start(0)
	busy, err = resp.Handle(0, outC.Opcode, outC.Payload)
	require.ErrorIs(t, err, ErrBusy)
	require.Equal(t, []byte{0x88, 0x13}, busy.Payload[8:]) // 5000 ms
	resp.Release()
	require.NoError(t, resp.SetLocalSessionID(0x3333))
	iniC, _ = newPair(t, testPasscode, 3, nil, nil)
	_, iErr, rErr := drive(t, iniC, resp, 0)
	require.NoError(t, iErr)
	require.NoError(t, rErr)
	r, _ := resp.Result()
	require.Equal(t, uint16(0x3333), r.LocalSessionID)

	// IgnoreWhileBusy: nothing sent.
	iniD, resp := newPair(t, testPasscode, 4, nil, func(c *ResponderConfig) { c.IgnoreWhileBusy = true })
	out, _ = iniD.Start(0)
	_, _ = resp.Handle(0, out.Opcode, out.Payload)
	busy, err = resp.Handle(0, out.Opcode, out.Payload)
	require.ErrorIs(t, err, ErrBusy)
	require.False(t, busy.Send)
}

func TestResponderRejectsRequests(t *testing.T) {
	mk := func(f func(*PBKDFParamRequest)) []byte {
		r := PBKDFParamRequest{InitiatorSessionID: 5}
		f(&r)
		return r.Append(nil)
	}
	for i, tc := range []struct {
		payload []byte
		want    error
	}{
		{mk(func(r *PBKDFParamRequest) { r.PasscodeID = 1 }), ErrInvalidParameter},
		{mk(func(r *PBKDFParamRequest) { r.InitiatorSessionID = 0 }), ErrInvalidParameter},
		{nil, ErrMalformed},
		{[]byte{0x15, 0x18}, ErrMalformed},
	} {
		_, resp := newPair(t, testPasscode, 1, nil, nil)
		out, err := resp.Handle(0, OpPBKDFParamRequest, tc.payload)
		require.ErrorIs(t, err, tc.want, "case %d", i)
		require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 2, 0}, out.Payload, "case %d", i)
		require.Equal(t, 1, resp.Failures(), "case %d", i)
	}
	// A stray Pake message with no pairing is ignored, not counted.
	_, resp := newPair(t, testPasscode, 1, nil, nil)
	out, err := resp.Handle(0, OpPake1, nil)
	require.ErrorIs(t, err, ErrUnexpectedMessage)
	require.False(t, out.Send)
	require.Zero(t, resp.Failures())
}

func TestInitiatorRejectsResponses(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	out, _ := ini.Start(0)
	rout, _ := resp.Handle(0, out.Opcode, out.Payload)
	var good PBKDFParamResponse
	require.NoError(t, good.Decode(rout.Payload))
	for i, tc := range []struct {
		mut  func(*PBKDFParamResponse)
		want error
	}{
		{func(r *PBKDFParamResponse) { r.InitiatorRandom[0] ^= 1 }, ErrInvalidParameter},
		{func(r *PBKDFParamResponse) { r.ResponderSessionID = 0 }, ErrInvalidParameter},
		{func(r *PBKDFParamResponse) { r.PBKDF = nil }, ErrMalformed},
		{func(r *PBKDFParamResponse) { r.PBKDF = &PBKDFParams{Iterations: 999, Salt: testSalt} }, ErrInvalidParameter},
		{func(r *PBKDFParamResponse) { r.PBKDF = &PBKDFParams{Iterations: 100001, Salt: testSalt} }, ErrInvalidParameter},
		{func(r *PBKDFParamResponse) { r.PBKDF = &PBKDFParams{Iterations: 1000, Salt: testSalt[:15]} }, ErrInvalidParameter},
		{func(r *PBKDFParamResponse) {
			r.PBKDF = &PBKDFParams{Iterations: 1000, Salt: make([]byte, 33)}
		}, ErrInvalidParameter},
	} {
		ini, _ := newPair(t, testPasscode, 1, nil, nil) // same seed: same random
		_, _ = ini.Start(0)
		m := good
		pb := *good.PBKDF
		m.PBKDF = &pb
		tc.mut(&m)
		o, err := ini.Handle(0, OpPBKDFParamResponse, m.Append(nil))
		require.ErrorIs(t, err, tc.want, "case %d", i)
		require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 2, 0}, o.Payload, "case %d", i)
		require.Equal(t, StateFailed, ini.State())
	}
}

// TestMalformedEveryStep feeds mutated messages at each step of both roles:
// each yields a typed error, and no input panics.
func TestMalformedEveryStep(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	msgs, iErr, rErr := drive(t, ini, resp, 0)
	require.NoError(t, iErr)
	require.NoError(t, rErr)

	mutations := func(p []byte) [][]byte {
		out := [][]byte{nil, {}, {0x15}, {0x18}, {0x17, 0x18}, append(bytes.Clone(p), 0x18), append(bytes.Clone(p), 0x15, 0x18)}
		for cut := 1; cut < len(p); cut += 7 {
			out = append(out, bytes.Clone(p[:cut]))
		}
		for k := 0; k < len(p); k += 5 {
			q := bytes.Clone(p)
			q[k] ^= 0x41
			out = append(out, q)
		}
		return out
	}
	// Responder at each of its input steps: request (idle), Pake1, Pake3.
	for step, idx := range []int{0, 2, 4} {
		for j, bad := range mutations(msgs[idx].payload) {
			ini, resp := newPair(t, testPasscode, 1, nil, nil)
			prefix(t, ini, resp, idx)
			out, err := resp.Handle(0, msgs[idx].opcode, bad)
			if err == nil {
				continue // a flip inside the random or an ignored member can be benign
			}
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalidParameter) ||
				errors.Is(err, ErrWrongPasscode), "responder step %d case %d: %v", step, j, err)
			require.True(t, out.Send, "responder step %d case %d: failure report", step, j)
		}
	}
	// Initiator at each of its input steps: response, Pake2, status.
	for step, idx := range []int{1, 3, 5} {
		for j, bad := range mutations(msgs[idx].payload) {
			ini, resp := newPair(t, testPasscode, 1, nil, nil)
			prefix(t, ini, resp, idx)
			_, err := ini.Handle(0, msgs[idx].opcode, bad)
			if err == nil {
				continue
			}
			var pse *PeerStatusError
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalidParameter) ||
				errors.Is(err, ErrWrongPasscode) || errors.As(err, &pse),
				"initiator step %d case %d: %v", step, j, err)
			require.Equal(t, StateFailed, ini.State())
		}
	}
}

// prefix replays the handshake up to (not including) message idx.
func prefix(t *testing.T, ini *Initiator, resp *Responder, idx int) {
	t.Helper()
	out, err := ini.Start(0)
	require.NoError(t, err)
	for k := 0; k < idx; k++ {
		if k%2 == 0 {
			out, err = resp.Handle(0, out.Opcode, out.Payload)
		} else {
			out, err = ini.Handle(0, out.Opcode, out.Payload)
		}
		require.NoError(t, err)
	}
}

func TestUnexpectedOpcodes(t *testing.T) {
	// Initiator waiting for the response receives Pake2.
	ini, _ := newPair(t, testPasscode, 1, nil, nil)
	_, _ = ini.Start(0)
	out, err := ini.Handle(0, OpPake2, (&Pake2{}).Append(nil))
	require.ErrorIs(t, err, ErrUnexpectedMessage)
	require.True(t, out.Send)
	// Responder waiting for Pake1 receives Pake3: attempt fails.
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	o, _ := ini.Start(0)
	_, _ = resp.Handle(0, o.Opcode, o.Payload)
	out, err = resp.Handle(0, OpPake3, (&Pake3{}).Append(nil))
	require.ErrorIs(t, err, ErrUnexpectedMessage)
	require.True(t, out.Send)
	require.Equal(t, 1, resp.Failures())
	// Start twice.
	_, err = ini.Start(0)
	require.ErrorIs(t, err, ErrFinished)
}

func TestHexGoldenFileParses(t *testing.T) {
	b, err := os.ReadFile("testdata/transcript.golden")
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && (f[0] == "I" || f[0] == "R") {
			_, err := hex.DecodeString(f[2])
			require.NoError(t, err)
			n++
		}
	}
	require.Equal(t, 6, n)
}

func TestAbort(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 1, nil, nil)
	require.Nil(t, resp.Abort(nil)) // nothing in progress
	require.False(t, ini.Abort().Send)
	out, _ := ini.Start(0)
	_, err := resp.Handle(0, out.Opcode, out.Payload)
	require.NoError(t, err)
	err = resp.Abort(nil)
	require.ErrorIs(t, err, ErrAborted)
	var ae *AttemptError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 1, resp.Failures())
	require.Equal(t, StateIdle, resp.State())
	o := ini.Abort()
	require.True(t, o.Send)
	require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 2, 0}, o.Payload)
	require.Equal(t, StateFailed, ini.State())
}

// TestPeerParamsDefaults: a peer that sends no session parameters, or only
// some, yields a Result with the spec defaults for the rest (spec 4.12.8),
// and Has still tells what it sent.
func TestPeerParamsDefaults(t *testing.T) {
	ini, resp := newPair(t, testPasscode, 4, func(c *InitiatorConfig) { c.Params = nil }, nil)
	_, iErr, rErr := drive(t, ini, resp, 0)
	require.NoError(t, iErr)
	require.NoError(t, rErr)
	rr, ok := resp.Result()
	require.True(t, ok)
	require.Equal(t, SessionParams{}.Effective(), rr.PeerParams)
	require.Equal(t, 500*time.Millisecond, rr.PeerParams.IdleInterval)
	require.False(t, rr.PeerParams.Has(params.IdleInterval))
	ri, ok := ini.Result()
	require.True(t, ok)
	require.True(t, ri.PeerParams.Has(params.ActiveThreshold))
	require.False(t, ri.PeerParams.Has(params.MaxPathsPerInvoke))
	require.Equal(t, uint16(params.DefaultMaxPathsPerInvoke), ri.PeerParams.MaxPathsPerInvoke)
	require.Equal(t, uint32(0x01040000), ri.PeerParams.SpecificationVersion)
}
