package scenarios

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"

	"mattersim/sim"
)

// The scenario format: one YAML document per scenario, decoded strictly
// into these types by Load (README "Scenarios"). The types are the
// runner's input: every field's zero value means "absent", which is the
// documented default. Field comments are written for users: they become
// the JSON Schema descriptions (mattersim schema) and the README's field
// reference, both generated from this file.
//
// Node indexes: node groups are laid out in file order, group by group,
// so the first group's nodes are indexes 0..count-1 and so on
// (Scenario.Layout). A Selector resolves to those indexes.

// Scenario is one scenario: who the nodes are, how they establish
// sessions, the traffic they exchange, the faults of the network, node
// events, an adversary, and the assertions that must hold on the run's
// metrics.
type Scenario struct {
	// Short name of the scenario: lower-case letters, digits, '-', '_'
	// and '.'; names the output directory.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9._-]*$,maxLength=64"`
	// What the scenario is about; its first line is the one-line summary
	// that mattersim list prints.
	Description string `yaml:"description"`
	// Seed of the run: the run is a pure function of the scenario and the
	// seed. mattersim run --seed overrides it. Absent: 0.
	Seed uint64 `yaml:"seed"`
	// Virtual time during which operations start (traffic, events).
	Duration Duration `yaml:"duration" jsonschema:"required"`
	// Wind-down after duration: nothing new starts, and the run goes on
	// until all work in flight has finished or drain has passed; work
	// still in flight then is counted as unfinished. Absent: 0, the run
	// ends at duration.
	Drain Duration `yaml:"drain"`
	// Run even when the scenario's estimated cost is above the event
	// budget (mattersim run --force does the same).
	Force bool `yaml:"force"`
	// How nodes put datagrams on the network: netstack (every node runs a
	// gVisor IPv6/UDP stack) or direct (no stack: the simulator builds and
	// checks the same IPv6/UDP frames itself; the same run, in a fraction
	// of the time and memory; README "Network modes"). mattersim run
	// --network overrides it. Absent: netstack.
	Network NetworkMode `yaml:"network"`
	// Named values, referenced as ${name} in any scalar of the file;
	// mattersim run --set name=value overrides one.
	Parameters Parameters `yaml:"parameters"`
	// Parameter overrides of the short variant that make test runs
	// (applied before --set).
	CI Parameters `yaml:"ci"`
	// Node groups, in order: their nodes take consecutive indexes.
	Nodes []NodeGroup `yaml:"nodes" jsonschema:"required"`
	// How controllers and devices open their secure sessions.
	Establishment EstablishmentConfig `yaml:"establishment"`
	// Periodic operations from controllers to devices.
	Traffic []Traffic `yaml:"traffic"`
	// Local attribute changes on devices (a light switched at the wall),
	// which subscriptions report.
	Changes []Changes `yaml:"changes"`
	// Groups of nodes that receive group messages (group-invoke traffic).
	Groups []GroupDef `yaml:"groups"`
	// Group reception and counter synchronization settings of every node.
	GroupSync GroupSync `yaml:"group_sync"`
	// Impairments of directed links, each with an optional schedule.
	Faults []Fault `yaml:"faults"`
	// Cuts of the network between sets of nodes.
	Partitions []Partition `yaml:"partitions"`
	// Node reboots and power cycles at given instants.
	Events []Event `yaml:"events"`
	// An on-path attacker that records frames and replays them.
	Adversary Adversary `yaml:"adversary"`
	// Conditions on the run's metrics, each METRIC OP VALUE (e.g.
	// reads.answered_ratio >= 0.999); all must hold for the run to pass.
	Assertions []Assertion `yaml:"assertions"`
	// Figures to draw (reports/plot), besides the built-in ones: each
	// answers a question of the scenario.
	Plots []Plot `yaml:"plots"`
	// The grid of parameter values mattersim sweep runs the scenario
	// over, its repetitions and the conditions on its aggregate.
	Sweep Sweep `yaml:"sweep"`

	source string // file name, for errors and reports
}

// Source returns the file name the scenario was loaded from.
func (s *Scenario) Source() string { return s.source }

