package main

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/sim"
)

// dissector is the Lua dissector, from this package's directory.
const dissector = "../../tools/wireshark/matter.lua"

// tshark returns the path of tshark, skipping the test when it is not
// installed (failing under CI=true: scripts/setup.sh installs it), and
// checks that it loads the dissector.
func tshark(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tshark not found (CI=true): scripts/setup.sh installs it (apt-get install tshark)")
		}
		t.Skip("tshark not installed (apt-get install tshark, or scripts/setup.sh): the Lua dissector is not tested")
	}
	out, err := exec.Command(path, "-G", "protocols", "-X", "lua_script:"+dissector).CombinedOutput()
	require.NoError(t, err, "%s", out)
	if !strings.Contains(string(out), "\tmattersim\n") {
		// tshark loads -X lua_script files when it runs as root only if
		// its init.lua sets run_user_scripts_when_superuser = true (the
		// Debian package's does; Wireshark's own template did not until
		// 1.12), and not at all when built without Lua.
		t.Fatalf("tshark did not load %s: is it built with Lua (tshark -v)? As root, init.lua must set "+
			"run_user_scripts_when_superuser = true (README \"Wireshark\")\n%s", dissector, lastLines(string(out), 5))
	}
	return path
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// tsharkOutput runs tshark with the Lua script on file and returns its
// stdout and stderr.
func tsharkOutput(t *testing.T, bin, script, file string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-X", "lua_script:" + script, "-r", file}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "tshark: %s", stderr.String())
	return stdout.String(), stderr.String()
}

// luaTrouble returns what in tshark's output shows the script failed: a
// Lua error in a dissection, or a complaint about the script.
func luaTrouble(outputs ...string) string {
	for _, s := range outputs {
		for _, bad := range []string{"Lua Error", "lua_script"} {
			if i := strings.Index(s, bad); i >= 0 {
				return lastLines(s[:min(len(s), i+200)], 3)
			}
		}
	}
	return ""
}

// runTshark runs tshark with the dissector on file and returns stdout; it
// fails on a Lua error anywhere in the output.
func runTshark(t *testing.T, bin, file string, args ...string) string {
	t.Helper()
	stdout, stderr := tsharkOutput(t, bin, dissector, file, args...)
	require.Empty(t, luaTrouble(stdout, stderr), "tshark reports a Lua error")
	return stdout
}

// fieldValues runs tshark -T fields for the given fields and returns, per
// field, every value it printed (all occurrences, all frames).
func fieldValues(t *testing.T, bin, file string, fields ...string) map[string][]string {
	t.Helper()
	args := []string{"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := runTshark(t, bin, file, args...)
	got := make(map[string][]string)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		cols := strings.Split(line, "\t")
		for i, c := range cols {
			if i < len(fields) && c != "" {
				got[fields[i]] = append(got[fields[i]], strings.Split(c, "|")...)
			}
		}
	}
	return got
}

func countOf(vs []string, v string) int {
	n := 0
	for _, x := range vs {
		if x == v {
			n++
		}
	}
	return n
}

