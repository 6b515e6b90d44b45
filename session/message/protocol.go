package message

import "encoding/binary"

// ExchangeFlags is the exchange flags byte of the protocol header (spec
// 4.4.3.1), kept as on the wire.
type ExchangeFlags uint8

// Exchange flag bits. Bits 5-7 are reserved.
const (
	InitiatorFlag         ExchangeFlags = 0x01 // I: sent by the exchange initiator
	AckFlag               ExchangeFlags = 0x02 // A: acknowledged message counter present
	ReliableFlag          ExchangeFlags = 0x04 // R: sender wants an MRP ack
	SecuredExtensionsFlag ExchangeFlags = 0x08 // SX: secured extensions present
	VendorFlag            ExchangeFlags = 0x10 // V: protocol vendor id present
)

// Initiator reports the I flag.
func (f ExchangeFlags) Initiator() bool { return f&InitiatorFlag != 0 }

// Ack reports the A flag.
func (f ExchangeFlags) Ack() bool { return f&AckFlag != 0 }

// Reliable reports the R flag.
func (f ExchangeFlags) Reliable() bool { return f&ReliableFlag != 0 }

// SecuredExtensions reports the SX flag.
func (f ExchangeFlags) SecuredExtensions() bool { return f&SecuredExtensionsFlag != 0 }

// Vendor reports the V flag.
func (f ExchangeFlags) Vendor() bool { return f&VendorFlag != 0 }

// ProtocolHeader is the exchange (protocol) header that starts the message
// payload, inside the encryption for secure sessions (spec 4.4.3).
//
// Optional fields are present on the wire iff their flag is set in Flags,
// both when decoding and when encoding: VendorID iff VendorFlag, AckCounter
// iff AckFlag, SecuredExtensions iff SecuredExtensionsFlag. Without V the
// vendor is 0 (Matter standard). The zero value is a valid header
// (Secure Channel, opcode 0, exchange 0). Not safe for concurrent mutation.
type ProtocolHeader struct {
	Flags      ExchangeFlags
	Opcode     uint8
	ExchangeID uint16
	VendorID   uint16
	ProtocolID ProtocolID
	AckCounter uint32

	// SecuredExtensions is the SX block (spec 4.4.3.7); Decode makes it
	// alias the input. Matter 1.x defines none and senders must not set SX;
	// it is encoded only when the caller sets SecuredExtensionsFlag.
	SecuredExtensions []byte
}

// FullProtocolID returns the 32-bit protocol id vendor<<16 | protocol, the
// form StatusReport uses (spec 4.10.2.1).
func (p *ProtocolHeader) FullProtocolID() uint32 {
	return uint32(p.VendorID)<<16 | uint32(p.ProtocolID)
}

// Is reports whether p carries the given standard (vendor 0) protocol and opcode.
func (p *ProtocolHeader) Is(protocol ProtocolID, opcode uint8) bool {
	return p.VendorID == 0 && p.ProtocolID == protocol && p.Opcode == opcode
}

// Len returns the encoded length of p.
func (p *ProtocolHeader) Len() int {
	n := MinProtocolHeaderLen
	if p.Flags.Vendor() {
		n += 2
	}
	if p.Flags.Ack() {
		n += 4
	}
	if p.Flags.SecuredExtensions() {
		n += 2 + len(p.SecuredExtensions)
	}
	return n
}

// Append appends the encoding of p to b and returns the extended slice. An
// SX block longer than 65535 bytes is truncated to 65535 bytes.
func (p *ProtocolHeader) Append(b []byte) []byte {
	b = append(b, byte(p.Flags), p.Opcode)
	b = binary.LittleEndian.AppendUint16(b, p.ExchangeID)
	if p.Flags.Vendor() {
		b = binary.LittleEndian.AppendUint16(b, p.VendorID)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(p.ProtocolID))
	if p.Flags.Ack() {
		b = binary.LittleEndian.AppendUint32(b, p.AckCounter)
	}
	if p.Flags.SecuredExtensions() {
		sx := p.SecuredExtensions
		if len(sx) > 0xFFFF {
			sx = sx[:0xFFFF]
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(sx)))
		b = append(b, sx...)
	}
	return b
}

// Decode parses the protocol header at the start of b into p, overwriting
// every field, and returns its length; the application payload is b[n:].
// It does not allocate; p.SecuredExtensions aliases b. Reserved exchange
// flag bits are kept in p.Flags and otherwise ignored.
func (p *ProtocolHeader) Decode(b []byte) (int, error) {
	if len(b) < 4 {
		switch {
		case len(b) < 1:
			return 0, truncated("exchange flags", 0)
		case len(b) < 2:
			return 0, truncated("protocol opcode", 1)
		default:
			return 0, truncated("exchange id", 2)
		}
	}
	*p = ProtocolHeader{
		Flags:      ExchangeFlags(b[0]),
		Opcode:     b[1],
		ExchangeID: binary.LittleEndian.Uint16(b[2:]),
	}
	off := 4
	if p.Flags.Vendor() {
		if len(b) < off+2 {
			return 0, truncated("protocol vendor id", off)
		}
		p.VendorID = binary.LittleEndian.Uint16(b[off:])
		off += 2
	}
	if len(b) < off+2 {
		return 0, truncated("protocol id", off)
	}
	p.ProtocolID = ProtocolID(binary.LittleEndian.Uint16(b[off:]))
	off += 2
	if p.Flags.Ack() {
		if len(b) < off+4 {
			return 0, truncated("acknowledged message counter", off)
		}
		p.AckCounter = binary.LittleEndian.Uint32(b[off:])
		off += 4
	}
	if p.Flags.SecuredExtensions() {
		if len(b) < off+2 {
			return 0, truncated("secured extensions length", off)
		}
		n := int(binary.LittleEndian.Uint16(b[off:]))
		off += 2
		if len(b)-off < n {
			return 0, truncated("secured extensions", off)
		}
		p.SecuredExtensions = b[off : off+n : off+n]
		off += n
	}
	return off, nil
}
