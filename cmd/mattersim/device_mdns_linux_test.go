//go:build linux

package main

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv6"

	"mattersim/internal/netns"
	"mattersim/nodes/dnssd"
)

// mdnsMsgs collects the mDNS responses heard on c.
func mdnsMsgs(c net.PacketConn) <-chan *dns.Msg {
	ch := make(chan *dns.Msg, 64)
	go func() {
		defer close(ch)
		buf := make([]byte, 9000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:n]) == nil && m.Response {
				ch <- m
			}
		}
	}()
	return ch
}

// commissionableTTL returns the TTL of the _matterc._udp instance's SRV
// in m, and whether m has one.
func commissionableTTL(m *dns.Msg) (uint32, string, bool) {
	for _, rr := range append(append([]dns.RR{}, m.Answer...), m.Extra...) {
		if srv, ok := rr.(*dns.SRV); ok && strings.HasSuffix(strings.ToLower(srv.Hdr.Name), dnssd.CommissionableService) {
			return srv.Hdr.Ttl, srv.Hdr.Name, true
		}
	}
	return 0, "", false
}

func waitMsg(t *testing.T, ch <-chan *dns.Msg, what string, want func(*dns.Msg) bool) *dns.Msg {
	t.Helper()
	deadline := time.After(8 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			require.True(t, ok, "mDNS listener closed waiting for %s", what)
			if want(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no mDNS %s", what)
		}
	}
}

// `mattersim device` in one namespace, a listener on the mDNS group in
// another across a veth pair: the device announces _matterc._udp with its
// discriminator; a failed pairing with --max-failures 1 closes the window
// and the record is withdrawn with a goodbye (TTL 0); --reopen-after
// brings it back, announced again.
func TestDeviceMDNSFollowsWindow(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip("SKIP: needs network namespaces: " + why)
	}
	bin := buildMattersim(t)
	a, b := netns.New(t, "mtr-dm-a"), netns.New(t, "mtr-dm-b")
	netns.Link(t, a, b)
	a.WaitLinkLocal(t, "veth-a")
	b.WaitLinkLocal(t, "veth-b")

	var group net.PacketConn
	func() {
		defer b.Enter(t)()
		c, err := net.ListenPacket("udp6", "[::]:5353")
		require.NoError(t, err)
		ifc, err := net.InterfaceByName("veth-b")
		require.NoError(t, err)
		require.NoError(t, ipv6.NewPacketConn(c).JoinGroup(ifc, &net.UDPAddr{IP: net.IP(dnssd.Group.AsSlice())}))
		group = c
	}()
	defer group.Close()
	msgs := mdnsMsgs(group)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := a.Command(ctx, bin, "device", "--listen", "[::]:5541", "--max-failures", "1", "--reopen-after", "2s",
		"--log-every", "0")
	var mu sync.Mutex
	var stderr strings.Builder
	pr, err := dev.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, dev.Start())
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	defer func() {
		cancel()
		_ = dev.Wait()
		mu.Lock()
		t.Logf("device stderr:\n%s", stderr.String())
		mu.Unlock()
	}()

	ann := waitMsg(t, msgs, "announcement of _matterc._udp", func(m *dns.Msg) bool {
		ttl, _, ok := commissionableTTL(m)
		return ok && ttl > 0
	})
	found := dnssd.ParseResponse(ann, dnssd.CommissionableService)
	require.Len(t, found, 1)
	require.Equal(t, 3840, found[0].Discriminator())
	require.Equal(t, "1", found[0].TXT["CM"])
	require.Equal(t, uint16(5541), found[0].Port)
	require.Contains(t, found[0].Addrs, netip.MustParseAddr(netns.AddrA))
	_, inst, _ := commissionableTTL(ann)

	// A wrong passcode: the one failure allowed closes the window.
	out, err := b.Command(ctx, bin, "pair", "--peer", "["+netns.AddrA+"]:5541", "--passcode", "20202022",
		"--timeout", "10s").CombinedOutput()
	require.Error(t, err, "pair with a wrong passcode succeeded: %s", out)
	t.Logf("pair: %s", out)
	waitMsg(t, msgs, "goodbye for "+inst, func(m *dns.Msg) bool {
		ttl, name, ok := commissionableTTL(m)
		return ok && ttl == 0 && name == inst
	})
	waitMsg(t, msgs, "re-announcement after --reopen-after", func(m *dns.Msg) bool {
		ttl, name, ok := commissionableTTL(m)
		return ok && ttl > 0 && name == inst
	})
	// The re-announcement can leave before the log line that goes with it
	// is written: wait for the line rather than race it.
	logged := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stderr.String()
	}
	require.Eventually(t, func() bool { return strings.Contains(logged(), "commissioning window re-opened") },
		5*time.Second, 20*time.Millisecond, "no re-opened line in the device's log:\n%s", logged())
	require.Contains(t, logged(), "mDNS: answering for host")
}