// Role says what a node group does.
type Role uint8

// Roles.
const (
	// RoleDevice (the zero value): a Matter device answering Interaction
	// Model requests from its data model.
	RoleDevice Role = iota
	// RoleController: opens sessions with the devices it serves and runs
	// the traffic that starts from it.
	RoleController
)

var roleEnum = enum{"role", []string{"device", "controller"}}

func (r Role) String() string                   { return roleEnum.name(int(r)) }
func (r *Role) setScalar(s scalar) error        { v, err := roleEnum.parse(s); *r = Role(v); return err }
func (r Role) MarshalText() ([]byte, error)     { return []byte(r.String()), nil }
func (r *Role) UnmarshalYAML(n ast.Node) error  { return unmarshalScalar(n, r) }
func (Role) JSONSchema() *jsonschema.Schema     { return roleEnum.schema("node role") }
func (m Model) String() string                  { return modelEnum.name(int(m)) }
func (m *Model) setScalar(s scalar) error       { v, err := modelEnum.parse(s); *m = Model(v); return err }
func (m Model) MarshalText() ([]byte, error)    { return []byte(m.String()), nil }
func (m *Model) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, m) }
func (Model) JSONSchema() *jsonschema.Schema    { return modelEnum.schema("device data model") }
func (o Op) String() string                     { return opEnum.name(int(o)) }
func (o *Op) setScalar(s scalar) error          { v, err := opEnum.parse(s); *o = Op(v); return err }
func (o Op) MarshalText() ([]byte, error)       { return []byte(o.String()), nil }
func (o *Op) UnmarshalYAML(n ast.Node) error    { return unmarshalScalar(n, o) }
func (Op) JSONSchema() *jsonschema.Schema       { return opEnum.schema("operation") }
func (e *Establishment) setScalar(s scalar) error {
	v, err := estEnum.parse(s)
	*e = Establishment(v)
	return err
}

// MarshalText writes the method's name.
func (e Establishment) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalYAML reads pase, keys or case.
func (e *Establishment) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, e) }

// JSONSchema describes the establishment methods.
func (Establishment) JSONSchema() *jsonschema.Schema {
	return estEnum.schema("establishment method")
}

var estEnum = enum{"establishment method", []string{"pase", "keys", "case", "commission"}}

// NetworkMode is how nodes put datagrams on the network (sim.Mode): the
// zero value is NetworkNetstack.
type NetworkMode uint8

// Network modes, in sim.Mode order.
const (
	// NetworkNetstack: every node runs a gVisor IPv6/UDP stack.
	NetworkNetstack NetworkMode = iota
	// NetworkDirect: no stacks; frames built and checked by the simulator.
	NetworkDirect
)

var netEnum = enum{"network mode", []string{"netstack", "direct"}}

// ParseNetworkMode reads netstack or direct (mattersim run --network).
func ParseNetworkMode(v string) (NetworkMode, error) {
	m, err := netEnum.parse(scalar{text: v, kind: kindString})
	return NetworkMode(m), err
}

// Sim returns the simulator's mode.
func (m NetworkMode) Sim() sim.Mode {
	if m == NetworkDirect {
		return sim.ModeDirect
	}
	return sim.ModeNetstack
}

func (m NetworkMode) String() string { return netEnum.name(int(m)) }
func (m *NetworkMode) setScalar(s scalar) error {
	v, err := netEnum.parse(s)
	*m = NetworkMode(v)
	return err
}
func (m NetworkMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }
func (m *NetworkMode) UnmarshalYAML(n ast.Node) error {
	return unmarshalScalar(n, m)
}

// JSONSchema describes the network modes.
func (NetworkMode) JSONSchema() *jsonschema.Schema { return netEnum.schema("network mode") }

// Model is a device's data model (package im).
type Model uint8

// Device models.
const (
	// ModelBasic (the zero value): endpoint 0 with the Basic Information
	// cluster only.
	ModelBasic Model = iota
	// ModelLight: an On/Off Light (im.NewLight, what nodes.DeviceModel
	// serves): endpoint 0 (Descriptor,
	// Basic Information) and endpoint 1 (Descriptor, On/Off, with the
	// off, on and toggle commands).
	ModelLight
)

