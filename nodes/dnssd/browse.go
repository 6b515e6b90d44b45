package dnssd

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"mattersim/clock"
)

// Found is a service instance heard in an mDNS response: a real device's
// advertisement, as a controller browsing the link sees it.
type Found struct {
	Instance string            // the instance label, e.g. "CF903EDE767EAA49"
	Service  string            // e.g. CommissionableService
	Port     uint16            // from SRV (0: not heard yet)
	Host     string            // SRV target
	TXT      map[string]string // ParseTXT
	Addrs    []netip.Addr      // AAAA of Host heard in the same response
}

// MRP returns the intervals the instance advertises (ParseMRP).
func (f *Found) MRP() MRP { return ParseMRP(f.TXT) }

// Discriminator returns TXT D, or -1.
func (f *Found) Discriminator() int {
	d, err := strconv.Atoi(f.TXT["D"])
	if err != nil || d < 0 || d > 0xFFF {
		return -1
	}
	return d
}

// ParseResponse returns the instances of service a response describes
// (answers and additional records together, RFC 6763 section 12).
func ParseResponse(m *dns.Msg, service string) []Found {
	rrs := append(append(slices.Clone(m.Answer), m.Ns...), m.Extra...)
	var out []Found
	for _, rr := range rrs {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		if h.Rrtype != dns.TypeSRV && h.Rrtype != dns.TypeTXT {
			continue
		}
		suffix := "." + strings.ToLower(service)
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		inst := h.Name[:len(h.Name)-len(suffix)]
		i := slices.IndexFunc(out, func(f Found) bool { return strings.EqualFold(f.Instance, inst) })
		if i < 0 {
			out = append(out, Found{Instance: inst, Service: service, TXT: map[string]string{}})
			i = len(out) - 1
		}
		switch r := rr.(type) {
		case *dns.SRV:
			out[i].Port, out[i].Host = r.Port, r.Target
		case *dns.TXT:
			out[i].TXT = ParseTXT(r)
		}
	}
	for i := range out {
		for _, rr := range rrs {
			if a, ok := rr.(*dns.AAAA); ok && out[i].Host != "" && strings.EqualFold(a.Hdr.Name, out[i].Host) {
				if ad, ok := netip.AddrFromSlice(a.AAAA); ok {
					out[i].Addrs = append(out[i].Addrs, ad)
				}
			}
		}
	}
	return out
}

// BrowseInterval is how often a Browser asks again.
const BrowseInterval = 5 * time.Second

// Browser asks the link for instances of a service (a PTR query on the
// mDNS group, RFC 6763 section 4) when started and every BrowseInterval,
// and reports each instance it hears about, once per change, to OnFound.
// Not safe for concurrent use.
type Browser struct {
	Service string
	// Query is the name asked for; empty means Service. A subtype
	// (OperationalSubtype) narrows the answers to its instances, which
	// are still instances of Service (RFC 6763 section 7.1).
	Query   string
	OnFound func(now clock.Time, from netip.AddrPort, f Found)
	tr      Transport
	known   map[string]string // instance → what was reported
	on      bool
}

// Attach gives the browser its transport.
func (b *Browser) Attach(tr Transport) { b.tr = tr }

// Start sends the first query now.
func (b *Browser) Start(now clock.Time) {
	b.on = true
	b.HandleTimer(now)
}

// Stop stops querying.
func (b *Browser) Stop() { b.on = false }

// HandleTimer sends the query and re-arms.
func (b *Browser) HandleTimer(now clock.Time) {
	if !b.on || b.tr == nil {
		return
	}
	q := new(dns.Msg)
	q.Id = 0
	name := b.Query
	if name == "" {
		name = b.Service
	}
	q.Question = []dns.Question{{Name: name, Qtype: dns.TypePTR, Qclass: dns.ClassINET}}
	if p, err := q.Pack(); err == nil {
		_ = b.tr.Send(netip.AddrPortFrom(Group, Port), p)
	}
	b.tr.SetTimer(now.Add(BrowseInterval))
}

// HandleDatagram takes one datagram from the mDNS port.
func (b *Browser) HandleDatagram(now clock.Time, from netip.AddrPort, payload []byte) {
	m := new(dns.Msg)
	if m.Unpack(payload) != nil || !m.Response {
		return
	}
	if b.known == nil {
		b.known = map[string]string{}
	}
	for _, f := range ParseResponse(m, b.Service) {
		key := strings.ToUpper(f.Instance)
		sum := f.Host + "|" + strconv.Itoa(int(f.Port)) + "|" + txtKey(f.TXT)
		if b.known[key] == sum {
			continue
		}
		b.known[key] = sum
		if b.OnFound != nil {
			b.OnFound(now, from, f)
		}
	}
}

func txtKey(kv map[string]string) string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k+"="+kv[k])
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// OperationalSubtype is the subtype of _matter._tcp that names the nodes
// of one fabric, _I<compressed fabric id> (spec 4.3.2.1; connectedhomeip
// src/lib/dnssd/ServiceNaming.cpp MakeServiceSubtype, kCompressedFabricId):
// what a commissioner browses to find the node it just commissioned.
func OperationalSubtype(compressedFabricID uint64) string {
	return fmt.Sprintf("_I%016X._sub.%s", compressedFabricID, OperationalService)
}

// Mux shares one mDNS socket among several browsers (a node has one socket
// on port 5353): every datagram goes to each, and each keeps its own timer
// on the socket's single one. Add browsers with Add; the zero value with
// Attach is ready. Not safe for concurrent use.
type Mux struct {
	tr Transport
	bs []*Browser
	at []clock.Time
}

// Attach gives the mux the socket's transport.
func (m *Mux) Attach(tr Transport) { m.tr = tr }

// Add attaches b to the mux; start it with b.Start.
func (m *Mux) Add(b *Browser) {
	i := len(m.bs)
	m.bs = append(m.bs, b)
	m.at = append(m.at, clock.Never)
	b.Attach(muxPort{m, i})
}

// HandleDatagram hands the datagram to every browser.
func (m *Mux) HandleDatagram(now clock.Time, from netip.AddrPort, payload []byte) {
	for _, b := range m.bs {
		b.HandleDatagram(now, from, payload)
	}
}

// HandleTimer runs the browsers whose timer is due.
func (m *Mux) HandleTimer(now clock.Time) {
	for i, b := range m.bs {
		if m.at[i] <= now {
			m.at[i] = clock.Never
			b.HandleTimer(now)
		}
	}
	m.arm()
}

func (m *Mux) arm() {
	if m.tr == nil {
		return
	}
	at := clock.Never
	for _, t := range m.at {
		at = min(at, t)
	}
	m.tr.SetTimer(at)
}

type muxPort struct {
	m *Mux
	i int
}

func (p muxPort) Send(to netip.AddrPort, payload []byte) error {
	if p.m.tr == nil {
		return errNoTransport
	}
	return p.m.tr.Send(to, payload)
}

func (p muxPort) SetTimer(at clock.Time) {
	p.m.at[p.i] = at
	p.m.arm()
}

var errNoTransport = errors.New("dnssd: mux not attached")
