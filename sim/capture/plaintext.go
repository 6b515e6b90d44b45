package capture

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 and UDP header layout (RFC 8200 section 3, RFC 768).
const (
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
	protoUDP      = 17
)

// Plaintexter turns captured IPv6 packets into plaintext-capture packets
// (see the package documentation) with the keys of its Keyring, which the
// caller keeps filling as sessions are established. The zero value is not
// usable; call NewPlaintexter. Not safe for concurrent use.
type Plaintexter struct {
	ring *Keyring
	out  []byte
	// Decrypted counts the messages replaced by their plaintext; Kept
	// counts the secure messages left encrypted (no key, or no MIC
	// matched: forged or corrupted frames).
	Decrypted, Kept uint64
}

// NewPlaintexter returns a rewriter using ring's keys.
func NewPlaintexter(ring *Keyring) *Plaintexter { return &Plaintexter{ring: ring} }

// Rewrite returns the plaintext-capture form of the raw IPv6 packet pkt:
//
//   - not IPv6 with a UDP header right after the fixed header, or no end
//     on port 5540: pkt itself;
//   - otherwise the packet with each port 5540 replaced by 15540 and, for a
//     secure message its keyring opens, the message header with
//     PlaintextFlag set followed by the plaintext (no MIC), with the IPv6
//     payload length, UDP length and UDP checksum recomputed. A group
//     message's header is written de-obfuscated, its privacy flag kept:
//     with PlaintextFlag, P says the wire bytes were obfuscated.
//
// The result aliases a buffer reused by the next call; pkt is not
// modified.
func (p *Plaintexter) Rewrite(pkt []byte) []byte {
	if len(pkt) < ipv6HeaderLen+udpHeaderLen || pkt[0]>>4 != 6 || pkt[6] != protoUDP {
		return pkt
	}
	ipLen := int(binary.BigEndian.Uint16(pkt[4:]))
	if ipLen < udpHeaderLen || ipv6HeaderLen+ipLen > len(pkt) {
		return pkt
	}
	udp := pkt[ipv6HeaderLen : ipv6HeaderLen+ipLen]
	sport, dport := binary.BigEndian.Uint16(udp[0:]), binary.BigEndian.Uint16(udp[2:])
	if sport != MatterPort && dport != MatterPort {
		return pkt
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < udpHeaderLen || ulen > len(udp) {
		return pkt
	}
	payload := udp[udpHeaderLen:ulen]
	dst := netip.AddrPortFrom(netip.AddrFrom16([16]byte(pkt[24:40])), dport)

	b := append(p.out[:0], pkt[:ipv6HeaderLen+udpHeaderLen]...)
	if o := p.ring.Open(dst, payload); o.Status == Decrypted {
		p.Decrypted++
		b = append(b, o.Clear...) // de-obfuscated if a group key opened it
		b[ipv6HeaderLen+udpHeaderLen+3] |= byte(PlaintextFlag)
		b = append(b, o.Plain...)
	} else {
		if o.Status == NoKey || o.Status == AuthFailed {
			p.Kept++
		}
		b = append(b, payload...)
	}
	u := b[ipv6HeaderLen:]
	for _, off := range []int{0, 2} {
		if binary.BigEndian.Uint16(u[off:]) == MatterPort {
			binary.BigEndian.PutUint16(u[off:], PlaintextPort)
		}
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(u)))
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	binary.BigEndian.PutUint16(u[6:], 0)
	binary.BigEndian.PutUint16(u[6:], udpChecksum(b[8:24], b[24:40], u))
	p.out = b
	return b
}

// udpChecksum is the UDP checksum over the IPv6 pseudo-header (RFC 8200
// section 8.1) and the UDP header and data u with its checksum field 0.
// A computed 0 is sent as 0xFFFF.
func udpChecksum(src, dst, u []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(src)
	add(dst)
	sum += uint32(len(u)) + protoUDP
	add(u)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	return c
}
