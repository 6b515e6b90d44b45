// Package im is a minimal Matter Interaction Model (Matter Core
// Specification chapter 8): the message codecs for Read, Report, Invoke and
// StatusResponse, a small data model for virtual devices, and a Server that
// turns one request payload into one response payload.
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
//     Subscribe, Write, Timed and events are not implemented; responses are
//     never chunked.
//
// The package is sans-I/O: no sockets, goroutines, clocks or randomness.
package im
