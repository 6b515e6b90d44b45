package commissionee

import (
	"net/netip"

	"mattersim/clock"
	"mattersim/session"
)

// NoticeKind classifies a Notice.
type NoticeKind uint8

const (
	// NoticeLog is a log line (Text) and nothing more: a request served,
	// a subscription's progress, a send that failed.
	NoticeLog NoticeKind = iota + 1
	// NoticePASEEstablished: a PASE session is up (Peer, Session).
	NoticePASEEstablished
	// NoticePASEFailed: a pairing failed (counted; Err, Failures). It
	// repeats with hostile input: rate-limit its log line.
	NoticePASEFailed
	// NoticePASERefused: a PBKDFParamRequest was refused without a
	// pairing (busy, window closed). It repeats with hostile input.
	NoticePASERefused
	// NoticeCASEEstablished: a CASE session is up, or resumed (Peer,
	// Session, Fabric, NodeID: the peer's).
	NoticeCASEEstablished
	// NoticeCASEFailed: a CASE handshake failed (Err). It repeats with
	// hostile input.
	NoticeCASEFailed
	// NoticeSessionClosed: a secure session closed (Session).
	NoticeSessionClosed
	// NoticeFabricAdded: AddNOC added Fabric (FabricID, NodeID: the
	// device's), pending CommissioningComplete. Operational changed: the
	// commissioner finds the node by its _matter._tcp instance for CASE.
	NoticeFabricAdded
	// NoticeCommissioned: CommissioningComplete committed Fabric; the
	// PASE sessions are closed. A NoticeWindowClosed follows if the
	// window was open.
	NoticeCommissioned
	// NoticeFailSafeExpired: the fail-safe expired (or was expired at once
	// because the commissioning PASE session closed); Fabric (if not 0)
	// was rolled back (Operational changed) and the PASE sessions closed.
	// A NoticeWindowOpened (WindowFailSafe) follows if a window was
	// commissioning.
	NoticeFailSafeExpired
	// NoticeFabricRemoved: RemoveFabric removed Fabric and closed its
	// sessions (Operational changed). A NoticeWindowOpened follows if it
	// was the last fabric.
	NoticeFabricRemoved
	// NoticeWindowClosed: the commissioning window closed (Window says
	// why): stop advertising _matterc._udp.
	NoticeWindowClosed
	// NoticeWindowOpened: the window opened again (Window says why):
	// advertise _matterc._udp again.
	NoticeWindowOpened
)

var noticeNames = [...]string{"", "log", "pase-established", "pase-failed", "pase-refused", "case-established",
	"case-failed", "session-closed", "fabric-added", "commissioned", "fail-safe-expired", "fabric-removed",
	"window-closed", "window-opened"}

func (k NoticeKind) String() string {
	if int(k) < len(noticeNames) && k != 0 {
		return noticeNames[k]
	}
	return "notice?"
}

// WindowReason says why the commissioning window closed or opened.
type WindowReason uint8

const (
	// WindowFailures: closed after MaxFailures failed pairings (spec
	// 13.3); opened again after ReopenAfter with the count reset.
	WindowFailures WindowReason = iota + 1
	// WindowCommissioned: closed by CommissioningComplete
	// (CommissioningWindowManager::OnPlatformEvent → Cleanup).
	WindowCommissioned
	// WindowNoFabric: opened because the last fabric was removed (the
	// SDK opens the basic window when FabricCount() is 0 again).
	WindowNoFabric
	// WindowPASE: no longer advertised or served because a PASE session
	// of it is established (CommissioningWindowManager::
	// OnSessionEstablished → StopAdvertisement); a NoticeWindowOpened
	// (WindowFailSafe) follows if its fail-safe expires, a
	// NoticeWindowClosed (WindowCommissioned) at CommissioningComplete.
	WindowPASE
	// WindowFailSafe: served and advertised again because the fail-safe
	// of the PASE session expired, or the session closed, before
	// CommissioningComplete (counted as a failed attempt;
	// CommissioningWindowManager::HandleFailedAttempt).
	WindowFailSafe
)

func (r WindowReason) String() string {
	switch r {
	case WindowFailures:
		return "failures"
	case WindowCommissioned:
		return "commissioned"
	case WindowNoFabric:
		return "no fabric"
	case WindowPASE:
		return "PASE established"
	case WindowFailSafe:
		return "fail-safe expired"
	}
	return "?"
}

// Notice is one thing a Device did that its driver may act on. Text is
// the log line `mattersim device` prints for it; the other fields are
// set as the Kind says.
type Notice struct {
	Kind     NoticeKind
	At       clock.Time
	Text     string
	Peer     netip.AddrPort
	Session  session.Ref
	Fabric   uint8  // fabric index
	FabricID uint64 // NoticeFabricAdded, NoticeCommissioned
	NodeID   uint64 // the device's on the fabric; the peer's for NoticeCASEEstablished
	Err      error
	Failures int
	Window   WindowReason
}

// Repeats reports whether hostile input can repeat the notice at will, so
// that a log should rate-limit it (failed and refused pairings, failed
// CASE handshakes).
func (n Notice) Repeats() bool {
	return n.Kind == NoticePASEFailed || n.Kind == NoticePASERefused || n.Kind == NoticeCASEFailed
}

// OperationalChanged reports whether the notice changes Operational.
func (n Notice) OperationalChanged() bool {
	switch n.Kind {
	case NoticeFabricAdded, NoticeCommissioned, NoticeFabricRemoved:
		return true
	case NoticeFailSafeExpired:
		return n.Fabric != 0
	}
	return false
}
