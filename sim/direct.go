package sim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"golang.org/x/time/rate"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Hop limits a netstack node writes: gVisor's defaults for unicast (64) and
// multicast (1, RFC 3493 section 5.2) UDP.
const (
	unicastHopLimit   = 64
	multicastHopLimit = 1
)

// directHost is a ModeDirect node's host: no stack, only its sockets.
//
// Sending, it builds the IPv6/UDP frame a netstack node would write for the
// datagram (version 6, traffic class and flow label 0, hop limit 64 or 1
// for multicast, the source address gVisor picks by RFC 6724 rule 2 —
// link-local for a link-local unicast or a multicast of scope at most 2,
// else the ULA — and the UDP checksum), loops a multicast datagram back to
// its own sockets when the node is a member of the group (as gVisor does,
// before the frame leaves), and hands the frame to the switch. Receiving,
// it checks what gVisor checks before a socket sees a datagram (IPv6
// payload length, no loopback or v4-mapped address, the destination is one
// of the node's addresses or a group it joined, UDP length and checksum)
// and queues the payload on the socket bound to the destination port,
// without copying: the switch keeps the frame unmodified until the socket
// is drained. It answers as gVisor does with an ICMPv6 port unreachable
// (no socket on the port) or parameter problem (an unknown Next Header,
// which a corrupted frame can carry), rate-limited as gVisor's; received
// ICMPv6 is consumed silently (an unconnected UDP socket reports no errors).
//
// What it does not model (README "Network modes"): fragmentation (a
// datagram above MaxDirectPayload is refused with ErrTooLarge), extension
// headers, ICMPv6 informational messages (no echo replies), the stack's
// queues and buffers, ephemeral ports (Bind needs a port).
type directHost struct {
	node      *Node
	socks     []*Socket     // bound and open, in bind order
	groups    []joined      // multicast groups joined, in join order
	icmpLimit *rate.Limiter // made at the first ICMPv6 error
}

// joined is a group the node's host has joined, refs times: as a gVisor
// NIC, it stays a member until it has left as often as it joined (the
// switch's membership, Network.join, is a plain set).
type joined struct {
	g    [16]byte
	refs int
}

// gVisor's ICMP rate limit (pkg/tcpip/stack/icmp_rate_limit.go): 1000
// messages a second, bursts of 50, one bucket per stack.
const (
	icmpRateLimit = 1000
	icmpRateBurst = 50
)

var _ host = (*directHost)(nil)

// datagram is one received datagram queued on a ModeDirect socket. payload
// is a view into a frame the switch owns and nobody modifies.
type datagram struct {
	from    netip.AddrPort
	payload []byte
}

func (h *directHost) bind(s *Socket) error {
	if s.port == 0 {
		return fmt.Errorf("sim: node %d: bind port 0: direct mode has no ephemeral ports", h.node.index)
	}
	if h.socket(s.port) != nil {
		return fmt.Errorf("sim: node %d: bind port %d: port is in use", h.node.index, s.port)
	}
	h.socks = append(h.socks, s)
	return nil
}

func (h *directHost) socket(port uint16) *Socket {
	for _, s := range h.socks {
		if s.port == port {
			return s
		}
	}
	return nil
}

func (h *directHost) close(s *Socket) {
	h.socks = slices.DeleteFunc(h.socks, func(t *Socket) bool { return t == s })
	clear(s.inbox)
	s.inbox, s.head = nil, 0
}

func (h *directHost) join(g netip.Addr) error {
	a := g.As16()
	if i := h.group(a); i >= 0 {
		h.groups[i].refs++
	} else {
		h.groups = append(h.groups, joined{g: a, refs: 1})
	}
	return nil
}

func (h *directHost) leave(g netip.Addr) error {
	i := h.group(g.As16())
	if i < 0 {
		return fmt.Errorf("sim: node %d: leave %s: bad local address", h.node.index, g) // gVisor's words
	}
	if h.groups[i].refs--; h.groups[i].refs == 0 {
		h.groups = slices.Delete(h.groups, i, i+1)
	}
	return nil
}

func (h *directHost) group(g [16]byte) int {
	for i := range h.groups {
		if h.groups[i].g == g {
			return i
		}
	}
	return -1
}

