package session

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
)

// unsecuredFrame builds an unsecured datagram as an initiator with
// ephemeral id eph sends it (spec 4.13.2.1), or, with reply set, as a
// responder answering eph.
func unsecuredFrame(eph message.NodeID, reply bool, ctr uint32, ph message.ProtocolHeader, payload []byte) []byte {
	h := message.Header{Counter: ctr}
	if reply {
		h.DestKind, h.DestNode = message.DestinationNode, eph
	} else {
		h.HasSource, h.Source = true, eph
	}
	b := h.Append(nil)
	b = ph.Append(b)
	return append(b, payload...)
}

func countKind(out []Output, k EventKind) int {
	n := 0
	for _, o := range out {
		if !o.IsDatagram() && o.Event.Kind == k {
			n++
		}
	}
	return n
}

var addrC = netip.MustParseAddrPort("[fd00::c]:5540")

// TestUnsecuredTableKeepsSessionsInUse: a full unsecured table
// recycles only idle sessions (no exchanges, so no pending ack and no
// retransmission); when every entry is in use a new session is refused
// with EventTableFull and nothing is sent (connectedhomeip
// UnauthenticatedSessionTable.h FindLeastRecentUsedEntry,
// SessionManager.cpp "UnauthenticatedSession exhausted").
func TestUnsecuredTableKeepsSessionsInUse(t *testing.T) {
	b := newManager(t, Config{MaxUnsecuredSessions: 2}, 31, jitterHalf)
	req := func(eph message.NodeID, x uint16) []byte {
		return unsecuredFrame(eph, false, 100, message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag,
			Opcode: message.OpPBKDFParamRequest, ExchangeID: x, ProtocolID: message.ProtocolSecureChannel}, []byte{1})
	}
	// 1. A PASE in progress: its exchange is open and our reply awaits an ack.
	b.HandleDatagram(0, addrA, req(0x1111, 1))
	out := drainAll(b)
	require.Equal(t, []string{"session-opened", "message"}, kinds(out))
	pase := out[1].Event
	require.NoError(t, b.Send(0, pase.Exchange, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPBKDFParamResponse, Reliable: true}))
	drainAll(b)
	// 2. An attacker fills the other slot, then keeps its exchange open.
	b.HandleDatagram(clockAt(10), addrC, req(0x2222, 2))
	out = drainAll(b)
	require.Equal(t, []string{"session-opened", "message"}, kinds(out))
	hostile := out[1].Event
	// 3. Table full, nothing idle: the next new session is refused, silently.
	for i := range 10 {
		b.HandleDatagram(clockAt(20+i), addrC, req(message.NodeID(0x3333+i), 3))
		require.Equal(t, []string{"table-full"}, kinds(drainAll(b)), "attempt %d", i)
	}
	info, ok := b.SessionInfo(pase.Session)
	require.True(t, ok, "the PASE in progress keeps its session")
	require.Equal(t, 1, info.Pending)
	require.Len(t, b.Sessions(), 2)
	_, err := b.OpenUnsecured(clockAt(40), addrA)
	require.ErrorIs(t, err, ErrTableFull)
	// 4. Once the attacker's exchange is released its session is idle and
	// is the one recycled, never the PASE's.
	require.NoError(t, b.CloseExchange(clockAt(50), hostile.Exchange))
	drainAll(b)
	b.HandleDatagram(clockAt(60), addrC, req(0x4444, 4))
	out = drainAll(b)
	require.Equal(t, []string{"session-closed", "session-opened", "message"}, kinds(out))
	require.Equal(t, hostile.Session, out[0].Event.Session)
	require.Equal(t, ClosedEvicted, out[0].Event.Reason)
	_, ok = b.SessionInfo(pase.Session)
	require.True(t, ok)
}

