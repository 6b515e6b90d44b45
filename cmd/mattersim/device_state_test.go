package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/nodes/devstate"
)

// runDeviceUntil runs "mattersim device" on 127.0.0.1 like startDevice and
// returns its address, its log and a stop function that waits for it.
func runDeviceUntil(t *testing.T, extra ...string) (string, *syncBuffer, func()) {
	t.Helper()
	addr, _, log, stop := runDeviceOn(t, "127.0.0.1", extra...)
	return addr, log, stop
}

// TestDeviceStateRestart: a device started with --state writes a 0600
// file at once (no fabric), is commissioned by the Go commissioner (the
// file then holds the fabric, its ACL entry and the resumption record),
// and after a restart with the same file keeps its fabric: the window is
// closed (pair is acked and ignored), and CASE on the kept fabric works.
func TestDeviceStateRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.json")
	addr, log, stop := runDeviceUntil(t, "--state", path)
	waitLog(t, log, "state: no "+path+" yet")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	st, ok, err := devstate.Load(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, st.Fabrics.Fabrics)

	code, out, errOut := runCLI(t, "commission", "--peer", addr, "--timeout", "20s", "--no-subscribe")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	waitLog(t, log, "CommissioningComplete: fabric 1 committed")
	waitLog(t, log, "state: saved "+path+" (1 fabric(s), 1 ACL entries")
	stop()
	st, ok, err = devstate.Load(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, st.Fabrics.Fabrics, 1)
	require.NotEmpty(t, st.Resumption)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	addr, log, _ = runDeviceUntil(t, "--state", path)
	waitLog(t, log, "state: restored 1 fabric(s), 1 ACL entries")
	waitLog(t, log, "commissioning window closed")
	code, _, errOut = runCLI(t, "pair", "--peer", addr, "--timeout", "1500ms")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "its commissioning window is closed")
	code, out, errOut = runCLI(t, "commission", "--peer", addr, "--case-repeat", "1", "--timeout", "20s")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	waitLog(t, log, "CASE session established with")
	// A new CASE session: a new resumption record replaces the old one.
	waitLog(t, log, "state: saved "+path)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEqual(t, string(before), string(after))
}

// A bad, foreign or newer file, or a passcode that does not match the
// kept verifier, is refused with exit 2 and a message naming the file
// and the field; the file is left as it was.
func TestDeviceStateBadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	_, log, stop := runDeviceUntil(t, "--state", good)
	waitLog(t, log, "state: no")
	stop()
	goodBytes, err := os.ReadFile(good)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, contents, want string
		args                 []string
	}{
		{"garbage", "not json", "not JSON at offset", nil},
		{"foreign", `{"hello": 1}`, "field format: devstate: not a mattersim device state file", nil},
		{"newer", `{"format": "mattersim-device-state", "version": 9}`, "field version: devstate: state file from a newer format version: 9", nil},
		{"bad salt", strings.Replace(string(goodBytes), `"salt": "`, `"salt": "AA`, 1), "field pase.salt", nil},
		{"other passcode", string(goodBytes), "--passcode 12345679 does not match the PASE verifier kept in", []string{"--passcode", "12345679"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".json")
			require.NoError(t, os.WriteFile(p, []byte(tc.contents), 0o600))
			code, _, errOut := runCLI(t, append([]string{"device", "--listen", "127.0.0.1:0", "--mdns=false", "--state", p}, tc.args...)...)
			require.Equal(t, 2, code, errOut)
			require.Contains(t, errOut, p)
			require.Contains(t, errOut, tc.want)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, tc.contents, string(b))
		})
	}
	// An unwritable place is refused at start, not at the first commit.
	code, _, errOut := runCLI(t, "device", "--listen", "127.0.0.1:0", "--mdns=false", "--state", filepath.Join(dir, "no", "dir", "s.json"))
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "--state: state file")
}
