package devstate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/im/fabrics"
	"mattersim/nodes/commissionee"
	"mattersim/session/casesess"
	"mattersim/session/cert/testca"
	"mattersim/session/spake2p"
)

// testState: a verifier, two fabrics (one with an ICAC), their ACL and
// two resumption records.
func testState(t testing.TB) commissionee.State {
	t.Helper()
	salt := []byte("SPAKE2P Key Salt0123456789abcdef")
	ver, err := spake2p.ComputeVerifier(20202021, salt, 1000)
	require.NoError(t, err)
	st := commissionee.State{Verifier: ver, Salt: salt, Iterations: 1000}
	for i, icac := range []bool{false, true} {
		ca, err := testca.Mint(testca.Options{Seed: uint64(20 + i), FabricID: uint64(1 + i), FirstNodeID: 0x77, ICAC: icac})
		require.NoError(t, err)
		key, err := ca.Nodes[0].Key.Bytes()
		require.NoError(t, err)
		fs := fabrics.FabricState{Index: uint8(1 + i), VendorID: 0xFFF1, FabricID: ca.Options.FabricID, NodeID: ca.NodeID(0),
			Label: []string{"", "kitchen"}[i], RCAC: ca.RCAC.TLV, NOC: ca.Nodes[0].TLV, IPK: ca.IPK, Key: key}
		if icac {
			fs.ICAC = ca.ICAC.TLV
		}
		st.Fabrics.Fabrics = append(st.Fabrics.Fabrics, fs)
		st.Fabrics.ACL = append(st.Fabrics.ACL, fabrics.Entry{FabricIndex: fs.Index, Privilege: fabrics.PrivilegeAdminister,
			AuthMode: fabrics.AuthCASE, Subjects: []uint64{0x1_0000 + uint64(i)}})
		st.Resumption = append(st.Resumption, casesess.Record{Peer: casesess.Peer{FabricIndex: fs.Index, NodeID: 0x1_0000},
			ResumptionID: [casesess.ResumptionIDLen]byte{byte(i + 1)}, SharedSecret: make([]byte, 32)})
	}
	st.Resumption[1].PeerCATs = []uint32{0x0001_0001}
	st.Fabrics.ACL = append(st.Fabrics.ACL, fabrics.Entry{FabricIndex: 2, Privilege: fabrics.PrivilegeView, AuthMode: fabrics.AuthCASE})
	st.Fabrics.NextIndex = 3
	return st
}

func encode(t testing.TB, st commissionee.State) []byte {
	t.Helper()
	b, err := Encode(st)
	require.NoError(t, err)
	return b
}

func TestRoundTrip(t *testing.T) {
	st := testState(t)
	b := encode(t, st)
	got, err := Decode(b)
	require.NoError(t, err)
	require.Equal(t, st, got)
	require.Equal(t, b, encode(t, got))
	require.Contains(t, string(b), `"format": "mattersim-device-state"`)
	require.Contains(t, string(b), `"version": 1`)

	// No fabric yet: only the verifier.
	empty := commissionee.State{Verifier: st.Verifier, Salt: st.Salt, Iterations: 1000, Fabrics: fabrics.Snapshot{NextIndex: 1}}
	got, err = Decode(encode(t, empty))
	require.NoError(t, err)
	require.Equal(t, empty, got)
}

