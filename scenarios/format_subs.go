package scenarios

import (
	"strings"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/sim"
)

// Changes makes devices change their own attributes, as a light switched
// at the wall does (nodes.Change): each device of devices invokes command
// on its own data model, which changes the attribute and is reported to
// its subscribers (traffic op subscribe).
type Changes struct {
	// Name of the entry, unique; for reports. Absent: changes[i].
	Name string `yaml:"name"`
	// Devices that make the changes (light devices for the default
	// command).
	Devices Selectors `yaml:"devices" jsonschema:"required"`
	// The local action: a command of the device's own model, with no
	// command fields. Absent: 1/on_off/toggle.
	Command CommandPath `yaml:"command"`
	// Mean gap between two changes on one device; above 0. The first
	// change falls at a uniform offset in [start, start+interval).
	Interval Duration `yaml:"interval" jsonschema:"required"`
	// Each later change is interval plus a uniform delay in [0, jitter)
	// after the previous one: a duration or a fraction of the interval,
	// less than the interval. Absent: 0.
	Jitter Jitter `yaml:"jitter"`
	// Gaps drawn exponential with mean interval instead (a Poisson process
	// of changes); no jitter then.
	Poisson bool `yaml:"poisson"`
	// When changes may begin. Absent: 0.
	Start Duration `yaml:"start"`
	// When changes end (none at or after stop), at most duration. Absent:
	// duration.
	Stop Duration `yaml:"stop"`
}

// SubscribeOp returns subscribe traffic t as a nodes.SubscribeOp (Targets
// left for the runner).
func (s *Scenario) SubscribeOp(t *Traffic) nodes.SubscribeOp {
	start, _ := s.Window(t)
	o := nodes.SubscribeOp{
		MinInterval: t.MinInterval.D(),
		MaxInterval: t.MaxInterval.D(),
		Start:       clock.Time(start),
		Spread:      t.MaxInterval.D(),
		Timeout:     t.Timeout.D(),
	}
	if len(t.Attributes) > 0 {
		o.Paths = t.Paths()
	}
	return o
}

// changePlan returns each node's local changes (the changes entries that
// select it, in file order).
func (s *Scenario) changePlan(n int) ([][]nodes.Change, error) {
	out := make([][]nodes.Change, n)
	for i := range s.Changes {
		ch := &s.Changes[i]
		ix, err := s.Select(ch.Devices)
		if err != nil {
			return nil, err
		}
		stop := ch.Stop
		if stop == 0 || stop > s.Duration {
			stop = s.Duration
		}
		c := nodes.Change{
			Command: ch.Command.Path, Start: clock.Time(ch.Start), Stop: clock.Time(stop),
			Interval: ch.Interval.D(), Poisson: ch.Poisson,
		}
		if !ch.Poisson {
			c.Jitter = ch.Jitter.Of(ch.Interval.D())
		}
		for _, d := range ix {
			out[d] = append(out[d], c)
		}
	}
	return out, nil
}

// traceSub writes a subscription event of controller n to the trace:
// {"ev":"sub","what":"keepalive","peer":3,...}; what is the node event's
// name without its "sub-" prefix, err the cause of a failed or lost
// subscription, resubscribe an attempt after a loss.
func (d *Net) traceSub(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
	if d.trace == nil {
		return
	}
	fs := []sim.Field{sim.Str("what", strings.TrimPrefix(ev.Kind.String(), "sub-")), sim.Int("peer", int64(ev.Peer)), sim.Int("op", int64(ev.OpIndex))}
	if ev.Kind == nodes.SubRequested && ev.Count > 0 {
		fs = append(fs, sim.Bool("resubscribe", true))
	}
	if ev.Err != nil {
		fs = append(fs, sim.Str("err", ev.Err.Error()))
	}
	d.trace.Event(now, n.Index(), "sub", fs...)
}
