package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decoder walks a YAML tree into the format's Go types, collecting every
// problem with its position instead of stopping at the first, and
// remembering where each field path was written (for the semantic checks
// that follow). It never modifies the tree, so one parsed File can be
// resolved many times, concurrently.
type decoder struct {
	file    string
	params  map[string]string // values in force
	used    map[string]bool   // parameters referenced
	anchors map[string]ast.Node
	errs    ErrorList
	pos     map[string]ast.Node // field path → value node
}

// errorf records a problem at node n (nil: no position) for path.
func (d *decoder) errorf(n ast.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = position(n)
	}
	d.errs = append(d.errs, e)
}

// at returns the node written at path, or at its nearest written ancestor.
func (d *decoder) at(path string) ast.Node {
	for {
		if n, ok := d.pos[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.pos[""]
		}
		path = path[:i]
	}
}

// position returns where a node starts, 1-based.
func position(n ast.Node) (line, col int) {
	var tk *token.Token
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return position(v.Values[0])
		}
		tk = v.GetToken()
	case *ast.MappingValueNode:
		tk = v.Key.GetToken()
	case *ast.AnchorNode:
		tk = v.GetToken()
	case nil:
		return 0, 0
	default:
		tk = n.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// deref follows anchors and aliases to the node they stand for.
func (d *decoder) deref(n ast.Node, path string) (ast.Node, bool) {
	for range 64 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(n, path, "unknown alias *%s", name)
				return nil, false
			}
			n = target
		case *ast.TagNode:
			d.errorf(n, path, "YAML tags (%s) are not supported", v.Start.Value)
			return nil, false
		default:
			return n, true
		}
	}
	d.errorf(n, path, "aliases nest too deep")
	return nil, false
}

// collectAnchors maps every anchor name of the tree to its node.
func collectAnchors(root ast.Node) map[string]ast.Node {
	m := map[string]ast.Node{}
	ast.Walk(anchorVisitor(m), root)
	return m
}

type anchorVisitor map[string]ast.Node

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		v[a.Name.GetToken().Value] = a.Value
	}
	return v
}

// substitute replaces ${name} references in text with the parameters'
// values ($${ is a literal ${). It reports whether any was replaced.
func (d *decoder) substitute(n ast.Node, path, text string) (string, []string, bool) {
	if !strings.Contains(text, "${") {
		return text, nil, true
	}
	var b strings.Builder
	var used []string
	ok := true
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(text[i:], "${") {
			b.WriteByte(text[i])
			i++
			continue
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			d.errorf(n, path, "unterminated ${ in %q", text)
			return "", nil, false
		}
		name := text[i+2 : i+end]
		v, found := d.params[name]
		if !found {
			d.errorf(n, path, "undefined parameter ${%s}%s", name, d.paramList())
			ok = false
		} else {
			d.used[name] = true
			used = append(used, name)
			b.WriteString(v)
		}
		i += end + 1
	}
	return b.String(), used, ok
}

func (d *decoder) paramList() string {
	if len(d.params) == 0 {
		return " (the scenario declares no parameters)"
	}
	names := make([]string, 0, len(d.params))
	for k := range d.params {
		names = append(names, k)
	}
	slices.Sort(names)
	return " (parameters: " + strings.Join(names, ", ") + ")"
}

// readScalar reads the scalar at n with parameters substituted. A scalar
// with a ${name} reference is typed as if written unquoted with the values
// in place.
func (d *decoder) readScalar(n ast.Node, path string, want string) (scalar, string, bool) {
	s, ok := scalarOf(n)
	if !ok {
		d.errorf(n, path, "want %s, got a %s", want, nodeKind(n))
		return scalar{}, "", false
	}
	if s.kind != kindString || !strings.Contains(s.text, "${") {
		return s, "", true
	}
	text, used, ok := d.substitute(n, path, s.text)
	if !ok {
		return scalar{}, "", false
	}
	note := ""
	if len(used) > 0 {
		parts := make([]string, len(used))
		for i, u := range used {
			parts[i] = "${" + u + "} = " + strconv.Quote(d.params[u])
		}
		note = " (from " + strings.Join(parts, ", ") + ")"
	}
	return scalar{text: text, kind: classify(strings.TrimSpace(text))}, note, true
}

// structInfo is the yaml-tagged fields of a struct type.
type structInfo struct {
	fields   []fieldInfo
	byName   map[string]int
	required []int
}

type fieldInfo struct {
	name     string
	index    int
	required bool
	// min and max are the jsonschema minimum/maximum tags, checked here so
	// that the loader and the schema agree.
	min, max       float64
	hasMin, hasMax bool
}

