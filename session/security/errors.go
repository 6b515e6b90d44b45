package security

import "errors"

// Errors returned when opening or de-obfuscating a message. Both are
// ordinary outcomes for bytes from the network: the caller drops the
// message and counts the reason.
var (
	// ErrAuthentication means the MIC did not verify: wrong key, wrong
	// nonce (node id, counter, flags) or altered bytes.
	ErrAuthentication = errors.New("security: message authentication failed")
	// ErrShort means the datagram is too short to hold its header and MIC.
	ErrShort = errors.New("security: message too short for its MIC")
)
