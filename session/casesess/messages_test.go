package casesess

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/cert/testca"
	"mattersim/session/status"
	"mattersim/tlv"
)

// sigma1Spec describes a Sigma1 the way connectedhomeip
// TestCASESession.cpp Sigma1Params does (EncodeSigma1Helper), so the
// parsing table below is that test's.
type sigma1Spec struct {
	randomLen, destLen, pubLen int
	sessionID                  uint64
	resumptionLen, micLen      int
	futureProof, noEnd         bool
	profileTags                bool
}

func (s sigma1Spec) encode() []byte {
	tag := func(n uint8) tlv.Tag {
		if s.profileTags {
			return tlv.Tag{Form: tlv.CommonProfile, Number: uint32(n)}
		}
		return ctx(n)
	}
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.AnonymousTag())
	w.PutBytes(tag(1), append([]byte{1}, make([]byte, s.randomLen-1)...))
	w.PutUint(tag(2), s.sessionID)
	w.PutBytes(tag(3), append([]byte{2}, make([]byte, s.destLen-1)...))
	w.PutBytes(tag(4), append([]byte{3}, make([]byte, s.pubLen-1)...))
	if s.resumptionLen > 0 {
		w.PutBytes(tag(6), bytes.Repeat([]byte{4}, s.resumptionLen))
	}
	if s.micLen > 0 {
		w.PutBytes(tag(7), bytes.Repeat([]byte{5}, s.micLen))
	}
	if s.futureProof {
		w.PutUint(tag(11), 77)
	}
	if s.noEnd {
		return w.Bytes()
	}
	w.EndContainer()
	return w.Bytes()
}

// TestSigma1Parsing ports connectedhomeip TestCASESession.cpp
// Sigma1ParsingTest: the same twenty encodings and verdicts.
func TestSigma1Parsing(t *testing.T) {
	base := sigma1Spec{randomLen: 32, destLen: 32, pubLen: 65, sessionID: 0x7315 % 65536}
	with := func(f func(*sigma1Spec)) sigma1Spec { s := base; f(&s); return s }
	resume := func(s *sigma1Spec) { s.resumptionLen, s.micLen = 16, 16 }
	cases := []struct {
		name   string
		spec   sigma1Spec
		ok     bool
		resume bool
	}{
		{"Sigma1Params", base, true, false},
		{"Sigma1NoStructEnd", with(func(s *sigma1Spec) { s.noEnd = true }), false, false},
		{"Sigma1WrongTags", with(func(s *sigma1Spec) { s.profileTags = true }), false, false},
		{"Sigma1TooLongRandom", with(func(s *sigma1Spec) { s.randomLen = 33 }), false, false},
		{"Sigma1TooShortRandom", with(func(s *sigma1Spec) { s.randomLen = 31 }), false, false},
		{"Sigma1TooLongDest", with(func(s *sigma1Spec) { s.destLen = 33 }), false, false},
		{"Sigma1TooShortDest", with(func(s *sigma1Spec) { s.destLen = 31 }), false, false},
		{"Sigma1TooLongPubkey", with(func(s *sigma1Spec) { s.pubLen = 66 }), false, false},
		{"Sigma1TooShortPubkey", with(func(s *sigma1Spec) { s.pubLen = 64 }), false, false},
		{"Sigma1WithResumption", with(resume), true, true},
		{"Sigma1TooLongResumptionId", with(func(s *sigma1Spec) { resume(s); s.resumptionLen = 17 }), false, false},
		{"Sigma1TooShortResumptionId", with(func(s *sigma1Spec) { resume(s); s.resumptionLen = 15 }), false, false},
		{"Sigma1TooLongResumeMIC", with(func(s *sigma1Spec) { resume(s); s.micLen = 17 }), false, false},
		{"Sigma1TooShortResumeMIC", with(func(s *sigma1Spec) { resume(s); s.micLen = 15 }), false, false},
		{"Sigma1WithResumptionIdNoResumeMIC", with(func(s *sigma1Spec) { resume(s); s.micLen = 0 }), false, false},
		{"Sigma1WithResumeMICNoResumptionId", with(func(s *sigma1Spec) { resume(s); s.resumptionLen = 0 }), false, false},
		{"Sigma1SessionIdMax", with(func(s *sigma1Spec) { s.sessionID = 0xFFFF }), true, false},
		{"Sigma1SessionIdTooBig", with(func(s *sigma1Spec) { s.sessionID = 0x10000 }), false, false},
		{"Sigma1FutureProofTlvElement", with(func(s *sigma1Spec) { s.futureProof = true }), true, false},
		{"Sigma1FutureProofTlvElementNoStructEnd", with(func(s *sigma1Spec) { s.futureProof = true; s.noEnd = true }), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Sigma1
			err := m.Decode(tc.spec.encode())
			if !tc.ok {
				require.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.resume, m.ResumptionRequested())
			require.Equal(t, uint16(tc.spec.sessionID), m.InitiatorSessionID)
		})
	}
}

