package tlv

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected text in testdata/*.txt from Format's output")

// vector is one case of a testdata file.
type vector struct {
	file, name string
	bytes      []byte
	text       string // expected Format output
}

func cleanHex(s string) string {
	return strings.NewReplacer(" ", "", ":", "", "\t", "").Replace(s)
}

// readVectors parses a testdata file (format described in its header).
func readVectors(t testing.TB, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []vector
	var cur *vector
	var hexb strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && (line == "" || strings.HasPrefix(line, "#")):
		case cur == nil && strings.HasPrefix(line, "case "):
			cur = &vector{file: filepath.Base(path), name: strings.TrimPrefix(line, "case ")}
			hexb.Reset()
		case cur != nil && strings.HasPrefix(line, "hex "):
			hexb.WriteString(cleanHex(strings.TrimPrefix(line, "hex ")))
		case cur != nil && line == "end":
			b, err := hex.DecodeString(hexb.String())
			require.NoError(t, err, "%s: %s", path, cur.name)
			cur.bytes = b
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		default:
			t.Fatalf("%s: unexpected line %q", path, line)
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: unterminated case", path)
	return out
}

// rewriteVectors regenerates the expected text of every case (-update).
func rewriteVectors(t *testing.T, path string, vs []vector) {
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	var out bytes.Buffer
	i := 0
	inCase := false
	for _, line := range strings.SplitAfter(string(src), "\n") {
		trim := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(trim, "case "):
			inCase = true
			out.WriteString(line)
		case inCase && strings.HasPrefix(trim, "hex "):
			out.WriteString(line)
		case inCase && trim == "end":
			text, err := Format(vs[i].bytes)
			require.NoError(t, err, vs[i].name)
			out.WriteString(text)
			out.WriteString(line)
			i++
			inCase = false
		case inCase:
			// old expected text: dropped
		default:
			out.WriteString(line)
		}
	}
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
}

func vectorFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func allVectors(t testing.TB) []vector {
	var all []vector
	for _, f := range vectorFiles(t) {
		all = append(all, readVectors(t, f)...)
	}
	return all
}

// TestVectors decodes each vector and compares the rendered text (type,
// width, tag, value), then encodes the text with Writer and compares bytes.
func TestVectors(t *testing.T) {
	for _, path := range vectorFiles(t) {
		vs := readVectors(t, path)
		if *update {
			rewriteVectors(t, path, vs)
			vs = readVectors(t, path)
		}
		for _, v := range vs {
			t.Run(v.file+"/"+v.name, func(t *testing.T) {
				require.NotEmpty(t, v.text, "no expected text; run go test -run TestVectors -update")
				got, err := Format(v.bytes)
				require.NoError(t, err)
				require.Equal(t, v.text, got)
				require.NoError(t, Validate(v.bytes))

				enc, err := encodeText(v.text)
				require.NoError(t, err)
				require.Equal(t, hex.EncodeToString(v.bytes), hex.EncodeToString(enc))
			})
		}
	}
}

// encodeText parses Format's notation and encodes it with Writer, using
// the widths the text names (test helper: the inverse of Format).
func encodeText(text string) ([]byte, error) {
	var w Writer
	for _, raw := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line := strings.TrimSpace(raw)
		if line == "}" || line == "]" {
			w.EndContainer()
			continue
		}
		tag := AnonymousTag()
		if c := line[0]; c >= '0' && c <= '9' || strings.HasPrefix(line, "Matter::") || strings.HasPrefix(line, "Implicit::") {
			i := strings.Index(line, ": ")
			if i < 0 {
				return nil, fmt.Errorf("no tag separator in %q", line)
			}
			var err error
			if tag, err = parseTag(line[:i]); err != nil {
				return nil, err
			}
			line = line[i+2:]
		}
		kind, rest, _ := strings.Cut(line, " ")
		lenWidth := 0
		if i := strings.Index(kind, "/len"); i >= 0 {
			j := i + 4
			for j < len(kind) && kind[j] >= '0' && kind[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(kind[i+4 : j])
			if err != nil {
				return nil, err
			}
			lenWidth = n / 8
			kind = kind[:i] + kind[j:]
		}
		switch {
		case strings.HasPrefix(kind, "uint"):
			bits, _ := strconv.Atoi(kind[4:])
			v, err := strconv.ParseUint(rest, 10, 64)
			if err != nil {
				return nil, err
			}
			w.PutUintWidth(tag, v, bits/8)
		case strings.HasPrefix(kind, "int"):
			bits, _ := strconv.Atoi(kind[3:])
			v, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				return nil, err
			}
			w.PutIntWidth(tag, v, bits/8)
		case kind == "bool":
			w.PutBool(tag, rest == "true")
		case kind == "float32":
			f, err := strconv.ParseFloat(rest, 32)
			if err != nil {
				return nil, err
			}
			w.PutFloat32(tag, float32(f))
		case kind == "float64":
			f, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				return nil, err
			}
			w.PutFloat64(tag, f)
		case kind == "utf8":
			s, err := strconv.Unquote(rest)
			if err != nil {
				return nil, err
			}
			if lenWidth == 0 {
				lenWidth = uintWidth(uint64(len(s)))
			}
			w.PutStringWidth(tag, s, lenWidth)
		case strings.HasPrefix(kind, "bytes["):
			b, err := hex.DecodeString(rest)
			if err != nil {
				return nil, err
			}
			if lenWidth == 0 {
				lenWidth = uintWidth(uint64(len(b)))
			}
			w.PutBytesWidth(tag, b, lenWidth)
		case kind == "null":
			w.PutNull(tag)
		case kind == "struct":
			w.StartStruct(tag)
		case kind == "array":
			w.StartArray(tag)
		case kind == "list":
			w.StartList(tag)
		default:
			return nil, fmt.Errorf("unknown element %q", line)
		}
		if strings.HasSuffix(rest, "{}") || strings.HasSuffix(rest, "[]") {
			w.EndContainer()
		}
	}
	if w.Open() != 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return w.Bytes(), nil
}

func parseTag(s string) (Tag, error) {
	num := func(x string) (uint32, error) {
		v, err := strconv.ParseUint(x, 0, 32)
		return uint32(v), err
	}
	switch {
	case strings.HasPrefix(s, "Matter::"):
		n, err := num(s[len("Matter::"):])
		return CommonProfileTag(n), err
	case strings.HasPrefix(s, "Implicit::"):
		n, err := num(s[len("Implicit::"):])
		return ImplicitProfileTag(n), err
	case strings.Contains(s, "::"):
		vp, ns, _ := strings.Cut(s, "::")
		p, n, _ := strings.Cut(ns, ":")
		vv, err1 := num(vp)
		pv, err2 := num(p)
		nv, err3 := num(n)
		if err1 != nil || err2 != nil || err3 != nil {
			return Tag{}, fmt.Errorf("bad tag %q", s)
		}
		return FullyQualifiedTag(uint16(vv), uint16(pv), nv), nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return ContextTag(uint8(n)), err
}