var modelEnum = enum{"model", []string{"basic", "light"}}

// NodeGroup is a set of identical nodes.
type NodeGroup struct {
	// Name of the group, unique in the scenario; selectors, traffic and
	// per-group metrics ({group=NAME}) refer to it. Lower-case letters,
	// digits, '-' and '_', starting with a letter.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z][a-z0-9_-]*$"`
	// device (absent) or controller. Devices are dealt to controllers
	// round-robin in node order: with C controllers, the k-th device of
	// the scenario (0-based) is served by the (k mod C)-th controller,
	// which alone opens a session with it and runs traffic to it; a
	// controller serves at most 65535 devices.
	Role Role `yaml:"role"`
	// Number of nodes in the group, at least 1. Absent: 1.
	Count int `yaml:"count" jsonschema:"minimum=1"`
	// Devices only: the data model the devices serve: basic (absent) or
	// light.
	Model Model `yaml:"model"`
	// PASE setup passcode (spec 5.1.7.1): a device's own, or the one a
	// controller tries for every device. 1..99999998, not a trivial code
	// (11111111, 12345678, ...). Absent: 20202021, the SDK's test
	// passcode.
	Passcode uint32 `yaml:"passcode" jsonschema:"minimum=1,maximum=99999998"`
	// Session parameters the nodes advertise (spec 4.12.8).
	Session SessionParams `yaml:"session"`
	// MRP constants of the nodes (spec 4.12.8); absent fields keep the
	// spec defaults.
	MRP MRPParams `yaml:"mrp"`
	// Reception window width in message counters (spec 4.6.5.1,
	// MSG_COUNTER_WINDOW_SIZE): 1..64. Absent: 32, the spec's; other sizes
	// are a research extension.
	WindowSize int `yaml:"window_size" jsonschema:"minimum=1,maximum=64"`
	// Table limits of each node's session core.
	Limits Limits `yaml:"limits"`
}

// SessionParams are the MRP session parameters a node advertises in its
// handshakes (spec 4.12.8: SII, SAI, SAT). Absent fields: the spec
// defaults.
type SessionParams struct {
	// SESSION_IDLE_INTERVAL: 1ms..1h. Absent: 500ms.
	IdleInterval Duration `yaml:"idle_interval"`
	// SESSION_ACTIVE_INTERVAL: 1ms..1h. Absent: 300ms.
	ActiveInterval Duration `yaml:"active_interval"`
	// SESSION_ACTIVE_THRESHOLD: 1ms..65.535s. Absent: 4s.
	ActiveThreshold Duration `yaml:"active_threshold"`
}

// MRPParams are a node's MRP constants (spec 4.12.8; package mrp).
type MRPParams struct {
	// MRP_MAX_TRANSMISSIONS: the first transmission and every retry,
	// 1..32. Absent: 5.
	MaxTransmissions int `yaml:"max_transmissions" jsonschema:"minimum=1,maximum=32"`
	// MRP_BACKOFF_BASE, at least 1. Absent: 1.6.
	BackoffBase float64 `yaml:"backoff_base" jsonschema:"minimum=1"`
	// MRP_BACKOFF_JITTER, at least 0 (0: no jitter). Absent: 0.25.
	BackoffJitter *float64 `yaml:"backoff_jitter" jsonschema:"minimum=0"`
	// MRP_BACKOFF_MARGIN, at least 1. Absent: 1.1.
	BackoffMargin float64 `yaml:"backoff_margin" jsonschema:"minimum=1"`
	// MRP_BACKOFF_THRESHOLD: transmissions before the backoff grows, at
	// least 0. Absent: 1.
	BackoffThreshold *int `yaml:"backoff_threshold" jsonschema:"minimum=0"`
	// MRP_STANDALONE_ACK_TIMEOUT, above 0. Absent: 200ms.
	StandaloneAckTimeout Duration `yaml:"standalone_ack_timeout"`
}

