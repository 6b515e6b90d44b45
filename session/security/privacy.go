package security

import (
	"encoding/binary"

	"mattersim/session/message"
)

// Privacy applies privacy obfuscation to message headers with one privacy
// key (spec 4.9.3): AES-128-CTR over the counter, source and destination
// fields (from offset 4), with the key stream starting at the CCM counter
// block A1 = 0x01 || privacy nonce || 0x0001, which is what the SDK's
// AES_CTR_crypt (CCM with the tag discarded) produces. The privacy nonce
// mixes in the message's MIC, so obfuscation runs after sealing and
// de-obfuscation before opening. Only group messages use privacy.
//
// Create one with NewPrivacy; the zero value is not usable. Not safe for
// concurrent use.
type Privacy struct {
	c ccm
}

// NewPrivacy returns a Privacy for a privacy key (see DerivePrivacyKey).
func NewPrivacy(privacyKey Key) *Privacy {
	p := new(Privacy)
	if err := p.c.init(privacyKey[:], NonceSize, MICSize); err != nil {
		panic("security: " + err.Error()) // unreachable: the key is 16 bytes
	}
	return p
}

// Obfuscate XORs the privacy-protected header bytes of datagram (a whole
// sealed message) with the key stream, in place. The operation is its own
// inverse. It reads the message flags (byte 0), the session id (bytes 1-2)
// and the MIC (the last 16 bytes), which obfuscation leaves clear, and
// errors if the datagram is too short or its flags are invalid.
func (p *Privacy) Obfuscate(datagram []byte) error {
	if len(datagram) < message.PrivacyHeaderOffset {
		return ErrShort
	}
	n, ok := message.PrivacyLen(datagram[0])
	if !ok {
		var h message.Header
		_, err := h.Decode(datagram) // reports the offending field
		return err
	}
	end := message.PrivacyHeaderOffset + n
	if len(datagram) < end+MICSize {
		return ErrShort
	}
	nonce := PrivacyNonce(message.SessionID(binary.LittleEndian.Uint16(datagram[1:])), datagram[len(datagram)-MICSize:])
	p.c.ctr(nonce[:], datagram[message.PrivacyHeaderOffset:end], 1)
	return nil
}

// Deobfuscate undoes Obfuscate; it is the same operation. A receiver that
// tries several candidate keys can restore the datagram after a failed
// attempt by calling Deobfuscate again with the same key.
func (p *Privacy) Deobfuscate(datagram []byte) error { return p.Obfuscate(datagram) }
