// Package scenarios builds runnable simulations from nodes, the simulator
// and its fault and adversary models. It holds the built-in default network
// that `mattersim run` executes.
package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"mattersim/clock"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/scenarios/metrics"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/sim"
	"mattersim/sim/adversary"
)

// Defaults of the built-in network (DefaultOptions).
const (
	DefaultNodes        = 50
	DefaultLossPercent  = 5.0
	DefaultDuration     = time.Minute
	DefaultReadInterval = 5 * time.Second
	// DrainLimit bounds the wind-down after Duration: workloads stop
	// starting work and the run continues until nothing is left to do
	// (every read answered, given up or timed out) or this much virtual time
	// has passed.
	DrainLimit = 2 * time.Minute
	// ReplayCap is how many frames each attacker rule captures at most.
	ReplayCap = 250
	// DefaultPasscode is the setup passcode of every device and the one
	// the controller tries: the SDK's test passcode (connectedhomeip
	// CHIPDeviceConfig.h CHIP_DEVICE_CONFIG_USE_TEST_SETUP_PIN_CODE).
	DefaultPasscode uint32 = 20202021
)

// Establishment is how the controller's sessions with the devices are
// opened.
type Establishment uint8

// Establishment methods.
const (
	// EstablishPASE (the zero value, the default) pairs every device by
	// PASE over the simulated network (nodes.PASE, spec 4.14.1).
	EstablishPASE Establishment = iota
	// EstablishKeys installs CASE-style sessions from keys drawn from the
	// run's seeded stream at time 0 (nodes.InstallKeys): no handshake. It
	// keeps very large networks cheap: PASE costs one PBKDF2 (1000
	// iterations, ~1 ms) per handshake at the controller.
	EstablishKeys
	// EstablishCASE commissions every node into one fabric minted at build
	// time by the test CA (session/cert/testca, from the run's seed) and
	// opens every session by a CASE handshake over the simulated network
	// (nodes.CASE, spec 4.14.2), resumed when both ends kept the
	// resumption record (spec 4.14.2.5).
	EstablishCASE
	// EstablishCommission has each controller commission the devices it
	// serves (nodes.Commission: PASE, the commissioner.Flow with device
	// attestation, a NOC from the controller's fabric, CASE,
	// CommissioningComplete), then reach them over CASE. Devices run the
	// commissionable stack (nodes/commissionee), which keeps its fabric
	// table across reboots.
	EstablishCommission
)

func (e Establishment) String() string {
	switch e {
	case EstablishPASE:
		return "pase"
	case EstablishKeys:
		return "keys"
	case EstablishCASE:
		return "case"
	case EstablishCommission:
		return "commission"
	}
	return fmt.Sprintf("establishment(%d)", uint8(e))
}

// ParseEstablishment parses "pase", "keys", "case" or "commission".
func ParseEstablishment(s string) (Establishment, error) {
	switch s {
	case "pase":
		return EstablishPASE, nil
	case "keys":
		return EstablishKeys, nil
	case "case":
		return EstablishCASE, nil
	case "commission":
		return EstablishCommission, nil
	}
	return 0, &OptionError{"Establish", fmt.Sprintf("unknown method %q (want pase, keys, case or commission)", s)}
}

// Link impairment besides loss: every directed link delays frames by
// LinkDelay ± LinkJitter (uniform, netem "delay 2ms 2ms"), on top of the
// switch's 1 ms hop, so frames sent close together arrive out of order.
const (
	LinkDelay  = 2 * time.Millisecond
	LinkJitter = 2 * time.Millisecond
)