// TestTsharkDissector runs a small default scenario with --pcap and
// --pcap-plaintext and reads both captures with tshark and
// tools/wireshark/matter.lua: Secure Channel opcodes by name in both, IM
// opcodes and their decoded TLV (the ReadRequest's attribute path) only in
// the plaintext one, where every decrypted frame is flagged PLAINTEXT;
// the PBKDFParamRequest's passcode id in both. A capture of malformed
// frames dissects without a Lua error, each flagged malformed.
func TestTsharkDissector(t *testing.T) {
	bin := tshark(t)
	wire, plain, _ := captureRun(t)
	fields := []string{"mattersim.opcode_name", "mattersim.pase.passcode_id", "mattersim.im.cluster",
		"mattersim.im.attribute", "mattersim.plaintext", "mattersim.encrypted", "mattersim.tlv.name"}

	w := fieldValues(t, bin, wire, fields...)
	for _, op := range []string{"PBKDFParamRequest", "PBKDFParamResponse", "PASE_Pake1", "PASE_Pake2", "PASE_Pake3", "StatusReport"} {
		require.Positive(t, countOf(w["mattersim.opcode_name"], op), "wire capture: %s", op)
	}
	// One passcode id per PBKDFParamRequest (4 devices; the attacker
	// replays some).
	requests := countOf(w["mattersim.opcode_name"], "PBKDFParamRequest")
	require.GreaterOrEqual(t, requests, 4)
	require.Equal(t, requests, countOf(w["mattersim.pase.passcode_id"], "0"), "wire capture: a passcode id per PBKDFParamRequest")
	require.Zero(t, countOf(w["mattersim.opcode_name"], "ReadRequest"), "wire capture: IM is encrypted")
	require.Empty(t, w["mattersim.plaintext"], "wire capture: nothing is plaintext")
	require.NotEmpty(t, w["mattersim.encrypted"])

	p := fieldValues(t, bin, plain, fields...)
	reads := countOf(p["mattersim.opcode_name"], "ReadRequest")
	require.Positive(t, reads, "plaintext capture: ReadRequest")
	require.Positive(t, countOf(p["mattersim.opcode_name"], "ReportData"), "plaintext capture: ReportData")
	require.Positive(t, countOf(p["mattersim.opcode_name"], "StandaloneAck"))
	require.Equal(t, requests, countOf(p["mattersim.pase.passcode_id"], "0"))
	// The default scenario reads Basic Information (0x0028) attribute 1.
	require.Positive(t, countOf(p["mattersim.im.cluster"], "0x00000028"), "decoded attribute path: %v", p["mattersim.im.cluster"])
	require.Positive(t, countOf(p["mattersim.im.attribute"], "0x00000001"))
	require.Positive(t, countOf(p["mattersim.tlv.name"], "AttributePathIB"))
	require.Positive(t, countOf(p["mattersim.tlv.name"], "AttributeRequests"))
	// Every secure frame the run decrypted says so, and only those are
	// missing from the encrypted ones.
	require.Len(t, p["mattersim.plaintext"], len(w["mattersim.encrypted"])-len(p["mattersim.encrypted"]))
	require.Equal(t, "PLAINTEXT (decrypted by mattersim, not wire bytes)", p["mattersim.plaintext"][0])

	// The rewritten frames are well-formed IPv6/UDP: every checksum good
	// (status 1), as in the wire capture.
	for _, f := range []string{wire, plain} {
		sums := strings.Fields(runTshark(t, bin, f, "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "udp.checksum.status"))
		require.NotEmpty(t, sums)
		require.Equal(t, len(sums), countOf(sums, "1"), "%s: UDP checksums not all good", filepath.Base(f))
	}

	// The decoded tree of a plaintext ReadRequest, as a user sees it.
	tree := runTshark(t, bin, plain, "-V", "-Y", `mattersim.opcode_name == "ReadRequest"`)
	for _, want := range []string{"Matter (mattersim dissector) [mattersim plaintext capture]",
		"PLAINTEXT (decrypted by mattersim, not wire bytes)", "Protocol header: Interaction Model ReadRequest",
		"AttributeRequests (0): array", "AttributePathIB (anonymous): list", "Cluster (3): uint8 = 40"} {
		require.Contains(t, tree, want)
	}
	for _, f := range []string{wire, plain} {
		require.Empty(t, runTshark(t, bin, f, "-Y", "mattersim.malformed"), "%s: frames shown malformed", filepath.Base(f))
	}
	summary := runTshark(t, bin, wire)
	require.Contains(t, summary, "Secure Channel PBKDFParamRequest")
	require.Contains(t, summary, "Encrypted, session")
	// The port table entry wins over UDP heuristics (WireGuard's claims
	// these frames in tshark 4.0 without the dissector).
	require.NotContains(t, summary, "WireGuard")

	t.Run("groups", func(t *testing.T) {
		// Group messages (privacy on): encrypted and obfuscated on the
		// wire, InvokeRequests with their command path in the clear.
		dir := t.TempDir()
		gplain := filepath.Join(dir, "plain.pcap")
		code, _, stderr, out := runOut(t, "group-replay", "--ci", "--quiet", "--pcap", "--pcap-plaintext", gplain)
		require.Equal(t, 0, code, stderr)
		gw := fieldValues(t, bin, filepath.Join(out, "capture.pcap"), "mattersim.opcode_name", "mattersim.encrypted")
		require.Empty(t, gw["mattersim.opcode_name"])
		require.NotEmpty(t, gw["mattersim.encrypted"])
		gp := fieldValues(t, bin, gplain, "mattersim.opcode_name", "mattersim.im.command", "mattersim.plaintext", "mattersim.encrypted")
		require.Len(t, gp["mattersim.plaintext"], len(gw["mattersim.encrypted"]), "every group message decrypted")
		require.Equal(t, len(gp["mattersim.plaintext"]), countOf(gp["mattersim.opcode_name"], "InvokeRequest"))
		require.NotEmpty(t, gp["mattersim.im.command"])
		require.Contains(t, runTshark(t, bin, gplain, "-V", "-c", "1"), "(privacy: de-obfuscated by mattersim)")
	})

	t.Run("shipped", func(t *testing.T) {
		// MCSP (sync-timeout) and a vendor protocol (window-reorder):
		// fixed layouts and opaque payloads, none taken for TLV, no
		// frame shown malformed in either capture.
		for _, tc := range []struct {
			scenario string
			want     []string
		}{
			{"sync-timeout", []string{"MsgCounterSyncReq", "MsgCounterSyncRsp", "InvokeRequest"}},
			{"window-reorder", []string{"opcode 0x02"}},
		} {
			dir := t.TempDir()
			plain := filepath.Join(dir, "plain.pcap")
			code, _, stderr, out := runOut(t, tc.scenario, "--ci", "--quiet", "--pcap", "--pcap-plaintext", plain)
			require.Equal(t, 0, code, stderr)
			for _, f := range []string{filepath.Join(out, "capture.pcap"), plain} {
				require.Empty(t, runTshark(t, bin, f, "-Y", "mattersim.malformed or _ws.malformed or _ws.expert.severity == error"),
					"%s %s", tc.scenario, filepath.Base(f))
			}
			got := fieldValues(t, bin, plain, "mattersim.opcode_name", "mattersim.mcsp.challenge", "mattersim.payload")
			for _, op := range tc.want {
				require.Positive(t, countOf(got["mattersim.opcode_name"], op), "%s: %s", tc.scenario, op)
			}
			if tc.scenario == "sync-timeout" {
				require.NotEmpty(t, got["mattersim.mcsp.challenge"])
			} else {
				require.NotEmpty(t, got["mattersim.payload"], "vendor payloads shown as bytes")
			}
		}
	})

	t.Run("malformed", func(t *testing.T) {
		file, n := malformedCapture(t)
		got := fieldValues(t, bin, file, "frame.number", "mattersim.opcode_name")
		require.Len(t, got["frame.number"], n, "every frame dissected")
		text := runTshark(t, bin, file, "-V")
		// The hand-made frames are all malformed; the random ones mostly.
		require.GreaterOrEqual(t, strings.Count(text, "Expert Info (Error/Malformed): Malformed Matter message:"), len(malformedPayloads))
		for _, want := range []string{"message header at byte 0", "source node id at byte 8", "DSIZ 3 (reserved)",
			"secure message shorter than its 16-byte MIC", "protocol header at byte 8", "TLV element type 0x1F (reserved)",
			"container without end-of-container", "TLV nested deeper than 32", "end-of-container outside a container",
			"TLV string of", "StatusReport at byte", "MsgCounterSyncRsp at byte"} {
			require.Contains(t, text, want)
		}

		// The check can fail: the same dissector without its guard
		// raises Lua errors on these frames, and luaTrouble sees them.
		src, err := os.ReadFile(dissector)
		require.NoError(t, err)
		guard := "local ok, err = pcall(dissect_message, tvb, pinfo, root)"
		require.Contains(t, string(src), guard)
		unguarded := filepath.Join(t.TempDir(), "unguarded.lua")
		require.NoError(t, os.WriteFile(unguarded, []byte(strings.Replace(string(src), guard,
			"dissect_message(tvb, pinfo, root); local ok, err = true, nil", 1)), 0o644))
		stdout, stderr := tsharkOutput(t, bin, unguarded, file, "-V")
		require.NotEmpty(t, luaTrouble(stdout, stderr), "an unguarded dissector raises Lua errors")
	})
}

// malformedPayloads are broken Matter datagrams, one per way a frame can
// end early or lie about its lengths.
var malformedPayloads = [][]byte{
	{},                                // empty
	{0x00, 0x00, 0x00},                // header cut
	{0x04, 0, 0, 0, 1, 0, 0, 0, 1, 2}, // S set, source node id cut
	{0x03, 0, 0, 0, 1, 0, 0, 0},       // DSIZ 3
	{0x00, 0, 0, 0x20, 1, 0, 0, 0, 0xff, 0x00},                                                                                  // MX length past the end
	{0x00, 1, 0, 0x00, 1, 0, 0, 0, 1, 2, 3},                                                                                     // secure, shorter than a MIC
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 0x01},                                                                               // protocol header cut
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x15, 0x20, 1, 0, 0, 0, 0},                                                                      // V set, protocol id cut
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x02, 0x20, 1, 0, 0, 0, 1},                                                                      // A set, ack counter cut
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x08, 0x20, 1, 0, 0, 0, 9, 0},                                                                   // SX length past the end
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x15, 0x25, 0x01, 0x01},                                                 // uint16 cut
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x15, 0x33, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, // 2^64-byte string
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x15, 0x1f},                                                             // reserved element type
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x15, 0x24, 0x01, 0x05},                                                 // struct never closed
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x18},                                                                   // end of container at top
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0, 0x15, 0xc4, 0x01, 0x02},                                                 // FQ tag cut
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x40, 1, 0, 0, 0, 0x00, 0x00, 0x01},                                                       // StatusReport cut
	append([]byte{0x00, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x20, 1, 0, 0, 0}, bytes.Repeat([]byte{0x16}, 200)...),                       // 200 nested arrays
	{0x00, 0, 0, 0, 1, 0, 0, 0, 0x06, 0x01, 1, 0, 0, 0, 1, 2, 3, 4, 5},                                                          // MsgCounterSyncRsp cut
}

