package scenarios

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// The shipped scenarios (mattersim list), embedded in the binary.
//
//go:embed files/*.yaml
var shippedFS embed.FS

// ShippedScenario is one embedded scenario file.
type ShippedScenario struct {
	// Name is the scenario's name (its file name without .yaml).
	Name string
	// File is its path inside the package, for errors: files/NAME.yaml.
	File string
	// Summary is the first line of its description.
	Summary string
	Data    []byte
}

var shipped = loadShipped()

func loadShipped() []ShippedScenario {
	names, err := fs.Glob(shippedFS, "files/*.yaml")
	if err != nil {
		panic(err)
	}
	order := []string{"default", "mrp-loss", "window-reorder", "replay-attack", "partition-heal", "case-partition", "home-200", "home-200-subs", "building-5000", "sync-timeout", "sync-jitter", "group-replay", "subs-partition", "commission-home"}
	slices.SortStableFunc(names, func(a, b string) int {
		ia, ib := slices.Index(order, base(a)), slices.Index(order, base(b))
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	out := make([]ShippedScenario, 0, len(names))
	for _, n := range names {
		data, err := shippedFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, ShippedScenario{Name: base(n), File: n, Data: data, Summary: summaryOf(data)})
	}
	return out
}

func base(p string) string { return strings.TrimSuffix(path.Base(p), ".yaml") }

// summaryOf reads the first line of the description without a full load.
func summaryOf(data []byte) string {
	f, err := Parse("", data)
	if err != nil {
		return ""
	}
	es, ok := (&decoder{}).entries(f.root, "")
	if !ok {
		return ""
	}
	for _, mv := range es {
		if mv.Key.GetToken().Value == "description" {
			if s, ok := scalarOf(mv.Value); ok {
				line, _, _ := strings.Cut(strings.TrimSpace(s.text), "\n")
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// Shipped returns the shipped scenarios, default first.
func Shipped() []ShippedScenario { return slices.Clone(shipped) }

// LookupShipped returns the shipped scenario of that name.
func LookupShipped(name string) (ShippedScenario, bool) {
	for _, s := range shipped {
		if s.Name == name {
			return s, true
		}
	}
	return ShippedScenario{}, false
}
