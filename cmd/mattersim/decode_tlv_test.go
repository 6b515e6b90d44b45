package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeTLVEmptyStruct(t *testing.T) {
	code, stdout, stderr := runCLI(t, "decode", "tlv", "1518")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "struct {}\n", stdout)
	require.Empty(t, stderr)
}

func TestDecodeTLVNested(t *testing.T) {
	// Spec appendix A example {0 = 42, 1 = -17}, with a 0x prefix, spaces and colons.
	code, stdout, stderr := runCLI(t, "decode", "tlv", "0x15 20:00:2a", "20 01 ef 18")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "struct {\n  0: int8 42\n  1: int8 -17\n}\n", stdout)
}

func TestDecodeTLVBadInput(t *testing.T) {
	for i, tc := range []struct {
		hex, want string
	}{
		{"zz", "invalid hex character 'z'"},
		{"151", "odd number of hex digits"},
		{"0x", "no hex digits"},
		{"152401", "offset 1: 1-octet integer runs past the end of the input (tag 1)"},
		{"15", "offset 1: input ends inside a struct"},
		{"18", "offset 0: end-of-container outside any container"},
		{"1f", "offset 0: reserved element type 0x1F"},
		{"0c 02 c3 28", "offset 2: invalid UTF-8"},
	} {
		code, stdout, stderr := runCLI(t, "decode", "tlv", tc.hex)
		require.Equal(t, 2, code, "case %d", i)
		require.Empty(t, stdout, "case %d", i)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "case %d: one line: %q", i, stderr)
		require.Contains(t, stderr, "decode tlv: "+tc.want, "case %d", i)
	}
}

func TestDecodeTLVNeedsArgument(t *testing.T) {
	code, _, stderr := runCLI(t, "decode", "tlv")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "missing HEX argument")
}
