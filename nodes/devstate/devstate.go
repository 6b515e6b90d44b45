// Package devstate is the state file of `mattersim device --state FILE`:
// a commissionee.State as versioned JSON, written atomically.
//
// # Format (version 1)
//
// One JSON object; byte strings are standard base64, numbers decimal:
//
//	{
//	  "format": "mattersim-device-state",  // anything else is a foreign file
//	  "version": 1,                         // a newer version is refused
//	  "pase": {                             // spec 5.1.7: the verifier, not the passcode
//	    "verifier": "...",                  // 97 octets: w0 (32) || L (65, uncompressed
//	                                        // P-256), as the SDK's Spake2pVerifier
//	    "salt": "...",                      // 16..32 octets
//	    "iterations": 1000                  // PBKDF2, 1000..100000
//	  },
//	  "fabrics": [{                         // committed fabrics only (im/fabrics Snapshot)
//	    "index": 1, "vendor_id": 65521, "fabric_id": 1, "node_id": 1, "label": "",
//	    "rcac": "...", "icac": "...",       // Matter TLV certificates; icac omitted if none
//	    "noc": "...",
//	    "ipk": "...",                       // 16-octet IPK epoch key
//	    "key": "..."                        // 32-octet P-256 operational private key
//	  }],
//	  "next_index": 2,                      // the fabric index the next AddNOC takes (0: none free)
//	  "acl": [{"fabric_index": 1, "privilege": 5, "auth_mode": 2, "subjects": [112233]}],
//	  "resumption": [{                      // CASE resumption records, oldest first
//	    "fabric_index": 1, "node_id": 112233,
//	    "resumption_id": "...",             // 16 octets
//	    "shared_secret": "...",             // 32 octets
//	    "peer_cats": []
//	  }]
//	}
//
// Unknown fields are refused (a misspelt field must not be silently
// dropped). Decode checks everything a restart relies on (the chains as
// fabrics.Restore does, the keys against the NOCs, the verifier's point
// on the curve) and names the first bad field in a *FieldError.
//
// The file holds operational private keys: Save writes it with mode 0600
// through a temporary file in the same directory renamed over it, so a
// crash leaves the old file or the new one, never half of one.
package devstate

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"mattersim/im/fabrics"
	"mattersim/nodes/commissionee"
	"mattersim/session/casesess"
	"mattersim/session/spake2p"
)

// Format and Version name the file format; Version is the newest this
// package reads and the one it writes.
const (
	Format  = "mattersim-device-state"
	Version = 1
	// MaxSize bounds a state file (five fabrics and their records take a
	// few kilobytes).
	MaxSize = 1 << 20
)

var (
	// ErrBad is what every FieldError wraps.
	ErrBad = errors.New("devstate: bad state file")
	// ErrNewer: the file was written by a newer format version.
	ErrNewer = errors.New("devstate: state file from a newer format version")
	// ErrForeign: the file is not a mattersim device state file.
	ErrForeign = errors.New("devstate: not a mattersim device state file")
)

// FieldError is a refused file: Field is the JSON path of the first bad
// field ("fabrics[0].noc"; "" for the file as a whole), Err why.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("field %s: %v", e.Field, e.Err)
}

// Unwrap gives ErrBad and the cause.
func (e *FieldError) Unwrap() []error { return []error{ErrBad, e.Err} }

// PathError is FieldError with the file's name.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return fmt.Sprintf("state file %s: %v", e.Path, e.Err) }
func (e *PathError) Unwrap() error { return e.Err }

type fileJSON struct {
	Format     string       `json:"format"`
	Version    int          `json:"version"`
	PASE       paseJSON     `json:"pase"`
	Fabrics    []fabricJSON `json:"fabrics"`
	NextIndex  uint8        `json:"next_index"`
	ACL        []aclJSON    `json:"acl"`
	Resumption []resumeJSON `json:"resumption"`
}

type paseJSON struct {
	Verifier   string `json:"verifier"`
	Salt       string `json:"salt"`
	Iterations uint32 `json:"iterations"`
}

type fabricJSON struct {
	Index    uint8  `json:"index"`
	VendorID uint16 `json:"vendor_id"`
	FabricID uint64 `json:"fabric_id"`
	NodeID   uint64 `json:"node_id"`
	Label    string `json:"label"`
	RCAC     string `json:"rcac"`
	ICAC     string `json:"icac,omitempty"`
	NOC      string `json:"noc"`
	IPK      string `json:"ipk"`
	Key      string `json:"key"`
}

type aclJSON struct {
	FabricIndex uint8    `json:"fabric_index"`
	Privilege   uint8    `json:"privilege"`
	AuthMode    uint8    `json:"auth_mode"`
	Subjects    []uint64 `json:"subjects"`
}

type resumeJSON struct {
	FabricIndex  uint8    `json:"fabric_index"`
	NodeID       uint64   `json:"node_id"`
	ResumptionID string   `json:"resumption_id"`
	SharedSecret string   `json:"shared_secret"`
	PeerCATs     []uint32 `json:"peer_cats"`
}

