package message

// Sizes (spec 4.4.1, 4.4.3, 4.8; connectedhomeip src/transport/raw/MessageHeader.h).
const (
	// MaxUDPPayload is the largest Matter message carried in one UDP datagram:
	// the IPv6 minimum MTU (1280) less 40 bytes of IPv6 and 8 of UDP header.
	MaxUDPPayload = 1232
	// MICSize is the length of the AES-CCM tag that ends every encrypted message.
	MICSize = 16
	// MinHeaderLen is the length of a message header with no node ids and no MX.
	MinHeaderLen = 8
	// MaxHeaderLen is the longest message header without MX (S and DSIZ=1).
	MaxHeaderLen = 24
	// MinProtocolHeaderLen is the length of a protocol header with no optional fields.
	MinProtocolHeaderLen = 6
	// PrivacyHeaderOffset is where privacy obfuscation starts (spec 4.9.3):
	// message flags, session id and security flags stay clear.
	PrivacyHeaderOffset = 4
)

// ProtocolID is a 16-bit Matter protocol id within a vendor's space
// (spec 4.4.3.4). The standard protocols have vendor id 0.
type ProtocolID uint16

// Standard protocol ids (connectedhomeip src/protocols/Protocols.h).
const (
	ProtocolSecureChannel    ProtocolID = 0x0000
	ProtocolInteractionModel ProtocolID = 0x0001
	ProtocolBDX              ProtocolID = 0x0002
	ProtocolUDC              ProtocolID = 0x0003 // User Directed Commissioning
	ProtocolEcho             ProtocolID = 0x0004 // SDK test protocol
)

// Secure Channel protocol opcodes (spec 4.11.1; connectedhomeip
// src/protocols/secure_channel/Constants.h).
const (
	OpMsgCounterSyncReq  = 0x00
	OpMsgCounterSyncRsp  = 0x01
	OpStandaloneAck      = 0x10
	OpPBKDFParamRequest  = 0x20
	OpPBKDFParamResponse = 0x21
	OpPASEPake1          = 0x22
	OpPASEPake2          = 0x23
	OpPASEPake3          = 0x24
	OpCASESigma1         = 0x30
	OpCASESigma2         = 0x31
	OpCASESigma3         = 0x32
	OpCASESigma2Resume   = 0x33
	OpStatusReport       = 0x40
	OpICDCheckIn         = 0x50
)

// Interaction Model protocol opcodes (spec 10.2.1).
const (
	OpIMStatusResponse    = 0x01
	OpIMReadRequest       = 0x02
	OpIMSubscribeRequest  = 0x03
	OpIMSubscribeResponse = 0x04
	OpIMReportData        = 0x05
	OpIMWriteRequest      = 0x06
	OpIMWriteResponse     = 0x07
	OpIMInvokeRequest     = 0x08
	OpIMInvokeResponse    = 0x09
	OpIMTimedRequest      = 0x0a
)