type rtCase struct {
	name string
	enc  []byte
	dec  func([]byte) (any, error)
	want any
}

var (
	mintDefault = testca.Options{Seed: 1}
	mintOther   = testca.Options{Seed: 2}
)

// Every message round-trips through Append and Decode, and the decoders
// refuse each message's bytes with a trailing octet and truncated.
func TestMessageRoundTrip(t *testing.T) {
	rid := [ResumptionIDLen]byte{9, 9}
	mic := [MICLen]byte{7}
	var msgs []rtCase
	s1 := &Sigma1{InitiatorSessionID: 0x1234, Params: iParams, ResumptionID: &rid, ResumeMIC: &mic}
	s1.InitiatorRandom[0], s1.DestinationID[31], s1.InitiatorEphPubKey[0] = 1, 2, 4
	s2 := &Sigma2{ResponderSessionID: 0xFFFF, Encrypted2: bytes.Repeat([]byte{0xEE}, 300), Params: rParams}
	s2r := &Sigma2Resume{ResumptionID: rid, Sigma2ResumeMIC: mic, ResponderSessionID: 3, Params: rParams}
	s3 := &Sigma3{Encrypted3: bytes.Repeat([]byte{0xDD}, 17)}
	tbe2 := &TBEData{NOC: []byte{1, 2, 3}, ICAC: []byte{4}, ResumptionID: &rid}
	tbe3 := &TBEData{NOC: []byte{1, 2, 3}}
	msgs = append(msgs,
		rtCase{"Sigma1", s1.Append(nil), func(b []byte) (any, error) { var m Sigma1; return &m, m.Decode(b) }, s1},
		rtCase{"Sigma2", s2.Append(nil), func(b []byte) (any, error) { var m Sigma2; return &m, m.Decode(b) }, s2},
		rtCase{"Sigma2Resume", s2r.Append(nil), func(b []byte) (any, error) { var m Sigma2Resume; return &m, m.Decode(b) }, s2r},
		rtCase{"Sigma3", s3.Append(nil), func(b []byte) (any, error) { var m Sigma3; return &m, m.Decode(b) }, s3},
		rtCase{"TBEData2", tbe2.Append(nil), func(b []byte) (any, error) { return DecodeTBEData(OpSigma2, b, true) }, tbe2},
		rtCase{"TBEData3", tbe3.Append(nil), func(b []byte) (any, error) { return DecodeTBEData(OpSigma3, b, false) }, tbe3},
	)
	for _, m := range msgs {
		t.Run(m.name, func(t *testing.T) {
			got, err := m.dec(m.enc)
			require.NoError(t, err)
			require.Equal(t, m.want, got)
			_, err = m.dec(append(append([]byte(nil), m.enc...), 0x18))
			require.ErrorIs(t, err, ErrMalformed, "trailing byte")
			for n := range len(m.enc) {
				_, err = m.dec(m.enc[:n])
				require.ErrorIs(t, err, ErrMalformed, "truncated to %d", n)
			}
		})
	}
}

// Length limits of encrypted2/encrypted3 (SDK ParseSigma2/ParseSigma3) and
// of the TBEData members (ParseSigma2TBEData).
func TestLengthLimits(t *testing.T) {
	s2 := Sigma2{ResponderSessionID: 1, Encrypted2: make([]byte, MaxEncrypted2Len)}
	var d2 Sigma2
	require.NoError(t, d2.Decode(s2.Append(nil)))
	require.Equal(t, 1030, MaxEncrypted2Len)
	s2.Encrypted2 = make([]byte, MaxEncrypted2Len+1)
	require.ErrorIs(t, d2.Decode(s2.Append(nil)), ErrMalformed)
	s2.Encrypted2 = make([]byte, MICLen)
	require.ErrorIs(t, d2.Decode(s2.Append(nil)), ErrMalformed)

	s3 := Sigma3{Encrypted3: make([]byte, MaxEncrypted3Len)}
	var d3 Sigma3
	require.NoError(t, d3.Decode(s3.Append(nil)))
	require.Equal(t, 1010, MaxEncrypted3Len)
	s3.Encrypted3 = make([]byte, MaxEncrypted3Len+1)
	require.ErrorIs(t, d3.Decode(s3.Append(nil)), ErrMalformed)

	big := TBEData{NOC: make([]byte, MaxCertLen+1)}
	_, err := DecodeTBEData(OpSigma3, big.Append(nil), false)
	require.ErrorIs(t, err, ErrMalformed)
	noRID := TBEData{NOC: []byte{1}}
	_, err = DecodeTBEData(OpSigma2, noRID.Append(nil), true)
	require.ErrorIs(t, err, ErrMalformed, "TBEData2 without a resumption id")
}