// sharedSecretLen is the P-256 ECDH shared secret (spec 4.14.2.5: the
// x-coordinate, 32 octets).
const sharedSecretLen = 32

// Encode returns st as the file's JSON (indented, with a final newline).
func Encode(st commissionee.State) ([]byte, error) {
	enc := base64.StdEncoding.EncodeToString
	f := fileJSON{Format: Format, Version: Version, NextIndex: st.Fabrics.NextIndex,
		PASE: paseJSON{Verifier: enc(append(append([]byte(nil), st.Verifier.W0[:]...), st.Verifier.L[:]...)),
			Salt: enc(st.Salt), Iterations: st.Iterations},
		Fabrics: []fabricJSON{}, ACL: []aclJSON{}, Resumption: []resumeJSON{}}
	for _, fs := range st.Fabrics.Fabrics {
		f.Fabrics = append(f.Fabrics, fabricJSON{Index: fs.Index, VendorID: fs.VendorID, FabricID: fs.FabricID,
			NodeID: fs.NodeID, Label: fs.Label, RCAC: enc(fs.RCAC), ICAC: enc(fs.ICAC), NOC: enc(fs.NOC),
			IPK: enc(fs.IPK[:]), Key: enc(fs.Key)})
	}
	for _, e := range st.Fabrics.ACL {
		f.ACL = append(f.ACL, aclJSON{FabricIndex: e.FabricIndex, Privilege: e.Privilege, AuthMode: e.AuthMode,
			Subjects: append([]uint64{}, e.Subjects...)})
	}
	for _, r := range st.Resumption {
		f.Resumption = append(f.Resumption, resumeJSON{FabricIndex: r.Peer.FabricIndex, NodeID: r.Peer.NodeID,
			ResumptionID: enc(r.ResumptionID[:]), SharedSecret: enc(r.SharedSecret),
			PeerCATs: append([]uint32{}, r.PeerCATs...)})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// unb64 decodes the base64 field named field.
func unb64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &FieldError{Field: field, Err: fmt.Errorf("not standard base64: %v", err)}
	}
	return b, nil
}

