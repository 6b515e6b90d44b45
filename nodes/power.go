package nodes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/counter"
	"mattersim/session/message"
)

// Power errors.
var (
	// ErrDown: the node is powered off (Do, Establish on it).
	ErrDown = errors.New("nodes: node is powered off")
	// ErrNoCoreFactory: PowerOn or Reboot on a node without a
	// CoreFactory (SetCoreFactory).
	ErrNoCoreFactory = errors.New("nodes: no core factory to boot a fresh session core")
	// ErrInInput: PowerOff, PowerOn or Reboot called from inside one of
	// the node's own inputs; schedule it as its own event instead.
	ErrInInput = errors.New("nodes: power change from inside the node's own input")
)

// Powered is implemented by transports that model a node's power (the
// simulator's socket: a powered-off node's frames are dropped by the
// network with cause "down"). PowerOff and PowerOn call it.
type Powered interface {
	SetPowered(on bool)
}

// Lifecycle is implemented by workloads and Handshakers that keep state
// tied to the session core: PowerOff is called when the core is lost (the
// node powers off, or reboots), Boot once a fresh core is in place
// (n.Manager()). PowerOff must end what was in flight (counting it
// aborted) and may not use the old core; Boot runs inside a node input
// and may send. On a boot the Handshaker's Boot runs before the
// workload's.
type Lifecycle interface {
	PowerOff(now clock.Time, n *Node)
	Boot(now clock.Time, n *Node)
}

// CoreFactory builds the session core of boot number boot (1 for the first
// reboot or power-on; boot 0 is the first core, given to New or built by
// NewBooted). It reads what the
// node persisted from st. A simulation seeds each boot from its own stream
// (per node and boot), so the fresh core draws a new unencrypted counter
// and new session ids (spec 4.6.1.1, 4.13.2.1).
type CoreFactory func(boot int, st *Store) (*session.Manager, error)

// SetCoreFactory sets how the node's core is rebuilt on PowerOn and
// Reboot. Without one they fail with ErrNoCoreFactory.
func (n *Node) SetCoreFactory(f CoreFactory) { n.factory = f }

// NewBooted is New with the core of boot 0 built by f from the node's
// (empty) Store, and f kept as the node's CoreFactory: every boot's core
// comes from the same function.
func NewBooted(index int, nodeID message.NodeID, f CoreFactory, w Workload) (*Node, error) {
	if f == nil {
		return nil, ErrNoCoreFactory
	}
	n := &Node{index: index, nodeID: nodeID, w: w, armed: clock.Never, factory: f}
	m, err := f(0, &n.store)
	if err != nil {
		return nil, err
	}
	n.m = m
	n.register()
	return n, nil
}

// Store returns the node's persistent store: what survives reboots and
// power cycles.
func (n *Node) Store() *Store { return &n.store }

// Down reports whether the node is powered off.
func (n *Node) Down() bool { return n.down }

// Boot returns the node's boot number: 0 until its first reboot or
// power-on, then 1, 2, ...
func (n *Node) Boot() int { return n.boots }

// PowerOff powers the node off at now. What the spec says a reboot loses
// is lost (spec 4.13.2.1, 4.6.1.1): every session, exchange, pending ack
// and retransmission of the core, which is dropped; the Handshaker and
// workload end what was in flight (Lifecycle.PowerOff: in-flight
// operations count aborted). What persists is the node's Store (group
// counters go there) and whatever the workload keeps as configuration.
// While off, the node runs no timers, takes no input (a datagram handed to
// it is dropped; a Powered transport has the network drop it first, with
// cause "down") and Do fails with ErrDown. Powering off a node that is off
// does nothing.
func (n *Node) PowerOff(now clock.Time) error {
	if n.depth > 0 {
		return ErrInInput
	}
	if n.down {
		return nil
	}
	n.powerOff(now)
	n.Emit(now, NodeEvent{Kind: NodePoweredOff, Peer: -1, Boot: n.boots})
	return nil
}

func (n *Node) powerOff(now clock.Time) {
	n.down = true
	if p, ok := n.tr.(Powered); ok {
		p.SetPowered(false)
	}
	if n.tr != nil {
		n.tr.SetTimer(clock.Never)
	}
	n.armed = clock.Never
	n.depth++ // Lifecycle callbacks are not inputs: nothing is drained
	if l, ok := n.hs.(Lifecycle); ok {
		l.PowerOff(now, n)
	}
	if l, ok := n.w.(Lifecycle); ok {
		l.PowerOff(now, n)
	}
	n.depth--
}

