// Package im is a minimal Matter Interaction Model (Matter Core
// Specification chapter 8): the message codecs for Read, Report, Invoke and
// StatusResponse (and Subscribe, Write, Timed), a small data model for
// virtual devices, a Server that turns one request payload into one
// response payload, and sans-I/O state machines for subscriptions.
//
// Scope (see README.md):
//   - Codecs (spec 8.9 "Message" and 8.10 "Information Blocks"): ReadRequest,
//     ReportData, InvokeRequest, InvokeResponse, StatusResponse, with their
//     information blocks AttributePathIB, AttributeDataIB, AttributeStatusIB,
//     AttributeReportIB, CommandPathIB, CommandDataIB, CommandStatusIB,
//     InvokeResponseIB, StatusIB and DataVersionFilterIB. Encoders append
//     (AppendX(b, *X) []byte); decoders fill a caller-owned struct, skip
//     unknown tags and accept any integer width (spec 8.1.1 / A.7: receivers
//     must tolerate both).
//   - Attribute and command field values are carried as one self-contained
//     TLV element with an anonymous tag (type Value); the codecs move them in
//     and out of their context-tagged positions.
//   - Server answers Read (with wildcard expansion, spec 8.9.2.2) and Invoke
//     (spec 8.8) against a Node, and every request it cannot serve with the
//     status code the spec assigns (spec 8.10.1 table "Status Codes").
//     Handle is stateless, one message in, one out: it refuses Subscribe,
//     Write and Timed, and never chunks.
//   - Server.HandleExchange keeps per-exchange state (Exchange) and adds
//     Write, the Timed interaction (TimedRequest, then the
//     action within its window) and chunked Read reports (SplitReport).
//   - SubscriptionEngine is the publisher side of Subscribe (spec 8.5):
//     priming report (chunked), SubscribeResponse, reports of changed
//     attributes no sooner than the min interval, empty keep-alives at the
//     max interval. SubscriptionClient is the subscriber: liveness timer
//     and resubscribe backoff computed as connectedhomeip's ReadClient does.
//   - Events are not modelled.
//
// The package is sans-I/O: no sockets, goroutines or clock reads; time
// comes in as clock.Time arguments and randomness (resubscribe jitter)
// from an injected source.
package im