// Decode parses and checks a state file (see the package documentation).
// The first failure is a *FieldError wrapping ErrBad, and ErrForeign or
// ErrNewer for a file that is not ours or too new. It never panics.
func Decode(b []byte) (commissionee.State, error) {
	var st commissionee.State
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
	}
	if len(b) > MaxSize {
		return st, bad("", "%d octets, at most %d", len(b), MaxSize)
	}
	// The header first, loosely: a newer version may have fields this
	// one does not know, and deserves ErrNewer rather than "unknown field".
	var head struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return st, jsonError(err)
	}
	switch {
	case head.Format == nil:
		return st, &FieldError{"format", fmt.Errorf("%w: missing (want %q)", ErrForeign, Format)}
	case *head.Format != Format:
		return st, &FieldError{"format", fmt.Errorf("%w: %q, want %q", ErrForeign, *head.Format, Format)}
	case head.Version == nil:
		return st, bad("version", "missing")
	case *head.Version > Version:
		return st, &FieldError{"version", fmt.Errorf("%w: %d, this mattersim reads up to %d", ErrNewer, *head.Version, Version)}
	case *head.Version < 1:
		return st, bad("version", "%d, want 1..%d", *head.Version, Version)
	}
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return st, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return st, bad("", "data after the JSON object")
	}

	// PASE verifier.
	verifier, err := unb64("pase.verifier", f.PASE.Verifier)
	if err != nil {
		return st, err
	}
	salt, err := unb64("pase.salt", f.PASE.Salt)
	if err != nil {
		return st, err
	}
	if len(verifier) != spake2p.ScalarLen+spake2p.PointLen {
		return st, bad("pase.verifier", "%d octets, want %d (w0 || L)", len(verifier), spake2p.ScalarLen+spake2p.PointLen)
	}
	w0, err2 := spake2p.ScalarFromBytes(verifier[:spake2p.ScalarLen])
	if err2 != nil || w0 == (spake2p.Scalar{}) {
		return st, bad("pase.verifier", "w0 is not a scalar in 1..n-1")
	}
	if _, err := ecdh.P256().NewPublicKey(verifier[spake2p.ScalarLen:]); err != nil {
		return st, bad("pase.verifier", "L is not a P-256 point: %v", err)
	}
	st.Verifier.W0 = w0
	copy(st.Verifier.L[:], verifier[spake2p.ScalarLen:])
	if n := len(salt); n < spake2p.MinSaltLen || n > spake2p.MaxSaltLen {
		return st, bad("pase.salt", "%d octets, want %d..%d", n, spake2p.MinSaltLen, spake2p.MaxSaltLen)
	}
	if it := f.PASE.Iterations; it < spake2p.MinIterations || it > spake2p.MaxIterations {
		return st, bad("pase.iterations", "%d, want %d..%d", it, spake2p.MinIterations, spake2p.MaxIterations)
	}
	st.Salt, st.Iterations = salt, f.PASE.Iterations

	// Fabric table and ACL, checked by the restore itself.
	snap := fabrics.Snapshot{NextIndex: f.NextIndex}
	for i, fj := range f.Fabrics {
		var raw [5][]byte
		for k, v := range [5]struct{ name, s string }{{"rcac", fj.RCAC}, {"icac", fj.ICAC}, {"noc", fj.NOC},
			{"ipk", fj.IPK}, {"key", fj.Key}} {
			if raw[k], err = unb64(fmt.Sprintf("fabrics[%d].%s", i, v.name), v.s); err != nil {
				return st, err
			}
		}
		if len(raw[3]) != 16 {
			return st, bad(fmt.Sprintf("fabrics[%d].ipk", i), "%d octets, want 16", len(raw[3]))
		}
		fs := fabrics.FabricState{Index: fj.Index, VendorID: fj.VendorID, FabricID: fj.FabricID, NodeID: fj.NodeID,
			Label: fj.Label, RCAC: raw[0], ICAC: raw[1], NOC: raw[2], Key: raw[4]}
		if len(fs.ICAC) == 0 {
			fs.ICAC = nil
		}
		copy(fs.IPK[:], raw[3])
		snap.Fabrics = append(snap.Fabrics, fs)
	}
	for _, a := range f.ACL {
		snap.ACL = append(snap.ACL, fabrics.Entry{FabricIndex: a.FabricIndex, Privilege: a.Privilege,
			AuthMode: a.AuthMode, Subjects: a.Subjects})
	}
	store, err := fabrics.Restore(fabrics.Config{Rand: rand.NewChaCha8([32]byte{})}, snap)
	if err != nil {
		var se *fabrics.StateError
		if errors.As(err, &se) {
			return st, &FieldError{Field: se.Field, Err: se.Err}
		}
		return st, &FieldError{Field: "fabrics", Err: err}
	}
	st.Fabrics = store.Export()

	// Resumption records, of stored fabrics, one per peer and id.
	peers := map[casesess.Peer]bool{}
	ids := map[[casesess.ResumptionIDLen]byte]bool{}
	for i, r := range f.Resumption {
		field := func(name string) string { return fmt.Sprintf("resumption[%d].%s", i, name) }
		rid, err := unb64(field("resumption_id"), r.ResumptionID)
		if err != nil {
			return st, err
		}
		secret, err := unb64(field("shared_secret"), r.SharedSecret)
		if err != nil {
			return st, err
		}
		rec := casesess.Record{Peer: casesess.Peer{FabricIndex: r.FabricIndex, NodeID: r.NodeID},
			SharedSecret: secret, PeerCATs: r.PeerCATs}
		switch {
		case store.Fabric(r.FabricIndex) == nil:
			return st, bad(field("fabric_index"), "no fabric %d", r.FabricIndex)
		case peers[rec.Peer]:
			return st, bad(field("node_id"), "a second record for node 0x%016X on fabric %d", r.NodeID, r.FabricIndex)
		case len(rid) != casesess.ResumptionIDLen:
			return st, bad(field("resumption_id"), "%d octets, want %d", len(rid), casesess.ResumptionIDLen)
		case len(secret) != sharedSecretLen:
			return st, bad(field("shared_secret"), "%d octets, want %d", len(secret), sharedSecretLen)
		case len(r.PeerCATs) > 3:
			return st, bad(field("peer_cats"), "%d CATs, at most 3", len(r.PeerCATs))
		}
		copy(rec.ResumptionID[:], rid)
		if ids[rec.ResumptionID] {
			return st, bad(field("resumption_id"), "repeated")
		}
		if len(rec.PeerCATs) == 0 {
			rec.PeerCATs = nil
		}
		peers[rec.Peer], ids[rec.ResumptionID] = true, true
		st.Resumption = append(st.Resumption, rec)
	}
	return st, nil
}

// jsonError names the field of a JSON decoding error where it can.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &FieldError{Field: te.Field, Err: fmt.Errorf("a JSON %s where %s is wanted", te.Value, te.Type)}
	case errors.As(err, &se):
		return &FieldError{Err: fmt.Errorf("not JSON at offset %d: %v", se.Offset, err)}
	}
	return &FieldError{Err: err}
}

// Load reads and decodes the state file at path. ok is false (and err
// nil) when there is no file: a device starting factory-new. Errors are
// *PathError naming the file.
func Load(path string) (st commissionee.State, ok bool, err error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, &PathError{path, err}
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return st, false, &PathError{path, err}
	}
	st, err = Decode(b)
	if err != nil {
		return st, false, &PathError{path, err}
	}
	return st, true, nil
}

// Save writes b (an Encode result) to path atomically: a temporary file
// in the same directory, mode 0600, synced, renamed over path, and the
// directory synced, so that path holds the old contents or the new ones
// after a crash. Errors are *PathError.
func Save(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &PathError{path, err}
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return &PathError{path, err}
	}
	if err := tmp.Chmod(0o600); err != nil { // CreateTemp's mode already; explicit for the umask-proof record
		return fail(err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return &PathError{path, err}
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return &PathError{path, err}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename's durability; not every filesystem supports it
		d.Close()
	}
	return nil
}
