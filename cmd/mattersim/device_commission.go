package main

import (
	"encoding/binary"
	"fmt"

	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/session"
	"mattersim/session/security"
)

// matterEpochUnix is 2000-01-01T00:00:00Z in Unix seconds (spec 3.5.3,
// the epoch of certificate times).
const matterEpochUnix = 946684800

// logKindCASE rate-limits failed CASE handshakes (hostile input repeats).
const logKindCASE = "CASE failures"

// accessor returns the subject of secure session ref for the access
// checks: recorded when PASE or CASE established it.
func (d *deviceLoop) accessor(m *session.Manager, ref session.Ref) *im.Accessor {
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

func (d *deviceLoop) caseNotices() {
	for {
		n, ok := d.cs.poll()
		if !ok {
			return
		}
		if n.Err != nil {
			d.log.printf(d.now, logKindCASE, "CASE failure from %s: %v", n.Peer, n.Err)
			continue
		}
		r := n.Result
		d.sess[n.Session] = &im.Accessor{AuthMode: fabrics.AuthCASE, FabricIndex: r.FabricIndex,
			NodeID: r.PeerNodeID, CATs: r.PeerCATs, Session: n.Session}
		how := "established"
		if r.Resumed {
			how = "resumed"
		}
		d.logf("CASE session %s with %s (session %s, fabric %d, peer node 0x%016X)", how, n.Peer, n.Session,
			r.FabricIndex, r.PeerNodeID)
	}
}

func (d *deviceLoop) commissioningNotices(m *session.Manager) {
	for {
		n, ok := d.comm.Poll()
		if !ok {
			return
		}
		switch n.Kind {
		case im.NoticeFabricAdded:
			if f := d.store.Fabric(n.Fabric); f != nil {
				d.logf("AddNOC: fabric %d added (fabric id 0x%016X, node id 0x%016X), pending CommissioningComplete",
					f.Index, f.FabricID, f.NodeID)
			}
		case im.NoticeFailSafeExpired:
			if n.Fabric != 0 {
				d.logf("fail-safe expired: fabric %d rolled back; closing its sessions and the PASE sessions", n.Fabric)
			} else {
				d.logf("fail-safe expired: closing the PASE sessions")
			}
			d.closeSessions(m, func(a *im.Accessor) bool {
				return a.AuthMode == fabrics.AuthPASE || (n.Fabric != 0 && a.FabricIndex == n.Fabric)
			})
			if n.Fabric != 0 {
				d.cs.resume.DeleteFabric(n.Fabric)
			}
		case im.NoticeCommissioned:
			d.logf("CommissioningComplete: fabric %d committed; closing the PASE sessions", n.Fabric)
			d.closeSessions(m, func(a *im.Accessor) bool { return a.AuthMode == fabrics.AuthPASE })
		case im.NoticeFabricRemoved:
			d.logf("RemoveFabric: fabric %d removed; closing its sessions", n.Fabric)
			d.closeSessions(m, func(a *im.Accessor) bool { return a.FabricIndex == n.Fabric })
			// Its resumption records go too (connectedhomeip OnFabricRemoved:
			// SessionResumptionStorage::DeleteAll), or a fabric reusing the
			// index would accept them.
			d.cs.resume.DeleteFabric(n.Fabric)
		}
		d.advertise()
	}
}

// closeSessions sends CloseSession on every secure session whose subject
// matches (SDK: fail-safe cleanup and CommissioningComplete expire the
// PASE sessions).
func (d *deviceLoop) closeSessions(m *session.Manager, match func(a *im.Accessor) bool) {
	for ref, a := range d.sess {
		if match(a) {
			delete(d.sess, ref)
			_ = m.CloseSession(d.now, ref)
		}
	}
}

// operationalName is the DNS-SD instance name of the node on fabric f:
// <compressed fabric id>-<node id>, 16 upper-case hex digits each (spec
// 4.3.2.1).
func operationalName(f *fabrics.Fabric) (string, [8]byte, error) {
	cfid, err := security.CompressedFabricID(f.RootKey, f.FabricID)
	if err != nil {
		return "", cfid, err
	}
	return fmt.Sprintf("%016X-%016X", binary.BigEndian.Uint64(cfid[:]), f.NodeID), cfid, nil
}

// advertise gives the mDNS responder the operational instances of the
// fabric table (added fabrics are advertised before CommissioningComplete:
// the commissioner finds the node by them for the CASE step).
func (d *deviceLoop) advertise() {
	if d.mdns == nil {
		return
	}
	var insts []mdnsInstance
	for _, f := range d.store.Fabrics() {
		name, cfid, err := operationalName(f)
		if err != nil {
			continue
		}
		insts = append(insts, mdnsInstance{Name: name, Subtype: fmt.Sprintf("_I%016X", binary.BigEndian.Uint64(cfid[:]))})
	}
	d.mdns.Set(insts)
}
