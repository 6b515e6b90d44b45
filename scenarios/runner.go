package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/scenarios/metrics"
	"mattersim/session"
	"mattersim/session/mrp"
	"mattersim/sim"
	"mattersim/sim/adversary"
)

// RunConfig is what a run takes besides its scenario: where the trace and
// the capture go, an interrupt, and progress reports. The zero value runs
// with none of them.
type RunConfig struct {
	// Trace, if set, receives the JSON-lines trace (sim.Trace) with the
	// session events of every node.
	Trace io.Writer
	// Pcap, if set, receives a capture of every frame (sim.Pcap).
	Pcap io.Writer
	// PcapPlaintext, if set, receives the same capture with every secure
	// unicast message replaced by its plaintext, marked as such
	// (sim/capture: PlaintextFlag, PlaintextPort).
	PcapPlaintext io.Writer
	// KeyLog, if set, receives one line per secure session established
	// (capture.KeyLog): what decrypts the capture.
	KeyLog io.Writer
	// Interrupt, if set, is read between events: once it is true the run
	// stops after the event in progress, flushes the trace and the
	// capture, and its Summary says Interrupted. Set it from any
	// goroutine (a signal handler).
	Interrupt *atomic.Bool
	// Progress, if set, is called from the run's goroutine while the
	// network is built and while it runs, at most every ProgressEvery of
	// wall time (0: 100ms), and once at the end of each phase.
	Progress      func(Progress)
	ProgressEvery time.Duration

	// devicePasscode, when set, gives device i's passcode (Options).
	devicePasscode func(i int) uint32
}

// Phase names what a Progress report is about.
type Phase uint8

// Phases of a run.
const (
	PhaseBuild Phase = iota + 1 // nodes and stacks being built
	PhaseRun                    // operations starting (before duration)
	PhaseDrain                  // winding down after duration
	PhaseDone
)

func (p Phase) String() string {
	return [...]string{"", "build", "run", "drain", "done"}[p]
}

// Progress is one progress report.
type Progress struct {
	Phase Phase
	// Build: nodes built of Nodes.
	Built, Nodes int
	// Run and drain: the virtual time reached, and the latest end
	// (duration + drain).
	Virtual, End time.Duration
	// Events processed so far; Wall is the wall time since the phase
	// began (build) or since the run began (run, drain).
	Events uint64
	Wall   time.Duration
}

// Scenario node ids (spec 2.5.5.1, operational range): the c-th
// controller of the scenario is ControllerNodeID + c, the device at node
// index i is DeviceNodeID(i).

// Served returns, per controller of the scenario (in node order), the node
// indexes of the devices it serves: the scenario's devices in node order,
// dealt round-robin, the k-th device (0-based) to the (k mod C)-th
// controller. A controller opens sessions with, and runs traffic against,
// only the devices it serves.
func (s *Scenario) Served() (controllers []int, served [][]int) {
	var devices []int
	for i := range s.Nodes {
		first := s.FirstNode(i)
		for j := range s.Nodes[i].Size() {
			if s.Nodes[i].Role == RoleController {
				controllers = append(controllers, first+j)
			} else {
				devices = append(devices, first+j)
			}
		}
	}
	if len(controllers) == 0 {
		return nil, nil
	}
	served = make([][]int, len(controllers))
	for k, d := range devices {
		c := k % len(controllers)
		served[c] = append(served[c], d)
	}
	return controllers, served
}

// devicesPerController returns the most devices one controller serves:
// ceil(devices / controllers).
func (s *Scenario) devicesPerController() int {
	c, d := 0, 0
	for i := range s.Nodes {
		if s.Nodes[i].Role == RoleController {
			c += s.Nodes[i].Size()
		} else {
			d += s.Nodes[i].Size()
		}
	}
	if c == 0 {
		return 0
	}
	return (d + c - 1) / c
}

// Operation returns traffic t as a nodes.Operation (Targets left for the
// runner): the conventions of the format mapped onto the Client's.
func (s *Scenario) Operation(t *Traffic) nodes.Operation {
	start, stop := s.Window(t)
	o := nodes.Operation{
		Start:    clock.Time(start),
		Stop:     clock.Time(stop),
		Interval: t.Interval.D(),
		Jitter:   t.Jitter.Of(t.Interval.D()),
		Timeout:  t.ResponseTimeout(),
	}
	switch t.Op {
	case OpRead:
		o.Kind = nodes.OpRead
		if len(t.Attributes) > 0 {
			o.Paths = t.Paths()
		}
	case OpInvoke:
		o.Kind = nodes.OpInvoke
		o.Command = t.Command.Path
	case OpRequest:
		o.Kind = nodes.OpRequest
		o.RequestSize, o.ResponseSize = t.Payload.Bytes(), t.Response.Bytes()
	}
	return o
}

