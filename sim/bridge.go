package sim

import (
	"errors"
	"net/netip"

	"mattersim/clock"
)

// Port is the far side of an external port on the switch: a bridge to a
// real link (sim/bridge attaches a Linux TAP interface). The switch hands
// it every frame routed to the port — unicast to an address no virtual node
// owns, and every multicast frame — after partitions and the port's link
// fault stages, exactly as it would deliver them to a node.
type Port interface {
	// WriteFrame sends one IPv6 packet out of the port. data belongs to
	// the switch: the port must not keep or modify it after the call.
	WriteFrame(now clock.Time, data []byte)
}

// ErrPortTaken is returned by AddPort when the network already has an
// external port.
var ErrPortTaken = errors.New("sim: the network already has an external port")

// portHost is the host of the node that stands for an external port: it
// has no sockets; frames delivered to it leave through the Port.
type portHost struct {
	node *Node
	p    Port
}

var _ host = (*portHost)(nil)

func (h *portHost) bind(*Socket) error {
	return errors.New("sim: an external port has no sockets")
}

func (h *portHost) send(s *Socket, to netip.AddrPort, _ []byte) error {
	return &SendError{Node: h.node.index, To: to, Err: "external port"}
}

func (h *portHost) receive(data []byte) { h.p.WriteFrame(h.node.net.e.Now(), data) }

func (h *portHost) read(*Socket) (netip.AddrPort, []byte, bool) {
	return netip.AddrPort{}, nil, false
}

func (h *portHost) close(*Socket)          {}
func (h *portHost) join(netip.Addr) error  { return nil }
func (h *portHost) leave(netip.Addr) error { return nil }

// AddPort adds an external port: a node of the switch (the next index) with
// no stack, whose frames come from PortInput and go out through p. The
// switch routes to it every unicast frame whose destination no virtual node
// owns (the real side's addresses, learned by the port, not configured)
// and every multicast frame from a virtual node. Partitions, link fault
// stages (SetLinkSpec wildcards included), taps, observers, the trace and
// the capture treat it as any node, so the scenario's faults and adversary
// apply to bridged frames in both directions. A network has at most one
// port; add it after the virtual nodes.
func (n *Network) AddPort(p Port) (*Node, error) {
	if n.port != nil {
		return nil, ErrPortTaken
	}
	nd := &Node{net: n, index: len(n.nodes)}
	nd.host = &portHost{node: nd, p: p}
	n.nodes = append(n.nodes, nd)
	n.port = nd
	return nd, nil
}

// PortNode returns the external port's node, or nil.
func (n *Network) PortNode() *Node { return n.port }

// PortInput puts a frame that arrived from outside into the switch at the
// current instant, from the port's node, as if the port's stack had sent
// it. The switch keeps data; do not modify it afterwards. It is the only
// input a real-time run takes from outside the seed.
func (n *Network) PortInput(data []byte) {
	if n.port == nil {
		return
	}
	n.stats.Sent++
	n.ingress(n.port.index, -1, data, false)
}

// portRoute returns the port's index for a frame from from that no virtual
// node takes, or -1 (no port, or the frame came from the port).
func (n *Network) portRoute(from int) int {
	if n.port == nil || from == n.port.index {
		return -1
	}
	return n.port.index
}
