package sim

import (
	"bytes"
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const nicID tcpip.NICID = 1

// netstackHost is a ModeNetstack node's host: a gVisor stack with IPv6 and
// UDP and one NIC whose link endpoint is the node's port on the switch.
type netstackHost struct {
	node *Node
	st   *stack.Stack
	link linkEndpoint
}

var _ host = (*netstackHost)(nil)

// nsSocket is the gVisor half of a ModeNetstack socket.
type nsSocket struct {
	ep    tcpip.Endpoint
	wq    waiter.Queue
	entry waiter.Entry
	rd    bytes.Reader
	to    tcpip.FullAddress
}

// newNetstackHost builds node nd's stack: one NIC on a link to the switch,
// its link-local and ULA addresses, and a ::/0 on-link route. DAD, MLD,
// router solicitation and neighbour discovery are all off (zero
// ipv6.Options on an L3 link). Its random sources are the streams
// (i, "netstack/rand") and (i, "netstack/secure").
func (n *Network) newNetstackHost(nd *Node) (*netstackHost, error) {
	i := nd.index
	h := &netstackHost{node: nd}
	h.link.node = nd
	seeds := n.e.seeds
	opts := stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv6.NewProtocolWithOptions(ipv6.Options{})},
		TransportProtocols: []stack.TransportProtocolFactory{udp.NewProtocol},
		Clock:              n.e.tclock,
		RandSource:         &pcgSource{p: *seeds.PCG(i, "netstack/rand")},
		SecureRNG:          &pcgReader{p: *seeds.PCG(i, "netstack/secure")},
		IPTables:           n.tables,
	}
	st := stack.New(opts)
	if n.tables == nil {
		// The first stack built its default (accept-all) tables from its
		// own seeded source; every later stack shares them read-only.
		n.tables = st.IPTables()
	}
	h.st = st
	if err := st.CreateNIC(nicID, &h.link); err != nil {
		return nil, fmt.Errorf("sim: node %d: create NIC: %s", i, err)
	}
	for _, a := range []netip.Addr{LinkLocalAddr(i), Addr(i)} {
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv6.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(a.As16()), PrefixLen: 64},
		}
		if err := st.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("sim: node %d: add address %s: %s", i, a, err)
		}
	}
	st.SetRouteTable([]tcpip.Route{{Destination: header.IPv6EmptySubnet, NIC: nicID}})
	return h, nil
}

func (h *netstackHost) bind(s *Socket) error {
	nd := h.node
	ns := &nsSocket{}
	ep, err := h.st.NewEndpoint(udp.ProtocolNumber, ipv6.ProtocolNumber, &ns.wq)
	if err != nil {
		return fmt.Errorf("sim: node %d: new UDP endpoint: %s", nd.index, err)
	}
	if err := ep.Bind(tcpip.FullAddress{Port: s.port}); err != nil {
		ep.Close()
		return fmt.Errorf("sim: node %d: bind port %d: %s", nd.index, s.port, err)
	}
	ns.ep = ep
	ns.entry = waiter.NewFunctionEntry(waiter.ReadableEvents, func(waiter.EventMask) { s.readable() })
	ns.wq.EventRegister(&ns.entry)
	s.ns = ns
	return nil
}

func (h *netstackHost) send(s *Socket, to netip.AddrPort, payload []byte) error {
	ns := s.ns
	ns.to = tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(to.Addr().As16()), Port: to.Port()}
	ns.rd.Reset(payload)
	if _, err := ns.ep.Write(&ns.rd, tcpip.WriteOptions{To: &ns.to}); err != nil {
		return &SendError{Node: h.node.index, To: to, Err: err.String()}
	}
	return nil
}

func (h *netstackHost) receive(data []byte) {
	if h.link.disp == nil {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(data)})
	h.link.disp.DeliverNetworkPacket(header.IPv6ProtocolNumber, pkt)
	pkt.DecRef()
}

func (h *netstackHost) read(s *Socket) (netip.AddrPort, []byte, bool) {
	n := h.node.net
	n.rbuf.b = n.rbuf.b[:0]
	res, err := s.ns.ep.Read(&n.rbuf, tcpip.ReadOptions{NeedRemoteAddr: true})
	if err != nil {
		return netip.AddrPort{}, nil, false // *tcpip.ErrWouldBlock: drained
	}
	from := netip.AddrPortFrom(netip.AddrFrom16(res.RemoteAddr.Addr.As16()), res.RemoteAddr.Port)
	return from, n.rbuf.b[:res.Count], true
}

func (h *netstackHost) close(s *Socket) {
	s.ns.wq.EventUnregister(&s.ns.entry)
	s.ns.ep.Close()
}

func (h *netstackHost) join(g netip.Addr) error {
	if err := h.st.JoinGroup(ipv6.ProtocolNumber, nicID, tcpip.AddrFrom16(g.As16())); err != nil {
		return fmt.Errorf("sim: node %d: join %s: %s", h.node.index, g, err)
	}
	return nil
}

func (h *netstackHost) leave(g netip.Addr) error {
	if err := h.st.LeaveGroup(ipv6.ProtocolNumber, nicID, tcpip.AddrFrom16(g.As16())); err != nil {
		return fmt.Errorf("sim: node %d: leave %s: %s", h.node.index, g, err)
	}
	return nil
}

// linkEndpoint is the node's L3 link to the switch: no link address, no
// header, no neighbour resolution, so the stack does no NDP. WritePackets
// hands each frame to the switch synchronously.
type linkEndpoint struct {
	node *Node
	disp stack.NetworkDispatcher
}

var _ stack.LinkEndpoint = (*linkEndpoint)(nil)

func (l *linkEndpoint) MTU() uint32                                  { return DefaultMTU }
func (l *linkEndpoint) SetMTU(uint32)                                {}
func (l *linkEndpoint) MaxHeaderLength() uint16                      { return 0 }
func (l *linkEndpoint) LinkAddress() tcpip.LinkAddress               { return "" }
func (l *linkEndpoint) SetLinkAddress(tcpip.LinkAddress)             {}
func (l *linkEndpoint) Capabilities() stack.LinkEndpointCapabilities { return 0 }
func (l *linkEndpoint) Attach(d stack.NetworkDispatcher)             { l.disp = d }
func (l *linkEndpoint) IsAttached() bool                             { return l.disp != nil }
func (l *linkEndpoint) Wait()                                        {}
func (l *linkEndpoint) ARPHardwareType() header.ARPHardwareType      { return header.ARPHardwareNone }
func (l *linkEndpoint) AddHeader(*stack.PacketBuffer)                {}
func (l *linkEndpoint) ParseHeader(*stack.PacketBuffer) bool         { return true }
func (l *linkEndpoint) Close()                                       {}
func (l *linkEndpoint) SetOnCloseAction(func())                      {}

// WritePackets copies each packet out of gVisor's buffers (the stack
// releases them after the call) and hands the bytes to the switch. It walks
// the view list directly: AsSlices would allocate a slice of slices per
// packet.
func (l *linkEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, pkt := range pkts.AsSlice() {
		b := make([]byte, 0, pkt.Size())
		vl, off := pkt.AsViewList()
		for v := vl.Front(); v != nil; v = v.Next() {
			s := v.AsSlice()
			if off >= len(s) {
				off -= len(s)
				continue
			}
			b = append(b, s[off:]...)
			off = 0
		}
		l.node.net.send(l.node.index, b)
		n++
	}
	return n, nil
}
