package security

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"mattersim/session/message"
)

// HKDF info strings (spec 4.13.2.6, 4.14.2.6, 4.16.2; connectedhomeip
// CryptoContext.cpp and CHIPCryptoPAL.cpp).
const (
	InfoSessionKeys           = "SessionKeys"
	InfoSessionResumptionKeys = "SessionResumptionKeys"
	infoGroupKey              = "GroupKey v1.0"
	infoGroupKeyHash          = "GroupKeyHash"
	infoPrivacyKey            = "PrivacyKey"
	infoCompressedFabric      = "CompressedFabric"
)

// SessionKeys are the keys of a PASE or CASE session: the initiator
// encrypts with I2R and decrypts with R2I, the responder the reverse.
type SessionKeys struct {
	I2R                  Key
	R2I                  Key
	AttestationChallenge [16]byte
}

// DeriveSessionKeys runs HKDF-SHA256(ikm, salt, info) for 48 bytes and
// splits them I2R || R2I || AttestationChallenge (spec 4.13.2.6 for PASE:
// ikm = Ke, empty salt, InfoSessionKeys; spec 4.14.2.6 for CASE:
// ikm = shared secret, salt = IPK || SHA-256(Sigma1||Sigma2||Sigma3);
// resumption uses InfoSessionResumptionKeys with salt = initiator random ||
// resumption id). An empty salt means HashLen zero bytes (RFC 5869).
func DeriveSessionKeys(ikm, salt []byte, info string) (SessionKeys, error) {
	var k SessionKeys
	if len(ikm) == 0 {
		return k, errors.New("security: empty session key material")
	}
	out, err := hkdf.Key(sha256.New, ikm, salt, info, 48)
	if err != nil {
		return k, err
	}
	copy(k.I2R[:], out[0:16])
	copy(k.R2I[:], out[16:32])
	copy(k.AttestationChallenge[:], out[32:48])
	return k, nil
}

// mustHKDF derives short fixed-length keys; hkdf.Key only fails for lengths
// over 255*32 bytes.
func mustHKDF(ikm, salt []byte, info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		panic("security: " + err.Error())
	}
	return out
}

// DeriveGroupOperationalKey derives a group's operational (encryption) key
// from an epoch key and the compressed fabric id (spec 4.16.2.1):
// HKDF-SHA256(epochKey, salt = CFID, "GroupKey v1.0", 16). The IPK used by
// CASE is this key for key set 0.
func DeriveGroupOperationalKey(epochKey Key, compressedFabricID [8]byte) Key {
	var k Key
	copy(k[:], mustHKDF(epochKey[:], compressedFabricID[:], infoGroupKey, KeySize))
	return k
}

// GroupSessionID derives the Group Session ID, the "group key hash", of an
// operational group key (spec 4.16.2.2): HKDF-SHA256(opKey, empty salt,
// "GroupKeyHash", 2) read big-endian.
func GroupSessionID(opKey Key) message.SessionID {
	return message.SessionID(binary.BigEndian.Uint16(mustHKDF(opKey[:], nil, infoGroupKeyHash, 2)))
}

// DerivePrivacyKey derives the privacy key of an operational group key
// (spec 4.9.3): HKDF-SHA256(opKey, empty salt, "PrivacyKey", 16).
func DerivePrivacyKey(opKey Key) Key {
	var k Key
	copy(k[:], mustHKDF(opKey[:], nil, infoPrivacyKey, KeySize))
	return k
}

// GroupKeys are the keys derived from one group epoch key.
type GroupKeys struct {
	Operational Key               // encryption key
	SessionID   message.SessionID // group session id (key hash)
	Privacy     Key               // privacy obfuscation key
}

// DeriveGroupKeys derives the operational key, group session id and privacy
// key of an epoch key on a fabric.
func DeriveGroupKeys(epochKey Key, compressedFabricID [8]byte) GroupKeys {
	op := DeriveGroupOperationalKey(epochKey, compressedFabricID)
	return GroupKeys{Operational: op, SessionID: GroupSessionID(op), Privacy: DerivePrivacyKey(op)}
}

// CompressedFabricID derives the 8-byte compressed fabric id (spec 4.3.2.2):
// HKDF-SHA256(IKM = root public key without its 0x04 prefix, salt = fabric
// id as u64 big-endian, "CompressedFabric", 8). rootPublicKey is an
// uncompressed P-256 point, 65 bytes starting 0x04, or the 64 bytes after it.
func CompressedFabricID(rootPublicKey []byte, fabricID uint64) ([8]byte, error) {
	var out [8]byte
	switch {
	case len(rootPublicKey) == 65 && rootPublicKey[0] == 0x04:
		rootPublicKey = rootPublicKey[1:]
	case len(rootPublicKey) == 64:
	default:
		return out, errors.New("security: root public key must be an uncompressed P-256 point (65 bytes with 0x04, or 64)")
	}
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], fabricID)
	copy(out[:], mustHKDF(rootPublicKey, salt[:], infoCompressedFabric, 8))
	return out, nil
}
