package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

// TestDirectEqualsNetstack: the same scenario and seed give the same
// metrics.json in both network modes, on every shipped scenario's ci
// variant: the netstack adds no virtual time, no events and no frames that
// the direct mode leaves out (sim's TestDirectFramesEqualNetstack checks
// the frames byte for byte). Only what legitimately differs is removed
// before comparing; each exclusion says why.
func TestDirectEqualsNetstack(t *testing.T) {
	for _, sh := range scenarios.Shipped() {
		t.Run(sh.Name, func(t *testing.T) {
			docs := map[string]map[string]any{}
			for _, mode := range []string{"netstack", "direct"} {
				code, out, stderr, _ := runOut(t, sh.Name, "--ci", "--json", "--network", mode)
				require.Equal(t, 0, code, "%s: %s", mode, stderr)
				var doc map[string]any
				require.NoError(t, json.Unmarshal([]byte(out), &doc))
				// wall_time: build and run wall-clock seconds, the one thing
				// the mode is meant to change (and that differs between two
				// runs of the same mode).
				require.Contains(t, doc, "wall_time")
				delete(doc, "wall_time")
				docs[mode] = doc
			}
			ns, d := docs["netstack"], docs["direct"]
			require.NotEmpty(t, ns["metrics"])
			require.Greater(t, ns["metrics"].(map[string]any)["network.sent"].(map[string]any)["value"], 0.0)
			require.Equal(t, ns, d)
		})
	}
}

func TestNetworkFlag(t *testing.T) {
	code, _, stderr, _ := runOut(t, "--network", "udp")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `run: --network: unknown network mode "udp" (want netstack or direct)`)
	code, _, stderr = runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%", "--network", "x")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `sweep: --network: unknown network mode "x"`)
}
