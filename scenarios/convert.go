package scenarios

import (
	"time"

	"mattersim/im"
	"mattersim/nodes"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/sim"
	"mattersim/sim/adversary"
	"mattersim/sim/fault"
)

// Conversions from a loaded Scenario to the simulator's and the nodes'
// own configuration types, so the meaning of every field is written down
// once, here. The runner builds the network from these.

// SessionConfig returns the session-core configuration of group g's nodes:
// MRP constants, advertised intervals, window size and table limits, with
// the documented defaults for absent fields (a controller's tables are
// sized for one session per node and 4 handshakes per concurrent pairing,
// as the default network's: one session per device served, Served).
func (s *Scenario) SessionConfig(g int) session.Config {
	ng := &s.Nodes[g]
	cfg := session.Config{
		MRP:                  ng.MRP.Config(),
		Local:                ng.Session.Intervals(),
		MaxSessions:          ng.Limits.MaxSessions,
		MaxUnsecuredSessions: ng.Limits.MaxUnsecuredSessions,
		MaxExchanges:         ng.Limits.MaxExchanges,
		WindowSize:           ng.WindowSize,
	}
	if ng.Role == RoleController {
		if cfg.MaxSessions == 0 {
			per := s.devicesPerController()
			if s.Establishment.Method == EstablishCommission {
				// A CASE session per device, plus the PASE sessions of the
				// commissionings in flight: without the room, each new
				// session evicts a device's CASE session.
				per += s.Establishment.InFlight()
			}
			cfg.MaxSessions = max(session.DefaultMaxSessions, per)
		}
		if cfg.MaxUnsecuredSessions == 0 {
			cfg.MaxUnsecuredSessions = max(session.DefaultMaxUnsecuredSessions, 4*s.Establishment.InFlight())
		}
	}
	return cfg
}

// Config returns the MRP constants (absent fields: spec defaults).
func (m MRPParams) Config() mrp.Config {
	c := mrp.Config{
		MaxTransmissions:     m.MaxTransmissions,
		BackoffBase:          m.BackoffBase,
		BackoffMargin:        m.BackoffMargin,
		StandaloneAckTimeout: m.StandaloneAckTimeout.D(),
	}
	if m.BackoffJitter != nil {
		c.BackoffJitter = *m.BackoffJitter
		if c.BackoffJitter == 0 {
			c.BackoffJitter = -1 // mrp.Config: negative selects 0
		}
	}
	if m.BackoffThreshold != nil {
		c.BackoffThreshold = *m.BackoffThreshold
		if c.BackoffThreshold == 0 {
			c.BackoffThreshold = -1
		}
	}
	return c
}

// Intervals returns the advertised MRP intervals (absent: spec defaults).
func (p SessionParams) Intervals() mrp.Intervals {
	return mrp.Intervals{Idle: p.IdleInterval.D(), Active: p.ActiveInterval.D(), ActiveThreshold: p.ActiveThreshold.D()}
}

// Passcode returns the group's passcode (absent: DefaultPasscode).
func (g *NodeGroup) PasscodeOrDefault() uint32 {
	if g.Passcode == 0 {
		return DefaultPasscode
	}
	return g.Passcode
}

// InFlight returns the PASE concurrency (absent: nodes.DefaultPASEInFlight).
func (e EstablishmentConfig) InFlight() int {
	if e.Concurrency == 0 {
		return nodes.DefaultPASEInFlight
	}
	return e.Concurrency
}

// PASE returns a PASE establisher configured from the fields (the runner
// sets Passcode, DevicePasscode, Rand and SharedSalt's bytes).
func (e EstablishmentConfig) PASE() *nodes.PASE {
	return &nodes.PASE{
		Iterations: uint32(e.Iterations),
		InFlight:   e.Concurrency,
		Backoff:    e.Backoff.D(),
		Attempts:   e.Attempts,
		Timeout:    e.Timeout.D(),
	}
}

// Paths returns the attributes a read asks for (absent:
// nodes.VendorNamePath).
func (t *Traffic) Paths() []im.AttributePath {
	if len(t.Attributes) == 0 {
		return []im.AttributePath{nodes.VendorNamePath}
	}
	out := make([]im.AttributePath, len(t.Attributes))
	for i, a := range t.Attributes {
		out[i] = a.Path
	}
	return out
}

// Window returns when traffic t starts and stops starting operations.
func (s *Scenario) Window(t *Traffic) (start, stop time.Duration) {
	stop = t.Stop.D()
	if stop == 0 {
		stop = s.Duration.D()
	}
	return t.Start.D(), stop
}

// ResponseTimeout returns how long an operation waits for its answer.
func (t *Traffic) ResponseTimeout() time.Duration {
	if t.Timeout == 0 {
		return nodes.DefaultReadTimeout
	}
	return t.Timeout.D()
}

// Active returns when fault f is in force: [start, end), open when it
// lasts to the end of the run.
func (f *Fault) Active() (start, end time.Duration, open bool) {
	switch {
	case f.For > 0:
		return f.At.D(), f.At.D() + f.For.D(), false
	case f.Until > 0:
		return f.At.D(), f.Until.D(), false
	}
	return f.At.D(), 0, true
}

