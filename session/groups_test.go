package session

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/counter"
	"mattersim/session/group"
	"mattersim/session/message"
	"mattersim/session/security"
)

// Group test fixture: one fabric, key set 0x42 with the SDK's epoch key
// 10..1f (connectedhomeip TestGroupOperationalCredentials.cpp: group
// session id 0xa512) and group 0x0101.
var (
	testCFID  = [8]byte{0x87, 0xe1, 0xb0, 0x04, 0xe2, 0x35, 0xa1, 0x30}
	testEpoch = security.Key{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
)

const (
	testFabric   = 1
	testFabricID = 0xFAB000000000001D
	testGroup    = message.GroupID(0x0101)
	testKeySet   = 0x42
	imProto      = message.ProtocolInteractionModel
)

type gnode struct {
	m    *Manager
	addr netip.AddrPort
	id   message.NodeID
}

func nodeAddr(id message.NodeID) netip.AddrPort {
	a := [16]byte{0: 0xfd, 13: byte(id >> 16), 14: byte(id >> 8), 15: byte(id)}
	return netip.AddrPortFrom(netip.AddrFrom16(a), 5540)
}

// newGroupNode is a Manager on the test fabric, member of the test group
// under key set testKeySet with policy pol. MRP jitter is 0 (constSource).
func newGroupNode(t testing.TB, cfg Config, seed uint64, id message.NodeID, pol group.Policy) *gnode {
	t.Helper()
	n := &gnode{m: newManager(t, cfg, seed, constSource(0)), addr: nodeAddr(id), id: id}
	require.NoError(t, n.m.AddFabric(Fabric{Index: testFabric, ID: testFabricID, CompressedID: testCFID, NodeID: id}))
	require.NoError(t, n.m.SetKeySet(testFabric, group.KeySet{ID: testKeySet, Policy: pol, Epochs: []group.EpochKey{{Key: testEpoch}}}))
	require.NoError(t, n.m.AddGroup(Group{Fabric: testFabric, ID: testGroup, KeySet: testKeySet}))
	drainAll(n.m)
	return n
}

func (n *gnode) send(t testing.TB, now clock.Time, payload string) uint32 {
	t.Helper()
	c, err := n.m.SendGroup(now, GroupMessage{Fabric: testFabric, Group: testGroup, Protocol: imProto, Opcode: message.OpIMInvokeRequest, Payload: []byte(payload)})
	require.NoError(t, err)
	return c
}

// split separates drained outputs into datagrams and events.
func split(out []Output) (dgs []Output, evs []Event) {
	for _, o := range out {
		if o.IsDatagram() {
			dgs = append(dgs, o)
		} else {
			evs = append(evs, o.Event)
		}
	}
	return
}

func eventsOf(evs []Event, k EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func evKinds(evs []Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Kind.String())
	}
	return s
}

// deliver hands every datagram of out to n as if it came from src and
// returns what n emitted.
func (n *gnode) deliver(now clock.Time, src netip.AddrPort, out []Output) (dgs []Output, evs []Event) {
	for _, o := range out {
		if o.IsDatagram() {
			n.m.HandleDatagram(now, src, o.Data)
			d, e := split(drainAll(n.m))
			dgs, evs = append(dgs, d...), append(evs, e...)
		}
	}
	return dgs, evs
}

// deliverAll is deliver keeping only the events.
func (n *gnode) deliverAll(now clock.Time, src netip.AddrPort, out []Output) []Event {
	_, evs := n.deliver(now, src, out)
	return evs
}

// timeout runs n's timers at now.
func (n *gnode) timeout(now clock.Time) ([]Output, []Event) {
	n.m.HandleTimeout(now)
	return split(drainAll(n.m))
}

