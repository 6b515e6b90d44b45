package sim

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"mattersim/clock"
)

// Workload message kinds: the first payload byte.
const (
	msgRequest byte = 'Q' // asks the receiver to echo
	msgReply   byte = 'R' // an echo; never answered
	msgOneWay  byte = 'O' // counted, not answered
)

// App is a plain UDP application for tests and benchmarks: it echoes
// requests, counts what it gets, and, when started, sends a datagram to a
// peer every Interval (plus up to Jitter, drawn from the node's "workload"
// stream). It stands in for the session core until that is bound to nodes.
// Make one with BindApp (the zero value has no socket) and set the exported
// fields before Start; without Start it only answers. Not safe for
// concurrent use.
type App struct {
	// Peers are the destinations; each send picks one at random (one peer:
	// always it).
	Peers []netip.AddrPort
	// Interval is the base gap between sends; Jitter adds a uniform random
	// [0, Jitter) to each gap.
	Interval, Jitter time.Duration
	// Size is the payload size in bytes (at least 9: kind + sequence).
	Size int
	// Echo asks peers to reply (requests) instead of sending one-way data.
	Echo bool
	// Limit stops sending after this many datagrams (0: no limit).
	Limit uint64

	Sent, Requests, Replies, OneWay, SendErrors uint64

	sock *Socket
	rng  *rand.Rand
	buf  []byte
	seq  uint64
}

// BindApp binds an App on nd at port.
func BindApp(nd *Node, port uint16) (*App, error) {
	a := &App{}
	s, err := nd.Bind(port, a)
	if err != nil {
		return nil, err
	}
	a.sock = s
	return a, nil
}

// Socket returns the app's socket.
func (a *App) Socket() *Socket { return a.sock }

// Start arms the first send at at.
func (a *App) Start(at clock.Time) {
	if a.rng == nil {
		a.rng = a.sock.node.Rand("workload")
	}
	a.sock.SetTimer(at)
}

// Stop cancels further sends.
func (a *App) Stop() { a.sock.SetTimer(clock.Never) }

// HandleTimer sends one datagram and arms the next send.
func (a *App) HandleTimer(now clock.Time) {
	if len(a.Peers) == 0 || (a.Limit > 0 && a.Sent >= a.Limit) {
		return
	}
	peer := a.Peers[0]
	if len(a.Peers) > 1 {
		peer = a.Peers[a.rng.IntN(len(a.Peers))]
	}
	kind := msgOneWay
	if a.Echo {
		kind = msgRequest
	}
	a.SendTo(peer, kind)
	if a.Limit > 0 && a.Sent >= a.Limit {
		return
	}
	gap := a.Interval
	if a.Jitter > 0 {
		gap += time.Duration(a.rng.Int64N(int64(a.Jitter)))
	}
	a.sock.SetTimer(now.Add(max(gap, 0)))
}

// SendTo sends one workload datagram of kind to peer now.
func (a *App) SendTo(peer netip.AddrPort, kind byte) {
	size := max(a.Size, 9)
	if cap(a.buf) < size {
		a.buf = make([]byte, size)
	}
	b := a.buf[:size]
	a.seq++
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:9], a.seq)
	for i := 9; i < size; i++ {
		b[i] = byte(i)
	}
	if err := a.sock.Send(peer, b); err != nil {
		a.SendErrors++
		return
	}
	a.Sent++
}

// HandleDatagram answers requests and counts datagrams by kind.
func (a *App) HandleDatagram(_ clock.Time, from netip.AddrPort, p []byte) {
	if len(p) == 0 {
		return
	}
	switch p[0] {
	case msgRequest:
		a.Requests++
		p[0] = msgReply
		if err := a.sock.Send(from, p); err != nil {
			a.SendErrors++
		}
	case msgReply:
		a.Replies++
	default:
		a.OneWay++
	}
}

var _ Handler = (*App)(nil)
