package pase

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session/status"
	"mattersim/tlv"
)

// member is one TLV member of a test message: a context tag and a writer.
type member struct {
	tag uint8
	put func(w *tlv.Writer, t tlv.Tag)
}

func bytesOf(n int, v byte) func(*tlv.Writer, tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) { w.PutBytes(t, bytes.Repeat([]byte{v}, n)) }
}
func uintOf(v uint64) func(*tlv.Writer, tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) { w.PutUint(t, v) }
}
func boolOf(v bool) func(*tlv.Writer, tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) { w.PutBool(t, v) }
}
func paramsOf(fields ...[2]uint64) func(*tlv.Writer, tlv.Tag) {
	return func(w *tlv.Writer, t tlv.Tag) {
		w.StartStruct(t)
		for _, f := range fields {
			w.PutUint(tlv.ContextTag(uint8(f[0])), f[1])
		}
		w.EndContainer()
	}
}

func encode(ms ...member) []byte {
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	for _, m := range ms {
		m.put(w, tlv.ContextTag(m.tag))
	}
	w.EndContainer()
	return w.Bytes()
}

// TestStrictTagOrder: PASE messages are read member by member in tag order
// as connectedhomeip PASESession.cpp reads them (Next(ContextTag(n)) in
// sequence, then ExitContainer): a member out of order, missing, or behind
// an unknown tag is refused; unknown members after the known ones are
// skipped.
func TestStrictTagOrder(t *testing.T) {
	rnd, sid, pc, has := member{1, bytesOf(32, 1)}, member{2, uintOf(7)}, member{3, uintOf(0)}, member{4, boolOf(false)}
	sp := member{5, paramsOf([2]uint64{1, 500}, [2]uint64{2, 300})}
	pa, pb, cb, ca := member{1, bytesOf(65, 4)}, member{1, bytesOf(65, 4)}, member{2, bytesOf(32, 5)}, member{1, bytesOf(32, 6)}
	unknown := func(n uint8) member { return member{n, uintOf(9)} }
	req := func(b []byte) error { var m PBKDFParamRequest; return m.Decode(b) }
	cases := []struct {
		name   string
		decode func([]byte) error
		msg    []byte
		ok     bool
		field  string // the member the error names
	}{
		{"request in order", req, encode(rnd, sid, pc, has, sp), true, ""},
		{"request without params", req, encode(rnd, sid, pc, has), true, ""},
		{"request, unknown trailing tags", req, encode(rnd, sid, pc, has, sp, unknown(6), unknown(30)), true, ""},
		{"request, tags 1 and 2 swapped", req, encode(sid, rnd, pc, has), false, "initiatorRandom"},
		{"request, tag 3 missing", req, encode(rnd, sid, has), false, "passcodeId"},
		{"request, unknown tag before the required ones", req, encode(unknown(9), rnd, sid, pc, has), false, "initiatorRandom"},
		{"request, unknown tag between required ones", req, encode(rnd, unknown(9), sid, pc, has), false, "initiatorSessionId"},
		{"request, tag 4 missing at the end", req, encode(rnd, sid, pc), false, "hasPBKDFParameters"},
		{"pake1", func(b []byte) error { var m Pake1; return m.Decode(b) }, encode(pa, unknown(2)), true, ""},
		{"pake1, unknown tag first", func(b []byte) error { var m Pake1; return m.Decode(b) }, encode(unknown(2), pa), false, "pA"},
		{"pake2", func(b []byte) error { var m Pake2; return m.Decode(b) }, encode(pb, cb, unknown(3)), true, ""},
		{"pake2, cB before pB", func(b []byte) error { var m Pake2; return m.Decode(b) }, encode(cb, pb), false, "pB"},
		{"pake3", func(b []byte) error { var m Pake3; return m.Decode(b) }, encode(ca, unknown(2)), true, ""},
		{"pake3, empty", func(b []byte) error { var m Pake3; return m.Decode(b) }, encode(), false, "cA"},
		// The SDK stops at ExitContainer and never reads further.
		{"request, bytes after the structure", req, append(encode(rnd, sid, pc, has), 0x15, 0x18, 0xFF), true, ""},
		{"pake3, bytes after the structure", func(b []byte) error { var m Pake3; return m.Decode(b) }, append(encode(ca), 0x00), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.msg)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrMalformed)
			var me *MessageError
			require.True(t, errors.As(err, &me))
			require.Equal(t, tc.field, me.Field, err.Error())
		})
	}
}

// TestStrictSessionParamsOrder: inside the session parameters the fields
// are read in order and anything after the first out-of-order member is
// ignored (PairingSession::DecodeSessionParametersIfPresent), and the
// session parameters are only looked for right after the required
// members.
func TestStrictSessionParamsOrder(t *testing.T) {
	rnd, sid, pc, has := member{1, bytesOf(32, 1)}, member{2, uintOf(7)}, member{3, uintOf(0)}, member{4, boolOf(false)}
	var m PBKDFParamRequest
	// Active interval (2) before idle (1): the idle interval is ignored.
	require.NoError(t, m.Decode(encode(rnd, sid, pc, has, member{5, paramsOf([2]uint64{2, 300}, [2]uint64{1, 5000})})))
	require.Equal(t, 300*time.Millisecond, m.Params.ActiveInterval)
	require.False(t, m.Params.Has(1))
	// matter.js's tag 8 after 1-7 is read; an unknown tag 10 after it is skipped.
	require.NoError(t, m.Decode(encode(rnd, sid, pc, has, member{5, paramsOf([2]uint64{1, 500}, [2]uint64{8, 0}, [2]uint64{10, 1})})))
	require.True(t, m.Params.Has(8))
	// An unknown member between tag 4 and the session parameters: the SDK
	// does not look further, so the parameters are not applied.
	require.NoError(t, m.Decode(encode(rnd, sid, pc, has, member{6, uintOf(1)}, member{5, paramsOf([2]uint64{1, 500})})))
	require.Nil(t, m.Params)
	// An empty session-parameter structure is refused, as by every SDK.
	require.ErrorIs(t, m.Decode(encode(rnd, sid, pc, has, member{5, paramsOf()})), ErrMalformed)
}

// TestResponderRefusesReorderedRequest: the device answers a
// PBKDFParamRequest with swapped tags with StatusReport FAILURE /
// INVALID_PARAMETER (PASESession::HandlePBKDFParamRequest's exit path)
// and counts a failure.
func TestResponderRefusesReorderedRequest(t *testing.T) {
	_, resp := newPair(t, testPasscode, 1, nil, nil)
	msg := encode(member{2, uintOf(7)}, member{1, bytesOf(32, 1)}, member{3, uintOf(0)}, member{4, boolOf(false)})
	out, err := resp.Handle(0, OpPBKDFParamRequest, msg)
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, out.Send)
	require.Equal(t, uint8(OpStatusReport), out.Opcode)
	r, derr := status.Decode(out.Payload)
	require.NoError(t, derr)
	require.Equal(t, status.GeneralFailure, r.General)
	require.Equal(t, status.SecureChannel, r.Protocol)
	require.Equal(t, uint16(status.CodeInvalidParameter), r.Code)
	require.Equal(t, 1, resp.Failures())
}
