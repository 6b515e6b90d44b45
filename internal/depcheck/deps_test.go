// Package depcheck holds the test that enforces the one-way import direction
// of DEVELOPERS.md (tlv, clock ← session ← nodes ← sim ← scenarios ← cmd) and
// the sans-I/O rule for the session core (house style 1 and 13).
package depcheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "mattersim/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// forbidden maps a package tree to the imports (direct or indirect) it must
// never have, with the reason.
var forbidden = []struct {
	tree    string
	deny    []string
	because string
}{
	{"mattersim/tlv", []string{"mattersim/"}, "tlv is a leaf codec: standard library only"},
	{"mattersim/clock", []string{"mattersim/session", "mattersim/sim", "mattersim/nodes"}, "clock is below everything"},
	{"mattersim/session", []string{"net", "os", "os/exec", "math/rand", "mattersim/nodes", "mattersim/sim", "mattersim/scenarios", "mattersim/cmd"}, "the session core is sans-I/O and below nodes"},
	{"mattersim/im", []string{"net", "os", "mattersim/nodes", "mattersim/sim"}, "the Interaction Model codec is pure"},
	{"mattersim/nodes", []string{"mattersim/sim", "mattersim/scenarios", "mattersim/cmd"}, "nodes sit below the simulator"},
	{"mattersim/nodes/dnssd", []string{"net", "os", "mattersim/nodes/mdnsnet"}, "the DNS-SD responder is sans-I/O: mdnsnet drives it on real sockets"},
	{"mattersim/nodes/onboarding", []string{"net", "os", "mattersim/"}, "the onboarding payload codec is pure"},
	{"mattersim/nodes/mdnsnet", []string{"mattersim/session", "mattersim/im", "mattersim/nodes/commissionee", "mattersim/nodes/udp"},
		"the mDNS socket driver knows only dnssd: what to advertise is the caller's"},
	{"mattersim/sim", []string{"mattersim/scenarios", "mattersim/cmd"}, "sim sits below scenarios"},
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, rule := range forbidden {
			if !under(p.ImportPath, rule.tree) {
				continue
			}
			// Direct imports for standard-library rules (the dependency
			// closure of any package reaches os through fmt); the whole
			// closure for mattersim packages.
			check := func(list []string, std bool) {
				for _, d := range list {
					for _, deny := range rule.deny {
						isStd := !strings.Contains(deny, "/") || !strings.HasPrefix(deny, "mattersim")
						if isStd != std {
							continue
						}
						hit := d == deny
						if !isStd {
							hit = under(d, strings.TrimSuffix(deny, "/")) && !under(d, rule.tree)
						}
						if hit {
							t.Errorf("%s imports %s: %s", p.ImportPath, d, rule.because)
						}
					}
				}
			}
			check(p.Imports, true)
			check(p.Deps, false)
		}
	}
}

func TestNoPackageNamedUtil(t *testing.T) {
	for _, p := range listPackages(t) {
		last := p.ImportPath[strings.LastIndex(p.ImportPath, "/")+1:]
		if last == "util" || last == "utils" || last == "common" {
			t.Errorf("package %s: name says nothing about its job", p.ImportPath)
		}
	}
}

// TestSessionIsSansIO scans the session core's non-test sources for the
// calls house style 1 bans: the wall clock, sleeps, goroutines.
func TestSessionIsSansIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}`,
		"mattersim/session/...", "mattersim/tlv/...", "mattersim/clock").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	banned := []string{"time.Now(", "time.Sleep(", "time.After(", "time.NewTimer(", "time.Since(", "go func"}
	files := strings.Fields(string(out))
	if len(files) < 10 {
		t.Fatalf("found only %d source files", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, "/clock/clock.go") {
			continue // clock.Real is the one place that reads the wall clock
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "//")
			for _, ban := range banned {
				if strings.Contains(code, ban) {
					t.Errorf("%s:%d: %q in the sans-I/O core", f, i+1, ban)
				}
			}
		}
	}
}
