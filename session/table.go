package session

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/security"
	"mattersim/session/status"
)

func (m *Manager) lookup(r Ref) *sess {
	if r.Secure() {
		return m.secure[r.LocalID]
	}
	if s := m.unsecured[keyOf(r)]; s != nil && s.ref == r {
		return s
	}
	return nil
}

// maxOperationalNodeID is the top of the operational node id range
// (spec 2.5.5.1: 0x0000_0000_0000_0001..0xFFFF_FFEF_FFFF_FFFF).
const maxOperationalNodeID = 0xFFFF_FFEF_FFFF_FFFF

// OpenUnsecured creates an unsecured session towards peer with us as
// initiator, for a session-establishment handshake (spec 4.13.2.1): it picks
// a random ephemeral initiator node id in the operational range (drawn
// again until it is one, as connectedhomeip SessionManager
// CreateUnauthenticatedSession does), carried as the source node id of
// every message we send on it; the responder answers with it as
// destination. If the table is full of sessions in use it returns
// ErrTableFull.
func (m *Manager) OpenUnsecured(now clock.Time, peer netip.AddrPort) (Ref, error) {
	m.begin()
	var b [8]byte
	for {
		if err := m.read(b[:], "ephemeral node id"); err != nil {
			return Ref{}, err
		}
		id := message.NodeID(binary.LittleEndian.Uint64(b[:]))
		r := Ref{Peer: peer, Ephemeral: id, Initiator: true}
		if id != 0 && id <= maxOperationalNodeID && m.unsecured[keyOf(r)] == nil {
			if m.addUnsecured(now, r, peer) == nil {
				return Ref{}, ErrTableFull
			}
			return r, nil
		}
	}
}

// MarkPeerActive records that the peer of unsecured session r is to be
// taken as active now, for the MRP interval choice (spec 4.12.8): a PASE
// initiator does so when it starts (connectedhomeip PASESession::Pair:
// "When commissioning starts, the peer is assumed to be active"), so the
// first retransmission of PBKDFParamRequest uses the active interval. A
// CASE initiator does not (the SDK's CASESession leaves it idle).
func (m *Manager) MarkPeerActive(now clock.Time, r Ref) error {
	m.begin()
	s := m.unsecured[keyOf(r)]
	if r.Secure() || s == nil {
		return ErrNoSession
	}
	s.lastRx, s.heard = now, true
	return nil
}

// addUnsecured enters an unsecured session. If the table is full it
// recycles the least recently active idle session (no exchanges: no
// pending ack, no retransmission); if none is idle it returns nil
// (connectedhomeip UnauthenticatedSessionTable.h AllocEntry).
func (m *Manager) addUnsecured(now clock.Time, r Ref, peer netip.AddrPort) *sess {
	if len(m.unsecured) >= m.cfg.MaxUnsecuredSessions {
		v := lruOf(m.unsecured, func(s *sess) bool { return len(s.exchanges) == 0 })
		if v == nil {
			return nil
		}
		m.closeSession(now, v, ClosedEvicted, false)
	}
	m.seq++
	s := &sess{
		ref:       r,
		kind:      Unsecured,
		initiator: r.Initiator,
		peer:      peer,
		win:       m.newWindow(counter.PolicyUnencrypted),
		active:    now,
		seq:       m.seq,
		peerIv:    mrp.Intervals{}.Normalize(),
		// Not heard from: an unsecured session starts idle
		// (connectedhomeip UnauthenticatedSession starts its peer-activity
		// time at zero, "to default to IDLE state"). A responder's session
		// is created by the peer's message, which marks it heard at once;
		// a PASE initiator marks its own with MarkPeerActive.
	}
	m.unsecured[keyOf(r)] = s
	m.emit(Event{Kind: EventSessionOpened, Session: r})
	return s
}

// RetireSession marks unsecured session r for silent removal after
// Config.UnsecuredLinger: until then it stays in the table, so a peer that
// retransmits its last handshake message because our ack was lost is
// acked again instead of meeting an unknown session (connectedhomeip keeps
// the entry until the table reuses it). It may still be recycled sooner
// when the table is full and it is idle. Drivers call it once the
// handshake exchange on it is done. Secure sessions: ErrNoSession.
func (m *Manager) RetireSession(now clock.Time, r Ref) error {
	m.begin()
	s := m.lookup(r)
	if s == nil || r.Secure() {
		return ErrNoSession
	}
	if m.cfg.UnsecuredLinger < 0 {
		m.closeSession(now, s, ClosedRemoved, false)
		return nil
	}
	s.retiring, s.retireAt = true, now.Add(m.cfg.UnsecuredLinger)
	return nil
}

