package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"mattersim/clock"
)

// Node is one simulated host: a gVisor stack with one NIC on the switch.
// Applications use it through Bind. Nodes are made by Network.AddNode (the
// zero value is not usable) and are not safe for concurrent use.
type Node struct {
	net   *Network
	index int
	st    *stack.Stack
	link  linkEndpoint
	down  bool
}

// SetDown powers the node off (true) or on (false) as far as the network
// is concerned: while it is down, every frame copy that arrives for it is
// dropped with DropDown (frames already queued when it goes down included,
// if they arrive before it is up again). What runs on the node is its
// applications' business (nodes.Node.PowerOff stops the session core and
// its timers).
func (nd *Node) SetDown(down bool) { nd.down = down }

// Down reports whether the node is powered off (SetDown).
func (nd *Node) Down() bool { return nd.down }

// Index returns the node's index in the network (0-based).
func (nd *Node) Index() int { return nd.index }

// Network returns the node's network.
func (nd *Node) Network() *Network { return nd.net }

// Addr returns the node's ULA address (ULAPrefix + index+1).
func (nd *Node) Addr() netip.Addr { return Addr(nd.index) }

// LinkLocal returns the node's link-local address (fe80:: + index+1).
func (nd *Node) LinkLocal() netip.Addr { return LinkLocalAddr(nd.index) }

// Stack returns the node's gVisor stack, for tests and diagnostics.
// Changing its configuration can break determinism or the switch's model.
func (nd *Node) Stack() *stack.Stack { return nd.st }

// Rand returns the node's random stream for purpose (see Seeds.Stream).
func (nd *Node) Rand(purpose string) *rand.Rand { return nd.net.e.seeds.Stream(nd.index, purpose) }

// JoinGroup makes the node a member of multicast group g: the switch
// forwards g's frames to it and its stack accepts them (MLD is off, so the
// switch is told directly). Sockets bound to
// the unspecified address on the port receive the group's datagrams.
func (nd *Node) JoinGroup(g netip.Addr) error {
	if !g.Is6() || !g.IsMulticast() {
		return fmt.Errorf("sim: node %d: join %s: not an IPv6 multicast address", nd.index, g)
	}
	if err := nd.st.JoinGroup(ipv6.ProtocolNumber, nicID, tcpip.AddrFrom16(g.As16())); err != nil {
		return fmt.Errorf("sim: node %d: join %s: %s", nd.index, g, err)
	}
	nd.net.join(g.As16(), nd.index)
	return nil
}

// LeaveGroup undoes JoinGroup.
func (nd *Node) LeaveGroup(g netip.Addr) error {
	if !g.Is6() || !g.IsMulticast() {
		return fmt.Errorf("sim: node %d: leave %s: not an IPv6 multicast address", nd.index, g)
	}
	if err := nd.st.LeaveGroup(ipv6.ProtocolNumber, nicID, tcpip.AddrFrom16(g.As16())); err != nil {
		return fmt.Errorf("sim: node %d: leave %s: %s", nd.index, g, err)
	}
	nd.net.leave(g.As16(), nd.index)
	return nil
}

// Handler is an application on a socket. Both methods run on the simulator
// goroutine, one event at a time; they may send and set the socket's timer.
type Handler interface {
	// HandleDatagram receives one UDP datagram. payload is valid only during
	// the call (the buffer is reused); copy what you keep.
	HandleDatagram(now clock.Time, from netip.AddrPort, payload []byte)
	// HandleTimer is called when the socket's timer falls due.
	HandleTimer(now clock.Time)
}

// Transport is the narrow interface an application (a Handler) uses to
// talk back to its network: send a datagram, keep one timer at its earliest
// deadline (house style 2 and 7). Socket implements it; a real-UDP adapter
// can implement the same methods.
type Transport interface {
	// Send sends payload as one datagram; payload is not retained.
	Send(to netip.AddrPort, payload []byte) error
	// SetTimer sets the single timer (clock.Never cancels).
	SetTimer(at clock.Time)
	// LocalAddr returns the address and port datagrams are sent from.
	LocalAddr() netip.AddrPort
}

var _ Transport = (*Socket)(nil)

// Socket is a UDP endpoint bound on a node, with one application timer (the
// application keeps it at its earliest deadline; house style 2). The zero
// value is not usable; call Node.Bind. Not safe for concurrent use.
type Socket struct {
	node   *Node
	ep     tcpip.Endpoint
	h      Handler
	port   uint16
	queued bool
	closed bool
	wq     waiter.Queue
	entry  waiter.Entry
	timer  *Timer
	rd     bytes.Reader
	to     tcpip.FullAddress
}

