// Package notescheck holds a repository check: the project stands alone
// and never cites the team's notes, which live outside it and are not part
// of what users get.
package notescheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// forbidden are the ways a file could point at the notes directory.
var forbidden = []string{"/work/shared", "../shared/", "shared/interop", "shared/spec/", "sim-notes", "seed-notes", "research-cases.md"}

// TestNoNotesReferences fails if a tracked file mentions the notes.
func TestNoNotesReferences(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout (git ls-files: %v)", err)
	}
	files := strings.Fields(string(out))
	require.NotEmpty(t, files)
	self := "internal/notescheck/notescheck_test.go"
	for _, f := range files {
		if f == self || strings.HasPrefix(f, "interop/node_modules/") {
			continue
		}
		b, err := os.ReadFile("../../" + f)
		if err != nil {
			continue // deleted in the work tree
		}
		for _, s := range forbidden {
			require.NotContains(t, string(b), s, "%s cites the team notes (%q); state the fact or its upstream source instead", f, s)
		}
	}
}
