package sim

import "mattersim/sim/fault"

// The switch runs package fault's stages; these aliases keep the switch's
// signatures short.
type (
	// Packet is a frame crossing the switch (fault.Packet).
	Packet = fault.Packet
	// Out is a packet leaving a stage (fault.Out).
	Out = fault.Out
	// Drop says why a stage dropped a packet (fault.Drop).
	Drop = fault.Drop
	// Stage is one impairment of a directed link (fault.Stage).
	Stage = fault.Stage
)

func dropBy(d Drop) (by, why string) { return d.Stage, d.Reason }
