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
// # Layering
//
// nodes imports session and clock, never the simulator (tlv, clock ←
// session ← nodes ← sim ← scenarios ← cmd): package scenarios wires sim
// sockets to Nodes.
package nodes
