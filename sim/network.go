package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"mattersim/clock"
	"mattersim/sim/fault"
)

// DefaultLatency is the per-hop delay of the switch when NetConfig.Latency
// is zero.
const DefaultLatency = time.Millisecond

// DefaultMTU is the MTU of every simulated link: the IPv6 minimum, which is
// also the largest Matter message (spec 4.4.4, IPv6 MTU 1280).
const DefaultMTU = 1280

// MatterPort is the Matter operational UDP port (spec 4.3.1.1, 5540).
const MatterPort = 5540

// Address plan. Node i (0-based) has interface identifier i+1 in both
// prefixes, so the switch routes by arithmetic instead of a table.
var (
	// ULAPrefix is the /64 unique-local prefix of every node's main address.
	ULAPrefix = netip.MustParsePrefix("fd00:6d73:696d::/64")
	// LinkLocalPrefix is the /64 of every node's link-local address.
	LinkLocalPrefix = netip.MustParsePrefix("fe80::/64")
)

// NetConfig configures a Network. The zero value is valid: 1 ms per hop,
// MTU 1280, a gVisor stack per node.
type NetConfig struct {
	// Latency is the base delay of every hop through the switch. Zero means
	// DefaultLatency; a negative value means none (delivery is still an
	// event, at the same instant, after the events already queued).
	Latency time.Duration
	// Mode says what the nodes' stacks are: ModeNetstack (the zero value)
	// or ModeDirect.
	Mode Mode
}

// NetStats counts frames at the switch. A plain value.
type NetStats struct {
	Sent      uint64 // frames handed to the switch by stacks
	Injected  uint64 // frames handed to the switch by Inject
	Delivered uint64 // frame copies delivered to a node (its stack may still discard a corrupted one)
	// Dropped: frame copies dropped by the switch (partition, fault stage,
	// no route, receiver powered off): DropStats less DropCorrupt.
	Dropped uint64
	// Refused: datagrams a ModeDirect node refused to send (ErrTooLarge);
	// they never became frames. Always 0 in ModeNetstack.
	Refused uint64
}

// Network is a set of nodes, each a gVisor IPv6/UDP stack (ModeNetstack) or
// a direct host (ModeDirect), joined by one L3 switch. The switch routes on
// the IPv6 destination address, fans multicast out to the members it knows
// (MLD is off, so membership is modelled here),
// applies partitions and each directed link's fault stage, and queues every
// delivery as an event on the engine.
//
// The zero value is not usable; call NewNetwork. Not safe for concurrent
// use: it runs on the engine's goroutine.
type Network struct {
	e       *Engine
	latency time.Duration
	mode    Mode
	nodes   []*Node
	tables  *stack.IPTables // one shared, never-modified table: its rules cost memory per stack otherwise
	frameID uint64

	groups map[[16]byte]*group // lookup only; never iterated

	links       map[uint64]*link // per directed link; lookup only
	rules       []linkRule       // wildcard settings, oldest first
	stamp       uint64           // orders link settings
	parts       []*Partition     // active partitions, in activation order
	taps        []func(now clock.Time, p Packet)
	pcap        *Pcap
	outs        []Out
	ready       []*Socket
	inDeliver   bool // inside a stack's receive path
	drainQueued bool // an evDrain is pending
	rbuf        appendWriter
	stats       NetStats
	partitionNo int

	delivTaps  []func(now clock.Time, p Packet)
	injected   bool // the frame being delivered was injected (Socket.Injected)
	injDeliv   uint64
	injDropped uint64

	obs   []NetObserver
	drops DropCounts

	port *Node // the external port (AddPort), or nil
}

type group struct {
	members []int32 // sorted node indexes
}

type link struct {
	stage Stage
	rng   *rand.Rand
	stamp uint64 // when stage was set
}

type linkRule struct {
	from, to int // < 0: any
	spec     fault.Spec
	stamp    uint64
}

func linkKey(from, to int) uint64 { return uint64(uint32(from))<<32 | uint64(uint32(to)) }