// Spec returns the fault's stages as one sim/fault spec, in the fixed
// order mtu, loss, duplicate, corrupt, delay (with reorder), rate, wrapped
// in a filter when the fault has a match.
func (f *Fault) Spec() fault.Spec {
	var specs fault.Specs
	if f.MTU > 0 {
		specs = append(specs, fault.MTU{Bytes: f.MTU.Bytes()})
	}
	if f.Loss != nil && !f.Loss.none() {
		specs = append(specs, f.Loss.Spec())
	}
	if f.Duplicate != nil {
		specs = append(specs, fault.Duplicate{P: f.Duplicate.P.F(), Corr: f.Duplicate.Correlation.F()})
	}
	if f.Corrupt != nil {
		specs = append(specs, fault.Corrupt{P: f.Corrupt.P.F(), Corr: f.Corrupt.Correlation.F(), Scope: fault.CorruptScope(f.Corrupt.Scope)})
	}
	if f.Delay != nil {
		d := fault.Delay{Delay: f.Delay.Time.D(), Jitter: f.Delay.Jitter.D(), Corr: f.Delay.Correlation.F(), Dist: fault.Dist(f.Delay.Distribution)}
		if r := f.Reorder; r != nil {
			d.Reorder, d.ReorderCorr, d.Gap = r.P.F(), r.Correlation.F(), max(r.Gap, 1)
		}
		specs = append(specs, d)
	}
	if f.Rate != nil {
		specs = append(specs, fault.Rate{Bits: uint64(f.Rate.Bitrate), Overhead: f.Rate.Overhead, Limit: f.Rate.Limit})
	}
	if f.Match != nil {
		return fault.Filter{Match: f.Match.FaultMatch(nil, nil), Stage: specs}
	}
	return specs
}

// none reports a random loss of 0 (no correlation): no stage at all, so
// that it draws nothing from the link's stream.
func (l *Loss) none() bool {
	return l.Model == LossModelRandom && l.P == 0 && l.Correlation == 0
}

// Spec returns the loss model's sim/fault spec, defaults filled as netem
// fills them.
func (l *Loss) Spec() fault.Spec {
	or := func(p *Probability, def float64) float64 {
		if p == nil {
			return def
		}
		return p.F()
	}
	switch l.Model {
	case LossModelGE:
		return fault.LossGE{P: l.P.F(), R: or(l.R, 1-l.P.F()), LossBad: or(l.LossBad, 1), LossGood: l.LossGood.F()}
	case LossModelState:
		return fault.LossState{P13: l.P13.F(), P31: or(l.P31, 1-l.P13.F()), P32: l.P32.F(), P23: or(l.P23, 1), P14: l.P14.F()}
	}
	return fault.LossRandom{P: l.P.F(), Corr: l.Correlation.F()}
}

// FaultMatch returns the sim/fault match of m with the given direction.
func (m *Match) FaultMatch(from, to []int) fault.Match {
	tri := func(b *bool) fault.Tri {
		switch {
		case b == nil:
			return fault.Any
		case *b:
			return fault.Yes
		}
		return fault.No
	}
	out := fault.Match{From: from, To: to, Multicast: tri(m.Multicast), Injected: tri(m.Injected)}
	mm := fault.MatterMatch{Secure: tri(m.Secure), Group: tri(m.Group), Control: tri(m.Control),
		PayloadMin: m.Payload.Min.Bytes(), PayloadMax: m.Payload.Max.Bytes()}
	for _, id := range m.Sessions {
		mm.Sessions = append(mm.Sessions, message.SessionID(id))
	}
	for _, d := range m.Dest {
		mm.Dest = append(mm.Dest, message.DestinationKind(d))
	}
	for _, c := range m.Counters {
		mm.Counters = append(mm.Counters, c.Range)
	}
	for _, t := range m.Types {
		mm.Types = append(mm.Types, t.Type)
	}
	out.Matter = mm
	return out
}

// AdversaryRules returns the adversary's rules for sim/adversary, with
// selectors resolved to node indexes. Every rule captures genuine frames
// only. The scenario must have been loaded (selectors checked).
func (s *Scenario) AdversaryRules() ([]adversary.Rule, error) {
	var out []adversary.Rule
	for i := range s.Adversary.Rules {
		r := &s.Adversary.Rules[i]
		var from, to []int
		var err error
		if len(r.From) > 0 {
			if from, err = s.Select(r.From); err != nil {
				return nil, err
			}
		}
		if len(r.To) > 0 {
			if to, err = s.Select(r.To); err != nil {
				return nil, err
			}
		}
		m := r.Match.FaultMatch(from, to)
		m.Injected = fault.No
		ar := adversary.Rule{Name: r.Name, Match: m, MaxCaptures: r.Capture, AfterFrames: r.AfterFrames,
			Delay: r.Delay.D(), Copies: r.Copies, Interval: r.Interval.D()}
		if r.CapturePerNode > 0 {
			ar.MaxCaptures = r.CapturePerNode * s.NodeCount()
		}
		for _, e := range []struct {
			sel Selector
			dst **adversary.Endpoint
		}{{r.Redirect, &ar.Redirect}, {r.Spoof, &ar.Spoof}} {
			if e.sel.IsZero() {
				continue
			}
			ix, err := s.Select(Selectors{e.sel})
			if err != nil {
				return nil, err
			}
			*e.dst = &adversary.Endpoint{Node: ix[0], Addr: sim.Addr(ix[0])}
		}
		out = append(out, ar)
	}
	return out, nil
}

// Capacity returns the attacker's capacity (absent:
// adversary.DefaultCapacity).
func (a *Adversary) CapacityOrDefault() int {
	if a.Capacity == 0 {
		return adversary.DefaultCapacity
	}
	return a.Capacity
}
