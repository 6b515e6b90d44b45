package scenarios

import (
	"math"
	"strconv"
	"time"
)

// EventBudget is the largest estimated cost, in simulator events, that
// Load accepts without force: about 30 minutes of wall time on the
// project's 2-core machine, which runs 50,000-100,000 events per second
// (BENCHMARKS.md, default network). A scenario above it is refused up
// front (mattersim run --force, or force: true, runs it anyway).
const EventBudget = 100_000_000

const budgetWall = "30 minutes"

// Weights of the estimate, in simulator events (measured on the default
// network: 4,688 events for 588 reads over installed keys; PASE adds
// ~1,000 events for 49 pairings, plus two PBKDF2 runs per device, ~2 ms of
// CPU, worth ~120 events).
const (
	eventsPerNode    = 20  // building a gVisor stack and a session core
	eventsPerPairing = 150 // one PASE handshake with its PBKDF2 work
	// One CASE handshake: ~10 events (Sigma1..StatusReport, acks) plus
	// its ECDH, two signatures and two chain verifications, ~0.5 ms of CPU.
	eventsPerCASE      = 60
	eventsPerOperation = 10 // request, response, acks, timers
	eventsPerReplay    = 4  // an injected frame through the switch to a core
)

// Cost is one part of an Estimate.
type Cost struct {
	// Events is the estimated number of simulator events.
	Events float64
	// Path is the field the cost comes from; What explains it; Fix says
	// how to make it smaller.
	Path, What, Fix string
}

// EstimateResult is what a scenario is expected to cost.
type EstimateResult struct {
	Parts []Cost
	// Largest is the biggest part.
	Largest Cost
}

// Total returns the estimated simulator events.
func (e EstimateResult) Total() float64 {
	t := 0.0
	for _, p := range e.Parts {
		t += p.Events
	}
	return t
}

// Estimate estimates the simulator events a scenario implies: nodes,
// pairings (and re-pairings after reboots), operations (targets × sources
// × active time / interval) and adversary replays. It is an estimate for
// refusing runaway scenarios up front, not a prediction of run.events.
func Estimate(s *Scenario) EstimateResult {
	var r EstimateResult
	add := func(c Cost) {
		r.Parts = append(r.Parts, c)
		if c.Events > r.Largest.Events {
			r.Largest = c
		}
	}
	n := s.NodeCount()
	add(Cost{Events: float64(n) * eventsPerNode, Path: "nodes",
		What: strconv.Itoa(n) + " nodes", Fix: "use fewer nodes"})
	controllers, devices := 0, 0
	for i := range s.Nodes {
		if s.Nodes[i].Role == RoleController {
			controllers += s.Nodes[i].Size()
		} else {
			devices += s.Nodes[i].Size()
		}
	}
	sessions := float64(controllers) * float64(devices)
	if s.Establishment.Method == EstablishPASE {
		add(Cost{Events: sessions * eventsPerPairing, Path: "establishment",
			What: humanCount(sessions) + " PASE pairings", Fix: "use fewer nodes or establishment method keys"})
	}
	if s.Establishment.Method == EstablishCASE {
		add(Cost{Events: sessions * eventsPerCASE, Path: "establishment",
			What: humanCount(sessions) + " CASE handshakes", Fix: "use fewer nodes or establishment method keys"})
	}
	ops := 0.0
	for i := range s.Traffic {
		t := &s.Traffic[i]
		stop := t.Stop
		if stop == 0 {
			stop = s.Duration
		}
		active := stop.D() - t.Start.D()
		if active <= 0 {
			continue
		}
		pairs := float64(s.selectCount(t.From, false)) * float64(s.selectCount(t.To, false))
		if t.Op == OpSubscribe {
			// A keep-alive every max_interval (the changes' reports are
			// costed below).
			k := pairs * (math.Ceil(float64(active)/float64(max(t.MaxInterval.D(), time.Second))) + 1)
			ops += k
			add(Cost{Events: k * eventsPerOperation, Path: "traffic[" + strconv.Itoa(i) + "].max_interval",
				What: "traffic[" + strconv.Itoa(i) + "]: " + humanCount(k) + " subscription reports, " + humanCount(pairs) + " subscriptions with a keep-alive every " + t.MaxInterval.String() + " for " + Duration(active).String(),
				Fix:  "raise max_interval, shorten the run or narrow from/to"})
			continue
		}
		per := math.Ceil(float64(active) / float64(max(t.Interval.D(), 1)))
		k := pairs * per
		ops += k
		add(Cost{Events: k * eventsPerOperation, Path: "traffic[" + strconv.Itoa(i) + "].interval",
			What: "traffic[" + strconv.Itoa(i) + "]: " + humanCount(k) + " operations, " + humanCount(pairs) + " source-target pairs every " + t.Interval.String() + " for " + Duration(active).String(),
			Fix:  "raise interval, shorten the traffic or narrow from/to"})
	}
	for i := range s.Changes {
		ch := &s.Changes[i]
		stop := ch.Stop
		if stop == 0 {
			stop = s.Duration
		}
		active := stop.D() - ch.Start.D()
		if active <= 0 {
			continue
		}
		// Each change is reported to its subscribers: a report, its
		// StatusResponse and their acks.
		k := float64(s.selectCount(ch.Devices, false)) * math.Ceil(float64(active)/float64(max(ch.Interval.D(), 1)))
		ops += k
		add(Cost{Events: k * eventsPerOperation, Path: "changes[" + strconv.Itoa(i) + "].interval",
			What: "changes[" + strconv.Itoa(i) + "]: " + humanCount(k) + " attribute changes every " + ch.Interval.String() + " for " + Duration(active).String(),
			Fix:  "raise interval, shorten the changes or narrow devices"})
	}
	reboots := 0.0
	for i := range s.Events {
		act, sels := s.Events[i].Action()
		if act == ActionReboot || act == ActionPowerOn {
			reboots += float64(s.selectCount(sels, false))
		}
	}
	if reboots > 0 {
		w := float64(eventsPerPairing)
		switch s.Establishment.Method {
		case EstablishKeys:
			w = eventsPerNode
		case EstablishCASE:
			w = eventsPerCASE
		}
		add(Cost{Events: reboots * w * float64(max(controllers, 1)), Path: "events",
			What: humanCount(reboots) + " node boots with re-establishment", Fix: "reboot fewer nodes"})
	}
	for i := range s.Adversary.Rules {
		ru := &s.Adversary.Rules[i]
		caps := float64(ru.Capture)
		if ru.CapturePerNode > 0 {
			caps = float64(ru.CapturePerNode) * float64(n)
		}
		if caps == 0 {
			caps = 4 * ops // every frame of every operation
		}
		k := caps * float64(max(ru.Copies, 1))
		add(Cost{Events: k * eventsPerReplay, Path: "adversary.rules[" + strconv.Itoa(i) + "]",
			What: "rule " + ru.Name + ": " + humanCount(k) + " replays", Fix: "bound capture or copies"})
	}
	return r
}

// humanCount writes 1234567 as 1.2e6 and small counts whole.
func humanCount(f float64) string {
	if f < 1e6 {
		return strconv.FormatFloat(math.Round(f), 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', 2, 64)
}