// NewNetwork attaches a network to e. An engine has at most one network.
func NewNetwork(e *Engine, cfg NetConfig) (*Network, error) {
	if e.net != nil {
		return nil, errors.New("sim: engine already has a network")
	}
	if cfg.Mode != ModeNetstack && cfg.Mode != ModeDirect {
		return nil, fmt.Errorf("sim: unknown network mode %d", cfg.Mode)
	}
	lat := cfg.Latency
	switch {
	case lat == 0:
		lat = DefaultLatency
	case lat < 0:
		lat = 0
	}
	n := &Network{
		e:       e,
		latency: lat,
		mode:    cfg.Mode,
		groups:  make(map[[16]byte]*group),
		links:   make(map[uint64]*link),
	}
	e.net = n
	return n, nil
}

// Mode returns the network's mode.
func (n *Network) Mode() Mode { return n.mode }

// Engine returns the engine the network runs on.
func (n *Network) Engine() *Engine { return n.e }

// Nodes returns the nodes in index order. The slice is the network's own;
// do not modify it.
func (n *Network) Nodes() []*Node { return n.nodes }

// Node returns node i.
func (n *Network) Node(i int) *Node { return n.nodes[i] }

// Len returns the number of nodes.
func (n *Network) Len() int { return len(n.nodes) }

// Stats returns the switch counters.
func (n *Network) Stats() NetStats { return n.stats }

// SetPcap captures every frame entering the switch (sent or injected) into
// p; nil stops capturing.
func (n *Network) SetPcap(p *Pcap) { n.pcap = p }

// OnFrame adds a tap called for every frame entering the switch, before
// partitions and faults, with To < 0 for multicast. p.Data belongs to the
// switch: a tap may keep it but must not modify it (copy first). Taps must
// not run the engine; they may call Inject.
func (n *Network) OnFrame(f func(now clock.Time, p Packet)) { n.taps = append(n.taps, f) }

// OnDeliver adds a tap called for every frame copy the switch delivers to a
// node, after partitions and fault stages, just before the node's stack
// receives it: an observer on the receiver's link, which sees only frames
// that arrived. p.Data belongs to the switch: a tap may keep it but must not
// modify it. Taps must not run the engine; they may call Inject.
func (n *Network) OnDeliver(f func(now clock.Time, p Packet)) {
	n.delivTaps = append(n.delivTaps, f)
}

// InjectedStats returns how many frame copies marked injected the switch
// delivered to a node and how many it dropped (partition, fault stage, no
// route). Frames still in flight are in neither count.
func (n *Network) InjectedStats() (delivered, dropped uint64) {
	return n.injDeliv, n.injDropped
}

// Addr returns the ULA address of node i.
func Addr(i int) netip.Addr { return nodeAddr(ULAPrefix, i) }

// LinkLocalAddr returns the link-local address of node i.
func LinkLocalAddr(i int) netip.Addr { return nodeAddr(LinkLocalPrefix, i) }

func nodeAddr(p netip.Prefix, i int) netip.Addr {
	a := p.Addr().As16()
	binary.BigEndian.PutUint64(a[8:], uint64(i)+1)
	return netip.AddrFrom16(a)
}

// nodeIndex returns the node owning unicast address a, or -1.
func (n *Network) nodeIndex(a []byte) int {
	var pfx [8]byte
	copy(pfx[:], a[:8])
	if pfx != ulaHigh && pfx != llHigh {
		return -1
	}
	iid := binary.BigEndian.Uint64(a[8:16])
	if iid == 0 || iid > uint64(len(n.nodes)) {
		return -1
	}
	return int(iid - 1)
}

var (
	ulaHigh = [8]byte(ULAPrefix.Addr().AsSlice()[:8])
	llHigh  = [8]byte(LinkLocalPrefix.Addr().AsSlice()[:8])
)

// AddNode creates the next node. In ModeNetstack it is a gVisor stack with
// IPv6 and UDP, one NIC on a link to the switch, its link-local and ULA
// addresses, and a ::/0 on-link route (newNetstackHost); in ModeDirect it
// has the same addresses and no stack (directHost).
func (n *Network) AddNode() (*Node, error) {
	nd := &Node{net: n, index: len(n.nodes)}
	if n.mode == ModeDirect {
		nd.host = &directHost{node: nd}
	} else {
		h, err := n.newNetstackHost(nd)
		if err != nil {
			return nil, err
		}
		nd.host = h
	}
	n.nodes = append(n.nodes, nd)
	return nd, nil
}