// TestHostileUnsolicitedBounded: 50,000 unsecured datagrams from
// "new initiators" with new exchange ids, of every protocol, leave the
// session and exchange tables bounded even though nobody closes the
// exchanges they open: unregistered protocols open nothing (acked if R,
// EventUnhandled), registered ones stop at MaxUnsecuredSessions and
// MaxExchanges (EventTableFull). Before the registry every one of them
// opened an exchange (50,009 live exchanges).
func TestHostileUnsolicitedBounded(t *testing.T) {
	const n = 50000
	p := newPair(t, Config{}, 41, func() rand.Source { return jitterHalf })
	b := p.b.m
	drainAll(b)
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[EventKind]int{}
	for i := range n {
		ph := message.ProtocolHeader{ExchangeID: uint16(rng.Uint32()), Opcode: uint8(rng.Uint32())}
		if rng.IntN(4) != 0 {
			ph.Flags |= message.InitiatorFlag
		}
		if rng.IntN(2) == 0 {
			ph.Flags |= message.ReliableFlag
		}
		switch rng.IntN(4) {
		case 0:
			ph.ProtocolID = message.ProtocolSecureChannel
			ph.Opcode = message.OpPBKDFParamRequest
		case 1:
			ph.ProtocolID = message.ProtocolInteractionModel
		case 2:
			ph.ProtocolID = message.ProtocolSecureChannel
			ph.Opcode = message.OpStandaloneAck
		default:
			ph.ProtocolID = message.ProtocolID(rng.Uint32())
		}
		eph := message.NodeID(rng.Uint64() | 1)
		from := netip.AddrPortFrom(addrC.Addr(), uint16(rng.Uint32()))
		now := clock.Time(int64(i) * int64(time.Millisecond))
		b.HandleDatagram(now, from, unsecuredFrame(eph, false, rng.Uint32(), ph, []byte{1, 2, 3}))
		for {
			o, ok := b.Poll()
			if !ok {
				break
			}
			if !o.IsDatagram() {
				counts[o.Event.Kind]++
			}
		}
		if i%1000 == 0 {
			b.HandleTimeout(b.NextDeadline()) // flush pending acks as a driver would
			drainAll(b)
		}
		require.LessOrEqual(t, len(b.unsecured), DefaultMaxUnsecuredSessions)
		require.LessOrEqual(t, b.inbound, DefaultMaxExchanges)
	}
	b.NextDeadline()
	require.LessOrEqual(t, len(b.live), DefaultMaxExchanges+DefaultMaxUnsecuredSessions)
	require.Len(t, b.secure, 1, "the PASE session survives")
	open := 0
	for _, s := range b.unsecured {
		open += len(s.exchanges)
	}
	require.LessOrEqual(t, open, DefaultMaxUnsecuredSessions)
	require.Greater(t, counts[EventUnhandled], n/4)
	require.NotZero(t, counts[EventTableFull])
	require.LessOrEqual(t, counts[EventSessionOpened], DefaultMaxUnsecuredSessions)
	t.Logf("events: %v", counts)
}