// Limits bound a node's session tables (session.Config).
type Limits struct {
	// Secure sessions; installing one more evicts the least recently
	// active. At least 1. Absent: 16 for a device; for a controller, one
	// per device it serves (at least 16).
	MaxSessions int `yaml:"max_sessions" jsonschema:"minimum=1,maximum=65535"`
	// Unsecured (handshake) sessions. At least 1. Absent: 8 for a device;
	// for a controller, 4 per concurrent pairing (at least 8).
	MaxUnsecuredSessions int `yaml:"max_unsecured_sessions" jsonschema:"minimum=1,maximum=65535"`
	// Exchanges that unsolicited messages may open at once. At least 1.
	// Absent: 64.
	MaxExchanges int `yaml:"max_exchanges" jsonschema:"minimum=1,maximum=65535"`
}

// EstablishmentConfig says how each controller opens a secure session
// with each device it serves (NodeGroup.Role), from time 0.
type EstablishmentConfig struct {
	// pase (absent): a PASE handshake over the simulated network (spec
	// 4.14.1), retried on failure; keys: sessions installed from seeded
	// keys at time 0, no handshake (cheap for large networks); case: every
	// node on one fabric of a test CA minted from the seed, sessions by
	// CASE handshakes over the network (spec 4.14.2), resumed after a
	// loss when both ends kept the resumption record. Concurrency,
	// attempts, backoff and timeout apply to CASE too.
	Method Establishment `yaml:"method"`
	// PASE: handshakes one controller runs at once. Absent: 8.
	Concurrency int `yaml:"concurrency" jsonschema:"minimum=1"`
	// PASE: attempts per device before giving up. Absent: 8.
	Attempts int `yaml:"attempts" jsonschema:"minimum=1"`
	// PASE: delay before the first retry, doubling up to 16s. Absent: 1s.
	Backoff Duration `yaml:"backoff"`
	// PASE: bound of one handshake at the controller. Absent: 30s.
	Timeout Duration `yaml:"timeout"`
	// PASE: PBKDF2 iterations of the devices' verifiers (spec 5.1.7.1):
	// 1000..100000. Absent: 1000.
	Iterations int `yaml:"iterations" jsonschema:"minimum=1000,maximum=100000"`
	// PASE: every device uses one salt, so devices with the same passcode
	// share one verifier (one PBKDF2 instead of one per device).
	SharedSalt bool `yaml:"shared_salt"`
}

// Op is the operation a traffic entry performs.
type Op uint8

// Operations.
const (
	// OpRead: an Interaction Model ReadRequest (spec 8.9.2) answered by a
	// ReportData.
	OpRead Op = iota + 1
	// OpInvoke: an InvokeRequest (spec 8.9.6) answered by an
	// InvokeResponse.
	OpInvoke
	// OpRequest: a request of payload bytes on a vendor test protocol,
	// answered by a response of response bytes.
	OpRequest
	// OpGroupInvoke: an InvokeRequest sent to a group (spec 4.15, 8.8.2):
	// every member applies it, none answers.
	OpGroupInvoke
	// OpSubscribe: a subscription (spec 8.5): a SubscribeRequest answered
	// by priming reports and a SubscribeResponse, then reports of changes
	// and keep-alives from the device, resubscribed when lost.
	OpSubscribe
)

var opEnum = enum{"op", []string{"", "read", "invoke", "request", "group-invoke", "subscribe"}}