// craft seals a group-keyed datagram as any holder of epoch could.
func craft(epoch security.Key, h message.Header, ph message.ProtocolHeader, payload []byte) []byte {
	k := security.DeriveGroupKeys(epoch, testCFID)
	h.SessionID = k.SessionID
	h.Flags |= message.SecurityFlags(message.SessionGroup)
	h.HasSource = true
	pt := append(ph.Append(nil), payload...)
	out := security.SealMessage(nil, security.NewCCM(k.Operational), &h, h.Source, pt)
	if h.Flags.Privacy() {
		if err := security.NewPrivacy(k.Privacy).Obfuscate(out); err != nil {
			panic(err)
		}
	}
	return out
}

func craftData(src message.NodeID, ctr uint32, privacy bool) []byte {
	h := message.Header{Counter: ctr, Source: src, DestKind: message.DestinationGroup, DestGroup: testGroup}
	if privacy {
		h.Flags = message.PrivacyFlag
	}
	return craft(testEpoch, h, message.ProtocolHeader{Flags: message.InitiatorFlag, Opcode: 8, ExchangeID: 7, ProtocolID: imProto}, []byte{0x15, 0x18})
}

func readGroupVectors(t *testing.T) map[string][]string {
	f, err := os.Open("group/testdata/datagrams.txt") // the session tests read the group package vectors
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.Fields(sc.Text())
		if len(l) < 3 || strings.HasPrefix(l[0], "#") {
			continue
		}
		out[l[0]+" "+l[1]] = l[2:]
	}
	require.NoError(t, sc.Err())
	return out
}

// TestSendGroupVector: SendGroup's datagram is byte for byte the one
// computed independently in group/testdata/xcheck_datagrams.py, with and without
// privacy, and goes to the group's multicast address at port 5540.
func TestSendGroupVector(t *testing.T) {
	vs := readGroupVectors(t)
	for _, tc := range []struct {
		name    string
		privacy PrivacyMode
	}{{"privacy", PrivacyDefault}, {"clear", PrivacyOff}} {
		t.Run(tc.name, func(t *testing.T) {
			var st counter.MemStore
			require.NoError(t, st.Save(counter.KeyGroupData, 0x12345678))
			n := newGroupNode(t, Config{}, 1, 0x1122334455667788, group.TrustFirst)
			require.NoError(t, n.m.AddGroup(Group{Fabric: testFabric, ID: testGroup, KeySet: testKeySet, Privacy: tc.privacy}))
			require.NoError(t, n.m.SetGroupCounterStore(&st))
			n.m.nextExch = 2
			c, err := n.m.SendGroup(0, GroupMessage{Fabric: testFabric, Group: testGroup, Protocol: imProto, Opcode: 8, Payload: []byte{0x15, 0x18}})
			require.NoError(t, err)
			require.Equal(t, uint32(0x12345678), c)
			out := drainAll(n.m)
			require.Len(t, out, 1)
			require.True(t, out[0].IsDatagram())
			require.Equal(t, netip.MustParseAddrPort("[ff35:40:fdfa:b000::1d00:101]:5540"), out[0].To)
			require.Equal(t, vs["send "+tc.name][0], hex.EncodeToString(out[0].Data))
		})
	}
	// No MRP on group messages: nothing is kept, no timer runs.
	n := newGroupNode(t, Config{}, 1, 5, group.TrustFirst)
	n.send(t, 0, "x")
	require.Equal(t, clock.Never, n.m.NextDeadline())
	var h message.Header
	d := drainAll(n.m)[0].Data
	_, err := h.Decode(d)
	require.NoError(t, err)
	require.True(t, h.Flags.Privacy())
}