// lruOf returns the least recently active session of t that ok accepts
// (nil: any); ties go to the oldest session, so the choice is
// deterministic.
func lruOf[K comparable](t map[K]*sess, ok func(*sess) bool) *sess {
	var v *sess
	for _, s := range t {
		if ok != nil && !ok(s) {
			continue
		}
		if v == nil || s.active < v.active || (s.active == v.active && s.seq < v.seq) {
			v = s
		}
	}
	return v
}

// ReserveLocalID allocates a local session id for a handshake in progress
// (PASE/CASE put it in their first message). Ids start at a random value,
// never 0, and skip ids in use; freed ids are reused when the cursor comes
// round (spec 4.13.2.1; connectedhomeip SessionManager allocation). If the
// table is full a secure session is evicted in the SDK's order (see
// ReserveLocalIDFor), silently, as the SDK evicts. A message for a
// reserved id finds no session.
func (m *Manager) ReserveLocalID(now clock.Time) (uint16, error) {
	m.begin()
	return m.allocLocalID(now, Peer{})
}

// Peer names a session's peer for eviction and lookup: the local fabric
// index and the peer's operational node id (the SDK's ScopedNodeId). The
// zero value is "no peer" (PASE).
type Peer struct {
	Fabric uint8
	Node   message.NodeID
}

// ReserveLocalIDFor is ReserveLocalID for a session with hint, the peer the
// new session will be with (connectedhomeip
// SecureSessionTable::CreateNewSecureSession's sessionEvictionHint). When
// the table is full the victim is the first session in the SDK's
// DefaultEvictionPolicy order (src/transport/SecureSessionTable.cpp):
//
//  1. most sessions on its fabric;
//  2. on the hint's fabric;
//  3. most sessions with its peer;
//  4. with the hint's peer;
//  5. defunct before active;
//  6. least recently active (then oldest, so the choice is deterministic).
//
// No CloseSession is sent: the SDK's eviction (MarkForEviction) releases
// the session locally only.
func (m *Manager) ReserveLocalIDFor(now clock.Time, hint Peer) (uint16, error) {
	m.begin()
	return m.allocLocalID(now, hint)
}

// ReleaseLocalID frees a reserved id whose handshake failed.
func (m *Manager) ReleaseLocalID(id uint16) {
	delete(m.reserved, id)
}

func (m *Manager) allocLocalID(now clock.Time, hint Peer) (uint16, error) {
	if len(m.secure)+len(m.reserved) >= m.cfg.MaxSessions {
		v := m.evictionCandidate(hint)
		if v == nil {
			return 0, ErrNoLocalID
		}
		m.closeSession(now, v, ClosedEvicted, false)
	}
	for range 0x10000 {
		id := m.nextID
		m.nextID++
		if m.nextID == 0 {
			m.nextID = 1
		}
		if id == 0 {
			continue
		}
		_, res := m.reserved[id]
		if m.secure[id] == nil && !res {
			m.reserved[id] = struct{}{}
			return id, nil
		}
	}
	return 0, ErrNoLocalID
}

func (s *sess) scopedPeer() Peer { return Peer{Fabric: s.fabric, Node: s.peerNode} }

// evictionCandidate returns the secure session the SDK's
// DefaultEvictionPolicy would evict first (see ReserveLocalIDFor), or nil
// if the table holds none.
func (m *Manager) evictionCandidate(hint Peer) *sess {
	onFabric := map[uint8]int{}
	onPeer := map[Peer]int{}
	for _, s := range m.secure {
		onFabric[s.fabric]++
		onPeer[s.scopedPeer()]++
	}
	// before reports whether a is a better eviction candidate than b.
	before := func(a, b *sess) bool {
		if fa, fb := onFabric[a.fabric], onFabric[b.fabric]; fa != fb {
			return fa > fb
		}
		if ha, hb := a.fabric == hint.Fabric, b.fabric == hint.Fabric; ha != hb {
			return ha
		}
		if pa, pb := onPeer[a.scopedPeer()], onPeer[b.scopedPeer()]; pa != pb {
			return pa > pb
		}
		if ha, hb := a.scopedPeer() == hint, b.scopedPeer() == hint; ha != hb {
			return ha
		}
		if a.defunct != b.defunct {
			return a.defunct
		}
		if a.active != b.active {
			return a.active < b.active
		}
		return a.seq < b.seq
	}
	var v *sess
	for _, s := range m.secure {
		if v == nil || before(s, v) {
			v = s
		}
	}
	return v
}

