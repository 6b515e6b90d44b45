package session

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/group"
	"mattersim/session/mcsp"
	"mattersim/session/message"
	"mattersim/session/security"
)

// Group messaging (spec 4.17 Group Key Management, 4.18 Message Counter
// Synchronization; 4.15 and 4.16 in Matter 1.0): fabrics, key sets and
// groups provisioned by API, group message reception with key trial and
// per-sender reception state, and SendGroup. MCSP itself is in mcsp.go.

// Defaults of GroupConfig.
const (
	// DefaultGroupDataPeers and DefaultGroupControlPeers bound the group
	// peer table per fabric (connectedhomeip CHIP_CONFIG_MAX_GROUP_DATA_PEERS
	// 15 and CHIP_CONFIG_MAX_GROUP_CONTROL_PEERS 2; spec 4.18.2 asks for at
	// least 10 and 2 per fabric).
	DefaultGroupDataPeers    = 15
	DefaultGroupControlPeers = 2
	// DefaultSyncQueue is how many messages wait per unsynchronized sender
	// and key set (spec 4.18.4: the trigger SHALL be stored, more MAY be).
	DefaultSyncQueue = 4
	// DefaultResponseInterval is the least time between two
	// MsgCounterSyncRsp to new requests of the same requester.
	DefaultResponseInterval = 100 * time.Millisecond
)

// QueueDrop is the rule that picks the message dropped when a
// synchronization queue is full.
type QueueDrop uint8

// Queue drop rules.
const (
	// DropNewest (the default, "drop-newest"): the arriving message is
	// dropped, so the trigger the spec says SHALL be stored is kept.
	DropNewest QueueDrop = iota
	// DropOldest ("drop-oldest"): the oldest queued message makes room.
	DropOldest
)

func (d QueueDrop) String() string {
	switch d {
	case DropNewest:
		return "drop-newest"
	case DropOldest:
		return "drop-oldest"
	}
	return fmt.Sprintf("drop(%d)", uint8(d))
}

// ParseQueueDrop maps "drop-newest" ("" too) and "drop-oldest" to a rule.
func ParseQueueDrop(s string) (QueueDrop, bool) {
	switch s {
	case "", "drop-newest":
		return DropNewest, true
	case "drop-oldest":
		return DropOldest, true
	}
	return 0, false
}

// Eviction is the group peer table's rule when a message from an untracked
// sender finds its fabric's table full.
type Eviction uint8

// Eviction rules.
const (
	// EvictSafe (the default, "safe"): recycle the least recently used entry
	// among synchronized cache-and-sync senders with nothing queued; a
	// cache-and-sync sender that comes back is synchronized again, so no
	// replay gets in. Trust-first entries are never recycled: the spec
	// forbids it (Matter 1.6 groupcast text, as independent
	// implementations quote it: "Once a Groupcast Session Context with trust-first policy
	// is created ... that record SHALL NOT be deleted or recycled until the
	// node reboots ... Any message from a source that cannot be tracked
	// SHALL be dropped"), and the SDK's GroupPeerTable refuses new peers
	// when full. If nothing qualifies the message is dropped.
	EvictSafe Eviction = iota
	// EvictNever ("never"): a full table drops every message from an
	// untracked sender.
	EvictNever
	// EvictLRU ("lru"): recycle the least recently used entry of any
	// policy that has no exchange in flight. Research only: it lets an
	// adversary flush a trust-first sender's state and replay its traffic.
	EvictLRU
)

func (e Eviction) String() string {
	switch e {
	case EvictSafe:
		return "safe"
	case EvictNever:
		return "never"
	case EvictLRU:
		return "lru"
	}
	return fmt.Sprintf("eviction(%d)", uint8(e))
}

// ParseEviction maps "safe" ("" too), "never" and "lru" to a rule.
func ParseEviction(s string) (Eviction, bool) {
	switch s {
	case "", "safe":
		return EvictSafe, true
	case "never":
		return EvictNever, true
	case "lru":
		return EvictLRU, true
	}
	return 0, false
}

// GroupConfig holds a node's group messaging and MCSP parameters. The zero
// value means the defaults; every field is a knob scenarios can sweep.
type GroupConfig struct {
	// Policy is the receive policy of key sets and groups that leave it at
	// group.PolicyDefault: trust-first unless set (the Group Key Management
	// cluster's default, and the only policy the SDK and matter.js ship).
	Policy group.Policy
	// WindowInit is how a group reception window starts on a trusted first
	// counter (data and control): InitDefault and InitSpec set the bitmap
	// to all ones (spec 4.6.5.4), InitSDK leaves it empty (connectedhomeip
	// issue #72535: counters just below the trusted one can then be
	// replayed).
	WindowInit counter.Init
	// SyncInit is how the window below a synchronization point starts
	// (counter.Window.SyncNext): InitDefault and InitSDK open the window
	// below the Synchronized Counter so the queued messages, which are
	// necessarily below it, are taken once each (connectedhomeip's 2021
	// PeerMessageCounter::VerifyChallenge); InitSpec closes it (spec 4.6.5.4
	// applied at the synchronization point), which discards them.
	SyncInit counter.Init
	// SyncReqJitter is MSG_COUNTER_SYNC_REQ_JITTER: a request triggered by
	// a multicast message waits a uniform random time in [0, jitter]
	// (default mcsp.DefaultSyncReqJitter, 500 ms; negative: no wait).
	SyncReqJitter time.Duration
	// SyncTimeout is MSG_COUNTER_SYNC_TIMEOUT, counted from the request's
	// first transmission (default mcsp.DefaultSyncTimeout, 400 ms).
	SyncTimeout time.Duration
	// SyncQueue bounds the messages waiting per unsynchronized sender and
	// key set (default DefaultSyncQueue; negative: only the trigger).
	SyncQueue int
	// SyncQueueDrop picks what a full queue drops (default DropNewest).
	SyncQueueDrop QueueDrop
	// DataPeers and ControlPeers bound the group peer table per fabric:
	// data entries are per (sender, key set), control entries per sender
	// (defaults DefaultGroupDataPeers, DefaultGroupControlPeers).
	DataPeers, ControlPeers int
	// PeerEviction is the rule for a full peer table (default EvictSafe).
	PeerEviction Eviction
	// ResponseInterval is the least time between two responses to new
	// MsgCounterSyncReq of one requester (default DefaultResponseInterval;
	// negative: no limit).
	ResponseInterval time.Duration
	// Port is the UDP port group messages are sent to (default group.Port, 5540).
	Port uint16
}

