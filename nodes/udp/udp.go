// Package udp runs a session core (session.Manager) on a real UDP socket
// with the wall clock: the real-network counterpart of the simulator.
//
// A Node owns one loop goroutine. The loop sets the socket's read deadline
// from the core's NextDeadline, reads a datagram or times out, calls
// HandleDatagram or HandleTimeout with clock.Real time, and writes every
// datagram the core outputs. Application calls (Do and the helpers built on
// it) are queued and run on the loop, which is woken by moving the read
// deadline into the past; so the core itself is only ever touched by one
// goroutine (house style 1: the goroutine wrapper lives outside session/).
package udp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"mattersim/clock"
	"mattersim/session"
)

// Options configures a Node. The zero value is valid.
type Options struct {
	// Drop, if set, is asked about every outgoing datagram and drops it
	// when it returns true: fault injection for tests. It runs on the loop
	// goroutine only, so it may use unsynchronized state (a seeded rand).
	Drop func(to netip.AddrPort, b []byte) bool
}

// ErrClosed is returned by calls on a closed Node.
var ErrClosed = errors.New("udp: node closed")

// Node runs a session.Manager on a *net.UDPConn. Create it with Start. Its
// methods are safe for concurrent use.
type Node struct {
	conn *net.UDPConn
	m    *session.Manager
	clk  *clock.Real
	opts Options

	mu     sync.Mutex
	reqs   []func(now clock.Time)
	evq    []session.Event
	evWake chan struct{}
	closed bool

	events chan session.Event
	done   chan struct{}
	err    error
}

// Start takes ownership of conn and m and starts the loop. Close stops it.
func Start(conn *net.UDPConn, m *session.Manager, opts Options) *Node {
	n := &Node{
		conn:   conn,
		m:      m,
		clk:    clock.NewReal(),
		opts:   opts,
		evWake: make(chan struct{}, 1),
		events: make(chan session.Event),
		done:   make(chan struct{}),
	}
	go n.loop()
	go n.pump()
	return n
}

// Addr returns the local address of the socket.
func (n *Node) Addr() netip.AddrPort {
	return n.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Events returns the channel of the core's events, in order. Payloads are
// copies the receiver owns. Events are queued without bound, so a slow
// reader never stalls the loop; the channel closes after Close.
func (n *Node) Events() <-chan session.Event { return n.events }

// Do runs f on the loop goroutine with the current time and waits for it.
// f may call any Manager method; outputs it produces are sent when it
// returns. It returns ErrClosed if the node is closed.
func (n *Node) Do(f func(m *session.Manager, now clock.Time)) error {
	ran := make(chan struct{})
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.reqs = append(n.reqs, func(now clock.Time) { f(n.m, now); close(ran) })
	n.mu.Unlock()
	// Wake the loop out of its read (SetReadDeadline is goroutine-safe).
	_ = n.conn.SetReadDeadline(time.Unix(1, 0))
	select {
	case <-ran:
		return nil
	case <-n.done:
		return ErrClosed
	}
}

// Send sends msg on exchange x, on the loop (see session.Manager.Send).
func (n *Node) Send(x session.Exchange, msg session.Message) error {
	var err error
	if derr := n.Do(func(m *session.Manager, now clock.Time) { err = m.Send(now, x, msg) }); derr != nil {
		return derr
	}
	return err
}

// Close stops the loop and closes the socket. It returns the loop's error,
// if it stopped for another reason first.
func (n *Node) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	_ = n.conn.Close()
	<-n.done
	return n.err
}

func (n *Node) loop() {
	defer close(n.done)
	defer func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		select {
		case n.evWake <- struct{}{}:
		default:
		}
	}()
	buf := make([]byte, 64*1024)
	for {
		// Run queued application calls, then arm the read deadline; check
		// the queue again after arming, since a Do that raced with the
		// arming may have had its wake-up overwritten.
		for n.runRequests() {
		}
		dl := n.m.NextDeadline()
		var wall time.Time
		if dl != clock.Never {
			wall = n.clk.Deadline(dl)
		}
		if err := n.conn.SetReadDeadline(wall); err != nil {
			n.fail(err)
			return
		}
		if n.pending() {
			continue
		}
		sz, from, err := n.conn.ReadFromUDPAddrPort(buf)
		now := n.clk.Now()
		switch {
		case err == nil:
			n.m.HandleDatagram(now, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), buf[:sz])
		case errors.Is(err, os.ErrDeadlineExceeded):
			if now >= n.m.NextDeadline() {
				n.m.HandleTimeout(now)
			}
		case errors.Is(err, net.ErrClosed):
			return
		default:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// ICMP-induced errors (e.g. connection refused) are not fatal
			// for a datagram socket.
			continue
		}
		n.flush()
	}
}

func (n *Node) fail(err error) {
	if !errors.Is(err, net.ErrClosed) {
		n.err = err
	}
}

func (n *Node) pending() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.reqs) > 0
}

func (n *Node) runRequests() bool {
	n.mu.Lock()
	reqs := n.reqs
	n.reqs = nil
	n.mu.Unlock()
	if len(reqs) == 0 {
		return false
	}
	for _, f := range reqs {
		f(n.clk.Now())
		n.flush()
	}
	return true
}

// flush drains the core: datagrams to the socket, events to the queue.
func (n *Node) flush() {
	var evs []session.Event
	for {
		o, ok := n.m.Poll()
		if !ok {
			break
		}
		if o.IsDatagram() {
			if n.opts.Drop != nil && n.opts.Drop(o.To, o.Data) {
				continue
			}
			_, _ = n.conn.WriteToUDPAddrPort(o.Data, o.To)
			continue
		}
		e := o.Event
		if e.Payload != nil {
			e.Payload = append([]byte(nil), e.Payload...)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		return
	}
	n.mu.Lock()
	n.evq = append(n.evq, evs...)
	n.mu.Unlock()
	select {
	case n.evWake <- struct{}{}:
	default:
	}
}

// pump moves queued events to the unbuffered Events channel.
func (n *Node) pump() {
	defer close(n.events)
	for {
		n.mu.Lock()
		q := n.evq
		n.evq = nil
		closed := n.closed
		n.mu.Unlock()
		for _, e := range q {
			select {
			case n.events <- e:
			case <-n.done:
				return
			}
		}
		if len(q) == 0 {
			if closed {
				return
			}
			<-n.evWake
		}
	}
}
