package nodes

import (
	"errors"
	"fmt"
	"io"

	"mattersim/clock"
	"mattersim/session"
)

// Pair is an established secure session seen from both ends. A plain value.
type Pair struct {
	Initiator, Responder       *Node
	InitiatorRef, ResponderRef session.Ref
}

// Establisher opens a secure session between an initiator (controller) and
// a responder (device). It is the seam where a handshake (PASE, spec 4.14.1;
// CASE, spec 4.14.2) replaces pre-shared keys: an implementation that runs
// a handshake over the network calls done when it completes, later in
// virtual time; InstallKeys calls it before returning.
type Establisher interface {
	Establish(now clock.Time, initiator, responder *Node, done func(now clock.Time, p Pair, err error))
}

// InstallKeys is the handshake-free Establisher: it draws the two session
// keys (I2R, R2I; spec 4.13.2.6) from Keys, has each core reserve its local
// session id as it would for a handshake (Manager.ReserveLocalID, spec
// 4.13.2.1), and installs the session on both ends with
// Manager.InstallSecureSession, each naming the other's id as peer id.
//
// Keys is a deterministic stream in simulations (sim.Seeds.ChaCha8): the
// keys are not secret, which is fine for a simulation and nothing else.
// Kind is session.CASE (nonces use the operational node ids, spec 4.8.1.1)
// when zero. The zero value has no key stream and fails. Not safe for
// concurrent use.
type InstallKeys struct {
	Keys io.Reader
	Kind session.Kind
}

var _ Establisher = (*InstallKeys)(nil)

// Establish installs the session at now and calls done before returning.
// It stands in for CASE (spec 4.14.2), which a later issue brings: a
// controller re-establishing a lost session with installed keys is what
// it would do with CASE, minus the handshake's messages and time. The
// device is reached directly (its Do), not over the network; a device that
// is powered off fails the attempt (CauseUnreachable). The controller
// emits PairingQueued, PairingStarted, then PairingEnded (succeeded, no
// latency) or PairingFailed and PairingEnded (gave up: one attempt).
func (k *InstallKeys) Establish(now clock.Time, a, b *Node, done func(now clock.Time, p Pair, err error)) {
	a.Emit(now, NodeEvent{Kind: PairingQueued, Peer: b.index})
	a.Emit(now, NodeEvent{Kind: PairingStarted, Peer: b.index, Attempt: 1})
	p, err := k.install(now, a, b)
	if err != nil {
		c := CauseOther
		if errors.Is(err, ErrDown) {
			c = CauseUnreachable
		}
		a.Emit(now, NodeEvent{Kind: PairingFailed, Peer: b.index, Attempt: 1, Cause: c, Err: err})
		a.Emit(now, NodeEvent{Kind: PairingEnded, Peer: b.index, Attempt: 1, Outcome: PairingGaveUp, Err: err})
	} else {
		a.Emit(now, NodeEvent{Kind: PairingEnded, Peer: b.index, Attempt: 1, Outcome: PairingSucceeded})
	}
	done(now, p, err)
}

func (k *InstallKeys) install(now clock.Time, a, b *Node) (Pair, error) {
	p := Pair{Initiator: a, Responder: b}
	if k.Keys == nil {
		return p, fmt.Errorf("nodes: establish %d→%d: no key stream", a.index, b.index)
	}
	kind := k.Kind
	if kind == 0 {
		kind = session.CASE
	}
	var keys [32]byte
	if _, err := io.ReadFull(k.Keys, keys[:]); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: keys: %w", a.index, b.index, err)
	}
	// The initiator's id is reserved with the peer as the eviction hint,
	// as the SDK's CASE initiator allocates its session
	// (AllocateSecureSession with the peer's ScopedNodeId): a full table
	// evicts first from that fabric and that peer (an old session to the
	// same peer before anyone else's). The responder gives no hint, as
	// CASEServer prepares its session before knowing who will connect.
	hint := session.Peer{}
	if kind == session.CASE {
		hint = session.Peer{Fabric: 1, Node: b.nodeID}
	}
	var idA, idB uint16
	if err := a.Do(now, func(m *session.Manager) (err error) { idA, err = m.ReserveLocalIDFor(now, hint); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: initiator id: %w", a.index, b.index, err)
	}
	if err := b.Do(now, func(m *session.Manager) (err error) { idB, err = m.ReserveLocalID(now); return }); err != nil {
		_ = a.Do(now, func(m *session.Manager) error { m.ReleaseLocalID(idA); return nil })
		return p, fmt.Errorf("nodes: establish %d→%d: responder id: %w", a.index, b.index, err)
	}
	s := session.SecureSession{Kind: kind, I2RKey: [16]byte(keys[:16]), R2IKey: [16]byte(keys[16:])}
	sa, sb := s, s
	sa.Initiator, sa.LocalID, sa.PeerID, sa.Peer = true, idA, idB, b.Addr()
	sb.Initiator, sb.LocalID, sb.PeerID, sb.Peer = false, idB, idA, a.Addr()
	if kind == session.CASE {
		// One fabric (index 1) for the whole simulated network.
		sa.LocalNodeID, sa.PeerNodeID, sa.FabricIndex = a.nodeID, b.nodeID, 1
		sb.LocalNodeID, sb.PeerNodeID, sb.FabricIndex = b.nodeID, a.nodeID, 1
	}
	var err error
	if err = a.Do(now, func(m *session.Manager) (err error) { p.InitiatorRef, err = m.InstallSecureSession(now, sa); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: install at initiator: %w", a.index, b.index, err)
	}
	if err = b.Do(now, func(m *session.Manager) (err error) { p.ResponderRef, err = m.InstallSecureSession(now, sb); return }); err != nil {
		return p, fmt.Errorf("nodes: establish %d→%d: install at responder: %w", a.index, b.index, err)
	}
	return p, nil
}
