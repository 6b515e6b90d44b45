// Package group holds the pure parts of Matter group communication: group
// key sets and the operational keys derived from their epoch keys (spec
// 4.17 Group Key Management, 4.15 in Matter 1.0), the receive policies of a
// key set (spec 4.18.1, GroupKeySecurityPolicy), and the IPv6 multicast
// address of a group (spec 11.2.6.2 GroupKeyMulticastPolicy PerGroupID;
// connectedhomeip src/transport/raw/PeerAddress.h PeerAddress::Multicast).
//
// The Manager in package session provisions key sets, maps groups to them,
// sends and receives group messages and runs message counter
// synchronization; this package only computes.
//
// Section numbers follow the Matter 1.4 Core Specification; Matter 1.0
// numbers Group Key Management 4.15 and MCSP 4.16.
package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"mattersim/clock"
	"mattersim/session/message"
	"mattersim/session/security"
)

// Port is the UDP port group messages are sent to (the default Matter port,
// connectedhomeip CHIP_PORT).
const Port = 5540

// MaxEpochKeys is the most epoch keys a key set holds (spec 4.17.3.2: "at
// least 1 and at most 3 epoch keys in rotation"; connectedhomeip
// GroupDataProvider KeySet::kEpochKeysMax).
const MaxEpochKeys = 3

// IPKKeySetID is key set 0, the Identity Protection Key used by CASE; it is
// never used for group messages (spec 4.17.3.5).
const IPKKeySetID = 0

// Group id ranges (spec table "Group ID Allocations";
// connectedhomeip src/lib/core/GroupId.h).
const (
	NullGroupID         message.GroupID = 0x0000
	MinUniversalGroupID message.GroupID = 0xFF00
	AllNodesGroupID     message.GroupID = 0xFFFF
)

// Policy is a key set's group key security policy: how a receiver learns a
// sender's message counter (spec 4.18.1).
type Policy uint8

// Policies.
const (
	// PolicyDefault is the zero value: the node's default policy.
	PolicyDefault Policy = iota
	// TrustFirst: the first authenticated message from an unsynchronized
	// sender sets its counter (spec 4.18.1.1). Every control message uses
	// it whatever the key set says.
	TrustFirst
	// CacheAndSync: the first message from an unsynchronized sender is
	// queued and message counter synchronization (MCSP) runs first (spec
	// 4.18.1.2).
	CacheAndSync
)

var policyNames = [...]string{PolicyDefault: "default", TrustFirst: "trust-first", CacheAndSync: "cache-and-sync"}

// String returns "default", "trust-first", "cache-and-sync" or "policy(N)".
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy maps a String form ("" is PolicyDefault) back to a Policy.
func ParsePolicy(s string) (Policy, bool) {
	if s == "" {
		return PolicyDefault, true
	}
	for i, n := range policyNames {
		if n == s {
			return Policy(i), true
		}
	}
	return 0, false
}

// Or returns p, or def when p is PolicyDefault.
func (p Policy) Or(def Policy) Policy {
	if p == PolicyDefault {
		return def
	}
	return p
}

// EpochKey is one epoch key of a key set with its start time. The spec
// counts start times in microseconds since the Matter epoch; mattersim's
// nodes have no calendar, so Start is an instant of the simulation clock:
// a key becomes current for sending once the clock reaches it.
type EpochKey struct {
	Key   security.Key
	Start clock.Time
}

// KeySet is a group key set (spec 4.17.3; Group Key Management cluster
// GroupKeySetStruct): an id, a security policy and one to three epoch keys.
// A plain value.
type KeySet struct {
	ID     uint16
	Policy Policy
	Epochs []EpochKey
}

// Errors of Validate, for errors.Is.
var (
	ErrIPKKeySet    = errors.New("group: key set 0 is the IPK and carries no group traffic")
	ErrEpochCount   = fmt.Errorf("group: a key set holds 1 to %d epoch keys", MaxEpochKeys)
	ErrPolicy       = errors.New("group: unknown key set policy")
	ErrSameStart    = errors.New("group: two epoch keys share a start time")
	ErrInvalidGroup = errors.New("group: group id 0 is the null group")
)

// Validate checks ks against spec 4.17.3: not the IPK key set, one to three
// epoch keys with distinct start times, a known policy.
func (ks KeySet) Validate() error {
	if ks.ID == IPKKeySetID {
		return ErrIPKKeySet
	}
	if len(ks.Epochs) == 0 || len(ks.Epochs) > MaxEpochKeys {
		return ErrEpochCount
	}
	if ks.Policy > CacheAndSync {
		return ErrPolicy
	}
	for i := range ks.Epochs {
		for j := range i {
			if ks.Epochs[i].Start == ks.Epochs[j].Start {
				return ErrSameStart
			}
		}
	}
	return nil
}

// Key is one operational group key: the keys derived from one epoch key of
// a key set on a fabric (spec 4.17.2: operational key, 4.17.3.6 group
// session id, 4.9.3 privacy key).
type Key struct {
	KeySet uint16
	Epoch  int        // index in KeySet.Epochs
	Start  clock.Time // the epoch key's start time
	security.GroupKeys
}

// Derive returns the operational keys of every epoch key of ks on the
// fabric with compressed fabric id cfid, in Epochs order.
func (ks KeySet) Derive(cfid [8]byte) []Key {
	out := make([]Key, len(ks.Epochs))
	for i, e := range ks.Epochs {
		out[i] = Key{KeySet: ks.ID, Epoch: i, Start: e.Start, GroupKeys: security.DeriveGroupKeys(e.Key, cfid)}
	}
	return out
}

// Current returns the index of the epoch key a sender uses at now: the one
// with the latest start time that is not in the future (spec 4.17.3.1). ok
// is false when every start time is still ahead.
func (ks KeySet) Current(now clock.Time) (i int, ok bool) {
	i = -1
	for j, e := range ks.Epochs {
		if e.Start <= now && (i < 0 || e.Start > ks.Epochs[i].Start) {
			i = j
		}
	}
	return i, i >= 0
}

// MulticastAddr returns the IPv6 multicast address of group g on the
// fabric with id fabricID under the PerGroupID multicast policy (spec
// 11.2.6.2.1; RFC 3306 unicast-prefix-based): FF35:0040:FD, the upper 56
// bits of the fabric id, its low 8 bits, 00, and the group id, all
// big-endian (connectedhomeip PeerAddress::Multicast; vector in
// TestPeerAddress.cpp TestPeerAddressMulticast).
func MulticastAddr(fabricID uint64, g message.GroupID) netip.Addr {
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0xff, 0x35, 0x00, 0x40 // flags P+T, site scope; reserved; prefix length 64
	a[4] = 0xfd                                     // ULA prefix
	binary.BigEndian.PutUint64(a[5:13], fabricID)   // 56 bits in a[5:12], the low 8 in a[12]
	a[13] = 0x00
	binary.BigEndian.PutUint16(a[14:], uint16(g))
	return netip.AddrFrom16(a)
}

// MulticastAddrPort is MulticastAddr at Port.
func MulticastAddrPort(fabricID uint64, g message.GroupID) netip.AddrPort {
	return netip.AddrPortFrom(MulticastAddr(fabricID, g), Port)
}