// malformedCapture writes malformedPayloads on port 5540, then the same
// with the plaintext marks (port 15540, security flag 0x10 on a secure
// session), then seeded random datagrams, and returns the file and the
// frame count.
func malformedCapture(t *testing.T) (string, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "malformed.pcap")
	f, err := os.Create(file)
	require.NoError(t, err)
	defer f.Close()
	w, err := sim.NewPcap(f)
	require.NoError(t, err)
	a := netip.AddrPortFrom(sim.Addr(0), 5540)
	b := netip.AddrPortFrom(sim.Addr(1), 5540)
	pa, pb := netip.AddrPortFrom(a.Addr(), 15540), netip.AddrPortFrom(b.Addr(), 15540)
	n := 0
	put := func(src, dst netip.AddrPort, payload []byte) {
		n++
		require.NoError(t, w.WritePacket(clock.Time(n)*1000, ipv6UDP(src, dst, payload)))
	}
	for _, m := range malformedPayloads {
		put(a, b, m)
	}
	for _, m := range malformedPayloads {
		m = append([]byte(nil), m...)
		if len(m) >= 8 && m[1] == 0 && m[2] == 0 {
			m[1], m[3] = 7, m[3]|0x10 // session 7, plaintext flag
		}
		put(pa, pb, m)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		m := make([]byte, rng.IntN(80))
		for i := range m {
			m[i] = byte(rng.Uint32())
		}
		if len(m) > 0 {
			m[0] &= 0x07 // version 0, so the header is read on
		}
		dst, src := b, a
		if rng.IntN(2) == 0 {
			dst, src = pb, pa
		}
		put(src, dst, m)
	}
	return file, n
}

// ipv6UDP builds a raw IPv6 packet carrying one UDP datagram (checksum 0:
// tshark does not verify it by default).
func ipv6UDP(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 48, 48+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	b[6], b[7] = 17, 64
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	binary.BigEndian.PutUint16(b[40:], src.Port())
	binary.BigEndian.PutUint16(b[42:], dst.Port())
	binary.BigEndian.PutUint16(b[44:], uint16(8+len(payload)))
	return append(b, payload...)
}
