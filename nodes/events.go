package nodes

import (
	"fmt"
	"time"

	"mattersim/clock"
	"mattersim/session/message"
)

// NodeEventKind classifies a NodeEvent.
type NodeEventKind uint8

// Node event kinds.
const (
	// NodeSent: the core's datagram went to the transport (Err set if the
	// transport refused it). StandaloneAck marks standalone acks.
	NodeSent NodeEventKind = iota + 1
	// NodeInjected: a datagram the transport marked injected was handled;
	// Class is the core's verdict on it (Stats.Injected counts the same).
	NodeInjected
	// OpStarted: an operation's request was sent (Op, OpIndex, Target,
	// Peer).
	OpStarted
	// OpEnded: an operation ended (Outcome, and Latency for an answer).
	OpEnded
	// OpSkipped: Count due instants of an operation passed while the
	// previous one to the same target was in flight.
	OpSkipped
	// OpNotSent: an operation fell due and was not started: its target
	// had no session (Outcome 0; the Client asked for one), or the core
	// refused to open its exchange or send its request (Err set).
	// OpStats.NoSession and OpStats.SendErrors count the same.
	OpNotSent
	// PairingQueued: the node set out to establish a session with Peer
	// (one Establisher.Establish call).
	PairingQueued
	// PairingStarted: attempt Attempt (1-based) at that session began.
	PairingStarted
	// PairingFailed: the attempt failed, for Cause (Err says more).
	PairingFailed
	// PairingEnded: the establishment ended: Outcome PairingSucceeded
	// (Latency: from the first attempt's start) or PairingGaveUp (Err).
	PairingEnded
	// NodeRebooted, NodePoweredOff, NodePoweredOn: Node.Reboot, PowerOff,
	// PowerOn took effect (Boot is the new boot number on a boot).
	NodeRebooted
	NodePoweredOff
	NodePoweredOn
	// GroupSent: a GroupSender sent a group message (Group, Err set if the
	// core refused it).
	GroupSent
	// CASEHandshake: one CASE handshake attempt ended at the initiator
	// (nodes.CASE): Outcome PairingSucceeded or Failed (Cause), Latency
	// from Sigma1 to the end, ResumeOffered (Sigma1 offered a resumption),
	// Resumed (ended by Sigma2_Resume).
	CASEHandshake
	// SubRequested: a Subscriber began a subscription attempt to Peer: its
	// SubscribeRequest was sent, or waits for the target's session (OpIndex:
	// its SubscribeOp; Count 1 when it resubscribes after a loss). Every
	// attempt ends in SubEstablished or SubSetupFailed.
	SubRequested
	// SubEstablished: the SubscribeResponse arrived.
	SubEstablished
	// SubSetupFailed: a SubscribeRequest ended without a subscription
	// (refused, MRP gave up, no answer within the timeout, no session; Err).
	SubSetupFailed
	// SubLost: an established subscription was lost (Err; Outcome TimedOut
	// for a liveness timeout).
	SubLost
	// SubReport: a report with attribute data reached the subscriber
	// (priming reports included).
	SubReport
	// SubKeepAlive: an empty report (keep-alive) reached the subscriber.
	SubKeepAlive
	// AttrChanged: an attribute of the device's data model changed (a
	// local change or a command); subscriptions covering it will report it.
	AttrChanged
	// CommissionStarted: a commissioning attempt of Peer began (PASE
	// first; nodes.Commission). Attempt is the establishment's attempt.
	CommissionStarted
	// CommissionEnded: that attempt ended: Outcome PairingSucceeded at
	// CommissioningComplete's success (Latency: from the establishment's
	// first attempt, retries included), or Failed at Step (Cause, Err).
	CommissionEnded
	// CommissionRecovered: a device whose commissioning attempt failed at
	// or after CommissioningComplete (its answer lost, or the read-back
	// after it failed) was reached over CASE with our fabric: it is
	// commissioned after all. Counted apart so that the attempt counts
	// still add up (started = succeeded + failed + in flight).
	CommissionRecovered
)

