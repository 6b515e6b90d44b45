package testca

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"mattersim/session/security"
)

// File is one output file: a path relative to the output directory and
// its contents. Secret files (private keys) should be written readable by
// the owner only.
type File struct {
	Path   string
	Data   []byte
	Secret bool
}

// Manifest describes the files of a fabric; it is manifest.json.
type Manifest struct {
	Generator          string          `json:"generator"`
	Seed               uint64          `json:"seed"`
	FabricID           string          `json:"fabric_id"`
	CompressedFabricID string          `json:"compressed_fabric_id"`
	IPKEpochKey        string          `json:"ipk_epoch_key"`
	OperationalIPK     string          `json:"operational_ipk"`
	NotBefore          string          `json:"not_before"`
	NotAfter           string          `json:"not_after"`
	RCAC               ManifestEntry   `json:"rcac"`
	ICAC               *ManifestEntry  `json:"icac,omitempty"`
	Nodes              []ManifestEntry `json:"nodes"`
}

// ManifestEntry names one certificate's files.
type ManifestEntry struct {
	NodeID       string `json:"node_id,omitempty"`
	Subject      string `json:"subject"`
	SubjectKeyID string `json:"subject_key_id"`
	PEM          string `json:"pem"`
	TLV          string `json:"tlv"`
	Key          string `json:"key"`
}

// CompressedFabricID returns the fabric's compressed fabric id (spec
// 4.3.2.2), which names it in operational DNS-SD.
func (f *Fabric) CompressedFabricID() [8]byte {
	c, err := security.CompressedFabricID(f.RCAC.Cert.PublicKey, f.Options.FabricID)
	if err != nil {
		panic("testca: " + err.Error()) // our own RCAC always has a 65-octet key
	}
	return c
}

// OperationalIPK returns the IPK that CASE uses: the operational group key
// of the IPK epoch key (spec 4.16.2.1).
func (f *Fabric) OperationalIPK() [16]byte {
	return security.DeriveGroupOperationalKey(security.Key(f.IPK), f.CompressedFabricID())
}

// Files returns the fabric as files, in a fixed order:
//
//	manifest.json
//	rcac.pem rcac.chip rcac-key.pem
//	icac.pem icac.chip icac-key.pem                  (with an ICAC)
//	nodes/NODEID.pem nodes/NODEID.chip nodes/NODEID-key.pem
//
// where NODEID is the node id in 16 upper-case hex digits. .pem holds the
// X.509 certificate, .chip the Matter TLV certificate as raw binary (the
// SDK chip-cert tool's "chip" format), -key.pem the private key as a SEC 1
// "EC PRIVATE KEY" PEM block.
func (f *Fabric) Files() ([]File, error) {
	m := Manifest{
		Generator: "mattersim fabric new",
		Seed:      f.Options.Seed,
		FabricID:  fmt.Sprintf("0x%016X", f.Options.FabricID),
		NotBefore: f.Options.NotBefore.String(),
		NotAfter:  "no expiry",
	}
	if f.Options.NotAfter != 0 {
		m.NotAfter = f.Options.NotAfter.String()
	}
	cfid, ipk := f.CompressedFabricID(), f.OperationalIPK()
	m.CompressedFabricID = hex.EncodeToString(cfid[:])
	m.IPKEpochKey = hex.EncodeToString(f.IPK[:])
	m.OperationalIPK = hex.EncodeToString(ipk[:])

	var files []File
	add := func(base string, id Identity, nodeID string) (ManifestEntry, error) {
		key, err := x509.MarshalECPrivateKey(id.Key)
		if err != nil {
			return ManifestEntry{}, err
		}
		e := ManifestEntry{NodeID: nodeID, Subject: id.Cert.Subject.String(),
			SubjectKeyID: hex.EncodeToString(id.Cert.SubjectKeyID()),
			PEM:          base + ".pem", TLV: base + ".chip", Key: base + "-key.pem"}
		files = append(files,
			File{Path: e.PEM, Data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.DER})},
			File{Path: e.TLV, Data: id.TLV},
			File{Path: e.Key, Data: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key}), Secret: true})
		return e, nil
	}
	var err error
	if m.RCAC, err = add("rcac", f.RCAC, ""); err != nil {
		return nil, err
	}
	if f.ICAC != nil {
		e, err := add("icac", *f.ICAC, "")
		if err != nil {
			return nil, err
		}
		m.ICAC = &e
	}
	m.Nodes = make([]ManifestEntry, len(f.Nodes))
	for i, n := range f.Nodes {
		id := fmt.Sprintf("%016X", f.NodeID(i))
		if m.Nodes[i], err = add("nodes/"+id, n, "0x"+id); err != nil {
			return nil, err
		}
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]File{{Path: "manifest.json", Data: append(js, '\n')}}, files...), nil
}