// PowerOn boots the node at now with a fresh core from its CoreFactory
// (boot number Boot()+1): the workload's unsolicited registrations are
// made on it, then the Handshaker's and the workload's Lifecycle.Boot run
// (a controller re-establishes its sessions there). If the factory fails
// the node stays off. Powering on a node that is on does nothing.
func (n *Node) PowerOn(now clock.Time) error {
	if n.depth > 0 {
		return ErrInInput
	}
	if !n.down {
		return nil
	}
	if err := n.boot(now); err != nil {
		return err
	}
	n.Emit(now, NodeEvent{Kind: NodePoweredOn, Peer: -1, Boot: n.boots})
	n.booted(now)
	return nil
}

// Reboot is PowerOff then PowerOn at the same instant: no frame is dropped
// for being down, but everything PowerOff loses is lost.
func (n *Node) Reboot(now clock.Time) error {
	if n.depth > 0 {
		return ErrInInput
	}
	if n.factory == nil {
		return ErrNoCoreFactory
	}
	wasDown := n.down
	if !wasDown {
		n.powerOff(now)
	}
	if err := n.boot(now); err != nil {
		return err
	}
	n.Emit(now, NodeEvent{Kind: NodeRebooted, Peer: -1, Boot: n.boots})
	n.booted(now)
	return nil
}

// boot installs the next core; the node is still marked down until booted.
func (n *Node) boot(clock.Time) error {
	if n.factory == nil {
		return ErrNoCoreFactory
	}
	m, err := n.factory(n.boots+1, &n.store)
	if err != nil {
		return err
	}
	n.boots++
	n.m = m
	n.register()
	return nil
}

// booted brings the node up on its new core and runs the Boot callbacks as
// one input.
func (n *Node) booted(now clock.Time) {
	n.down = false
	if p, ok := n.tr.(Powered); ok {
		p.SetPowered(true)
	}
	n.depth++
	if l, ok := n.hs.(Lifecycle); ok {
		l.Boot(now, n)
		n.drain(now)
	}
	if l, ok := n.w.(Lifecycle); ok {
		l.Boot(now, n)
		n.drain(now)
	}
	n.depth--
	n.rearm()
}

// Store is a node's persistent storage: the values that survive Reboot
// and a power cycle, unlike the session core, which is rebuilt at every
// boot. It is where a node keeps what the spec says must persist: its
// global group message counters with their look-ahead (spec 4.6.1 and
// 4.5.1.3 as the SDK cites them: store the counter plus
// counter.MinIncrement and move the stored value on only when it is
// reached, so that after an unclean reboot the node resumes beyond any
// value it used; connectedhomeip GroupPeerMessageCounter.cpp). Store
// implements counter.Store for that: a CoreFactory passes it to the fresh
// core with session.Manager.SetGroupCounterStore. Other persistent values
// (keys named by their writer, opaque bytes) go through Get and Put.
//
// What a node does NOT persist here is lost at a reboot: sessions,
// exchanges, reception windows, the unencrypted message counter (re-drawn,
// spec 4.6.1.1), MRP state. The zero value is an empty store. Not safe for
// concurrent use.
type Store struct {
	m map[string][]byte // lookup only; Keys sorts
}

var _ counter.Store = (*Store)(nil)

// Get returns the value stored under key. The slice is the store's: do
// not modify it.
func (s *Store) Get(key string) ([]byte, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Put stores a copy of v under key.
func (s *Store) Put(key string, v []byte) {
	if s.m == nil {
		s.m = make(map[string][]byte)
	}
	s.m[key] = append([]byte(nil), v...)
}

// Delete removes key.
func (s *Store) Delete(key string) { delete(s.m, key) }

// Keys returns the stored keys, sorted.
func (s *Store) Keys() []string {
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Load implements counter.Store: the uint32 stored under key
// (little-endian, 4 bytes). A value of another size is an error.
func (s *Store) Load(key string) (uint32, bool, error) {
	v, ok := s.m[key]
	if !ok {
		return 0, false, nil
	}
	if len(v) != 4 {
		return 0, false, &StoreError{Key: key, Size: len(v)}
	}
	return binary.LittleEndian.Uint32(v), true, nil
}

// Save implements counter.Store.
func (s *Store) Save(key string, v uint32) error {
	s.Put(key, binary.LittleEndian.AppendUint32(nil, v))
	return nil
}

// StoreError reports a stored value that is not a counter.
type StoreError struct {
	Key  string
	Size int
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("nodes: store: %q holds %d bytes, not a 4-byte counter", e.Key, e.Size)
}

var _ error = (*StoreError)(nil)
