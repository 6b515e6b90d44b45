//go:build interop

package interop

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// matter.js decodes, converts and validates the fabrics our test CA mints
// (session/cert/testca via `mattersim fabric new`), with and without an
// ICAC and with CATs, and rejects NOCs presented with another fabric's
// root. interop/certs.mjs says what it checks.
func TestMatterJSValidatesTestCAFabric(t *testing.T) {
	node := RequireMatterJS(t)
	bin := mattersimBinary(t)
	mint := func(name string, args ...string) string {
		dir := filepath.Join(t.TempDir(), name)
		out, err := exec.Command(bin, append([]string{"fabric", "new", "--out", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "fabric new: %s", out)
		return dir
	}
	check := func(dir string, env []string, want string) {
		t.Helper()
		ns := netns.New(t, "mtr-cert")
		p := StartPeer(t, ns, "matter.js certs", append(matterEnv(t, "error"), env...), node, "certs.mjs", dir)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		require.NoError(t, p.Wait(ctx), p.Output())
		require.Contains(t, p.Output(), want, p.Output())
	}
	withICAC := mint("icac", "--nodes", "4", "--icac", "--seed", "5", "--fabric-id", "0xFAB1", "--cat", "0x00010002")
	check(withICAC, nil, "INTEROP: certs converted 6 verified 4 rejected 0")
	rootOnly := mint("root", "--nodes", "3", "--seed", "6")
	check(rootOnly, nil, "INTEROP: certs converted 4 verified 3 rejected 0")

	other := mint("other", "--nodes", "1", "--seed", "7")
	check(rootOnly, []string{"WRONG_ROOT=" + other}, "INTEROP: certs converted 4 verified 0 rejected 3")
}
