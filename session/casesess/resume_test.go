package casesess

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session/cert/testca"
	"mattersim/session/status"
)

// full runs a full handshake between node 0 (initiator, fabric index 1)
// and node 1 (responder, index 3) of fab, filling both tables.
func full(t *testing.T, fab *testca.Fabric, seed uint64, iTab, rTab *Resumption) {
	t.Helper()
	ini, resp := newPair(t, pairOpts{fab: fab, seed: seed, iTable: iTab, rTable: rTab})
	msgs, iErr, rErr := drive(t, ini, resp, 0, nil)
	require.NoError(t, iErr)
	require.NoError(t, rErr)
	require.Equal(t, []uint8{OpSigma1, OpSigma2, OpSigma3, OpStatusReport}, opcodes(msgs))
}

var (
	iPeer = func(fab *testca.Fabric) Peer { return Peer{FabricIndex: 1, NodeID: fab.NodeID(1)} }
	rPeer = func(fab *testca.Fabric) Peer { return Peer{FabricIndex: 3, NodeID: fab.NodeID(0)} }
)

// Spec 4.14.2.5: a Sigma1 carrying a known resumption id and a valid
// initiatorResumeMIC is answered with Sigma2_Resume; both sides derive the
// resumption keys from the stored shared secret and move the record to the
// new resumption id. It can be repeated.
func TestSpec_4_14_2_5_Resumption(t *testing.T) {
	fab := mint(t, testca.Options{Seed: 9, CATs: []uint32{0x00020003}})
	iTab, rTab := NewResumption(0), NewResumption(0)
	full(t, fab, 1, iTab, rTab)
	for round := range 3 {
		before, _ := iTab.ByPeer(iPeer(fab))
		ini, resp := newPair(t, pairOpts{fab: fab, seed: uint64(10 + round), iTable: iTab, rTable: rTab})
		msgs, iErr, rErr := drive(t, ini, resp, 0, nil)
		require.NoError(t, iErr)
		require.NoError(t, rErr)
		require.True(t, ini.Resuming())
		require.Equal(t, []uint8{OpSigma1, OpSigma2Resume, OpStatusReport}, opcodes(msgs))
		var s1 Sigma1
		require.NoError(t, s1.Decode(msgs[0].payload))
		require.Equal(t, before.ResumptionID, *s1.ResumptionID)
		ri, ok := ini.Result()
		require.True(t, ok)
		rr, ok := resp.Result()
		require.True(t, ok)
		require.True(t, ri.Resumed)
		require.True(t, rr.Resumed)
		require.Equal(t, ri.Keys, rr.Keys)
		require.Equal(t, fab.NodeID(1), ri.PeerNodeID)
		require.Equal(t, fab.NodeID(0), rr.PeerNodeID)
		require.Equal(t, []uint32{0x00020003}, ri.PeerCATs)
		require.Equal(t, []uint32{0x00020003}, rr.PeerCATs)
		require.Equal(t, 4*time.Second, ri.PeerParams.ActiveThreshold)

		var s2 Sigma2Resume
		require.NoError(t, s2.Decode(msgs[1].payload))
		ir, _ := iTab.ByPeer(iPeer(fab))
		rrec, _ := rTab.ByPeer(rPeer(fab))
		require.Equal(t, s2.ResumptionID, ir.ResumptionID)
		require.Equal(t, s2.ResumptionID, rrec.ResumptionID)
		require.NotEqual(t, before.ResumptionID, ir.ResumptionID)
		require.Equal(t, before.SharedSecret, ir.SharedSecret)
		_, ok = rTab.ByID(before.ResumptionID)
		require.False(t, ok, "the old resumption id is gone")
	}
}

