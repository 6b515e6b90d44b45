// Package casesess implements Certificate Authenticated Session
// Establishment (Matter Core specification 4.14.2, "CASE"), both roles, as
// sans-I/O state machines in the manner of package pase: the caller feeds
// each received (opcode, payload) with the current time and sends whatever
// Output asks for on the same exchange of the unsecured session. The
// machines never read a clock, start timers or draw global randomness:
// randomness comes from the configured io.Reader, certificates are
// validated at the virtual time given (cert.VerifyOptions), deadlines are
// reported by Deadline and enforced by HandleTimeout (and on every Handle).
// (The directory is casesess because case is a Go keyword.)
//
// The exchange is Sigma1 → Sigma2 → Sigma3 → StatusReport(success) for a
// full handshake and Sigma1 (with resumptionID and initiatorResumeMIC) →
// Sigma2_Resume → StatusReport(success) for a resumption (spec 4.14.2.5).
//
//   - Sigma1 names the responder by destination id = HMAC-SHA256(IPK,
//     initiatorRandom || root public key || fabric id || node id), the IPK
//     being the operational group key of key set 0 (OperationalIPK).
//   - Sigma2 and Sigma3 carry each side's NOC, ICAC and ECDSA signature
//     over TBSData (NOC, ICAC, own ephemeral key, peer's ephemeral key),
//     AES-CCM-128 sealed with S2K / S3K = HKDF-SHA256(ECDH shared secret,
//     salt, "Sigma2"/"Sigma3") under the fixed nonces "NCASE_Sigma2N" /
//     "NCASE_Sigma3N"; S2K's salt is IPK || responderRandom || responder
//     ephemeral key || SHA-256(Sigma1), S3K's IPK || SHA-256(Sigma1 ||
//     Sigma2).
//   - The session keys are HKDF-SHA256(shared secret, IPK ||
//     SHA-256(Sigma1 || Sigma2 || Sigma3), "SessionKeys") → I2R, R2I,
//     attestation challenge; after a resumption HKDF-SHA256(shared secret,
//     initiatorRandom || resumption id, "SessionResumptionKeys").
//
// The transcript hash runs over the message bytes exactly as sent and
// received, never a re-encoding. Every constant (tags, nonces, info
// strings, lengths) is that of connectedhomeip
// src/protocols/secure_channel/CASESession.cpp and CASEDestinationId.cpp and
// of matter.js packages/protocol/src/session/case/CaseMessages.ts,
// CaseServer.ts and CaseClient.ts; docs/case.md lists what is implemented
// and where we deviate.
//
// Checks, and what is sent when one fails (reportFor): the responder answers
// NO_SHARED_TRUST_ROOTS when the destination id matches no fabric and IPK,
// INVALID_PARAMETER for anything else (malformed message, session id 0, a
// point off the curve, encrypted3 failing its MIC, the initiator's chain not
// verifying against the fabric's root at the virtual time or naming another
// fabric, a bad Sigma3 signature); the initiator answers INVALID_PARAMETER
// when encrypted2 fails its MIC, the chain does not verify, the responder's
// NOC names another fabric or another node than the one addressed, the
// Sigma2 signature does not verify, or the Sigma2_Resume MIC is wrong. All
// reports use general code FAILURE (connectedhomeip
// PairingSession::SendStatusReport).
//
// Resumption records live in a bounded Resumption table shared by the
// handshakes of a node (both roles). An unknown resumption id or a wrong
// initiatorResumeMIC is not an error: the responder falls back to a full
// handshake and answers Sigma2, which the initiator accepts.
package casesess
