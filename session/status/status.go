// Package status is the Matter StatusReport codec (spec Appendix D "Status
// Report Messages"; secure channel protocol codes, spec 4.11.1 / 4.10.1.2).
//
// Wire layout, little-endian and not TLV:
//
//	GeneralCode  u16
//	ProtocolID   u32   vendor<<16 | protocol
//	ProtocolCode u16
//	ProtocolData rest of the payload (optional)
//
// (connectedhomeip src/protocols/secure_channel/StatusReport.cpp; matter.js
// packages/protocol/src/protocol/ProtocolStatusMessage.ts.)
//
// Unknown general codes, protocols and protocol codes decode as plain
// numbers and print as e.g. "general(99)"; nothing here panics on input.
// A non-success report becomes a *Error (Report.Err) so that callers can
// match a failed handshake with errors.As.
package status

import (
	"encoding/binary"
	"fmt"
	"time"
)

// GeneralCode is a StatusReport general status code (spec Appendix D.3.2;
// connectedhomeip src/protocols/secure_channel/Constants.h GeneralStatusCode;
// matter.js packages/types/src/protocol/definitions/general.ts).
type GeneralCode uint16

// General status codes. GeneralMessageTooLarge (17) is in matter.js only;
// the SDK enum ends at GeneralDataLoss (16).
const (
	GeneralSuccess           GeneralCode = 0
	GeneralFailure           GeneralCode = 1
	GeneralBadPrecondition   GeneralCode = 2
	GeneralOutOfRange        GeneralCode = 3
	GeneralBadRequest        GeneralCode = 4
	GeneralUnsupported       GeneralCode = 5
	GeneralUnexpected        GeneralCode = 6
	GeneralResourceExhausted GeneralCode = 7
	GeneralBusy              GeneralCode = 8
	GeneralTimeout           GeneralCode = 9
	GeneralContinue          GeneralCode = 10
	GeneralAborted           GeneralCode = 11
	GeneralInvalidArgument   GeneralCode = 12
	GeneralNotFound          GeneralCode = 13
	GeneralAlreadyExists     GeneralCode = 14
	GeneralPermissionDenied  GeneralCode = 15
	GeneralDataLoss          GeneralCode = 16
	GeneralMessageTooLarge   GeneralCode = 17
)

var generalNames = [...]string{
	"SUCCESS", "FAILURE", "BAD_PRECONDITION", "OUT_OF_RANGE", "BAD_REQUEST",
	"UNSUPPORTED", "UNEXPECTED", "RESOURCE_EXHAUSTED", "BUSY", "TIMEOUT",
	"CONTINUE", "ABORTED", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "DATA_LOSS", "MESSAGE_TOO_LARGE",
}

// String returns the spec name, e.g. "BUSY", or "general(N)" if unknown.
func (c GeneralCode) String() string {
	if int(c) < len(generalNames) {
		return generalNames[c]
	}
	return fmt.Sprintf("general(%d)", uint16(c))
}

// Known reports whether c is one of the named codes 0-17.
func (c GeneralCode) Known() bool { return int(c) < len(generalNames) }

// ProtocolID is a fully qualified protocol id: vendor<<16 | protocol
// (spec 4.4.3.4 / Appendix D).
type ProtocolID uint32

// Standard protocols (vendor 0; spec "Protocol IDs" table).
const (
	SecureChannel    ProtocolID = 0x0000
	InteractionModel ProtocolID = 0x0001
	BDX              ProtocolID = 0x0002
	UDC              ProtocolID = 0x0003 // user-directed commissioning
)

// NewProtocolID combines a vendor id and a protocol number.
func NewProtocolID(vendor, protocol uint16) ProtocolID {
	return ProtocolID(uint32(vendor)<<16 | uint32(protocol))
}

// Vendor returns the vendor id (upper 16 bits).
func (p ProtocolID) Vendor() uint16 { return uint16(p >> 16) }

// Protocol returns the protocol number (lower 16 bits).
func (p ProtocolID) Protocol() uint16 { return uint16(p) }

