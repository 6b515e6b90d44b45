package sim

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"mattersim/clock"
)

// portSink records what the switch routes to the external port.
type portSink struct{ dsts []string }

func (p *portSink) WriteFrame(_ clock.Time, data []byte) {
	p.dsts = append(p.dsts, netip.AddrFrom16([16]byte(data[24:40])).String())
}

// TestPortRouting: the external port gets unicast to addresses no virtual
// node owns and every multicast frame; frames from it reach the virtual
// nodes; partitions and link faults that name it apply; a second port is
// refused; a network without a port routes as before (no route).
func TestPortRouting(t *testing.T) {
	bothModes(t, func(t *testing.T, mode Mode) {
		e, n := newNetMode(t, mode, 1, 2)
		s0, _ := bind(t, n.Node(0))
		_, r1 := bind(t, n.Node(1))
		real := netip.MustParseAddr("fd00:6d73:696d::ff00")

		// No port yet: the real address has no route.
		require.NoError(t, s0.Send(ap(real), []byte("lost")))
		e.Run()
		require.Equal(t, uint64(1), n.Stats().Dropped)

		sink := &portSink{}
		port, err := n.AddPort(sink)
		require.NoError(t, err)
		require.Equal(t, 2, port.Index())
		_, err = n.AddPort(sink)
		require.ErrorIs(t, err, ErrPortTaken)

		require.NoError(t, s0.Send(ap(real), []byte("to real")))
		require.NoError(t, s0.Send(ap(Addr(2)), []byte("to the port's own address")))
		require.NoError(t, s0.Send(ap(netip.MustParseAddr("ff02::fb")), []byte("mdns")))
		require.NoError(t, s0.Send(ap(Addr(1)), []byte("virtual")))
		e.Run()
		require.Equal(t, []string{real.String(), Addr(2).String(), "ff02::fb"}, sink.dsts)
		require.Len(t, r1.got, 1)

		// From the port: a datagram from the real side reaches node 1.
		frame := udpFrame(t, netip.AddrPortFrom(real, 40000), ap(Addr(1)), []byte("from real"))
		n.PortInput(frame)
		e.Run()
		require.Len(t, r1.got, 2)
		require.Contains(t, r1.got[1], "[fd00:6d73:696d::ff00]:40000 from real")

		// A partition with the port on one side cuts both directions.
		n.Partition([]int{0, 1}, []int{2})
		require.NoError(t, s0.Send(ap(real), []byte("cut")))
		n.PortInput(udpFrame(t, netip.AddrPortFrom(real, 40000), ap(Addr(1)), []byte("cut")))
		e.Run()
		require.Len(t, sink.dsts, 3)
		require.Len(t, r1.got, 2)
	})
}

// udpFrame builds an IPv6/UDP frame from the real side.
func udpFrame(t *testing.T, from, to netip.AddrPort, payload []byte) []byte {
	t.Helper()
	b := make([]byte, 48+len(payload))
	ulen := uint16(8 + len(payload))
	header.IPv6(b).Encode(&header.IPv6Fields{PayloadLength: ulen, TransportProtocol: header.UDPProtocolNumber, HopLimit: 64,
		SrcAddr: tcpip.AddrFrom16(from.Addr().As16()), DstAddr: tcpip.AddrFrom16(to.Addr().As16())})
	u := header.UDP(b[40:])
	u.Encode(&header.UDPFields{SrcPort: from.Port(), DstPort: to.Port(), Length: ulen})
	copy(b[48:], payload)
	x := header.PseudoHeaderChecksum(header.UDPProtocolNumber, tcpip.AddrFrom16(from.Addr().As16()), tcpip.AddrFrom16(to.Addr().As16()), ulen)
	u.SetChecksum(^checksum.Checksum(b[40:], x))
	return b
}
