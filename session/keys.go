package session

import (
	"cmp"
	"net/netip"
	"slices"

	"mattersim/session/message"
)

// Keys is the key material of a secure session, for key logs: what a
// capture reader needs to decrypt the session's traffic (spec 4.8.1 nonce,
// 4.13.2.6 and 4.14.2.6 session keys). It is a copy; the Manager keeps its
// own. A plain value.
//
// Keys are secrets: expose them only to a driver that writes a key log the
// user asked for (mattersim run --keylog).
type Keys struct {
	Kind      Kind
	Initiator bool // we were the handshake initiator
	LocalID   uint16
	PeerID    uint16
	// LocalNodeID and PeerNodeID are the nonce node ids of a CASE session
	// (0 for PASE, whose nonces use node id 0 both ways).
	LocalNodeID message.NodeID
	PeerNodeID  message.NodeID
	Peer        netip.AddrPort
	// I2R encrypts initiator-to-responder messages, R2I the other way.
	I2R, R2I [16]byte
	// AttestationChallenge is the third output of the session key
	// derivation (zero when the installer gave none, as for test keys).
	AttestationChallenge [16]byte
}

// SessionKeys returns the key material of secure session r, and false if r
// names no secure session. It changes no state: a driver may call it at
// any time, typically on EventSessionOpened.
func (m *Manager) SessionKeys(r Ref) (Keys, bool) {
	if !r.Secure() {
		return Keys{}, false
	}
	s := m.secure[r.LocalID]
	if s == nil {
		return Keys{}, false
	}
	return Keys{
		Kind: s.kind, Initiator: s.initiator, LocalID: s.ref.LocalID, PeerID: s.peerID,
		LocalNodeID: s.encNode, PeerNodeID: s.decNode, Peer: s.peer,
		I2R: s.keys.i2r, R2I: s.keys.r2i, AttestationChallenge: s.keys.att,
	}, true
}

// sessionKeys is a secure session's raw keys, kept for SessionKeys.
type sessionKeys struct {
	i2r, r2i, att [16]byte
}

// GroupKey is one operational group key a Manager holds, for key logs:
// derived from an epoch key of a key set on a fabric (spec 4.17.2), with
// the group session id that messages sealed with it carry (4.17.3.6). The
// privacy key follows from Operational (security.DerivePrivacyKey). A
// plain value; a copy.
type GroupKey struct {
	Fabric      uint8  // local fabric index
	KeySet      uint16 // group key set id
	Epoch       int    // index of the epoch key in the key set
	SessionID   uint16 // group session id
	Operational [16]byte
}

// GroupKeys returns the operational group keys of every key set installed
// with SetKeySet, ordered by fabric index, key set id and epoch. It
// changes no state.
func (m *Manager) GroupKeys() []GroupKey {
	if m.grp == nil {
		return nil
	}
	var out []GroupKey
	for _, f := range m.grp.fabrics {
		for _, ks := range f.keySets {
			for _, k := range ks.keys {
				out = append(out, GroupKey{Fabric: f.Index, KeySet: ks.ID, Epoch: k.info.Epoch,
					SessionID: uint16(k.info.SessionID), Operational: k.info.Operational})
			}
		}
	}
	slices.SortFunc(out, func(a, b GroupKey) int {
		return cmp.Or(cmp.Compare(a.Fabric, b.Fabric), cmp.Compare(a.KeySet, b.KeySet), cmp.Compare(a.Epoch, b.Epoch))
	})
	return out
}