// AddNodes creates k nodes; see AddNode.
func (n *Network) AddNodes(k int) error {
	for range k {
		if _, err := n.AddNode(); err != nil {
			return err
		}
	}
	return nil
}

// SetLink sets the fault stage of the directed link from → to (nil: a clean
// link), replacing whatever an earlier SetLink or SetLinkSpec gave it. Both
// indexes must be nodes (>= 0); a stage keeps per-link state, so give each
// link its own value. The link's randomness is the stream
// (from, "link/<to>"), so its draws do not depend on traffic elsewhere.
func (n *Network) SetLink(from, to int, s Stage) {
	if from < 0 || to < 0 {
		panic("sim: SetLink needs two node indexes; use SetLinkSpec for wildcards")
	}
	n.stamp++
	l := n.linkFor(from, to)
	l.stage, l.stamp = s, n.stamp
}

// SetLinkSpec gives the directed link from → to a fresh stage built by
// spec.New (nil spec: a clean link). from or to < 0 means every node on that
// side (fault.Change): each matching link gets its own stage, built when
// the link first carries a frame. The latest SetLink/SetLinkSpec matching a
// link wins.
func (n *Network) SetLinkSpec(from, to int, spec fault.Spec) {
	if from >= 0 && to >= 0 {
		var st Stage
		if spec != nil {
			st = spec.New()
		}
		n.SetLink(from, to, st)
		return
	}
	n.stamp++
	if from < 0 && to < 0 {
		n.rules = n.rules[:0] // superseded: every link matches the new rule
	}
	n.rules = append(n.rules, linkRule{from: from, to: to, spec: spec, stamp: n.stamp})
}

// Link returns the stage currently in force on from → to, or nil.
func (n *Network) Link(from, to int) Stage {
	if l := n.resolve(from, to); l != nil {
		return l.stage
	}
	return nil
}

// ScheduleLink sets the stage of from → to at virtual instant at. The change
// is an event: frames entering the switch at the same instant see it if they
// are queued after it (house style 3, insertion order).
func (n *Network) ScheduleLink(at clock.Time, from, to int, s Stage) {
	n.e.At(at, func(clock.Time) { n.SetLink(from, to, s) })
}

// ApplySchedule queues each change to happen at its exact instant (see
// SetLinkSpec and ScheduleLink); changes at the same instant apply in slice
// order.
func (n *Network) ApplySchedule(changes []fault.Change) {
	for _, c := range changes {
		n.e.At(c.At, func(clock.Time) { n.SetLinkSpec(c.From, c.To, c.Spec) })
	}
}

// Schedule runs change(n) at virtual instant at; see ScheduleLink for
// same-instant ordering.
func (n *Network) Schedule(at clock.Time, change func(n *Network)) {
	n.e.At(at, func(clock.Time) { change(n) })
}

func (n *Network) linkFor(from, to int) *link {
	k := linkKey(from, to)
	l := n.links[k]
	if l == nil {
		l = &link{rng: n.e.seeds.Stream(from, "link/"+strconv.Itoa(to))}
		n.links[k] = l
	}
	return l
}

// resolve returns the link from → to with the newest matching setting
// applied, or nil for a link nothing was ever set on.
func (n *Network) resolve(from, to int) *link {
	l := n.links[linkKey(from, to)]
	for i := len(n.rules) - 1; i >= 0; i-- {
		r := &n.rules[i]
		if (r.from >= 0 && r.from != from) || (r.to >= 0 && r.to != to) {
			continue
		}
		if l != nil && l.stamp >= r.stamp {
			break
		}
		if l == nil {
			l = n.linkFor(from, to)
		}
		l.stage, l.stamp = nil, r.stamp
		if r.spec != nil {
			l.stage = r.spec.New()
		}
		break
	}
	return l
}

// Partition cuts the network between node sets: a frame from a node in one
// side to a node in another side is dropped with reason "partition". Nodes in
// no side are unaffected. A partition takes effect when activated (Partition
// activates at once) and applies to frames entering the switch; frames
// already in flight are delivered. The zero value is not usable; call
// Network.NewPartition or Network.Partition. Not safe for concurrent use.
type Partition struct {
	n      *Network
	name   string
	side   []int8 // per node index: side number, or -1
	active bool
}

