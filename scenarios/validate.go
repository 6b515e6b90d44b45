package scenarios

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"

	"mattersim/im"
	"mattersim/nodes"
	"mattersim/session/message"
	"mattersim/session/params"
	"mattersim/session/spake2p"
)

func reflectValue(s *Scenario) reflect.Value { return reflect.ValueOf(s).Elem() }

// Size returns the number of nodes in the group (Count, or 1 when absent).
func (g *NodeGroup) Size() int { return max(g.Count, 1) }

// NodeCount returns the number of nodes of the scenario.
func (s *Scenario) NodeCount() int {
	n := 0
	for i := range s.Nodes {
		n += s.Nodes[i].Size()
	}
	return n
}

// GroupIndex returns the index of the named node group, or -1.
func (s *Scenario) GroupIndex(name string) int {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return i
		}
	}
	return -1
}

// FirstNode returns the node index of group g's first node: groups are
// laid out in file order.
func (s *Scenario) FirstNode(g int) int {
	n := 0
	for i := range g {
		n += s.Nodes[i].Size()
	}
	return n
}

// GroupOf returns the group of node index i, or -1.
func (s *Scenario) GroupOf(i int) int {
	for g := range s.Nodes {
		n := s.Nodes[g].Size()
		if i < n {
			return g
		}
		i -= n
	}
	return -1
}

