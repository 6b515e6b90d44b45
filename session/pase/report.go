package pase

import (
	"time"

	"mattersim/session/status"
)

// The StatusReports PASE sends (spec 4.11.1, Appendix D; codec in package
// status).

func reportOutput(r status.Report) Output {
	return Output{Send: true, Opcode: OpStatusReport, Payload: r.Append(nil)}
}

// failureOutput is the StatusReport the SDK and matter.js send on any PASE
// error: FAILURE / SecureChannel / INVALID_PARAMETER (connectedhomeip
// PASESession::OnSessionEstablishmentError path, matter.js PaseServer).
func failureOutput() Output { return reportOutput(status.InvalidParam()) }

// successOutput ends a successful PASE: SUCCESS / SecureChannel /
// SESSION_ESTABLISHMENT_SUCCESS (spec 4.14.1.3).
func successOutput() Output { return reportOutput(status.SessionEstablished()) }

// busyOutput is StatusReport(BUSY, SecureChannel, BUSY, wait ms u16 LE)
// (connectedhomeip StatusReport::MakeBusyStatusReportMessage).
func busyOutput(wait time.Duration) Output { return reportOutput(status.Busy(wait)) }

// decodeStatus parses a StatusReport payload; a short one is a
// *MessageError wrapping the codec's *status.DecodeError.
func decodeStatus(payload []byte) (status.Report, error) {
	r, err := status.Decode(payload)
	if err != nil {
		return r, &MessageError{Opcode: OpStatusReport, Reason: "too short", Err: err}
	}
	return r, nil
}

// isInvalidParam reports a SecureChannel INVALID_PARAMETER report (any
// general code), the answer to a failed key confirmation.
func isInvalidParam(r status.Report) bool {
	return r.Protocol == status.SecureChannel && r.Code == status.CodeInvalidParameter
}