// NewPartition returns an inactive partition of the given sides (at most
// 127). Indexes out of range are ignored; a node listed twice keeps its last
// side.
func (n *Network) NewPartition(sides ...[]int) *Partition {
	n.partitionNo++
	p := &Partition{n: n, name: "p" + strconv.Itoa(n.partitionNo), side: make([]int8, len(n.nodes))}
	for i := range p.side {
		p.side[i] = -1
	}
	for s, nodes := range sides {
		if s > 127 {
			break
		}
		for _, i := range nodes {
			if i >= 0 && i < len(p.side) {
				p.side[i] = int8(s)
			}
		}
	}
	return p
}

// Partition creates and activates a partition now.
func (n *Network) Partition(sides ...[]int) *Partition {
	p := n.NewPartition(sides...)
	p.Activate()
	return p
}

// Name returns the partition's name in traces ("p1", "p2", ...).
func (p *Partition) Name() string { return p.name }

// Active reports whether the partition is in force.
func (p *Partition) Active() bool { return p.active }

// Activate puts the partition in force now.
func (p *Partition) Activate() {
	if !p.active {
		p.active = true
		p.n.parts = append(p.n.parts, p)
	}
}

// Heal lifts the partition now.
func (p *Partition) Heal() {
	if p.active {
		p.active = false
		p.n.parts = slices.DeleteFunc(p.n.parts, func(q *Partition) bool { return q == p })
	}
}

// ActivateAt schedules Activate at virtual instant at.
func (p *Partition) ActivateAt(at clock.Time) { p.n.e.At(at, func(clock.Time) { p.Activate() }) }

// HealAt schedules Heal at virtual instant at.
func (p *Partition) HealAt(at clock.Time) { p.n.e.At(at, func(clock.Time) { p.Heal() }) }

func (p *Partition) cuts(from, to int) (int8, int8, bool) {
	if from < 0 || to < 0 || from >= len(p.side) || to >= len(p.side) {
		return 0, 0, false
	}
	a, b := p.side[from], p.side[to]
	return a, b, a >= 0 && b >= 0 && a != b
}

// Inject queues p to enter the switch at virtual instant at (now if in the
// past), marked Injected: an adversary's or test's forged frame. It is
// captured, traced and tapped like any frame. If p.To >= 0 and p.Multicast
// is false the frame goes to node p.To whatever its destination address;
// otherwise it is routed on its destination address. Partitions and link
// stages apply when p.From is a node (p.From >= 0). p.ID is assigned by the
// switch. The switch keeps p.Data; do not modify it afterwards.
func (n *Network) Inject(at clock.Time, p Packet) {
	if now := n.e.Now(); at < now {
		at = now
	}
	to := int32(-1)
	if p.To >= 0 && !p.Multicast {
		to = int32(p.To)
	}
	n.e.push(event{at: at, kind: evInject, data: p.Data, from: int32(p.From), to: to, flags: flagInjected})
}

func (n *Network) inject(ev *event) {
	n.stats.Injected++
	n.ingress(int(ev.from), int(ev.to), ev.data, true)
}

// send is called by a node's link endpoint, synchronously inside the stack's
// write path, with a frame the switch now owns.
func (n *Network) send(from int, data []byte) {
	n.stats.Sent++
	n.ingress(from, -1, data, false)
}

