package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"mattersim/clock"
)

// Node is one simulated host: a network stack (its host: a gVisor stack in
// ModeNetstack, none in ModeDirect) with one port on the switch.
// Applications use it through Bind. Nodes are made by Network.AddNode (the
// zero value is not usable) and are not safe for concurrent use.
type Node struct {
	net   *Network
	index int
	host  host
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

// Stack returns the node's gVisor stack, for tests and diagnostics, or nil
// in ModeDirect. Changing its configuration can break determinism or the
// switch's model.
func (nd *Node) Stack() *stack.Stack {
	if h, ok := nd.host.(*netstackHost); ok {
		return h.st
	}
	return nil
}

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
	if err := nd.host.join(g); err != nil {
		return err
	}
	nd.net.join(g.As16(), nd.index)
	return nil
}

// LeaveGroup undoes JoinGroup.
func (nd *Node) LeaveGroup(g netip.Addr) error {
	if !g.Is6() || !g.IsMulticast() {
		return fmt.Errorf("sim: node %d: leave %s: not an IPv6 multicast address", nd.index, g)
	}
	if err := nd.host.leave(g); err != nil {
		return err
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
	h      Handler
	port   uint16
	queued bool
	closed bool
	timer  *Timer
	ns     *nsSocket  // ModeNetstack: the gVisor endpoint
	inbox  []datagram // ModeDirect: datagrams waiting to be read
	head   int        // ModeDirect: next inbox entry to read
}

// SendError reports a datagram the node's stack refused.
type SendError struct {
	Node int
	To   netip.AddrPort
	Err  string // the stack's error text
	// Cause, when set, is the sentinel behind the refusal (ErrTooLarge);
	// errors.Is sees it through Unwrap.
	Cause error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("sim: node %d: send to %s: %s", e.Node, e.To, e.Err)
}

// Unwrap returns Cause.
func (e *SendError) Unwrap() error { return e.Cause }

var _ error = (*SendError)(nil)

// Bind opens a UDP socket on [::]:port (MatterPort for Matter) delivering to
// h.
func (nd *Node) Bind(port uint16, h Handler) (*Socket, error) {
	s := &Socket{node: nd, h: h, port: port}
	if err := nd.host.bind(s); err != nil {
		return nil, err
	}
	s.timer = nd.net.e.NewTimer(s.fireTimer)
	return s, nil
}

// Node returns the socket's node.
func (s *Socket) Node() *Node { return s.node }

// LocalAddr returns the node's ULA address and the bound port.
func (s *Socket) LocalAddr() netip.AddrPort { return netip.AddrPortFrom(s.node.Addr(), s.port) }

// Send sends payload as one UDP datagram to to. The frame has entered the
// switch when Send returns. payload is not retained. In ModeDirect a
// payload above MaxDirectPayload is refused (a *SendError whose cause is
// ErrTooLarge) and counted in NetStats.Refused.
func (s *Socket) Send(to netip.AddrPort, payload []byte) error {
	if s.closed {
		return &SendError{Node: s.node.index, To: to, Err: "socket closed"}
	}
	a := to.Addr()
	if !a.Is6() || a.Is4In6() {
		return &SendError{Node: s.node.index, To: to, Err: "not an IPv6 address"}
	}
	return s.node.host.send(s, to, payload)
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
	s.node.host.close(s)
}

func (s *Socket) fireTimer(now clock.Time) {
	if !s.closed {
		s.h.HandleTimer(now)
	}
}

// readable notes that the socket has a datagram to read. Inside a
// delivery (the netstack's receive path holds its locks) the socket is only
// queued; it is read when the delivery returns (Network.markReady).
func (s *Socket) readable() {
	if !s.queued {
		s.queued = true
		s.node.net.markReady(s)
	}
}

func (s *Socket) drain() {
	n := s.node.net
	for !s.closed {
		from, payload, ok := s.node.host.read(s)
		if !ok {
			return
		}
		s.h.HandleDatagram(n.e.Now(), from, payload)
	}
}