// Traffic is a periodic operation from a set of controllers to a set of
// devices: each source runs it against each target every interval, over
// their secure session, one operation per (source, target) in flight: an
// operation that falls due while the previous one to the same target is
// still in flight is skipped (and counted), and the next one is due one
// interval later.
type Traffic struct {
	// Name of the entry, unique; for reports. Absent: traffic[i].
	Name string `yaml:"name"`
	// Controllers that run the operation.
	From Selectors `yaml:"from" jsonschema:"required"`
	// Devices they run it against (every op but group-invoke, which goes
	// to its group's members).
	To Selectors `yaml:"to"`
	// read, invoke, request, group-invoke or subscribe.
	Op Op `yaml:"op" jsonschema:"required"`
	// group-invoke: the group (groups[].name) the command goes to.
	Group string `yaml:"group"`
	// read, subscribe: the attributes one ReadRequest (SubscribeRequest)
	// asks for. Absent: 0/basic_information/vendor_name for read,
	// 1/on_off/on_off for subscribe.
	Attributes []AttributePath `yaml:"attributes"`
	// invoke, group-invoke: the command sent (required for invoke; absent
	// for group-invoke: 1/on_off/toggle), with no command fields (off, on
	// and toggle take none).
	Command CommandPath `yaml:"command"`
	// request: size of the request payload, 4B..1180B (its first 4 bytes
	// carry the response size). Absent: 32B.
	Payload Size `yaml:"payload"`
	// request: size of the response payload, 1B..1180B. Absent: 32B.
	Response Size `yaml:"response"`
	// subscribe: MinIntervalFloor, whole seconds: no report sooner than
	// this after the previous one. Absent: 0s.
	MinInterval Duration `yaml:"min_interval"`
	// subscribe (required): MaxIntervalCeiling, whole seconds, 1s..65535s,
	// not below min_interval: with nothing changed, the device sends an
	// empty keep-alive report this long after the previous report; the
	// controller declares the subscription lost when nothing came for
	// max_interval plus the SDK's liveness margin (13.265s with default
	// MRP parameters) and resubscribes.
	MaxInterval Duration `yaml:"max_interval"`
	// When the first operations fall due: each target's first one at a
	// uniform offset in [start, start+interval) (subscribe: [start,
	// start+max_interval), once the target has a session), so targets do
	// not fire in lockstep. Absent: 0.
	Start Duration `yaml:"start"`
	// When operations stop starting (none starts at or after stop), at
	// most duration; not for subscribe (a subscription lasts the run).
	// Absent: duration.
	Stop Duration `yaml:"stop"`
	// Period of the operation, per target; above 0. Required for every op
	// but subscribe, which has none.
	Interval Duration `yaml:"interval"`
	// Each operation starts at its due instant (start + offset + k ×
	// interval) plus a uniform delay in [0, jitter), drawn per operation:
	// a duration (500ms) or a fraction of the interval (0.1 or 10%), less
	// than the interval. The due instants stay on their grid. Absent: 0.
	Jitter Jitter `yaml:"jitter"`
	// How long an operation waits for its answer after the request was
	// sent (subscribe: for the SubscribeResponse). Absent: 30s.
	Timeout Duration `yaml:"timeout"`
}

// Fault impairs a set of directed links, with netem's models (sim/fault).
// Its stages run in a fixed order: mtu, loss, duplicate, corrupt, delay
// (with reorder), rate. When several faults cover a link, their stages run
// in file order. A link whose set of active faults changes gets fresh
// stages (a Gilbert-Elliott model starts Good, a rate queue empty).
type Fault struct {
	// Name of the fault, unique; for reports and traces.
	Name string `yaml:"name"`
	// The directed links impaired. Absent: every link.
	Links Links `yaml:"links"`
	// Only frames that match are impaired; the others pass untouched.
	Match *Match `yaml:"match"`
	// When the fault starts. Absent: 0.
	At Duration `yaml:"at"`
	// How long it lasts (or until). Absent (both): to the end of the run.
	For Duration `yaml:"for"`
	// When it ends (or for).
	Until Duration `yaml:"until"`
	// Drop frames longer than this (not a netem option: a link that cannot
	// carry the frame, e.g. a tunnel).
	MTU Size `yaml:"mtu"`
	// Loss (netem loss random / gemodel / state).
	Loss *Loss `yaml:"loss"`
	// Duplication (netem duplicate).
	Duplicate *Duplicate `yaml:"duplicate"`
	// Bit flips (netem corrupt).
	Corrupt *Corrupt `yaml:"corrupt"`
	// Delay (netem delay).
	Delay *Delay `yaml:"delay"`
	// Reordering (netem reorder); needs delay: a reordered frame skips it.
	Reorder *Reorder `yaml:"reorder"`
	// Serialisation at a bit rate with a queue (netem rate and limit).
	Rate *Rate `yaml:"rate"`
}