var structCache sync.Map // reflect.Type → *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fi := fieldInfo{name: name, index: i}
		for _, tag := range strings.Split(f.Tag.Get("jsonschema"), ",") {
			k, val, _ := strings.Cut(tag, "=")
			switch k {
			case "required":
				fi.required = true
			case "minimum":
				fi.min, _ = strconv.ParseFloat(val, 64)
				fi.hasMin = true
			case "maximum":
				fi.max, _ = strconv.ParseFloat(val, 64)
				fi.hasMax = true
			}
		}
		si.byName[name] = len(si.fields)
		if fi.required {
			si.required = append(si.required, len(si.fields))
		}
		si.fields = append(si.fields, fi)
	}
	structCache.Store(t, si)
	return si
}

var (
	selectorsType  = reflect.TypeFor[Selectors]()
	parametersType = reflect.TypeFor[Parameters]()
	setterType     = reflect.TypeFor[scalarSetter]()
)

// want describes what a field of type t takes, for errors.
func want(t reflect.Type) string {
	switch reflect.New(t).Interface().(type) {
	case *Duration:
		return "a duration"
	case *Size:
		return "a size"
	case *BitRate:
		return "a bit rate"
	case *Probability:
		return "a probability"
	case *Jitter:
		return "a jitter"
	case *Selector, *Selectors:
		return "a node selector"
	case *Assertion:
		return "an assertion"
	case *AggregateAssertion:
		return "an aggregate assertion"
	case *AttributePath:
		return "an attribute path"
	case *CommandPath:
		return "a command path"
	case *MessageType:
		return "a message type"
	case *CounterRange:
		return "a counter range"
	}
	if reflect.PointerTo(t).Implements(setterType) {
		return "a name"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return "an integer"
}

// decode reads node n into v (addressable), reporting problems under path.
// A null node leaves v at its zero value (absent).
func (d *decoder) decode(n ast.Node, path string, v reflect.Value) {
	n, ok := d.deref(n, path)
	if !ok {
		return
	}
	d.pos[path] = n
	if _, null := n.(*ast.NullNode); null || n == nil {
		return
	}
	t := v.Type()
	if t == selectorsType {
		if seq, ok := n.(*ast.SequenceNode); ok {
			d.decodeSlice(seq, path, v)
			if len(seq.Values) == 0 {
				d.errorf(n, path, "an empty list selects no node")
			}
			return
		}
		v.Set(reflect.MakeSlice(t, 1, 1))
		d.decode(n, path, v.Index(0))
		return
	}
	if t == parametersType {
		return // read by Parse
	}
	if t == sweepValuesType {
		d.decodeSweepValues(n, path, v)
		return
	}
	if setter, ok := v.Addr().Interface().(scalarSetter); ok {
		s, note, ok := d.readScalar(n, path, want(t))
		if !ok || s.kind == kindNull {
			return
		}
		if err := setter.setScalar(s); err != nil {
			d.errorf(n, path, "%v%s", err, note)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		d.decode(n, path, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(n, path, "want a list, got a %s", nodeKind(n))
			return
		}
		d.decodeSlice(seq, path, v)
	default:
		d.decodeBasic(n, path, v)
	}
}

func (d *decoder) decodeSlice(seq *ast.SequenceNode, path string, v reflect.Value) {
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, e := range seq.Values {
		d.decode(e, path+"["+strconv.Itoa(i)+"]", out.Index(i))
	}
	v.Set(out)
}

// entries returns the key/value pairs of a mapping, merge keys (<<)
// expanded: explicit keys win over merged ones.
func (d *decoder) entries(n ast.Node, path string) ([]*ast.MappingValueNode, bool) {
	var vals []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		vals = m.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	var out, merged []*ast.MappingValueNode
	for _, mv := range vals {
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); !isMerge {
			out = append(out, mv)
			continue
		}
		src, ok := d.deref(mv.Value, path)
		if !ok {
			continue
		}
		srcs := []ast.Node{src}
		if seq, ok := src.(*ast.SequenceNode); ok {
			srcs = seq.Values
		}
		for _, s := range srcs {
			s, ok := d.deref(s, path)
			if !ok {
				continue
			}
			es, ok := d.entries(s, path)
			if !ok {
				d.errorf(mv, path, "<< merges mappings only, got a %s", nodeKind(s))
				continue
			}
			merged = append(merged, es...)
		}
	}
	if len(merged) == 0 {
		return out, true
	}
	seen := map[string]bool{}
	for _, mv := range out {
		seen[mv.Key.GetToken().Value] = true
	}
	for _, mv := range merged {
		if k := mv.Key.GetToken().Value; !seen[k] {
			seen[k] = true
			out = append(out, mv)
		}
	}
	return out, true
}

func (d *decoder) decodeStruct(n ast.Node, path string, v reflect.Value) {
	es, ok := d.entries(n, path)
	if !ok {
		d.errorf(n, path, "want a mapping, got a %s", nodeKind(n))
		return
	}
	si := infoOf(v.Type())
	set := make([]bool, len(si.fields))
	for _, mv := range es {
		key, ok := scalarOf(mv.Key)
		if !ok || key.kind != kindString && key.kind != kindInt && key.kind != kindBool {
			d.errorf(mv.Key, path, "a key must be a name")
			continue
		}
		fp := join(path, key.text)
		i, found := si.byName[key.text]
		if !found {
			d.errorf(mv.Key, fp, "unknown field%s", suggest(key.text, si))
			continue
		}
		f := &si.fields[i]
		fv := v.Field(f.index)
		nerr := len(d.errs)
		d.decode(mv.Value, fp, fv)
		if _, null := d.pos[fp].(*ast.NullNode); !null {
			set[i] = true
			if len(d.errs) == nerr && (f.hasMin || f.hasMax) {
				d.checkRange(fp, f, fv)
			}
		}
	}
	for _, i := range si.required {
		if !set[i] {
			d.errorf(n, join(path, si.fields[i].name), "required field missing")
		}
	}
}

// checkRange enforces a field's minimum and maximum tags.
func (d *decoder) checkRange(path string, f *fieldInfo, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	var x float64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x = float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x = float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		x = v.Float()
	default:
		return
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	switch {
	case f.hasMin && f.hasMax && (x < f.min || x > f.max):
		d.errorf(d.pos[path], path, "%s is out of range %s..%s", num(x), num(f.min), num(f.max))
	case f.hasMin && x < f.min:
		d.errorf(d.pos[path], path, "%s is below the minimum %s", num(x), num(f.min))
	case f.hasMax && x > f.max:
		d.errorf(d.pos[path], path, "%s is above the maximum %s", num(x), num(f.max))
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// suggest names the closest field, or lists them all.
func suggest(key string, si *structInfo) string {
	best, bestD := "", 3
	names := make([]string, len(si.fields))
	for i, f := range si.fields {
		names[i] = f.name
		if dd := editDistance(key, f.name); dd < bestD {
			best, bestD = f.name, dd
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (fields: " + strings.Join(names, ", ") + ")"
}

func (d *decoder) decodeBasic(n ast.Node, path string, v reflect.Value) {
	t := v.Type()
	s, note, ok := d.readScalar(n, path, want(t))
	if !ok || s.kind == kindNull {
		return
	}
	bad := func() { d.errorf(n, path, "want %s, got %s%s", want(t), s.describe(), note) }
	switch t.Kind() {
	case reflect.String:
		if s.kind != kindString {
			bad()
			return
		}
		v.SetString(s.text)
	case reflect.Bool:
		if s.kind != kindBool {
			bad()
			return
		}
		v.SetBool(strings.EqualFold(s.text, "true"))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s.kind != kindInt {
			bad()
			return
		}
		i, err := parseInt(s.text)
		if err != nil || v.OverflowInt(i) {
			d.errorf(n, path, "%s is out of range%s", s.text, note)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if s.kind != kindInt {
			bad()
			return
		}
		if strings.HasPrefix(s.text, "-") {
			d.errorf(n, path, "%s is negative: want a number >= 0%s", s.text, note)
			return
		}
		u, err := parseUint(s.text)
		if err != nil || v.OverflowUint(u) {
			d.errorf(n, path, "%s is out of range (at most %d)%s", s.text, uint64(1)<<(t.Bits())-1, note)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		if s.kind != kindInt && s.kind != kindFloat {
			bad()
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s.text, "_", ""), 64)
		if err != nil {
			if i, ierr := parseInt(s.text); ierr == nil {
				f, err = float64(i), nil
			}
		}
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "%s is not a finite number%s", s.text, note)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, path, "unsupported field type %s", t)
	}
}

// parseInt reads a YAML integer: decimal (leading zeros stay decimal, as
// in YAML 1.2), 0x, 0o or 0b, with optional underscores.
func parseInt(s string) (int64, error) {
	if isDecimal(s) {
		return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	}
	return strconv.ParseInt(s, 0, 64)
}

func parseUint(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "+")
	if isDecimal(s) {
		return strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
	}
	return strconv.ParseUint(s, 0, 64)
}

func isDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return len(s) < 2 || s[0] != '0' || (s[1] >= '0' && s[1] <= '9') || s[1] == '_'
}
