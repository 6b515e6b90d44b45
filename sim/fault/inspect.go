package fault

import (
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"mattersim/session/message"
)

// The simulator's frames are bare IPv6 packets with UDP directly after the
// fixed header (gVisor sends no extension headers on our links, and Matter
// messages fit the 1280-byte MTU, so nothing is fragmented).
const (
	ipv6HeaderLen    = header.IPv6MinimumSize // 40
	udpPayloadOffset = ipv6HeaderLen + header.UDPMinimumSize
)

func isUDP6(b []byte) bool {
	return len(b) >= udpPayloadOffset && b[0]>>4 == 6 && b[6] == uint8(header.UDPProtocolNumber)
}

// Frame is what an on-path observer without keys can read of a packet:
// the IPv6 and UDP headers, the Matter message header (spec 4.4.1, always
// in clear), and the protocol header (spec 4.4.3) only for unsecured
// messages. Slices alias the packet. The zero value is "not IPv6/UDP".
type Frame struct {
	UDP              bool // the packet is IPv6 + UDP; the fields below are valid
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Payload          []byte // the UDP payload: the Matter message

	Matter bool           // Header decoded
	Header message.Header // the message header; counter and node ids are meaningless when Obfuscated
	// Clear is true for an unsecured message (spec 4.4.1.2: session 0,
	// unicast), whose protocol header decoded into Protocol.
	Clear    bool
	Protocol message.ProtocolHeader
}

// Obfuscated reports whether privacy obfuscation (P flag, spec 4.9.3)
// hides the counter and node ids: only flags and session id are then
// meaningful to an observer.
func (f *Frame) Obfuscated() bool { return f.Matter && f.Header.Flags.Privacy() }

// Inspect parses p without keys. It never fails: the result says how far
// parsing got (UDP, Matter, Clear).
func Inspect(b []byte) Frame {
	var f Frame
	if !isUDP6(b) {
		return f
	}
	ip := header.IPv6(b)
	u := header.UDP(b[ipv6HeaderLen:])
	f.UDP = true
	f.Src = netip.AddrFrom16([16]byte(ip.SourceAddressSlice()))
	f.Dst = netip.AddrFrom16([16]byte(ip.DestinationAddressSlice()))
	f.SrcPort, f.DstPort = u.SourcePort(), u.DestinationPort()
	end := len(b)
	if l := int(u.Length()); l >= header.UDPMinimumSize && ipv6HeaderLen+l <= len(b) {
		end = ipv6HeaderLen + l
	}
	f.Payload = b[udpPayloadOffset:end]
	n, err := f.Header.Decode(f.Payload)
	if err != nil {
		return f
	}
	f.Matter = true
	if f.Header.IsSecure() {
		return f
	}
	if _, err := f.Protocol.Decode(f.Payload[n:]); err == nil {
		f.Clear = true
	}
	return f
}

// FixUDPChecksum recomputes the UDP checksum of an IPv6/UDP packet in place
// (RFC 8200 8.1 pseudo-header). Call it only on a packet you own. It does
// nothing to a packet that is not IPv6/UDP or whose UDP length overruns it.
func FixUDPChecksum(b []byte) {
	if !isUDP6(b) {
		return
	}
	ip := header.IPv6(b)
	u := header.UDP(b[ipv6HeaderLen:])
	l := int(u.Length())
	if l < header.UDPMinimumSize || ipv6HeaderLen+l > len(b) {
		return
	}
	u = u[:l]
	u.SetChecksum(0)
	x := header.PseudoHeaderChecksum(header.UDPProtocolNumber,
		tcpip.AddrFrom16Slice(ip.SourceAddressSlice()), tcpip.AddrFrom16Slice(ip.DestinationAddressSlice()), uint16(l))
	x = checksum.Checksum(u, x)
	sum := ^x
	if sum == 0 {
		sum = 0xffff // RFC 8200: a computed zero is sent as all ones
	}
	u.SetChecksum(sum)
}

// UDPChecksumValid reports whether an IPv6/UDP packet's checksum verifies.
func UDPChecksumValid(b []byte) bool {
	if !isUDP6(b) {
		return false
	}
	ip := header.IPv6(b)
	u := header.UDP(b[ipv6HeaderLen:])
	l := int(u.Length())
	if l < header.UDPMinimumSize || ipv6HeaderLen+l > len(b) || u.Checksum() == 0 {
		return false
	}
	x := header.PseudoHeaderChecksum(header.UDPProtocolNumber,
		tcpip.AddrFrom16Slice(ip.SourceAddressSlice()), tcpip.AddrFrom16Slice(ip.DestinationAddressSlice()), uint16(l))
	return checksum.Checksum(u[:l], x) == 0xffff
}

// BuildUDP6 returns an IPv6/UDP packet (hop limit 64) carrying payload,
// with a valid checksum: for tests, and for an adversary forging frames.
func BuildUDP6(src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	b := make([]byte, udpPayloadOffset+len(payload))
	ip := header.IPv6(b)
	ip.Encode(&header.IPv6Fields{
		PayloadLength:     uint16(header.UDPMinimumSize + len(payload)),
		TransportProtocol: header.UDPProtocolNumber,
		HopLimit:          64,
		SrcAddr:           tcpip.AddrFrom16(src.As16()),
		DstAddr:           tcpip.AddrFrom16(dst.As16()),
	})
	u := header.UDP(b[ipv6HeaderLen:])
	u.Encode(&header.UDPFields{SrcPort: srcPort, DstPort: dstPort, Length: uint16(header.UDPMinimumSize + len(payload))})
	copy(b[udpPayloadOffset:], payload)
	FixUDPChecksum(b)
	return b
}

// SetAddrs returns a copy of the IPv6/UDP packet b with its source and/or
// destination replaced (invalid netip.Addr: keep) and the UDP checksum
// recomputed. A packet that is not IPv6/UDP is copied unchanged.
func SetAddrs(b []byte, src, dst netip.Addr) []byte {
	c := append([]byte(nil), b...)
	if !isUDP6(c) {
		return c
	}
	if src.IsValid() {
		a := src.As16()
		copy(c[8:24], a[:])
	}
	if dst.IsValid() {
		a := dst.As16()
		copy(c[24:40], a[:])
	}
	FixUDPChecksum(c)
	return c
}