// Links selects directed links by their ends.
type Links struct {
	// Senders. Absent: every node.
	From Selectors `yaml:"from"`
	// Receivers. Absent: every node.
	To Selectors `yaml:"to"`
	// Also the reverse links, to → from.
	Both bool `yaml:"both"`
}

// LossModel is a netem loss model.
type LossModel uint8

// Loss models.
const (
	// LossModelRandom (the zero value): netem loss random P [CORRELATION].
	LossModelRandom LossModel = iota
	// LossModelGE: netem loss gemodel, Gilbert-Elliott.
	LossModelGE
	// LossModelState: netem loss state, the 4-state Markov model.
	LossModelState
)

var lossModelEnum = enum{"loss model", []string{"random", "gemodel", "state"}}

func (m LossModel) String() string { return lossModelEnum.name(int(m)) }
func (m *LossModel) setScalar(s scalar) error {
	v, err := lossModelEnum.parse(s)
	*m = LossModel(v)
	return err
}
func (m LossModel) MarshalText() ([]byte, error)    { return []byte(m.String()), nil }
func (m *LossModel) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, m) }
func (LossModel) JSONSchema() *jsonschema.Schema    { return lossModelEnum.schema("loss model") }

// Loss is netem's loss, one of three models (sim/fault LossRandom, LossGE,
// LossState). Probabilities are fractions or percentages.
type Loss struct {
	// random (absent), gemodel or state.
	Model LossModel `yaml:"model"`
	// random: the loss probability (required); gemodel: p, the
	// probability of going Good → Bad (required).
	P Probability `yaml:"p"`
	// random: correlation of successive draws (netem's). Absent: 0.
	Correlation Probability `yaml:"correlation"`
	// gemodel: r, the probability of going Bad → Good. Absent: 1-p.
	R *Probability `yaml:"r"`
	// gemodel: loss probability in the Bad state (netem's 1-h). Absent:
	// 100%.
	LossBad *Probability `yaml:"loss_bad"`
	// gemodel: loss probability in the Good state (netem's 1-k). Absent:
	// 0.
	LossGood Probability `yaml:"loss_good"`
	// state: good → burst loss (required).
	P13 Probability `yaml:"p13"`
	// state: burst loss → good. Absent: 1-p13.
	P31 *Probability `yaml:"p31"`
	// state: burst loss → good within a burst. Absent: 0.
	P32 Probability `yaml:"p32"`
	// state: good within a burst → burst loss. Absent: 100%.
	P23 *Probability `yaml:"p23"`
	// state: good → isolated loss. Absent: 0.
	P14 Probability `yaml:"p14"`
}

// Distribution is the jitter distribution of a delay (netem
// distribution).
type Distribution uint8

var distEnum = enum{"distribution", []string{"uniform", "normal", "pareto", "paretonormal"}}

// Delay distributions, as sim/fault's Dist.
const (
	DistUniform Distribution = iota
	DistNormal
	DistPareto
	DistParetoNormal
)

func (d Distribution) String() string { return distEnum.name(int(d)) }
func (d *Distribution) setScalar(s scalar) error {
	v, err := distEnum.parse(s)
	*d = Distribution(v)
	return err
}
func (d Distribution) MarshalText() ([]byte, error)    { return []byte(d.String()), nil }
func (d *Distribution) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, d) }
func (Distribution) JSONSchema() *jsonschema.Schema    { return distEnum.schema("jitter distribution") }

// Delay is netem's delay TIME [JITTER [CORRELATION]] [distribution DIST]
// (sim/fault Delay): each frame is delayed by time + jitter·t, t drawn from
// the distribution, clamped at 0. Frames whose delays cross reorder.
type Delay struct {
	// Mean (base) delay (required).
	Time Duration `yaml:"time" jsonschema:"required"`
	// netem's jitter (sigma). Absent: 0.
	Jitter Duration `yaml:"jitter"`
	// Correlation of successive jitter draws. Absent: 0.
	Correlation Probability `yaml:"correlation"`
	// uniform (absent), normal, pareto or paretonormal.
	Distribution Distribution `yaml:"distribution"`
}