// SendError reports a datagram the node's stack refused.
type SendError struct {
	Node int
	To   netip.AddrPort
	Err  string // the stack's error text
}

func (e *SendError) Error() string {
	return fmt.Sprintf("sim: node %d: send to %s: %s", e.Node, e.To, e.Err)
}

var _ error = (*SendError)(nil)

// Bind opens a UDP socket on [::]:port (MatterPort for Matter) delivering to
// h.
func (nd *Node) Bind(port uint16, h Handler) (*Socket, error) {
	s := &Socket{node: nd, h: h, port: port}
	ep, err := nd.st.NewEndpoint(udp.ProtocolNumber, ipv6.ProtocolNumber, &s.wq)
	if err != nil {
		return nil, fmt.Errorf("sim: node %d: new UDP endpoint: %s", nd.index, err)
	}
	if err := ep.Bind(tcpip.FullAddress{Port: port}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("sim: node %d: bind port %d: %s", nd.index, port, err)
	}
	s.ep = ep
	s.entry = waiter.NewFunctionEntry(waiter.ReadableEvents, s.readable)
	s.wq.EventRegister(&s.entry)
	s.timer = nd.net.e.NewTimer(s.fireTimer)
	return s, nil
}

// Node returns the socket's node.
func (s *Socket) Node() *Node { return s.node }

// LocalAddr returns the node's ULA address and the bound port.
func (s *Socket) LocalAddr() netip.AddrPort { return netip.AddrPortFrom(s.node.Addr(), s.port) }

// Send sends payload as one UDP datagram to to. The frame has entered the
// switch when Send returns. payload is not retained.
func (s *Socket) Send(to netip.AddrPort, payload []byte) error {
	if s.closed {
		return &SendError{Node: s.node.index, To: to, Err: "socket closed"}
	}
	a := to.Addr()
	if !a.Is6() || a.Is4In6() {
		return &SendError{Node: s.node.index, To: to, Err: "not an IPv6 address"}
	}
	s.to = tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(a.As16()), Port: to.Port()}
	s.rd.Reset(payload)
	if _, err := s.ep.Write(&s.rd, tcpip.WriteOptions{To: &s.to}); err != nil {
		return &SendError{Node: s.node.index, To: to, Err: err.String()}
	}
	return nil
}

// Injected reports whether the datagram being handled (call it from inside
// Handler.HandleDatagram) arrived in a frame the switch marked injected: a
// forged or replayed frame from Network.Inject. It is false outside
// HandleDatagram. Frames a stage duplicated keep the original's mark.
func (s *Socket) Injected() bool { return s.node.net.injected }

// SetPowered implements nodes.Powered: it powers the socket's node on or
// off (Node.SetDown).
func (s *Socket) SetPowered(on bool) { s.node.SetDown(!on) }

// SetTimer sets the socket's single timer to fire at at (a past instant
// fires at now, after the events already queued for now); clock.Never
// cancels it.
func (s *Socket) SetTimer(at clock.Time) { s.timer.Set(at) }

// Deadline returns the pending timer instant, or clock.Never.
func (s *Socket) Deadline() clock.Time { return s.timer.Deadline() }

// Close closes the endpoint and cancels the timer.
func (s *Socket) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.timer.Stop()
	s.wq.EventUnregister(&s.entry)
	s.ep.Close()
}

func (s *Socket) fireTimer(now clock.Time) {
	if !s.closed {
		s.h.HandleTimer(now)
	}
}

// readable runs inside the stack's receive path: only note the socket; it is
// read after DeliverNetworkPacket returns (reading it here would re-enter
// the stack while it holds its locks).
func (s *Socket) readable(waiter.EventMask) {
	if !s.queued {
		s.queued = true
		s.node.net.markReady(s)
	}
}

func (s *Socket) drain() {
	n := s.node.net
	for !s.closed {
		n.rbuf.b = n.rbuf.b[:0]
		res, err := s.ep.Read(&n.rbuf, tcpip.ReadOptions{NeedRemoteAddr: true})
		if err != nil {
			return // *tcpip.ErrWouldBlock: drained
		}
		from := netip.AddrPortFrom(netip.AddrFrom16(res.RemoteAddr.Addr.As16()), res.RemoteAddr.Port)
		s.h.HandleDatagram(n.e.Now(), from, n.rbuf.b[:res.Count])
	}
}

// linkEndpoint is the node's L3 link to the switch: no link address, no
// header, no neighbour resolution, so the stack does no NDP. WritePackets hands each frame to the switch synchronously.
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