// Options configures the default network. The zero value is valid: 50
// nodes, one virtual minute, no loss, seed 0, the attacker on, sessions by
// PASE with DefaultPasscode.
// DefaultOptions is the network `mattersim run` runs with no flags.
type Options struct {
	Seed uint64
	// Nodes is the number of nodes: Controllers controllers, then devices;
	// 0 = DefaultNodes; at least Controllers+1.
	Nodes int
	// Controllers is how many of the nodes are controllers (the first
	// ones); 0 = 1. Device j (network index) is served by controller
	// j mod Controllers. A controller holds at most MaxDevicesPerController
	// sessions (16-bit session ids), so networks beyond 65,536 nodes need
	// more than one.
	Controllers int
	// LossPercent is the Bernoulli loss on every directed link, in percent
	// [0, 100].
	LossPercent float64
	// Duration is the virtual time during which the controller starts
	// reads; 0 = DefaultDuration. The run then winds down (DrainLimit).
	Duration time.Duration
	// ReadInterval is the gap between two reads of one device; 0 =
	// DefaultReadInterval.
	ReadInterval time.Duration
	// NoAttacker leaves the replaying attacker out.
	NoAttacker bool
	// Establish is how sessions are opened; the zero value is PASE.
	Establish Establishment
	// Passcode is the controller's passcode, and every device's unless
	// DevicePasscode says otherwise; 0 = DefaultPasscode. PASE only.
	Passcode uint32
	// DevicePasscode, if set, returns the passcode of the device at
	// network index i (1-based). PASE only.
	DevicePasscode func(i int) uint32
	// Trace, if set, receives the JSON-lines trace (sim.Trace) with the
	// session events of every node.
	Trace io.Writer
	// Pcap, if set, receives a capture of every frame (sim.Pcap).
	Pcap io.Writer
}

// DefaultOptions returns the README's default network: seed 1, 50 nodes, 5%
// loss, one virtual minute.
func DefaultOptions() Options {
	return Options{Seed: 1, Nodes: DefaultNodes, LossPercent: DefaultLossPercent, Duration: DefaultDuration}
}

// OptionError reports an invalid option.
type OptionError struct {
	Option string // the field, e.g. "Nodes"
	Reason string
}

func (e *OptionError) Error() string { return "scenarios: " + e.Option + ": " + e.Reason }

var _ error = (*OptionError)(nil)

// MaxDevicesPerController is the most devices one controller serves: one
// secure session each, and a node has at most 65,535 local session ids
// (16 bits, 0 excluded; spec 4.13.2.1).
const MaxDevicesPerController = 0xFFFF

