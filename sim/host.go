package sim

import (
	"errors"
	"fmt"
	"net/netip"
)

// Mode says how a network's nodes turn a socket's datagrams into the
// frames the switch carries, and frames back into datagrams. Both modes
// share everything from the switch outwards: routing, multicast fan-out,
// partitions, fault stages, taps (the adversary), observers (metrics), the
// trace and the capture. The zero value is ModeNetstack.
type Mode uint8

// Network modes.
const (
	// ModeNetstack gives every node a gVisor IPv6/UDP stack (netstack): the
	// stack builds, fragments, checks and queues packets as a host would.
	ModeNetstack Mode = iota
	// ModeDirect gives nodes no stack: a socket's datagram becomes an
	// IPv6/UDP frame built in place (the header bytes a netstack node
	// writes) and goes straight to the switch, and a frame the switch
	// delivers is checked (addresses, lengths, UDP checksum) and handed to
	// the socket bound on its port. Same frames, same events, same order as
	// ModeNetstack for every datagram up to MaxDirectPayload bytes, at a
	// fraction of the time and memory; see directHost for what it does not
	// model.
	ModeDirect
)

var modeNames = [...]string{ModeNetstack: "netstack", ModeDirect: "direct"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Modes returns every mode, in declaration order.
func Modes() []Mode { return []Mode{ModeNetstack, ModeDirect} }

// ParseMode returns the mode named s ("netstack" or "direct").
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("sim: unknown network mode %q (want netstack or direct)", s)
}

// MaxDirectPayload is the largest UDP payload a ModeDirect node sends: what
// fits one IPv6 packet on a DefaultMTU link (1280 - 40 - 8 = 1232, which
// is also the largest Matter message, spec 4.4.4). A netstack node would
// fragment a larger datagram (RFC 8200 section 4.5); a direct node refuses
// it with ErrTooLarge.
const MaxDirectPayload = DefaultMTU - ipv6HeaderLen - udpHeaderLen

const (
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
)

// ErrTooLarge is the cause of the *SendError a ModeDirect socket returns for
// a payload above MaxDirectPayload (errors.Is(err, ErrTooLarge)). The
// datagram is not sent; NetStats.Refused counts it.
var ErrTooLarge = errors.New("sim: datagram too large for direct mode (above 1232 bytes: a netstack node would fragment it)")

// host is a node's network stack: the seam between its sockets and the
// switch. Each mode has one implementation (netstackHost, directHost); a
// Node holds one, and everything from Network.send outwards is shared.
//
// Contracts. send puts at most one frame into the switch (Network.send),
// synchronously, before it returns, and may make the sender's own sockets
// readable (multicast loopback) through Socket.readable. receive runs with
// Network.inDeliver set: it takes one frame copy from the switch, which
// keeps owning data (receive must not modify it, and may keep references
// only until the sockets it made readable are drained), and makes at most
// one socket readable. read returns the socket's next queued datagram,
// copied into Network.rbuf, or false when none is left.
type host interface {
	bind(s *Socket) error
	send(s *Socket, to netip.AddrPort, payload []byte) error
	receive(data []byte)
	read(s *Socket) (from netip.AddrPort, payload []byte, ok bool)
	close(s *Socket)
	join(g netip.Addr) error
	leave(g netip.Addr) error
}
