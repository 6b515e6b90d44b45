//go:build interop

package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/internal/netns"
)

// TestMatterJSCASECost measures the matter.js device's CPU time per CASE
// handshake, full and resumed, for the ratio in BENCHMARKS.md ("matter.js
// device CPU per CASE handshake"). Our commissioner commissions
// interop/device.mjs (log level error) once, then `mattersim commission
// --case-repeat N` runs N sequential full handshakes and `--case-repeat N
// --case-resume` one full and N resumptions; the device's utime+stime
// (/proc/PID/stat) is read before and after each run. A measurement, not a
// check, so it runs only with INTEROP_BENCH=1:
//
//	INTEROP_BENCH=1 go test -count=1 -tags interop -run TestMatterJSCASECost -v ./interop/
//
// BENCH_N sets N (default 100).
func TestMatterJSCASECost(t *testing.T) {
	if os.Getenv("INTEROP_BENCH") != "1" {
		t.Skip("SKIP: measurement; set INTEROP_BENCH=1 to run")
	}
	RequireMatterJS(t)
	bin := mattersimBinary(t)
	n := 100
	if s := os.Getenv("BENCH_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err, "BENCH_N")
		require.Positive(t, n, "BENCH_N")
	}
	tck := clockTicks(t)
	ns := netns.New(t, "mtr-cbench")
	dev := StartMatterJSDevice(t, ns, DeviceOptions{LogLevel: "error"})
	pid := dev.Cmd.Process.Pid
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	require.NoError(t, err)
	require.Equal(t, "node", strings.TrimSpace(string(comm)), "the measured process must be the matter.js device itself")

	peer := hostPort("::1", DevicePort)
	_, _, err = runGoCommission(t, ns, bin, "--peer", peer, "--passcode", strconv.Itoa(DevicePasscode),
		"--json", "--timeout", "60s", "--no-subscribe", "--no-resume")
	require.NoError(t, err, "commission failed; device log:\n%s", dev.Output())

	full := caseCost(t, ns, bin, pid, tck, peer, n, false)
	// The resumed run also pays one full handshake (it creates the record).
	res := caseCost(t, ns, bin, pid, tck, peer, n, true)
	resPer := (res*float64(n+1) - full) / float64(n)
	t.Logf("INTEROP: case-cost n=%d device_cpu_ms_per_full=%.2f device_cpu_ms_per_resumed=%.2f (raw %.2f incl. the record-creating full handshake)",
		n, full, resPer, res)
}

// caseCost runs one --case-repeat and returns the device's CPU ms per
// handshake of the run (n timed ones, plus the untimed one with resume).
func caseCost(t *testing.T, ns *netns.NS, bin string, pid int, tck float64, peer string, n int, resume bool) float64 {
	t.Helper()
	args := []string{"--peer", peer, "--json", "--timeout", "300s", "--case-repeat", strconv.Itoa(n)}
	hs := n
	if resume {
		args = append(args, "--case-resume")
		hs++
	}
	before := procCPU(t, pid)
	out, _, err := runGoCommission(t, ns, bin, args...)
	after := procCPU(t, pid)
	require.NoError(t, err)
	var r struct {
		CASERepeat        int     `json:"caseRepeat"`
		CASERepeatResumed bool    `json:"caseRepeatResumed"`
		CASERepeatSeconds float64 `json:"caseRepeatSeconds"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, n, r.CASERepeat)
	require.Equal(t, resume, r.CASERepeatResumed)
	ms := float64(after-before) * 1000 / tck / float64(hs)
	t.Logf("INTEROP: case-repeat resumed=%v n=%d seconds=%.3f rate=%.1f/s device_cpu_ticks=%d device_cpu_ms_per_handshake=%.2f",
		resume, n, r.CASERepeatSeconds, float64(n)/r.CASERepeatSeconds, after-before, ms)
	require.Positive(t, after-before, "the device used no CPU: not the right process")
	return ms
}

// procCPU is utime+stime of pid in clock ticks (proc(5), fields 14 and 15).
func procCPU(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces
	require.Positive(t, i)
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	require.Greater(t, len(f), 12)
	u, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	st, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	return u + st
}

func clockTicks(t *testing.T) float64 {
	t.Helper()
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	require.NoError(t, err)
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	require.NoError(t, err)
	return v
}
