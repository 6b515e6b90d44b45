package pairing

import (
	"mattersim/session"
	"mattersim/session/mrp"
	"mattersim/session/pase"
)

// localParams returns the session parameters a node advertises in its PASE
// message (spec 4.12.8): its MRP intervals from the Manager's Config.Local.
func localParams(m *session.Manager) *pase.SessionParams {
	iv := m.Config().Local.Normalize()
	return &pase.SessionParams{
		IdleInterval:    iv.Idle,
		ActiveInterval:  iv.Active,
		ActiveThreshold: iv.ActiveThreshold,
	}
}

// intervals extracts the MRP intervals of session parameters; missing
// fields stay zero, which the core reads as the spec defaults.
func intervals(p *pase.SessionParams) mrp.Intervals {
	if p == nil {
		return mrp.Intervals{}
	}
	return mrp.Intervals{Idle: p.IdleInterval, Active: p.ActiveInterval, ActiveThreshold: p.ActiveThreshold}
}
