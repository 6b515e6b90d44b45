package nodes_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nodes sits between the session core and the simulator (house style 13:
// tlv, clock ← session ← nodes ← sim ← scenarios ← cmd): it must not import
// the simulator, scenarios, the CLI, or the network. The one way package
// net may come in is through crypto/x509 (the test CA of CASE credentials,
// session/cert/testca, writes X.509 certificates; x509 parses IP SANs with
// net's types, and opens no socket).
func TestLayering(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "mattersim/nodes").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		dep, imports := f[0], f[1:]
		for _, banned := range []string{"mattersim/sim", "mattersim/scenarios", "mattersim/cmd"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("mattersim/nodes depends on %s", dep)
			}
		}
		if strings.HasPrefix(dep, "gvisor.dev/") {
			t.Errorf("mattersim/nodes depends on %s", dep)
		}
		if slices.Contains(imports, "net") && dep != "crypto/x509" {
			t.Errorf("mattersim/nodes depends on net through %s", dep)
		}
	}
}
