// Package capture reads and rewrites what mattersim captures: pcap files of
// simulated (or real) Matter traffic and the session key logs that decrypt
// them.
//
// A key log (KeyLog, ParseKeyLog) has one line per secure session
// establishment with both endpoints' addresses, node ids and session ids
// and the session keys (spec 4.13.2.6), and one line per operational group
// key (spec 4.17.2). A Keyring built from it finds the key of a captured
// secure message by its destination and session id (unicast) or its group
// session id, de-obfuscates a group header (spec 4.9.3) and opens the
// message with the AES-CCM nonce of spec 4.8.1.1 (Keyring.Open).
//
// A plaintext capture (Plaintexter) is a normal capture in which every
// secure message mattersim could decrypt is replaced by its plaintext,
// marked twice so that it is never taken for wire bytes:
//
//   - the message's security flags have PlaintextFlag (0x10, a bit spec
//     4.4.1.3 reserves) set, and the MIC is gone: the protocol header
//     follows the message header directly (a group message's header is
//     de-obfuscated, its privacy flag kept);
//   - every UDP port 5540 of the capture (Matter frames, decrypted or
//     not) reads PlaintextPort (15540), so no Matter dissector takes the
//     file for traffic on the Matter port.
//
// tools/wireshark/matter.lua shows such frames as "PLAINTEXT (decrypted by
// mattersim, not wire bytes)"; `mattersim decode pcap` says the same.
//
// Nothing here is safe for concurrent use.
package capture
