// Package mdnsnet drives dnssd.Responders over a real mDNS socket: the
// I/O half of a Matter node's DNS-SD advertising on a real network, the
// sans-I/O half being package dnssd (as package udp is for the session
// core).
//
// One UDP socket on [::]:5353, shared with other responders on the host
// (avahi, a controller) by SO_REUSEADDR/SO_REUSEPORT (RFC 6762 section
// 15.1), joined to ff02::fb on every up, multicast-capable, non-loopback
// interface, sending with hop limit 255 (RFC 6762 section 11). Each
// interface has its own dnssd.Responder, so an answer names only the
// addresses of the interface it goes out on (as the SDK's minimal mDNS
// does, src/lib/dnssd/minimal_mdns/ResponseSender.cpp), and its
// announcements leave by that interface alone. IPv6 only, like the
// device's Matter socket. Interfaces are chosen at Start; an interface that
// appears later is not joined.
//
// Every call into a responder — datagrams from the reader goroutine,
// announcement timers, SetRecords — runs under one lock, so the responders
// stay single-threaded as package dnssd requires.
package mdnsnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv6"

	"mattersim/clock"
	"mattersim/nodes/dnssd"
)

// ErrNoInterface is returned by Start when no interface can carry mDNS.
var ErrNoInterface = errors.New("mdnsnet: no multicast interface")

// Options configure Start.
type Options struct {
	// Host is the host name the SRV records name, without ".local".
	Host string
	// Port is the Matter port the SRV records give.
	Port uint16
	// Logf, if set, receives send errors. It is called with the driver's
	// lock held: it must not call back into the driver.
	Logf func(format string, args ...any)
	// Interfaces limits the driver to these; nil: every up,
	// multicast-capable, non-loopback interface (MulticastInterfaces).
	Interfaces []net.Interface
	// Addr is the local address to bind; zero: [::]:5353. Tests bind a
	// free port on loopback.
	Addr netip.AddrPort
}

// Driver owns the mDNS socket and the per-interface responders.
type Driver struct {
	mu     sync.Mutex
	clk    *clock.Real
	conn   net.PacketConn
	pc     *ipv6.PacketConn
	port   uint16 // the mDNS port sent to (dnssd.Port but in tests)
	host   string
	mport  uint16
	logf   func(format string, args ...any)
	links  []*link
	byIdx  map[int]*link
	closed bool
	done   chan struct{}
}

// link is one interface: its responder and its announcement timer.
type link struct {
	d     *Driver
	ifc   net.Interface
	r     *dnssd.Responder
	timer *time.Timer
}

// MulticastInterfaces returns the up, multicast-capable, non-loopback
// interfaces.
func MulticastInterfaces() []net.Interface {
	all, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []net.Interface
	for _, ifc := range all {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagMulticast != 0 && ifc.Flags&net.FlagLoopback == 0 {
			out = append(out, ifc)
		}
	}
	return out
}

// Start opens the socket, joins the group on the interfaces and starts
// reading. The responders have no records until SetRecords.
func Start(o Options) (*Driver, error) {
	ifs := o.Interfaces
	if ifs == nil {
		ifs = MulticastInterfaces()
	}
	if len(ifs) == 0 {
		return nil, ErrNoInterface
	}
	addr := o.Addr
	if !addr.IsValid() {
		addr = netip.AddrPortFrom(netip.IPv6Unspecified(), dnssd.Port)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = reuseAddrPort(fd) })
		return errors.Join(err, serr)
	}}
	conn, err := lc.ListenPacket(context.Background(), "udp6", addr.String())
	if err != nil {
		return nil, fmt.Errorf("mdnsnet: %w", err)
	}
	pc := ipv6.NewPacketConn(conn)
	// The interface of each datagram picks the responder that answers it.
	if err := pc.SetControlMessage(ipv6.FlagInterface, true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mdnsnet: %w", err)
	}
	_ = pc.SetMulticastHopLimit(255) // RFC 6762 section 11
	_ = pc.SetHopLimit(255)
	// Loopback on: a controller on this host hears the answers too.
	_ = pc.SetMulticastLoopback(true)
	d := &Driver{clk: clock.NewReal(), conn: conn, pc: pc, port: addr.Port(), host: o.Host, mport: o.Port,
		logf: o.Logf, byIdx: map[int]*link{}, done: make(chan struct{})}
	if d.logf == nil {
		d.logf = func(string, ...any) {}
	}
	var joinErrs []error
	for _, ifc := range ifs {
		if err := pc.JoinGroup(&ifc, &net.UDPAddr{IP: net.IP(dnssd.Group.AsSlice())}); err != nil {
			joinErrs = append(joinErrs, fmt.Errorf("%s: %w", ifc.Name, err))
			continue
		}
		l := &link{d: d, ifc: ifc, r: dnssd.NewResponder(nil)}
		l.timer = time.AfterFunc(time.Hour, l.fire)
		l.timer.Stop()
		l.r.Attach(l)
		d.links = append(d.links, l)
		d.byIdx[ifc.Index] = l
	}
	if len(d.links) == 0 {
		conn.Close()
		return nil, fmt.Errorf("mdnsnet: joining %s: %w", dnssd.Group, errors.Join(joinErrs...))
	}
	go d.read()
	return d, nil
}