// allNodes is ff02::1, which every IPv6 interface has joined (RFC 4291
// section 2.7.1).
var allNodes = [16]byte{0: 0xff, 1: 0x02, 15: 1}

// member reports whether the node's host accepts multicast group g.
func (h *directHost) member(g [16]byte) bool {
	return g == allNodes || h.group(g) >= 0
}

func (h *directHost) send(s *Socket, to netip.AddrPort, payload []byte) error {
	nd := h.node
	n := nd.net
	if len(payload) > MaxDirectPayload {
		n.stats.Refused++
		return &SendError{Node: nd.index, To: to,
			Err: strconv.Itoa(len(payload)) + "-byte datagram above the direct mode's " + strconv.Itoa(MaxDirectPayload), Cause: ErrTooLarge}
	}
	dst := to.Addr()
	if dst.IsUnspecified() {
		dst = netip.IPv6Loopback() // as gVisor (and Linux) do: :: means this host
	}
	d := dst.As16()
	src, hop := Addr(nd.index), uint8(unicastHopLimit)
	mcast := d[0] == 0xff
	switch {
	case mcast:
		hop = multicastHopLimit
		if d[1]&0x0f <= 2 { // interface- or link-local scope (RFC 4291 2.7)
			src = LinkLocalAddr(nd.index)
		}
	case dst.IsLinkLocalUnicast():
		src = LinkLocalAddr(nd.index)
	}
	b := make([]byte, ipv6HeaderLen+udpHeaderLen+len(payload))
	ulen := uint16(udpHeaderLen + len(payload))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], ulen)
	b[6] = uint8(header.UDPProtocolNumber)
	b[7] = hop
	sa := src.As16()
	copy(b[8:24], sa[:])
	copy(b[24:40], d[:])
	u := b[ipv6HeaderLen:]
	binary.BigEndian.PutUint16(u[0:], s.port)
	binary.BigEndian.PutUint16(u[2:], to.Port())
	binary.BigEndian.PutUint16(u[4:], ulen)
	copy(u[udpHeaderLen:], payload)
	x := header.PseudoHeaderChecksum(header.UDPProtocolNumber, tcpip.AddrFrom16(sa), tcpip.AddrFrom16(d), ulen)
	x = checksum.Checksum(u, x)
	if x != 0xffff { // a computed zero goes as all ones (RFC 768, RFC 8200 8.1)
		x = ^x
	}
	binary.BigEndian.PutUint16(u[6:], x)
	if mcast && h.member(d) {
		if r := h.socket(to.Port()); r != nil {
			r.push(netip.AddrPortFrom(src, s.port), u[udpHeaderLen:])
		}
	}
	n.send(nd.index, b)
	return nil
}

func (h *directHost) receive(data []byte) {
	if len(data) < ipv6HeaderLen || data[0]>>4 != 6 {
		return
	}
	plen := int(binary.BigEndian.Uint16(data[4:]))
	if ipv6HeaderLen+plen > len(data) {
		return
	}
	data = data[:ipv6HeaderLen+plen] // as gVisor, ignore bytes past the payload length
	src := netip.AddrFrom16([16]byte(data[8:24]))
	d := [16]byte(data[24:40])
	dst := netip.AddrFrom16(d)
	if src.IsLoopback() || dst.IsLoopback() || src.Is4In6() || dst.Is4In6() {
		return
	}
	nd := h.node
	if d[0] == 0xff {
		if !h.member(d) {
			return
		}
	} else if dst != Addr(nd.index) && dst != LinkLocalAddr(nd.index) {
		return
	}
	switch next := data[6]; {
	case next == uint8(header.UDPProtocolNumber):
	case next == uint8(header.ICMPv6ProtocolNumber) || next == uint8(header.IPv6NoNextHeaderIdentifier) || isExtensionHeader(next):
		// ICMPv6 errors are not reported on unconnected sockets, and a
		// direct node answers no informational message; extension headers
		// are not modelled (a single-bit corruption of a UDP frame never
		// makes one).
		return
	default:
		// RFC 8200 section 4: an unrecognised Next Header is answered with
		// a Parameter Problem, code 1, pointing at the field (offset 6).
		h.icmpError(data, header.ICMPv6ParamProblem, header.ICMPv6UnknownHeader, 6)
		return
	}
	u := data[ipv6HeaderLen:]
	if len(u) < udpHeaderLen {
		return
	}
	l := int(binary.BigEndian.Uint16(u[4:]))
	if l < udpHeaderLen || l > len(u) {
		return
	}
	x := header.PseudoHeaderChecksum(header.UDPProtocolNumber, tcpip.AddrFrom16([16]byte(data[8:24])), tcpip.AddrFrom16(d), uint16(l))
	if checksum.Checksum(u[:l], x) != 0xffff {
		return
	}
	s := h.socket(binary.BigEndian.Uint16(u[2:]))
	if s == nil {
		// RFC 4443 section 3.1: no listener on the port.
		h.icmpError(data, header.ICMPv6DstUnreachable, header.ICMPv6PortUnreachable, 0)
		return
	}
	s.push(netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:])), u[udpHeaderLen:l])
}

