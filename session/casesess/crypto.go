package casesess

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"mattersim/session/cert"
	"mattersim/session/security"
)

// KDF info strings and CCM nonces of CASE, byte for byte those of
// connectedhomeip src/protocols/secure_channel/CASESession.cpp (kKDFSR2Info,
// kKDFSR3Info, kKDFS1RKeyInfo, kKDFS2RKeyInfo, kTBEData2_Nonce,
// kTBEData3_Nonce, kResume1MIC_Nonce, kResume2MIC_Nonce) and matter.js
// packages/protocol/src/session/case/CaseMessages.ts (KDFSR2_INFO, ...).
const (
	InfoSigma2        = "Sigma2"        // S2K
	InfoSigma3        = "Sigma3"        // S3K
	InfoSigma1Resume  = "Sigma1_Resume" // S1RK
	InfoSigma2Resume  = "Sigma2_Resume" // S2RK
	NonceTBEData2     = "NCASE_Sigma2N"
	NonceTBEData3     = "NCASE_Sigma3N"
	NonceSigma1Resume = "NCASE_SigmaS1"
	NonceSigma2Resume = "NCASE_SigmaS2"
)

// Session key info strings (spec 4.14.2.6; connectedhomeip CryptoContext.cpp
// SEKeysInfo "SessionKeys", RSEKeysInfo "SessionResumptionKeys").
const (
	InfoSessionKeys           = security.InfoSessionKeys
	InfoSessionResumptionKeys = security.InfoSessionResumptionKeys
)

// DestinationID computes the destination identifier of Sigma1 (spec
// 4.14.2.2.1; connectedhomeip CASEDestinationId.cpp
// GenerateCaseDestinationId): HMAC-SHA256 keyed with the operational IPK
// over initiatorRandom || root public key (65 octets) || fabric id (u64
// little-endian) || node id (u64 little-endian).
func DestinationID(ipk [IPKLen]byte, initiatorRandom [RandomLen]byte, rootPublicKey []byte, fabricID, nodeID uint64) ([DestinationLen]byte, error) {
	var out [DestinationLen]byte
	if len(rootPublicKey) != PublicKeyLen {
		return out, fmt.Errorf("casesess: root public key of %d octets, want %d", len(rootPublicKey), PublicKeyLen)
	}
	mac := hmac.New(sha256.New, ipk[:])
	mac.Write(initiatorRandom[:])
	mac.Write(rootPublicKey)
	var ids [16]byte
	binary.LittleEndian.PutUint64(ids[:8], fabricID)
	binary.LittleEndian.PutUint64(ids[8:], nodeID)
	mac.Write(ids[:])
	mac.Sum(out[:0])
	return out, nil
}

// OperationalIPK derives the IPK that CASE uses from an IPK epoch key
// (group key set 0): the operational group key HKDF-SHA256(epochKey, salt =
// compressed fabric id, "GroupKey v1.0") of spec 4.17.2, with the compressed
// fabric id of spec 4.3.2.2 (connectedhomeip GroupDataProviderImpl
// GetIpkKeySet; matter.js Fabric operationalIdentityProtectionKey).
func OperationalIPK(epochKey [16]byte, rootPublicKey []byte, fabricID uint64) ([IPKLen]byte, error) {
	cfid, err := security.CompressedFabricID(rootPublicKey, fabricID)
	if err != nil {
		return [IPKLen]byte{}, err
	}
	return security.DeriveGroupOperationalKey(security.Key(epochKey), cfid), nil
}

// deriveKey is HKDF-SHA256(secret, salt, info) for one AES-128 key (the
// SDK's SessionKeystore::DeriveKey).
func deriveKey(secret, salt []byte, info string) security.Key {
	out, err := hkdf.Key(sha256.New, secret, salt, info, security.KeySize)
	if err != nil {
		panic("casesess: hkdf: " + err.Error()) // only for lengths over 255*32
	}
	return security.Key(out)
}

// sigma2Key derives S2K: salt = IPK || responderRandom || responder
// ephemeral public key || SHA-256(Sigma1) (SDK ConstructSaltSigma2).
func sigma2Key(shared, ipk []byte, responderRandom, responderPub []byte, hashSigma1 []byte) security.Key {
	salt := make([]byte, 0, IPKLen+RandomLen+PublicKeyLen+sha256.Size)
	salt = append(append(append(append(salt, ipk...), responderRandom...), responderPub...), hashSigma1...)
	return deriveKey(shared, salt, InfoSigma2)
}