// ingress handles a frame entering the switch from port from (-1: an outside
// injector). forceTo >= 0 bypasses address routing.
func (n *Network) ingress(from, forceTo int, data []byte, injected bool) {
	n.frameID++
	id := n.frameID
	now := n.e.Now()
	if n.pcap != nil {
		n.pcap.WritePacket(now, data)
	}
	if len(data) < header.IPv6MinimumSize || header.IPVersion(data) != header.IPv6Version {
		if tr := n.e.trace; tr != nil {
			tr.send(now, id, from, forceTo, data, injected)
			tr.drop(now, id, from, forceTo, "switch", "not an IPv6 packet", injected)
		}
		p := Packet{Data: data, From: from, To: forceTo, Injected: injected, ID: id}
		for _, o := range n.obs {
			o.FrameIn(now, p)
		}
		n.dropped(now, p, DropNoRoute)
		return
	}
	dst := data[24:40]
	multicast := dst[0] == 0xff && forceTo < 0
	to := forceTo
	if !multicast && to < 0 {
		to = n.nodeIndex(dst)
		if to < 0 || (n.port != nil && to >= n.port.index) {
			to = n.portRoute(from) // an address of the real side
		}
	}
	shownTo := to
	if multicast {
		shownTo = -1
	}
	p := Packet{Data: data, From: from, To: shownTo, Multicast: multicast, Injected: injected, ID: id}
	if tr := n.e.trace; tr != nil {
		tr.send(now, id, from, shownTo, data, injected)
	}
	for _, tap := range n.taps {
		tap(now, p)
	}
	for _, o := range n.obs {
		o.FrameIn(now, p)
	}
	if multicast {
		g := n.groups[[16]byte(dst)]
		if pt := n.portRoute(from); pt >= 0 {
			p.To = pt // the real link hears every multicast frame
			n.forward(now, p)
		}
		if g == nil {
			return // no member: nothing to deliver, nothing lost
		}
		for _, m := range g.members {
			if int(m) == from {
				continue // the sender's own stack loops multicast back locally
			}
			p.To = int(m)
			n.forward(now, p)
		}
		return
	}
	if to < 0 || to >= len(n.nodes) {
		if tr := n.e.trace; tr != nil {
			tr.drop(now, id, from, -1, "switch", "no route", injected)
		}
		n.dropped(now, p, DropNoRoute)
		return
	}
	n.forward(now, p)
}

// forward applies partitions and the link's stage to p (p.To is a node) and
// queues the resulting deliveries.
func (n *Network) forward(now clock.Time, p Packet) {
	for _, part := range n.parts {
		if a, b, cut := part.cuts(p.From, p.To); cut {
			if tr := n.e.trace; tr != nil {
				tr.drop(now, p.ID, p.From, p.To, "partition",
					part.name+" side "+strconv.Itoa(int(a))+"->"+strconv.Itoa(int(b)), p.Injected)
			}
			n.dropped(now, p, DropPartition)
			return
		}
	}
	var st Stage
	var l *link
	if p.From >= 0 && (len(n.rules) > 0 || len(n.links) > 0) {
		if l = n.resolve(p.From, p.To); l != nil {
			st = l.stage
		}
	}
	if st == nil {
		n.queue(now, n.latency, p)
		return
	}
	outs, d := st.Apply(now, p, l.rng, n.outs[:0])
	n.outs = outs[:0]
	if len(outs) == 0 {
		by, why := dropBy(d)
		if by == "" {
			by = st.String()
		}
		if tr := n.e.trace; tr != nil {
			tr.drop(now, p.ID, p.From, p.To, by, why, p.Injected)
		}
		n.dropped(now, p, stageCause(d.Reason))
		return
	}
	if len(outs) > 1 {
		for _, o := range n.obs {
			o.Duplicated(now, p, len(outs)-1)
		}
	}
	for i := range outs {
		q := outs[i].P
		// A stage may not redirect a frame to another node or port.
		q.From, q.To, q.ID, q.Injected, q.Multicast = p.From, p.To, p.ID, p.Injected, p.Multicast
		n.queue(now, n.latency+max(outs[i].Delay, 0), q)
		outs[i] = Out{}
	}
}

// dropped counts a copy the switch dropped for cause c.
func (n *Network) dropped(now clock.Time, p Packet, c DropCause) {
	n.stats.Dropped++
	n.drops[c]++
	if p.Injected {
		n.injDropped++
	}
	for _, o := range n.obs {
		o.Dropped(now, p, c)
	}
}

func (n *Network) queue(now clock.Time, d time.Duration, p Packet) {
	var fl uint8
	if p.Multicast {
		fl |= flagMulticast
	}
	if p.Injected {
		fl |= flagInjected
	}
	if p.Corrupted {
		fl |= flagCorrupted
	}
	for _, o := range n.obs {
		o.Queued(now, p)
	}
	n.e.push(event{at: now.Add(d), kind: evDeliver, data: p.Data, gen: p.ID,
		from: int32(p.From), to: int32(p.To), flags: fl})
}

