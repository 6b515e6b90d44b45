package security

import (
	"encoding/binary"

	"mattersim/session/message"
)

// Nonce returns the AES-CCM nonce of a message (spec 4.8.1.1): the security
// flags byte exactly as in the header, the message counter (u32 LE) and the
// sender's node id (u64 LE). The node id is the sender's operational node id
// for CASE, the Source Node ID for group messages, and 0 (unspecified) in
// both directions of a PASE session (connectedhomeip
// CryptoContext::BuildNonce, SessionManager.cpp).
func Nonce(flags message.SecurityFlags, counter uint32, node message.NodeID) [NonceSize]byte {
	var n [NonceSize]byte
	n[0] = byte(flags)
	binary.LittleEndian.PutUint32(n[1:], counter)
	binary.LittleEndian.PutUint64(n[5:], uint64(node))
	return n
}

// PrivacyNonce returns the privacy obfuscation nonce (spec 4.9.3): the
// session id as a big-endian u16 followed by bytes 5..15 of the MIC
// (connectedhomeip CryptoContext::BuildPrivacyNonce,
// kPrivacyNonceMicFragmentOffset = 5). mic must be MICSize bytes.
func PrivacyNonce(sessionID message.SessionID, mic []byte) [NonceSize]byte {
	var n [NonceSize]byte
	binary.BigEndian.PutUint16(n[:], uint16(sessionID))
	copy(n[2:], mic[5:MICSize])
	return n
}