// Interfaces returns the names of the interfaces joined.
func (d *Driver) Interfaces() []string {
	out := make([]string, len(d.links))
	for i, l := range d.links {
		out[i] = l.ifc.Name
	}
	return out
}

// SetRecords gives every interface's responder the records build returns
// for that interface's host (the driver's host name and port, the
// interface's current addresses): records gone from the previous set are
// withdrawn with a goodbye, and the new set is announced twice (package
// dnssd, RFC 6762 sections 8.3 and 10.1).
func (d *Driver) SetRecords(build func(h dnssd.Host) []dns.RR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	now := d.clk.Now()
	for _, l := range d.links {
		l.r.SetRecords(now, build(dnssd.Host{Name: d.host, Port: d.mport, Addrs: InterfaceAddrs(l.ifc)}))
	}
}

// Stats sums the responders' counters.
func (d *Driver) Stats() (answered, sent, goodbyes uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.links {
		answered += l.r.Answered
		sent += l.r.Sent
		goodbyes += l.r.Goodbyes
	}
	return
}

// Close withdraws every record (a goodbye, RFC 6762 section 10.1), stops
// the timers and the reader, and closes the socket.
func (d *Driver) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	now := d.clk.Now()
	for _, l := range d.links {
		l.r.SetRecords(now, nil)
		l.timer.Stop()
	}
	d.closed = true
	d.mu.Unlock()
	d.conn.Close()
	<-d.done
}

func (d *Driver) read() {
	defer close(d.done)
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := d.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error (ICMP feedback) must not stop answering
		}
		from, ok := src.(*net.UDPAddr)
		if !ok || cm == nil {
			continue
		}
		d.mu.Lock()
		if l := d.byIdx[cm.IfIndex]; l != nil && !d.closed {
			ap := from.AddrPort()
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			l.r.HandleDatagram(d.clk.Now(), ap, buf[:n])
		}
		d.mu.Unlock()
	}
}

// Send implements dnssd.Transport: the group on this interface, or a
// unicast reply (legacy unicast, RFC 6762 section 6.7) through it.
func (l *link) Send(to netip.AddrPort, payload []byte) error {
	// A numeric zone: a name would be looked up in the network namespace
	// of whichever thread sends.
	zone := strconv.Itoa(l.ifc.Index)
	if to.Addr() == dnssd.Group {
		to = netip.AddrPortFrom(dnssd.Group.WithZone(zone), l.d.port)
	} else if to.Addr().Is6() && to.Addr().IsLinkLocalUnicast() {
		to = netip.AddrPortFrom(to.Addr().WithZone(zone), to.Port())
	}
	_, err := l.d.pc.WriteTo(payload, &ipv6.ControlMessage{IfIndex: l.ifc.Index, HopLimit: 255}, net.UDPAddrFromAddrPort(to))
	if err != nil {
		l.d.logf("mDNS: sending to %s on %s: %v", to, l.ifc.Name, err)
	}
	return err
}

// SetTimer implements dnssd.Transport: the responder's next announcement.
func (l *link) SetTimer(at clock.Time) {
	l.timer.Reset(max(0, at.Sub(l.d.clk.Now())))
}

func (l *link) fire() {
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	if !l.d.closed {
		l.r.HandleTimer(l.d.clk.Now())
	}
}

// InterfaceAddrs are the IPv6 addresses of ifc for AAAA records: the
// routable ones, or the link-local ones if it has no other (a controller
// on the link reaches either; a routable one needs no zone).
func InterfaceAddrs(ifc net.Interface) []netip.Addr {
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var global, local []netip.Addr
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil || !pfx.Addr().Is6() || pfx.Addr().Is4In6() {
			continue
		}
		if pfx.Addr().IsLinkLocalUnicast() {
			local = append(local, pfx.Addr())
		} else {
			global = append(global, pfx.Addr())
		}
	}
	if len(global) > 0 {
		return global
	}
	return local
}

// HostName returns a host name for a run: 16 upper-case hex digits of id,
// the form the SDK makes from the MAC (src/lib/dnssd/ServiceNaming.h
// MakeHostName); here the id is random per run.
func HostName(id [8]byte) string {
	return strings.ToUpper(fmt.Sprintf("%x", id[:]))
}
