package nodes_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nodes sits between the session core and the simulator (house style 13:
// tlv, clock ← session ← nodes ← sim ← scenarios ← cmd): it must not import
// the simulator, scenarios, the CLI, or the network.
func TestLayering(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "mattersim/nodes").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"mattersim/sim", "mattersim/scenarios", "mattersim/cmd", "gvisor.dev/", "net"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") && banned != "net" {
				t.Errorf("mattersim/nodes depends on %s", dep)
			}
		}
	}
}