// sigma3Key derives S3K: salt = IPK || SHA-256(Sigma1 || Sigma2) (SDK
// ConstructSaltSigma3).
func sigma3Key(shared, ipk []byte, hashSigma12 []byte) security.Key {
	salt := append(append(make([]byte, 0, IPKLen+sha256.Size), ipk...), hashSigma12...)
	return deriveKey(shared, salt, InfoSigma3)
}

// resumeMIC computes a resumption MIC: AES-CCM over an empty message with
// key HKDF-SHA256(shared secret, salt = initiatorRandom || resumption id,
// info) and the given nonce; the MIC is the whole output (SDK
// GenerateSigmaResumeMIC and ConstructSigmaResumeKey).
func resumeMIC(shared []byte, initiatorRandom [RandomLen]byte, resumptionID [ResumptionIDLen]byte, info, nonce string) [MICLen]byte {
	salt := append(append(make([]byte, 0, RandomLen+ResumptionIDLen), initiatorRandom[:]...), resumptionID[:]...)
	k := deriveKey(shared, salt, info)
	var mic [MICLen]byte
	copy(mic[:], security.NewCCM(k).Seal(nil, []byte(nonce), nil, nil))
	return mic
}

// seal encrypts a TBEData with the fixed nonce (SDK AES_CCM_encrypt, no AAD).
func seal(k security.Key, nonce string, plaintext []byte) []byte {
	return security.NewCCM(k).Seal(nil, []byte(nonce), plaintext, nil)
}

// open decrypts a TBEData; a wrong key or a tampered byte fails the MIC.
func open(k security.Key, nonce string, ciphertext []byte) ([]byte, error) {
	return security.NewCCM(k).Open(nil, []byte(nonce), ciphertext, nil)
}

// sessionSalt is IPK || SHA-256(Sigma1 || Sigma2 || Sigma3) (spec
// 4.14.2.6; SDK DeriveSecureSession kFinished).
func sessionSalt(ipk, transcript []byte) []byte {
	return append(append(make([]byte, 0, IPKLen+sha256.Size), ipk...), transcript...)
}

// resumptionSalt is initiatorRandom || resumption id of Sigma1 (SDK
// DeriveSecureSession kFinishedViaResume; matter.js
// Bytes.concat(peerRandom, peerResumptionId)).
func resumptionSalt(initiatorRandom [RandomLen]byte, resumptionID [ResumptionIDLen]byte) []byte {
	return append(append(make([]byte, 0, RandomLen+ResumptionIDLen), initiatorRandom[:]...), resumptionID[:]...)
}

// ephemeralKey draws an ephemeral P-256 ECDH key from r: 32 octets read as
// a big-endian scalar, drawn again while it is not in [1, n-1]. Doing this
// ourselves (rather than ecdh.Curve.GenerateKey) keeps a seeded run
// deterministic whatever crypto/ecdh does with its reader.
func ephemeralKey(r io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	for range 64 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("casesess: reading the ephemeral key: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b[:]); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("casesess: 64 invalid scalars in a row")
}

// sharedSecret runs ECDH with the peer's uncompressed point; a point off
// the curve is an error.
func sharedSecret(k *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.P256().NewPublicKey(peer)
	if err != nil {
		return nil, err
	}
	return k.ECDH(pub)
}

// sign signs msg with ECDSA P-256 / SHA-256 and returns raw r||s (spec
// Crypto_Sign, 3.5.3). Signatures are deterministic (RFC 6979, crypto/ecdsa
// with a nil random source), as cert.Certificate.Sign makes them.
func sign(key *ecdsa.PrivateKey, msg []byte) ([SignatureLen]byte, error) {
	var out [SignatureLen]byte
	h := sha256.Sum256(msg)
	der, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		return out, err
	}
	raw, ok := cert.SignatureFromASN1(der)
	if !ok {
		return out, errors.New("casesess: crypto/ecdsa returned an unexpected signature")
	}
	copy(out[:], raw)
	return out, nil
}

// verify checks a raw r||s signature over msg.
func verify(pub *ecdsa.PublicKey, msg []byte, sig [SignatureLen]byte) bool {
	h := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(pub, h[:], cert.SignatureToASN1(sig[:]))
}