// String returns e.g. "SecureChannel" for a standard protocol, or
// "protocol(0xFFF1AABB)".
func (p ProtocolID) String() string {
	switch p {
	case SecureChannel:
		return "SecureChannel"
	case InteractionModel:
		return "InteractionModel"
	case BDX:
		return "BDX"
	case UDC:
		return "UDC"
	}
	return fmt.Sprintf("protocol(%#08x)", uint32(p))
}

// Secure channel protocol codes (spec 4.11.1.4 / Appendix D;
// connectedhomeip src/protocols/secure_channel/Constants.h).
const (
	CodeSessionEstablishmentSuccess uint16 = 0x0000
	CodeNoSharedTrustRoots          uint16 = 0x0001
	CodeInvalidParameter            uint16 = 0x0002
	CodeCloseSession                uint16 = 0x0003
	CodeBusy                        uint16 = 0x0004
	CodeSessionNotFound             uint16 = 0x0005 // SDK kProtocolCodeSessionNotFound (newer spec)
	CodeGeneralFailure              uint16 = 0xFFFF // "no additional details"
)

// CodeName returns the name of a protocol code for protocol p, e.g.
// "CLOSE_SESSION", or "code(N)" if unknown.
func CodeName(p ProtocolID, code uint16) string {
	if p == SecureChannel {
		switch code {
		case CodeSessionEstablishmentSuccess:
			return "SESSION_ESTABLISHMENT_SUCCESS"
		case CodeNoSharedTrustRoots:
			return "NO_SHARED_TRUST_ROOTS"
		case CodeInvalidParameter:
			return "INVALID_PARAMETER"
		case CodeCloseSession:
			return "CLOSE_SESSION"
		case CodeBusy:
			return "BUSY"
		case CodeSessionNotFound:
			return "SESSION_NOT_FOUND"
		case CodeGeneralFailure:
			return "GENERAL_FAILURE"
		}
	}
	return fmt.Sprintf("code(%d)", code)
}

// HeaderLen is the length of the fixed part (without protocol data).
const HeaderLen = 8

// Report is a decoded StatusReport. The zero value is
// StatusReport(SUCCESS, SecureChannel, SESSION_ESTABLISHMENT_SUCCESS).
// Data is protocol-specific; after Decode it aliases the input.
type Report struct {
	General  GeneralCode
	Protocol ProtocolID
	Code     uint16 // protocol-specific status code
	Data     []byte // optional protocol data
}

// DecodeError is a StatusReport payload too short to decode.
type DecodeError struct {
	Len int // bytes given
}

var _ error = (*DecodeError)(nil)

func (e *DecodeError) Error() string {
	return fmt.Sprintf("status: report of %d bytes, want at least %d", e.Len, HeaderLen)
}

// Decode parses a StatusReport payload. Every byte after the fixed header
// is protocol data (r.Data aliases b, capped so appends do not write into b).
func Decode(b []byte) (Report, error) {
	if len(b) < HeaderLen {
		return Report{}, &DecodeError{Len: len(b)}
	}
	r := Report{
		General:  GeneralCode(binary.LittleEndian.Uint16(b)),
		Protocol: ProtocolID(binary.LittleEndian.Uint32(b[2:])),
		Code:     binary.LittleEndian.Uint16(b[6:]),
	}
	if len(b) > HeaderLen {
		r.Data = b[HeaderLen:len(b):len(b)]
	}
	return r, nil
}

// Append appends the encoded report to b.
func (r Report) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.General))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Protocol))
	b = binary.LittleEndian.AppendUint16(b, r.Code)
	return append(b, r.Data...)
}

// Len returns the encoded length.
func (r Report) Len() int { return HeaderLen + len(r.Data) }

// String returns e.g. "BUSY/SecureChannel/BUSY data=8813".
func (r Report) String() string {
	s := r.General.String() + "/" + r.Protocol.String() + "/" + CodeName(r.Protocol, r.Code)
	if len(r.Data) > 0 {
		s += fmt.Sprintf(" data=%x", r.Data)
	}
	return s
}

