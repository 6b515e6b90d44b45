package scenarios

import "strconv"

// groups checks the group definitions and group_sync.
func (c *checker) groups() {
	s := c.s
	seen := map[string]string{}
	ids := map[int]string{}
	for i := range s.Groups {
		g := &s.Groups[i]
		p := "groups[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "group", g.Name, seen)
		if g.ID != 0 {
			if first, dup := ids[g.ID]; dup {
				c.errf(p+".id", "group id %d is already %s's", g.ID, first)
			}
			ids[g.ID] = p
		}
		if ix, ok := c.sel(p+".members", g.Members); ok && len(ix) == 0 && c.written(p+".members") {
			c.errf(p+".members", "selects no node")
		}
	}
	gs := &s.GroupSync
	c.positive("group_sync.timeout", gs.Timeout)
	if c.written("group_sync") && len(s.Groups) == 0 {
		c.errf("group_sync", "group_sync without groups: nothing receives group messages")
	}
}

// groupInvoke checks a group-invoke traffic entry at path p.
func (c *checker) groupInvoke(p string, t *Traffic) {
	for _, f := range []string{"to", "attributes", "payload", "response", "timeout"} {
		if c.written(p + "." + f) {
			why := "it applies to other ops"
			if f == "to" {
				why = "the receivers are the group's members"
			}
			if f == "timeout" {
				why = "a group command gets no answer to wait for"
			}
			c.errf(p+"."+f, "%s does not apply to op group-invoke: %s", f, why)
		}
	}
	if t.Group == "" {
		c.errf(p+".group", "op group-invoke needs a group (one of groups[].name)")
		return
	}
	g := c.s.GroupByName(t.Group)
	if g == nil {
		if len(c.s.Groups) == 0 {
			c.errf(p+".group", "no group %q: the scenario defines no groups", t.Group)
			return
		}
		names := make([]string, len(c.s.Groups))
		for i := range c.s.Groups {
			names[i] = c.s.Groups[i].Name
		}
		c.errf(p+".group", "no group %q (want %s)", t.Group, orList(names))
		return
	}
	if !t.Command.IsZero() {
		if why := checkInvoke(ModelLight, t.Command.Path); why != "" {
			c.errf(p+".command", "%s: %s", t.Command.Path, why)
		}
	}
}

// GroupByName returns the group named name, or nil.
func (s *Scenario) GroupByName(name string) *GroupDef {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return &s.Groups[i]
		}
	}
	return nil
}
