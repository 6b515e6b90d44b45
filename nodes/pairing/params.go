package pairing

import (
	"mattersim/session"
	"mattersim/session/mrp"
	"mattersim/session/params"
	"mattersim/session/pase"
)

// localParams returns the session parameters a node advertises in its PASE
// message (spec 4.12.8): its MRP intervals from the Manager's Config.Local,
// as tags 1-3 (SII, SAI, SAT).
func localParams(m *session.Manager) *pase.SessionParams {
	iv := m.Config().Local.Normalize()
	p := &pase.SessionParams{
		IdleInterval:    iv.Idle,
		ActiveInterval:  iv.Active,
		ActiveThreshold: iv.ActiveThreshold,
	}
	p.Set(params.IdleInterval)
	p.Set(params.ActiveInterval)
	p.Set(params.ActiveThreshold)
	return p
}

// intervals extracts the MRP intervals of session parameters, with the spec
// defaults for fields the peer left out (params.Params.Effective).
func intervals(p *pase.SessionParams) mrp.Intervals {
	if p == nil {
		return mrp.Intervals{}
	}
	e := p.Effective()
	return mrp.Intervals{Idle: e.IdleInterval, Active: e.ActiveInterval, ActiveThreshold: e.ActiveThreshold}
}