// IsSuccess reports a general SUCCESS (which includes CloseSession).
func (r Report) IsSuccess() bool { return r.General == GeneralSuccess }

// IsCloseSession reports StatusReport(SUCCESS, SecureChannel, CLOSE_SESSION)
// (spec 4.11.1.4 / 4.10.1.2).
func (r Report) IsCloseSession() bool {
	return r.General == GeneralSuccess && r.Protocol == SecureChannel && r.Code == CodeCloseSession
}

// IsSessionEstablished reports StatusReport(SUCCESS, SecureChannel,
// SESSION_ESTABLISHMENT_SUCCESS), the end of a successful PASE/CASE.
func (r Report) IsSessionEstablished() bool {
	return r.General == GeneralSuccess && r.Protocol == SecureChannel && r.Code == CodeSessionEstablishmentSuccess
}

// BusyWait returns the minimum wait time of a secure channel BUSY report
// (protocol data = u16 LE milliseconds, spec 4.11.1.4 "Busy"). ok is false
// if r is not such a report or the data is missing.
func (r Report) BusyWait() (wait time.Duration, ok bool) {
	// General BUSY with protocol code BUSY, as connectedhomeip
	// PairingSession::HandleStatusReport requires.
	if r.General != GeneralBusy || r.Protocol != SecureChannel || r.Code != CodeBusy || len(r.Data) < 2 {
		return 0, false
	}
	return time.Duration(binary.LittleEndian.Uint16(r.Data)) * time.Millisecond, true
}

// Err returns nil for a general SUCCESS report and a *Error otherwise.
func (r Report) Err() error {
	if r.General == GeneralSuccess {
		return nil
	}
	return &Error{Report: r}
}

// Error is a StatusReport received as the answer to an operation that
// failed, e.g. a handshake rejected with FAILURE/INVALID_PARAMETER. Match
// it with errors.As.
type Error struct {
	Report Report
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return "status: peer reported " + e.Report.String() }

// SessionEstablished is StatusReport(SUCCESS, SecureChannel,
// SESSION_ESTABLISHMENT_SUCCESS), sent at the end of PASE/CASE (spec 4.13/4.14).
func SessionEstablished() Report { return Report{} }

// CloseSession is StatusReport(SUCCESS, SecureChannel, CLOSE_SESSION), sent
// inside the session being closed (spec 4.11.1.4 / 4.10.1.2).
func CloseSession() Report { return Report{Code: CodeCloseSession} }

// InvalidParam is StatusReport(FAILURE, SecureChannel, INVALID_PARAMETER),
// the usual handshake failure.
func InvalidParam() Report { return Report{General: GeneralFailure, Code: CodeInvalidParameter} }

// NoSharedTrustRoots is StatusReport(FAILURE, SecureChannel,
// NO_SHARED_TRUST_ROOTS) (CASE, Sigma1 destination id not found).
func NoSharedTrustRoots() Report {
	return Report{General: GeneralFailure, Code: CodeNoSharedTrustRoots}
}

// SessionNotFound is StatusReport(FAILURE, SecureChannel, SESSION_NOT_FOUND).
func SessionNotFound() Report { return Report{General: GeneralFailure, Code: CodeSessionNotFound} }

// MaxBusyWait is the largest minimum-wait a BUSY report can carry (u16 ms).
const MaxBusyWait = 0xFFFF * time.Millisecond

// Busy is StatusReport(BUSY, SecureChannel, BUSY) carrying the minimum wait
// time before a retry (spec 4.11.1.4; SDK
// StatusReport::MakeBusyStatusReportMessage). wait is rounded down to
// milliseconds and clamped to 0..MaxBusyWait.
func Busy(wait time.Duration) Report {
	ms := wait / time.Millisecond
	if ms < 0 {
		ms = 0
	} else if ms > 0xFFFF {
		ms = 0xFFFF
	}
	return Report{General: GeneralBusy, Code: CodeBusy, Data: binary.LittleEndian.AppendUint16(nil, uint16(ms))}
}
