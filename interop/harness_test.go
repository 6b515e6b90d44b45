package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mattersim/internal/netns"
)

// Defaults of the interop peers (device.mjs, docs/interop.md §2).
const (
	DevicePort          = 5540
	DevicePasscode      = 20202021
	DeviceDiscriminator = 3840
	DeviceVendorName    = "InteropVendor"
)

// strictCI reports whether a missing prerequisite must fail instead of
// skip: CI=true and running as root (scripts/setup-interop.sh ran).
func strictCI() bool { return os.Getenv("CI") == "true" && os.Geteuid() == 0 }

// interopDir is the directory holding package.json and the scripts (the
// package directory: go test runs tests there).
func interopDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	return wd
}

// RequireMatterJS skips t unless namespaces can be made, node >= 20.19 is
// on PATH and interop/node_modules holds matter.js. Under strictCI a
// missing node_modules fails t. It returns the node binary.
func RequireMatterJS(t testing.TB) string {
	t.Helper()
	netns.Require(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIP: node not found (need Node >= 20.19; then scripts/setup-interop.sh)")
	}
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		t.Skipf("SKIP: node -p failed: %v", err)
	}
	if v := strings.TrimSpace(string(out)); !nodeOK(v) {
		t.Skipf("SKIP: Node %s is too old for matter.js 0.17.9 (needs >=20.19 <22, or >=22.13)", v)
	}
	if _, err := os.Stat(filepath.Join(interopDir(t), "node_modules", "@matter", "main", "package.json")); err != nil {
		if strictCI() {
			t.Fatalf("interop/node_modules missing under CI: scripts/setup-interop.sh must install matter.js (%v)", err)
		}
		t.Skip("SKIP: matter.js not installed: run scripts/setup-interop.sh")
	}
	return node
}

// nodeOK applies matter.js 0.17.9's engines range ">=20.19.0 <22.0.0 ||
// >=22.13.0" to a version "major.minor.patch".
func nodeOK(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	switch {
	case major == 20:
		return minor >= 19
	case major == 21:
		return true
	case major == 22:
		return minor >= 13
	}
	return major > 22
}

// lineLog collects a process's output as lines and wakes waiters on each
// new line. Safe for concurrent use.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{} // closed and replaced on every new line or close
	closed  bool
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, strings.TrimRight(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// close flushes a partial last line and marks the end of output.
func (l *lineLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.lines = append(l.lines, string(l.partial))
		l.partial = nil
	}
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
}

// errOutputEnded is returned by waitFor when the process ended first.
var errOutputEnded = errors.New("process output ended")

// waitFor returns the first line at or after index from containing substr.
func (l *lineLog) waitFor(ctx context.Context, from int, substr string) (string, int, error) {
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if strings.Contains(l.lines[i], substr) {
				s := l.lines[i]
				l.mu.Unlock()
				return s, i + 1, nil
			}
		}
		from = len(l.lines)
		closed, ch := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return "", from, errOutputEnded
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", from, ctx.Err()
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + string(l.partial)
}

// Peer is a process started inside a test namespace, with its combined
// stdout and stderr collected line by line. Its log is printed with t.Log
// when the test fails.
type Peer struct {
	Name string
	Cmd  *exec.Cmd

	log  *lineLog
	done chan struct{}
	err  error // valid after done is closed
}

// StartPeer starts name args... inside ns with extra environment env, and
// registers a cleanup that stops it and dumps its log if t failed.
func StartPeer(t testing.TB, ns *netns.NS, label string, env []string, name string, args ...string) *Peer {
	t.Helper()
	p := &Peer{Name: label, log: newLineLog(), done: make(chan struct{})}
	// The namespace cleanup kills it too; this context just bounds it.
	ctx, cancel := context.WithCancel(context.Background())
	p.Cmd = ns.Command(ctx, name, args...)
	p.Cmd.Dir = interopDir(t)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.log, p.log
	if err := p.Cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: start: %v", label, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		p.log.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel() // SIGTERM, then SIGKILL after WaitDelay
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: did not exit after SIGTERM+SIGKILL", label)
		}
		if t.Failed() {
			t.Logf("---- %s log (%s) ----\n%s\n---- end %s log ----", label, strings.Join(p.Cmd.Args, " "), p.log, label)
		}
	})
	return p
}

