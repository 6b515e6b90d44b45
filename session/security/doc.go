// Package security implements Matter message security (Matter Core
// Specification 4.8 and 3.6): AES-CCM-128 with a 13-byte nonce and a 16-byte
// MIC, the message nonce, sealing and opening whole messages, privacy
// obfuscation of group message headers (spec 4.9.3), and the HKDF-SHA256
// derivations of session keys (spec 4.13.2.6 / 4.14.2), group keys, group
// session ids, privacy keys (spec 4.16.2) and the compressed fabric id
// (spec 4.3.2.2).
//
// Sealing a message, as the C++ SDK and matter.js do (spec 4.8, 4.9.3):
//
//	b = hdr.Append(b)               // clear header = AAD
//	b = ph.Append(b)                // protocol header + payload = plaintext
//	b = append(b, payload...)
//	b = security.SealInPlace(ccm, b, hdr.Len(), senderNodeID)
//	if hdr.Flags.Privacy() { priv.Obfuscate(b) }  // group sessions only
//
// Opening reverses it: de-obfuscate (P=1), Header.Decode, OpenMessage, then
// ProtocolHeader.Decode on the plaintext.
//
// Everything here is allocation-free on the message path. CCM and Privacy
// values keep scratch blocks and are therefore not safe for concurrent use;
// the session core is single-threaded.
package security
