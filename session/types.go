package session

import (
	"fmt"
	"net/netip"
	"time"

	"mattersim/session/counter"
	"mattersim/session/message"
	"mattersim/session/mrp"
)

// Kind says how a session is secured, which decides the nonce rule
// (spec 4.8.1.1: PASE uses the unspecified node id 0 in both directions,
// CASE the sender's operational node id).
type Kind uint8

// Session kinds.
const (
	Unsecured Kind = iota + 1 // session id 0, no encryption (spec 4.13.2.1)
	PASE                      // passcode-authenticated secure session
	CASE                      // certificate-authenticated secure session
)

func (k Kind) String() string {
	switch k {
	case Unsecured:
		return "unsecured"
	case PASE:
		return "pase"
	case CASE:
		return "case"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Ref names a session in a Manager's table. It is a comparable value.
//
// A secure session is named by its local session id alone (LocalID != 0).
// An unsecured session is matched on reception by the ephemeral node id the
// initiator picked for it and which side we are, not by address (spec
// 4.13.2.1; connectedhomeip src/transport/UnauthenticatedSessionTable.h
// FindEntry): a peer that answers from another address or port is still
// found, and the session's address follows it (Info.Peer).
type Ref struct {
	// LocalID is our local session id; 0 for an unsecured session.
	LocalID uint16
	// Peer is the address an unsecured session was created with. It is
	// part of the handle (a Ref from an earlier session with the same
	// ephemeral id but another address names no session) but not of the
	// reception match; the current peer address is Info.Peer.
	Peer netip.AddrPort
	// Ephemeral and Initiator identify an unsecured session.
	Ephemeral message.NodeID
	Initiator bool
}

// Secure reports whether r names a secure (PASE or CASE) session.
func (r Ref) Secure() bool { return r.LocalID != 0 }

// String formats r for traces: "s42" for a secure session,
// "u[::1]:5540/0x1234i" for an unsecured one (i = we initiated).
func (r Ref) String() string {
	if r.Secure() {
		return fmt.Sprintf("s%d", r.LocalID)
	}
	role := "r"
	if r.Initiator {
		role = "i"
	}
	return fmt.Sprintf("u%s/%#x%s", r.Peer, uint64(r.Ephemeral), role)
}

// Exchange names an exchange: the session, the exchange id and whether we
// are its initiator (spec 4.10.1: an exchange is identified by the session,
// the exchange id and the role). A comparable value.
type Exchange struct {
	Session   Ref
	ID        uint16
	Initiator bool
}

func (e Exchange) String() string {
	role := "r"
	if e.Initiator {
		role = "i"
	}
	return fmt.Sprintf("%s/x%d%s", e.Session, e.ID, role)
}

// Unsolicited names the messages a Manager opens a responder exchange for
// (spec 4.10.5.2): those with the I flag that match no open exchange. It is
// the SDK's unsolicited message handler registration (connectedhomeip
// src/messaging/ExchangeMgr.cpp RegisterUnsolicitedMessageHandlerForType,
// with the exchange's encryption requirement). Any other unsolicited
// message is acked if it asked for an ack and dropped with EventUnhandled,
// creating no exchange and no session. A comparable value.
type Unsolicited struct {
	Protocol message.ProtocolID
	Vendor   uint16 // 0 = Matter standard protocol
	// Opcode is the one message type accepted, unless AnyOpcode is set.
	Opcode    uint8
	AnyOpcode bool
	// Secure selects messages on secure (PASE/CASE) sessions; false
	// selects unsecured sessions (session establishment, spec 4.13.2.1).
	Secure bool
}

// Message is an application message to send on an exchange.
type Message struct {
	Protocol message.ProtocolID
	Vendor   uint16 // protocol vendor id; 0 = Matter standard (no V flag)
	Opcode   uint8
	// Payload is copied by Send; the caller keeps ownership.
	Payload []byte
	// Reliable requests MRP (R flag, spec 4.12): retransmission until acked
	// or MaxTransmissions, and one outstanding reliable message per exchange.
	Reliable bool
}

// SecureSession describes a secure session to install: the result of a PASE
// or CASE handshake, or test keys. Keys are the two 16-byte session keys of
// spec 4.13.2.6 (I2R encrypts initiator-to-responder traffic).
type SecureSession struct {
	Kind      Kind // PASE or CASE
	Initiator bool // we were the handshake initiator
	// LocalID is our session id. 0 allocates one; otherwise it must have
	// been obtained from ReserveLocalID.
	LocalID uint16
	// PeerID is the peer's session id, sent in the header of every message
	// we send on the session (spec 4.4.1.2).
	PeerID      uint16
	LocalNodeID message.NodeID // CASE: our operational node id (nonce on send)
	PeerNodeID  message.NodeID // CASE: the peer's operational node id (nonce on receive)
	Peer        netip.AddrPort
	I2RKey      [16]byte
	R2IKey      [16]byte
	// AttestationChallenge is the third output of the key derivation
	// (spec 4.13.2.6), kept only for SessionKeys; zero if none.
	AttestationChallenge [16]byte
	// PeerIntervals are the peer's MRP parameters from its session
	// parameters (spec 4.12.8); zero fields mean the spec defaults.
	PeerIntervals mrp.Intervals
	// FabricIndex is the local fabric index of a CASE session (0 = none,
	// as for PASE). The eviction order counts sessions per fabric and per
	// (fabric, peer node id) as the SDK does.
	FabricIndex uint8
}

// Info is a snapshot of a session's state, for tests, traces and reports.
type Info struct {
	Ref         Ref
	Kind        Kind
	PeerID      uint16
	Peer        netip.AddrPort
	PeerNodeID  message.NodeID
	Initiator   bool
	NextCounter uint32 // the counter the next message will carry (secure), or the node's global unencrypted counter
	// CounterExhausted: a secure session's counter has used 0xFFFFFFFF, so
	// no further message can be sent (spec 4.6.1); NextCounter then stays
	// at 0xFFFFFFFF.
	CounterExhausted bool
	WindowMax        uint32 // reception window: largest counter accepted
	// WindowBits is the low 32 bits of the window bitmap (bit i = max-1-i
	// seen); Window holds all of it when WindowSize exceeds 32.
	WindowBits uint32
	// Window is a copy of the reception window (size, policy, full bitmap).
	Window    counter.Window
	Exchanges int // open exchanges, including ones waiting on an ack
	Pending   int // reliable messages awaiting an ack
	LastRx    time.Duration
	GiveUps   int // MRP give-ups on this session
	// Defunct: MRP gave up on this CASE session and nothing authenticated
	// has arrived since (connectedhomeip SecureSession kDefunct).
	Defunct     bool
	FabricIndex uint8
}
