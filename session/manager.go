package session

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/security"
)

// Manager is the sans-I/O session core of one Matter node: its session table
// (unsecured and secure sessions), exchanges and MRP state. It never reads a
// clock, sleeps, starts goroutines or touches the network; the driver feeds
// it inputs carrying `now` and drains its outputs with Poll (see the package
// documentation for the driving loop).
//
// The zero value is not usable; call New. A Manager is not safe for
// concurrent use.
type Manager struct {
	cfg     Config
	entropy io.Reader
	jitter  *rand.Rand

	secure    map[uint16]*sess
	reserved  map[uint16]struct{}
	unsecured map[unsecKey]*sess
	handlers  map[Unsolicited]struct{} // RegisterUnsolicited
	nextID    uint16                   // local session id allocation cursor
	nextExch  uint16                   // exchange id allocation cursor (spec 4.10.2: random start, then +1)
	unenc     *counter.Unencrypted     // the node's global unencrypted counter (spec 4.6.1)
	seq       uint64

	live    []*exchange // exchanges that may hold timers, in creation order
	open    int         // exchanges not yet released
	inbound int         // of which responder exchanges (Config.MaxExchanges)

	out     []Output
	outHead int
	arena   []byte

	hdr message.Header
	ph  message.ProtocolHeader
	due []dueTimer

	grp *groupState // groups and MCSP (groups.go); nil until AddFabric
}

// sess is one session table entry.
type sess struct {
	ref       Ref
	kind      Kind
	initiator bool
	peerID    uint16
	peerNode  message.NodeID
	peer      netip.AddrPort
	enc, dec  *security.CCM
	keys      sessionKeys     // secure sessions: the raw keys (SessionKeys)
	encNode   message.NodeID  // nonce node id when sending
	decNode   message.NodeID  // nonce node id when receiving
	ctr       *counter.Secure // secure sessions only
	win       counter.Window  // reception window (spec 4.6.5)
	peerIv    mrp.Intervals
	lastRx    clock.Time
	heard     bool
	active    clock.Time // last activity, for LRU eviction
	seq       uint64
	exchanges map[exKey]*exchange
	giveUps   int
	fabric    uint8 // fabric index (CASE); 0 = none (PASE, unsecured)
	// defunct: MRP gave up on this CASE session (SecureSession kDefunct);
	// cleared by the next authenticated message.
	defunct bool
	// retiring: RetireSession was called; the session is removed at
	// retireAt (unsecured sessions only).
	retiring bool
	retireAt clock.Time
}

// unsecKey is how a received unsecured message finds its session: the
// initiator's ephemeral node id and our role, not the peer address
// (connectedhomeip UnauthenticatedSessionTable.h FindEntry).
type unsecKey struct {
	ephemeral message.NodeID
	initiator bool // we are the initiator
}

func keyOf(r Ref) unsecKey { return unsecKey{ephemeral: r.Ephemeral, initiator: r.Initiator} }

type exKey struct {
	id        uint16
	initiator bool // we are the initiator
}

type exchange struct {
	s       *sess
	key     exKey
	seq     uint64
	removed bool
	closing bool // the application closed it; released once idle

	// ackPending: a standalone ack is due at ackAt unless a message
	// piggybacks it first. ackValid: ackCounter holds the last counter we
	// were asked to ack on this exchange. Once valid it stays valid
	// (connectedhomeip ReliableMessageContext.h: "Once
	// mPendingPeerAckMessageCounter is valid, it never stops being valid"),
	// so every later message on the exchange carries the A flag and that
	// counter, even after a standalone ack went out.
	ackPending bool
	ackValid   bool
	ackCounter uint32
	ackAt      clock.Time
	// received: a new application message (not a standalone ack, not a
	// duplicate) arrived on the exchange; retransmissions then use the
	// peer's active interval (connectedhomeip ReliableMessageMgr.cpp
	// CalculateNextRetransTime, ExchangeContext HasReceivedAtLeastOneMessage).
	received bool

	rtx retrans
}

