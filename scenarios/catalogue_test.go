package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// badFile is one entry of the catalogue in testdata/bad: a scenario file
// that must be refused, its golden error list (NAME.golden) and, from its
// leading comments, what it tests, the --set overrides to load it with
// ("# set: name=value") and whether only the loader can catch it ("#
// loader-only: ...": a cross-reference or a rule JSON Schema cannot state).
type badFile struct {
	path, golden, what string
	set                []string
	loaderOnly         bool
	data               []byte
}

func badCatalogue(t *testing.T) []badFile {
	t.Helper()
	paths, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	var out []badFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		b := badFile{path: p, golden: strings.TrimSuffix(p, ".yaml") + ".golden", data: data}
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			c := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			switch {
			case strings.HasPrefix(c, "set:"):
				b.set = append(b.set, strings.TrimSpace(strings.TrimPrefix(c, "set:")))
			case strings.HasPrefix(c, "loader-only:"):
				b.loaderOnly = true
			case b.what == "":
				b.what = c
			}
		}
		require.NotEmpty(t, b.what, "%s must start with a comment saying what it tests", p)
		out = append(out, b)
	}
	require.GreaterOrEqual(t, len(out), 25)
	return out
}

// Every bad file is refused with exactly its golden error list
// (-update rewrites the goldens), and the JSON Schema agrees: it refuses
// every file the loader refuses, except those marked loader-only, which
// it must accept (so the marks stay honest).
func TestBadCatalogue(t *testing.T) {
	schema := compiledSchema(t)
	var loaderOnly []string
	for _, b := range badCatalogue(t) {
		t.Run(filepath.Base(b.path), func(t *testing.T) {
			set, err := ParseSet(b.set)
			require.NoError(t, err)
			_, err = LoadBytes(b.path, b.data, Overrides{Set: set})
			require.Error(t, err, "the loader accepted a bad file")
			var list ErrorList
			require.True(t, errors.As(err, &list), "want an ErrorList, got %T", err)
			got := list.Error() + "\n"
			for _, e := range list {
				require.NotEmpty(t, e.Reason)
				if !strings.HasPrefix(e.Path, "--set") {
					require.NotZero(t, e.Line, "error without a position: %v", e)
				}
			}
			if *update {
				require.NoError(t, os.WriteFile(b.golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(b.golden)
			require.NoError(t, err, "no golden: go test ./scenarios -run TestBadCatalogue -update")
			require.Equal(t, string(want), got)

			serr := schemaValidate(schema, b.data)
			if b.loaderOnly {
				require.NoError(t, serr, "marked loader-only but the schema refuses it")
			} else {
				require.Error(t, serr, "the schema accepts a file the loader refuses; mark it loader-only if the schema cannot express the rule")
			}
		})
		if b.loaderOnly {
			loaderOnly = append(loaderOnly, filepath.Base(b.path))
		}
	}
	t.Logf("caught by the loader only (cross references and rules the schema cannot state): %s", strings.Join(loaderOnly, ", "))
}
