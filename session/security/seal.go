package security

import (
	"encoding/binary"

	"mattersim/session/message"
)

// SealMessage appends to dst the encoded header h followed by the sealed
// plaintext (the protocol header and application payload) and the MIC, and
// returns the extended slice (spec 4.8.2). The AAD is the clear header as
// encoded; the nonce is built from h.Flags, h.Counter and nonceNode (see
// Nonce). Privacy obfuscation, if h sets P, is a separate step
// (Privacy.Obfuscate) applied to the result.
//
// To seal in place, reserve h.Len() bytes before the plaintext in one
// buffer buf and call SealMessage(buf[:0], c, h, node, buf[h.Len():end]).
func SealMessage(dst []byte, c *CCM, h *message.Header, nonceNode message.NodeID, plaintext []byte) []byte {
	start := len(dst)
	dst = h.Append(dst)
	nonce := Nonce(h.Flags, h.Counter, nonceNode)
	return c.Seal(dst, nonce[:], plaintext, dst[start:])
}

// SealInPlace seals msg = encoded header (hdrLen bytes) || plaintext in
// place and returns msg extended by the MIC (reallocated only if msg lacks
// MICSize spare capacity). The nonce's flags and counter are read from the
// header bytes. msg must hold at least a minimal header.
func SealInPlace(c *CCM, msg []byte, hdrLen int, nonceNode message.NodeID) []byte {
	nonce := Nonce(message.SecurityFlags(msg[3]), binary.LittleEndian.Uint32(msg[4:]), nonceNode)
	return c.Seal(msg[:hdrLen], nonce[:], msg[hdrLen:], msg[:hdrLen])
}

// OpenMessage authenticates and decrypts a received message and appends the
// plaintext (protocol header and payload) to dst (spec 4.8.3). datagram is
// the whole message with its header already de-obfuscated if P was set;
// hdrLen is the length Header.Decode returned. The AAD is datagram[:hdrLen]
// exactly as received, and the nonce's flags and counter come from those
// bytes, so reserved flag bits and any MX block are authenticated as sent
// (matter.js behaviour; the SDK re-encodes the header, which matches for
// every header without MX).
//
// datagram is not modified unless dst aliases it; passing
// datagram[hdrLen:hdrLen] as dst decrypts in place. Errors: ErrShort,
// ErrAuthentication.
func OpenMessage(dst []byte, c *CCM, datagram []byte, hdrLen int, nonceNode message.NodeID) ([]byte, error) {
	if hdrLen < message.MinHeaderLen || len(datagram)-hdrLen < MICSize {
		return nil, ErrShort
	}
	nonce := Nonce(message.SecurityFlags(datagram[3]), binary.LittleEndian.Uint32(datagram[4:]), nonceNode)
	return c.Open(dst, nonce[:], datagram[hdrLen:], datagram[:hdrLen])
}