// isExtensionHeader reports whether next is an IPv6 extension header gVisor
// parses (header/ipv6_extension_headers.go: hop-by-hop, routing, fragment,
// authentication, destination options, experiment); others, ESP included,
// are unknown protocols to it.
func isExtensionHeader(next uint8) bool {
	switch next {
	case 0, 43, 44, 51, 60, 253:
		return true
	}
	return false
}

// icmpError answers the invoking packet pkt (trimmed to its payload length)
// with an ICMPv6 error, as gVisor's ipv6 returnError does: none for a
// multicast destination or an unspecified source (RFC 4443 section 2.4
// (e)), at most what the node's rate limiter allows (gVisor's: 1000 per
// second, bursts of 50, golang.org/x/time/rate on the virtual clock), from
// the address the packet was sent to, hop limit 64, carrying as much of pkt
// as fits the IPv6 minimum MTU.
func (h *directHost) icmpError(pkt []byte, typ header.ICMPv6Type, code header.ICMPv6Code, pointer uint32) {
	if pkt[24] == 0xff || [16]byte(pkt[8:24]) == [16]byte{} {
		return
	}
	n := h.node.net
	if h.icmpLimit == nil {
		h.icmpLimit = rate.NewLimiter(icmpRateLimit, icmpRateBurst)
	}
	if !h.icmpLimit.AllowN(n.e.tclock.Now(), 1) {
		return
	}
	body := pkt[:min(len(pkt), header.IPv6MinimumMTU-ipv6HeaderLen-header.ICMPv6ErrorHeaderSize)]
	b := make([]byte, ipv6HeaderLen+header.ICMPv6ErrorHeaderSize+len(body))
	mlen := uint16(header.ICMPv6ErrorHeaderSize + len(body))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], mlen)
	b[6] = uint8(header.ICMPv6ProtocolNumber)
	b[7] = unicastHopLimit
	copy(b[8:24], pkt[24:40]) // from the address the packet reached
	copy(b[24:40], pkt[8:24])
	m := b[ipv6HeaderLen:]
	m[0], m[1] = uint8(typ), uint8(code)
	binary.BigEndian.PutUint32(m[4:], pointer)
	copy(m[header.ICMPv6ErrorHeaderSize:], body)
	x := header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber, tcpip.AddrFrom16([16]byte(b[8:24])), tcpip.AddrFrom16([16]byte(b[24:40])), mlen)
	binary.BigEndian.PutUint16(m[2:], ^checksum.Checksum(m, x))
	n.send(h.node.index, b)
}

// push queues a received datagram on a ModeDirect socket and marks it
// readable.
func (s *Socket) push(from netip.AddrPort, payload []byte) {
	s.inbox = append(s.inbox, datagram{from: from, payload: payload})
	s.readable()
}

func (h *directHost) read(s *Socket) (netip.AddrPort, []byte, bool) {
	if s.head == len(s.inbox) {
		s.inbox, s.head = s.inbox[:0], 0
		return netip.AddrPort{}, nil, false
	}
	d := s.inbox[s.head]
	s.inbox[s.head] = datagram{}
	s.head++
	// A copy, as a netstack read: the handler may scribble on it, and the
	// frame may still be in an adversary's capture.
	n := h.node.net
	n.rbuf.b = append(n.rbuf.b[:0], d.payload...)
	return d.from, n.rbuf.b, true
}
