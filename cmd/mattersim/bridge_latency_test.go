package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"mattersim/internal/netns"
)

// TestBridgeLatency measures the round trip of ICMPv6 echo through the
// bridge (kernel → TAP → bridge → switch → a netstack node's gVisor stack,
// which answers echo, and back) against the same echo over a plain veth
// pair between two namespaces (kernel to kernel), and logs the figures
// (README "Bridging to real devices"). The switch adds its modelled hop
// latency, 1 ms each way (sim.DefaultLatency), which the log separates
// from what the bridge itself costs. It fails only when echo does not get
// through.
func TestBridgeLatency(t *testing.T) {
	requireBridge(t)
	bin := buildMattersim(t)
	const n = 200

	a, b := netns.New(t, "mtrla"), netns.New(t, "mtrlb")
	netns.Link(t, a, b)
	veth := echoIn(t, a, netns.AddrB, n)

	ns := netns.New(t, "mtrlt")
	stop := startBridge(t, ns, bin)
	br := echoIn(t, ns, "fd00:6d73:696d::2", n)
	stop(os.Interrupt)

	hop := 2 * time.Millisecond // sim.DefaultLatency, both ways
	added := (median(br) - hop - median(veth)) / 2
	t.Logf("echo RTT over %d requests: veth median %v p99 %v; bridge median %v p99 %v (of which %v modelled switch latency); bridge cost per frame ≈ %v",
		n, median(veth), pct(veth, 99), median(br), pct(br, 99), hop, added)
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// echoIn runs this test binary inside ns as the echo client
// (TestBridgeEchoHelper) and parses the RTTs it prints.
func echoIn(t *testing.T, ns *netns.NS, target string, n int) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, os.Args[0], "-test.run=^TestBridgeEchoHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "MTR_ECHO_TARGET="+target, fmt.Sprintf("MTR_ECHO_COUNT=%d", n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("echo to %s: %v: %s", target, err, out)
	}
	var rtts []time.Duration
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "rtt "); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("bad rtt line %q", l)
			}
			rtts = append(rtts, d)
		}
	}
	if len(rtts) < n/2 {
		t.Fatalf("echo to %s: %d of %d answered: %s", target, len(rtts), n, out)
	}
	return rtts
}

// TestBridgeEchoHelper is TestBridgeLatency's echo client, run inside a
// namespace: it sends ICMPv6 echo requests on a raw socket to
// $MTR_ECHO_TARGET one at a time and prints each round trip.
func TestBridgeEchoHelper(t *testing.T) {
	target := os.Getenv("MTR_ECHO_TARGET")
	if target == "" {
		t.Skip("helper process of TestBridgeLatency")
	}
	var n int
	fmt.Sscan(os.Getenv("MTR_ECHO_COUNT"), &n)
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := &net.IPAddr{IP: net.ParseIP(target)}
	buf := make([]byte, 1500)
	for seq := range n + 5 {
		req := make([]byte, 8+56)
		req[0] = 128 // echo request; the kernel fills the checksum
		binary.BigEndian.PutUint16(req[4:], 0x6d73)
		binary.BigEndian.PutUint16(req[6:], uint16(seq))
		start := time.Now()
		if _, err := c.WriteTo(req, dst); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				break // lost: no line
			}
			if k >= 8 && buf[0] == 129 && binary.BigEndian.Uint16(buf[6:]) == uint16(seq) {
				if seq >= 5 { // the first ones warm up neighbour discovery
					fmt.Printf("rtt %v\n", time.Since(start))
				}
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}