// deliver hands a frame to its destination host, then lets the sockets that
// became readable read, outside the stack's receive path.
func (n *Network) deliver(ev *event) {
	nd := n.nodes[ev.to]
	injected := ev.flags&flagInjected != 0
	if nd.down {
		if tr := n.e.trace; tr != nil {
			tr.drop(ev.at, ev.gen, int(ev.from), int(ev.to), "node", "powered off", injected)
		}
		n.dropped(ev.at, n.evPacket(ev), DropDown)
		return
	}
	n.stats.Delivered++
	if injected {
		n.injDeliv++
	}
	if tr := n.e.trace; tr != nil {
		tr.deliver(ev.at, ev.gen, int(ev.from), int(ev.to), len(ev.data), injected)
	}
	if len(n.delivTaps) > 0 {
		p := n.evPacket(ev)
		for _, tap := range n.delivTaps {
			tap(ev.at, p)
		}
	}
	ready := len(n.ready)
	n.inDeliver = true
	nd.host.receive(ev.data)
	n.inDeliver = false
	if len(n.obs) > 0 || ev.flags&flagCorrupted != 0 {
		p := n.evPacket(ev)
		// A corrupted copy that made no socket readable was discarded by
		// the stack (checksum or header): lost to corruption.
		if ev.flags&flagCorrupted != 0 && len(n.ready) == ready {
			n.drops[DropCorrupt]++
			for _, o := range n.obs {
				o.Dropped(ev.at, p, DropCorrupt)
			}
		} else {
			for _, o := range n.obs {
				o.Delivered(ev.at, p)
			}
		}
	}
	n.injected = injected
	n.drainReady()
	n.injected = false
}

// evPacket rebuilds the Packet of a delivery event.
func (n *Network) evPacket(ev *event) Packet {
	return Packet{Data: ev.data, From: int(ev.from), To: int(ev.to),
		Multicast: ev.flags&flagMulticast != 0, Injected: ev.flags&flagInjected != 0,
		Corrupted: ev.flags&flagCorrupted != 0, ID: ev.gen}
}

// markReady queues a socket that became readable. Inside a delivery the
// socket is read when DeliverNetworkPacket returns; otherwise (a stack
// looping its own multicast back inside Send) a drain event is queued at
// now, so handlers never run re-entrantly inside a send.
func (n *Network) markReady(s *Socket) {
	n.ready = append(n.ready, s)
	if !n.inDeliver && !n.drainQueued {
		n.drainQueued = true
		n.e.push(event{at: n.e.Now(), kind: evDrain})
	}
}

func (n *Network) drainReady() {
	n.drainQueued = false
	for i := 0; i < len(n.ready); i++ {
		s := n.ready[i]
		n.ready[i] = nil
		s.queued = false
		s.drain()
	}
	n.ready = n.ready[:0]
}

func (n *Network) join(g [16]byte, i int) {
	gr := n.groups[g]
	if gr == nil {
		gr = &group{}
		n.groups[g] = gr
	}
	pos, found := slices.BinarySearch(gr.members, int32(i))
	if !found {
		gr.members = slices.Insert(gr.members, pos, int32(i))
	}
}

func (n *Network) leave(g [16]byte, i int) {
	gr := n.groups[g]
	if gr == nil {
		return
	}
	if pos, found := slices.BinarySearch(gr.members, int32(i)); found {
		gr.members = slices.Delete(gr.members, pos, pos+1)
	}
}

// Members returns the nodes that joined group g, in index order.
func (n *Network) Members(g netip.Addr) []int {
	gr := n.groups[g.As16()]
	if gr == nil {
		return nil
	}
	out := make([]int, len(gr.members))
	for i, m := range gr.members {
		out[i] = int(m)
	}
	return out
}

// pcgReader is a deterministic io.Reader for a stack's SecureRNG, 16 bytes
// of state (a nil SecureRNG makes the stack fall back to crypto/rand,
// which would break determinism).
type pcgReader struct{ p rand.PCG }

func (r *pcgReader) Read(b []byte) (int, error) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.p.Uint64())
		copy(b[i:], w[:])
	}
	return len(b), nil
}

// appendWriter collects a datagram read from a socket into a reused buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
