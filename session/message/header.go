package message

import (
	"encoding/binary"
	"strconv"
)

// NodeID is a 64-bit Matter node id (operational, or the random ephemeral id
// of an unsecured session-establishment exchange).
type NodeID uint64

// GroupID is a 16-bit Matter group id (spec 4.4.1.5). 0 is invalid;
// 0xFF00-0xFFFF are universal groups.
type GroupID uint16

// SessionID is the 16-bit session id of the message header (spec 4.4.1.2):
// the receiver's local session id for unicast, the Group Session ID for
// groups. Session 0 with the unicast session type is the unsecured session.
type SessionID uint16

// SessionType is the session type carried in the low two bits of the
// security flags (spec 4.4.1.3).
type SessionType uint8

// Session types. Values 2 and 3 are reserved and rejected by Decode.
const (
	SessionUnicast SessionType = 0
	SessionGroup   SessionType = 1
)

// String returns "unicast", "group" or "reserved(n)".
func (t SessionType) String() string {
	switch t {
	case SessionUnicast:
		return "unicast"
	case SessionGroup:
		return "group"
	}
	return "reserved(" + strconv.Itoa(int(t)) + ")"
}

// DestinationKind says which destination field a header carries; its value
// is the DSIZ field of the message flags (spec 4.4.1.1).
type DestinationKind uint8

// Destination kinds. DSIZ=3 is reserved and rejected by Decode.
const (
	DestinationNone  DestinationKind = 0
	DestinationNode  DestinationKind = 1 // 64-bit Destination Node ID
	DestinationGroup DestinationKind = 2 // 16-bit Destination Group ID
)

// SecurityFlags is the security flags byte (spec 4.4.1.3), kept exactly as
// on the wire because it is also the first byte of the AES-CCM nonce (spec
// 4.8.1): reserved bits a peer sets must reach the nonce unchanged.
type SecurityFlags uint8

// Security flag bits. The zero value is a unicast session without privacy,
// control or extensions.
const (
	PrivacyFlag      SecurityFlags = 0x80 // P: counter and node ids obfuscated (spec 4.9.3)
	ControlFlag      SecurityFlags = 0x40 // C: control message counter space (MCSP)
	ExtensionsFlag   SecurityFlags = 0x20 // MX: message extensions block present
	GroupSessionFlag SecurityFlags = 0x01 // session type = group
	sessionTypeMask  SecurityFlags = 0x03
)

// Privacy reports the P flag.
func (f SecurityFlags) Privacy() bool { return f&PrivacyFlag != 0 }

// Control reports the C flag.
func (f SecurityFlags) Control() bool { return f&ControlFlag != 0 }

// Extensions reports the MX flag.
func (f SecurityFlags) Extensions() bool { return f&ExtensionsFlag != 0 }

// SessionType returns the session type bits.
func (f SecurityFlags) SessionType() SessionType { return SessionType(f & sessionTypeMask) }

// Message flags bits (spec 4.4.1.1).
const (
	msgVersionMask   = 0xF0
	msgSourcePresent = 0x04
	msgDSIZMask      = 0x03
)

// Header is the plaintext message header (spec 4.4.1).
//
// The zero value is a valid unsecured unicast header (session 0, counter 0,
// no node ids). A Header is a plain value; it is not safe for concurrent
// mutation.
//
// The reserved bit 3 of the message flags is ignored on decode and sent as 0
// (spec: reserved bits are sent as 0 and ignored on receipt).
type Header struct {
	SessionID SessionID     // spec 4.4.1.2
	Flags     SecurityFlags // security flags byte, incl. session type (spec 4.4.1.3)
	Counter   uint32        // message counter (spec 4.4.1.4)

	Source    NodeID // valid iff HasSource (S flag)
	HasSource bool

	DestKind  DestinationKind
	DestNode  NodeID  // valid iff DestKind == DestinationNode
	DestGroup GroupID // valid iff DestKind == DestinationGroup

	// Extensions is the message extensions (MX) block, present on the wire
	// iff Flags has ExtensionsFlag (spec 4.4.1.8). Decode sets it to alias
	// the input. Matter 1.x defines no extension: senders must not set MX.
	// It is encoded only when a caller sets ExtensionsFlag itself, for
	// tests and fuzzing: the C++ SDK never emits MX and, because it
	// re-encodes the header without MX to form the AAD, would not
	// authenticate a message that carries it.
	Extensions []byte
}

// IsSecure reports whether the message is encrypted and carries a MIC:
// everything except session 0 with the unicast session type (spec 4.4.1.2;
// SDK PacketHeader::IsEncrypted).
func (h *Header) IsSecure() bool {
	return h.SessionID != 0 || h.Flags.SessionType() != SessionUnicast
}

// IsValidGroupMessage reports the shape of a group data message (spec 4.15):
// group session, source node id, group destination, C=0.
func (h *Header) IsValidGroupMessage() bool {
	return h.Flags.SessionType() == SessionGroup && h.HasSource &&
		h.DestKind == DestinationGroup && !h.Flags.Control()
}

// IsValidMCSPMessage reports the shape of a group-keyed message counter
// synchronisation message (spec 4.9.2.4 / 4.18): group session, source node
// id, node destination, C=1.
func (h *Header) IsValidMCSPMessage() bool {
	return h.Flags.SessionType() == SessionGroup && h.HasSource &&
		h.DestKind == DestinationNode && h.Flags.Control()
}

// Len returns the encoded length of h, including the MX block if
// ExtensionsFlag is set.
func (h *Header) Len() int {
	n := MinHeaderLen
	if h.HasSource {
		n += 8
	}
	switch h.DestKind {
	case DestinationNode:
		n += 8
	case DestinationGroup:
		n += 2
	}
	if h.Flags.Extensions() {
		n += 2 + len(h.Extensions)
	}
	return n
}