// retrans is the one outstanding reliable message of an exchange
// (spec 4.12.2; connectedhomeip ReliableMessageMgr RetransTableEntry).
type retrans struct {
	valid   bool
	data    []byte // the sealed datagram, resent byte for byte
	counter uint32
	sent    int // transmissions made
	at      clock.Time
}

func (x *exchange) ref() Exchange {
	return Exchange{Session: x.s.ref, ID: x.key.id, Initiator: x.key.initiator}
}

// New returns a Manager. entropy supplies the random values the spec asks
// for (initial message counters, local session ids, exchange ids, ephemeral
// node ids): crypto/rand in real runs, a seeded generator in simulations.
// jitter is the stream for MRP backoff jitter. Neither may be nil. New
// returns an *EntropyError if entropy fails.
func New(cfg Config, entropy io.Reader, jitter rand.Source) (*Manager, error) {
	m := &Manager{
		cfg:       cfg.normalize(),
		entropy:   entropy,
		jitter:    rand.New(jitter),
		secure:    make(map[uint16]*sess),
		reserved:  make(map[uint16]struct{}),
		unsecured: make(map[unsecKey]*sess),
		handlers:  make(map[Unsolicited]struct{}),
	}
	var b [8]byte
	if err := m.read(b[:], "initial counters and ids"); err != nil {
		return nil, err
	}
	m.unenc = counter.UnencryptedAt(initialCounter(b[:4]))
	m.nextID = binary.LittleEndian.Uint16(b[4:])
	if m.nextID == 0 {
		m.nextID = 1
	}
	m.nextExch = binary.LittleEndian.Uint16(b[6:])
	return m, nil
}

// word is a counter.Source that yields one fixed 32-bit value: the core
// draws its entropy in one read per need (so the stream layout, and with
// it every seeded run, stays as it is) and lets counter map it into range.
type word uint32

func (w word) Uint32() uint32 { return uint32(w) }

// initialCounter maps four little-endian entropy bytes to an initial
// message counter in [1, 2^28] (spec 4.6.1.1; counter.InitialValue).
func initialCounter(b []byte) uint32 {
	return counter.InitialValue(word(binary.LittleEndian.Uint32(b)))
}

// newWindow returns an empty reception window with the configured size.
// Config.normalize keeps the size in 1..counter.MaxWindowSize, so NewWindow
// cannot fail here.
func (m *Manager) newWindow(p counter.Policy) counter.Window {
	w, err := counter.NewWindowInit(p, m.cfg.WindowSize, m.cfg.windowInit(p))
	if err != nil {
		panic("session: " + err.Error()) // unreachable: normalize bounds the size
	}
	return w
}

func (m *Manager) read(b []byte, what string) error {
	if _, err := io.ReadFull(m.entropy, b); err != nil {
		return &EntropyError{What: what, Err: err}
	}
	return nil
}

// Config returns the normalized configuration in effect.
func (m *Manager) Config() Config { return m.cfg }

// begin starts an input call: once the driver has drained every output, the
// buffers behind earlier outputs are reused.
func (m *Manager) begin() {
	if m.outHead == len(m.out) {
		clear(m.out)
		m.out = m.out[:0]
		m.outHead = 0
		m.arena = m.arena[:0]
	}
}

func (m *Manager) emit(e Event) {
	m.out = append(m.out, Output{Event: e})
}

func (m *Manager) emitDatagram(to netip.AddrPort, b []byte) {
	m.out = append(m.out, Output{To: to, Data: b})
}

// Poll returns the next output, in the order produced, and false once the
// queue is empty. See Output and Event for how long their byte slices stay
// valid.
func (m *Manager) Poll() (Output, bool) {
	if m.outHead == len(m.out) {
		return Output{}, false
	}
	o := m.out[m.outHead]
	m.out[m.outHead] = Output{}
	m.outHead++
	return o, true
}

// NextDeadline returns the earliest instant at which HandleTimeout has work
// (a standalone ack or a retransmission falls due), or clock.Never.
func (m *Manager) NextDeadline() clock.Time {
	m.compact()
	t := clock.Never
	for _, x := range m.live {
		if x.ackPending && x.ackAt < t {
			t = x.ackAt
		}
		if x.rtx.valid && x.rtx.at < t {
			t = x.rtx.at
		}
	}
	for _, s := range m.unsecured { // a handful at most (MaxUnsecuredSessions)
		if s.retiring && s.retireAt < t {
			t = s.retireAt
		}
	}
	if g := m.grp; g != nil {
		t = min(t, g.deadline()) // MCSP timers (mcsp.go)
	}
	return t
}

