package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a goroutine-safe bytes.Buffer for a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var readyRE = regexp.MustCompile(`mattersim device: listening on (\S+) discriminator (\d+)`)

// startDevice runs "mattersim device" in-process on an ephemeral port of
// host and returns its address and log; it stops at test cleanup.
func startDevice(t *testing.T, host string, extra ...string) (string, *syncBuffer) {
	t.Helper()
	addr, disc, log, _ := runDeviceOn(t, host, extra...)
	require.Equal(t, "3840", disc)
	return addr, log
}

// runDeviceOn runs "mattersim device" in-process on an ephemeral port of host
// until it prints its ready line and returns its address, its
// discriminator, its log (stderr) and stop, which cancels it and waits up
// to 5 s for it to return; stop also runs at test cleanup and only once.
// startDevice and the --state restart tests (which stop a device and start
// another on the same file) share it.
func runDeviceOn(t *testing.T, host string, extra ...string) (addr, disc string, log *syncBuffer, stop func()) {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	root := newRoot(&stdout, &stderr)
	// No mDNS: unit tests do not multicast on the host's interfaces.
	root.SetArgs(append([]string{"device", "--listen", net.JoinHostPort(host, "0"), "--mdns=false"}, extra...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("device did not stop")
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("device stderr:\n%s", stderr.String())
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := readyRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], m[2], &stderr, stop
		}
		select {
		case err := <-done:
			t.Fatalf("device exited early: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("device never printed its ready line; stdout %q stderr %q", stdout.String(), stderr.String())
	return "", "", nil, nil
}

// waitLog waits for a device log line containing substr.
func waitLog(t *testing.T, log *syncBuffer, substr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, substr) {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no device log line with %q in:\n%s", substr, log.String())
	return ""
}

func TestPairWithDevice(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			addr, log := startDevice(t, host, "--vendor-name", "GoVendor", "--product-name", "GoLight")
			code, out, errOut := runCLI(t, "pair", "--peer", addr, "--passcode", "20202021", "--timeout", "5s")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "VendorName: GoVendor\n")
			require.Contains(t, out, "ProductName: GoLight\n")
			require.Contains(t, out, "PASE session established with "+addr)
			waitLog(t, log, "PASE session established with")
			waitLog(t, log, "read 0/0x0028/0x0001,0/0x0028/0x0003")
			waitLog(t, log, "closed (peer-closed)")

			// The device serves the next pairing at once (CloseSession freed it).
			code, out, errOut = runCLI(t, "pair", "--peer", addr, "--json")
			require.Equal(t, 0, code, errOut)
			var res pairResult
			require.NoError(t, json.Unmarshal([]byte(out), &res))
			require.Equal(t, "GoVendor", res.VendorName)
			require.Equal(t, "GoLight", res.ProductName)
			require.True(t, res.SessionClosed)
			require.NotZero(t, res.LocalSession)
			require.NotZero(t, res.PeerSession)
		})
	}
}

func TestPairWrongPasscode(t *testing.T) {
	addr, log := startDevice(t, "127.0.0.1")
	code, out, errOut := runCLI(t, "pair", "--peer", addr, "--passcode", "20202022")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "mattersim: wrong passcode")
	line := waitLog(t, log, "PASE failure from")
	require.Contains(t, line, "wrong passcode")
	require.Contains(t, line, "failed attempts 1")

	// The failure did not wedge the device.
	code, out, errOut = runCLI(t, "pair", "--peer", addr)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "VendorName: InteropVendor")
}

func TestPairClosedPort(t *testing.T) {
	// A port nothing listens on: bind one, note it, close it.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())

	start := time.Now()
	code, out, errOut := runCLI(t, "pair", "--peer", addr, "--timeout", "1500ms")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, "mattersim: timed out after 1.5s waiting for PBKDFParamResponse from "+addr+"\n", errOut)
	require.Less(t, time.Since(start), 8*time.Second, "the 1.5 s timeout plus at most 1 s of cleanup; generous for a loaded machine")

	// With a longer timeout MRP gives up first (ICMP port-unreachable is not
	// seen on the unconnected socket; see README.md).
	code, _, errOut = runCLI(t, "pair", "--peer", addr, "--timeout", "20s")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no answer from "+addr)
	require.Contains(t, errOut, "PBKDFParamRequest sent 5 times")
}

func TestPairDeviceBadFlags(t *testing.T) {
	for i, args := range [][]string{
		{"pair", "--peer", "nope"},
		{"pair", "--peer", "[::1]:0"},
		{"pair", "--passcode", "12345678"}, // trivial passcode (spec 5.1.7.1)
		{"pair", "--passcode", "0"},
		{"pair", "--timeout", "0s"},
		{"pair", "--timeout", "soon"},
		{"pair", "extra-arg"},
		{"device", "--listen", "5540"},
		{"device", "--passcode", "11111111"},
		{"device", "--discriminator", "4096"},
	} {
		code, _, errOut := runCLI(t, args...)
		require.Equal(t, 2, code, "case %d %v: %s", i+1, args, errOut)
		require.True(t, strings.HasPrefix(errOut, "mattersim: "), errOut)
	}
}

// The text output says CloseSession was sent only when
// it was.
func TestPrintPairCloseSession(t *testing.T) {
	for i, tc := range []struct {
		closed bool
		want   string
	}{
		{true, "CloseSession sent\n"},                                       // 1
		{false, "CloseSession not sent (the session was already closed)\n"}, // 2
	} {
		var b strings.Builder
		require.NoError(t, printPair(&b, &pairResult{Peer: "[::1]:5540", SessionClosed: tc.closed}, false))
		require.True(t, strings.HasSuffix(b.String(), tc.want), "case %d: %q", i+1, b.String())
	}
}

// --max-failures 1: one wrong passcode closes the window. A later pair
// is acknowledged and never answered, and says the window is closed; the
// device logs the first refusal and counts the repeats (--log-every).
func TestPairReportsClosedWindow(t *testing.T) {
	addr, log := startDevice(t, "127.0.0.1", "--max-failures", "1", "--log-every", "1h")
	code, _, errOut := runCLI(t, "pair", "--peer", addr, "--passcode", "20202022")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "mattersim: wrong passcode")
	waitLog(t, log, "commissioning window closed after 1 failed attempts; restart to re-open it")
	for range 2 {
		code, _, errOut = runCLI(t, "pair", "--peer", addr, "--timeout", "1s")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "it acknowledged our PBKDFParamRequest but never answered; its commissioning window is closed")
	}
	waitLog(t, log, "PASE request refused")
	require.Equal(t, 1, strings.Count(log.String(), "PASE request refused"), "the repeat is counted, not logged: %s", log.String())
}

func TestDeviceBadLimitFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--max-failures", "0"}, {"--reopen-after", "-1s"}, {"--log-every", "-1s"},
	} {
		code, _, errOut := runCLI(t, append([]string{"device"}, args...)...)
		require.Equal(t, 2, code, errOut)
		require.Contains(t, errOut, args[0])
	}
}
