package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// captureRun runs a small default scenario with --pcap, --pcap-plaintext
// and --keylog and returns the paths of the wire capture, the plaintext
// capture and the key log.
func captureRun(t *testing.T, extra ...string) (wire, plain, keys string) {
	t.Helper()
	dir := t.TempDir()
	plain, keys = filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "keys.log")
	code, _, stderr, out := runOut(t, append([]string{"--set", "devices=4", "--duration", "3s", "--quiet",
		"--pcap", "--pcap-plaintext", plain, "--keylog", keys}, extra...)...)
	require.Equal(t, 0, code, stderr)
	return filepath.Join(out, "capture.pcap"), plain, keys
}

var tallyLine = regexp.MustCompile(`(?m)^(\d+) frames(, .*)?$`)

// tally returns the counts of decode pcap's last line by outcome.
func tally(t *testing.T, out string) map[string]int {
	t.Helper()
	m := tallyLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	got := map[string]int{}
	got["frames"], _ = strconv.Atoi(m[1])
	for _, part := range strings.Split(strings.TrimPrefix(m[2], ", "), ", ") {
		n, what, _ := strings.Cut(part, " ")
		got[what], _ = strconv.Atoi(n)
	}
	return got
}

// TestDecodePcapKeylog: the key log decrypts every secure message of the
// wire capture that the plaintext capture holds in the clear, and the
// two decodings agree frame for frame.
func TestDecodePcapKeylog(t *testing.T) {
	wire, plain, keys := captureRun(t)
	log := readFile(t, keys)
	sessions := strings.Count(log, "\nSESSION ")
	require.Equal(t, 4, sessions, "one line per establishment (4 devices paired):\n%s", log)

	code, withKeys, stderr := runCLI(t, "decode", "pcap", wire, "--keylog", keys)
	require.Equal(t, 0, code, stderr)
	code, plainOut, stderr := runCLI(t, "decode", "pcap", plain)
	require.Equal(t, 0, code, stderr)
	code, noKeys, stderr := runCLI(t, "decode", "pcap", wire)
	require.Equal(t, 0, code, stderr)

	k, p, n := tally(t, withKeys), tally(t, plainOut), tally(t, noKeys)
	require.Positive(t, k["decrypted"], withKeys)
	require.Equal(t, k["frames"], p["frames"])
	require.Equal(t, k["decrypted"], p["plaintext"], "what the key log decrypts is what the run wrote in the clear")
	require.Equal(t, k["no key"], p["encrypted (no --keylog)"])
	require.Equal(t, k["decrypted"]+k["no key"]+k["not authenticated"], n["encrypted (no --keylog)"])
	require.Zero(t, k["malformed"])

	for _, want := range []string{"opcode:         0x20 PBKDFParamRequest", "opcode:         0x02 ReadRequest",
		"opcode:         0x05 ReportData", "decrypted: I2R key of the pase session"} {
		require.Contains(t, withKeys, want)
	}
	require.Contains(t, plainOut, "PLAINTEXT (decrypted by mattersim, not wire bytes)")

	// A capture cut inside a record: the frames before it, then the error.
	b, err := os.ReadFile(wire)
	require.NoError(t, err)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	require.NoError(t, os.WriteFile(cut, b[:1000], 0o644))
	code, out, stderr := runCLI(t, "decode", "pcap", cut)
	require.Equal(t, 1, code)
	require.Contains(t, out, "frame 1 ")
	require.Regexp(t, `decode pcap: frame \d+: file ends inside it`, stderr)

	// --frames prints a slice and still counts every frame.
	for _, tc := range []struct {
		sel   string
		shown []int
	}{{"3", []int{3}}, {"2-4", []int{2, 3, 4}}, {strconv.Itoa(k["frames"]) + "-", []int{k["frames"]}}} {
		code, out, stderr := runCLI(t, "decode", "pcap", wire, "--keylog", keys, "--frames", tc.sel)
		require.Equal(t, 0, code, stderr)
		var shown []int
		for _, m := range regexp.MustCompile(`(?m)^frame (\d+) `).FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[1])
			shown = append(shown, n)
		}
		require.Equal(t, tc.shown, shown, "--frames %s", tc.sel)
		require.Equal(t, k, tally(t, out), "--frames %s", tc.sel)
	}
	require.Contains(t, noKeys, ": pass --keylog to decrypt")

	// Frame for frame, the decrypted and plaintext decodings print the
	// same protocol header and payload.
	body := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "decrypted: ") || strings.HasPrefix(l, "PLAINTEXT") ||
				strings.HasPrefix(l, "frame ") || strings.HasPrefix(l, "  security flags:") || tallyLine.MatchString(l) {
				continue
			}
			if strings.HasPrefix(l, "encrypted payload") {
				l, _, _ = strings.Cut(l, ":") // why it stayed encrypted
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "\n")
	}
	require.Equal(t, body(withKeys), body(plainOut))
}

func TestDecodePcapBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	require.NoError(t, os.WriteFile(bad, []byte("SESSION t=1 kind=tls\n"), 0o644))
	notPcap := filepath.Join(dir, "x.pcap")
	require.NoError(t, os.WriteFile(notPcap, []byte("hello, not a capture"), 0o644))
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"decode", "pcap"}, "want one capture FILE"},                                  // 1
		{[]string{"decode", "pcap", filepath.Join(dir, "none.pcap")}, "no such file"},          // 2
		{[]string{"decode", "pcap", notPcap}, "not a pcap or pcapng file"},                     // 3
		{[]string{"decode", "pcap", notPcap, "--keylog", bad}, "key log line 1: kind=tls"},     // 4
		{[]string{"decode", "pcap", notPcap, "--keylog", filepath.Join(dir, "n")}, "--keylog"}, // 5
		{[]string{"decode", "pcap", notPcap, "--port", "0"}, "--port 0: not a UDP port"},       // 6
	} {
		code, _, stderr := runCLI(t, tc.args...)
		require.Equal(t, 2, code, "case %d", i+1)
		require.Contains(t, stderr, tc.want, "case %d", i+1)
	}
}

// TestDecodePcapGroups: in a group scenario the key log's GROUP lines
// de-obfuscate and decrypt every group message of the wire capture, and
// the plaintext capture holds the same messages in the clear.
func TestDecodePcapGroups(t *testing.T) {
	dir := t.TempDir()
	plain, keys := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "keys.log")
	code, _, stderr, out := runOut(t, "group-replay", "--ci", "--quiet", "--pcap", "--pcap-plaintext", plain, "--keylog", keys)
	require.Equal(t, 0, code, stderr)
	log := readFile(t, keys)
	require.Equal(t, 1, strings.Count(log, "\nGROUP "), "one group key, written once:\n%s", log)

	code, withKeys, stderr := runCLI(t, "decode", "pcap", filepath.Join(out, "capture.pcap"), "--keylog", keys)
	require.Equal(t, 0, code, stderr)
	code, plainOut, stderr := runCLI(t, "decode", "pcap", plain)
	require.Equal(t, 0, code, stderr)
	k, p := tally(t, withKeys), tally(t, plainOut)
	require.Positive(t, k["decrypted"])
	require.Equal(t, k["decrypted"], p["plaintext"])
	require.Zero(t, k["no key"]+k["not authenticated"]+k["malformed"], withKeys)
	for _, want := range []string{"(group, secure)", "security flags: 0x81 [P]", "privacy:        de-obfuscated",
		"decrypted: group key set", "opcode:         0x08 InvokeRequest"} {
		require.Contains(t, withKeys, want)
	}
	require.Contains(t, plainOut, "security flags: 0x91 [P]")

	code, noKeys, _ := runCLI(t, "decode", "pcap", filepath.Join(out, "capture.pcap"))
	require.Equal(t, 0, code)
	require.Contains(t, noKeys, "privacy:        counter and node ids are obfuscated (no group key for them)")
}

// TestCapturesDeterministic: the plaintext capture and the key log are
// part of the run, a pure function of scenario and seed: byte-identical
// on a second run.
func TestCapturesDeterministic(t *testing.T) {
	_, plain1, keys1 := captureRun(t)
	_, plain2, keys2 := captureRun(t)
	require.Equal(t, readFile(t, keys1), readFile(t, keys2))
	require.Equal(t, readFile(t, plain1), readFile(t, plain2))
}

// TestDecodePcapInstalledKeys: sessions from installed keys stand for CASE
// (kind=case: the sender's node id in the nonce, spec 4.8.1.1), and the
// key log decrypts them as the plaintext capture shows them.
func TestDecodePcapInstalledKeys(t *testing.T) {
	wire, plain, keys := captureRun(t, "--establish", "keys")
	log := readFile(t, keys)
	require.Equal(t, 4, strings.Count(log, "\nSESSION "))
	require.Equal(t, 4, strings.Count(log, " kind=case "))
	require.Contains(t, log, " attestation=00000000000000000000000000000000")
	code, withKeys, stderr := runCLI(t, "decode", "pcap", wire, "--keylog", keys)
	require.Equal(t, 0, code, stderr)
	code, plainOut, stderr := runCLI(t, "decode", "pcap", plain)
	require.Equal(t, 0, code, stderr)
	k, p := tally(t, withKeys), tally(t, plainOut)
	require.Positive(t, k["decrypted"])
	require.Equal(t, k["decrypted"], p["plaintext"])
	require.Contains(t, withKeys, "key of the case session")
}