func TestTimeouts(t *testing.T) {
	step := 10 * time.Second
	t.Run("initiator waits for Sigma2", func(t *testing.T) {
		ini, _ := newPair(t, pairOpts{seed: 1, mutI: func(c *InitiatorConfig) { c.StepTimeout = step }})
		_, err := ini.Start(100)
		require.NoError(t, err)
		require.Equal(t, clock.Time(100).Add(step), ini.Deadline())
		out, err := ini.HandleTimeout(ini.Deadline() - 1)
		require.NoError(t, err)
		require.False(t, out.Send)
		_, err = ini.HandleTimeout(ini.Deadline())
		require.ErrorIs(t, err, ErrTimeout)
		require.Equal(t, StateFailed, ini.State())
		require.Equal(t, clock.Never, ini.Deadline())
	})
	t.Run("responder waits for Sigma3", func(t *testing.T) {
		ini, resp := newPair(t, pairOpts{seed: 1, mutR: func(c *ResponderConfig) { c.StepTimeout = step }})
		s1, err := ini.Start(0)
		require.NoError(t, err)
		_, err = resp.Handle(0, s1.Opcode, s1.Payload)
		require.NoError(t, err)
		require.Equal(t, clock.Time(0).Add(step), resp.Deadline())
		// A Sigma3 that arrives too late is refused without a report.
		out, err := resp.Handle(resp.Deadline(), OpSigma3, nil)
		require.ErrorIs(t, err, ErrTimeout)
		require.False(t, out.Send)
	})
}

func TestPeerBusy(t *testing.T) {
	ini, _ := newPair(t, pairOpts{seed: 1})
	_, err := ini.Start(0)
	require.NoError(t, err)
	_, err = ini.Handle(0, OpStatusReport, status.Busy(1500*time.Millisecond).Append(nil))
	require.ErrorIs(t, err, ErrBusy)
	var pe *PeerStatusError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 1500*time.Millisecond, pe.Wait)
}

func TestConfigValidation(t *testing.T) {
	fab := mint(t, mintDefault)
	f := fabricOf(t, fab, 1, 0)
	_, err := NewInitiator(InitiatorConfig{Fabric: f, PeerNodeID: 2, LocalSessionID: 1})
	require.ErrorIs(t, err, ErrConfig, "nil Rand")
	_, err = NewInitiator(InitiatorConfig{Fabric: f, PeerNodeID: 2, Rand: seeded(1)})
	require.ErrorIs(t, err, ErrConfig, "session id 0")
	_, err = NewInitiator(InitiatorConfig{Fabric: &Fabric{}, PeerNodeID: 2, LocalSessionID: 1, Rand: seeded(1)})
	require.ErrorIs(t, err, ErrConfig, "empty fabric")
	_, err = NewResponder(ResponderConfig{LocalSessionID: 0, Rand: seeded(1)})
	require.ErrorIs(t, err, ErrConfig)
	// NewFabric refuses a key that is not the NOC's and a chain to another root.
	_, err = NewFabric(1, fab.RCAC.Cert, fab.Nodes[0].TLV, nil, fab.Nodes[1].Key, fab.IPK)
	require.ErrorIs(t, err, ErrConfig)
	other := mint(t, mintOther)
	_, err = NewFabric(1, other.RCAC.Cert, fab.Nodes[0].TLV, nil, fab.Nodes[0].Key, fab.IPK)
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewFabric(1, fab.RCAC.Cert, fab.Nodes[0].TLV, nil, fab.Nodes[0].Key)
	require.ErrorIs(t, err, ErrConfig, "no IPK")
}

// The initiator uses the IPK of the second oldest epoch key when there
// are several (SDK RecoverInitiatorIpk); the responder tries them all.
func TestIPKEpochChoice(t *testing.T) {
	fab := mint(t, mintDefault)
	k1, k2, k3 := [16]byte{1}, fab.IPK, [16]byte{3}
	ini, err := NewFabric(1, fab.RCAC.Cert, fab.Nodes[0].TLV, nil, fab.Nodes[0].Key, k1, k2, k3)
	require.NoError(t, err)
	require.Equal(t, ini.IPKs[1], ini.initiatorIPK())
	// The responder only knows k2, as its newest key.
	resp, err := NewFabric(3, fab.RCAC.Cert, fab.Nodes[1].TLV, nil, fab.Nodes[1].Key, [16]byte{9}, k2)
	require.NoError(t, err)
	i, r := newPair(t, pairOpts{fab: fab, seed: 3, initFabric: ini, respFabrics: []*Fabric{resp}})
	_, iErr, rErr := drive(t, i, r, 0, nil)
	require.NoError(t, iErr)
	require.NoError(t, rErr)
}