// NewNet builds the network of a loaded scenario, ready to Run: its node
// groups (controllers running a nodes.Client with the traffic that starts
// from them, devices a nodes.Responder on their model), their sessions
// (PASE from time 0 or installed keys), the faults on their links with
// their schedules, partitions, node events and the adversary. Metrics
// collects everything, per node group. Devices' PASE verifiers are
// computed in parallel. See Served for which controller serves which
// device.
func NewNet(s *Scenario, rc RunConfig) (*Net, error) {
	start := time.Now()
	d, err := build(s, rc)
	if err != nil {
		return nil, err
	}
	d.BuildWall = time.Since(start)
	return d, nil
}

func build(s *Scenario, rc RunConfig) (*Net, error) {
	e := sim.New(s.Seed)
	sn, err := sim.NewNetwork(e, sim.NetConfig{Mode: s.Network.Sim()})
	if err != nil {
		return nil, err
	}
	d := &Net{Scenario: s, Engine: e, Net: sn, rc: rc}
	if rc.Trace != nil {
		d.trace = sim.NewTrace(rc.Trace)
		e.SetTrace(d.trace)
	}
	if rc.Pcap != nil {
		d.bw = bufio.NewWriterSize(rc.Pcap, 64<<10)
		if d.pcap, err = sim.NewPcap(d.bw); err != nil {
			return nil, fmt.Errorf("scenarios: pcap: %w", err)
		}
		sn.SetPcap(d.pcap)
	}
	if err := d.setupCaptures(sn); err != nil {
		return nil, err
	}
	seeds := e.Seeds()
	N := s.NodeCount()
	gp, err := newGroupPlan(s, seeds, N)
	if err != nil {
		return nil, err
	}
	groupOf := make([]int, N)
	names := make([]string, len(s.Nodes))
	for g := range s.Nodes {
		names[g] = s.Nodes[g].Name
		first := s.FirstNode(g)
		for j := range s.Nodes[g].Size() {
			groupOf[first+j] = g
		}
	}
	if d.Metrics, err = metrics.NewCollector(names, groupOf); err != nil {
		return nil, err
	}
	// The series the plots draw (reports/plot); the loader checked the
	// references.
	if err = d.Metrics.Track(s.Tracked()...); err != nil {
		return nil, err
	}
	sn.Observe(d.Metrics)

	ctrls, served := s.Served()
	d.Controllers = ctrls
	ctrlOrdinal := make(map[int]int, len(ctrls))
	for c, i := range ctrls {
		ctrlOrdinal[i] = c
	}

	var est nodes.Establisher
	switch s.Establishment.Method {
	case EstablishKeys:
		est = &nodes.InstallKeys{Keys: seeds.ChaCha8(sim.NoNode, "establish/keys")}
	case EstablishCASE:
		if d.CASE, err = caseEstablisher(s, seeds, N, ctrls, served); err != nil {
			return nil, err
		}
		est = d.CASE
	case EstablishCommission:
		if d.Commission, err = commissionEstablisher(s, seeds, groupOf, ctrls, served); err != nil {
			return nil, err
		}
		est = d.Commission
	default:
		p := s.Establishment.PASE()
		p.Passcode = s.Nodes[groupOf[ctrls[0]]].PasscodeOrDefault()
		p.Rand = func(n *nodes.Node) io.Reader { return seeds.ChaCha8(n.Index(), "establish/pase") }
		if f := rc.devicePasscode; f != nil {
			p.DevicePasscode = func(n *nodes.Node) uint32 { return f(n.Index()) }
		} else {
			p.DevicePasscode = func(n *nodes.Node) uint32 { return s.Nodes[groupOf[n.Index()]].PasscodeOrDefault() }
		}
		if s.Establishment.SharedSalt {
			p.SharedSalt = make([]byte, 32)
			if _, err := io.ReadFull(seeds.ChaCha8(sim.NoNode, "establish/salt"), p.SharedSalt); err != nil {
				return nil, err
			}
		}
		d.PASE = p
		est = p
	}

	// Traffic: each controller runs the entries that start from it,
	// against the devices it serves that the entry names.
	sets := make([][2][]bool, len(s.Traffic))
	for ti := range s.Traffic {
		t := &s.Traffic[ti]
		if t.Op == OpGroupInvoke {
			continue // groupPlan.senders
		}
		for k, sels := range []Selectors{t.From, t.To} {
			ix, err := s.Select(sels)
			if err != nil {
				return nil, err
			}
			b := make([]bool, N)
			for _, i := range ix {
				b[i] = true
			}
			sets[ti][k] = b
		}
	}
	subscribed := make([]bool, N) // devices some subscription targets
	var subscribers []*nodes.Subscriber
	for c, ci := range ctrls {
		var ops []nodes.Operation
		var subOps []nodes.SubscribeOp
		for ti := range s.Traffic {
			if s.Traffic[ti].Op == OpGroupInvoke || !sets[ti][0][ci] {
				continue
			}
			var targets []int
			for j, dev := range served[c] {
				if sets[ti][1][dev] {
					targets = append(targets, j)
				}
			}
			if len(targets) == 0 {
				continue
			}
			if s.Traffic[ti].Op == OpSubscribe {
				o := s.SubscribeOp(&s.Traffic[ti])
				if len(targets) < len(served[c]) {
					o.Targets = targets
				}
				for _, j := range targets {
					subscribed[served[c][j]] = true
				}
				subOps = append(subOps, o)
				continue
			}
			o := s.Operation(&s.Traffic[ti])
			if len(targets) < len(served[c]) {
				o.Targets = targets
			}
			ops = append(ops, o)
		}
		// The first controller's stream keeps the name it had when the
		// default network had one controller.
		purpose := "workload/reader"
		if c > 0 {
			purpose += "/" + strconv.Itoa(c)
		}
		cl := &nodes.Client{Ops: ops, Rand: seeds.Stream(ci, purpose), Establisher: est}
		if err := cl.Validate(); err != nil {
			return nil, fmt.Errorf("scenarios: controller %d: %w", ci, err)
		}
		d.Clients = append(d.Clients, cl)
		var sub *nodes.Subscriber
		if len(subOps) > 0 {
			mine := served[c]
			sub = &nodes.Subscriber{Client: cl, Ops: subOps, Rand: seeds.Stream(ci, "workload/subscribe"),
				Local:  s.Nodes[groupOf[ci]].Session.Intervals(),
				PeerOf: func(t int) mrp.Intervals { return s.Nodes[groupOf[mine[t]]].Session.Intervals() }}
			if err := sub.Validate(); err != nil {
				return nil, fmt.Errorf("scenarios: controller %d: %w", ci, err)
			}
		}
		subscribers = append(subscribers, sub)
	}
	changes, err := s.changePlan(N)
	if err != nil {
		return nil, err
	}

	cfgs := make([]session.Config, len(s.Nodes))
	for g := range s.Nodes {
		cfgs[g] = s.SessionConfig(g)
		if gp != nil {
			cfgs[g].Group = s.GroupConfig()
		}
	}
	for i := range N {
		if rc.Progress != nil && i%1024 == 0 {
			d.progress(Progress{Phase: PhaseBuild, Built: i, Nodes: N}, false)
		}
		snode, err := sn.AddNode()
		if err != nil {
			return nil, err
		}
		g := groupOf[i]
		var w nodes.Workload
		id := DeviceNodeID(i)
		c, isCtrl := ctrlOrdinal[i]
		if isCtrl {
			w = d.Clients[c]
			if sub := subscribers[c]; sub != nil {
				w = nodes.Workloads{w, sub}
				d.Subscribers = append(d.Subscribers, sub)
			}
			id = controllerNodeID(c)
		} else {
			var model = nodes.BasicModel(i)
			if s.Nodes[g].Model == ModelLight {
				model = nodes.DeviceModel(i)
			}
			r := &nodes.Responder{Model: model}
			if subscribed[i] || len(changes[i]) > 0 {
				r.Subs = &nodes.Publisher{Changes: changes[i], Rand: seeds.Stream(i, "workload/changes")}
				if err := r.Subs.Validate(); err != nil {
					return nil, fmt.Errorf("scenarios: node %d: %w", i, err)
				}
			}
			d.Responders = append(d.Responders, r)
			d.Devices = append(d.Devices, i)
			w = r
		}
		senders, err := gp.senders(s, seeds, i)
		if err != nil {
			return nil, err
		}
		if len(senders) > 0 {
			w = append(nodes.Workloads{w}, senders...)
		}
		factory := coreFactory(seeds, i, cfgs[g])
		if gp != nil && len(gp.holds[i]) > 0 {
			base, nodeID := factory, id
			factory = func(boot int, st *nodes.Store) (*session.Manager, error) {
				m, err := base(boot, st)
				if err == nil {
					err = gp.provision(s, m, i, nodeID, st)
				}
				return m, err
			}
		}
		nd, err := nodes.NewBooted(i, id, factory, w)
		if err != nil {
			return nil, fmt.Errorf("scenarios: node %d: %w", i, err)
		}
		sock, err := snode.Bind(sim.MatterPort, nd)
		if err != nil {
			return nil, err
		}
		if err := gp.join(s, i, snode); err != nil {
			return nil, err
		}
		nd.Attach(sock)
		if d.trace != nil {
			nd.OnEvent = traceEvent(d.trace)
		}
		if isCtrl {
			nd.OnNodeEvent = d.controllerEvent
		}
		d.watchKeys(nd)
		d.Metrics.Attach(nd)
		d.Nodes = append(d.Nodes, nd)
	}
	plan, err := newFaultPlan(s)
	if err != nil {
		return nil, err
	}
	plan.install(sn, s)

	if d.PASE != nil {
		devs := make([]*nodes.Node, len(d.Devices))
		for k, i := range d.Devices {
			devs[k] = d.Nodes[i]
		}
		if err := d.PASE.Precompute(devs, 0); err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
	}
	if d.CASE != nil {
		if err := d.CASE.Prepare(d.Nodes); err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
	}
	if d.Commission != nil {
		if err := d.commissionees(rc); err != nil {
			return nil, err
		}
	}
	// Sessions, in device order.
	for k, i := range d.Devices {
		c := k % len(ctrls)
		cl := d.Clients[c]
		cl.Connect(0, d.Nodes[ctrls[c]], cl.AddTarget(d.Nodes[i]))
	}
	if s.Establishment.Method == EstablishKeys && len(d.EstablishErrors) > 0 {
		return nil, errors.Join(d.EstablishErrors...)
	}
	for pi := range s.Partitions {
		pt := &s.Partitions[pi]
		sides := make([][]int, len(pt.Sides))
		for j, side := range pt.Sides {
			if sides[j], err = s.Select(side); err != nil {
				return nil, err
			}
		}
		part := sn.NewPartition(sides...)
		if pt.At == 0 {
			part.Activate()
		} else {
			part.ActivateAt(clock.Time(pt.At))
		}
		if pt.Heal > 0 {
			part.HealAt(clock.Time(pt.Heal))
		}
	}
	for ei := range s.Events {
		act, sels := s.Events[ei].Action()
		ix, err := s.Select(sels)
		if err != nil {
			return nil, err
		}
		f := map[Action]func(*nodes.Node, clock.Time) error{
			ActionReboot: (*nodes.Node).Reboot, ActionPowerOff: (*nodes.Node).PowerOff, ActionPowerOn: (*nodes.Node).PowerOn,
		}[act]
		for _, i := range ix {
			if err := d.schedule(clock.Time(s.Events[ei].At), i, f); err != nil {
				return nil, err
			}
		}
	}
	if len(s.Adversary.Rules) > 0 {
		rules, err := s.AdversaryRules()
		if err != nil {
			return nil, err
		}
		d.Attacker = adversary.New(sn, rules...)
		if s.Adversary.Capacity > 0 {
			d.Attacker.SetCapacity(s.Adversary.Capacity)
		}
		sn.OnDeliver(d.Attacker.Observe)
	}
	d.progress(Progress{Phase: PhaseBuild, Built: N, Nodes: N}, true)
	return d, nil
}