// An unknown resumption id, a wrong MIC, a responder without a table, or
// a record whose fabric the responder no longer has: the responder falls
// back to a full handshake (connectedhomeip HandleSigma1 after a failed
// TryResumeSession; matter.js CaseServer #resume returns false), and the
// initiator accepts the Sigma2.
func TestResumptionFallback(t *testing.T) {
	fab := mint(t, testca.Options{Seed: 9})
	cases := []struct {
		name  string
		setup func(iTab, rTab *Resumption) *Resumption // returns the responder's table
		mutR  func(*ResponderConfig)
	}{
		{"unknown resumption id", func(iTab, rTab *Resumption) *Resumption {
			rec, _ := iTab.ByPeer(iPeer(fab))
			rec.ResumptionID[0] ^= 0xFF
			iTab.Save(rec)
			return rTab
		}, nil},
		{"bad initiatorResumeMIC", func(iTab, rTab *Resumption) *Resumption {
			rec, _ := iTab.ByPeer(iPeer(fab))
			rec.SharedSecret = append([]byte(nil), rec.SharedSecret...)
			rec.SharedSecret[0] ^= 1
			iTab.Save(rec)
			return rTab
		}, nil},
		{"responder keeps no records", func(iTab, rTab *Resumption) *Resumption { return nil }, nil},
		{"record of a removed fabric", func(iTab, rTab *Resumption) *Resumption { return rTab },
			func(c *ResponderConfig) { c.Fabrics[0] = withIndex(c.Fabrics[0], 4) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iTab, rTab := NewResumption(0), NewResumption(0)
			full(t, fab, 1, iTab, rTab)
			rt := tc.setup(iTab, rTab)
			ini, resp := newPair(t, pairOpts{fab: fab, seed: 20, iTable: iTab, rTable: rt, mutR: tc.mutR})
			msgs, iErr, rErr := drive(t, ini, resp, 0, nil)
			require.NoError(t, iErr)
			require.NoError(t, rErr)
			require.True(t, ini.Resuming())
			require.Equal(t, []uint8{OpSigma1, OpSigma2, OpSigma3, OpStatusReport}, opcodes(msgs))
			ri, _ := ini.Result()
			rr, _ := resp.Result()
			require.False(t, ri.Resumed)
			require.Equal(t, ri.Keys, rr.Keys)
			// The initiator's record now holds the fresh resumption id and secret.
			rec, ok := iTab.ByPeer(iPeer(fab))
			require.True(t, ok)
			if rt != nil {
				rrec, ok := rt.ByID(rec.ResumptionID)
				require.True(t, ok)
				require.Equal(t, rec.SharedSecret, rrec.SharedSecret)
			}
		})
	}
}

func withIndex(f *Fabric, index uint8) *Fabric {
	g := *f
	g.Index = index
	return &g
}

// A tampered sigma2ResumeMIC is refused with INVALID_PARAMETER; the
// responder learns it from the report and the records stay as they were.
func TestSigma2ResumeBadMIC(t *testing.T) {
	fab := mint(t, testca.Options{Seed: 9})
	iTab, rTab := NewResumption(0), NewResumption(0)
	full(t, fab, 1, iTab, rTab)
	before, _ := iTab.ByPeer(iPeer(fab))
	ini, resp := newPair(t, pairOpts{fab: fab, seed: 30, iTable: iTab, rTable: rTab})
	msgs, iErr, rErr := drive(t, ini, resp, 0, func(k int, m *wireMsg) {
		if m.opcode == OpSigma2Resume {
			var s Sigma2Resume
			require.NoError(t, s.Decode(m.payload))
			s.Sigma2ResumeMIC[3] ^= 1
			m.payload = s.Append(nil)
		}
	})
	require.ErrorIs(t, iErr, ErrResumeMIC)
	require.Equal(t, status.InvalidParam(), decodeReport(t, msgs[len(msgs)-1]))
	var pe *PeerStatusError
	require.ErrorAs(t, rErr, &pe)
	require.Equal(t, StateWaitStatus, pe.State)
	after, _ := iTab.ByPeer(iPeer(fab))
	require.Equal(t, before, after)
	rrec, ok := rTab.ByID(before.ResumptionID)
	require.True(t, ok)
	require.Equal(t, before.SharedSecret, rrec.SharedSecret)
}

// A Sigma2_Resume the initiator did not ask for, or any message of a type
// the state does not expect, ends the handshake without a report, as
// connectedhomeip CASESession::OnMessageReceived does
// (CHIP_ERROR_INVALID_MESSAGE_TYPE → AbortPendingEstablish).
func TestUnexpectedMessageTypes(t *testing.T) {
	ini, _ := newPair(t, pairOpts{seed: 1})
	_, err := ini.Start(0)
	require.NoError(t, err)
	m := Sigma2Resume{ResponderSessionID: 5}
	out, err := ini.Handle(0, OpSigma2Resume, m.Append(nil))
	require.ErrorIs(t, err, ErrUnexpectedMessage)
	require.False(t, out.Send)
	require.Equal(t, StateFailed, ini.State())

	ini, resp := newPair(t, pairOpts{seed: 1})
	s1, err := ini.Start(0)
	require.NoError(t, err)
	out, err = resp.Handle(0, OpSigma3, nil)
	require.ErrorIs(t, err, ErrUnexpectedMessage, "Sigma3 before Sigma1")
	require.False(t, out.Send)
	require.Equal(t, StateIdle, resp.State(), "a responder that has not started stays ready for Sigma1")
	_, err = resp.Handle(0, s1.Opcode, s1.Payload)
	require.NoError(t, err)
	out, err = resp.Handle(0, OpSigma1, s1.Payload)
	require.ErrorIs(t, err, ErrUnexpectedMessage, "a second Sigma1 on the exchange")
	require.False(t, out.Send)
	require.Equal(t, StateFailed, resp.State())
	_, err = resp.Handle(0, OpSigma3, nil)
	require.ErrorIs(t, err, ErrFinished)
}

