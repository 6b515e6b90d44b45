// Package netns creates throw-away Linux network namespaces for tests that
// run foreign Matter stacks (matter.js) so their traffic, including the mDNS
// multicast matter.js sends on every non-loopback interface, never leaves
// the machine (docs/interop.md §1).
//
// A namespace made by New has only lo (up); Link joins two namespaces with a
// veth pair carrying the ULA addresses fd00:6d74::1/64 and ::2 (no DAD).
// Cleanup is registered with t.Cleanup: it kills, by PID, every process
// started through NS.Command and any other process still inside the
// namespace, then deletes the namespace (which removes its veth end).
//
// Everything here needs root and iproute2's ip; tests call Require, which
// skips with the reason when either is missing. This package is test
// support: it shells out to ip and is not used by the simulator.
package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Addresses given to the two ends of a Link (docs/interop.md §1).
const (
	AddrA = "fd00:6d74::1"
	AddrB = "fd00:6d74::2"
)

var (
	availOnce sync.Once
	availOK   bool
	availWhy  string
	seq       atomic.Uint64
)

// Available reports whether namespaces can be made here: running as root,
// ip on PATH, and a probe namespace can be created and deleted. The answer
// is computed once per process. why explains a false answer.
func Available() (ok bool, why string) {
	availOnce.Do(func() { availOK, availWhy = probe() })
	return availOK, availWhy
}

func probe() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "network namespaces need root (euid " + strconv.Itoa(os.Geteuid()) + ")"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return false, "iproute2 'ip' command not found"
	}
	name := uniqueName("mtrprobe")
	if out, err := ipCmd("netns", "add", name); err != nil {
		return false, fmt.Sprintf("cannot create a network namespace: %v: %s", err, out)
	}
	if out, err := ipCmd("netns", "del", name); err != nil {
		return false, fmt.Sprintf("cannot delete network namespace %s: %v: %s", name, err, out)
	}
	return true, ""
}

// Require skips t (with the reason) unless Available.
func Require(t testing.TB) {
	t.Helper()
	if ok, why := Available(); !ok {
		t.Skip("SKIP: " + why)
	}
}

// NS is one network namespace owned by a test. Its methods are safe for
// concurrent use.
type NS struct {
	Name string

	t     testing.TB
	mu    sync.Mutex
	procs []*exec.Cmd
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))
}

func ipCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// New creates a namespace named prefix-<pid>-<n> with lo up and registers
// its cleanup. It fails t if the namespace cannot be made; call Require
// first to skip instead.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	ns := &NS{Name: uniqueName(prefix), t: t}
	if out, err := ipCmd("netns", "add", ns.Name); err != nil {
		t.Fatalf("netns: ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(ns.cleanup)
	if out, err := ipCmd("-n", ns.Name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns: lo up in %s: %v: %s", ns.Name, err, out)
	}
	return ns
}

// Link joins a and b with a veth pair: a's end ("veth-a") gets AddrA/64 and
// b's end ("veth-b") AddrB/64, both with nodad so they are usable at once.
// The pair lives only inside the two namespaces and goes away with them.
func Link(t testing.TB, a, b *NS) {
	t.Helper()
	steps := [][]string{
		{"link", "add", "veth-a", "netns", a.Name, "type", "veth", "peer", "name", "veth-b", "netns", b.Name},
		{"-n", a.Name, "addr", "add", AddrA + "/64", "dev", "veth-a", "nodad"},
		{"-n", b.Name, "addr", "add", AddrB + "/64", "dev", "veth-b", "nodad"},
		{"-n", a.Name, "link", "set", "veth-a", "up"},
		{"-n", b.Name, "link", "set", "veth-b", "up"},
	}
	for _, s := range steps {
		if out, err := ipCmd(s...); err != nil {
			t.Fatalf("netns: ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
}

// Command returns a command that runs name inside the namespace
// (ip netns exec, which execs name, so the PID is name's own). When ctx is
// done the process gets SIGTERM, then SIGKILL after 3 s. The process is
// killed at cleanup if it is still running.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	ns.mu.Lock()
	ns.procs = append(ns.procs, cmd)
	ns.mu.Unlock()
	return cmd
}

// PIDs returns the PIDs of the processes inside the namespace.
func (ns *NS) PIDs() []int {
	out, err := ipCmd("netns", "pids", ns.Name)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

func (ns *NS) cleanup() {
	ns.mu.Lock()
	procs := ns.procs
	ns.procs = nil
	ns.mu.Unlock()
	// Our own children first, by their process handles (pidfd-backed, so
	// a reused PID is never hit).
	for _, c := range procs {
		if c.Process != nil {
			_ = c.Process.Signal(syscall.SIGKILL)
		}
	}
	// Anything else still inside the namespace was started by those
	// processes (it cannot be anyone else's: the namespace is ours).
	for i := 0; i < 10; i++ {
		pids := ns.PIDs()
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := ipCmd("netns", "del", ns.Name); err != nil {
		ns.t.Errorf("netns: ip netns del %s: %v: %s", ns.Name, err, out)
	}
}