var nodeEventNames = [...]string{
	NodeSent: "sent", NodeInjected: "injected",
	OpStarted: "op-started", OpEnded: "op-ended", OpSkipped: "op-skipped",
	OpNotSent:     "op-not-sent",
	PairingQueued: "pairing-queued", PairingStarted: "pairing-started",
	PairingFailed: "pairing-failed", PairingEnded: "pairing-ended",
	NodeRebooted: "rebooted", NodePoweredOff: "powered-off", NodePoweredOn: "powered-on",
	GroupSent: "group-sent", CASEHandshake: "case-handshake",
	SubRequested: "sub-requested", SubEstablished: "sub-established", SubSetupFailed: "sub-setup-failed",
	SubLost: "sub-lost", SubReport: "sub-report", SubKeepAlive: "sub-keepalive", AttrChanged: "attr-changed",
	CommissionStarted: "commission-started", CommissionEnded: "commission-ended",
	CommissionRecovered: "commission-recovered",
}

func (k NodeEventKind) String() string {
	if int(k) < len(nodeEventNames) && nodeEventNames[k] != "" {
		return nodeEventNames[k]
	}
	return fmt.Sprintf("NodeEventKind(%d)", uint8(k))
}

// OpKind is the kind of a periodic operation (Operation).
type OpKind uint8

// Operation kinds.
const (
	// OpRead: an Interaction Model ReadRequest of attribute paths (spec
	// 8.9.2), answered by a ReportData.
	OpRead OpKind = iota + 1
	// OpInvoke: an InvokeRequest of one command (spec 8.9.9), answered by
	// an InvokeResponse.
	OpInvoke
	// OpRequest: a request/response echo on the vendor test protocol
	// (SenderProtocol, OpcodeEchoRequest): the device answers with the
	// size asked for.
	OpRequest
	numOpKinds = iota + 1 // array size: kinds start at 1
)

