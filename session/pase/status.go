package pase

import (
	"encoding/binary"
	"fmt"
	"time"
)

// StatusReport fields PASE uses (spec 4.11.1 "Status Report", Appendix D
// secure channel codes; connectedhomeip src/protocols/secure_channel/
// Constants.h and StatusReport.cpp). Layout: general code u16 LE,
// protocol id u32 LE (vendor<<16 | protocol), protocol code u16 LE,
// optional protocol data.
const (
	GeneralSuccess uint16 = 0
	GeneralFailure uint16 = 1
	GeneralBusy    uint16 = 8

	ProtocolIDSecureChannel uint32 = 0

	CodeSessionEstablishmentSuccess uint16 = 0
	CodeInvalidParameter            uint16 = 2
	CodeBusy                        uint16 = 4
)

// StatusReport is a decoded StatusReport payload.
type StatusReport struct {
	GeneralCode  uint16
	ProtocolID   uint32
	ProtocolCode uint16
	Data         []byte
}

// Append encodes s.
func (s *StatusReport) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, s.GeneralCode)
	b = binary.LittleEndian.AppendUint32(b, s.ProtocolID)
	b = binary.LittleEndian.AppendUint16(b, s.ProtocolCode)
	return append(b, s.Data...)
}

// Decode parses a StatusReport; Data aliases b.
func (s *StatusReport) Decode(b []byte) error {
	if len(b) < 8 {
		return &MessageError{Opcode: OpStatusReport, Reason: fmt.Sprintf("%d bytes, want at least 8", len(b))}
	}
	s.GeneralCode = binary.LittleEndian.Uint16(b)
	s.ProtocolID = binary.LittleEndian.Uint32(b[2:])
	s.ProtocolCode = binary.LittleEndian.Uint16(b[6:])
	s.Data = b[8:len(b):len(b)]
	return nil
}

// IsSuccess reports a SUCCESS / SecureChannel / SESSION_ESTABLISHMENT_SUCCESS.
func (s *StatusReport) IsSuccess() bool {
	return s.GeneralCode == GeneralSuccess && s.ProtocolID == ProtocolIDSecureChannel &&
		s.ProtocolCode == CodeSessionEstablishmentSuccess
}

// BusyWait returns the minimum wait of a BUSY report (u16 LE milliseconds).
func (s *StatusReport) BusyWait() (time.Duration, bool) {
	if s.ProtocolID != ProtocolIDSecureChannel || s.ProtocolCode != CodeBusy || len(s.Data) < 2 {
		return 0, false
	}
	return time.Duration(binary.LittleEndian.Uint16(s.Data)) * time.Millisecond, true
}

func statusOutput(general, code uint16, data []byte) Output {
	s := StatusReport{GeneralCode: general, ProtocolID: ProtocolIDSecureChannel, ProtocolCode: code, Data: data}
	return Output{Send: true, Opcode: OpStatusReport, Payload: s.Append(nil)}
}

// failureOutput is the StatusReport the SDK and matter.js send on any PASE
// error: FAILURE / SecureChannel / INVALID_PARAMETER (connectedhomeip
// PASESession::OnSessionEstablishmentError path, matter.js PaseServer).
func failureOutput() Output { return statusOutput(GeneralFailure, CodeInvalidParameter, nil) }

func successOutput() Output {
	return statusOutput(GeneralSuccess, CodeSessionEstablishmentSuccess, nil)
}

// busyOutput is StatusReport(BUSY, SecureChannel, BUSY, wait ms u16 LE)
// (connectedhomeip StatusReport::MakeBusyStatusReportMessage).
func busyOutput(wait time.Duration) Output {
	ms := wait.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	if ms > 0xFFFF {
		ms = 0xFFFF
	}
	return statusOutput(GeneralBusy, CodeBusy, binary.LittleEndian.AppendUint16(nil, uint16(ms)))
}
