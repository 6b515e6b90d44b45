package security

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readLines returns the non-comment lines of a testdata file, split into fields.
func readLines(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	require.NoError(t, err)
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		out = append(out, strings.Fields(s))
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out, name)
	return out
}

// readRecords parses "name key=value ..." lines.
func readRecords(t testing.TB, name string) map[string]map[string]string {
	t.Helper()
	recs := map[string]map[string]string{}
	for _, l := range readLines(t, name) {
		m := map[string]string{}
		for _, kv := range l[1:] {
			k, v, ok := strings.Cut(kv, "=")
			require.True(t, ok, kv)
			m[k] = v
		}
		recs[l[0]] = m
	}
	return recs
}

// unhex decodes hex; "-" is empty.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	if s == "-" {
		return []byte{}
	}
	b, err := hex.DecodeString(s)
	require.NoError(t, err, s)
	return b
}

func key(t testing.TB, s string) Key {
	t.Helper()
	var k Key
	b := unhex(t, s)
	require.Len(t, b, KeySize)
	copy(k[:], b)
	return k
}

func newCore(t testing.TB, k []byte, nonceSize, tagSize int) *ccm {
	t.Helper()
	c := new(ccm)
	require.NoError(t, c.init(k, nonceSize, tagSize))
	return c
}

// requireBytes compares byte contents, treating nil and empty as equal.
func requireBytes(t testing.TB, want, got []byte, msg ...any) {
	t.Helper()
	require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), msg...)
}
