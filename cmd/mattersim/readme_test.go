package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeExample is one "$ mattersim ..." command in a fenced block of
// README.md and the output printed under it.
type readmeExample struct {
	file string
	line int // of the command in file
	args []string
	want string
}

// readmeExamples returns every example in README.md: in a ``` block, a
// line starting "$ mattersim " (continued by a trailing backslash) is a
// command, the lines after it up to the next command or the end of the
// block its combined stdout and stderr.
func readmeExamples(t *testing.T, path string) []readmeExample {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		exs     []readmeExample
		inBlock bool
		cur     *readmeExample
		cmd     string
		cont    bool
	)
	end := func() {
		if cur != nil {
			cur.want = strings.TrimSuffix(cur.want, "\n\n") // a blank line before the next command
			if !strings.HasSuffix(cur.want, "\n") && cur.want != "" {
				cur.want += "\n"
			}
			exs = append(exs, *cur)
			cur = nil
		}
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```"):
			if inBlock {
				end()
			}
			inBlock = !inBlock
		case !inBlock:
		case cont:
			cmd += " " + strings.TrimSpace(strings.TrimSuffix(l, "\\"))
			cont = strings.HasSuffix(l, "\\")
			if !cont {
				cur.args = splitShell(t, cmd)
			}
		case strings.HasPrefix(l, "$ mattersim "):
			end()
			cmd = strings.TrimSuffix(strings.TrimPrefix(l, "$ mattersim "), "\\")
			cur = &readmeExample{file: path, line: n}
			cont = strings.HasSuffix(l, "\\")
			if !cont {
				cur.args = splitShell(t, cmd)
			}
		case cur != nil:
			cur.want += l + "\n"
		}
	}
	require.NoError(t, sc.Err())
	return exs
}

// splitShell splits a command line at spaces, honouring double quotes.
func splitShell(t *testing.T, s string) []string {
	var args []string
	var b strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case r == ' ' && !inQ:
			if have {
				args = append(args, b.String())
				b.Reset()
				have = false
			}
		default:
			b.WriteRune(r)
			have = true
		}
	}
	require.False(t, inQ, "unbalanced quote in %q", s)
	if have {
		args = append(args, b.String())
	}
	return args
}

// wallTime matches what varies between runs: wall time and the speed it gives.
var wallTime = regexp.MustCompile(`(?m)^(\s*(?:build )?wall time\s+).*$`)

// Every example in README.md and docs/*.md runs and prints what the
// document shows (wall-clock figures aside).
func TestReadmeExamples(t *testing.T) {
	exs := readmeExamples(t, "../../README.md")
	require.NotEmpty(t, exs)
	docs, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	for _, d := range docs {
		exs = append(exs, readmeExamples(t, d)...)
	}
	t.Chdir(t.TempDir()) // mattersim run writes its report under ./mattersim-out
	for _, ex := range exs {
		code, stdout, stderr := runCLI(t, ex.args...)
		got := wallTime.ReplaceAllString(stdout+stderr, "${1}…")
		want := wallTime.ReplaceAllString(ex.want, "${1}…")
		require.Equal(t, want, got, "%s:%d: mattersim %s (exit %d)", ex.file, ex.line, strings.Join(ex.args, " "), code)
	}
}
