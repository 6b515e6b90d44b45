package commissionee

import (
	"fmt"

	"mattersim/clock"
	"mattersim/im/fabrics"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/spake2p"
)

// State is what a Device keeps across a restart, as a real device keeps
// it in flash: the PASE verifier (not the passcode: spec 5.1.7), the
// committed fabric table and ACL (fabrics.Snapshot), and the CASE
// resumption records of committed fabrics (connectedhomeip
// DefaultSessionResumptionStorage), so that a controller may resume its
// session after the restart (spec 4.14.2.5). Nothing of a commissioning
// in progress is in it: the fail-safe, a fabric pending
// CommissioningComplete, its resumption records. DataVersions are not
// kept: a restarted device draws them at random again (spec 7.10.3),
// which tells subscribers their cached data is stale.
type State struct {
	Verifier   spake2p.Verifier
	Salt       []byte
	Iterations uint32
	Fabrics    fabrics.Snapshot
	Resumption []casesess.Record
}

// State returns the Device's State now. Its slices are copies, except the
// resumption records' (shared with the table, not to be modified).
func (d *Device) State() State {
	st := State{Verifier: d.cfg.Verifier, Salt: append([]byte(nil), d.cfg.Salt...), Iterations: d.cfg.Iterations,
		Fabrics: d.store.Export()}
	committed := make(map[uint8]bool, len(st.Fabrics.Fabrics))
	for _, f := range st.Fabrics.Fabrics {
		committed[f.Index] = true
	}
	for _, r := range d.cs.resume.Records() {
		if committed[r.Peer.FabricIndex] {
			st.Resumption = append(st.Resumption, r)
		}
	}
	return st
}

// NewFromState is New for a Device restarted with st: cfg's verifier,
// salt and iterations are replaced by st's, the fabric table is restored
// (fabrics.Restore: a bad table is a *fabrics.StateError), and the
// resumption records of its fabrics are loaded. A Device with a fabric
// starts with its commissioning window closed (as the SDK's
// Server::Init opens the basic window only when the fabric table is
// empty), which a NoticeWindowClosed (WindowCommissioned) at now reports.
func NewFromState(m *session.Manager, now clock.Time, cfg Config, st State) (*Device, error) {
	if st.Verifier == (spake2p.Verifier{}) {
		return nil, fmt.Errorf("commissionee: State has no PASE verifier")
	}
	cfg.Verifier, cfg.Salt, cfg.Iterations, cfg.Passcode = st.Verifier, append([]byte(nil), st.Salt...), st.Iterations, 0
	store, err := fabrics.Restore(fabrics.Config{Rand: cfg.Rand, EpochAt: cfg.Epoch}, st.Fabrics)
	if err != nil {
		return nil, err
	}
	cfg.fabrics = store
	d, err := New(m, cfg)
	if err != nil {
		return nil, err
	}
	d.now = now
	for _, r := range st.Resumption {
		if store.Fabric(r.Peer.FabricIndex) != nil {
			d.cs.resume.Save(r)
		}
	}
	if nf := len(store.Fabrics()); nf > 0 {
		d.window = false
		d.resp.Close(now)
		d.notify(Notice{Kind: NoticeWindowClosed, Window: WindowCommissioned,
			Text: fmt.Sprintf("restored %d fabric(s): commissioning window closed (PBKDFParamRequests are ignored until the last fabric is removed)", nf)})
	}
	return d, nil
}
