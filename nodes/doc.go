// Package nodes binds mattersim's sans-I/O session core (package session) to
// a network: a Node is one virtual Matter node, made of a session.Manager, a
// Transport (a simulated UDP socket, or anything with the same three
// methods) and an application Workload.
//
// # Driving
//
// A Node is driven by its network, one input at a time, on one goroutine:
//
//   - a datagram arrives: HandleDatagram feeds it to the Manager;
//   - the Transport's single timer fires: HandleTimer runs the Manager's
//     due timers (HandleTimeout) and the workload's;
//   - the scenario calls Do to act on the Manager from outside (install a
//     session, start a workload).
//
// After each input the Node drains Manager.Poll in order (session doc,
// "Ordering obligations"): datagrams go out through the Transport, events go
// to the counters, the OnEvent hook and the Workload, which may send more
// (its sends are drained in the same pass). Then the Transport's one timer
// is re-armed at min(Manager.NextDeadline, Workload.Deadline) (house style 2).
//
// # Replays
//
// A Transport that can tell forged frames from genuine ones (the simulator's
// socket has Injected) lets the Node classify what the core did with each
// injected datagram: refused (duplicate, MIC failure, unknown session,
// undecodable), accepted (delivered to the application as a new message) or
// taken as new without delivery (a fresh counter carrying only an ack or no
// exchange). See Stats.
//
// # Workloads
//
// Client is the controller's periodic-operation workload: reads
// (ReadRequest), invokes (InvokeRequest) and request/response echoes on
// the vendor test protocol, each with targets, a start and stop, an
// interval and a uniform jitter. An operation that falls due while the
// previous one to its target is in flight is skipped and counted; the
// timer re-arms at the next due instant after completion, so timers cost
// in proportion to the work. Responder is the device side: it answers
// reads, invokes (DeviceModel is an On/Off light) and echo requests.
// Reader, the read-only controller that came first, is kept for older
// tests; new code uses Client.
//
// Subscriptions (spec 8.5): Subscriber runs beside a Client
// (Workloads{client, subscriber}) and keeps one im.SubscriptionClient per
// (SubscribeOp, target) over the Client's sessions: liveness timeout,
// resubscribe backoff with seeded jitter, the session set up again after
// a liveness timeout (ReestablishCASE). Publisher, on a device's Responder
// (Responder.Subs), drives im.SubscriptionEngine on its timers and makes
// the device's local changes (Change), reported reliably over the
// subscriber's session.
//
// # Node events
//
// Besides session events (OnEvent), a node emits NodeEvents (OnNodeEvent):
// every datagram it sends, its core's verdict on injected datagrams,
// operations started, ended (outcome, latency) and skipped, establishments
// queued, attempted, failed (cause) and ended (succeeded with latency, or
// given up), and power changes. Metrics (scenarios/metrics) are sums of
// these events and the simulator's; nothing is counted twice.
//
// # Power
//
// PowerOff, PowerOn and Reboot model a node losing power or restarting:
// its session core (sessions, exchanges, windows, MRP state, the
// unencrypted counter) is lost and a fresh one is built by the node's
// CoreFactory from that boot's own seeded streams; the node's Store (group
// counters with their look-ahead, anything else a writer puts there)
// survives. Workloads and Handshakers implementing Lifecycle end what was
// in flight (operations count aborted) and resume on the new core. A
// Client re-establishes a session it has lost (MRP give-up, CloseSession,
// eviction), and every session after its own node's reboot.
//
// # Layering
//
// nodes imports session and clock, never the simulator (tlv, clock ←
// session ← nodes ← sim ← scenarios ← cmd): package scenarios wires sim
// sockets to Nodes.
package nodes