// WaitLine waits for an output line containing substr and returns it. It
// fails if the process exits first or ctx ends.
func (p *Peer) WaitLine(ctx context.Context, substr string) (string, error) {
	line, _, err := p.log.waitFor(ctx, 0, substr)
	if err != nil {
		return "", fmt.Errorf("%s: waiting for %q: %w", p.Name, substr, err)
	}
	return line, nil
}

// Wait waits for the process to exit and returns its exit error.
func (p *Peer) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("%s: still running: %w", p.Name, ctx.Err())
	}
}

// Output returns everything the process printed so far.
func (p *Peer) Output() string { return p.log.String() }

// matterEnv is the environment every matter.js peer gets: a fresh state
// directory (deleting it is the factory reset), plain logs.
func matterEnv(t testing.TB, level string) []string {
	return []string{
		"MATTER_PATH_ROOT=" + t.TempDir(),
		"MATTER_LOG_LEVEL=" + level,
		"MATTER_LOG_FORMAT=plain",
	}
}

// DeviceOptions configures StartMatterJSDevice. Zero fields take the
// device.mjs defaults.
type DeviceOptions struct {
	Port      int
	AllAddrs  bool     // listen on all addresses (setup B) instead of ::1/127.0.0.1
	LogLevel  string   // matter.js log level; "info" by default, "debug" logs every datagram
	ExtraEnv  []string // more environment
	ReadyWait time.Duration
}

// StartMatterJSDevice starts interop/device.mjs inside ns and waits (by
// default up to 60 s) for its "INTEROP: online" line.
func StartMatterJSDevice(t testing.TB, ns *netns.NS, o DeviceOptions) *Peer {
	t.Helper()
	node := RequireMatterJS(t)
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.ReadyWait == 0 {
		o.ReadyWait = 60 * time.Second
	}
	env := matterEnv(t, o.LogLevel)
	if o.Port != 0 {
		env = append(env, "PORT="+strconv.Itoa(o.Port))
	}
	if o.AllAddrs {
		env = append(env, "BIND4=", "BIND6=", "MATTER_MDNS_IPV4=false")
	}
	env = append(env, o.ExtraEnv...)
	p := StartPeer(t, ns, "matter.js device", env, node, "device.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), o.ReadyWait)
	defer cancel()
	if _, err := p.WaitLine(ctx, "INTEROP: online"); err != nil {
		t.Fatalf("matter.js device did not come up: %v", err)
	}
	return p
}

// ControllerOptions configures RunMatterJSController.
type ControllerOptions struct {
	Mode     string // "pase" (default) or "commission"
	Host     string // default "::1"
	Port     int    // default DevicePort
	Passcode int    // default DevicePasscode
	LogLevel string // default "info"
	ExtraEnv []string
}

// StartMatterJSController starts interop/controller.mjs inside ns; wait
// for it with Peer.Wait and look for its "INTEROP:" lines.
func StartMatterJSController(t testing.TB, ns *netns.NS, o ControllerOptions) *Peer {
	t.Helper()
	node := RequireMatterJS(t)
	if o.Mode == "" {
		o.Mode = "pase"
	}
	if o.Host == "" {
		o.Host = "::1"
	}
	if o.Port == 0 {
		o.Port = DevicePort
	}
	if o.Passcode == 0 {
		o.Passcode = DevicePasscode
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	env := append(matterEnv(t, o.LogLevel),
		"MODE="+o.Mode, "HOST="+o.Host, "PORT="+strconv.Itoa(o.Port), "PASSCODE="+strconv.Itoa(o.Passcode))
	if o.Mode == "commission" {
		env = append(env, "MATTER_MDNS_IPV4=false")
	}
	env = append(env, o.ExtraEnv...)
	return StartPeer(t, ns, "matter.js controller", env, node, "controller.mjs")
}

// probePython returns Debian's python3 if it can run pase_probe.py
// (python3-cryptography), or skips t.
func probePython(t testing.TB) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import cryptography.hazmat.primitives.ciphers.aead").Run() == nil {
			return path
		}
	}
	t.Skip("SKIP: python3 with python3-cryptography not found (scripts/setup-interop.sh installs it as root)")
	return ""
}

// StartProbe runs interop/pase_probe.py against host:port inside ns.
func StartProbe(t testing.TB, ns *netns.NS, host string, port, passcode int) *Peer {
	t.Helper()
	py := probePython(t)
	return StartPeer(t, ns, "pase probe", nil, py, "pase_probe.py", host, strconv.Itoa(port), strconv.Itoa(passcode))
}