// Select returns the node indexes the selectors pick, sorted, without
// repeats.
func (s *Scenario) Select(sels Selectors) ([]int, error) {
	var out []int
	for _, sel := range sels {
		if sel.All {
			out = make([]int, s.NodeCount())
			for i := range out {
				out[i] = i
			}
			return out, nil
		}
		g := s.GroupIndex(sel.Group)
		if g < 0 {
			return nil, fmt.Errorf("%s: no node group %q%s", sel, sel.Group, s.groupList())
		}
		lo, hi, err := sel.Bounds(s.Nodes[g].Size())
		if err != nil {
			return nil, err
		}
		first := s.FirstNode(g)
		for i := lo; i < hi; i++ {
			out = append(out, first+i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// selectCount returns how many nodes the selectors pick (all when none).
// It counts without listing: overlapping selectors count once per
// selector, at most NodeCount in all.
func (s *Scenario) selectCount(sels Selectors, absentAll bool) int {
	total := s.NodeCount()
	if len(sels) == 0 && absentAll {
		return total
	}
	n := 0
	for _, sel := range sels {
		if sel.All {
			return total
		}
		g := s.GroupIndex(sel.Group)
		if g < 0 {
			continue
		}
		if lo, hi, err := sel.Bounds(s.Nodes[g].Size()); err == nil {
			n += hi - lo
		}
	}
	return min(n, total)
}

func (s *Scenario) groupList() string {
	names := make([]string, len(s.Nodes))
	for i := range s.Nodes {
		names[i] = s.Nodes[i].Name
	}
	if len(names) == 0 {
		return ""
	}
	return " (groups: " + strings.Join(names, ", ") + ")"
}

// End returns the virtual instant the run ends at the latest: duration +
// drain.
func (s *Scenario) End() time.Duration { return s.Duration.D() + s.Drain.D() }

// MaxNodes bounds the nodes of a scenario, force or not: at about 40 KB
// per node (a gVisor stack and a session core), more would not fit the
// project's 24 GiB machine.
const MaxNodes = 1 << 20

// checker runs the semantic checks after decoding.
type checker struct {
	s   *Scenario
	d   *decoder
	bad []string // paths that already have an error
}

var scenarioNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// check runs every cross-field and cross-reference check, then the event
// budget when nothing else is wrong.
func check(s *Scenario, d *decoder) {
	c := &checker{s: s, d: d}
	for _, e := range d.errs {
		c.bad = append(c.bad, e.Path)
	}
	before := len(d.errs)
	c.top()
	roles := c.nodes()
	if n := s.NodeCount(); n > MaxNodes {
		c.errf("nodes", "%d nodes is more than the %d a run can hold (about 40 KB of memory per node)", n, MaxNodes)
		return
	}
	c.establishment()
	c.groups()
	c.traffic(roles)
	c.changes(roles)
	c.faults()
	c.partitions()
	c.events()
	c.adversary()
	c.assertions()
	c.plots()
	c.sweep()
	if len(d.errs) == 0 && before == 0 {
		c.budget()
	}
}

// errf reports a problem at path unless path, or an ancestor, already has
// one (a follow-up of a decoding error would only repeat it).
func (c *checker) errf(path, format string, args ...any) {
	for _, b := range c.bad {
		if b == path || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return
		}
	}
	c.d.errorf(c.d.at(path), path, format, args...)
}

// anyBad reports whether a path under prefix already has an error.
func (c *checker) anyBad(prefix string) bool {
	for _, b := range c.bad {
		if strings.HasPrefix(b, prefix) {
			return true
		}
	}
	return false
}

// written reports whether the file gives path a value.
func (c *checker) written(path string) bool {
	n, ok := c.d.pos[path]
	if !ok {
		return false
	}
	_, null := n.(*ast.NullNode)
	return !null
}

// positive reports an explicit zero duration where only > 0 makes sense.
func (c *checker) positive(path string, v Duration) {
	if v == 0 && c.written(path) {
		c.errf(path, "must be above 0 (leave it out for the default)")
	}
}

func (c *checker) unique(path, kind, name string, seen map[string]string) {
	if name == "" {
		return
	}
	if first, dup := seen[name]; dup {
		c.errf(path, "duplicate %s name %q (first at %s)", kind, name, first)
		return
	}
	seen[name] = path
}

// sel resolves selectors, reporting a bad one at its own path.
func (c *checker) sel(path string, sels Selectors) ([]int, bool) {
	ok := true
	var out []int
	for i, one := range sels {
		p := path
		if len(sels) > 1 || c.d.pos[path+"[0]"] != nil {
			p = path + "[" + strconv.Itoa(i) + "]"
		}
		ix, err := c.s.Select(Selectors{one})
		if err != nil {
			c.errf(p, "%v", err)
			ok = false
			continue
		}
		out = append(out, ix...)
	}
	slices.Sort(out)
	return slices.Compact(out), ok
}

func (c *checker) top() {
	s := c.s
	if s.Name != "" && (!scenarioNameRE.MatchString(s.Name) || len(s.Name) > 64) {
		c.errf("name", "%q is not a scenario name (lower-case letters, digits, '.', '-', '_'; at most 64)", s.Name)
	}
	c.positive("duration", s.Duration)
	if s.Duration == 0 && !c.written("duration") {
		c.errf("duration", "required field missing")
	}
}

func (c *checker) nodes() []Role {
	s := c.s
	seen := map[string]string{}
	var roles []Role
	controllers, devices := 0, 0
	for i := range s.Nodes {
		g := &s.Nodes[i]
		p := "nodes[" + strconv.Itoa(i) + "]"
		roles = append(roles, g.Role)
		if g.Name != "" && !groupNameRE.MatchString(g.Name) {
			c.errf(p+".name", "%q is not a group name (lower-case letters, digits, '-', '_', starting with a letter)", g.Name)
		}
		c.unique(p+".name", "node group", g.Name, seen)
		if g.Count == 0 && c.written(p+".count") {
			c.errf(p+".count", "0 is below the minimum 1 (leave count out for 1)")
		}
		if g.Role == RoleController {
			controllers++
			if c.written(p + ".model") {
				c.errf(p+".model", "a controller has no data model: model applies to devices")
			}
		} else {
			devices++
		}
		if c.written(p + ".passcode") {
			if err := spake2p.CheckPasscode(g.Passcode); err != nil {
				c.errf(p+".passcode", "%d is not a valid setup passcode (spec 5.1.7.1: 1..99999998, no trivial code such as 11111111 or 12345678)", g.Passcode)
			}
		}
		c.interval(p+".session.idle_interval", g.Session.IdleInterval, params.MaxInterval)
		c.interval(p+".session.active_interval", g.Session.ActiveInterval, params.MaxInterval)
		c.interval(p+".session.active_threshold", g.Session.ActiveThreshold, 65535*time.Millisecond)
		c.positive(p+".mrp.standalone_ack_timeout", g.MRP.StandaloneAckTimeout)
	}
	if len(s.Nodes) > 0 && (controllers == 0 || devices == 0) && !c.anyBad("nodes") {
		c.errf("nodes", "a scenario needs at least one controller group and one device group (%d controller, %d device)", controllers, devices)
	}
	if per := s.devicesPerController(); per > MaxDevicesPerController && !c.anyBad("nodes") {
		nc, nd := 0, 0
		for i := range s.Nodes {
			if s.Nodes[i].Role == RoleController {
				nc += s.Nodes[i].Size()
			} else {
				nd += s.Nodes[i].Size()
			}
		}
		c.errf("nodes", "%d devices over %d controller(s) is %d per controller: a controller holds at most %d sessions (16-bit session ids); use at least %d controllers",
			nd, nc, per, MaxDevicesPerController, (nd+MaxDevicesPerController-1)/MaxDevicesPerController)
	}
	// nodes.PASE tries one passcode at every controller.
	first := -1
	for i := range s.Nodes {
		g := &s.Nodes[i]
		if g.Role != RoleController {
			continue
		}
		if first < 0 {
			first = i
		} else if g.PasscodeOrDefault() != s.Nodes[first].PasscodeOrDefault() {
			c.errf("nodes["+strconv.Itoa(i)+"].passcode", "controller groups %s and %s have different passcodes: every controller tries one passcode (%d)",
				s.Nodes[first].Name, g.Name, s.Nodes[first].PasscodeOrDefault())
		}
	}
	return roles
}

func (c *checker) interval(path string, v Duration, hi time.Duration) {
	if !c.written(path) {
		return
	}
	if v < Duration(time.Millisecond) || v.D() > hi {
		c.errf(path, "%s is out of range 1ms..%s (spec 4.12.8)", v, hi)
	} else if v.D()%time.Millisecond != 0 {
		c.errf(path, "%s is not a whole number of milliseconds (session parameters travel in ms)", v)
	}
}

func (c *checker) establishment() {
	c.positive("establishment.backoff", c.s.Establishment.Backoff)
	c.positive("establishment.timeout", c.s.Establishment.Timeout)
}

// A model's data, built once, for checking read and invoke paths.
var (
	modelsOnce sync.Once
	modelNodes [2]*im.Node
)

func modelNode(m Model) *im.Node {
	modelsOnce.Do(func() {
		modelNodes[ModelBasic] = nodes.BasicModel(1)
		modelNodes[ModelLight] = nodes.DeviceModel(1)
	})
	if int(m) < len(modelNodes) {
		return modelNodes[m]
	}
	return nil
}

// checkRead reports why the model cannot answer a read of path, or "".
func checkRead(m Model, p im.AttributePath) string {
	srv := im.NewServer(modelNode(m))
	rep, st := srv.Read(im.NewReadRequest(p))
	if st != im.StatusSuccess {
		return fmt.Sprintf("the read is refused: %v", st)
	}
	for _, r := range rep.AttributeReports {
		if r.IsStatus() {
			return fmt.Sprintf("the %s model answers %v", m, r.Status.Status)
		}
	}
	if len(rep.AttributeReports) == 0 {
		return fmt.Sprintf("the path selects no attribute of the %s model", m)
	}
	return ""
}

// checkInvoke reports why the model has no such command, or "".
func checkInvoke(m Model, p im.CommandPath) string {
	ep := modelNode(m).Endpoint(p.Endpoint)
	if ep == nil {
		return fmt.Sprintf("the %s model has no endpoint %d", m, p.Endpoint)
	}
	cl := ep.Cluster(p.Cluster)
	if cl == nil {
		return fmt.Sprintf("the %s model has no cluster 0x%04X on endpoint %d", m, p.Cluster, p.Endpoint)
	}
	for _, cmd := range cl.Commands {
		if cmd.ID == p.Command {
			return ""
		}
	}
	return fmt.Sprintf("cluster 0x%04X of the %s model has no command 0x%02X", p.Cluster, m, p.Command)
}

func (c *checker) traffic(roles []Role) {
	s := c.s
	seen := map[string]string{}
	for i := range s.Traffic {
		t := &s.Traffic[i]
		p := "traffic[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "traffic", t.Name, seen)
		from, fromOK := c.sel(p+".from", t.From)
		if fromOK {
			for _, n := range from {
				if g := s.GroupOf(n); roles[g] != RoleController {
					c.errf(p+".from", "group %s is not a controller group: operations start at controllers", s.Nodes[g].Name)
					fromOK = false
					break
				}
			}
		}
		if t.Op == OpGroupInvoke {
			c.groupInvoke(p, t)
		} else if c.written(p + ".group") {
			c.errf(p+".group", "group applies to op group-invoke only (this is %s)", t.Op)
		}
		if t.Op != OpGroupInvoke && !c.written(p+".to") && len(t.To) == 0 {
			c.errf(p+".to", "required field missing")
		}
		var models []Model
		if t.Op == OpGroupInvoke {
			// Its receivers are the group's members (groupInvoke).
		} else if len(t.To) == 0 {
			// Reported above: required.
		} else if to, ok := c.sel(p+".to", t.To); ok {
			if fromOK && len(from) > 0 && !c.anyBad(p) && !c.anyBad("nodes") {
				c.servedPair(p, from, to)
			}
			last := -1
			for _, n := range to {
				g := s.GroupOf(n)
				if g == last {
					continue
				}
				last = g
				if roles[g] != RoleDevice {
					c.errf(p+".to", "group %s is not a device group: operations go to devices", s.Nodes[g].Name)
					break
				}
				if !slices.Contains(models, s.Nodes[g].Model) {
					models = append(models, s.Nodes[g].Model)
				}
			}
		}
		only := func(field string, op Op) {
			if c.written(p + "." + field) {
				c.errf(p+"."+field, "%s applies to op %s only (this is %s)", field, op, t.Op)
			}
		}
		if t.Op == OpSubscribe {
			c.subscribe(p, t, models)
		} else {
			c.notSubscribe(p, t)
		}
		switch t.Op {
		case OpRead:
			only("command", OpInvoke)
			only("payload", OpRequest)
			only("response", OpRequest)
			for j, a := range t.Attributes {
				for _, m := range models {
					if why := checkRead(m, a.Path); why != "" {
						c.errf(p+".attributes["+strconv.Itoa(j)+"]", "%s: %s", a.Path, why)
						break
					}
				}
			}
		case OpInvoke:
			only("attributes", OpRead)
			only("payload", OpRequest)
			only("response", OpRequest)
			if t.Command.IsZero() {
				c.errf(p+".command", "op invoke needs a command (e.g. 1/on_off/toggle)")
			} else {
				for _, m := range models {
					if why := checkInvoke(m, t.Command.Path); why != "" {
						c.errf(p+".command", "%s: %s", t.Command.Path, why)
						break
					}
				}
			}
		case OpRequest:
			only("attributes", OpRead)
			only("command", OpInvoke)
			for _, f := range []struct {
				name string
				v    Size
				min  int
				why  string
			}{{"payload", t.Payload, 4, "its first 4 bytes carry the response size"}, {"response", t.Response, 1, "leave it out for 32B"}} {
				switch {
				case f.v.Bytes() > nodes.MaxEchoPayload:
					c.errf(p+"."+f.name, "%s does not fit one Matter message with the echo header: at most %dB on a 1280-byte IPv6 MTU", f.v, nodes.MaxEchoPayload)
				case f.v.Bytes() < f.min && c.written(p+"."+f.name):
					c.errf(p+"."+f.name, "%s is below %dB (%s)", f.v, f.min, f.why)
				}
			}
		}
		c.positive(p+".interval", t.Interval)
		c.positive(p+".timeout", t.Timeout)
		if t.Interval > 0 && t.Jitter.Of(t.Interval.D()) >= t.Interval.D() {
			c.errf(p+".jitter", "jitter %s is not less than the interval %s (each operation is delayed by [0, jitter))", t.Jitter, t.Interval)
		}
		stop := t.Stop
		if !c.written(p + ".stop") {
			stop = s.Duration
		} else if t.Stop > s.Duration {
			c.errf(p+".stop", "stop %s is after duration %s: operations start only until duration", t.Stop, s.Duration)
		}
		if t.Start >= s.Duration && s.Duration > 0 {
			c.errf(p+".start", "start %s is not before duration %s: nothing would run", t.Start, s.Duration)
		} else if stop <= t.Start && c.written(p+".stop") {
			c.errf(p+".stop", "stop %s is not after start %s", t.Stop, t.Start)
		}
	}
}

// servedPair reports a traffic entry none of whose controllers serves any
// of its devices (Scenario.Served): it would run nothing.
func (c *checker) servedPair(p string, from, to []int) {
	ctrls, served := c.s.Served()
	isTo := map[int]bool{}
	for _, d := range to {
		isTo[d] = true
	}
	for k, ci := range ctrls {
		if _, ok := slices.BinarySearch(from, ci); !ok {
			continue
		}
		for _, d := range served[k] {
			if isTo[d] {
				return
			}
		}
	}
	c.errf(p+".to", "no controller in from serves a device in to: with %d controllers, device k is served by controller k mod %d only", len(ctrls), len(ctrls))
}

// schedule checks an at/for/until triple and returns the end (0: none).
func (c *checker) schedule(p string, at, dur, until Duration) {
	end := Duration(c.s.End())
	if c.s.Drain == 0 {
		end = c.s.Duration
	}
	if at >= end && end > 0 {
		c.errf(p+".at", "at %s is not before the end of the run (%s)", at, end)
	}
	switch {
	case c.written(p+".for") && c.written(p+".until"):
		c.errf(p+".until", "give for or until, not both")
	case c.written(p + ".for"):
		c.positive(p+".for", dur)
	case c.written(p + ".until"):
		if until <= at {
			c.errf(p+".until", "until %s is not after at %s", until, at)
		}
	}
}

func (c *checker) faults() {
	seen := map[string]string{}
	for i := range c.s.Faults {
		f := &c.s.Faults[i]
		p := "faults[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "fault", f.Name, seen)
		c.sel(p+".links.from", f.Links.From)
		c.sel(p+".links.to", f.Links.To)
		c.schedule(p, f.At, f.For, f.Until)
		if f.MTU == 0 && f.Loss == nil && f.Duplicate == nil && f.Corrupt == nil && f.Delay == nil && f.Reorder == nil && f.Rate == nil {
			if !c.written(p + ".mtu") {
				c.errf(p, "a fault needs at least one of mtu, loss, duplicate, corrupt, delay, reorder, rate")
			}
		}
		if f.MTU == 0 && c.written(p+".mtu") {
			c.errf(p+".mtu", "0 drops every frame: mtu must be at least 1B")
		}
		if f.Loss != nil {
			c.loss(p+".loss", f.Loss)
		}
		if f.Reorder != nil && f.Delay == nil {
			c.errf(p+".reorder", "reorder needs a delay in the same fault (netem reorders by sending some frames without the delay)")
		}
		if f.Rate != nil && f.Rate.Bitrate == 0 {
			c.errf(p+".rate.bitrate", "must be above 0bit")
		}
		if f.Match != nil {
			c.match(p+".match", f.Match, false)
		}
	}
}

func (c *checker) loss(p string, l *Loss) {
	fields := map[LossModel][]string{
		LossModelRandom: {"p", "correlation"},
		LossModelGE:     {"p", "r", "loss_bad", "loss_good"},
		LossModelState:  {"p13", "p31", "p32", "p23", "p14"},
	}
	for _, f := range []string{"p", "correlation", "r", "loss_bad", "loss_good", "p13", "p31", "p32", "p23", "p14"} {
		if c.written(p+"."+f) && !slices.Contains(fields[l.Model], f) {
			c.errf(p+"."+f, "%s does not apply to loss model %s (its parameters: %s)", f, l.Model, strings.Join(fields[l.Model], ", "))
		}
	}
	req := "p"
	if l.Model == LossModelState {
		req = "p13"
	}
	if !c.written(p + "." + req) {
		c.errf(p+"."+req, "required field missing (loss model %s)", l.Model)
	}
	if l.Model == LossModelState {
		st := l.Spec().(interface{ Validate() error })
		if err := st.Validate(); err != nil {
			c.errf(p, "%v", err)
		}
	}
}

func (c *checker) match(p string, m *Match, adversary bool) {
	if adversary && m.Injected != nil {
		c.errf(p+".injected", "the adversary never captures injected frames")
	}
	if len(m.Types) > 0 {
		if m.Secure != nil && *m.Secure {
			c.errf(p+".types", "types never match secure messages: their protocol and opcode are encrypted (spec 4.4.1.2)")
		}
		for j, t := range m.Types {
			if t.Type.Vendor == 0 && t.Type.Protocol == message.ProtocolInteractionModel {
				c.errf(p+".types["+strconv.Itoa(j)+"]", "Interaction Model messages travel on secure sessions, whose protocol and opcode are encrypted: this never matches")
			}
		}
	}
	if m.Payload.Max != 0 && m.Payload.Min > m.Payload.Max {
		c.errf(p+".payload", "min %s is above max %s", m.Payload.Min, m.Payload.Max)
	}
}

func (c *checker) partitions() {
	seen := map[string]string{}
	for i := range c.s.Partitions {
		pt := &c.s.Partitions[i]
		p := "partitions[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "partition", pt.Name, seen)
		if len(pt.Sides) < 2 && c.written(p+".sides") {
			c.errf(p+".sides", "a partition needs at least 2 sides, got %d", len(pt.Sides))
		}
		if len(pt.Sides) > 127 {
			c.errf(p+".sides", "at most 127 sides, got %d", len(pt.Sides))
		}
		owner := map[int]int{}
		for j, side := range pt.Sides {
			sp := p + ".sides[" + strconv.Itoa(j) + "]"
			ix, ok := c.sel(sp, side)
			if !ok {
				continue
			}
			for _, n := range ix {
				if o, dup := owner[n]; dup && o != j {
					c.errf(sp, "node %s is on sides %d and %d: sides must be disjoint", c.nodeName(n), o, j)
					break
				}
				owner[n] = j
			}
		}
		c.schedule(p, pt.At, 0, 0)
		if c.written(p+".heal") && pt.Heal <= pt.At {
			c.errf(p+".heal", "heal %s is not after at %s", pt.Heal, pt.At)
		}
	}
}

// nodeName names node index i as group[k].
func (c *checker) nodeName(i int) string {
	g := c.s.GroupOf(i)
	if g < 0 {
		return strconv.Itoa(i)
	}
	return c.s.Nodes[g].Name + "[" + strconv.Itoa(i-c.s.FirstNode(g)) + "]"
}

// Action is what an Event does.
type Action uint8

// Event actions.
const (
	ActionReboot Action = iota + 1
	ActionPowerOff
	ActionPowerOn
)

func (a Action) String() string {
	return [...]string{"", "reboot", "power_off", "power_on"}[a]
}

// Action returns what the event does and to which nodes (0 if it names
// none).
func (e *Event) Action() (Action, Selectors) {
	switch {
	case len(e.Reboot) > 0:
		return ActionReboot, e.Reboot
	case len(e.PowerOff) > 0:
		return ActionPowerOff, e.PowerOff
	case len(e.PowerOn) > 0:
		return ActionPowerOn, e.PowerOn
	}
	return 0, nil
}

func (c *checker) events() {
	type step struct {
		at    Duration
		i     int
		act   Action
		nodes []int
	}
	var steps []step
	for i := range c.s.Events {
		e := &c.s.Events[i]
		p := "events[" + strconv.Itoa(i) + "]"
		n := 0
		for _, f := range []string{"reboot", "power_off", "power_on"} {
			if c.written(p + "." + f) {
				n++
			}
		}
		if n != 1 {
			c.errf(p, "an event does exactly one of reboot, power_off, power_on (this one does %d)", n)
			continue
		}
		c.schedule(p, e.At, 0, 0)
		act, sels := e.Action()
		ix, ok := c.sel(p+"."+act.String(), sels)
		if ok {
			steps = append(steps, step{e.At, i, act, ix})
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return int(a.at - b.at) })
	off := map[int]bool{}
	for _, st := range steps {
		p := "events[" + strconv.Itoa(st.i) + "]." + st.act.String()
		for _, n := range st.nodes {
			var why string
			switch {
			case st.act == ActionReboot && off[n]:
				why = "is powered off then: it cannot reboot (power_on boots it)"
			case st.act == ActionPowerOff && off[n]:
				why = "is already powered off then"
			case st.act == ActionPowerOn && !off[n]:
				why = "is not powered off then"
			}
			if why != "" {
				c.errf(p, "node %s %s", c.nodeName(n), why)
				break
			}
			off[n] = st.act == ActionPowerOff
		}
	}
}

func (c *checker) adversary() {
	seen := map[string]string{}
	for i := range c.s.Adversary.Rules {
		r := &c.s.Adversary.Rules[i]
		p := "adversary.rules[" + strconv.Itoa(i) + "]"
		c.unique(p+".name", "rule", r.Name, seen)
		c.sel(p+".from", r.From)
		c.sel(p+".to", r.To)
		c.match(p+".match", &r.Match, true)
		if r.Capture > 0 && r.CapturePerNode > 0 {
			c.errf(p+".capture_per_node", "give capture or capture_per_node, not both")
		}
		for _, f := range []struct {
			name string
			sel  Selector
		}{{"redirect", r.Redirect}, {"spoof", r.Spoof}} {
			if f.sel.IsZero() {
				continue
			}
			ix, ok := c.sel(p+"."+f.name, Selectors{f.sel})
			if ok && len(ix) != 1 {
				c.errf(p+"."+f.name, "%s selects %d nodes: %s names exactly one (e.g. %s[0])", f.sel, len(ix), f.name, f.sel.Group)
			}
		}
		if r.Interval > 0 && r.Copies <= 1 {
			c.errf(p+".interval", "interval spaces copies: it needs copies above 1")
		}
	}
}

func (c *checker) assertions() {
	for i, a := range c.s.Assertions {
		if a.Group != "" && c.s.GroupIndex(a.Group) < 0 {
			c.errf("assertions["+strconv.Itoa(i)+"]", "no node group %q%s", a.Group, c.s.groupList())
		}
	}
}

func (c *checker) budget() {
	if c.s.Force {
		return
	}
	est := Estimate(c.s)
	if est.Total() <= EventBudget {
		return
	}
	path := est.Largest.Path
	c.errf(path, "the scenario would take about %s simulator events (%s), above the event budget of %s (about %s of wall time): %s; or set force: true (mattersim run --force) to run it anyway",
		humanCount(est.Total()), est.Largest.What, humanCount(EventBudget), budgetWall, est.Largest.Fix)
}