// TestStrayUnsecuredMessagesCreateNoSession: a replayed standalone ack, an
// unhandled protocol or a message for no exchange on a new ephemeral id
// leave no session behind; an unhandled reliable message is still acked.
func TestStrayUnsecuredMessagesCreateNoSession(t *testing.T) {
	b := newManager(t, Config{}, 51, jitterHalf)
	ack := unsecuredFrame(0x99, false, 7, message.ProtocolHeader{Flags: message.InitiatorFlag | message.AckFlag, AckCounter: 3,
		Opcode: message.OpStandaloneAck, ProtocolID: message.ProtocolSecureChannel}, nil)
	b.HandleDatagram(0, addrA, ack)
	require.Equal(t, []string{"standalone-ack"}, kinds(drainAll(b)), "classified, and nothing more")
	im := unsecuredFrame(0x99, false, 8, message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag,
		Opcode: 2, ProtocolID: message.ProtocolInteractionModel, ExchangeID: 5}, []byte{1})
	b.HandleDatagram(0, addrA, im)
	out := drainAll(b)
	require.Equal(t, []string{"datagram", "unhandled"}, kinds(out))
	require.Equal(t, addrA, out[0].To)
	var h message.Header
	n, err := h.Decode(out[0].Data)
	require.NoError(t, err)
	require.Equal(t, message.NodeID(0x99), h.DestNode)
	var ph message.ProtocolHeader
	_, err = ph.Decode(out[0].Data[n:])
	require.NoError(t, err)
	require.True(t, ph.Is(message.ProtocolSecureChannel, message.OpStandaloneAck))
	require.Equal(t, uint32(8), ph.AckCounter)
	noX := unsecuredFrame(0x99, false, 9, message.ProtocolHeader{Flags: message.ReliableFlag,
		Opcode: 1, ProtocolID: message.ProtocolSecureChannel, ExchangeID: 6}, nil)
	b.HandleDatagram(0, addrA, noX)
	require.Equal(t, []string{"datagram", "unknown-exchange"}, kinds(drainAll(b)))
	require.Empty(t, b.Sessions())
	require.Equal(t, clock.Never, b.NextDeadline())
}

// TestExchangeLimit: registered unsolicited messages on a
// secure session stop opening exchanges at MaxExchanges (dropped with
// EventTableFull, not acked); closing one frees room.
func TestExchangeLimit(t *testing.T) {
	p := newPair(t, Config{MaxExchanges: 3}, 61, func() rand.Source { return jitterHalf })
	a, b := p.a.m, p.b.m
	drainAll(a)
	drainAll(b)
	var opened []Exchange
	for i := range 5 {
		x, err := a.NewExchange(p.a.ref)
		require.NoError(t, err)
		require.NoError(t, a.Send(0, x, Message{Protocol: testProto, Opcode: 1, Reliable: true}))
		for _, o := range drainAll(a) {
			if o.IsDatagram() {
				b.HandleDatagram(0, addrA, o.Data)
			}
		}
		out := drainAll(b)
		if i < 3 {
			require.Equal(t, []string{"message"}, kinds(out))
			opened = append(opened, out[0].Event.Exchange)
		} else {
			require.Equal(t, []string{"table-full"}, kinds(out))
		}
	}
	require.NoError(t, b.CloseExchange(0, opened[0]))
	require.Equal(t, []string{"datagram", "exchange-closed"}, kinds(drainAll(b)))
	x, err := a.NewExchange(p.a.ref)
	require.NoError(t, err)
	require.NoError(t, a.Send(0, x, Message{Protocol: testProto, Opcode: 1}))
	b.HandleDatagram(0, addrA, drainAll(a)[0].Data)
	require.Equal(t, []string{"message"}, kinds(drainAll(b)))
	// Registration governs only opening: on an open exchange any protocol
	// is delivered; an unregistered one on a new exchange opens nothing.
	require.NoError(t, a.Send(0, x, Message{Protocol: 0x77, Opcode: 1}))
	x2, err := a.NewExchange(p.a.ref)
	require.NoError(t, err)
	require.NoError(t, a.Send(0, x2, Message{Protocol: 0x77, Opcode: 1, Reliable: true}))
	for _, o := range drainAll(a) {
		if o.IsDatagram() {
			b.HandleDatagram(0, addrA, o.Data)
		}
	}
	require.Equal(t, []string{"message", "datagram", "unhandled"}, kinds(drainAll(b)))
}

