package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
)

// PublicKeyECDSA returns c's public key; it fails if the point is not on
// P-256.
func (c *Certificate) PublicKeyECDSA() (*ecdsa.PublicKey, error) {
	if len(c.PublicKey) != PublicKeyLen {
		return nil, errors.New("cert: public key is not 65 octets")
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), c.PublicKey)
}

// CheckSignatureFrom verifies that c's signature over its DER TBS was made
// with the key of issuer.
func (c *Certificate) CheckSignatureFrom(issuer *Certificate) error {
	pub, err := issuer.PublicKeyECDSA()
	if err != nil {
		return err
	}
	return c.CheckSignature(pub)
}

// CheckSignature verifies c's signature with pub.
func (c *Certificate) CheckSignature(pub *ecdsa.PublicKey) error {
	tbs, err := AppendTBS(nil, c)
	if err != nil {
		return err
	}
	h := sha256.Sum256(tbs)
	if !ecdsa.VerifyASN1(pub, h[:], SignatureToASN1(c.Signature)) {
		return errors.New("cert: signature does not verify")
	}
	return nil
}

// Sign sets c's signature: ECDSA P-256 with SHA-256 over the DER TBS, made
// deterministic by RFC 6979 (crypto/ecdsa with a nil random source), so the
// same key and certificate always give the same bytes.
func (c *Certificate) Sign(key *ecdsa.PrivateKey) error {
	c.Signature = make([]byte, SignatureLen) // placeholder so the TBS encodes
	tbs, err := AppendTBS(nil, c)
	if err != nil {
		return err
	}
	h := sha256.Sum256(tbs)
	der, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		return err
	}
	sig, ok := SignatureFromASN1(der)
	if !ok {
		return errors.New("cert: crypto/ecdsa returned an unexpected signature")
	}
	c.Signature = sig
	return nil
}
