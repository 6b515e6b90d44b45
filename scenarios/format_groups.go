package scenarios

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"
)

// GroupDef is a group of nodes that receive group messages (spec 4.15,
// 4.16): one group id on the network's one fabric, mapped to one key set
// whose epoch key is drawn from the seed, and the receive policy its
// members apply (spec 4.18.1). Every member joins the group's IPv6
// multicast address (FF35:0040:FD<fabric id>00:<group id>, spec 2.5.6.2) on
// its stack; senders (group-invoke traffic) hold the key set too.
type GroupDef struct {
	// Name of the group, unique; traffic refers to it.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z][a-z0-9_-]*$"`
	// Group id, 1..65535 (0 is the null group), unique.
	ID int `yaml:"id" jsonschema:"required,minimum=1,maximum=65535"`
	// Nodes that receive the group's messages.
	Members Selectors `yaml:"members" jsonschema:"required"`
	// How members take a sender's first message: trust-first (the first
	// authenticated message sets the sender's counter; what the SDK and
	// matter.js do) or cache-and-sync (queue it and run message counter
	// synchronization, MCSP, first). Absent: trust-first.
	Policy GroupPolicy `yaml:"policy"`
	// Privacy obfuscation of the headers senders write (spec 4.9.3): on
	// (the SDK's choice) or off. Receivers take both. Absent: on.
	Privacy Privacy `yaml:"privacy"`
}

// GroupSync is the group reception configuration of every node
// (session.GroupConfig): the reception-window initialisation and the MCSP
// constants, the research knobs of counter synchronization.
type GroupSync struct {
	// How a group reception window starts on a trusted first counter: spec
	// (all ones: only counters above it are new, spec 4.6.5.4) or sdk (an
	// empty bitmap: counters just below it can be replayed,
	// connectedhomeip issue #72535). Absent: spec.
	WindowInit WindowInit `yaml:"window_init"`
	// How the window below a synchronization point starts (cache-and-sync):
	// sdk opens it, so the queued messages, all below the Synchronized
	// Counter, are taken once each (and so is a late or replayed message
	// the receiver never had, once); spec closes it (spec 4.6.5.4 applied
	// at the synchronization point), which discards them. Absent: sdk.
	SyncInit WindowInit `yaml:"sync_init"`
	// MSG_COUNTER_SYNC_REQ_JITTER: a request triggered by a multicast
	// message waits a uniform time in [0, request_jitter]; 0 sends it at
	// once (the storm the jitter exists to prevent). Absent: 500ms.
	RequestJitter *Duration `yaml:"request_jitter"`
	// MSG_COUNTER_SYNC_TIMEOUT, from the request's first transmission.
	// Absent: 400ms.
	Timeout Duration `yaml:"timeout"`
	// Messages queued per unsynchronized sender and key set. Absent: the
	// core's default.
	Queue int `yaml:"queue" jsonschema:"minimum=1,maximum=4096"`
	// What a full queue drops: newest (the arriving message) or oldest.
	// Absent: newest.
	QueueDrop QueueDrop `yaml:"queue_drop"`
	// Group peer table entries per fabric for data messages (senders
	// tracked per key set). Absent: 15 (CHIP_CONFIG_MAX_GROUP_DATA_PEERS).
	Peers int `yaml:"peers" jsonschema:"minimum=1,maximum=65535"`
	// Entries for control messages (MCSP), one per peer that sends us
	// one: a sender answering the requests of N members needs N. Control
	// entries are trust-first and never recycled (spec 4.18.2), so the
	// SDK's 2 (CHIP_CONFIG_MAX_GROUP_CONTROL_PEERS) lets a sender answer
	// two requesters for good. Absent: 2.
	ControlPeers int `yaml:"control_peers" jsonschema:"minimum=1,maximum=65535"`
	// Least time between two responses to new requests of one requester.
	// Absent: the core's default.
	ResponseInterval Duration `yaml:"response_interval"`
}

// GroupPolicy is a group's receive policy.
type GroupPolicy uint8

// Group receive policies.
const (
	PolicyTrustFirst GroupPolicy = iota + 1
	PolicyCacheAndSync
)

var policyEnum = enum{"group policy", []string{"", "trust-first", "cache-and-sync"}}

func (p GroupPolicy) String() string { return policyEnum.name(int(p)) }
func (p *GroupPolicy) setScalar(s scalar) error {
	v, err := policyEnum.parse(s)
	*p = GroupPolicy(v)
	return err
}
func (p GroupPolicy) MarshalText() ([]byte, error)    { return []byte(p.String()), nil }
func (p *GroupPolicy) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, p) }
func (GroupPolicy) JSONSchema() *jsonschema.Schema    { return policyEnum.schema("group receive policy") }

// Privacy is on or off.
type Privacy uint8

// Privacy settings.
const (
	PrivacyOn Privacy = iota + 1
	PrivacyOff
)

var privacyEnum = enum{"privacy setting", []string{"", "on", "off"}}

func (p Privacy) String() string { return privacyEnum.name(int(p)) }
func (p *Privacy) setScalar(s scalar) error {
	v, err := privacyEnum.parse(s)
	*p = Privacy(v)
	return err
}
func (p Privacy) MarshalText() ([]byte, error)    { return []byte(p.String()), nil }
func (p *Privacy) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, p) }
func (Privacy) JSONSchema() *jsonschema.Schema    { return privacyEnum.schema("privacy (on or off)") }

// WindowInit is how a group reception window starts.
type WindowInit uint8

// Window initialisations.
const (
	WindowInitSpec WindowInit = iota + 1
	WindowInitSDK
)

var windowInitEnum = enum{"window initialisation", []string{"", "spec", "sdk"}}

func (w WindowInit) String() string { return windowInitEnum.name(int(w)) }
func (w *WindowInit) setScalar(s scalar) error {
	v, err := windowInitEnum.parse(s)
	*w = WindowInit(v)
	return err
}
func (w WindowInit) MarshalText() ([]byte, error)    { return []byte(w.String()), nil }
func (w *WindowInit) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, w) }
func (WindowInit) JSONSchema() *jsonschema.Schema {
	return windowInitEnum.schema("group window initialisation")
}

// QueueDrop is what a full MCSP queue drops.
type QueueDrop uint8

// Queue drop rules.
const (
	DropNewest QueueDrop = iota + 1
	DropOldest
)

var queueDropEnum = enum{"queue drop rule", []string{"", "newest", "oldest"}}

func (q QueueDrop) String() string { return queueDropEnum.name(int(q)) }
func (q *QueueDrop) setScalar(s scalar) error {
	v, err := queueDropEnum.parse(s)
	*q = QueueDrop(v)
	return err
}
func (q QueueDrop) MarshalText() ([]byte, error)    { return []byte(q.String()), nil }
func (q *QueueDrop) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, q) }
func (QueueDrop) JSONSchema() *jsonschema.Schema    { return queueDropEnum.schema("queue drop rule") }