// TestUnsecuredFollowsPeerAddress: a responder answering from
// another address and an initiator retransmitting from a new port stay on
// their session, whose address moves on new messages only.
func TestUnsecuredFollowsPeerAddress(t *testing.T) {
	a := newManager(t, Config{}, 71, jitterHalf)
	b := newManager(t, Config{}, 72, jitterHalf)
	ra, err := a.OpenUnsecured(0, addrB)
	require.NoError(t, err)
	x, err := a.NewExchange(ra)
	require.NoError(t, err)
	require.NoError(t, a.Send(0, x, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPBKDFParamRequest, Reliable: true}))
	req := drainAll(a)[1].Data
	b.HandleDatagram(0, addrA, req)
	out := drainAll(b)
	require.Equal(t, []string{"session-opened", "message"}, kinds(out))
	rb, bx := out[1].Event.Session, out[1].Event.Exchange
	// a's retransmission comes from a new port (NAT rebinding): a duplicate
	// on the same session, re-acked to where it came from; no second session.
	newA := netip.AddrPortFrom(addrA.Addr(), 6000)
	b.HandleDatagram(clockAt(100), newA, req)
	out = drainAll(b)
	require.Equal(t, []string{"duplicate", "datagram"}, kinds(out))
	require.Equal(t, addrA, out[1].To, "a duplicate does not move the address")
	require.Len(t, b.Sessions(), 1)
	a.HandleDatagram(clockAt(105), addrB, out[1].Data)
	require.Equal(t, []string{"ack", "standalone-ack"}, kinds(drainAll(a)))
	// b answers from another address: a takes it on its session and moves.
	require.NoError(t, b.Send(clockAt(100), bx, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPBKDFParamResponse, Reliable: true}))
	resp := drainAll(b)[0].Data
	a.HandleDatagram(clockAt(110), addrC, resp)
	require.Equal(t, []string{"message"}, kinds(drainAll(a)))
	in, ok := a.SessionInfo(ra)
	require.True(t, ok)
	require.Equal(t, addrC, in.Peer)
	// A new message from the new port moves b's session too.
	require.NoError(t, a.Send(clockAt(120), x, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPASEPake1, Reliable: true}))
	out = drainAll(a)
	require.Equal(t, addrC, out[0].To)
	b.HandleDatagram(clockAt(130), newA, out[0].Data)
	require.Equal(t, []string{"ack", "message"}, kinds(drainAll(b)))
	in, ok = b.SessionInfo(rb)
	require.True(t, ok)
	require.Equal(t, newA, in.Peer)
}

// TestDuplicateAckNotProcessed: a duplicate's ack field is not
// processed (connectedhomeip ExchangeContext::HandleMessage), so a replayed
// or forged duplicate cannot clear a pending retransmission.
func TestDuplicateAckNotProcessed(t *testing.T) {
	a := newManager(t, Config{}, 81, jitterHalf)
	ra, err := a.OpenUnsecured(0, addrB)
	require.NoError(t, err)
	x, err := a.NewExchange(ra)
	require.NoError(t, err)
	require.NoError(t, a.Send(0, x, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPBKDFParamRequest, Reliable: true}))
	var h message.Header
	_, err = h.Decode(drainAll(a)[1].Data)
	require.NoError(t, err)
	sent := h.Counter
	// The responder's first message, without an ack: accepted.
	first := unsecuredFrame(ra.Ephemeral, true, 500, message.ProtocolHeader{Opcode: 0x21, ExchangeID: x.ID,
		ProtocolID: message.ProtocolSecureChannel}, nil)
	a.HandleDatagram(clockAt(1), addrB, first)
	require.Equal(t, []string{"message"}, kinds(drainAll(a)))
	// The same counter again, now claiming to ack our request: a duplicate,
	// and the retransmission stays.
	forged := unsecuredFrame(ra.Ephemeral, true, 500, message.ProtocolHeader{Flags: message.AckFlag, AckCounter: sent,
		Opcode: 0x21, ExchangeID: x.ID, ProtocolID: message.ProtocolSecureChannel}, nil)
	a.HandleDatagram(clockAt(2), addrB, forged)
	require.Equal(t, []string{"duplicate"}, kinds(drainAll(a)))
	in, _ := a.SessionInfo(ra)
	require.Equal(t, 1, in.Pending)
}

