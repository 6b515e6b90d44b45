package im

import (
	"time"

	"mattersim/clock"
)

// Exchange is the state a Server keeps for one exchange across several
// messages: a Timed interaction's window (the Timed interaction: a TimedRequest, then
// the Write or Invoke it announces within Timeout) and the remaining
// chunks of a chunked Read report. The zero value is a fresh exchange.
type Exchange struct {
	timed  bool       // a TimedRequest was accepted; the action is awaited
	limit  clock.Time // ... and must arrive no later than this
	chunks [][]byte   // report chunks not yet sent
	more   bool       // the exchange expects another message from the client
}

// Open reports whether the exchange expects another message from the
// client (the action after a TimedRequest, or the StatusResponse to a
// report chunk); when false the driver may close it.
func (x *Exchange) Open() bool { return x.more }

// HandleExchange is Handle for a driver that keeps an Exchange per
// exchange: it adds the Timed interaction, Write, and chunked Read
// reports. now is the arrival time of the message.
//
//   - TimedRequest → StatusResponse SUCCESS, opening a window of Timeout
//     ms for the action; malformed → INVALID_ACTION. The action
//     (WriteRequest or InvokeRequest with TimedRequest set) arriving
//     after the window gets StatusResponse UNSUPPORTED_ACCESS, as
//     connectedhomeip's TimedHandler sends ("time is up", src/app/
//     TimedHandler.cpp; arrival exactly at the limit is still in time);
//     any other message after a TimedRequest gets INVALID_ACTION within
//     the window and UNSUPPORTED_ACCESS after it (the SDK checks the time
//     first).
//   - WriteRequest → WriteResponse (Server.Write), or StatusResponse
//     TIMED_REQUEST_MISMATCH / INVALID_ACTION; no answer when
//     SuppressResponse is set.
//   - ReadRequest → ReportData as Handle, except that a report larger than
//     MaxPayload is chunked (SplitReport) instead of answered with
//     RESOURCE_EXHAUSTED: each chunk but the last has MoreChunkedMessages
//     and expects a StatusResponse, which brings the next chunk; the last
//     has SuppressResponse. A non-SUCCESS StatusResponse ends the report.
//   - everything else as Handle (Invoke, StatusResponse, unknown opcodes).
func (s *Server) HandleExchange(now clock.Time, x *Exchange, dst []byte, op Opcode, payload []byte) (Opcode, []byte, bool) {
	x.more = false
	if x.timed {
		x.timed = false
		// TimedHandler::OnMessageReceived checks the time limit first,
		// then the message type.
		if now > x.limit {
			return s.status(dst, StatusUnsupportedAccess)
		}
		if op != OpWriteRequest && op != OpInvokeRequest {
			return s.status(dst, StatusInvalidAction)
		}
		return s.action(dst, op, payload, true)
	}
	if len(x.chunks) > 0 {
		if op == OpStatusResponse {
			var sr StatusResponse
			if err := DecodeStatusResponse(payload, &sr); err != nil || sr.Status != StatusSuccess {
				x.chunks = nil
				return 0, dst, false
			}
			return s.nextChunk(x, dst)
		}
		x.chunks = nil // the client moved on: drop the rest of the report
	}
	switch op {
	case OpTimedRequest:
		var tr TimedRequest
		if err := DecodeTimedRequest(payload, &tr); err != nil {
			return s.status(dst, StatusInvalidAction)
		}
		x.timed, x.limit, x.more = true, now.Add(time.Duration(tr.Timeout)*time.Millisecond), true
		return s.status(dst, StatusSuccess)
	case OpWriteRequest:
		return s.action(dst, op, payload, false)
	case OpReadRequest:
		var req ReadRequest
		if err := DecodeReadRequest(payload, &req); err != nil {
			return s.status(dst, StatusInvalidAction)
		}
		rep, st := s.Read(&req)
		if st != StatusSuccess {
			return s.status(dst, st)
		}
		limit := s.maxPayload()
		if limit < 0 {
			return OpReportData, AppendReportData(dst, rep), true
		}
		x.chunks = SplitReport(rep, limit)
		return s.nextChunk(x, dst)
	}
	return s.Handle(dst, op, payload)
}

func (s *Server) nextChunk(x *Exchange, dst []byte) (Opcode, []byte, bool) {
	c := x.chunks[0]
	x.chunks = x.chunks[1:]
	if len(x.chunks) == 0 {
		x.chunks = nil
	} else {
		x.more = true
	}
	return OpReportData, append(dst, c...), true
}

// action runs a Write or Invoke, timed or not.
func (s *Server) action(dst []byte, op Opcode, payload []byte, timed bool) (Opcode, []byte, bool) {
	if op == OpInvokeRequest {
		var req InvokeRequest
		if err := DecodeInvokeRequest(payload, &req); err != nil {
			return s.status(dst, StatusInvalidAction)
		}
		res, st := s.invoke(&req, timed)
		if st != StatusSuccess {
			return s.status(dst, st)
		}
		if req.SuppressResponse {
			return 0, dst, false
		}
		return OpInvokeResponse, AppendInvokeResponse(dst, res), true
	}
	var req WriteRequest
	if err := DecodeWriteRequest(payload, &req); err != nil {
		return s.status(dst, StatusInvalidAction)
	}
	res, st := s.Write(&req, timed)
	if st != StatusSuccess {
		return s.status(dst, st)
	}
	if req.SuppressResponse {
		return 0, dst, false
	}
	return OpWriteResponse, AppendWriteResponse(dst, res), true
}
