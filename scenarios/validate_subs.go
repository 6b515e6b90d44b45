package scenarios

import (
	"strconv"
	"time"

	"mattersim/im"
)

// subscribe checks a subscribe traffic entry at path p against the models
// of its devices.
func (c *checker) subscribe(p string, t *Traffic, models []Model) {
	for _, f := range []struct{ name, why string }{
		{"interval", "a subscription has no period: the device reports changes and keep-alives (max_interval)"},
		{"jitter", "a subscription has no period"},
		{"stop", "a subscription lasts the run"},
		{"command", "it applies to invoke"},
		{"payload", "it applies to request"},
		{"response", "it applies to request"},
	} {
		if c.written(p + "." + f.name) {
			c.errf(p+"."+f.name, "%s does not apply to op subscribe: %s", f.name, f.why)
		}
	}
	paths := t.Attributes
	if len(paths) == 0 {
		paths = []AttributePath{{Path: im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)}}
	}
	for j, a := range paths {
		for _, m := range models {
			if why := checkRead(m, a.Path); why != "" {
				at := p + ".attributes[" + strconv.Itoa(j) + "]"
				if len(t.Attributes) == 0 {
					at = p + ".to"
					why += " (the default attribute 1/on_off/on_off; give attributes for another model)"
				}
				c.errf(at, "%s: %s", a.Path, why)
				break
			}
		}
	}
	whole := func(field string, v Duration, lo time.Duration) {
		switch {
		case v.D()%time.Second != 0:
			c.errf(p+"."+field, "%s is not whole seconds (the SubscribeRequest carries seconds)", v)
		case v.D() > 65535*time.Second:
			c.errf(p+"."+field, "%s is above 65535s (a 16-bit count of seconds)", v)
		case v.D() < lo:
			c.errf(p+"."+field, "%s is below %s", v, Duration(lo))
		}
	}
	whole("min_interval", t.MinInterval, 0)
	if !c.written(p + ".max_interval") {
		c.errf(p+".max_interval", "required field missing (op subscribe needs max_interval, e.g. 60s)")
	} else {
		whole("max_interval", t.MaxInterval, max(t.MinInterval.D(), time.Second))
	}
	c.positive(p+".timeout", t.Timeout)
}

// notSubscribe reports the subscribe-only fields on another op, and a
// missing interval.
func (c *checker) notSubscribe(p string, t *Traffic) {
	for _, f := range []string{"min_interval", "max_interval"} {
		if c.written(p + "." + f) {
			c.errf(p+"."+f, "%s applies to op subscribe only (this is %s)", f, t.Op)
		}
	}
	if !c.written(p + ".interval") {
		c.errf(p+".interval", "required field missing")
	}
}

// changes checks the changes entries.
func (c *checker) changes(roles []Role) {
	s := c.s
	seen := map[string]string{}
	for i := range s.Changes {
		ch := &s.Changes[i]
		p := "changes[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "changes", ch.Name, seen)
		cmd := ch.Command.Path
		if ch.Command.IsZero() {
			cmd = im.CommandPath{Endpoint: 1, Cluster: im.ClusterOnOff, Command: im.OnOffCmdToggle}
		}
		if ix, ok := c.sel(p+".devices", ch.Devices); ok {
			if len(ix) == 0 && c.written(p+".devices") {
				c.errf(p+".devices", "selects no node")
			}
			last := -1
			for _, n := range ix {
				g := s.GroupOf(n)
				if g == last {
					continue
				}
				last = g
				if roles[g] != RoleDevice {
					c.errf(p+".devices", "group %s is not a device group: changes happen on devices", s.Nodes[g].Name)
					break
				}
				if why := checkInvoke(s.Nodes[g].Model, cmd); why != "" {
					at := p + ".command"
					if ch.Command.IsZero() {
						at = p + ".devices"
						why += " (the default command 1/on_off/toggle needs model light)"
					}
					c.errf(at, "group %s: %s: %s", s.Nodes[g].Name, cmd, why)
					break
				}
			}
		}
		if ch.Interval == 0 && c.written(p+".interval") {
			c.errf(p+".interval", "must be above 0: the mean gap between two changes on a device")
		}
		if ch.Interval > 0 && ch.Jitter.Of(ch.Interval.D()) >= ch.Interval.D() {
			c.errf(p+".jitter", "jitter %s is not less than the interval %s", ch.Jitter, ch.Interval)
		}
		if ch.Poisson && c.written(p+".jitter") {
			c.errf(p+".jitter", "jitter does not apply with poisson: the gaps are exponential")
		}
		if c.written(p+".stop") && ch.Stop > s.Duration {
			c.errf(p+".stop", "stop %s is after duration %s", ch.Stop, s.Duration)
		}
		if ch.Start >= s.Duration && s.Duration > 0 {
			c.errf(p+".start", "start %s is not before duration %s: nothing would change", ch.Start, s.Duration)
		} else if c.written(p+".stop") && ch.Stop <= ch.Start {
			c.errf(p+".stop", "stop %s is not after start %s", ch.Stop, ch.Start)
		}
	}
}