// entropyScript yields its bytes, then zeros.
type entropyScript struct{ b []byte }

func (e *entropyScript) Read(p []byte) (int, error) {
	n := copy(p, e.b)
	e.b = e.b[n:]
	clear(p[n:])
	return len(p), nil
}

// TestEphemeralIDOperational: ephemeral initiator node ids are
// drawn again until they are operational (spec 2.5.5.1,
// 0x1..0xFFFF_FFEF_FFFF_FFFF; connectedhomeip CreateUnauthenticatedSession).
func TestEphemeralIDOperational(t *testing.T) {
	var src []byte
	src = append(src, make([]byte, 8)...) // New
	for _, id := range []uint64{0, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFF0_0000_0000, 0xFFFF_FFEF_FFFF_FFFF} {
		src = binary.LittleEndian.AppendUint64(src, id)
	}
	m, err := New(Config{}, &entropyScript{b: src}, jitterHalf)
	require.NoError(t, err)
	r, err := m.OpenUnsecured(0, addrB)
	require.NoError(t, err)
	require.Equal(t, message.NodeID(0xFFFF_FFEF_FFFF_FFFF), r.Ephemeral)
}

// TestDuplicateRefreshesPeerActivity: an authenticated
// duplicate marks the peer active (MRP interval choice, spec 4.12.8) but
// never moves the session's address.
func TestDuplicateRefreshesPeerActivity(t *testing.T) {
	p := newPair(t, Config{}, 91, func() rand.Source { return jitterHalf })
	a, b := p.a.m, p.b.m
	drainAll(a)
	drainAll(b)
	x, err := a.NewExchange(p.a.ref)
	require.NoError(t, err)
	require.NoError(t, a.Send(0, x, Message{Protocol: testProto, Opcode: 1}))
	d := drainAll(a)[0].Data
	b.HandleDatagram(clockAt(10), addrA, d)
	drainAll(b)
	b.HandleDatagram(clockAt(5000), addrC, d)
	require.Equal(t, []string{"duplicate"}, kinds(drainAll(b)))
	in, _ := b.SessionInfo(p.b.ref)
	require.Equal(t, 5000*time.Millisecond, in.LastRx)
	require.Equal(t, addrA, in.Peer)
}