// The table holds one record per peer, replaces on save, and evicts the
// record saved longest ago when full; the order depends only on the calls.
func TestResumptionTableBound(t *testing.T) {
	tab := NewResumption(3)
	rec := func(node uint64, id byte) Record {
		r := Record{Peer: Peer{FabricIndex: 1, NodeID: node}, SharedSecret: []byte{id}}
		r.ResumptionID[0] = id
		return r
	}
	for i := range 5 {
		tab.Save(rec(uint64(i+1), byte(i+1)))
	}
	require.Equal(t, 3, tab.Len())
	for i, want := range []bool{false, false, true, true, true} {
		_, ok := tab.ByPeer(Peer{FabricIndex: 1, NodeID: uint64(i + 1)})
		require.Equal(t, want, ok, "node %d", i+1)
	}
	// Saving node 3 again (new id) refreshes it: node 4 is now the oldest.
	tab.Save(rec(3, 33))
	_, ok := tab.ByID([ResumptionIDLen]byte{3})
	require.False(t, ok)
	tab.Save(rec(6, 6))
	_, ok = tab.ByPeer(Peer{FabricIndex: 1, NodeID: 4})
	require.False(t, ok)
	got, ok := tab.ByID([ResumptionIDLen]byte{33})
	require.True(t, ok)
	require.Equal(t, uint64(3), got.Peer.NodeID)
	tab.Delete(Peer{FabricIndex: 1, NodeID: 3})
	require.Equal(t, 2, tab.Len())
	_, ok = tab.ByID([ResumptionIDLen]byte{33})
	require.False(t, ok)
	var nilTab *Resumption
	_, ok = nilTab.ByPeer(Peer{})
	require.False(t, ok)
}

func TestResumptionDeleteFabric(t *testing.T) {
	tab := NewResumption(0)
	for i, p := range []Peer{{1, 10}, {1, 11}, {2, 10}} {
		tab.Save(Record{Peer: p, ResumptionID: [ResumptionIDLen]byte{byte(i + 1)}, SharedSecret: []byte{1}})
	}
	tab.DeleteFabric(1)
	require.Equal(t, 1, tab.Len())
	_, ok := tab.ByID([ResumptionIDLen]byte{1})
	require.False(t, ok)
	_, ok = tab.ByPeer(Peer{1, 11})
	require.False(t, ok)
	_, ok = tab.ByPeer(Peer{2, 10})
	require.True(t, ok)
	var none *Resumption
	none.DeleteFabric(1) // a nil table is empty
}

// Records lists oldest first, and saving them in order into a new table
// rebuilds one with the same eviction order.
func TestResumptionRecordsRoundTrip(t *testing.T) {
	tab := NewResumption(3)
	for i := range 5 {
		tab.Save(Record{Peer: Peer{FabricIndex: 1, NodeID: uint64(i)}, ResumptionID: [ResumptionIDLen]byte{byte(i)},
			SharedSecret: []byte{byte(i)}})
	}
	tab.Save(Record{Peer: Peer{FabricIndex: 1, NodeID: 2}, ResumptionID: [ResumptionIDLen]byte{9}, SharedSecret: []byte{9}})
	recs := tab.Records()
	require.Len(t, recs, 3)
	var ids []uint64
	for _, r := range recs {
		ids = append(ids, r.Peer.NodeID)
	}
	require.Equal(t, []uint64{3, 4, 2}, ids)
	cp := NewResumption(3)
	for _, r := range recs {
		cp.Save(r)
	}
	require.Equal(t, recs, cp.Records())
	cp.Save(Record{Peer: Peer{FabricIndex: 1, NodeID: 7}, ResumptionID: [ResumptionIDLen]byte{7}})
	_, ok := cp.ByPeer(Peer{FabricIndex: 1, NodeID: 3})
	require.False(t, ok, "the oldest record is evicted first")
	require.Nil(t, (*Resumption)(nil).Records())
}