func (o Options) normalize() (Options, error) {
	if o.Nodes == 0 {
		o.Nodes = DefaultNodes
	}
	if o.Controllers == 0 {
		o.Controllers = 1
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.ReadInterval == 0 {
		o.ReadInterval = DefaultReadInterval
	}
	switch {
	case o.Controllers < 0:
		return o, &OptionError{"Controllers", fmt.Sprintf("must be positive, got %d", o.Controllers)}
	case o.Nodes < o.Controllers+1:
		return o, &OptionError{"Nodes", fmt.Sprintf("need at least %d (%d controller(s) + 1 device), got %d", o.Controllers+1, o.Controllers, o.Nodes)}
	case (o.Nodes-1)/o.Controllers > MaxDevicesPerController: // ceil(devices / controllers)
		devs := o.Nodes - o.Controllers
		return o, &OptionError{"Controllers", fmt.Sprintf("%d devices need at least %d controllers (one holds at most %d sessions), got %d",
			devs, (devs+MaxDevicesPerController-1)/MaxDevicesPerController, MaxDevicesPerController, o.Controllers)}
	case !(o.LossPercent >= 0 && o.LossPercent <= 100):
		return o, &OptionError{"LossPercent", fmt.Sprintf("must be in [0, 100], got %v", o.LossPercent)}
	case o.Duration < 0:
		return o, &OptionError{"Duration", fmt.Sprintf("must be positive, got %s", o.Duration)}
	case o.ReadInterval < 0:
		return o, &OptionError{"ReadInterval", fmt.Sprintf("must be positive, got %s", o.ReadInterval)}
	case o.Establish > EstablishCommission:
		return o, &OptionError{"Establish", fmt.Sprintf("unknown method %d", o.Establish)}
	}
	if o.Passcode == 0 {
		o.Passcode = DefaultPasscode
	}
	return o, nil
}

// Net is a built network, ready to Run: a scenario's (NewNet) or the
// default network's (Build). Its fields are for tests and reports; do not
// change them. Not safe for concurrent use.
type Net struct {
	// Opts are the normalized options of a network made by Build (the
	// zero value for NewNet).
	Opts Options
	// Scenario is what was built (for Build: the shipped default scenario
	// with Opts applied).
	Scenario *Scenario
	Engine   *sim.Engine
	Net      *sim.Network
	Nodes    []*nodes.Node // in node index order (groups in file order)
	// Controllers are the controllers' node indexes; Clients[c] is the
	// workload of controller Controllers[c]: the scenario's traffic
	// against the devices it serves (Scenario.Served).
	Controllers []int
	Clients     []*nodes.Client
	// Subscribers are the controllers' subscription workloads, in
	// controller order (only controllers with subscribe traffic have one).
	Subscribers []*nodes.Subscriber
	// Devices are the devices' node indexes; Responders[k] runs on
	// Nodes[Devices[k]].
	Devices    []int
	Responders []*nodes.Responder
	Attacker   *adversary.Attacker // nil without adversary rules
	// PASE is the establisher when sessions are established by PASE.
	PASE *nodes.PASE
	// CASE is the establisher when sessions are established by CASE.
	CASE *nodes.CASE
	// Commission is the establisher when controllers commission their
	// devices; Commissionees[k] is the commissionable stack of Devices[k].
	Commission    *nodes.Commission
	Commissionees []*commissionee.Handshaker
	// Metrics collects every metric of the run (scenarios/metrics), from
	// the events of every node and of the switch, per node group.
	Metrics *metrics.Collector
	// EstablishErrors are the establishments the controllers gave up on.
	EstablishErrors []error
	// NodeEventErrors are scheduled node events that failed (Schedule*).
	NodeEventErrors []error
	// BuildWall is the wall-clock time the build took.
	BuildWall time.Duration
	// Interrupted is set when RunConfig.Interrupt stopped the run.
	Interrupted bool

	rc         RunConfig
	trace      *sim.Trace
	bw         *bufio.Writer // pcap buffer
	pcap       *sim.Pcap
	caps       *captures // key log and plaintext capture (capture.go)
	ran        bool
	phase      Phase
	phaseStart time.Time
	lastReport time.Time
}

// ControllerNodeID and DeviceNodeID give the operational node ids (spec
// 2.5.5.1 operational range) of the controller and of device i (1-based
// network index).
const (
	ControllerNodeID message.NodeID = 0x0000_0001_0000_0001
	deviceNodeBase   message.NodeID = 0x0000_0002_0000_0000
)

// DeviceNodeID returns the operational node id of the device at network
// index i.
func DeviceNodeID(i int) message.NodeID { return deviceNodeBase + message.NodeID(i) }

// controllerNodeID returns the operational node id of controller c.
func controllerNodeID(c int) message.NodeID { return ControllerNodeID + message.NodeID(c) }

// Metric node groups of the default network.
const (
	GroupControllers = "controller"
	GroupDevices     = "devices"
)

// Build builds the default network: the shipped default scenario
// (scenarios/files/default.yaml) with opts applied as parameters (devices,
// controllers, loss, duration, interval, method; NoAttacker drops the
// adversary's rules, Passcode sets every group's passcode), through the
// one runner every scenario uses (NewNet). Options are checked by
// normalize; the event budget does not apply to Go callers.
func Build(opts Options) (*Net, error) {
	start := time.Now()
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	s, err := opts.scenario()
	if err != nil {
		return nil, err
	}
	d, err := build(s, RunConfig{Trace: opts.Trace, Pcap: opts.Pcap, devicePasscode: opts.DevicePasscode})
	if err != nil {
		return nil, err
	}
	d.Opts = opts
	d.BuildWall = time.Since(start)
	return d, nil
}

// scenario returns the default scenario with normalized o applied.
func (o Options) scenario() (*Scenario, error) {
	sh, ok := LookupShipped("default")
	if !ok {
		return nil, errors.New("scenarios: no shipped default scenario")
	}
	set := map[string]string{
		"devices":     strconv.Itoa(o.Nodes - o.Controllers),
		"controllers": strconv.Itoa(o.Controllers),
		"loss":        strconv.FormatFloat(o.LossPercent, 'f', -1, 64) + "%",
		"duration":    o.Duration.String(),
		"interval":    o.ReadInterval.String(),
		"method":      o.Establish.String(),
	}
	s, err := LoadBytes(sh.File, sh.Data, Overrides{Set: set, Seed: &o.Seed, Force: true})
	if err != nil {
		return nil, err
	}
	if o.NoAttacker {
		s.Adversary.Rules = nil
	}
	for g := range s.Nodes {
		s.Nodes[g].Passcode = o.Passcode
	}
	return s, nil
}

// coreFactory returns node i's CoreFactory: boot 0 draws from the streams
// (i, "session/entropy") and (i, "session/jitter"), boot b > 0 from
// (i, "session/entropy/boot/b") and (i, "session/jitter/boot/b"), so a
// rebooted node draws a new unencrypted counter and new session ids while
// every other stream stays where it was (sim.Seeds).
func coreFactory(seeds sim.Seeds, i int, cfg session.Config) nodes.CoreFactory {
	return func(boot int, _ *nodes.Store) (*session.Manager, error) {
		ent, jit := "session/entropy", "session/jitter"
		if boot > 0 {
			b := "/boot/" + strconv.Itoa(boot)
			ent, jit = ent+b, jit+b
		}
		return session.New(cfg, seeds.ChaCha8(i, ent), seeds.PCG(i, jit))
	}
}

// controllerEvent traces a controller's finished establishments (PASE)
// and keeps the ones given up (EstablishErrors).
func (d *Net) controllerEvent(now clock.Time, n *nodes.Node, ev *nodes.NodeEvent) {
	if ev.Kind >= nodes.SubRequested && ev.Kind <= nodes.SubKeepAlive {
		d.traceSub(now, n, ev)
		return
	}
	if ev.Kind == nodes.CASEHandshake && d.trace != nil {
		// One line per CASE attempt: full, resumed, fallback (a
		// resumption offer answered by a full handshake) or the cause.
		res := ev.Cause.String()
		switch {
		case ev.Outcome != nodes.PairingSucceeded:
		case ev.Resumed:
			res = "resumed"
		case ev.ResumeOffered:
			res = "fallback"
		default:
			res = "full"
		}
		d.trace.Event(now, n.Index(), "case", sim.Int("peer", int64(ev.Peer)), sim.Int("attempt", int64(ev.Attempt)), sim.Str("result", res))
		return
	}
	if ev.Kind != nodes.PairingEnded {
		return
	}
	if d.trace != nil && (d.PASE != nil || d.CASE != nil || d.Commission != nil) {
		res := "paired"
		if ev.Err != nil {
			res = ev.Err.Error()
		}
		d.trace.Event(now, n.Index(), "pairing", sim.Int("peer", int64(ev.Peer)), sim.Str("result", res))
	}
	if ev.Outcome == nodes.PairingGaveUp {
		d.EstablishErrors = append(d.EstablishErrors, ev.Err)
	}
}

// ScheduleReboot reboots node i at virtual instant at (nodes.Node.Reboot:
// sessions and exchanges lost, a fresh core from the node's next boot
// streams, its Store kept). SchedulePowerOff and SchedulePowerOn power it
// off (every frame to it dropped as "down", no timers) and on again. A
// failure is kept in NodeEventErrors. Call them before Run.
func (d *Net) ScheduleReboot(at clock.Time, i int) error {
	return d.schedule(at, i, (*nodes.Node).Reboot)
}

// SchedulePowerOff: see ScheduleReboot.
func (d *Net) SchedulePowerOff(at clock.Time, i int) error {
	return d.schedule(at, i, (*nodes.Node).PowerOff)
}

// SchedulePowerOn: see ScheduleReboot.
func (d *Net) SchedulePowerOn(at clock.Time, i int) error {
	return d.schedule(at, i, (*nodes.Node).PowerOn)
}

func (d *Net) schedule(at clock.Time, i int, f func(*nodes.Node, clock.Time) error) error {
	if i < 0 || i >= len(d.Nodes) {
		return &OptionError{"node event", fmt.Sprintf("node %d out of range [0, %d)", i, len(d.Nodes))}
	}
	if at < d.Engine.Now() {
		return &OptionError{"node event", fmt.Sprintf("at %s is in the past", at)}
	}
	nd := d.Nodes[i]
	d.Engine.At(at, func(now clock.Time) {
		if err := f(nd, now); err != nil {
			d.NodeEventErrors = append(d.NodeEventErrors, fmt.Errorf("scenarios: node %d at %s: %w", i, now, err))
		}
	})
	return nil
}

// traceEvent writes each session event as one trace line, fields in a fixed
// order: {"t":…,"ev":"session","node":i,"what":kind,"sess":ref[,"ex":exchange][,"ctr":n][,"attempt":n][,"reason":r][,"inj":true]}.
func traceEvent(t *sim.Trace) nodes.EventHook {
	var fs []sim.Field
	return func(now clock.Time, n *nodes.Node, ev *session.Event, injected bool) {
		fs = append(fs[:0], sim.Str("what", ev.Kind.String()))
		if ev.Session != (session.Ref{}) {
			fs = append(fs, sim.Str("sess", ev.Session.String()))
		}
		switch ev.Kind {
		case session.EventMessage, session.EventDuplicate, session.EventUnknownExchange,
			session.EventAck, session.EventRetransmit, session.EventGiveUp, session.EventExchangeClosed:
			fs = append(fs, sim.Str("ex", ev.Exchange.String()))
		}
		switch ev.Kind {
		case session.EventMessage, session.EventDuplicate, session.EventUnknownExchange,
			session.EventAck, session.EventRetransmit, session.EventGiveUp,
			session.EventMICFailure, session.EventUnknownSession:
			fs = append(fs, sim.Int("ctr", int64(ev.Counter)))
		}
		switch ev.Kind {
		case session.EventRetransmit, session.EventGiveUp:
			fs = append(fs, sim.Int("attempt", int64(ev.Attempt)))
		case session.EventSessionClosed:
			fs = append(fs, sim.Str("reason", ev.Reason.String()))
		}
		if ev.Kind >= session.EventGroupMessage && ev.Kind <= session.EventMCSPRateLimited {
			// Group and MCSP events: the sender or MCSP peer, and why.
			fs = append(fs, sim.Int("src", int64(ev.Group.Source)))
			if ev.Group.Group != 0 {
				fs = append(fs, sim.Int("group", int64(ev.Group.Group)))
			}
			if ev.Group.Reason != session.ReasonNone {
				fs = append(fs, sim.Str("reason", ev.Group.Reason.String()))
			}
		}
		if injected {
			fs = append(fs, sim.Bool("inj", true))
		}
		t.Event(now, n.Index(), "session", fs...)
	}
}

// Run starts the workloads at time 0, runs the scenario's duration of
// virtual time, stops the workloads and winds down until nothing is left
// to do or drain has passed (what is still in flight then is counted as
// unfinished), then flushes the trace and pcap and returns the summary.
// An interrupt (RunConfig.Interrupt) stops it between two events; the
// summary and metrics then describe the run so far, and Interrupted is
// set. A Net runs once.
func (d *Net) Run() (Summary, error) {
	if d.ran {
		return Summary{}, errors.New("scenarios: network already ran")
	}
	d.ran = true
	wall := time.Now()
	e := d.Engine
	for _, nd := range d.Nodes {
		nd.Start(e.Now())
	}
	dur := clock.Time(d.Scenario.Duration)
	if d.stepsUntil(dur, PhaseRun, true) {
		e.RunUntil(dur) // leaves the clock at duration
		for _, nd := range d.Nodes {
			nd.Stop(e.Now())
		}
		// Wind down: run until nothing is queued (the run is quiescent) or
		// the drain limit, whichever first, so the virtual time reported
		// is when the last event ran.
		d.stepsUntil(clock.Time(d.Scenario.End()), PhaseDrain, false)
	}
	d.Metrics.Finish(e.Now(), e.Processed())
	d.progress(Progress{Phase: PhaseDone, Virtual: time.Duration(e.Now()), End: d.Scenario.End(), Events: e.Processed()}, true)
	s := d.summary(time.Since(wall))
	var err error
	if d.trace != nil {
		err = d.trace.Flush()
	}
	if d.bw != nil {
		if ferr := d.bw.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if perr := d.pcap.Err(); perr != nil && err == nil {
			err = perr
		}
	}
	if cerr := d.flushCaptures(); cerr != nil && err == nil {
		err = cerr
	}
	return s, err
}

// Default builds and runs the default network with opts; see Build and Run.
func Default(opts Options) (Summary, error) {
	d, err := Build(opts)
	if err != nil {
		return Summary{}, err
	}
	return d.Run()
}
