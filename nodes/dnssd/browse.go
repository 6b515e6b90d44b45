package dnssd

import (
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
	q.Question = []dns.Question{{Name: b.Service, Qtype: dns.TypePTR, Qclass: dns.ClassINET}}
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
