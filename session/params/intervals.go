package params

import "mattersim/session/mrp"

// FromIntervals returns the session parameters our PASE and CASE endpoints
// advertise in their handshake messages (spec 4.12.8): the
// node's own MRP intervals iv, normalized, as SII, SAI and SAT (tags 1-3)
// and nothing else. Pairing, the commissioner, the commissionee's CASE
// server and the simulator's CASE agents all send exactly this, so it is
// built in one place and their wire bytes cannot drift apart.
func FromIntervals(iv mrp.Intervals) *Params {
	iv = iv.Normalize()
	p := &Params{IdleInterval: iv.Idle, ActiveInterval: iv.Active, ActiveThreshold: iv.ActiveThreshold}
	p.Set(IdleInterval)
	p.Set(ActiveInterval)
	p.Set(ActiveThreshold)
	return p
}

// Intervals returns the MRP intervals a peer's parameters give our
// retransmissions to it: Effective's values, so fields it left out take
// the spec defaults. A nil p (the peer sent no parameters) gives the zero
// Intervals, which the session Manager reads as "use the defaults".
func (p *Params) Intervals() mrp.Intervals {
	if p == nil {
		return mrp.Intervals{}
	}
	e := p.Effective()
	return mrp.Intervals{Idle: e.IdleInterval, Active: e.ActiveInterval, ActiveThreshold: e.ActiveThreshold}
}
