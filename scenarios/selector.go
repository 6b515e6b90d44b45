package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"
)

// Selector picks nodes by node group:
//
//	"*"             every node of the scenario (quote it: a bare * is a YAML alias)
//	devices         every node of group devices
//	devices[3]      the group's node 3 (0-based; -1 is the last)
//	devices[0:10]   nodes 0..9 (a half-open range, as a Go or Python slice;
//	                either bound may be left out, negative bounds count from the end)
//
// Inside a YAML flow collection ({...} or [...]) a selector with brackets
// must be quoted: {from: "devices[0:10]"}.
type Selector struct {
	// All selects every node ("*"); Group is then empty.
	All bool
	// Group is the node group's name.
	Group string
	// Index selects one node (devices[3]); Range a slice (devices[0:10]).
	// Neither: the whole group.
	Index, Range bool
	// Lo and Hi are the index (Lo), or the slice's bounds when HasLo / HasHi;
	// negative values count from the end of the group.
	Lo, Hi       int
	HasLo, HasHi bool
}

const (
	groupNamePattern = `^[a-z][a-z0-9_-]*$`
	selectorPattern  = `^(\*|[a-z][a-z0-9_-]*(\[-?[0-9]+\]|\[(-?[0-9]+)?:(-?[0-9]+)?\])?)$`
)

var (
	groupNameRE = regexp.MustCompile(groupNamePattern)
	selectorRE  = regexp.MustCompile(`^([a-z][a-z0-9_-]*)(\[(-?[0-9]+)\]|\[(-?[0-9]+)?:(-?[0-9]+)?\])?$`)
)

// ParseSelector parses a selector.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return Selector{All: true}, nil
	}
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		return Selector{}, fmt.Errorf("%q is not a node selector (want \"*\", GROUP, GROUP[i] or GROUP[lo:hi])", s)
	}
	sel := Selector{Group: m[1]}
	atoi := func(t string) int { v, _ := strconv.Atoi(t); return v }
	switch {
	case m[3] != "":
		sel.Index, sel.Lo = true, atoi(m[3])
	case m[2] != "":
		sel.Range = true
		if m[4] != "" {
			sel.HasLo, sel.Lo = true, atoi(m[4])
		}
		if m[5] != "" {
			sel.HasHi, sel.Hi = true, atoi(m[5])
		}
	}
	return sel, nil
}

func (s *Selector) setScalar(sc scalar) error {
	if sc.kind != kindString {
		return fmt.Errorf("want a node selector (\"*\", GROUP, GROUP[i] or GROUP[lo:hi]), got %s", sc.describe())
	}
	v, err := ParseSelector(sc.text)
	*s = v
	return err
}

// Bounds returns the selected indexes within a group of n nodes, as the
// half-open range [lo, hi), or an error when the selection falls outside
// the group or is empty.
func (s Selector) Bounds(n int) (lo, hi int, err error) {
	switch {
	case s.Index:
		i := s.Lo
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return 0, 0, fmt.Errorf("%s: index %d is out of range: group %s has %d node%s (indexes 0..%d, or -%d..-1 from the end)",
				s, s.Lo, s.Group, n, plural(n), n-1, n)
		}
		return i, i + 1, nil
	case s.Range:
		lo, hi = 0, n
		if s.HasLo {
			lo = s.Lo
			if lo < 0 {
				lo += n
			}
		}
		if s.HasHi {
			hi = s.Hi
			if hi < 0 {
				hi += n
			}
		}
		if lo < 0 || hi > n || lo > n || hi < 0 {
			return 0, 0, fmt.Errorf("%s: range is out of bounds: group %s has %d node%s", s, s.Group, n, plural(n))
		}
		if lo >= hi {
			return 0, 0, fmt.Errorf("%s: range selects no node", s)
		}
		return lo, hi, nil
	}
	return 0, n, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (s Selector) String() string {
	if s.All {
		return "*"
	}
	switch {
	case s.Index:
		return s.Group + "[" + strconv.Itoa(s.Lo) + "]"
	case s.Range:
		b := s.Group + "["
		if s.HasLo {
			b += strconv.Itoa(s.Lo)
		}
		b += ":"
		if s.HasHi {
			b += strconv.Itoa(s.Hi)
		}
		return b + "]"
	}
	return s.Group
}

// MarshalText writes the selector as it reads.
func (s Selector) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalYAML reads a selector scalar.
func (s *Selector) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, s) }

// JSONSchema describes a selector.
func (Selector) JSONSchema() *jsonschema.Schema {
	return schemaString(selectorPattern, `a node selector: "*" (every node), GROUP, GROUP[i] or GROUP[lo:hi] (0-based, half-open, negative from the end)`,
		"devices", "devices[0:10]", "*")
}

// Selectors is a union of selectors, written as one selector or a list.
// The zero value (nil) selects nothing, except where a field says that
// absent means every node.
type Selectors []Selector

func (ss Selectors) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// UnmarshalYAML reads one selector or a sequence of them.
func (ss *Selectors) UnmarshalYAML(n ast.Node) error {
	if seq, ok := n.(*ast.SequenceNode); ok {
		out := make(Selectors, len(seq.Values))
		for i, v := range seq.Values {
			if err := out[i].UnmarshalYAML(v); err != nil {
				return err
			}
		}
		*ss = out
		return nil
	}
	var s Selector
	if err := s.UnmarshalYAML(n); err != nil {
		return err
	}
	*ss = Selectors{s}
	return nil
}

// JSONSchema describes one selector or a list.
func (Selectors) JSONSchema() *jsonschema.Schema {
	one := Selector{}.JSONSchema()
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		one,
		{Type: "array", Items: Selector{}.JSONSchema(), MinItems: ptr(uint64(1))},
	}, Description: "one node selector or a list of them (their union)"}
}

func ptr[T any](v T) *T { return &v }

// IsZero reports an absent selector.
func (s Selector) IsZero() bool { return s == Selector{} }