func (m *Manager) compact() {
	m.live = slices.DeleteFunc(m.live, func(x *exchange) bool { return x.removed })
}

type dueTimer struct {
	at  clock.Time
	seq uint64
	ack bool
	x   *exchange
}

// HandleTimeout runs every timer due at or before now: standalone acks
// (spec 4.12.5.2.2) and retransmissions or give-ups (spec 4.12.2.1).
// Timers due at the same instant run in (deadline, exchange creation) order,
// acks before retransmissions, so a run is deterministic.
func (m *Manager) HandleTimeout(now clock.Time) {
	m.begin()
	m.compact()
	m.due = m.due[:0]
	for _, x := range m.live {
		if x.ackPending && x.ackAt <= now {
			m.due = append(m.due, dueTimer{at: x.ackAt, seq: x.seq, ack: true, x: x})
		}
		if x.rtx.valid && x.rtx.at <= now {
			m.due = append(m.due, dueTimer{at: x.rtx.at, seq: x.seq, x: x})
		}
	}
	slices.SortFunc(m.due, func(a, b dueTimer) int {
		switch {
		case a.at != b.at:
			return cmpTime(a.at, b.at)
		case a.seq != b.seq:
			if a.seq < b.seq {
				return -1
			}
			return 1
		case a.ack != b.ack:
			if a.ack {
				return -1
			}
			return 1
		}
		return 0
	})
	for i := range m.due {
		d := m.due[i]
		x := d.x
		if x.removed {
			continue
		}
		if d.ack {
			if x.ackPending && x.ackAt <= now {
				m.flushAck(now, x)
			}
		} else if x.rtx.valid && x.rtx.at <= now {
			m.retransmit(now, x)
		}
		m.maybeRelease(x)
	}
	clear(m.due)
	m.due = m.due[:0]
	m.expireRetired(now)
	if m.grp != nil {
		m.mcspTimeout(now) // MCSP timers (mcsp.go)
	}
}

// expireRetired removes the retired unsecured sessions whose linger has
// passed, oldest first.
func (m *Manager) expireRetired(now clock.Time) {
	var due []*sess
	for _, s := range m.unsecured {
		if s.retiring && s.retireAt <= now {
			due = append(due, s)
		}
	}
	slices.SortFunc(due, func(a, b *sess) int { return cmpU64(a.seq, b.seq) })
	for _, s := range due {
		m.closeSession(now, s, ClosedRemoved, false)
	}
}

func cmpTime(a, b clock.Time) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// retransmit resends x's reliable message or gives up after
// MaxTransmissions (spec 4.12.2.1).
func (m *Manager) retransmit(now clock.Time, x *exchange) {
	s := x.s
	if x.rtx.sent >= m.cfg.MRP.MaxTransmissions {
		x.rtx.valid = false
		s.giveUps++
		m.emit(Event{Kind: EventGiveUp, Session: s.ref, Exchange: x.ref(), Counter: x.rtx.counter, Attempt: x.rtx.sent})
		x.rtx.data = nil
		// The SDK marks only CASE sessions defunct, at the give-up when
		// the exchange expects no response, else when its response timer
		// fires without an MRP ack (ReliableMessageMgr::ExecuteActions,
		// ExchangeContext::NotifyResponseTimeout). The core has no
		// response timer, and a give-up means no ack came, so it marks the
		// session at the give-up in both cases.
		if s.kind == CASE && !s.defunct {
			s.defunct = true
			m.emit(Event{Kind: EventSessionDefunct, Session: s.ref})
		}
		return
	}
	x.rtx.sent++
	m.emit(Event{Kind: EventRetransmit, Session: s.ref, Exchange: x.ref(), Counter: x.rtx.counter, Attempt: x.rtx.sent})
	m.emitDatagram(s.peer, x.rtx.data)
	// Every send marks the session active, retransmissions included
	// (connectedhomeip SessionManager::SendPreparedMessage: "This marks
	// any connection where we send data to as 'active'"): eviction and
	// FindSession order by it.
	s.active = now
	x.rtx.at = now.Add(m.backoff(now, x, x.rtx.sent-1))
}

