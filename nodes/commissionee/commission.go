package commissionee

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/session"
	"mattersim/session/pase"
	"mattersim/session/security"
)

// accessor returns the subject of secure session ref for the access
// checks: recorded when PASE or CASE established it.
func (d *Device) accessor(m *session.Manager, ref session.Ref) *im.Accessor {
	if a, ok := d.sess[ref]; ok {
		return a
	}
	a := &im.Accessor{AuthMode: fabrics.AuthPASE, Session: ref}
	if in, ok := m.SessionInfo(ref); ok && in.Kind == session.CASE {
		a.AuthMode, a.FabricIndex, a.NodeID = fabrics.AuthCASE, in.FabricIndex, uint64(in.PeerNodeID)
	}
	d.sess[ref] = a
	return a
}

func (d *Device) caseNotices() {
	for {
		n, ok := d.cs.poll()
		if !ok {
			return
		}
		if n.Err != nil {
			d.notify(Notice{Kind: NoticeCASEFailed, Peer: n.Peer, Err: n.Err,
				Text: fmt.Sprintf("CASE failure from %s: %v", n.Peer, n.Err)})
			continue
		}
		r := n.Result
		d.sess[n.Session] = &im.Accessor{AuthMode: fabrics.AuthCASE, FabricIndex: r.FabricIndex,
			NodeID: r.PeerNodeID, CATs: r.PeerCATs, Session: n.Session}
		how := "established"
		if r.Resumed {
			how = "resumed"
		}
		d.notify(Notice{Kind: NoticeCASEEstablished, Peer: n.Peer, Session: n.Session, Fabric: r.FabricIndex,
			NodeID: r.PeerNodeID, Text: fmt.Sprintf("CASE session %s with %s (session %s, fabric %d, peer node 0x%016X)",
				how, n.Peer, n.Session, r.FabricIndex, r.PeerNodeID)})
	}
}

func (d *Device) commissioningNotices(m *session.Manager) {
	for {
		n, ok := d.comm.Poll()
		if !ok {
			return
		}
		switch n.Kind {
		case im.NoticeFabricAdded:
			if f := d.store.Fabric(n.Fabric); f != nil {
				d.notify(Notice{Kind: NoticeFabricAdded, Fabric: f.Index, FabricID: f.FabricID, NodeID: f.NodeID,
					Text: fmt.Sprintf("AddNOC: fabric %d added (fabric id 0x%016X, node id 0x%016X), pending CommissioningComplete",
						f.Index, f.FabricID, f.NodeID)})
			}
		case im.NoticeFailSafeExpired:
			text := "fail-safe expired: closing the PASE sessions"
			if n.Fabric != 0 {
				text = fmt.Sprintf("fail-safe expired: fabric %d rolled back; closing its sessions and the PASE sessions", n.Fabric)
			}
			d.notify(Notice{Kind: NoticeFailSafeExpired, Fabric: n.Fabric, Text: text})
			d.closeSessions(m, func(a *im.Accessor) bool {
				return a.AuthMode == fabrics.AuthPASE || (n.Fabric != 0 && a.FabricIndex == n.Fabric)
			})
			if n.Fabric != 0 {
				d.cs.resume.DeleteFabric(n.Fabric)
			}
			d.failSafeExpired()
		case im.NoticeCommissioned:
			nt := Notice{Kind: NoticeCommissioned, Fabric: n.Fabric,
				Text: fmt.Sprintf("CommissioningComplete: fabric %d committed; closing the PASE sessions", n.Fabric)}
			if f := d.store.Fabric(n.Fabric); f != nil {
				nt.FabricID, nt.NodeID = f.FabricID, f.NodeID
			}
			d.notify(nt)
			d.closeSessions(m, func(a *im.Accessor) bool { return a.AuthMode == fabrics.AuthPASE })
			d.closeWindow()
		case im.NoticeFabricRemoved:
			d.notify(Notice{Kind: NoticeFabricRemoved, Fabric: n.Fabric,
				Text: fmt.Sprintf("RemoveFabric: fabric %d removed; closing its sessions", n.Fabric)})
			d.closeSessions(m, func(a *im.Accessor) bool { return a.FabricIndex == n.Fabric })
			// Its resumption records go too (connectedhomeip OnFabricRemoved:
			// SessionResumptionStorage::DeleteAll), or a fabric reusing the
			// index would accept them.
			d.cs.resume.DeleteFabric(n.Fabric)
			if len(d.store.Fabrics()) == 0 {
				d.openWindow()
			}
		}
	}
}