// PrivacyLen returns the number of header bytes, starting at
// PrivacyHeaderOffset, that privacy obfuscation covers: counter, source and
// destination (spec 4.9.3). The MX block is never obfuscated.
func (h *Header) PrivacyLen() int {
	n := 4
	if h.HasSource {
		n += 8
	}
	switch h.DestKind {
	case DestinationNode:
		n += 8
	case DestinationGroup:
		n += 2
	}
	return n
}

// PrivacyLen returns, from the clear message flags byte (the first byte of a
// datagram), how many bytes after PrivacyHeaderOffset privacy obfuscation
// covers. It returns false for a reserved DSIZ or unsupported version.
func PrivacyLen(messageFlags byte) (int, bool) {
	if messageFlags&msgVersionMask != 0 || messageFlags&msgDSIZMask == 3 {
		return 0, false
	}
	n := 4
	if messageFlags&msgSourcePresent != 0 {
		n += 8
	}
	switch DestinationKind(messageFlags & msgDSIZMask) {
	case DestinationNode:
		n += 8
	case DestinationGroup:
		n += 2
	}
	return n, true
}

// MessageFlags returns the message flags byte h encodes to.
func (h *Header) MessageFlags() byte {
	var f byte
	if h.DestKind <= DestinationGroup {
		f = byte(h.DestKind)
	}
	if h.HasSource {
		f |= msgSourcePresent
	}
	return f
}

// Append appends the encoding of h to b and returns the extended slice.
// It does not validate: DestKind values above DestinationGroup are encoded
// as DestinationNone, an MX block longer than 65535 bytes is truncated, and
// combinations Decode rejects (a group destination with the unicast session
// type, a reserved session type) are written as given — callers must not
// build such headers.
func (h *Header) Append(b []byte) []byte {
	b = append(b, h.MessageFlags())
	b = binary.LittleEndian.AppendUint16(b, uint16(h.SessionID))
	b = append(b, byte(h.Flags))
	b = binary.LittleEndian.AppendUint32(b, h.Counter)
	if h.HasSource {
		b = binary.LittleEndian.AppendUint64(b, uint64(h.Source))
	}
	switch h.DestKind {
	case DestinationNode:
		b = binary.LittleEndian.AppendUint64(b, uint64(h.DestNode))
	case DestinationGroup:
		b = binary.LittleEndian.AppendUint16(b, uint16(h.DestGroup))
	}
	if h.Flags.Extensions() {
		ext := h.Extensions
		if len(ext) > 0xFFFF {
			ext = ext[:0xFFFF]
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(ext)))
		b = append(b, ext...)
	}
	return b
}

// Decode parses the message header at the start of b into h, overwriting
// every field, and returns its encoded length. It does not allocate;
// h.Extensions aliases b.
//
// Validity rules (spec 4.4.1; connectedhomeip MessageHeader.cpp): version
// must be 0; DSIZ=3 and session types 2/3 are reserved; DSIZ=2 requires the
// group session type. DSIZ=1 is allowed with either session type (MCSP uses
// it with group keys). Rules about which combinations a session accepts
// (for example a group message without a source) are left to the caller;
// see IsValidGroupMessage.
func (h *Header) Decode(b []byte) (int, error) {
	if len(b) < MinHeaderLen {
		switch {
		case len(b) < 1:
			return 0, truncated("message flags", 0)
		case len(b) < 3:
			return 0, truncated("session id", 1)
		case len(b) < 4:
			return 0, truncated("security flags", 3)
		default:
			return 0, truncated("message counter", 4)
		}
	}
	mf := b[0]
	if mf&msgVersionMask != 0 {
		return 0, &DecodeError{Field: "message flags", Offset: 0, Reason: ReasonVersion}
	}
	dsiz := DestinationKind(mf & msgDSIZMask)
	if dsiz == 3 {
		return 0, &DecodeError{Field: "message flags", Offset: 0, Reason: ReasonReservedDSIZ}
	}
	sf := SecurityFlags(b[3])
	st := sf.SessionType()
	if st > SessionGroup {
		return 0, &DecodeError{Field: "security flags", Offset: 3, Reason: ReasonReservedSessionType}
	}
	if dsiz == DestinationGroup && st != SessionGroup {
		return 0, &DecodeError{Field: "message flags", Offset: 0, Reason: ReasonGroupDestOnUnicast}
	}
	*h = Header{
		SessionID: SessionID(binary.LittleEndian.Uint16(b[1:])),
		Flags:     sf,
		Counter:   binary.LittleEndian.Uint32(b[4:]),
		DestKind:  dsiz,
	}
	off := MinHeaderLen
	if mf&msgSourcePresent != 0 {
		if len(b) < off+8 {
			return 0, truncated("source node id", off)
		}
		h.Source = NodeID(binary.LittleEndian.Uint64(b[off:]))
		h.HasSource = true
		off += 8
	}
	switch dsiz {
	case DestinationNode:
		if len(b) < off+8 {
			return 0, truncated("destination node id", off)
		}
		h.DestNode = NodeID(binary.LittleEndian.Uint64(b[off:]))
		off += 8
	case DestinationGroup:
		if len(b) < off+2 {
			return 0, truncated("destination group id", off)
		}
		h.DestGroup = GroupID(binary.LittleEndian.Uint16(b[off:]))
		off += 2
	}
	if sf.Extensions() {
		if len(b) < off+2 {
			return 0, truncated("message extensions length", off)
		}
		n := int(binary.LittleEndian.Uint16(b[off:]))
		off += 2
		if len(b)-off < n {
			return 0, truncated("message extensions", off)
		}
		h.Extensions = b[off : off+n : off+n]
		off += n
	}
	return off, nil
}