// FindSession returns the active secure session with peer (of kind, or
// any kind if kind is 0) most recently active, as the node's own logic
// picks a session for new work (connectedhomeip
// SessionManager::FindSecureSessionForNode, which only considers active
// sessions): a defunct session is never returned, so the caller
// re-establishes instead.
func (m *Manager) FindSession(peer Peer, kind Kind) (Ref, bool) {
	var v *sess
	for _, s := range m.secure {
		if s.defunct || s.scopedPeer() != peer || (kind != 0 && s.kind != kind) {
			continue
		}
		if v == nil || s.active > v.active || (s.active == v.active && s.seq > v.seq) {
			v = s
		}
	}
	if v == nil {
		return Ref{}, false
	}
	return v.ref, true
}

// InstallSecureSession enters a secure session with the given keys and
// returns its Ref. PASE and CASE call it with the keys they derived (spec
// 4.13.2.6); tests call it with constant keys. The session's outbound
// counter starts at a random value in [1, 2^28] and its reception window at
// max 0 with an empty bitmap (spec 4.5.1.1, 4.6.5.1).
func (m *Manager) InstallSecureSession(now clock.Time, p SecureSession) (Ref, error) {
	m.begin()
	if p.Kind != PASE && p.Kind != CASE || p.PeerID == 0 || !p.Peer.IsValid() {
		return Ref{}, ErrInvalidSession
	}
	id := p.LocalID
	if id == 0 {
		var err error
		if id, err = m.allocLocalID(now, Peer{Fabric: p.FabricIndex, Node: p.PeerNodeID}); err != nil {
			return Ref{}, err
		}
	} else if _, ok := m.reserved[id]; !ok {
		return Ref{}, ErrInvalidSession
	}
	var b [4]byte
	if err := m.read(b[:], "session message counter"); err != nil {
		delete(m.reserved, id)
		return Ref{}, err
	}
	delete(m.reserved, id)
	m.seq++
	s := &sess{
		ref:       Ref{LocalID: id},
		kind:      p.Kind,
		initiator: p.Initiator,
		peerID:    p.PeerID,
		peerNode:  p.PeerNodeID,
		peer:      p.Peer,
		ctr:       counter.SecureAt(initialCounter(b[:])),
		win:       m.newWindow(counter.PolicySecureUnicast),
		peerIv:    p.PeerIntervals.Normalize(),
		active:    now,
		seq:       m.seq,
		// A new secure session starts active: SecureSession::Activate
		// calls MarkActiveRx (connectedhomeip src/transport/SecureSession.cpp),
		// so its first retransmission uses the active interval.
		lastRx: now,
		heard:  true,
		fabric: p.FabricIndex,
	}
	encKey, decKey := p.I2RKey, p.R2IKey
	if !p.Initiator {
		encKey, decKey = decKey, encKey
	}
	s.keys = sessionKeys{i2r: p.I2RKey, r2i: p.R2IKey, att: p.AttestationChallenge}
	s.enc = security.NewCCM(security.Key(encKey))
	s.dec = security.NewCCM(security.Key(decKey))
	if p.Kind == CASE { // PASE: node id 0 both ways (spec 4.8.1.1)
		s.encNode, s.decNode = p.LocalNodeID, p.PeerNodeID
	}
	m.secure[id] = s
	m.emit(Event{Kind: EventSessionOpened, Session: s.ref})
	return s.ref, nil
}