// edit decodes the file as generic JSON, applies f and re-encodes.
func edit(t *testing.T, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	f(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func fab(m map[string]any, i int) map[string]any { return m["fabrics"].([]any)[i].(map[string]any) }

func flipB64(s any, at int) string {
	b, _ := base64.StdEncoding.DecodeString(s.(string))
	b[(at+len(b))%len(b)] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// A bad file is refused with a *FieldError naming the field (ErrBad), a
// foreign one with ErrForeign, a newer one with ErrNewer.
func TestDecodeRefuses(t *testing.T) {
	good := encode(t, testState(t))
	other, err := testca.Mint(testca.Options{Seed: 99})
	require.NoError(t, err)
	otherKey, _ := other.Nodes[0].Key.Bytes()
	for _, tc := range []struct {
		name, field string
		is          error
		file        func() []byte
	}{
		{"not JSON", "", ErrBad, func() []byte { return []byte("{") }},
		{"a JSON array", "", ErrBad, func() []byte { return []byte("[1]") }},
		{"foreign", "format", ErrForeign, func() []byte { return []byte(`{"name":"x"}`) }},
		{"other format", "format", ErrForeign, func() []byte { return edit(t, good, func(m map[string]any) { m["format"] = "chip-kvs" }) }},
		{"newer", "version", ErrNewer, func() []byte {
			return edit(t, good, func(m map[string]any) { m["version"] = 2; m["extra"] = true })
		}},
		{"version 0", "version", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { m["version"] = 0 }) }},
		{"unknown field", "", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { m["fabricz"] = 1 }) }},
		{"trailing data", "", ErrBad, func() []byte { return append(append([]byte(nil), good...), "{}"...) }},
		{"index type", "fabrics.index", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { fab(m, 0)["index"] = 300 }) }},
		{"bad base64", "fabrics[0].noc", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { fab(m, 0)["noc"] = "%%" }) }},
		{"tampered NOC", "fabrics[0].noc", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { fab(m, 0)["noc"] = flipB64(fab(m, 0)["noc"], -3) })
		}},
		{"tampered RCAC", "fabrics[1].rcac", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { fab(m, 1)["rcac"] = flipB64(fab(m, 1)["rcac"], -3) })
		}},
		{"tampered ICAC", "fabrics[1].icac", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { fab(m, 1)["icac"] = flipB64(fab(m, 1)["icac"], -3) })
		}},
		{"tampered key", "fabrics[0].key", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { fab(m, 0)["key"] = flipB64(fab(m, 0)["key"], 5) })
		}},
		{"another node's key", "fabrics[0].key", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { fab(m, 0)["key"] = base64.StdEncoding.EncodeToString(otherKey) })
		}},
		{"short IPK", "fabrics[0].ipk", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { fab(m, 0)["ipk"] = "AAAA" }) }},
		{"node id", "fabrics[0].node_id", ErrBad, func() []byte { return edit(t, good, func(m map[string]any) { fab(m, 0)["node_id"] = 5 }) }},
		{"ACL fabric", "acl[0].fabric_index", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["acl"].([]any)[0].(map[string]any)["fabric_index"] = 9 })
		}},
		{"verifier length", "pase.verifier", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["pase"].(map[string]any)["verifier"] = "AAAA" })
		}},
		{"verifier L off the curve", "pase.verifier", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { p := m["pase"].(map[string]any); p["verifier"] = flipB64(p["verifier"], -1) })
		}},
		{"short salt", "pase.salt", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["pase"].(map[string]any)["salt"] = "AAAA" })
		}},
		{"iterations", "pase.iterations", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["pase"].(map[string]any)["iterations"] = 10 })
		}},
		{"resumption of no fabric", "resumption[0].fabric_index", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["resumption"].([]any)[0].(map[string]any)["fabric_index"] = 7 })
		}},
		{"resumption secret", "resumption[1].shared_secret", ErrBad, func() []byte {
			return edit(t, good, func(m map[string]any) { m["resumption"].([]any)[1].(map[string]any)["shared_secret"] = "AAAA" })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.file())
			require.ErrorIs(t, err, tc.is)
			require.ErrorIs(t, err, ErrBad)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field, "%v", err)
		})
	}
}

// Save writes 0600 atomically (no temporary file left), Load reads it
// back, names the file in its errors, and reports a missing file as
// not ok without an error.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dev.json")
	_, ok, err := Load(path)
	require.NoError(t, err)
	require.False(t, ok)

	st := testState(t)
	require.NoError(t, Save(path, encode(t, st)))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	got, ok, err := Load(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, st, got)

	// Overwrite an existing, more open file: the new one is 0600 too.
	require.NoError(t, os.Chmod(path, 0o644))
	st.Fabrics.Fabrics[1].Label = "den"
	require.NoError(t, Save(path, encode(t, st)))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "a temporary file was left behind")

	require.NoError(t, os.WriteFile(path, []byte(`{"format":"mattersim-device-state","version":3}`), 0o600))
	_, _, err = Load(path)
	require.ErrorIs(t, err, ErrNewer)
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, path, pe.Path)
	require.True(t, strings.HasPrefix(err.Error(), "state file "+path+": field version: "), err.Error())

	require.Error(t, Save(filepath.Join(dir, "no", "such", "dir"), nil))
	require.False(t, errors.Is(err, os.ErrNotExist))
}

// FuzzDeviceState: Decode never panics, and what it accepts re-encodes to
// a file that decodes to the same State.
func FuzzDeviceState(f *testing.F) {
	good, err := Encode(testState(f))
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{"format":"mattersim-device-state","version":1}`))
	f.Add([]byte(`{"format":"mattersim-device-state","version":1,"pase":{},"fabrics":[{}],"acl":[{}],"resumption":[{}]}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Decode(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		again, err := Encode(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded file refused: %v", err)
		}
		require.Equal(t, st, st2)
	})
}

// Keep writes only when the State changed, and the file then decodes to it.
func TestKeeper(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	st := testState(t)
	k, err := NewKeeper(path, &st)
	require.NoError(t, err)
	saved, err := k.Keep(st)
	require.NoError(t, err)
	require.False(t, saved, "the file holds it already (as loaded)")
	_, ok, _ := Load(path)
	require.False(t, ok)

	k, err = NewKeeper(path, nil)
	require.NoError(t, err)
	for i, want := range []bool{true, false} {
		saved, err = k.Keep(st)
		require.NoError(t, err)
		require.Equal(t, want, saved, "call %d", i)
	}
	st.Fabrics.Fabrics[0].Label = "x"
	saved, err = k.Keep(st)
	require.NoError(t, err)
	require.True(t, saved)
	got, ok, err := Load(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "x", got.Fabrics.Fabrics[0].Label)
}