func (k OpKind) String() string {
	switch k {
	case OpRead:
		return "read"
	case OpInvoke:
		return "invoke"
	case OpRequest:
		return "request"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// OpKinds returns every operation kind in order.
func OpKinds() []OpKind { return []OpKind{OpRead, OpInvoke, OpRequest} }

// Outcome is how an operation or an establishment ended.
type Outcome uint8

// Outcomes. The operation outcomes are the op metrics' names (answered,
// failed, gave_up, timed_out, aborted); skipped operations and those still
// in flight at the end have no OpEnded event.
const (
	// Answered: the answer came back with success.
	Answered Outcome = iota + 1
	// Failed: an answer came back with an error status (or not the answer
	// asked for).
	Failed
	// GaveUp: MRP gave up on the request (spec 4.12.2.1).
	GaveUp
	// TimedOut: acknowledged, but no answer within the timeout.
	TimedOut
	// Aborted: the session went away under it (reboot, power-off,
	// eviction, close).
	Aborted
	// PairingSucceeded and PairingGaveUp end an establishment.
	PairingSucceeded
	PairingGaveUp
)

var outcomeNames = [...]string{Answered: "answered", Failed: "failed", GaveUp: "gave_up",
	TimedOut: "timed_out", Aborted: "aborted", PairingSucceeded: "succeeded", PairingGaveUp: "gave_up"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// PairingCause says why an establishment attempt failed.
type PairingCause uint8

// Pairing failure causes (the pairings.<cause> metrics).
const (
	CauseWrongPasscode PairingCause = iota + 1 // key confirmation failed (pase.ErrWrongPasscode)
	CauseBusy                                  // the device was pairing with someone else (pase.ErrBusy)
	CauseTimedOut                              // no answer in time (pase.ErrTimeout)
	CauseNoAck                                 // MRP gave up on a handshake message (pairing.ErrNoAck)
	CauseAborted                               // the initiator powered off or rebooted mid-attempt
	CauseUnreachable                           // the peer was powered off (InstallKeys)
	CauseOther
	// CASE: the handshake ended with StatusReport NO_SHARED_TRUST_ROOTS
	// or INVALID_PARAMETER (sent or received; spec 4.14.2, casesess).
	CauseNoSharedTrustRoots
	CauseInvalidParameter
)

var causeNames = [...]string{CauseWrongPasscode: "wrong_passcode", CauseBusy: "busy", CauseTimedOut: "timed_out",
	CauseNoAck: "no_ack", CauseAborted: "aborted", CauseUnreachable: "unreachable", CauseOther: "other",
	CauseNoSharedTrustRoots: "no_shared_trust_roots", CauseInvalidParameter: "invalid_parameter"}

func (c PairingCause) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	return fmt.Sprintf("PairingCause(%d)", uint8(c))
}

// InjectedClass is the core's verdict on one injected datagram (see
// InjectedStats and UnsecuredStats, which count the same classes).
type InjectedClass uint8

// Injected datagram classes: secure frames first, then unsecured
// (handshake) ones.
const (
	InjAccepted InjectedClass = iota + 1
	InjFresh
	InjDuplicate
	InjMICFailure
	InjUnknownSession
	InjMalformed
	InjUnsecuredDuplicate
	InjUnsecuredUnknownSession
	InjUnsecuredMalformed
	InjUnsecuredHandshake
	InjUnsecuredApplication
	InjUnsecuredIgnored
	// InjQueued: a group message held by cache-and-sync until its sender
	// is synchronized (spec 4.18.4), or dropped by that queue when full:
	// no verdict yet at the time it arrived. What the queue later does
	// with it is in the mcsp.released_* metrics, which do not know which
	// queued messages were replays.
	InjQueued
)

// Unsecured reports whether c classifies an unsecured (handshake) frame.
func (c InjectedClass) Unsecured() bool {
	return c >= InjUnsecuredDuplicate && c <= InjUnsecuredIgnored
}

// NodeEvent is a node-level event: what the node's workload, handshakes
// and power did, and what its transport carried. Which fields are set
// depends on Kind. It is a plain value; hooks get a pointer valid only
// during the call.
type NodeEvent struct {
	Kind NodeEventKind

	// Peer is the other node's index (op target, device being paired);
	// -1 when there is none.
	Peer int
	// Operations.
	Op      OpKind
	OpIndex int // index in Client.Ops
	Target  int // index in the Client's targets
	Outcome Outcome
	Latency time.Duration // OpEnded Answered/Failed: request sent to answer; PairingEnded succeeded
	Count   int           // OpSkipped
	// Establishment.
	Attempt int
	Cause   PairingCause
	Err     error
	// NodeSent.
	StandaloneAck bool
	// NodeInjected.
	Class InjectedClass
	// CASEHandshake.
	ResumeOffered, Resumed bool
	// CommissionEnded: the step a failed attempt stopped at.
	Step CommissionStep
	// Power: the boot number after a boot (0 is the first).
	Boot int
	// GroupSent: the destination group.
	Group message.GroupID
	// AttrChanged: the changed cluster instance and its new DataVersion;
	// SubReport: every cluster instance the report carries, with the
	// highest DataVersion reported for it. Valid only during the call.
	Versions []ClusterVersion
}

// ClusterVersion is a cluster instance's DataVersion (spec 7.10.3): it
// moves on every change, and a report carries it, so a report of version
// v carries every change up to v.
type ClusterVersion struct {
	Endpoint    uint16
	Cluster     uint32
	DataVersion uint32
}

// NodeEventHook sees every NodeEvent of a node, in order. ev is valid only
// during the call.
type NodeEventHook func(now clock.Time, n *Node, ev *NodeEvent)

// Emit hands ev to the node's OnNodeEvent hook, if any. Workloads and
// establishers call it; so can code outside the package that drives the
// node. The hook gets a pointer to a copy held by the node (no allocation
// per event); it must not emit on the same node.
func (n *Node) Emit(now clock.Time, ev NodeEvent) {
	if n.OnNodeEvent != nil {
		n.nev = ev
		n.OnNodeEvent(now, n, &n.nev)
	}
}