func (c GroupConfig) normalize() GroupConfig {
	if c.Policy > group.CacheAndSync || c.Policy == group.PolicyDefault {
		c.Policy = group.TrustFirst
	}
	if c.WindowInit > counter.InitSDK {
		c.WindowInit = counter.InitDefault
	}
	if c.SyncInit != counter.InitSpec {
		c.SyncInit = counter.InitSDK
	}
	switch {
	case c.SyncReqJitter == 0:
		c.SyncReqJitter = mcsp.DefaultSyncReqJitter
	case c.SyncReqJitter < 0:
		c.SyncReqJitter = 0
	}
	if c.SyncTimeout <= 0 {
		c.SyncTimeout = mcsp.DefaultSyncTimeout
	}
	switch {
	case c.SyncQueue == 0:
		c.SyncQueue = DefaultSyncQueue
	case c.SyncQueue < 0:
		c.SyncQueue = 1
	}
	if c.SyncQueueDrop > DropOldest {
		c.SyncQueueDrop = DropNewest
	}
	if c.DataPeers <= 0 {
		c.DataPeers = DefaultGroupDataPeers
	}
	if c.ControlPeers <= 0 {
		c.ControlPeers = DefaultGroupControlPeers
	}
	if c.PeerEviction > EvictLRU {
		c.PeerEviction = EvictSafe
	}
	switch {
	case c.ResponseInterval == 0:
		c.ResponseInterval = DefaultResponseInterval
	case c.ResponseInterval < 0:
		c.ResponseInterval = 0
	}
	if c.Port == 0 {
		c.Port = group.Port
	}
	return c
}

// Fabric is what the group layer needs to know of a fabric the node is on.
type Fabric struct {
	Index        uint8          // local fabric index, 1..254
	ID           uint64         // fabric id: the multicast addresses (group.MulticastAddr)
	CompressedID [8]byte        // salt of the group key derivation (spec 4.17.2)
	NodeID       message.NodeID // our operational node id: source of our group messages, MCSP destination
}

// PrivacyMode selects privacy obfuscation (spec 4.9.3) of the group
// messages we send to a group. Receivers handle both forms always.
type PrivacyMode uint8

// Privacy modes.
const (
	// PrivacyDefault (zero value) is PrivacyOn: the SDK sets P on every
	// group message it sends.
	PrivacyDefault PrivacyMode = iota
	PrivacyOn
	// PrivacyOff sends headers in the clear (matter.js refuses P=1).
	PrivacyOff
)

// Group is a group the node is a member of: a Group Key Map entry (group to
// key set) plus the node's settings for it. The driver joins the group's
// multicast address (GroupAddress) on its network stack.
type Group struct {
	Fabric uint8
	ID     message.GroupID
	KeySet uint16
	// Policy overrides the key set's receive policy for messages to this
	// group (group.PolicyDefault: the key set's, then the node's).
	Policy  group.Policy
	Privacy PrivacyMode
}

// GroupMessage is a message to send to a group.
type GroupMessage struct {
	Fabric uint8
	Group  message.GroupID
	// KeySet is the key set to secure it with; 0 means the one the group
	// maps to.
	KeySet uint16
	// Control sets the C flag: the message uses the group control counter
	// and receivers check it trust-first (spec 4.18.1.1). The SDK accepts
	// control messages only in the MCSP form; mattersim delivers them.
	Control  bool
	Protocol message.ProtocolID
	Vendor   uint16
	Opcode   uint8
	Payload  []byte // copied
}

// GroupReason says why a group or MCSP event happened.
type GroupReason uint8