// TestRetireSessionLingers: a retired unsecured session stays
// for UnsecuredLinger, so the peer's retransmission of its last message
// (our ack was lost) is acked again, then it is removed at its deadline.
func TestRetireSessionLingers(t *testing.T) {
	a := newManager(t, Config{}, 101, jitterHalf)
	linger := a.Config().UnsecuredLinger
	// 500 ms idle, 1.1 margin, 1.25 full jitter: 687.5 ms · (1+1+1.6+2.56+4.096).
	require.Equal(t, 7051*time.Millisecond, linger.Round(time.Millisecond))
	ra, err := a.OpenUnsecured(0, addrB)
	require.NoError(t, err)
	drainAll(a)
	final := unsecuredFrame(ra.Ephemeral, true, 900, message.ProtocolHeader{Flags: message.ReliableFlag, Opcode: message.OpStatusReport,
		ExchangeID: 3, ProtocolID: message.ProtocolSecureChannel}, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	a.HandleDatagram(clockAt(1), addrB, final) // acked (unknown exchange: the handshake's is gone)
	require.Equal(t, []string{"datagram", "unknown-exchange"}, kinds(drainAll(a)))
	require.NoError(t, a.RetireSession(clockAt(1), ra))
	require.Equal(t, clockAt(1).Add(linger), a.NextDeadline())
	a.HandleDatagram(clockAt(400), addrB, final) // our ack was lost: re-acked
	require.Equal(t, []string{"duplicate", "datagram"}, kinds(drainAll(a)))
	a.HandleTimeout(clockAt(1).Add(linger))
	out := drainAll(a)
	require.Equal(t, []string{"session-closed"}, kinds(out))
	require.Equal(t, ClosedRemoved, out[0].Event.Reason)
	require.Equal(t, clock.Never, a.NextDeadline())
	a.HandleDatagram(clockAt(9000), addrB, final)
	require.Equal(t, []string{"unknown-session"}, kinds(drainAll(a)))
	require.ErrorIs(t, a.RetireSession(0, Ref{LocalID: 3}), ErrNoSession)
}

// FuzzHandleDatagram feeds random datagrams (a sequence of length-prefixed
// chunks) to a Manager holding a PASE session and an unsecured session
// with a handshake exchange open: it never panics, and the tables stay
// within their bounds. The seed corpus holds real sealed and unsecured
// datagrams made by the test harness.
func FuzzHandleDatagram(f *testing.F) {
	type fixture struct {
		b          *Manager
		secureRef  Ref
		unsecRef   Ref
		seeds      [][]byte
		fromA      netip.AddrPort
		maxSession int
	}
	setup := func(t testing.TB) fixture {
		p := newPair(t, Config{MaxExchanges: 8, MaxUnsecuredSessions: 4}, 7, func() rand.Source { return jitterHalf })
		a, b := p.a.m, p.b.m
		var seeds [][]byte
		send := func(m *Manager, x Exchange, msg Message) {
			require.NoError(t, m.Send(0, x, msg))
			for _, o := range drainAll(m) {
				if o.IsDatagram() {
					seeds = append(seeds, append([]byte(nil), o.Data...))
				}
			}
		}
		x, err := a.NewExchange(p.a.ref)
		require.NoError(t, err)
		send(a, x, Message{Protocol: testProto, Opcode: 1, Payload: []byte("hello"), Reliable: true})
		send(a, x, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpStatusReport, Payload: []byte{0, 0, 0, 0, 3, 0, 0, 0}})
		ru, err := a.OpenUnsecured(0, addrB)
		require.NoError(t, err)
		xu, err := a.NewExchange(ru)
		require.NoError(t, err)
		send(a, xu, Message{Protocol: message.ProtocolSecureChannel, Opcode: message.OpPBKDFParamRequest, Payload: []byte{0x15, 0x18}, Reliable: true})
		// b: the unsecured session with its handshake exchange open.
		b.HandleDatagram(0, addrA, seeds[len(seeds)-1])
		var unsec Ref
		for _, o := range drainAll(b) {
			if !o.IsDatagram() && o.Event.Kind == EventMessage {
				unsec = o.Event.Session
			}
		}
		require.NotEqual(t, Ref{}, unsec)
		return fixture{b: b, secureRef: p.b.ref, unsecRef: unsec, seeds: seeds, fromA: addrA, maxSession: 4}
	}
	fx := setup(f)
	for _, s := range fx.seeds {
		f.Add(append([]byte{byte(len(s))}, s...))
	}
	var all []byte
	for _, s := range fx.seeds {
		all = append(all, byte(len(s)))
		all = append(all, s...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, in []byte) {
		fx := setup(t)
		b := fx.b
		now := clock.Time(0)
		for i := 0; len(in) > 0; i++ {
			n := min(int(in[0]), len(in)-1)
			d := in[1 : 1+n]
			in = in[1+n:]
			now = now.Add(50 * time.Millisecond)
			from := fx.fromA
			if i%2 == 1 {
				from = netip.AddrPortFrom(addrC.Addr(), uint16(i))
			}
			b.HandleDatagram(now, from, d)
			drainAll(b)
			if i%4 == 3 {
				b.HandleTimeout(b.NextDeadline())
				drainAll(b)
			}
			if len(b.unsecured) > fx.maxSession || b.inbound > 8 || len(b.secure) > 1 {
				t.Fatalf("tables grew: %d unsecured, %d inbound exchanges, %d secure", len(b.unsecured), b.inbound, len(b.secure))
			}
		}
	})
}
