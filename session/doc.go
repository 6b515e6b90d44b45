// Package session is mattersim's sans-I/O Matter session core: the session
// table, message reception and transmission, exchanges and the Message
// Reliability Protocol (Matter Core Specification chapter 4: 4.4 message
// format, 4.5–4.6 message counters and replay windows, 4.7 message
// processing, 4.8 security, 4.10 exchanges, 4.11.1.4 CloseSession, 4.12
// MRP, 4.13.2 session table).
//
// A Manager is one node's core. It never opens a socket, reads a clock,
// sleeps, starts a goroutine or draws from a global random source: every
// input carries the current time, and everything it wants done comes back
// as outputs the driver drains. Randomness is injected: an io.Reader for the
// values the spec wants random (counters, session and exchange ids,
// ephemeral node ids) and a math/rand/v2 source for MRP jitter.
//
// # Driving loop
//
// A driver (the simulator, or nodes/udp on real sockets) owns the clock and
// the network and runs, on one goroutine:
//
//	m, err := session.New(cfg, entropy, jitterSource)
//	for {
//		// 1. Feed inputs, each with the current time.
//		select {
//		case d := <-datagrams:
//			m.HandleDatagram(now, d.from, d.bytes)
//		case <-timer(m.NextDeadline()):
//			m.HandleTimeout(now)
//		case req := <-app:
//			m.Send(now, req.exchange, req.msg) // or NewExchange, CloseExchange, CloseSession...
//		}
//		// 2. Drain every output before the next input.
//		for {
//			o, ok := m.Poll()
//			if !ok {
//				break
//			}
//			if o.IsDatagram() {
//				network.Send(o.To, o.Data)
//			} else {
//				app.Deliver(o.Event)
//			}
//		}
//		// 3. Re-arm the one timer at m.NextDeadline() (clock.Never = none).
//	}
//
// # Ordering obligations
//
//   - Time never goes backwards between calls.
//   - Call HandleTimeout when NextDeadline falls due (calling it early is
//     harmless: it only runs timers whose deadline is <= now). Re-read
//     NextDeadline after every input call: any input can move it.
//   - Drain Poll until it returns false after each input call. Datagram
//     bytes and event payloads alias buffers the Manager reuses once the
//     queue has been drained and the next input call begins: send or copy
//     them before that call. The driver must never modify them.
//   - Send datagrams in the order Poll returns them; a standalone ack or
//     CloseSession may precede a session-closed event that follows it.
//   - HandleDatagram does not keep b.
//
// # Reception
//
// HandleDatagram decodes the message header, finds the session (secure by
// local session id; unsecured by the initiator's ephemeral node id and our
// role, whatever the address), checks the reception window without
// changing it, authenticates and decrypts, and only then commits the
// counter and moves the peer address. MRP ack processing follows (not for
// duplicates), then exchange dispatch. A duplicate is never delivered; if
// it asked for an ack it is re-acked at once. Every malformed, unknown,
// unauthenticated or replayed input is dropped with a typed Event and
// changes no state.
//
// # Unsolicited messages
//
// A message with the I flag that matches no open exchange opens a
// responder exchange only if the driver registered it
// (RegisterUnsolicited); otherwise it is acked if asked and dropped with
// EventUnhandled, and it leaves no session or exchange behind. Responder
// exchanges are capped by Config.MaxExchanges and the unsecured table
// recycles only idle sessions, so unauthenticated input cannot grow the
// Manager. The driver must close every exchange delivered to it.
//
// # Groups
//
// Group messaging and message counter synchronization (spec 4.17, 4.18) are
// in groups.go and mcsp.go: fabrics, key sets and groups are provisioned by
// API (AddFabric, SetKeySet, AddGroup), SendGroup emits a datagram to the
// group's multicast address, received group messages are EventGroupMessage
// with the window's verdict, and every MCSP step is an EventMCSP* event.
// docs/groups.md describes the policies, parameters and choices.
//
// # Concurrency
//
// A Manager is not safe for concurrent use. nodes/udp wraps one in a loop
// goroutine with a goroutine-safe API.
package session
