package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv6"
)

// mdnsInstance is one operational DNS-SD instance the device advertises
// (spec 4.3.2: service _matter._tcp, instance <CFID>-<NodeID>, subtype
// _I<CFID>).
type mdnsInstance struct {
	Name    string // "<CFID>-<NodeID>"
	Subtype string // "_I<CFID>"
}

// mdnsResponder answers multicast DNS queries (RFC 6762) for the
// device's operational instances on every multicast-capable interface,
// over IPv6 (ff02::fb, port 5353): PTR for _matter._tcp and the _I
// subtype, SRV and TXT for the instance, AAAA for the host. It announces
// the records when they change. It is the only goroutine-owning piece of
// the device besides the udp node; Set is safe for concurrent use.
type mdnsResponder struct {
	pc    *ipv6.PacketConn
	conn  net.PacketConn
	port  uint16
	host  string // "<16 hex>.local."
	txt   []string
	logf  func(format string, args ...any)
	ifs   []net.Interface
	mu    sync.Mutex
	insts []mdnsInstance
	done  chan struct{}
}

var mdnsGroup = netip.MustParseAddr("ff02::fb")

const (
	mdnsPort     = 5353
	mdnsHostTTL  = 120  // RFC 6762 10: host records
	mdnsOtherTTL = 4500 // PTR
	matterSvc    = "_matter._tcp.local."
)

// startMDNS starts the responder for the device's UDP port; it returns nil
// (and logs why) when no interface can multicast or port 5353 cannot be
// shared.
func startMDNS(port uint16, txt []string, logf func(format string, args ...any)) *mdnsResponder {
	ifs := multicastInterfaces()
	if len(ifs) == 0 {
		logf("mDNS: no multicast interface; operational discovery off")
		return nil
	}
	// Port 5353 is shared with any other responder on the host (avahi).
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = reuseAddrPort(fd) })
		return errors.Join(err, serr)
	}}
	conn, err := lc.ListenPacket(context.Background(), "udp6", fmt.Sprintf("[::]:%d", mdnsPort))
	if err != nil {
		logf("mDNS: %v; operational discovery off", err)
		return nil
	}
	pc := ipv6.NewPacketConn(conn)
	_ = pc.SetControlMessage(ipv6.FlagInterface, true)
	_ = pc.SetMulticastHopLimit(255)
	_ = pc.SetMulticastLoopback(false)
	var joined []net.Interface
	for _, ifc := range ifs {
		if err := pc.JoinGroup(&ifc, &net.UDPAddr{IP: net.IP(mdnsGroup.AsSlice())}); err == nil {
			joined = append(joined, ifc)
		}
	}
	if len(joined) == 0 {
		conn.Close()
		logf("mDNS: could not join ff02::fb on any interface; operational discovery off")
		return nil
	}
	var id [8]byte
	_, _ = crand.Read(id[:])
	r := &mdnsResponder{pc: pc, conn: conn, port: port, txt: txt, logf: logf, ifs: joined,
		host: strings.ToUpper(hex.EncodeToString(id[:])) + ".local.", done: make(chan struct{})}
	names := make([]string, len(joined))
	for i, ifc := range joined {
		names[i] = ifc.Name
	}
	logf("mDNS: answering for host %s on %s", r.host, strings.Join(names, ","))
	go r.serve()
	return r
}

func multicastInterfaces() []net.Interface {
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

// Set replaces the advertised instances and announces the new set on
// every interface (RFC 6762 8.3).
func (r *mdnsResponder) Set(insts []mdnsInstance) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.insts = append([]mdnsInstance(nil), insts...)
	r.mu.Unlock()
	for _, ifc := range r.ifs {
		if b, ok := r.response(ifc.Index); ok {
			r.send(b, netip.AddrPortFrom(mdnsGroup.WithZone(ifc.Name), mdnsPort), ifc.Index)
		}
	}
}

// Close stops the responder.
func (r *mdnsResponder) Close() {
	if r == nil {
		return
	}
	r.conn.Close()
	<-r.done
}

func (r *mdnsResponder) serve() {
	defer close(r.done)
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		from, ok := src.(*net.UDPAddr)
		if !ok || cm == nil {
			continue
		}
		r.handle(buf[:n], from.AddrPort(), cm.IfIndex)
	}
}

