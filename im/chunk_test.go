package im

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func fullRead(t *testing.T, l *Light) *ReportData {
	rep, st := NewServer(l.Node).Read(NewReadRequest(AttributePathWildcard()))
	require.Equal(t, StatusSuccess, st)
	return rep
}

func TestSplitReport(t *testing.T) {
	l := NewLight(InteropBasicInfo(), 1)
	rep := fullRead(t, l)
	rep.SubscriptionID, rep.HasSubscriptionID = 9, true
	whole := AppendReportData(nil, rep)
	require.Greater(t, len(whole), DefaultMaxPayload, "the full wildcard read must need chunking")
	for _, budget := range []int{0, DefaultMaxPayload, 600, 300, 120} {
		chunks := SplitReport(rep, budget)
		limit := budget
		if limit == 0 {
			limit = DefaultMaxPayload
		}
		require.Greater(t, len(chunks), 1, "budget %d", budget)
		var ra Reassembler
		var got *ReportData
		for i, c := range chunks {
			require.LessOrEqual(t, len(c), limit, "budget %d chunk %d", budget, i)
			var m ReportData
			require.NoError(t, DecodeReportData(c, &m))
			require.Equal(t, uint32(9), m.SubscriptionID)
			last := i == len(chunks)-1
			require.Equal(t, !last, m.MoreChunkedMessages, "chunk %d", i)
			require.Equal(t, last, m.SuppressResponse, "only the last chunk may suppress the response")
			require.NotEmpty(t, m.AttributeReports)
			full, done, err := ra.Add(&m)
			require.NoError(t, err)
			require.Equal(t, last, done)
			if done {
				got = full
			}
		}
		require.Equal(t, rep.AttributeReports, got.AttributeReports, "reassembly restores the report")
		require.True(t, got.SuppressResponse)
		require.False(t, ra.Pending())
	}
	// Greedy packing: no chunk could have taken the next chunk's first IB.
	chunks := SplitReport(rep, DefaultMaxPayload)
	for i := 0; i+1 < len(chunks); i++ {
		var a, b ReportData
		require.NoError(t, DecodeReportData(chunks[i], &a))
		require.NoError(t, DecodeReportData(chunks[i+1], &b))
		a.AttributeReports = append(a.AttributeReports, b.AttributeReports[0])
		require.Greater(t, len(AppendReportData(nil, &a)), DefaultMaxPayload)
	}
}

func TestSplitReportEdges(t *testing.T) {
	l := NewLight(InteropBasicInfo(), 1)
	rep := fullRead(t, l)
	// A small report is one chunk, byte-identical to the plain encoding.
	small := &ReportData{AttributeReports: rep.AttributeReports[:2], SuppressResponse: true, Revision: Revision}
	require.Equal(t, [][]byte{AppendReportData(nil, small)}, SplitReport(small, 0))
	// An empty keep-alive is one chunk.
	ka := &ReportData{SubscriptionID: 1, HasSubscriptionID: true, SuppressResponse: true}
	require.Len(t, SplitReport(ka, 10), 1)
	// A budget below one IB: every IB travels alone, none is lost.
	chunks := SplitReport(rep, 20)
	require.Len(t, chunks, len(rep.AttributeReports))
}

// A chunked Read on an exchange: each chunk answered by a StatusResponse.
func TestHandleExchangeChunkedRead(t *testing.T) {
	l := NewLight(InteropBasicInfo(), 1)
	s := NewServer(l.Node)
	req := AppendReadRequest(nil, NewReadRequest(AttributePathWildcard()))
	// Handle keeps its one-message behaviour.
	op, out, _ := s.Handle(nil, OpReadRequest, req)
	require.Equal(t, OpStatusResponse, op)
	var sr StatusResponse
	require.NoError(t, DecodeStatusResponse(out, &sr))
	require.Equal(t, StatusResourceExhausted, sr.Status)

	var x Exchange
	var ra Reassembler
	op, out, ok := s.HandleExchange(0, &x, nil, OpReadRequest, req)
	n := 0
	for {
		require.True(t, ok)
		require.Equal(t, OpReportData, op)
		require.LessOrEqual(t, len(out), DefaultMaxPayload)
		var m ReportData
		require.NoError(t, DecodeReportData(out, &m))
		n++
		full, done, err := ra.Add(&m)
		require.NoError(t, err)
		if done {
			require.Equal(t, fullRead(t, l).AttributeReports, full.AttributeReports)
			require.False(t, x.Open())
			break
		}
		require.True(t, x.Open())
		op, out, ok = s.HandleExchange(0, &x, nil, OpStatusResponse, success())
	}
	require.Greater(t, n, 1)

	// A failure status from the client ends the report.
	x = Exchange{}
	s.HandleExchange(0, &x, nil, OpReadRequest, req)
	_, _, ok = s.HandleExchange(0, &x, nil, OpStatusResponse, AppendStatusResponse(nil, &StatusResponse{Status: StatusFailure}))
	require.False(t, ok)
	require.False(t, x.Open())
}

// A priming report larger than one message is chunked, each chunk
// acknowledged, and the client sees one reassembled report.
func TestSubscribeChunkedPriming(t *testing.T) {
	l := newLink(t, 0, 60, AttributePathWildcard())
	var sizes []int
	l.c.Start(0)
	// Count the chunks on the way by running the exchange by hand.
	o, _ := l.c.Poll()
	l.rig.e.HandleSubscribeRequest(0, 1, o.Payload)
	for {
		so, ok := l.rig.e.Poll()
		if !ok {
			break
		}
		if so.Kind != SubSend {
			continue
		}
		if so.Opcode == OpReportData {
			sizes = append(sizes, len(so.Payload))
		}
		l.c.HandleMessage(0, so.Opcode, so.Payload)
		for {
			co, ok := l.c.Poll()
			if !ok {
				break
			}
			switch co.Kind {
			case ClientSend:
				l.rig.e.HandleStatusResponse(0, so.Subscription, co.Payload)
			case ClientReport:
				l.reports++
				require.Equal(t, fullRead(t, l.rig.light).AttributeReports, co.Report.AttributeReports)
			case ClientEstablished:
				l.established++
			}
		}
	}
	require.Greater(t, len(sizes), 1)
	for _, n := range sizes {
		require.LessOrEqual(t, n, DefaultMaxPayload)
	}
	require.Equal(t, 1, l.reports)
	require.Equal(t, 1, l.established)
	require.Equal(t, ClientActive, l.c.State())
}

// A publisher that never sends the last chunk cannot make the client hold
// an unbounded report: chunk MaxChunks+1 is refused and the partial report
// dropped; the next report starts afresh.
func TestReassemblerBounded(t *testing.T) {
	var ra Reassembler
	more := &ReportData{SubscriptionID: 1, HasSubscriptionID: true, MoreChunkedMessages: true,
		AttributeReports: []AttributeReport{{}}}
	for i := 0; i < MaxChunks; i++ {
		_, done, err := ra.Add(more)
		require.NoError(t, err, "chunk %d", i)
		require.False(t, done)
	}
	_, done, err := ra.Add(more)
	require.ErrorIs(t, err, ErrTooManyChunks)
	require.False(t, done)
	require.False(t, ra.Pending(), "the partial report is dropped")
	last := &ReportData{SubscriptionID: 1, HasSubscriptionID: true, AttributeReports: []AttributeReport{{}}}
	full, done, err := ra.Add(last)
	require.NoError(t, err)
	require.True(t, done)
	require.Len(t, full.AttributeReports, 1)
}
