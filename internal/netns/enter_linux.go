//go:build linux

package netns

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Enter moves the calling goroutine's OS thread into ns until the returned
// leave runs: sockets opened and interfaces looked up meanwhile belong to
// ns (a socket keeps its namespace afterwards), so a test can hold sockets
// on both ends of a Link without a helper process. leave panics if the
// thread cannot return: a thread left inside would be killed with every
// other process in ns at cleanup, and with it the test binary.
func (ns *NS) Enter(t testing.TB) (leave func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("netns: open own namespace: %v", err)
	}
	fd, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(orig)
		runtime.UnlockOSThread()
		t.Fatalf("netns: open %s: %v", ns.Name, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		unix.Close(orig)
		runtime.UnlockOSThread()
		t.Fatalf("netns: enter %s: %v", ns.Name, err)
	}
	return func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			panic("cannot leave namespace " + ns.Name + ": " + err.Error())
		}
		unix.Close(orig)
		runtime.UnlockOSThread()
	}
}

// WaitLinkLocal waits up to 10 s for dev's IPv6 link-local address in ns to
// pass duplicate address detection: until then multicast (mDNS) does not
// leave a veth, even though Link's ULA addresses are nodad.
func (ns *NS) WaitLinkLocal(t testing.TB, dev string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := ipCmd("-n", ns.Name, "-6", "addr", "show", "dev", dev)
		if err == nil && strings.Contains(out, "fe80:") && !strings.Contains(out, "tentative") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("netns: %s in %s has no usable link-local address: %v: %s", dev, ns.Name, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
