// Package message encodes and decodes the two Matter message headers: the
// plaintext message header (Matter Core Specification 4.4.1) and the
// protocol, or exchange, header that starts the possibly encrypted part of a
// message (spec 4.4.3).
//
// The codecs are pure and allocation-free. Decoders fill a caller-owned
// struct and return the number of bytes consumed; byte-slice fields they fill
// (the MX and SX extension blocks) alias the input. Encoders append to a
// caller-supplied slice. Every malformed input yields a *DecodeError, never
// a panic.
//
// Number spaces have their own types: NodeID (u64), GroupID (u16),
// SessionID (u16) and ProtocolID (u16). Message counters, exchange ids and
// vendor ids are plain uint32/uint16.
//
// Encryption, nonces, privacy obfuscation and key derivation live in
// package mattersim/session/security, which builds on this package.
//
// Wire layout (all integers little-endian):
//
//	message header:  flags u8 | session id u16 | security flags u8 | counter u32
//	                 [source node u64] [dest node u64 | dest group u16] [MX len u16 + bytes]
//	protocol header: exchange flags u8 | opcode u8 | exchange id u16 [vendor u16]
//	                 protocol id u16 [ack counter u32] [SX len u16 + bytes]
//	then the application payload, then (secure sessions) a 16-byte MIC.
package message
