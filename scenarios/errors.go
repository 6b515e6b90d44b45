package scenarios

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a scenario file, at the YAML position of the
// offending node: file:line:col: field.path: reason. Line and Col are 0
// for a problem with no place in the file (a --set override).
type Error struct {
	File      string
	Line, Col int
	// Path is the field path in the document, e.g. faults[1].loss.p.
	Path   string
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ErrorList is every problem found in a scenario file, in file order. Load
// returns one (as its error) whenever the file is not a valid scenario.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// sort orders the list by position (problems without one first), keeping
// the order of discovery among equals, and drops exact duplicates.
func (l ErrorList) sort() ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

var _ error = ErrorList(nil)