// SetPeerIntervals records the peer's MRP intervals from its session
// parameters (spec 4.12.8), e.g. when PBKDFParamRequest or Sigma1 arrives on
// an unsecured session. Zero fields mean the spec defaults.
func (m *Manager) SetPeerIntervals(r Ref, iv mrp.Intervals) error {
	s := m.lookup(r)
	if s == nil {
		return ErrNoSession
	}
	s.peerIv = iv.Normalize()
	return nil
}

// CloseSession closes session r. For a secure session a CloseSession status
// report (StatusReport SUCCESS, Secure Channel, CLOSE_SESSION; spec
// 4.11.1.4) is sent to the peer first, on a new exchange, without R: the
// session is gone before an ack could arrive. Every exchange and timer of
// the session is released.
func (m *Manager) CloseSession(now clock.Time, r Ref) error {
	m.begin()
	s := m.lookup(r)
	if s == nil {
		return ErrNoSession
	}
	m.closeSession(now, s, ClosedByApp, r.Secure())
	return nil
}

// RemoveSession drops session r silently (no message to the peer) at once.
// For an unsecured session whose handshake finished, RetireSession is
// usually better: it keeps answering the peer's retransmissions a while.
func (m *Manager) RemoveSession(now clock.Time, r Ref) error {
	m.begin()
	s := m.lookup(r)
	if s == nil {
		return ErrNoSession
	}
	m.closeSession(now, s, ClosedRemoved, false)
	return nil
}

// closeSession removes s and everything it holds. If tell is set and s is
// secure, CloseSession is sent first.
func (m *Manager) closeSession(now clock.Time, s *sess, why CloseReason, tell bool) {
	if m.lookup(s.ref) != s {
		return // already closed (re-entry through counter exhaustion)
	}
	if tell && s.ref.Secure() {
		x := m.openInitiator(s)
		_ = m.transmit(now, x, Message{
			Protocol: message.ProtocolSecureChannel,
			Opcode:   message.OpStatusReport,
			Payload:  status.CloseSession().Append(nil),
		})
		if m.lookup(s.ref) != s {
			return // transmit exhausted the counter and closed it already
		}
	}
	xs := make([]*exchange, 0, len(s.exchanges))
	for _, x := range s.exchanges {
		xs = append(xs, x)
	}
	slices.SortFunc(xs, func(a, b *exchange) int { return cmpU64(a.seq, b.seq) })
	for _, x := range xs {
		m.dropExchange(x)
	}
	if s.ref.Secure() {
		delete(m.secure, s.ref.LocalID)
	} else {
		delete(m.unsecured, keyOf(s.ref))
	}
	m.emit(Event{Kind: EventSessionClosed, Session: s.ref, Reason: why})
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SessionInfo returns a snapshot of session r.
func (m *Manager) SessionInfo(r Ref) (Info, bool) {
	s := m.lookup(r)
	if s == nil {
		return Info{}, false
	}
	in := Info{
		Ref:         s.ref,
		Kind:        s.kind,
		PeerID:      s.peerID,
		Peer:        s.peer,
		PeerNodeID:  s.peerNode,
		Initiator:   s.initiator,
		WindowMax:   s.win.Max(),
		WindowBits:  uint32(s.win.Bitmap()),
		Window:      s.win,
		Exchanges:   len(s.exchanges),
		LastRx:      time.Duration(s.lastRx),
		GiveUps:     s.giveUps,
		Defunct:     s.defunct,
		FabricIndex: s.fabric,
	}
	if s.ref.Secure() {
		in.NextCounter, _ = s.ctr.Peek()
		in.CounterExhausted = s.ctr.Exhausted()
	} else {
		in.NextCounter = m.unenc.Peek()
	}
	for _, x := range s.exchanges {
		if x.rtx.valid {
			in.Pending++
		}
	}
	return in, true
}

// Sessions returns the refs of all sessions, secure ones first by local id,
// then unsecured ones in creation order.
func (m *Manager) Sessions() []Ref {
	var out []Ref
	ids := make([]uint16, 0, len(m.secure))
	for id := range m.secure {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, Ref{LocalID: id})
	}
	us := make([]*sess, 0, len(m.unsecured))
	for _, s := range m.unsecured {
		us = append(us, s)
	}
	slices.SortFunc(us, func(a, b *sess) int { return cmpU64(a.seq, b.seq) })
	for _, s := range us {
		out = append(out, s.ref)
	}
	return out
}