func TestGroupTrustFirstReceive(t *testing.T) {
	a := newGroupNode(t, Config{}, 1, 0xa, group.TrustFirst)
	b := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
	c1 := a.send(t, 0, "one")
	out1 := drainAll(a.m)
	evs := b.deliverAll(clockAt(1), a.addr, out1)
	require.Equal(t, []string{"group-message"}, evKinds(evs))
	e := evs[0]
	require.Equal(t, counter.First, e.Verdict)
	require.Equal(t, c1, e.Counter)
	require.Equal(t, "one", string(e.Payload))
	require.Equal(t, GroupEvent{Fabric: testFabric, Group: testGroup, KeySet: testKeySet, Source: 0xa, Policy: group.TrustFirst, Trials: 1, Candidates: 1}, e.Group)
	require.Equal(t, imProto, e.Protocol)
	require.Equal(t, uint8(message.OpIMInvokeRequest), e.Opcode)

	a.send(t, 0, "two")
	evs = b.deliverAll(clockAt(2), a.addr, drainAll(a.m))
	require.Equal(t, counter.Future, evs[0].Verdict)
	// A replay is a verdict, not a delivery.
	evs = b.deliverAll(clockAt(3), a.addr, out1)
	require.Equal(t, []string{"group-duplicate"}, evKinds(evs))
	require.Equal(t, counter.Duplicate, evs[0].Verdict)
	require.Contains(t, evs[0].String(), "group-duplicate f1 src=0xa group=0x101 ks=66")

	peers := b.m.GroupPeers()
	require.Len(t, peers, 1)
	require.True(t, peers[0].Synced)
	require.Equal(t, c1+1, peers[0].Window.Max())
}

// TestGroupPrivacyBothWays: with P the counter, source and group are
// obfuscated on the wire and restored by the receiver; without P they are
// clear. Receivers take both.
func TestGroupPrivacyBothWays(t *testing.T) {
	for _, pm := range []PrivacyMode{PrivacyOn, PrivacyOff} {
		a := newGroupNode(t, Config{}, 1, 0xa, group.TrustFirst)
		b := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
		require.NoError(t, a.m.AddGroup(Group{Fabric: testFabric, ID: testGroup, KeySet: testKeySet, Privacy: pm}))
		c := a.send(t, 0, "p")
		out := drainAll(a.m)
		var h message.Header
		_, err := h.Decode(out[0].Data)
		require.NoError(t, err)
		require.Equal(t, pm == PrivacyOn, h.Flags.Privacy())
		require.Equal(t, pm == PrivacyOff, h.Counter == c && h.Source == 0xa && h.DestGroup == testGroup, "clear fields iff no privacy")
		evs := b.deliverAll(1, a.addr, out)
		require.Equal(t, []string{"group-message"}, evKinds(evs), pm)
		require.Equal(t, c, evs[0].Counter)
	}
}

// TestGroupKeyTrial: every installed key with the message's group session
// id is tried until one authenticates (spec 4.17.3.6), and the count is
// reported. The three extra epoch keys collide with 0xa512 (testdata).
func TestGroupKeyTrial(t *testing.T) {
	vs := readGroupVectors(t)
	var collide []security.Key
	for k, v := range vs {
		if strings.HasPrefix(k, "collide ") {
			require.Equal(t, "0xa512", v[0])
			b, err := hex.DecodeString(strings.TrimPrefix(k, "collide "))
			require.NoError(t, err)
			collide = append(collide, security.Key(b))
		}
	}
	slices.SortFunc(collide, func(a, b security.Key) int { return strings.Compare(string(a[:]), string(b[:])) })
	require.Len(t, collide, 3)
	b := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
	// Key set 0x42 now holds three colliding epoch keys; the sender uses the
	// real one, tried last.
	require.NoError(t, b.m.SetKeySet(testFabric, group.KeySet{ID: testKeySet, Epochs: []group.EpochKey{
		{Key: collide[0], Start: 0}, {Key: collide[1], Start: 1}, {Key: testEpoch, Start: 2}}}))
	b.m.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 100, false))
	_, evs := split(drainAll(b.m))
	require.Equal(t, []string{"group-message"}, evKinds(evs))
	require.Equal(t, 3, evs[0].Group.Trials, "clear header: every candidate is opened")
	require.Equal(t, 3, evs[0].Group.Candidates)
	// With privacy a wrong key's privacy key garbles the destination group,
	// so the group check (connectedhomeip skips keys whose group differs)
	// rejects it before the AES-CCM open: one open, three de-obfuscations.
	b.m.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 101, true))
	_, evs = split(drainAll(b.m))
	require.Equal(t, []string{"group-message"}, evKinds(evs))
	require.Equal(t, 1, evs[0].Group.Trials)
	require.Equal(t, 3, evs[0].Group.Candidates)
	// A key set that maps no group of the message's destination is not
	// opened either.
	require.NoError(t, b.m.SetKeySet(testFabric, group.KeySet{ID: 0x43, Epochs: []group.EpochKey{{Key: collide[2]}}}))
	b.m.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 102, false))
	_, evs = split(drainAll(b.m))
	require.Equal(t, 3, evs[0].Group.Trials)
	require.Equal(t, 4, evs[0].Group.Candidates)
	// Forged with a key nobody installed but the same session id: every
	// candidate fails.
	bogus := testEpoch
	bogus[0] ^= 1
	h := message.Header{Counter: 5, Source: 0xa, DestKind: message.DestinationGroup, DestGroup: testGroup}
	d := craft(bogus, h, message.ProtocolHeader{Flags: message.InitiatorFlag, ProtocolID: imProto}, nil)
	binary16(d[1:], 0xa512)
	before := b.m.GroupPeers()
	b.m.HandleDatagram(0, nodeAddr(0xa), d)
	_, evs = split(drainAll(b.m))
	require.Equal(t, []string{"group-rejected"}, evKinds(evs))
	require.Equal(t, ReasonAuth, evs[0].Group.Reason)
	require.ErrorIs(t, evs[0].Err, security.ErrAuthentication)
	require.Equal(t, before, b.m.GroupPeers(), "no state changed")
}