// Group reasons.
const (
	ReasonNone        GroupReason = iota
	ReasonNoKey                   // no installed key has the message's group session id
	ReasonAuth                    // every candidate key failed to authenticate it
	ReasonNotMember               // authenticated by no key whose key set maps the destination group
	ReasonShape                   // not a group message shape: no source node id, no destination, unicast-addressed data
	ReasonReliable                // a group data message with R or A (spec: group messages are never reliable)
	ReasonOwn                     // our own message, looped back
	ReasonTableFull               // the group peer table is full and the eviction rule recycled nothing
	ReasonMalformed               // the protocol header or an MCSP payload does not decode
	ReasonWrongNode               // an MCSP message addressed to another node
	ReasonUnhandled               // a control message that is not MCSP
	ReasonChallenge               // MsgCounterSyncRsp: the Response is not our challenge
	ReasonExchange                // MsgCounterSyncRsp: not on the request's exchange
	ReasonUnsolicited             // MsgCounterSyncRsp or ack with no synchronization in flight with that node
	ReasonDuplicate               // an MCSP message the control window rejected: an MRP retransmission or a replay
	ReasonZeroCounter             // MsgCounterSyncRsp with Synchronized Counter 0
	ReasonWindow                  // a released message the synchronized window rejected
	ReasonTimeout                 // a queued message discarded because its attempt timed out
	ReasonNewest                  // queue overflow: the arriving message was dropped (DropNewest)
	ReasonOldest                  // queue overflow: the oldest queued message was dropped (DropOldest)
	ReasonEvictSafe               // eviction under EvictSafe
	ReasonEvictLRU                // eviction under EvictLRU
	ReasonRequest                 // retransmit/give-up: of our MsgCounterSyncReq
	ReasonResponse                // retransmit/give-up: of our MsgCounterSyncRsp
	ReasonReplaced                // give-up: an unacknowledged response replaced by a newer request's
	ReasonStore                   // the group counter store failed
)

var groupReasonNames = [...]string{
	ReasonNone: "", ReasonNoKey: "no-key", ReasonAuth: "auth", ReasonNotMember: "not-member",
	ReasonShape: "shape", ReasonReliable: "reliable", ReasonOwn: "own", ReasonTableFull: "table-full",
	ReasonMalformed: "malformed", ReasonWrongNode: "wrong-node", ReasonUnhandled: "unhandled",
	ReasonChallenge: "challenge", ReasonExchange: "exchange", ReasonUnsolicited: "unsolicited",
	ReasonDuplicate: "duplicate", ReasonZeroCounter: "zero-counter", ReasonWindow: "window",
	ReasonTimeout: "timeout", ReasonNewest: "drop-newest", ReasonOldest: "drop-oldest",
	ReasonEvictSafe: "safe", ReasonEvictLRU: "lru", ReasonRequest: "request", ReasonResponse: "response",
	ReasonReplaced: "replaced", ReasonStore: "store",
}