// Reorder is netem's reorder P [CORRELATION] [gap DISTANCE]: with gap g, a
// frame skips the delay (is sent at once) when at least g-1 frames were
// delayed since the last one that skipped and a draw falls within p.
type Reorder struct {
	// Probability of skipping the delay (required).
	P Probability `yaml:"p" jsonschema:"required"`
	// Correlation of successive draws. Absent: 0.
	Correlation Probability `yaml:"correlation"`
	// Reorder at most every gap-th frame, at least 1. Absent: 1.
	Gap int `yaml:"gap" jsonschema:"minimum=1"`
}

// Duplicate is netem's duplicate P [CORRELATION].
type Duplicate struct {
	// Probability that a frame is sent twice (required).
	P Probability `yaml:"p" jsonschema:"required"`
	// Correlation of successive draws. Absent: 0.
	Correlation Probability `yaml:"correlation"`
}

// CorruptScope says which bytes a corrupt stage may flip.
type CorruptScope uint8

// Corrupt scopes, as sim/fault's CorruptScope.
const (
	ScopePacket CorruptScope = iota
	ScopePayload
	ScopePayloadFixsum
)

var scopeEnum = enum{"corrupt scope", []string{"packet", "payload", "payload_fixsum"}}

func (c CorruptScope) String() string { return scopeEnum.name(int(c)) }
func (c *CorruptScope) setScalar(s scalar) error {
	v, err := scopeEnum.parse(s)
	*c = CorruptScope(v)
	return err
}
func (c CorruptScope) MarshalText() ([]byte, error)    { return []byte(c.String()), nil }
func (c *CorruptScope) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, c) }
func (CorruptScope) JSONSchema() *jsonschema.Schema    { return scopeEnum.schema("corrupt scope") }

// Corrupt is netem's corrupt P [CORRELATION]: a frame has one random bit
// flipped.
type Corrupt struct {
	// Probability that a frame is corrupted (required).
	P Probability `yaml:"p" jsonschema:"required"`
	// Correlation of successive draws. Absent: 0.
	Correlation Probability `yaml:"correlation"`
	// packet (absent: anywhere, as netem), payload (the UDP payload; the
	// receiver's UDP checksum catches it) or payload_fixsum (the UDP
	// payload with the checksum fixed, so the Matter layer must reject it).
	Scope CorruptScope `yaml:"scope"`
}

// Rate is netem's rate RATE [PACKETOVERHEAD] with limit PACKETS: a link
// serialising frames at a bit rate behind a tail-drop queue.
type Rate struct {
	// Link speed (required).
	Bitrate BitRate `yaml:"bitrate" jsonschema:"required"`
	// Bytes added to (negative: removed from) each frame's size. Absent: 0.
	Overhead int `yaml:"overhead"`
	// Queue capacity in frames, at least 1. Absent: 1000.
	Limit int `yaml:"limit" jsonschema:"minimum=1"`
}

// DestKind is a Matter destination field kind (spec 4.4.1.2, DSIZ).
type DestKind uint8

var destEnum = enum{"destination", []string{"none", "node", "group"}}

func (d DestKind) String() string { return destEnum.name(int(d)) }
func (d *DestKind) setScalar(s scalar) error {
	v, err := destEnum.parse(s)
	*d = DestKind(v)
	return err
}
func (d DestKind) MarshalText() ([]byte, error)    { return []byte(d.String()), nil }
func (d *DestKind) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, d) }
func (DestKind) JSONSchema() *jsonschema.Schema    { return destEnum.schema("destination kind") }

