package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/invopop/jsonschema"
)

// Parameters maps parameter names to their values, as text: a value is
// substituted for ${name} and then read as the field it lands in (so
// loss: 5% or loss: 0.05 both work for a probability). Names are
// lower-case letters, digits and '_', starting with a letter or '_'.
type Parameters map[string]string

const paramNamePattern = `^[a-z_][a-z0-9_]*$`

var paramNameRE = regexp.MustCompile(paramNamePattern)

// JSONSchema describes a parameter table.
func (Parameters) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		PropertyNames:        &jsonschema.Schema{Pattern: paramNamePattern},
		AdditionalProperties: &jsonschema.Schema{Type: "", AnyOf: []*jsonschema.Schema{{Type: "string"}, {Type: "number"}, {Type: "boolean"}}},
	}
}

// Sorted returns the parameter names in order.
func (p Parameters) Sorted() []string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Overrides change a scenario at load time. The zero value changes
// nothing.
type Overrides struct {
	// Set overrides parameters (mattersim run --set name=value); a name
	// the scenario does not declare is an error.
	Set map[string]string
	// Seed, when set, replaces the scenario's seed (--seed).
	Seed *uint64
	// CI applies the scenario's ci: overrides first (the short variant).
	CI bool
	// Force accepts a scenario above the event budget (--force).
	Force bool
	// Network, when set, replaces the scenario's network mode
	// (--network).
	Network *NetworkMode
}

// ParseSet reads name=value pairs (the --set flags) into Overrides.Set.
func ParseSet(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return nil, fmt.Errorf("--set %q: want name=value", p)
		case !paramNameRE.MatchString(k):
			return nil, fmt.Errorf("--set %q: %q is not a parameter name", p, k)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--set %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// File is a parsed scenario file: its YAML tree and its parameters. Its
// Resolve builds the Scenario for a set of overrides; it is cheap to call
// many times (a sweep) and safe to call concurrently.
type File struct {
	name    string
	root    ast.Node
	anchors map[string]ast.Node
	params  []param // declared, in file order
	ci      Parameters
	errs    ErrorList // problems found while parsing parameters
	pos     map[string]ast.Node
	data    []byte // the file as given to Parse
	digest  string
}

type param struct {
	name, value string
}

// Digest returns "sha256:" and the hex SHA-256 of the file's bytes: two
// files with one digest are the same scenario (sweep shards compare it).
func (f *File) Digest() string { return f.digest }

// Name returns the file name given to Parse.
func (f *File) Name() string { return f.name }

// Text returns the file's text as given to Parse (not a copy: do not
// modify it).
func (f *File) Text() []byte { return f.data }

// Parameters returns the declared parameters and their default values.
func (f *File) Parameters() Parameters {
	p := make(Parameters, len(f.params))
	for _, x := range f.params {
		p[x.name] = x.value
	}
	return p
}

// Parse parses a scenario file. It fails (with an ErrorList) only on YAML
// syntax errors; every other problem is reported by Resolve.
func Parse(name string, data []byte) (*File, error) {
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, ErrorList{syntaxError(name, data, err)}
	}
	sum := sha256.Sum256(data)
	f := &File{name: name, data: data, digest: "sha256:" + hex.EncodeToString(sum[:])}
	d := &decoder{file: name, pos: map[string]ast.Node{}}
	var docs []*ast.DocumentNode
	for _, doc := range tree.Docs {
		if doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, ErrorList{{File: name, Reason: "empty file: want one scenario (a YAML mapping)"}}
	case len(docs) > 1:
		d.errorf(docs[1].Body, "", "one scenario per file: a second YAML document starts here")
	}
	f.root = docs[0].Body
	f.anchors = collectAnchors(f.root)
	d.anchors = f.anchors
	root, ok := d.deref(f.root, "")
	if !ok {
		return nil, d.errs.sort()
	}
	f.root = root
	es, ok := d.entries(root, "")
	if !ok {
		return nil, ErrorList{{File: name, Reason: fmt.Sprintf("want a scenario (a YAML mapping), got a %s", nodeKind(root))}}
	}
	declared := map[string]bool{}
	for _, mv := range es {
		key := mv.Key.GetToken().Value
		if key != "parameters" && key != "ci" {
			continue
		}
		val, ok := d.deref(mv.Value, key)
		if !ok {
			continue
		}
		d.pos[key] = val
		if _, null := val.(*ast.NullNode); null {
			continue
		}
		kvs, ok := d.entries(val, key)
		if !ok {
			d.errorf(val, key, "want a mapping of name: value, got a %s", nodeKind(val))
			continue
		}
		for _, kv := range kvs {
			k, _ := scalarOf(kv.Key)
			path := key + "." + k.text
			v, ok := d.deref(kv.Value, path)
			if !ok {
				continue
			}
			d.pos[path] = v
			s, isScalar := scalarOf(v)
			switch {
			case !paramNameRE.MatchString(k.text):
				d.errorf(kv.Key, path, "%q is not a parameter name (lower-case letters, digits and _, starting with a letter or _)", k.text)
				continue
			case !isScalar:
				d.errorf(v, path, "a parameter's value must be a scalar, got a %s", nodeKind(v))
				continue
			case s.kind == kindNull:
				d.errorf(v, path, "a parameter needs a value")
				continue
			case strings.Contains(s.text, "${"):
				d.errorf(v, path, "a parameter's value cannot reference a parameter")
				continue
			}
			if key == "parameters" {
				f.params = append(f.params, param{k.text, s.text})
				declared[k.text] = true
			} else {
				if f.ci == nil {
					f.ci = Parameters{}
				}
				f.ci[k.text] = s.text
			}
		}
	}
	for _, k := range f.ci.Sorted() {
		if !declared[k] {
			d.errorf(d.pos["ci."+k], "ci."+k, "no parameter %s is declared in parameters", k)
		}
	}
	f.errs, f.pos = d.errs, d.pos
	return f, nil
}