// progress reports p if a report is due (or final).
func (d *Net) progress(p Progress, final bool) {
	if d.rc.Progress == nil {
		return
	}
	now := time.Now()
	if d.phaseStart.IsZero() || d.phase != p.Phase {
		if d.phase != p.Phase && p.Phase != PhaseDrain {
			d.phaseStart = now
		}
		d.phase = p.Phase
	}
	every := d.rc.ProgressEvery
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	if !final && now.Sub(d.lastReport) < every {
		return
	}
	d.lastReport = now
	p.Wall = now.Sub(d.phaseStart)
	d.rc.Progress(p)
}

// interrupted reports whether the run was asked to stop.
func (d *Net) interrupted() bool {
	return d.rc.Interrupt != nil && d.rc.Interrupt.Load()
}

// stepsUntil runs events due at or before t until none is left or the run
// is interrupted, reporting progress; it returns false when interrupted.
func (d *Net) stepsUntil(t clock.Time, phase Phase, strict bool) bool {
	e := d.Engine
	end := time.Duration(d.Scenario.End())
	n := 0
	for {
		if d.interrupted() {
			d.Interrupted = true
			return false
		}
		// Before duration, no event past t may run (Engine.RunUntil);
		// during the wind-down the run goes on while the next queued
		// entry is due by t.
		if strict {
			if !e.StepUntil(t) {
				return true
			}
		} else if e.Next() > t || !e.Step() {
			return true
		}
		if n++; n&1023 == 0 && d.rc.Progress != nil {
			d.progress(Progress{Phase: phase, Virtual: time.Duration(e.Now()), End: end, Events: e.Processed()}, false)
		}
	}
}
