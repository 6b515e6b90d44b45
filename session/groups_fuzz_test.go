package session

import (
	"slices"
	"testing"

	"mattersim/session/group"
	"mattersim/session/mcsp"
	"mattersim/session/message"
)

// FuzzGroupDatagram feeds arbitrary group-session datagrams to a member
// with a trust-first and a cache-and-sync key set. It must never panic;
// input that does not authenticate changes no peer state; and no datagram
// is ever delivered twice (the second delivery of the same bytes is never
// a group-message).
func FuzzGroupDatagram(f *testing.F) {
	h := func(flags message.SecurityFlags, ctr uint32, dk message.DestinationKind) message.Header {
		return message.Header{Flags: flags, Counter: ctr, Source: 0xa, DestKind: dk, DestGroup: testGroup, DestNode: 0xb}
	}
	ip := message.ProtocolHeader{Flags: message.InitiatorFlag, Opcode: 8, ExchangeID: 3, ProtocolID: imProto}
	f.Add(craftData(0xa, 5, true))
	f.Add(craftData(0xa, 5, false))
	f.Add(craft(testEpoch2, h(message.PrivacyFlag, 9, message.DestinationGroup), ip, []byte{0x15, 0x18}))
	f.Add(craft(testEpoch, h(message.PrivacyFlag|message.ControlFlag, 1, message.DestinationNode),
		message.ProtocolHeader{Flags: message.InitiatorFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncReq, ExchangeID: 4},
		mcsp.Request{Challenge: mcsp.Challenge{1, 2, 3}}.Append(nil)))
	f.Add(craft(testEpoch, h(message.PrivacyFlag|message.ControlFlag, 2, message.DestinationNode),
		message.ProtocolHeader{Flags: message.AckFlag | message.ReliableFlag, Opcode: message.OpMsgCounterSyncRsp, ExchangeID: 4, AckCounter: 1},
		mcsp.Response{Counter: 77}.Append(nil)))
	f.Add([]byte{0x06, 0x12, 0xa5, 0x81, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := newGroupNode(t, Config{}, 2, 0xb, group.TrustFirst)
		if err := n.m.SetKeySet(testFabric, group.KeySet{ID: 0x43, Policy: group.CacheAndSync, Epochs: []group.EpochKey{{Key: testEpoch2}}}); err != nil {
			t.Fatal(err)
		}
		if err := n.m.AddGroup(Group{Fabric: testFabric, ID: testGroup, KeySet: 0x43}); err != nil {
			t.Fatal(err)
		}
		if err := n.m.AddGroup(Group{Fabric: testFabric, ID: 0x0202, KeySet: testKeySet}); err != nil {
			t.Fatal(err)
		}
		before := n.m.GroupPeers()
		in := slices.Clone(b)
		n.m.HandleDatagram(0, nodeAddr(0xa), b)
		if !slices.Equal(in, b) {
			t.Fatal("HandleDatagram modified its input")
		}
		_, evs := split(drainAll(n.m))
		authentic := false
		for _, e := range evs {
			switch e.Kind {
			case EventGroupRejected, EventMICFailure, EventMalformed, EventUnsupported:
			default:
				authentic = true
			}
		}
		if !authentic && !slices.EqualFunc(before, n.m.GroupPeers(), func(a, b GroupPeer) bool { return a == b }) {
			t.Fatalf("unauthenticated input changed peer state: %v", evKinds(evs))
		}
		n.m.HandleDatagram(1, nodeAddr(0xa), b)
		_, evs = split(drainAll(n.m))
		if len(eventsOf(evs, EventGroupMessage)) > 0 {
			t.Fatalf("delivered twice: %v", evKinds(evs))
		}
		for n.m.NextDeadline() < clockAt(5000) {
			n.m.HandleTimeout(n.m.NextDeadline())
			drainAll(n.m)
		}
	})
}
