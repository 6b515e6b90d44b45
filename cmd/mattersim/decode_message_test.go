package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Worked vectors (session/security/testdata/messages.txt: self-generated with
// Python cryptography's AESCCM, independently recomputed) and the matter.js
// PBKDFParamRequest (packages/protocol/test/codec/MessageCodecTest.ts).
const (
	workedUnicast = "003412000a0000009fafea49f49ec630c8ceb951f0957ec05f14d1b6233e639271d61e7a2142e359b7ca9f8ffcc46657d3d0e49177"
	workedKey     = "000102030405060708090a0b0c0d0e0f"
	workedGroup   = "0612a5814c678d1eb0b9b98fe1ff1be641620346eb89bca188910a9a49a7add3bc227b99239544186d60"
	groupOpKey    = "aed95695f375d2ce78556a41730c3f43"
	pbkdfRequest  = "040000000a4ff2177ea0c8a7cb6a63520520d3640000153001204715a406c6b0496ad52039e347db8528cb69a1cb2fce6f2318552ae65e103aca250233dc240300280435052501881325022c011818"
)

func TestDecodeMessageWorkedUnicastDecrypted(t *testing.T) {
	code, stdout, stderr := runCLI(t, "decode", "message", workedUnicast, "--key", workedKey, "--node-id", "1")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	require.Equal(t, `message header: 8 bytes
  session:        0x1234 (unicast, secure)
  security flags: 0x00
  counter:        10 (0x0000000A)
decrypted with nonce node id 0x0000000000000001
protocol header: 6 bytes
  exchange flags: 0x05 [I R]
  exchange id:    16 (0x0010)
  protocol:       0x0001 Interaction Model
  opcode:         0x02 ReadRequest
payload: 23 bytes, TLV
  struct {
    0: bool false
    1: bool false
    2: array [
      struct {
        0: list [
          0: uint8 0
          1: uint8 62
          2: uint8 4
        ]
      }
    ]
  }
`, stdout)
}

func TestDecodeMessageSecureWithoutKey(t *testing.T) {
	code, stdout, stderr := runCLI(t, "decode", "message", workedUnicast)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "session:        0x1234 (unicast, secure)")
	require.Contains(t, stdout, "encrypted payload, 29 bytes (+ 16-byte MIC); pass --key to decrypt\n")
	require.NotContains(t, stdout, "protocol header")
}

func TestDecodeMessageGroupPrivacy(t *testing.T) {
	// With the operational group key: de-obfuscated, nonce node id = source.
	code, stdout, stderr := runCLI(t, "decode", "message", workedGroup, "--key", groupOpKey)
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"security flags: 0x81 [P]",
		"counter:        305419896 (0x12345678)",
		"source node:    0x1122334455667788",
		"dest group:     0x0101",
		"decrypted with nonce node id 0x1122334455667788",
		"opcode:         0x08 InvokeRequest",
		"payload: 2 bytes, TLV\n  struct {}\n",
	} {
		require.Contains(t, stdout, want)
	}
	// Without a key the header is shown obfuscated.
	code, stdout, _ = runCLI(t, "decode", "message", workedGroup)
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "obfuscated")
	require.NotContains(t, stdout, "0x12345678")
}

func TestDecodeMessageUnsecured(t *testing.T) {
	code, stdout, stderr := runCLI(t, "decode", "message", pbkdfRequest)
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"message header: 16 bytes",
		"session:        0x0000 (unicast, unsecured)",
		"counter:        401755914 (0x17F24F0A)",
		"source node:    0x52636ACBA7C8A07E",
		"exchange flags: 0x05 [I R]",
		"exchange id:    25811 (0x64D3)",
		"protocol:       0x0000 Secure Channel",
		"opcode:         0x20 PBKDFParamRequest",
		"payload: 57 bytes, TLV",
		"    1: bytes[32] 4715a406c6b0496ad52039e347db8528cb69a1cb2fce6f2318552ae65e103aca",
	} {
		require.Contains(t, stdout, want)
	}
}

func TestDecodeMessageNonTLVPayloadIsHex(t *testing.T) {
	// Unsecured StatusReport SUCCESS/SC/0 (spec Appendix D): not TLV.
	code, stdout, stderr := runCLI(t, "decode", "message", "00000000010000000040010000000000000000000000")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "opcode:         0x40 StatusReport")
	require.Contains(t, stdout, "payload: 8 bytes\n  0000000000000000\n")
}

