// Package cert is the Matter operational certificate codec and chain
// validator (Matter Core specification 6.5 "Operational Certificate
// Encoding", 6.5.x; connectedhomeip src/credentials/CHIPCert.h,
// CHIPCertToX509.cpp, CHIPCertFromX509.cpp, CHIPCert.cpp).
//
// A Certificate is the decoded form shared by the two encodings:
//
//   - the Matter TLV form (spec 6.5, "matter-certificate"), which
//     DecodeTLV reads and AppendTLV writes, and
//   - the X.509 DER form (the RFC 5280 profile of spec 6.5), which
//     ParseDER reads and AppendDER writes.
//
// The ECDSA signature always covers the DER TBSCertificate, so the
// conversion must reproduce the SDK's DER byte for byte: AppendTBS builds
// it with golang.org/x/crypto/cryptobyte in the SDK's field order, with each
// distinguished-name attribute in its own RDN, Matter identifiers as
// UTF8String of 16 (64-bit ids) or 8 (CASE Authenticated Tags) upper-case
// hex digits, and validity as UTCTime before 2050 and GeneralizedTime from
// 2050 on (RFC 5280 4.1.2.5). The TLV form stores the signature as the raw
// 64-octet r||s; DER wraps it as an ASN.1 ECDSA-Sig-Value.
//
// Decoders never panic on bad input; they return *DecodeError. ParseDER is
// strict: it accepts only DER that AppendDER reproduces exactly, so a
// certificate that parses converts to TLV and back without changing its
// signed bytes. AppendTLV writes the canonical TLV (shortest integer and
// length widths, as the SDK's TLVWriter does); DecodeTLV also accepts wider
// encodings.
//
// Chain.Verify checks an RCAC → (ICAC) → NOC chain at a time given as a
// clock.Time and the Matter-epoch instant of that clock's zero (it never
// reads the wall clock), and reports the first failure as a *VerifyError
// naming the certificate and the check.
//
// Values of this package are not safe for concurrent mutation; a decoded
// Certificate aliases nothing of its input.
package cert