// stopListening stops serving PBKDFParamRequest and advertising the
// window once a PASE session of it is established
// (CommissioningWindowManager::OnSessionEstablished → StopAdvertisement:
// the PBKDFParamRequest handler is unregistered, so a second commissioner's
// request is acked and dropped, and DNS-SD drops _matterc._udp). The
// window stays open: failSafeExpired listens again.
func (d *Device) stopListening() {
	if !d.window {
		return
	}
	d.window, d.commissioning = false, true
	d.resp.Close(d.now)
	d.notify(Notice{Kind: NoticeWindowClosed, Window: WindowPASE,
		Text: "commissioning window: PASE session established; commissionable advertisement stopped and PBKDFParamRequests ignored until CommissioningComplete or the fail-safe expires"})
}

// failSafeExpired ends a commissioning whose fail-safe expired (or whose
// PASE session closed) before CommissioningComplete: it counts as a failed
// attempt and the window listens and advertises again, unless that was
// the MaxFailures-th (CommissioningWindowManager::OnPlatformEvent
// kFailSafeTimerExpired → HandleFailedAttempt → AdvertiseAndListenForPASE).
func (d *Device) failSafeExpired() {
	if !d.commissioning {
		return // armed over CASE by an administrator: no window involved
	}
	d.commissioning = false
	d.resp.FailCommissioning(d.now, errFailSafeExpired)
	if d.resp.State() == pase.StateClosed {
		d.pairingNotices() // the NoticeFailed that closed the window
		return
	}
	d.pairingNotices()
	d.window = true
	d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowFailSafe,
		Text: fmt.Sprintf("commissioning window: fail-safe expired without CommissioningComplete (failed attempts %d); listening and advertising again", d.resp.Failures())})
}

// errFailSafeExpired is the failure of a commissioning whose fail-safe ran out.
var errFailSafeExpired = errors.New("commissionee: fail-safe expired before CommissioningComplete")

// closeWindow closes the commissioning window once commissioning is
// complete (CommissioningWindowManager::OnPlatformEvent,
// kCommissioningComplete → Cleanup → StopAdvertisement): the pairing
// responder acks and ignores PBKDFParamRequests from now on.
func (d *Device) closeWindow() {
	if !d.window && !d.commissioning {
		return
	}
	d.window, d.commissioning = false, false
	d.resp.Close(d.now)
	d.notify(Notice{Kind: NoticeWindowClosed, Window: WindowCommissioned,
		Text: "commissioning window closed: commissioned (PBKDFParamRequests are ignored until the last fabric is removed)"})
}

// openWindow opens the basic commissioning window again, with the
// failure count reset, when no fabric is left (as the SDK's apps do from
// kFabricRemoved when FabricTable().FabricCount() == 0, with
// CommissioningWindowManager::OpenBasicCommissioningWindow).
func (d *Device) openWindow() {
	if d.window {
		return
	}
	d.window = true
	d.resp.Reopen()
	d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowNoFabric,
		Text: "commissioning window re-opened: no fabric left"})
}

// closeSessions sends CloseSession on every secure session whose subject
// matches (SDK: fail-safe cleanup and CommissioningComplete expire the
// PASE sessions).
//
// The sessions close in local session id order, not map order: each
// CloseSession sends a message, and a simulated run must be a function of
// its seed (house rule 3).
func (d *Device) closeSessions(m *session.Manager, match func(a *im.Accessor) bool) {
	var refs []session.Ref
	for ref, a := range d.sess {
		if match(a) {
			refs = append(refs, ref)
		}
	}
	slices.SortFunc(refs, func(a, b session.Ref) int { return cmp.Compare(a.LocalID, b.LocalID) })
	for _, ref := range refs {
		delete(d.sess, ref)
		_ = m.CloseSession(d.now, ref)
	}
}

// Operational is the DNS-SD operational instance of the device on one
// fabric (spec 4.3.2.1): _matter._tcp, instance
// <compressed fabric id>-<node id>, subtype _I<compressed fabric id>.
type Operational struct {
	Fabric             uint8
	CompressedFabricID [8]byte
	NodeID             uint64
}

// Name is the instance name: 16 upper-case hex digits each.
func (o Operational) Name() string {
	return fmt.Sprintf("%016X-%016X", binary.BigEndian.Uint64(o.CompressedFabricID[:]), o.NodeID)
}

// Subtype is the compressed-fabric-id subtype, _I<16 hex digits>.
func (o Operational) Subtype() string {
	return fmt.Sprintf("_I%016X", binary.BigEndian.Uint64(o.CompressedFabricID[:]))
}

// Operational returns the instances to advertise, one per fabric of the
// table in index order, the one pending CommissioningComplete included
// (the commissioner finds the node by it for the CASE step).
func (d *Device) Operational() []Operational {
	var out []Operational
	for _, f := range d.store.Fabrics() {
		cfid, err := security.CompressedFabricID(f.RootKey, f.FabricID)
		if err != nil {
			continue
		}
		out = append(out, Operational{Fabric: f.Index, CompressedFabricID: cfid, NodeID: f.NodeID})
	}
	return out
}