// handle answers one query. Legacy unicast queries (source port not
// 5353) get a unicast reply with the query id and questions (RFC 6762
// 6.7); others a multicast reply, or unicast when a question asks for it
// (the QU bit, RFC 6762 5.4).
func (r *mdnsResponder) handle(b []byte, from netip.AddrPort, ifIndex int) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || h.Response {
		return
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) == 0 {
		return
	}
	legacy := from.Port() != mdnsPort
	unicast := legacy
	for _, q := range qs {
		if q.Class&(1<<15) != 0 {
			unicast = true
		}
	}
	id := uint16(0)
	var echo []dnsmessage.Question
	if legacy {
		id, echo = h.ID, qs
	}
	out, ok := r.answer(id, echo, qs, ifIndex)
	if !ok {
		return
	}
	to := from
	if !unicast {
		name := ""
		if ifc, err := net.InterfaceByIndex(ifIndex); err == nil {
			name = ifc.Name
		}
		to = netip.AddrPortFrom(mdnsGroup.WithZone(name), mdnsPort)
	}
	r.send(out, to, ifIndex)
}

func (r *mdnsResponder) send(b []byte, to netip.AddrPort, ifIndex int) {
	_, err := r.pc.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifIndex}, net.UDPAddrFromAddrPort(to))
	if err != nil {
		r.logf("mDNS: sending to %s: %v", to, err)
	}
}

// answer builds the reply to questions qs, false if none is ours.
func (r *mdnsResponder) answer(id uint16, echo, qs []dnsmessage.Question, ifIndex int) ([]byte, bool) {
	hit := false
	r.mu.Lock()
	insts := r.insts
	r.mu.Unlock()
	for _, q := range qs {
		n := strings.ToLower(q.Name.String())
		if n == strings.ToLower(r.host) || n == matterSvc {
			hit = hit || len(insts) > 0
		}
		for _, in := range insts {
			if n == strings.ToLower(in.Name+"."+matterSvc) || n == strings.ToLower(in.Subtype+"._sub."+matterSvc) {
				hit = true
			}
		}
	}
	if !hit {
		return nil, false
	}
	return r.responseWith(id, echo, insts, ifIndex)
}

// response is the full record set as an announcement.
func (r *mdnsResponder) response(ifIndex int) ([]byte, bool) {
	r.mu.Lock()
	insts := r.insts
	r.mu.Unlock()
	if len(insts) == 0 {
		return nil, false
	}
	return r.responseWith(0, nil, insts, ifIndex)
}

// responseWith writes every record of every instance in the answer section
// (a small set: one host, a few fabrics), so one reply resolves the node.
func (r *mdnsResponder) responseWith(id uint16, echo []dnsmessage.Question, insts []mdnsInstance, ifIndex int) ([]byte, bool) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, Authoritative: true})
	b.EnableCompression()
	if b.StartQuestions() != nil {
		return nil, false
	}
	for _, q := range echo {
		if b.Question(q) != nil {
			return nil, false
		}
	}
	if b.StartAnswers() != nil {
		return nil, false
	}
	host, err := dnsmessage.NewName(r.host)
	if err != nil {
		return nil, false
	}
	flush := dnsmessage.ClassINET | 1<<15 // cache-flush for unique records (RFC 6762 10.2)
	for _, in := range insts {
		inst, err1 := dnsmessage.NewName(in.Name + "." + matterSvc)
		svc, err2 := dnsmessage.NewName(matterSvc)
		sub, err3 := dnsmessage.NewName(in.Subtype + "._sub." + matterSvc)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, false
		}
		for _, ptr := range []dnsmessage.Name{svc, sub} {
			if b.PTRResource(dnsmessage.ResourceHeader{Name: ptr, Class: dnsmessage.ClassINET, TTL: mdnsOtherTTL},
				dnsmessage.PTRResource{PTR: inst}) != nil {
				return nil, false
			}
		}
		if b.SRVResource(dnsmessage.ResourceHeader{Name: inst, Class: flush, TTL: mdnsHostTTL},
			dnsmessage.SRVResource{Port: r.port, Target: host}) != nil {
			return nil, false
		}
		if b.TXTResource(dnsmessage.ResourceHeader{Name: inst, Class: flush, TTL: mdnsOtherTTL},
			dnsmessage.TXTResource{TXT: r.txt}) != nil {
			return nil, false
		}
	}
	for _, a := range interfaceAddrs(ifIndex) {
		if b.AAAAResource(dnsmessage.ResourceHeader{Name: host, Class: flush, TTL: mdnsHostTTL},
			dnsmessage.AAAAResource{AAAA: a.As16()}) != nil {
			return nil, false
		}
	}
	out, err := b.Finish()
	return out, err == nil
}

// interfaceAddrs are the IPv6 addresses of the interface to put in AAAA
// records: the routable ones, or the link-local ones if it has no other.
func interfaceAddrs(ifIndex int) []netip.Addr {
	ifc, err := net.InterfaceByIndex(ifIndex)
	if err != nil {
		return nil
	}
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