// syntaxError turns a YAML parser error into a positioned Error.
func syntaxError(name string, data []byte, err error) *Error {
	e := &Error{File: name, Reason: err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e.Reason = "YAML: " + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
			lines := strings.Split(string(data), "\n")
			if e.Line >= 1 && e.Line <= len(lines) && flowSelectorRE.MatchString(lines[e.Line-1]) {
				e.Reason += ` (a selector with [ ] inside { } or [ ] must be quoted: "devices[0:10]")`
			}
		}
	}
	return e
}

var flowSelectorRE = regexp.MustCompile(`[{\[,].*[a-z0-9_-]\[-?[0-9]*:?-?[0-9]*\]`)

// Resolve builds the scenario with overrides applied, and checks it
// strictly: it returns every problem at once as an ErrorList.
func (f *File) Resolve(o Overrides) (*Scenario, error) {
	d := &decoder{
		file:    f.name,
		params:  make(map[string]string, len(f.params)),
		used:    map[string]bool{},
		anchors: f.anchors,
		errs:    slices.Clone(f.errs),
		pos:     make(map[string]ast.Node, 256),
	}
	for k, v := range f.pos {
		d.pos[k] = v
	}
	for _, p := range f.params {
		d.params[p.name] = p.value
	}
	if o.CI {
		for k, v := range f.ci {
			if _, ok := d.params[k]; ok {
				d.params[k] = v
			}
		}
	}
	for _, k := range Parameters(o.Set).Sorted() {
		v := o.Set[k]
		switch _, ok := d.params[k]; {
		case !ok:
			d.errorf(nil, "--set "+k, "the scenario has no parameter %s%s", k, d.paramList())
		case strings.Contains(v, "${"):
			d.errorf(nil, "--set "+k, "a parameter's value cannot reference a parameter")
		default:
			d.params[k] = v
		}
	}
	s := &Scenario{source: f.name}
	d.decode(f.root, "", reflectValue(s))
	s.Parameters = Parameters(d.params)
	s.CI = f.ci
	if o.Seed != nil {
		s.Seed = *o.Seed
	}
	if o.Force {
		s.Force = true
	}
	if o.Network != nil {
		s.Network = *o.Network
	}
	check(s, d)
	if len(d.errs) > 0 {
		return nil, d.errs.sort()
	}
	return s, nil
}

// LoadBytes parses and resolves a scenario; name labels errors.
func LoadBytes(name string, data []byte, o Overrides) (*Scenario, error) {
	f, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	return f.Resolve(o)
}

// Load reads, parses and resolves the scenario file at path.
func Load(path string, o Overrides) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadBytes(path, data, o)
}

// Open loads a scenario file, or the shipped scenario of that name when
// no such file exists (mattersim run NAME|FILE).
func Open(nameOrPath string, o Overrides) (*Scenario, error) {
	f, err := OpenFile(nameOrPath)
	if err != nil {
		return nil, err
	}
	return f.Resolve(o)
}

// OpenFile parses a scenario file, or the shipped scenario of that name
// when no such file exists.
func OpenFile(nameOrPath string) (*File, error) {
	data, err := os.ReadFile(nameOrPath)
	if err == nil {
		return Parse(nameOrPath, data)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if sh, ok := LookupShipped(nameOrPath); ok {
		return Parse(sh.File, sh.Data)
	}
	if strings.ContainsAny(nameOrPath, "/.") {
		return nil, err
	}
	return nil, fmt.Errorf("no scenario file %q and no shipped scenario of that name (mattersim list shows them)", nameOrPath)
}
