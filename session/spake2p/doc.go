// Package spake2p implements SPAKE2+ over P-256 with SHA-256, HKDF and
// HMAC as Matter uses it for PASE (spec 3.10 "Password-Authenticated Key
// Exchange (PAKE)", which follows draft-bar-cfrg-spake2plus-01, not the
// final RFC 9383 key schedule).
//
// The package is a set of pure functions and small value types:
//
//   - ComputeW0W1 and ComputeVerifier turn a passcode into the prover's
//     secrets (w0, w1) and the verifier record (w0, L) a device stores
//     (spec 3.10 "Computation of pA, pB, cA, cB", 5.1.7.1 passcode rules).
//   - RandomScalar draws the ephemeral x or y from an injected io.Reader.
//   - ProverShare and VerifierShare compute X = x·G + w0·M and
//     Y = y·G + w0·N; ProverSecrets and VerifierSecrets compute Z and V
//     after validating the peer's share.
//   - Transcript hashes TT with 8-byte little-endian length prefixes and
//     DeriveKeys splits Ka/Ke and derives the confirmation keys KcA/KcB.
//
// Nothing here reads a clock or global randomness. All functions are safe
// for concurrent use; the value types are plain data.
package spake2p
