package casesess

import (
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/session/cert/testca"
	"mattersim/session/params"
)

// seedMessages returns the messages of a full handshake and a resumption
// (with ICAC), the fuzz seed corpus.
func seedMessages(f *testing.F) []wireMsg {
	fab := mint(f, testca.Options{Seed: 7, ICAC: true})
	iTab, rTab := NewResumption(0), NewResumption(0)
	ini, resp := newPair(f, pairOpts{fab: fab, seed: 7, iTable: iTab, rTable: rTab})
	msgs, _, _ := drive(f, ini, resp, 0, nil)
	ini, resp = newPair(f, pairOpts{fab: fab, seed: 8, iTable: iTab, rTable: rTab})
	more, _, _ := drive(f, ini, resp, 0, nil)
	return append(msgs, more...)
}

// decoder is one message type under fuzzing: decode, re-encode.
type decoder struct {
	op     uint8
	decode func([]byte) (func() []byte, error)
}

// noFields turns decoded session parameters with no known field (a
// structure whose first member ends the reading, e.g. a too-wide tag 8)
// into absent ones: params.Params cannot re-encode "present but empty"
// (an empty structure, which params.Decode refuses as the SDK does).
func noFields(p **SessionParams) {
	if *p == nil {
		return
	}
	for f := params.IdleInterval; f <= params.MaxTCPMessageSize; f++ {
		if (*p).Has(f) {
			return
		}
	}
	*p = nil
}

var decoders = []decoder{
	{OpSigma1, func(b []byte) (func() []byte, error) {
		var m Sigma1
		err := m.Decode(b)
		noFields(&m.Params)
		return func() []byte { return m.Append(nil) }, err
	}},
	{OpSigma2, func(b []byte) (func() []byte, error) {
		var m Sigma2
		err := m.Decode(b)
		noFields(&m.Params)
		return func() []byte { return m.Append(nil) }, err
	}},
	{OpSigma2Resume, func(b []byte) (func() []byte, error) {
		var m Sigma2Resume
		err := m.Decode(b)
		noFields(&m.Params)
		return func() []byte { return m.Append(nil) }, err
	}},
	{OpSigma3, func(b []byte) (func() []byte, error) {
		var m Sigma3
		err := m.Decode(b)
		return func() []byte { return m.Append(nil) }, err
	}},
}

// fuzzDecoder checks, for any input: no panic; an accepted message
// re-encodes canonically, and the canonical form decodes and re-encodes to
// itself (decode ∘ encode is the identity on canonical bytes).
func fuzzDecoder(t *testing.T, d decoder, b []byte) {
	enc, err := d.decode(b)
	if err != nil {
		require.ErrorIs(t, err, ErrMalformed)
		return
	}
	canon := enc()
	enc2, err := d.decode(canon)
	require.NoError(t, err, "re-encoding of an accepted %s does not decode", opName(d.op))
	require.Equal(t, canon, enc2(), "%s re-encoding is not stable", opName(d.op))
}

func FuzzSigma1(f *testing.F)       { fuzzMessage(f, 0) }
func FuzzSigma2(f *testing.F)       { fuzzMessage(f, 1) }
func FuzzSigma2Resume(f *testing.F) { fuzzMessage(f, 2) }
func FuzzSigma3(f *testing.F)       { fuzzMessage(f, 3) }

func fuzzMessage(f *testing.F, i int) {
	d := decoders[i]
	for _, m := range seedMessages(f) {
		if m.opcode == d.op {
			f.Add(m.payload)
		}
	}
	f.Add([]byte{0x15, 0x18})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecoder(t, d, b) })
}

// FuzzTBEData fuzzes the decrypted-payload decoder of both messages.
func FuzzTBEData(f *testing.F) {
	rid := [ResumptionIDLen]byte{1}
	f.Add((&TBEData{NOC: []byte{1, 2}, ICAC: []byte{3}, ResumptionID: &rid}).Append(nil), true)
	f.Add((&TBEData{NOC: []byte{1, 2}}).Append(nil), false)
	f.Fuzz(func(t *testing.T, b []byte, withRID bool) {
		m, err := DecodeTBEData(OpSigma2, b, withRID)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		canon := m.Append(nil)
		m2, err := DecodeTBEData(OpSigma2, canon, withRID)
		require.NoError(t, err)
		require.Equal(t, canon, m2.Append(nil))
	})
}

// FuzzHandshake feeds arbitrary bytes to both state machines at each step
// (any opcode): no panic, and a failure always leaves a terminal state.
func FuzzHandshake(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m.opcode, m.payload, uint8(0))
		f.Add(m.opcode, m.payload, uint8(1))
	}
	fab := mint(f, testca.Options{Seed: 7, ICAC: true})
	f.Fuzz(func(t *testing.T, op uint8, b []byte, step uint8) {
		iTab, rTab := NewResumption(0), NewResumption(0)
		ini, resp := newPair(t, pairOpts{fab: fab, seed: 1, iTable: iTab, rTable: rTab})
		s1, err := ini.Start(0)
		require.NoError(t, err)
		switch step % 3 {
		case 0: // the responder's first message
			if _, err := resp.Handle(0, op, b); err != nil {
				require.Contains(t, []State{StateIdle, StateFailed}, resp.State())
			}
		case 1: // the initiator's answer to Sigma1
			if _, err := ini.Handle(0, op, b); err != nil {
				require.Equal(t, StateFailed, ini.State())
			}
		case 2: // the responder after a valid Sigma1
			_, err := resp.Handle(0, s1.Opcode, s1.Payload)
			require.NoError(t, err)
			if _, err := resp.Handle(0, op, b); err != nil {
				require.Equal(t, StateFailed, resp.State())
			}
		}
	})
}
