package im

import "errors"

// Chunking (spec 8.4.3, and the Subscribe interaction, spec 8.5): a ReportData that does
// not fit one message is sent as several, every one but the last with
// MoreChunkedMessages set; the client answers each chunk with a
// StatusResponse SUCCESS before the next is sent. connectedhomeip fills
// each chunk up to the packet buffer less its reserved overhead
// (src/app/reporting/Engine.cpp, kReservedSizeForTLVEncodingOverhead);
// here the budget is DefaultMaxPayload, the IM payload that fits one
// secure unicast message in the 1232-byte IPv6 UDP budget.

// SplitReport encodes rep as one or more ReportData payloads of at most
// budget bytes each (budget <= 0: DefaultMaxPayload) and returns them in
// order. Every chunk carries rep's SubscriptionID and Revision; all but the
// last set MoreChunkedMessages and never SuppressResponse (the client must
// answer them), the last keeps rep's SuppressResponse. AttributeReportIBs
// are never split: one larger than the budget travels alone in an
// oversized chunk (splitting a list attribute into list-item writes, as
// the SDK does, is not implemented). A report with no AttributeReportIBs is
// one chunk. rep is not modified.
func SplitReport(rep *ReportData, budget int) [][]byte {
	if budget <= 0 {
		budget = DefaultMaxPayload
	}
	whole := AppendReportData(nil, rep)
	if len(whole) <= budget || len(rep.AttributeReports) <= 1 {
		return [][]byte{whole}
	}
	// The size of a chunk is the size of the empty envelope plus the sum of
	// its IBs' encodings: the array's members are independent elements.
	env := *rep
	env.AttributeReports = []AttributeReport{}
	env.MoreChunkedMessages = true
	env.SuppressResponse = false
	base := len(AppendReportData(nil, &env))
	one := make([]AttributeReport, 1)
	var out [][]byte
	start, size := 0, base
	flush := func(end int, last bool) {
		c := env
		c.AttributeReports = rep.AttributeReports[start:end]
		if last {
			c.MoreChunkedMessages = rep.MoreChunkedMessages
			c.SuppressResponse = rep.SuppressResponse
		}
		out = append(out, AppendReportData(nil, &c))
		start, size = end, base
	}
	var scratch []byte
	for i := range rep.AttributeReports {
		one[0] = rep.AttributeReports[i]
		env.AttributeReports = one
		scratch = AppendReportData(scratch[:0], &env)
		n := len(scratch) - base
		if i > start && size+n > budget {
			flush(i, false)
		}
		size += n
	}
	env.AttributeReports = []AttributeReport{}
	flush(len(rep.AttributeReports), true)
	return out
}

// Reassembler joins the chunks of one chunked ReportData on the client
// side. The zero value is ready; it is not safe for concurrent use.
type Reassembler struct {
	acc     ReportData
	pending bool
	chunks  int
}

// MaxChunks bounds the chunks of one report a Reassembler holds (about
// 1.2 MB of reports at DefaultMaxPayload): a publisher that never sends
// the last chunk cannot make a client hold an unbounded report. The SDK's
// ReadClient streams chunks to its callback and holds none; we join them,
// so we need the bound.
const MaxChunks = 1024

// ErrTooManyChunks is returned by Reassembler.Add for the chunk after
// MaxChunks of one report; the partial report is dropped.
var ErrTooManyChunks = errors.New("im: chunked report longer than MaxChunks chunks")

// Add takes one decoded chunk. It returns the whole report (and true) when
// m is the last chunk (MoreChunkedMessages false), else nil and false. The
// returned report owns its slices; SubscriptionID and SuppressResponse come
// from the last chunk. A report of more than MaxChunks chunks is dropped
// with ErrTooManyChunks.
func (r *Reassembler) Add(m *ReportData) (*ReportData, bool, error) {
	if !r.pending {
		r.acc = ReportData{}
		r.pending = true
		r.chunks = 0
	}
	if r.chunks++; r.chunks > MaxChunks {
		r.Reset()
		return nil, false, ErrTooManyChunks
	}
	r.acc.AttributeReports = append(r.acc.AttributeReports, m.AttributeReports...)
	if m.EventReports != nil {
		r.acc.EventReports = m.EventReports
	}
	if m.MoreChunkedMessages {
		return nil, false, nil
	}
	r.acc.SubscriptionID, r.acc.HasSubscriptionID = m.SubscriptionID, m.HasSubscriptionID
	r.acc.SuppressResponse, r.acc.Revision = m.SuppressResponse, m.Revision
	out := r.acc
	r.acc, r.pending, r.chunks = ReportData{}, false, 0
	return &out, true, nil
}

// Pending reports whether chunks have been added without the last one.
func (r *Reassembler) Pending() bool { return r.pending }

// Reset drops a partial report (the exchange failed).
func (r *Reassembler) Reset() { r.acc, r.pending, r.chunks = ReportData{}, false, 0 }