// backoff returns the MRP retransmission timeout after n+1 transmissions
// on exchange x (spec 4.12.2.1), with the base interval chosen as the SDK
// does (connectedhomeip src/messaging/ReliableMessageMgr.cpp
// CalculateNextRetransTime):
//
//   - the peer's active interval once x has received an application
//     message (ExchangeContext::HasReceivedAtLeastOneMessage), whatever
//     the peer-activity clock says;
//   - otherwise active or idle by peer activity (spec 4.12.8,
//     SessionHandle::GetMRPBaseTimeout): active if a message from the peer
//     arrived within its active threshold. A new session counts as just
//     heard from (see InstallSecureSession and addUnsecured).
func (m *Manager) backoff(now clock.Time, x *exchange, n int) time.Duration {
	s := x.s
	i := s.peerIv.Active
	if !x.received {
		i = s.peerIv.Base(now.Sub(s.lastRx), s.heard)
	}
	return m.cfg.MRP.Backoff(i, n, m.jitter.Float64())
}

// maybeRelease frees an exchange the application closed once it has no
// pending ack and no unacknowledged message.
func (m *Manager) maybeRelease(x *exchange) {
	if x.removed || !x.closing || x.ackPending || x.rtx.valid {
		return
	}
	m.dropExchange(x)
}

func (m *Manager) dropExchange(x *exchange) {
	m.open--
	if !x.key.initiator {
		m.inbound--
	}
	x.removed = true
	x.rtx = retrans{}
	x.ackPending = false
	delete(x.s.exchanges, x.key)
	m.emit(Event{Kind: EventExchangeClosed, Session: x.s.ref, Exchange: x.ref()})
}

func (m *Manager) newExchange(s *sess, key exKey) *exchange {
	m.seq++
	x := &exchange{s: s, key: key, seq: m.seq}
	if s.exchanges == nil {
		s.exchanges = make(map[exKey]*exchange)
	}
	s.exchanges[key] = x
	m.open++
	if !key.initiator {
		m.inbound++
	}
	// Keep released exchanges from piling up in live between deadline
	// queries (a busy receiver may not ask for a while).
	if len(m.live) >= 64 && len(m.live) >= 2*m.open {
		m.compact()
	}
	m.live = append(m.live, x)
	return x
}

// RegisterUnsolicited makes the Manager open a responder exchange for
// unsolicited messages matching u (spec 4.10.5.2; connectedhomeip
// ExchangeManager::RegisterUnsolicitedMessageHandlerForType): their handler
// (the driver) must close every exchange delivered to it, answered or not.
// Unsolicited messages nothing accepts are acked if they asked for it and
// dropped with EventUnhandled; they create no exchange and no session.
// CloseSession on a secure session is always handled by the core itself
// (spec 4.11.1.4).
func (m *Manager) RegisterUnsolicited(u Unsolicited) {
	m.handlers[u.norm()] = struct{}{}
}

// UnregisterUnsolicited undoes RegisterUnsolicited(u); open exchanges stay.
func (m *Manager) UnregisterUnsolicited(u Unsolicited) {
	delete(m.handlers, u.norm())
}

func (u Unsolicited) norm() Unsolicited {
	if u.AnyOpcode {
		u.Opcode = 0
	}
	return u
}

// accepts reports whether an unsolicited message with header ph on a
// session of the given kind opens an exchange.
func (m *Manager) accepts(ph *message.ProtocolHeader, secure bool) bool {
	u := Unsolicited{Protocol: ph.ProtocolID, Vendor: ph.VendorID, Opcode: ph.Opcode, Secure: secure}
	if _, ok := m.handlers[u]; ok {
		return true
	}
	u.Opcode, u.AnyOpcode = 0, true
	_, ok := m.handlers[u]
	return ok
}