func (r GroupReason) String() string {
	if int(r) < len(groupReasonNames) {
		return groupReasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// GroupEvent is the group part of an Event. Which fields are set depends on
// the kind; unset fields are zero.
type GroupEvent struct {
	Fabric  uint8
	Group   message.GroupID // destination group of a data message; 0 for MCSP
	KeySet  uint16
	Source  message.NodeID // the sender (received), or the MCSP peer
	Control bool           // the message had the C flag
	Policy  group.Policy   // the receive policy applied
	// Trials is the number of candidate keys whose AES-CCM open was
	// attempted for a received datagram (spec 4.17.3.6: every key with the
	// group session id is tried); Candidates the keys with that session id.
	Trials, Candidates int
	Reason             GroupReason
	Jitter             time.Duration // mcsp-request-sent: the delay drawn before the request
	// Latency: mcsp-synced, from the trigger's arrival; mcsp-released, the
	// time the message waited. RTT: mcsp-synced, from the request's first
	// transmission.
	Latency, RTT time.Duration
	SyncCounter  uint32 // the Synchronized Counter (mcsp-synced, mcsp-responded)
	Queued       int    // queue length after mcsp-queued; messages discarded by mcsp-timeout
	SyncAttempt  int    // the synchronization attempt with this sender and key set, from 1
	Challenge    mcsp.Challenge
}

// Errors of the group API.
var (
	ErrInvalidFabric  = errors.New("session: invalid fabric (index 0, node id 0 or out of range)")
	ErrNoFabric       = errors.New("session: no such fabric")
	ErrNoKeySet       = errors.New("session: no such group key set")
	ErrNoGroup        = errors.New("session: not a member of that group")
	ErrKeySetInUse    = errors.New("session: a group maps to that key set")
	ErrNoCurrentKey   = errors.New("session: no epoch key of the key set has started")
	ErrCountersInUse  = errors.New("session: group counters already in use")
	ErrFabricExists   = errors.New("session: fabric index already added")
	ErrInvalidGroupID = group.ErrInvalidGroup
)

// groupState is everything group: nil until the first AddFabric.
type groupState struct {
	fabrics   map[uint8]*fabric
	bySession map[message.SessionID][]*opKey // candidates per group session id
	rng       *rand.Rand                     // group randomness: sync request jitter
	store     counter.Store
	data, ctl *counter.Group // global group data / control counters (spec 4.6.1)
	active    []*peer        // peers that may hold MCSP timers
	seq       uint64
}

type fabric struct {
	Fabric
	keySets map[uint16]*keySet
	groups  map[message.GroupID]*Group
	data    map[dataKey]*peer
	control map[message.NodeID]*peer
}

type keySet struct {
	group.KeySet
	keys []*opKey
}

// opKey is one installed operational group key.
type opKey struct {
	fab  *fabric
	ks   *keySet
	info group.Key
	enc  *security.CCM
	priv *security.Privacy
}

type dataKey struct {
	node   message.NodeID
	keySet uint16
}

// peer is one group peer table entry (spec 4.18.2 Group Peer State): the
// reception state of one sender's data messages under one key set, or of
// its control messages.
type peer struct {
	fab     *fabric
	node    message.NodeID
	keySet  uint16 // 0 for a control entry
	control bool
	win     counter.Window
	id      uint64     // creation order: ties between timers
	used    clock.Time // last accepted message, for LRU
	seq     uint64     // order of used, for LRU ties
	lastRx  clock.Time // last authenticated message (MRP peer activity)
	active  bool       // in groupState.active

	// Data entries: cas is set once a message under cache-and-sync
	// reached the entry; sync is the synchronization in flight, if any.
	cas      bool
	sync     *syncAttempt
	attempts int
	// Control entries: our response to the peer's latest request.
	rsp          *mcspRsp
	lastAnswered clock.Time
	answered     bool
}

func (g *groupState) nextSeq() uint64 { g.seq++; return g.seq }

// ensureGroup creates the group state on first use. Its random stream is
// seeded from 32 bytes of the Manager's entropy, drawn then, so that runs
// without groups consume entropy exactly as before.
func (m *Manager) ensureGroup() error {
	if m.grp != nil {
		return nil
	}
	var seed [32]byte
	if err := m.read(seed[:], "group randomness"); err != nil {
		return err
	}
	m.grp = &groupState{
		fabrics:   make(map[uint8]*fabric),
		bySession: make(map[message.SessionID][]*opKey),
		rng:       rand.New(rand.NewChaCha8(seed)),
	}
	return nil
}

// AddFabric makes the node a member of fabric f for group messaging. Key
// sets and groups are then provisioned on it (SetKeySet, AddGroup), as the
// Group Key Management cluster's KeySetWrite and GroupKeyMap would.
func (m *Manager) AddFabric(f Fabric) error {
	m.begin()
	if f.Index == 0 || f.Index == 0xFF || f.NodeID == 0 || f.NodeID > maxOperationalNodeID {
		return ErrInvalidFabric
	}
	if err := m.ensureGroup(); err != nil {
		return err
	}
	if m.grp.fabrics[f.Index] != nil {
		return ErrFabricExists
	}
	m.grp.fabrics[f.Index] = &fabric{
		Fabric:  f,
		keySets: make(map[uint16]*keySet),
		groups:  make(map[message.GroupID]*Group),
		data:    make(map[dataKey]*peer),
		control: make(map[message.NodeID]*peer),
	}
	return nil
}

func (m *Manager) fabric(idx uint8) (*fabric, error) {
	if m.grp == nil || m.grp.fabrics[idx] == nil {
		return nil, ErrNoFabric
	}
	return m.grp.fabrics[idx], nil
}

// SetKeySet installs key set ks on a fabric, replacing every epoch key of
// a key set with the same id (spec 4.17.3.2: an update removes all previous
// keys of the set). Reception state tied to the key set is kept: a key
// rotation does not make senders unsynchronized.
func (m *Manager) SetKeySet(fab uint8, ks group.KeySet) error {
	m.begin()
	f, err := m.fabric(fab)
	if err != nil {
		return err
	}
	if err := ks.Validate(); err != nil {
		return err
	}
	ks.Epochs = slices.Clone(ks.Epochs)
	if old := f.keySets[ks.ID]; old != nil {
		m.grp.unindex(old)
	}
	k := &keySet{KeySet: ks}
	for _, d := range ks.Derive(f.CompressedID) {
		k.keys = append(k.keys, &opKey{fab: f, ks: k, info: d,
			enc: security.NewCCM(d.Operational), priv: security.NewPrivacy(d.Privacy)})
	}
	f.keySets[ks.ID] = k
	for _, ok := range k.keys {
		sid := ok.info.SessionID
		m.grp.bySession[sid] = append(m.grp.bySession[sid], ok)
		// Deterministic trial order: fabric, key set, epoch.
		slices.SortFunc(m.grp.bySession[sid], func(a, b *opKey) int {
			if a.fab.Index != b.fab.Index {
				return int(a.fab.Index) - int(b.fab.Index)
			}
			if a.ks.ID != b.ks.ID {
				return int(a.ks.ID) - int(b.ks.ID)
			}
			return a.info.Epoch - b.info.Epoch
		})
	}
	return nil
}

func (g *groupState) unindex(k *keySet) {
	for _, ok := range k.keys {
		sid := ok.info.SessionID
		g.bySession[sid] = slices.DeleteFunc(g.bySession[sid], func(x *opKey) bool { return x == ok })
		if len(g.bySession[sid]) == 0 {
			delete(g.bySession, sid)
		}
	}
}

// RemoveKeySet removes a key set and the reception state tied to it. It
// fails with ErrKeySetInUse while a group maps to it.
func (m *Manager) RemoveKeySet(fab uint8, id uint16) error {
	m.begin()
	f, err := m.fabric(fab)
	if err != nil {
		return err
	}
	k := f.keySets[id]
	if k == nil {
		return ErrNoKeySet
	}
	for _, g := range f.groups {
		if g.KeySet == id {
			return ErrKeySetInUse
		}
	}
	m.grp.unindex(k)
	delete(f.keySets, id)
	for dk, p := range f.data {
		if dk.keySet == id {
			m.dropPeer(p)
		}
	}
	return nil
}

// AddGroup makes the node a member of g (a Group Key Map entry), replacing
// an earlier entry for the same group. The key set must exist.
func (m *Manager) AddGroup(g Group) error {
	m.begin()
	f, err := m.fabric(g.Fabric)
	if err != nil {
		return err
	}
	if g.ID == group.NullGroupID {
		return ErrInvalidGroupID
	}
	if f.keySets[g.KeySet] == nil {
		return ErrNoKeySet
	}
	if g.Policy > group.CacheAndSync || g.Privacy > PrivacyOff {
		return group.ErrPolicy
	}
	f.groups[g.ID] = &g
	return nil
}

// RemoveGroup ends the node's membership of a group.
func (m *Manager) RemoveGroup(fab uint8, id message.GroupID) error {
	m.begin()
	f, err := m.fabric(fab)
	if err != nil {
		return err
	}
	if f.groups[id] == nil {
		return ErrNoGroup
	}
	delete(f.groups, id)
	return nil
}

// Groups returns the node's groups, by fabric then group id.
func (m *Manager) Groups() []Group {
	if m.grp == nil {
		return nil
	}
	var out []Group
	for _, f := range m.grp.fabrics {
		for _, g := range f.groups {
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(a, b Group) int {
		if a.Fabric != b.Fabric {
			return int(a.Fabric) - int(b.Fabric)
		}
		return int(a.ID) - int(b.ID)
	})
	return out
}

// GroupAddress returns the multicast address and port of a group the node
// is a member of, which its network stack joins (group.MulticastAddr).
func (m *Manager) GroupAddress(fab uint8, id message.GroupID) (netip.AddrPort, error) {
	f, err := m.fabric(fab)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if f.groups[id] == nil {
		return netip.AddrPort{}, ErrNoGroup
	}
	return netip.AddrPortFrom(group.MulticastAddr(f.ID, id), m.cfg.Group.Port), nil
}

// SetGroupCounterStore loads the node's global group data and control
// counters from st (spec 4.6.1; counter.Group): the stored value, or a
// random one on first boot, with the look-ahead of counter.MinIncrement
// saved at once. The node layer keeps st across reboots (keys
// counter.KeyGroupData and counter.KeyGroupControl hold the look-ahead
// limits) and calls this on the new Manager before any group traffic, so
// a rebooted node never reuses a counter. Without it the counters live in
// memory and start at random values on first use. ErrCountersInUse once
// they have been used.
func (m *Manager) SetGroupCounterStore(st counter.Store) error {
	m.begin()
	if err := m.ensureGroup(); err != nil {
		return err
	}
	if m.grp.data != nil {
		return ErrCountersInUse
	}
	m.grp.store = st
	return m.groupCounters()
}

// GroupCounters reports the values the next group data and control
// messages will carry; ok is false before the counters exist.
func (m *Manager) GroupCounters() (data, control uint32, ok bool) {
	if m.grp == nil || m.grp.data == nil {
		return 0, 0, false
	}
	return m.grp.data.Peek(), m.grp.ctl.Peek(), true
}

func (m *Manager) groupCounters() error {
	g := m.grp
	if g.data != nil {
		return nil
	}
	if g.store == nil {
		g.store = &counter.MemStore{}
	}
	src := counter.NewReaderSource(m.entropy)
	d, err := counter.NewGroup(g.store, counter.KeyGroupData, src)
	if err != nil {
		return err
	}
	c, err := counter.NewGroup(g.store, counter.KeyGroupControl, src)
	if err != nil {
		return err
	}
	if err := src.Err(); err != nil {
		return &EntropyError{What: "group counters", Err: err}
	}
	g.data, g.ctl = d, c
	return nil
}

// GroupPeer is a snapshot of one group peer table entry.
type GroupPeer struct {
	Fabric   uint8
	Node     message.NodeID
	KeySet   uint16 // 0 for a control entry
	Control  bool
	Synced   bool // the reception window has a counter
	Syncing  bool // an MCSP attempt is in flight
	Queued   int
	Attempts int
	Window   counter.Window
}

// GroupPeers returns the group peer table, by fabric, control entries
// after data entries, then node and key set.
func (m *Manager) GroupPeers() []GroupPeer {
	if m.grp == nil {
		return nil
	}
	var out []GroupPeer
	add := func(p *peer) {
		gp := GroupPeer{Fabric: p.fab.Index, Node: p.node, KeySet: p.keySet, Control: p.control,
			Synced: p.win.Synced(), Attempts: p.attempts, Window: p.win}
		if p.sync != nil {
			gp.Syncing = true
			gp.Queued = len(p.sync.queue)
		}
		out = append(out, gp)
	}
	for _, f := range m.grp.fabrics {
		for _, p := range f.data {
			add(p)
		}
		for _, p := range f.control {
			add(p)
		}
	}
	slices.SortFunc(out, func(a, b GroupPeer) int {
		switch {
		case a.Fabric != b.Fabric:
			return int(a.Fabric) - int(b.Fabric)
		case a.Control != b.Control:
			if a.Control {
				return 1
			}
			return -1
		case a.Node != b.Node:
			return cmpU64(uint64(a.Node), uint64(b.Node))
		}
		return int(a.KeySet) - int(b.KeySet)
	})
	return out
}

// ---- sending ----

// SendGroup sends msg to its group's multicast address at now and returns
// the message counter it carries (spec 4.7.1 for groups; connectedhomeip
// SessionManager::PrepareMessage): session type group, the group session id
// of the key set's current epoch key (spec 4.17.3.1), S with our node id,
// DSIZ=2 with the group id, the group data counter (or control, with C),
// a new exchange with I, and never R or A: group messages get no MRP (spec
// 4.12: reliability only on unicast). P is set unless the group says
// PrivacyOff. The datagram goes to GroupAddress; nothing is kept.
//
// Errors: ErrNoFabric, ErrNoGroup, ErrNoKeySet, ErrNoCurrentKey,
// ErrTooLarge, *counter.StoreError, *EntropyError.
func (m *Manager) SendGroup(now clock.Time, msg GroupMessage) (uint32, error) {
	m.begin()
	f, err := m.fabric(msg.Fabric)
	if err != nil {
		return 0, err
	}
	g := f.groups[msg.Group]
	if g == nil {
		return 0, ErrNoGroup
	}
	ksID := msg.KeySet
	if ksID == 0 {
		ksID = g.KeySet
	}
	ks := f.keySets[ksID]
	if ks == nil {
		return 0, ErrNoKeySet
	}
	i, ok := ks.Current(now)
	if !ok {
		return 0, ErrNoCurrentKey
	}
	key := ks.keys[i]
	flags := message.SecurityFlags(message.SessionGroup)
	if g.Privacy != PrivacyOff {
		flags |= message.PrivacyFlag
	}
	if msg.Control {
		flags |= message.ControlFlag
	}
	h := message.Header{SessionID: key.info.SessionID, Flags: flags, HasSource: true, Source: f.NodeID,
		DestKind: message.DestinationGroup, DestGroup: msg.Group}
	ph := message.ProtocolHeader{Flags: message.InitiatorFlag, Opcode: msg.Opcode, ExchangeID: m.nextExch,
		ProtocolID: msg.Protocol, VendorID: msg.Vendor}
	if msg.Vendor != 0 {
		ph.Flags |= message.VendorFlag
	}
	size := h.Len() + ph.Len() + len(msg.Payload) + security.MICSize
	if size > message.MaxUDPPayload {
		return 0, ErrTooLarge
	}
	if err := m.groupCounters(); err != nil {
		return 0, err
	}
	ctr := m.grp.data
	if msg.Control {
		ctr = m.grp.ctl
	}
	c, err := ctr.Next() // last, after every check that could refuse
	if err != nil {
		return 0, err
	}
	m.nextExch++
	h.Counter = c
	buf := m.sealGroup(key, &h, &ph, msg.Payload, false)
	m.emitDatagram(netip.AddrPortFrom(group.MulticastAddr(f.ID, msg.Group), m.cfg.Group.Port), buf)
	return c, nil
}

// sealGroup encodes, seals with key and (if h has P) obfuscates a group-
// keyed message. keep allocates a buffer of its own (for retransmission);
// otherwise the bytes live in the arena.
func (m *Manager) sealGroup(key *opKey, h *message.Header, ph *message.ProtocolHeader, payload []byte, keep bool) []byte {
	size := h.Len() + ph.Len() + len(payload) + security.MICSize
	var buf []byte
	if keep {
		buf = make([]byte, 0, size)
	} else {
		start := len(m.arena)
		m.arena = slices.Grow(m.arena, size)
		buf = m.arena[start:start:cap(m.arena)]
	}
	buf = h.Append(buf)
	hl := len(buf)
	buf = ph.Append(buf)
	buf = append(buf, payload...)
	buf = security.SealInPlace(key.enc, buf, hl, h.Source)
	if h.Flags.Privacy() {
		_ = key.priv.Obfuscate(buf) // cannot fail: the header was just encoded
	}
	buf = buf[:len(buf):len(buf)]
	if !keep {
		m.arena = m.arena[:len(m.arena)+len(buf)]
	}
	return buf
}

// ---- reception ----

// receiveGroup processes a datagram with the group session type (spec
// 4.7.2, 4.17.3.6, 4.18.4; connectedhomeip SessionManager::
// SecureGroupMessageDispatch): every installed key with the message's group
// session id is tried in turn (de-obfuscate with its privacy key if P,
// check that its key set maps the destination group, AES-CCM open) until
// one authenticates; then R or A on a data message drops it, then the
// sender's reception state decides, under the group's policy. n is the
// header length Decode returned (obfuscation does not change lengths).
func (m *Manager) receiveGroup(now clock.Time, from netip.AddrPort, b []byte, n int) {
	g := m.grp
	h := &m.hdr
	if g == nil || len(g.fabrics) == 0 {
		m.emit(Event{Kind: EventUnsupported, From: from, Counter: h.Counter})
		return
	}
	sid := h.SessionID
	control := h.Flags.Control()
	gev := GroupEvent{Control: control}
	reject := func(r GroupReason) {
		gev.Reason = r
		m.emit(Event{Kind: EventGroupRejected, From: from, Counter: h.Counter, Group: gev})
	}
	// The shape is readable in the clear: S and DSIZ are in the message
	// flags, C in the security flags (spec 4.4.1; MessageHeader.h
	// IsValidGroupMsg, IsValidMCSPMsg).
	mcspShape := h.DestKind == message.DestinationNode && control
	if !h.HasSource || h.DestKind == message.DestinationNone || (h.DestKind == message.DestinationNode && !control) {
		reject(ReasonShape)
		return
	}
	cands := g.bySession[sid]
	gev.Candidates = len(cands)
	if len(cands) == 0 {
		reject(ReasonNoKey)
		return
	}
	if len(b)-n < security.MICSize {
		gev.Reason = ReasonMalformed
		m.emit(Event{Kind: EventGroupRejected, From: from, Counter: h.Counter, Err: security.ErrShort, Group: gev})
		return
	}
	// Work on a copy: de-obfuscation rewrites header bytes, and a failed
	// candidate must leave the next one the bytes as received.
	// Room for the copy and for the plaintext, so that neither append
	// below moves the arena.
	m.arena = slices.Grow(m.arena, 2*len(b))
	start := len(m.arena)
	m.arena = append(m.arena, b...)
	buf := m.arena[start : start+len(b) : start+len(b)]
	var (
		key      *opKey
		pt       []byte
		grp      *Group
		mismatch bool
	)
	for _, k := range cands {
		if h.Flags.Privacy() {
			copy(buf[message.PrivacyHeaderOffset:n], b[message.PrivacyHeaderOffset:n])
			_ = k.priv.Deobfuscate(buf) // lengths were checked above
		}
		if _, err := h.Decode(buf); err != nil {
			continue // unreachable: the clear bytes decoded already
		}
		if !mcspShape {
			gr := k.fab.groups[h.DestGroup]
			if gr == nil || gr.KeySet != k.ks.ID {
				mismatch = true // the SDK skips keys whose group differs
				continue
			}
			grp = gr
		}
		gev.Trials++
		ptStart := len(m.arena)
		out, err := security.OpenMessage(m.arena[ptStart:ptStart], k.enc, buf, n, h.Source)
		if err == nil {
			key, pt = k, out
			m.arena = m.arena[:ptStart+len(out)]
			break
		}
	}
	if key == nil {
		if gev.Trials == 0 && mismatch {
			reject(ReasonNotMember)
		} else {
			gev.Reason = ReasonAuth
			m.emit(Event{Kind: EventGroupRejected, From: from, Counter: h.Counter, Err: security.ErrAuthentication, Group: gev})
		}
		return
	}
	f := key.fab
	gev.Fabric, gev.KeySet, gev.Source = f.Index, key.ks.ID, h.Source
	if !mcspShape {
		gev.Group = h.DestGroup
	}
	ph := &m.ph
	pn, err := ph.Decode(pt)
	if err != nil {
		gev.Reason = ReasonMalformed
		m.emit(Event{Kind: EventGroupRejected, From: from, Counter: h.Counter, Err: err, Group: gev})
		return
	}
	if h.Source == f.NodeID {
		reject(ReasonOwn)
		return
	}
	if mcspShape {
		m.receiveMCSP(now, from, key, h, ph, pt[pn:], gev)
		return
	}
	if !control && (ph.Flags.Reliable() || ph.Flags.Ack()) {
		// Before the counter check, as the SDK does: an R=1 group message
		// never touches counter state.
		reject(ReasonReliable)
		return
	}
	rm := rxMsg{from: from, at: now, counter: h.Counter, group: h.DestGroup, control: control,
		protocol: ph.ProtocolID, vendor: ph.VendorID, opcode: ph.Opcode, exchange: ph.ExchangeID,
		payload: pt[pn:], trials: gev.Trials, candidates: gev.Candidates}
	if control {
		// Control messages are always trust-first (spec 4.18.1.1).
		p := m.controlPeer(now, f, h.Source)
		if p == nil {
			reject(ReasonTableFull)
			return
		}
		gev.Policy = group.TrustFirst
		m.acceptGroup(now, p, key, rm, gev)
		return
	}
	policy := grp.Policy.Or(key.ks.Policy).Or(m.cfg.Group.Policy)
	gev.Policy = policy
	p := m.dataPeer(now, f, h.Source, key.ks.ID)
	if p == nil {
		reject(ReasonTableFull)
		return
	}
	if !p.win.Synced() && policy == group.CacheAndSync {
		m.cacheAndSync(now, p, key, rm, gev)
		return
	}
	m.acceptGroup(now, p, key, rm, gev)
}

// rxMsg is an authenticated group message: what delivery needs, and what a
// synchronization queue keeps (payload then owned by the queue).
type rxMsg struct {
	from       netip.AddrPort
	at         clock.Time
	counter    uint32
	group      message.GroupID
	control    bool
	protocol   message.ProtocolID
	vendor     uint16
	opcode     uint8
	exchange   uint16
	payload    []byte
	trials     int
	candidates int
}

func (r *rxMsg) event(kind EventKind, v counter.Verdict, gev GroupEvent) Event {
	gev.Group, gev.Control, gev.Trials, gev.Candidates = r.group, r.control, r.trials, r.candidates
	return Event{Kind: kind, From: r.from, Counter: r.counter, Protocol: r.protocol, Vendor: r.vendor,
		Opcode: r.opcode, Exchange: Exchange{ID: r.exchange}, Verdict: v, Payload: r.payload, Group: gev}
}

// acceptGroup runs a message through p's reception window and delivers it
// or drops it as a duplicate (spec 4.6.5-4.6.7; counter after the MIC).
func (m *Manager) acceptGroup(now clock.Time, p *peer, key *opKey, r rxMsg, gev GroupEvent) {
	v := p.win.Verify(r.counter)
	p.lastRx = now
	if !v.Accepted() {
		m.emit(r.event(EventGroupDuplicate, v, gev))
		return
	}
	p.win.Commit(r.counter)
	p.used, p.seq = now, m.grp.nextSeq()
	m.emit(r.event(EventGroupMessage, v, gev))
}

// dataPeer finds or enters the data entry of (node, key set) on f; nil if
// the table is full and the eviction rule recycles nothing.
func (m *Manager) dataPeer(now clock.Time, f *fabric, node message.NodeID, ks uint16) *peer {
	k := dataKey{node: node, keySet: ks}
	if p := f.data[k]; p != nil {
		return p
	}
	if len(f.data) >= m.cfg.Group.DataPeers && !m.evictGroupPeer(f, false) {
		return nil
	}
	seq := m.grp.nextSeq()
	p := &peer{fab: f, node: node, keySet: ks, win: m.newWindow(counter.PolicyGroup), id: seq, used: now, seq: seq}
	f.data[k] = p
	return p
}

// controlPeer finds or enters the control entry of node on f.
func (m *Manager) controlPeer(now clock.Time, f *fabric, node message.NodeID) *peer {
	if p := f.control[node]; p != nil {
		return p
	}
	if len(f.control) >= m.cfg.Group.ControlPeers && !m.evictGroupPeer(f, true) {
		return nil
	}
	seq := m.grp.nextSeq()
	p := &peer{fab: f, node: node, control: true, win: m.newWindow(counter.PolicyGroup), id: seq, used: now, seq: seq}
	f.control[node] = p
	return p
}

// evictGroupPeer recycles one entry of f's data or control table under the
// configured rule; false if none qualifies.
func (m *Manager) evictGroupPeer(f *fabric, control bool) bool {
	rule := m.cfg.Group.PeerEviction
	if rule == EvictNever {
		return false
	}
	var v *peer
	consider := func(p *peer) {
		if p.rsp != nil || p.sync != nil {
			return // an exchange in flight or messages queued
		}
		if rule == EvictSafe && (p.control || !p.cas || !p.win.Synced()) {
			return // only synchronized cache-and-sync data entries
		}
		if v == nil || p.used < v.used || (p.used == v.used && p.seq < v.seq) {
			v = p
		}
	}
	if control {
		for _, p := range f.control {
			consider(p)
		}
	} else {
		for _, p := range f.data {
			consider(p)
		}
	}
	if v == nil {
		return false
	}
	reason := ReasonEvictSafe
	if rule == EvictLRU {
		reason = ReasonEvictLRU
	}
	m.emit(Event{Kind: EventGroupPeerEvicted, Counter: v.win.Max(),
		Group: GroupEvent{Fabric: f.Index, KeySet: v.keySet, Source: v.node, Control: v.control, Reason: reason}})
	m.dropPeer(v)
	return true
}

func (m *Manager) dropPeer(p *peer) {
	if p.control {
		delete(p.fab.control, p.node)
	} else {
		delete(p.fab.data, dataKey{node: p.node, keySet: p.keySet})
	}
	p.sync, p.rsp = nil, nil
}

// groupString formats group and MCSP events for traces.
func (e Event) groupString() (string, bool) {
	if e.Kind < EventGroupMessage || e.Kind > EventMCSPRateLimited {
		return "", false
	}
	g := &e.Group
	var b strings.Builder
	b.WriteString(e.Kind.String())
	fmt.Fprintf(&b, " f%d src=%#x", g.Fabric, uint64(g.Source))
	if g.Group != 0 {
		fmt.Fprintf(&b, " group=%#x", uint16(g.Group))
	}
	if g.KeySet != 0 {
		fmt.Fprintf(&b, " ks=%d", g.KeySet)
	}
	if e.Counter != 0 || e.Kind == EventGroupMessage {
		fmt.Fprintf(&b, " ctr=%#x", e.Counter)
	}
	if g.Control {
		b.WriteString(" C")
	}
	switch e.Kind {
	case EventGroupMessage, EventGroupDuplicate:
		fmt.Fprintf(&b, " %s policy=%s trials=%d proto=%#x op=%#x len=%d", e.Verdict, g.Policy, g.Trials, uint16(e.Protocol), e.Opcode, len(e.Payload))
	case EventMCSPRequestSent:
		fmt.Fprintf(&b, " x=%d jitter=%s attempt=%d", e.Exchange.ID, g.Jitter, g.SyncAttempt)
	case EventMCSPRetransmit, EventMCSPGiveUp:
		fmt.Fprintf(&b, " x=%d attempt=%d", e.Exchange.ID, e.Attempt)
	case EventMCSPSynced:
		fmt.Fprintf(&b, " sync=%#x latency=%s rtt=%s", g.SyncCounter, g.Latency, g.RTT)
	case EventMCSPReleased:
		fmt.Fprintf(&b, " %s waited=%s", e.Verdict, g.Latency)
	case EventMCSPQueued, EventMCSPTimeout:
		fmt.Fprintf(&b, " queued=%d", g.Queued)
	case EventMCSPResponded:
		fmt.Fprintf(&b, " x=%d sync=%#x", e.Exchange.ID, g.SyncCounter)
	}
	if g.Reason != ReasonNone {
		fmt.Fprintf(&b, " reason=%s", g.Reason)
	}
	if e.From.IsValid() {
		fmt.Fprintf(&b, " from=%s", e.From)
	}
	return b.String(), true
}