func binary16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

// TestGroupRejections: each kind of bad group datagram is dropped with its
// reason and leaves the peer table as it was.
func TestGroupRejections(t *testing.T) {
	b := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
	b.m.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 10, true))
	drainAll(b.m)
	before := b.m.GroupPeers()
	ip := message.ProtocolHeader{Flags: message.InitiatorFlag, ProtocolID: imProto}
	toGroup := func(g message.GroupID) message.Header {
		return message.Header{Counter: 11, Source: 0xa, DestKind: message.DestinationGroup, DestGroup: g}
	}
	other := testEpoch
	other[15] ^= 0x80
	for _, tc := range []struct {
		name string
		data []byte
		want GroupReason
	}{
		{"no key", craft(other, toGroup(testGroup), ip, nil), ReasonNoKey},
		{"not a member", craft(testEpoch, toGroup(0x0202), ip, nil), ReasonNotMember},
		{"reliable", craft(testEpoch, toGroup(testGroup), message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag, ProtocolID: imProto}, nil), ReasonReliable},
		{"ack", craft(testEpoch, toGroup(testGroup), message.ProtocolHeader{Flags: message.AckFlag, AckCounter: 1, ProtocolID: imProto}, nil), ReasonReliable},
		{"own", craft(testEpoch, message.Header{Counter: 11, Source: 0xb, DestKind: message.DestinationGroup, DestGroup: testGroup}, ip, nil), ReasonOwn},
		{"unicast-addressed data", craft(testEpoch, message.Header{Counter: 11, Source: 0xa, DestKind: message.DestinationNode, DestNode: 0xb}, ip, nil), ReasonShape},
		{"no source", func() []byte {
			d := craft(testEpoch, toGroup(testGroup), ip, nil)
			return append([]byte{0x02}, append(d[1:4:4], d[12:]...)...) // drop S and the source field
		}(), ReasonShape},
		{"unhandled control", craft(testEpoch, message.Header{Flags: message.ControlFlag, Counter: 11, Source: 0xa, DestKind: message.DestinationNode, DestNode: 0xb}, ip, nil), ReasonUnhandled},
		{"truncated protocol header", craft(testEpoch, toGroup(testGroup), message.ProtocolHeader{}, nil)[:0], ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) == 0 {
				return
			}
			b.m.HandleDatagram(0, nodeAddr(0xa), tc.data)
			_, evs := split(drainAll(b.m))
			require.NotEmpty(t, evs)
			last := evs[len(evs)-1]
			require.Equal(t, EventGroupRejected, last.Kind, "%v", evKinds(evs))
			require.Equal(t, tc.want, last.Group.Reason)
			require.Equal(t, before, b.m.GroupPeers())
		})
	}
	// A node with no fabric does no group messaging.
	p := newManager(t, Config{}, 3, pcg())
	p.HandleDatagram(0, nodeAddr(0xa), craftData(0xa, 10, true))
	require.Equal(t, []string{"unsupported"}, kinds(drainAll(p)))
}