// Match selects frames by what an observer can read without keys
// (sim/fault Match and MatterMatch). Every condition given must hold;
// a list matches any of its elements. A true/false condition is absent,
// true (required) or false (forbidden).
type Match struct {
	// true: multicast frames only; false: unicast only.
	Multicast *bool `yaml:"multicast"`
	// Faults only: true: frames the adversary injected only; false:
	// genuine frames only.
	Injected *bool `yaml:"injected"`
	// true: encrypted messages (every session but the unsecured session
	// 0); false: unsecured (handshake) messages.
	Secure *bool `yaml:"secure"`
	// true: group-session messages; false: unicast sessions.
	Group *bool `yaml:"group"`
	// true: control messages (C flag, counter synchronisation).
	Control *bool `yaml:"control"`
	// Session ids (the receiver's, as on the wire).
	Sessions []uint16 `yaml:"sessions"`
	// Destination field kinds: none, node or group.
	Dest []DestKind `yaml:"dest"`
	// Message counter ranges.
	Counters []CounterRange `yaml:"counters"`
	// Message types (protocol/opcode), visible on unsecured messages only.
	Types []MessageType `yaml:"types"`
	// Bounds of the UDP payload size.
	Payload SizeRange `yaml:"payload"`
}

// SizeRange bounds a size; an absent bound is unbounded.
type SizeRange struct {
	// Smallest size matched.
	Min Size `yaml:"min"`
	// Largest size matched.
	Max Size `yaml:"max"`
}

// Partition cuts the network between sides: frames from a node of one
// side to a node of another are dropped; nodes in no side are unaffected.
// Frames already in flight are delivered.
type Partition struct {
	// Name of the partition, unique; for reports.
	Name string `yaml:"name"`
	// The sides, at least 2, disjoint; each a selector or a list of them.
	Sides []Selectors `yaml:"sides" jsonschema:"required"`
	// When the partition starts.
	At Duration `yaml:"at"`
	// When it heals. Absent: never.
	Heal Duration `yaml:"heal"`
}

// Event changes nodes at an instant: exactly one of reboot, power_off and
// power_on.
type Event struct {
	// When it happens.
	At Duration `yaml:"at" jsonschema:"required"`
	// Nodes that reboot: their secure sessions are lost and established
	// again, the unencrypted counter is drawn anew, group counters persist
	// (spec 4.6.1.1, 4.6.3).
	Reboot Selectors `yaml:"reboot"`
	// Nodes that lose power: they neither send nor receive (frames to them
	// are dropped) until power_on.
	PowerOff Selectors `yaml:"power_off"`
	// Powered-off nodes that boot again, as after a reboot.
	PowerOn Selectors `yaml:"power_on"`
}

// Adversary is the on-path replay attacker (sim/adversary). It listens on
// the receivers' links, so it records only frames their receiver got: a
// replay a receiver accepts as new is a replay-protection failure.
type Adversary struct {
	// Frames the attacker keeps (history and captures waiting for
	// after_frames). Absent: 1024.
	Capacity int `yaml:"capacity" jsonschema:"minimum=1"`
	// The replay rules.
	Rules []Rule `yaml:"rules"`
}

// Rule records the frames it selects and replays copies of them.
type Rule struct {
	// Name of the rule, unique; for reports.
	Name string `yaml:"name" jsonschema:"required"`
	// Senders of the frames captured. Absent: any node.
	From Selectors `yaml:"from"`
	// Receivers of the frames captured. Absent: any node.
	To Selectors `yaml:"to"`
	// Which frames to capture (never injected ones).
	Match Match `yaml:"match"`
	// Stop capturing after this many frames. Absent: no limit.
	Capture int `yaml:"capture" jsonschema:"minimum=1"`
	// Or: capture this many frames per node of the scenario.
	CapturePerNode int `yaml:"capture_per_node" jsonschema:"minimum=1"`
	// Hold each capture until its flow (same sender, receiver and
	// session) has carried this many more frames, so the receiver's
	// counter window has moved past it. Absent: 0.
	AfterFrames int `yaml:"after_frames" jsonschema:"minimum=0"`
	// Added to the replay instant (capture, or after_frames reached).
	// Absent: 0.
	Delay Duration `yaml:"delay"`
	// Copies replayed per capture, at least 1. Absent: 1.
	Copies int `yaml:"copies" jsonschema:"minimum=1"`
	// Gap between copies. Absent: 0.
	Interval Duration `yaml:"interval"`
	// Send the replay to this node instead (exactly one node).
	Redirect Selector `yaml:"redirect"`
	// Replay from this node's address instead (exactly one node).
	Spoof Selector `yaml:"spoof"`
}
