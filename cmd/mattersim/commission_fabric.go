package main

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mattersim/nodes/commissioner"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

// loadFabricDir reads a fabric written by "mattersim fabric new": the
// RCAC (and ICAC) with their keys, the first node as the controller, and
// the IPK epoch key from manifest.json.
func loadFabricDir(dir string) (*commissioner.Fabric, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m testca.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(m.Nodes) == 0 {
		return nil, errors.New("manifest.json lists no nodes")
	}
	fid, err := strconv.ParseUint(strings.TrimPrefix(m.FabricID, "0x"), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("fabric_id %q: %w", m.FabricID, err)
	}
	ipk, err := hex.DecodeString(m.IPKEpochKey)
	if err != nil || len(ipk) != 16 {
		return nil, fmt.Errorf("ipk_epoch_key %q: want 16 octets in hex", m.IPKEpochKey)
	}
	load := func(e testca.ManifestEntry) (*cert.Certificate, []byte, *ecdsa.PrivateKey, error) {
		tlvb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.TLV)))
		if err != nil {
			return nil, nil, nil, err
		}
		c, err := cert.DecodeTLV(tlvb)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", e.TLV, err)
		}
		kb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Key)))
		if err != nil {
			return nil, nil, nil, err
		}
		blk, _ := pem.Decode(kb)
		if blk == nil {
			return nil, nil, nil, fmt.Errorf("%s: no PEM block", e.Key)
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", e.Key, err)
		}
		return c, tlvb, k, nil
	}
	f := &commissioner.Fabric{FabricID: fid}
	copy(f.IPKEpochKey[:], ipk)
	if f.RCAC, f.RCACTLV, f.IssuerKey, err = load(m.RCAC); err != nil {
		return nil, err
	}
	if m.ICAC != nil {
		if f.ICAC, f.ICACTLV, f.IssuerKey, err = load(*m.ICAC); err != nil {
			return nil, err
		}
	}
	noc, nocTLV, key, err := load(m.Nodes[0])
	if err != nil {
		return nil, err
	}
	id, ok := noc.Subject.NodeID()
	if !ok {
		return nil, errors.New("the first node's NOC has no node id")
	}
	f.ControllerNodeID, f.ControllerNOC, f.ControllerKey = id, nocTLV, key
	if _, err := f.CASEFabric(1); err != nil {
		return nil, err
	}
	return f, nil
}

// loadPAAs reads every .der and .pem certificate in dir.
func loadPAAs(dir string) ([]*x509.Certificate, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		switch filepath.Ext(e.Name()) {
		case ".pem":
			for {
				var blk *pem.Block
				blk, b = pem.Decode(b)
				if blk == nil {
					break
				}
				if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
					out = append(out, c)
				}
			}
		case ".der":
			if c, err := x509.ParseCertificate(b); err == nil {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no certificates")
	}
	return out, nil
}
