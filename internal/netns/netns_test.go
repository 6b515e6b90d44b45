package netns

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func nsExists(name string) bool {
	_, err := os.Stat("/var/run/netns/" + name)
	return err == nil
}

func TestNewLoopbackOnlyAndCleanup(t *testing.T) {
	Require(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		ns := New(t, "mtrtest")
		name = ns.Name
		require.True(t, nsExists(name))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := ns.Command(ctx, "ip", "-o", "link", "show").CombinedOutput()
		require.NoError(t, err, string(out))
		// Only lo exists in a fresh namespace, and it is up.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		require.Len(t, lines, 1, string(out))
		require.Contains(t, lines[0], "lo:")
		require.Contains(t, lines[0], "UP")

		// A long-running process is killed by cleanup.
		sleeper := ns.Command(context.Background(), "sleep", "300")
		require.NoError(t, sleeper.Start())
		go func() { _ = sleeper.Wait() }()
		// ip netns exec joins the namespace just before it execs sleep.
		require.Eventually(t, func() bool { return slices.Contains(ns.PIDs(), sleeper.Process.Pid) },
			5*time.Second, 10*time.Millisecond)
	})
	require.NotEmpty(t, name)
	require.False(t, nsExists(name), "namespace %s must be deleted by cleanup", name)
}

// TestMain lets the test binary act as a UDP echo server or client inside
// a namespace (NETNS_TEST_ROLE), so the link test needs no extra tools.
func TestMain(m *testing.M) {
	switch os.Getenv("NETNS_TEST_ROLE") {
	case "echo-server":
		c, err := net.ListenPacket("udp6", "["+AddrB+"]:5599")
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
		fmt.Println("READY")
		buf := make([]byte, 100)
		n, from, err := c.ReadFrom(buf)
		if err == nil {
			_, err = c.WriteTo(buf[:n], from)
		}
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "echo-client":
		c, err := net.Dial("udp6", "["+AddrB+"]:5599")
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Write([]byte("ping"))
		}
		buf := make([]byte, 100)
		if err == nil {
			var n int
			n, err = c.Read(buf)
			if err == nil && string(buf[:n]) != "ping" {
				err = fmt.Errorf("got %q", buf[:n])
			}
		}
		if err != nil {
			fmt.Println("client:", err)
			os.Exit(1)
		}
		fmt.Println("ECHO OK")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLinkCarriesIPv6BetweenNamespaces(t *testing.T) {
	Require(t)
	self, err := os.Executable()
	require.NoError(t, err)
	a, b := New(t, "mtrtesta"), New(t, "mtrtestb")
	Link(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := a.Command(ctx, "ip", "-6", "addr", "show", "dev", "veth-a").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), AddrA+"/64")
	// Traffic goes only to the peer's address inside our other namespace.
	srv := b.Command(ctx, self)
	srv.Env = append(os.Environ(), "NETNS_TEST_ROLE=echo-server")
	stdout, err := srv.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "READY\n", line)
	cli := a.Command(ctx, self)
	cli.Env = append(os.Environ(), "NETNS_TEST_ROLE=echo-client")
	out, err = cli.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "ECHO OK")
	require.NoError(t, srv.Wait())
}

func TestCommandContextCancelStopsProcess(t *testing.T) {
	Require(t)
	ns := New(t, "mtrtest")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns.Command(ctx, "sleep", "300")
	require.NoError(t, cmd.Start())
	start := time.Now()
	cancel()
	err := cmd.Wait()
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
}
