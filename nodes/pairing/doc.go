// Package pairing runs PASE (spec 4.14.1) over a session.Manager: the glue
// between the sans-I/O handshake state machines of session/pase and the
// session core's unsecured sessions, exchanges and MRP.
//
// An Initiator (commissioner) opens an unsecured session and one exchange
// towards the peer (spec 4.13.2.1, 4.10), sends every handshake message on
// that exchange with R set so MRP retransmits it (spec 4.12), feeds the
// replies it is given into pase.Initiator, and on success installs the PASE
// secure session with the derived keys and ids (spec 4.13.2.6, 4.14.1.4),
// with the peer's MRP intervals from its session parameters (spec 4.12.8),
// then removes the unsecured session once the handshake exchange is done.
// A Responder (device) does the same for incoming PBKDFParamRequests: it
// reserves a local session id per pairing, serves one pairing at a time,
// counts failures (pase.Responder), and arms a fail-safe that closes an
// established PASE session after a while (matter.js arms 60 s).
//
// Like the core, this package is sans-I/O: no goroutines, sockets, sleeps
// or wall clock. The driver that drains the Manager passes every Event to
// HandleEvent (which reports whether the event was the handshake's), calls
// HandleTimeout when Deadline falls due, and keeps draining the Manager after
// each call, since the glue calls Manager methods that produce outputs. Both
// the simulator and nodes/udp (inside Do) drive it.
//
// Failures are typed: *Error carries the role, the peer, the message that
// was awaited and the cause, which matches the session/pase sentinels
// (pase.ErrWrongPasscode, pase.ErrTimeout, ...) or ErrNoAck (MRP gave up).
//
// Neither type is safe for concurrent use; the zero values are not usable.
package pairing