func TestDecodeMessageBadInput(t *testing.T) {
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"zz"}, "invalid hex character 'z'"},
		{[]string{"00000000"}, "decode message: message counter at offset 4: truncated"},
		{[]string{"1000000000000000"}, "unsupported version"},
		{[]string{"0300000000000000"}, "reserved DSIZ value 3"},
		{[]string{workedUnicast[:40]}, "too short for its 16-byte MIC"},
		{[]string{workedUnicast, "--key", workedKey}, "message authentication failed (wrong --key or --node-id 0?)"},
		{[]string{workedUnicast, "--key", "0011"}, `--key "0011": must be 16 bytes of hex`},
		{[]string{workedUnicast, "--key", workedKey, "--node-id", "x"}, "--node-id: not a 64-bit node id"},
		{[]string{"0000000001000000" + "0102"}, "protocol header: exchange id at offset 2: truncated"},
		{nil, "missing HEX argument"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"decode", "message"}, tc.args...)...)
		require.Equal(t, 2, code, "case %d: %s", i, stderr)
		require.Empty(t, stdout, "case %d", i)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "case %d: one line: %q", i, stderr)
		require.Contains(t, stderr, tc.want, "case %d", i)
	}
}

// runCLIInput runs the CLI with in as standard input.
func runCLIInput(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(in)
	t.Cleanup(func() { stdin = old })
	return runCLI(t, args...)
}

// "-" reads the hex from standard input and "@FILE" from a file; both
// decode exactly as the argument form does.
func TestDecodeHexFromStdinAndFile(t *testing.T) {
	code, want, stderr := runCLI(t, "decode", "message", workedUnicast, "--key", workedKey, "--node-id", "1")
	require.Equal(t, 0, code, stderr)

	code, got, stderr := runCLIInput(t, workedUnicast+"\n", "decode", "message", "-", "--key", workedKey, "--node-id", "1")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want, got)

	f := filepath.Join(t.TempDir(), "datagram.hex")
	require.NoError(t, os.WriteFile(f, []byte(workedUnicast[:20]+"\n"+workedUnicast[20:]+"\n"), 0o644))
	code, got, stderr = runCLI(t, "decode", "message", "@"+f, "--key", workedKey, "--node-id", "1")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want, got)

	code, got, stderr = runCLIInput(t, "15 18", "decode", "tlv", "-")
	require.Equal(t, 0, code, stderr)
	code2, want2, _ := runCLI(t, "decode", "tlv", "1518")
	require.Equal(t, 0, code2)
	require.Equal(t, want2, got)
}

// Input the decoder must refuse, each with exit 2 and one line naming the
// problem: an explicit empty --key (not "no key"), a datagram over the
// 1232-byte UDP maximum, an unreadable file, hex errors in a file.
func TestDecodeRefusesBadInputSources(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hex")
	require.NoError(t, os.WriteFile(bad, []byte("00zz"), 0o644))
	big := strings.Repeat("00", 1233)
	for i, tc := range []struct {
		args []string
		want string
	}{
		{[]string{workedUnicast, "--key", ""}, `--key "": must be 16 bytes of hex`},                   // 1
		{[]string{big}, "1233 bytes: over the 1232-byte maximum of a Matter message over UDP"},        // 2
		{[]string{"@" + filepath.Join(dir, "missing.hex")}, "missing.hex: no such file or directory"}, // 3
		{[]string{"@" + bad}, "bad.hex: invalid hex character 'z'"},                                   // 4
		{[]string{"-", "00"}, `"-" must be the only HEX argument`},                                    // 5
	} {
		code, stdout, stderr := runCLIInput(t, "", append([]string{"decode", "message"}, tc.args...)...)
		require.Equal(t, 2, code, "case %d: %s", i+1, stderr)
		require.Empty(t, stdout, "case %d", i+1)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "case %d: one line: %q", i+1, stderr)
		require.Contains(t, stderr, tc.want, "case %d", i+1)
	}
	// Exactly 1232 bytes is not refused for its size.
	_, _, stderr := runCLI(t, "decode", "message", strings.Repeat("00", 1232))
	require.NotContains(t, stderr, "maximum")
	// Empty standard input is no hex.
	code, _, stderr := runCLIInput(t, "", "decode", "tlv", "-")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "standard input: no hex digits")
}

// MsgCounterSyncReq and Rsp payloads are fixed layouts, not TLV (spec
// 4.18.4): shown as challenge, and counter and response.
func TestDecodeMessageMCSPPayloads(t *testing.T) {
	hdr := "00000000" + "01000000" // unsecured, counter 1
	for _, tc := range []struct {
		ph, payload, want string
	}{
		{"05000100" + "0000", "0102030405060708", "payload: 8 bytes\n  challenge: 0102030405060708\n"},
		{"06010100" + "0000" + "01000000", "2a000000" + "0102030405060708", "payload: 12 bytes\n  counter:   42 (0x0000002A)\n  response:  0102030405060708\n"},
	} {
		code, stdout, stderr := runCLI(t, "decode", "message", hdr+tc.ph+tc.payload)
		require.Equal(t, 0, code, stderr)
		require.True(t, strings.HasSuffix(stdout, tc.want), stdout)
	}
}
