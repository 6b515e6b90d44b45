//go:build linux

package mdnsnet

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv6"

	"mattersim/internal/netns"
	"mattersim/nodes/dnssd"
)

// listener is a second mDNS socket on the peer's side: it hears the
// group, as a controller's browser would.
func listener(t *testing.T, ifc string) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp6", "[::]:5353")
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	pc := ipv6.NewPacketConn(c)
	in, err := net.InterfaceByName(ifc)
	require.NoError(t, err)
	require.NoError(t, pc.JoinGroup(in, &net.UDPAddr{IP: net.IP(dnssd.Group.AsSlice())}))
	return c
}

func readMsg(t *testing.T, c net.PacketConn, want func(*dns.Msg) bool) *dns.Msg {
	t.Helper()
	buf := make([]byte, 9000)
	deadline := time.Now().Add(5 * time.Second)
	for {
		require.NoError(t, c.SetReadDeadline(deadline))
		n, _, err := c.ReadFrom(buf)
		require.NoError(t, err, "no matching mDNS message")
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) == nil && want(m) {
			return m
		}
	}
}

func commissionable() dnssd.Commissionable {
	return dnssd.Commissionable{Instance: "00112233AABBCCDD", Discriminator: 3840, VendorID: 0xFFF1, ProductID: 0x8000,
		Mode: 1, MRP: dnssd.MRP{Idle: 500 * time.Millisecond}}
}

func hasTTL0(m *dns.Msg, name string) bool {
	for _, rr := range m.Answer {
		if strings.EqualFold(rr.Header().Name, name) && rr.Header().Ttl == 0 {
			return true
		}
	}
	return false
}

// Over a veth pair between two namespaces the test makes: the driver on
// one side announces its records on the link, answers a legacy unicast
// query from the other side with the interface's own address in AAAA,
// withdraws records with a goodbye, and sends one at Close.
func TestDriverOnLink(t *testing.T) {
	netns.Require(t)
	a, b := netns.New(t, "mtr-mn-a"), netns.New(t, "mtr-mn-b")
	netns.Link(t, a, b)
	a.WaitLinkLocal(t, "veth-a")
	b.WaitLinkLocal(t, "veth-b")

	leave := b.Enter(t)
	group := listener(t, "veth-b")
	query, err := net.ListenPacket("udp6", "[::]:0")
	require.NoError(t, err)
	defer query.Close()
	leave()

	leave = a.Enter(t)
	ifc, err := net.InterfaceByName("veth-a")
	require.NoError(t, err)
	d, err := Start(Options{Host: "ABCDEF0123456789", Port: 5541, Interfaces: []net.Interface{*ifc}, Logf: t.Logf})
	require.NoError(t, err)
	require.Equal(t, []string{"veth-a"}, d.Interfaces())
	c := commissionable()
	d.SetRecords(func(h dnssd.Host) []dns.RR {
		require.Equal(t, []netip.Addr{netip.MustParseAddr(netns.AddrA)}, h.Addrs)
		return c.Records(h)
	})
	leave()

	inst := c.Instance + "." + dnssd.CommissionableService
	// The announcement, on the group.
	ann := readMsg(t, group, func(m *dns.Msg) bool { return m.Response && len(m.Answer) > 0 })
	found := dnssd.ParseResponse(ann, dnssd.CommissionableService)
	require.Len(t, found, 1)
	require.Equal(t, uint16(5541), found[0].Port)
	require.Equal(t, 3840, found[0].Discriminator())
	require.Equal(t, []netip.Addr{netip.MustParseAddr(netns.AddrA)}, found[0].Addrs)

	// A legacy unicast query (source port not 5353) gets a unicast
	// reply with its id, TTLs capped at 10 s (RFC 6762 section 6.7).
	q := new(dns.Msg)
	q.SetQuestion("_L3840._sub."+dnssd.CommissionableService, dns.TypePTR)
	q.Id = 0x4242
	p, err := q.Pack()
	require.NoError(t, err)
	_, err = query.WriteTo(p, &net.UDPAddr{IP: net.IP(dnssd.Group.AsSlice()), Port: dnssd.Port, Zone: "veth-b"})
	require.NoError(t, err)
	resp := readMsg(t, query, func(m *dns.Msg) bool { return m.Response && m.Id == 0x4242 })
	require.NotEmpty(t, resp.Answer)
	require.Equal(t, inst, resp.Answer[0].(*dns.PTR).Ptr)
	for _, rr := range append(resp.Answer, resp.Extra...) {
		require.LessOrEqual(t, rr.Header().Ttl, uint32(10))
	}
	require.Len(t, dnssd.ParseResponse(resp, dnssd.CommissionableService), 1)

	// Withdrawing _matterc._udp (the window closed): a goodbye.
	op := dnssd.Operational{CompressedFabricID: 0xA91112EFE7646992, NodeID: 1}
	d.SetRecords(func(h dnssd.Host) []dns.RR { return op.Records(h) })
	bye := readMsg(t, group, func(m *dns.Msg) bool { return m.Response && hasTTL0(m, inst) })
	for _, rr := range bye.Answer {
		require.Zero(t, rr.Header().Ttl)
	}
	opInst := op.Instance() + "." + dnssd.OperationalService
	readMsg(t, group, func(m *dns.Msg) bool {
		return m.Response && len(dnssd.ParseResponse(m, dnssd.OperationalService)) == 1 && !hasTTL0(m, opInst)
	})

	d.Close()
	readMsg(t, group, func(m *dns.Msg) bool { return m.Response && hasTTL0(m, opInst) })
	answered, sent, goodbyes := d.Stats()
	require.Equal(t, uint64(1), answered)
	require.GreaterOrEqual(t, sent, uint64(5))
	require.Equal(t, uint64(2), goodbyes)
	d.Close() // twice is harmless
}

func TestStartNoInterface(t *testing.T) {
	_, err := Start(Options{Interfaces: []net.Interface{}})
	require.ErrorIs(t, err, ErrNoInterface)
}

func TestHostName(t *testing.T) {
	require.Equal(t, "0011AABBCCDDEEFF", HostName([8]byte{0, 0x11, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}))
}
