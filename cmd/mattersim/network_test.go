package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

// TestDirectEqualsNetstack: the same scenario and seed give the same
// metrics.json, trace and capture in both network modes, on every shipped
// scenario's ci variant: the netstack adds no virtual time, no events and no frames that
// the direct mode leaves out (sim's TestDirectFramesEqualNetstack checks
// the frames byte for byte). Only what legitimately differs is removed
// before comparing; each exclusion says why.
func TestDirectEqualsNetstack(t *testing.T) {
	for _, sh := range scenarios.Shipped() {
		t.Run(sh.Name, func(t *testing.T) {
			docs := map[string]map[string]any{}
			files := map[string][2]string{}
			for _, mode := range []string{"netstack", "direct"} {
				code, out, stderr, dir := runOut(t, sh.Name, "--ci", "--json", "--trace", "--pcap", "--network", mode)
				require.Equal(t, 0, code, "%s: %s", mode, stderr)
				files[mode] = [2]string{readFile(t, filepath.Join(dir, "trace.jsonl")), readFile(t, filepath.Join(dir, "capture.pcap"))}
				var doc map[string]any
				require.NoError(t, json.Unmarshal([]byte(out), &doc))
				// wall_time: build and run wall-clock seconds, the one thing
				// the mode is meant to change (and that differs between two
				// runs of the same mode).
				require.Contains(t, doc, "wall_time")
				delete(doc, "wall_time")
				// network: the mode itself, which the report names.
				require.Equal(t, mode, doc["network"])
				delete(doc, "network")
				docs[mode] = doc
			}
			ns, d := docs["netstack"], docs["direct"]
			require.NotEmpty(t, ns["metrics"])
			require.Greater(t, ns["metrics"].(map[string]any)["network.sent"].(map[string]any)["value"], 0.0)
			require.Equal(t, ns, d)
			// The trace and the capture are byte-identical too: the direct
			// host writes the frames gVisor writes.
			require.NotEmpty(t, files["netstack"][0])
			require.True(t, files["netstack"][0] == files["direct"][0], "trace.jsonl differs")
			require.True(t, files["netstack"][1] == files["direct"][1], "capture.pcap differs")
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

// The modes also agree where frames are damaged and duplicated: corrupt
// with scope packet makes some receivers answer with ICMPv6 parameter
// problems (a flipped Next Header), which the direct host sends too, so
// the links' random streams stay in step.
func TestDirectEqualsNetstackCorrupt(t *testing.T) {
	const file = `name: corrupt-modes
seed: 4
duration: 30s
drain: 30s
nodes:
  - {name: controller, role: controller}
  - {name: devices, count: 20}
establishment: {method: keys}
traffic:
  - {name: vendor, from: controller, to: devices, op: read, attributes: [0/basic_information/vendor_name], interval: 1s}
faults:
  - corrupt: {p: 20%}
    duplicate: {p: 5%}
    delay: {time: 2ms, jitter: 2ms}
`
	path := filepath.Join(t.TempDir(), "corrupt.yaml")
	require.NoError(t, os.WriteFile(path, []byte(file), 0o644))
	var docs [2]map[string]any
	for i, mode := range []string{"netstack", "direct"} {
		code, out, stderr, _ := runOut(t, path, "--json", "--network", mode)
		require.Contains(t, []int{0, 1}, code, "%s: %s", mode, stderr)
		require.NoError(t, json.Unmarshal([]byte(out), &docs[i]))
		delete(docs[i], "wall_time") // wall-clock seconds (see TestDirectEqualsNetstack)
		delete(docs[i], "network")   // the mode itself
	}
	m := docs[0]["metrics"].(map[string]any)
	value := func(name string) float64 { return m[name].(map[string]any)["value"].(float64) }
	require.Greater(t, value("network.dropped.corrupt"), 10.0)
	require.Greater(t, value("network.sent"), value("messages.sent"), "some frames are ICMPv6 errors")
	require.Equal(t, docs[0], docs[1])
}

// A sweep in the direct mode gives the netstack mode's aggregates.
func TestSweepNetworkDirect(t *testing.T) {
	var csv [2]string
	for i, mode := range []string{"netstack", "direct"} {
		out := filepath.Join(t.TempDir(), "sw")
		code, _, stderr := runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%,30%", "--reps", "2",
			"--workers", "2", "--quiet", "--network", mode, "--out", out)
		require.Equal(t, 0, code, stderr)
		csv[i] = readFile(t, filepath.Join(out, "metrics.csv"))
	}
	require.NotEmpty(t, csv[0])
	require.True(t, csv[0] == csv[1], "metrics.csv differs between the modes")
}

// The summary and the report name a direct run's mode (a netstack run is
// the default and its summary line stays as it was).
func TestRunNamesDirectMode(t *testing.T) {
	code, out, stderr, dir := runOut(t, "--ci", "--network", "direct")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "mattersim run: scenario default (files/default.yaml), seed 1, network direct\n")
	require.Contains(t, readFile(t, filepath.Join(dir, "metrics.json")), `"network": "direct"`)
	require.Contains(t, readFile(t, filepath.Join(dir, "junit.xml")), `<property name="network" value="direct">`)
	require.Contains(t, readFile(t, filepath.Join(dir, "report.html")), "<th>network mode</th><td>direct</td>")
	code, out, stderr, _ = runOut(t, "--ci")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "mattersim run: scenario default (files/default.yaml), seed 1\n")
}
