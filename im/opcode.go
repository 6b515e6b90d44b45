package im

import "fmt"

// ProtocolID is the Interaction Model protocol ID in the Matter protocol
// header (spec 4.4.3.4, protocol 0x0001 with vendor 0).
const ProtocolID uint16 = 0x0001

// Revision is the InteractionModelRevision this package writes by default
// (tag 0xFF of every IM message, spec 8.1.1): 12, as matter.js 0.17
// (model/src/common/Specification.ts INTERACTION_MODEL_REVISION) and
// Matter 1.4 send. Peers must accept any revision, and Server does.
const Revision uint8 = 12

// Opcode is an Interaction Model protocol opcode (spec 8.9, table
// "Interaction Model Protocol Opcodes").
type Opcode uint8

// Interaction Model opcodes.
const (
	OpStatusResponse    Opcode = 0x01
	OpReadRequest       Opcode = 0x02
	OpSubscribeRequest  Opcode = 0x03
	OpSubscribeResponse Opcode = 0x04
	OpReportData        Opcode = 0x05
	OpWriteRequest      Opcode = 0x06
	OpWriteResponse     Opcode = 0x07
	OpInvokeRequest     Opcode = 0x08
	OpInvokeResponse    Opcode = 0x09
	OpTimedRequest      Opcode = 0x0A
)

var opcodeNames = [...]string{
	OpStatusResponse: "StatusResponse", OpReadRequest: "ReadRequest",
	OpSubscribeRequest: "SubscribeRequest", OpSubscribeResponse: "SubscribeResponse",
	OpReportData: "ReportData", OpWriteRequest: "WriteRequest", OpWriteResponse: "WriteResponse",
	OpInvokeRequest: "InvokeRequest", OpInvokeResponse: "InvokeResponse", OpTimedRequest: "TimedRequest",
}

// String returns the spec name of the opcode, or "Opcode(0xNN)".
func (o Opcode) String() string {
	if int(o) < len(opcodeNames) && opcodeNames[o] != "" {
		return opcodeNames[o]
	}
	return fmt.Sprintf("Opcode(0x%02X)", uint8(o))
}