// TestGroupReplayConnectedhomeip72535 repeats connectedhomeip issue #72535
// end to end: a sender sends N-5..N, the adversary captures them, a
// receiver that has just joined first hears N, then the adversary replays
// N-3. With the spec's initialisation (the default) the replay is a
// duplicate; with the SDK's it is accepted once; under cache-and-sync the
// replay after a receiver reboot starts a synchronization and is then
// rejected by the synchronized window.
func TestGroupReplayConnectedhomeip72535(t *testing.T) {
	for _, tc := range []struct {
		name   string
		init   counter.Init
		replay EventKind
	}{
		{"spec", counter.InitDefault, EventGroupDuplicate},
		{"sdk", counter.InitSDK, EventGroupMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newGroupNode(t, Config{}, 1, 0xa, group.TrustFirst)
			b := newGroupNode(t, Config{Group: GroupConfig{WindowInit: tc.init}}, 2, 0xb, group.TrustFirst)
			var captured [][]byte
			for i := range 6 {
				a.send(t, clockAt(i), "m")
				out := drainAll(a.m)
				captured = append(captured, out[0].Data)
			}
			evs := b.deliverAll(clockAt(10), a.addr, []Output{{Data: captured[5]}})
			require.Equal(t, counter.First, evs[0].Verdict)
			evs = b.deliverAll(clockAt(11), a.addr, []Output{{Data: captured[2]}})
			require.Equal(t, tc.replay, evs[0].Kind)
		})
	}
	t.Run("cache-and-sync", func(t *testing.T) {
		// The sender's counter moves 40 past the capture: more than the
		// window below the synchronization point.
		a := newGroupNode(t, Config{}, 1, 0xa, group.CacheAndSync)
		var captured [][]byte
		for i := range 40 {
			a.send(t, clockAt(i), "m")
			captured = append(captured, drainAll(a.m)[0].Data)
		}
		// The receiver (just rebooted) first hears an old captured message.
		b := newGroupNode(t, Config{Group: GroupConfig{SyncReqJitter: -1}}, 2, 0xb, group.CacheAndSync)
		b.m.HandleDatagram(clockAt(10), a.addr, captured[0])
		req, evs := split(drainAll(b.m))
		require.Equal(t, []string{"mcsp-triggered", "mcsp-queued", "mcsp-request-sent"}, evKinds(evs))
		rsp, evs := a.deliver(clockAt(11), b.addr, req)
		require.Equal(t, []string{"mcsp-responded"}, evKinds(evs))
		_, evs = b.deliver(clockAt(12), a.addr, rsp)
		require.Equal(t, []string{"mcsp-synced", "mcsp-released"}, evKinds(evs), "the replay is not delivered")
		require.Equal(t, ReasonWindow, evs[1].Group.Reason)
		require.Equal(t, counter.BehindWindow, evs[1].Verdict)
		// Captures older than the window stay out; the 32 just below the
		// synchronization point are open once (GroupConfig.SyncInit sdk, the
		// default; SyncInit spec closes them, TestSyncInitClosed).
		accepted := 0
		for _, d := range captured[1:] {
			_, evs = b.deliver(clockAt(13), a.addr, []Output{{Data: d}})
			if evs[0].Kind == EventGroupMessage {
				accepted++
			} else {
				require.Equal(t, EventGroupDuplicate, evs[0].Kind)
			}
		}
		require.Equal(t, DefaultWindowSize, accepted)
	})
}
