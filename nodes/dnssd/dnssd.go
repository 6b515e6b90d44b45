// Package dnssd is a sans-I/O mDNS responder (RFC 6762) for the DNS-SD
// records (RFC 6763) a Matter node advertises: the commissionable service
// _matterc._udp and the operational service _matter._tcp (spec 4.3.1,
// 4.3.2; the SDK's src/lib/dnssd/Advertiser_ImplMinimalMdns.cpp and
// TxtFields.h, matter.js's CommissionableMdnsAdvertisement and
// MdnsAdvertisement for the names and TXT keys real controllers read).
//
// A Responder answers the queries a driver hands it (HandleDatagram) and
// announces its records when started (RFC 6762 section 8.3: twice, one
// second apart), through a Transport: in the simulator a socket on port
// 5353 of the node, joined to ff02::fb. It keeps no clock and draws no
// randomness: instance names are given. Not safe for concurrent use.
package dnssd

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"mattersim/clock"
)

// Port is the mDNS port (RFC 6762 section 3).
const Port = 5353

// Group is the IPv6 mDNS group, ff02::fb (RFC 6762 section 3).
var Group = netip.MustParseAddr("ff02::fb")

// Service type names (spec 4.3.1.1, 4.3.2.1).
const (
	CommissionableService = "_matterc._udp.local."
	OperationalService    = "_matter._tcp.local."
	servicesEnum          = "_services._dns-sd._udp.local."
)

// TTL of every record: 120 s, the SDK's and matter.js's default.
const TTL = 120

// MRP intervals a node advertises (spec 4.3.4 SII, SAI, SAT): what the
// peer's sessions use for this node (spec 4.12.8, the SDK's
// ResolvedNodeData.mrpRetryInterval*).
type MRP struct {
	Idle, Active    time.Duration // SII, SAI
	ActiveThreshold time.Duration // SAT
}

// Commissionable describes a node in commissioning mode (spec 4.3.1).
type Commissionable struct {
	Instance      string // 64-bit random, 16 upper-case hex digits (spec 4.3.1.1)
	Discriminator uint16 // 12 bits (D, _L, _S)
	VendorID      uint16
	ProductID     uint16
	DeviceType    uint32 // DT, _T; 0: absent
	DeviceName    string // DN; empty: absent
	Mode          uint8  // CM: 1 basic commissioning window
	PairingHint   uint16 // PH; 0: absent
	MRP           MRP
}

// Operational describes a commissioned node (spec 4.3.2): instance
// <compressed fabric id>-<node id>, each 16 upper-case hex digits.
type Operational struct {
	CompressedFabricID uint64
	NodeID             uint64
	MRP                MRP
}

// Instance returns the operational instance name (spec 4.3.2.1).
func (o Operational) Instance() string {
	return fmt.Sprintf("%016X-%016X", o.CompressedFabricID, o.NodeID)
}

// Host is the node's host name and addresses (AAAA records).
type Host struct {
	Name  string // without .local
	Port  uint16 // the Matter port the SRV records name
	Addrs []netip.Addr
}

// Records returns the commissionable records of c on h: the PTRs of the
// service and its subtypes (_L, _S, _V, _T, _CM), SRV, TXT and AAAA.
func (c Commissionable) Records(h Host) []dns.RR {
	inst := c.Instance + "." + CommissionableService
	subs := []string{
		"_L" + strconv.Itoa(int(c.Discriminator)),
		"_S" + strconv.Itoa(int(c.Discriminator>>8&0xF)),
		"_V" + strconv.Itoa(int(c.VendorID)),
	}
	if c.DeviceType != 0 {
		subs = append(subs, "_T"+strconv.Itoa(int(c.DeviceType)))
	}
	if c.Mode != 0 {
		subs = append(subs, "_CM")
	}
	rrs := []dns.RR{ptr(servicesEnum, CommissionableService), ptr(CommissionableService, inst)}
	for _, s := range subs {
		name := s + "._sub." + CommissionableService
		rrs = append(rrs, ptr(servicesEnum, name), ptr(name, inst))
	}
	txt := []string{
		"D=" + strconv.Itoa(int(c.Discriminator)),
		"CM=" + strconv.Itoa(int(c.Mode)),
		"VP=" + strconv.Itoa(int(c.VendorID)) + "+" + strconv.Itoa(int(c.ProductID)),
	}
	if c.DeviceType != 0 {
		txt = append(txt, "DT="+strconv.Itoa(int(c.DeviceType)))
	}
	if c.DeviceName != "" {
		txt = append(txt, "DN="+c.DeviceName)
	}
	txt = append(txt, c.MRP.txt()...)
	if c.PairingHint != 0 {
		txt = append(txt, "PH="+strconv.Itoa(int(c.PairingHint)))
	}
	return append(rrs, serviceRecords(inst, txt, h)...)
}

// Records returns the operational records of o on h: PTRs of the service
// and of the compressed-fabric subtype _I<fabric>, SRV, TXT and AAAA.
func (o Operational) Records(h Host) []dns.RR {
	inst := o.Instance() + "." + OperationalService
	sub := fmt.Sprintf("_I%016X._sub.%s", o.CompressedFabricID, OperationalService)
	rrs := []dns.RR{
		ptr(servicesEnum, OperationalService), ptr(OperationalService, inst),
		ptr(servicesEnum, sub), ptr(sub, inst),
	}
	txt := append(o.MRP.txt(), "T=0")
	return append(rrs, serviceRecords(inst, txt, h)...)
}

func (m MRP) txt() []string {
	var t []string
	if m.Idle > 0 {
		t = append(t, "SII="+strconv.FormatInt(m.Idle.Milliseconds(), 10))
	}
	if m.Active > 0 {
		t = append(t, "SAI="+strconv.FormatInt(m.Active.Milliseconds(), 10))
	}
	if m.ActiveThreshold > 0 {
		t = append(t, "SAT="+strconv.FormatInt(m.ActiveThreshold.Milliseconds(), 10))
	}
	return t
}

func ptr(name, target string) dns.RR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: TTL}, Ptr: target}
}

// cacheFlush is the mDNS cache-flush bit of a unique record's class (RFC
// 6762 section 10.2).
const cacheFlush = 1 << 15

func serviceRecords(inst string, txt []string, h Host) []dns.RR {
	host := h.Name + ".local."
	rrs := []dns.RR{
		&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: dns.ClassINET | cacheFlush, Ttl: TTL},
			Port: h.Port, Target: host},
		&dns.TXT{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: dns.ClassINET | cacheFlush, Ttl: TTL}, Txt: txt},
	}
	for _, a := range h.Addrs {
		rrs = append(rrs, &dns.AAAA{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeAAAA, Class: dns.ClassINET | cacheFlush, Ttl: TTL},
			AAAA: a.AsSlice()})
	}
	return rrs
}

// Transport is what a Responder sends through: the node's mDNS socket.
type Transport interface {
	Send(to netip.AddrPort, payload []byte) error
	SetTimer(at clock.Time)
}

// Responder answers mDNS queries for its records and announces them. The
// zero value is not usable; call NewResponder.
type Responder struct {
	tr        Transport
	rrs       []dns.RR
	announces int // announcements still to send
	// Answered counts queries answered; Sent counts datagrams sent;
	// Goodbyes counts goodbye responses (SetRecords).
	Answered, Sent, Goodbyes uint64
	// OnResponse, if set, receives every mDNS response heard (a browse:
	// real devices' advertisements), already parsed.
	OnResponse func(now clock.Time, from netip.AddrPort, m *dns.Msg)
}

// NewResponder returns a responder for rrs.
func NewResponder(rrs []dns.RR) *Responder { return &Responder{rrs: rrs} }

// SetRecords replaces the records (a node leaving commissioning mode, or
// commissioned) and announces them again. Records that are in the old set
// and not in the new one are withdrawn first with a goodbye: one response
// carrying them with TTL 0 (RFC 6762 section 10.1), so that browsers
// drop them at once instead of when their TTL runs out.
func (r *Responder) SetRecords(now clock.Time, rrs []dns.RR) {
	gone := withdrawn(r.rrs, rrs)
	r.rrs = rrs
	if r.tr == nil {
		return
	}
	if len(gone) > 0 {
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer = gone
		r.send(netip.AddrPortFrom(Group, Port), m)
		r.Goodbyes++
	}
	r.Start(now)
}

// withdrawn returns copies with TTL 0 of the records of old that are not
// in cur (compared by name, type, class and data; TTLs aside).
func withdrawn(old, cur []dns.RR) []dns.RR {
	key := rrKey
	keep := make(map[string]bool, len(cur))
	for _, rr := range cur {
		keep[key(rr)] = true
	}
	var out []dns.RR
	for _, rr := range old {
		if !keep[key(rr)] {
			c := dns.Copy(rr)
			c.Header().Ttl = 0
			out = append(out, c)
		}
	}
	return out
}

// Merge returns the records of sets in order, each record once: a node
// advertising both services (or several fabrics) on one host has one set
// of AAAA records, not one per service (RFC 6762 section 6: a response
// carries a record once). Records are the same when name, type, class and
// data are; the first one's TTL is kept.
func Merge(sets ...[]dns.RR) []dns.RR {
	var out []dns.RR
	seen := map[string]bool{}
	for _, rrs := range sets {
		for _, rr := range rrs {
			k := rrKey(rr)
			if !seen[k] {
				seen[k] = true
				out = append(out, rr)
			}
		}
	}
	return out
}

// rrKey identifies a record by name (case-insensitively), type, class and
// data, TTL aside.
func rrKey(rr dns.RR) string {
	c := dns.Copy(rr)
	c.Header().Ttl = 0
	c.Header().Name = strings.ToLower(c.Header().Name)
	return c.String()
}

// Records returns the responder's records.
func (r *Responder) Records() []dns.RR { return r.rrs }

// Attach gives the responder its transport.
func (r *Responder) Attach(tr Transport) { r.tr = tr }

// Start announces the records now and once more a second later (RFC 6762
// section 8.3).
func (r *Responder) Start(now clock.Time) {
	r.announces = 2
	r.HandleTimer(now)
}

// HandleTimer sends the next announcement.
func (r *Responder) HandleTimer(now clock.Time) {
	if r.announces <= 0 || r.tr == nil || len(r.rrs) == 0 {
		return
	}
	r.announces--
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = r.rrs
	r.send(netip.AddrPortFrom(Group, Port), m)
	if r.announces > 0 {
		r.tr.SetTimer(now.Add(time.Second))
	}
}

// Answer returns the response to the query q (nil when none of its
// questions is ours): the matching records, and for PTR answers the
// instance's SRV, TXT and AAAA as additional records (RFC 6763 section
// 12.1).
func (r *Responder) Answer(q *dns.Msg) *dns.Msg {
	if q.Response || q.Opcode != dns.OpcodeQuery {
		return nil
	}
	var ans, extra []dns.RR
	seen := map[dns.RR]bool{}
	for _, qu := range q.Question {
		for _, rr := range r.rrs {
			h := rr.Header()
			if !strings.EqualFold(h.Name, qu.Name) || (qu.Qtype != dns.TypeANY && qu.Qtype != h.Rrtype) || seen[rr] {
				continue
			}
			seen[rr] = true
			ans = append(ans, rr)
			if p, ok := rr.(*dns.PTR); ok {
				extra = append(extra, r.about(p.Ptr)...)
			}
		}
	}
	if len(ans) == 0 {
		return nil
	}
	var add []dns.RR
	for _, rr := range extra {
		if !seen[rr] {
			seen[rr] = true
			add = append(add, rr)
		}
	}
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer, m.Extra = ans, add
	return m
}

// about returns the records of name (SRV, TXT) and of the hosts they name
// (AAAA).
func (r *Responder) about(name string) []dns.RR {
	var out []dns.RR
	for _, rr := range r.rrs {
		h := rr.Header()
		if !strings.EqualFold(h.Name, name) || h.Rrtype == dns.TypePTR {
			continue
		}
		out = append(out, rr)
		if s, ok := rr.(*dns.SRV); ok {
			for _, a := range r.rrs {
				if a.Header().Rrtype == dns.TypeAAAA && strings.EqualFold(a.Header().Name, s.Target) {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// HandleDatagram takes one datagram received on the mDNS port: a query is
// answered on the group (or, from a port other than 5353, unicast to the
// querier with its ID and questions: RFC 6762 section 6.7); a response
// goes to OnResponse.
func (r *Responder) HandleDatagram(now clock.Time, from netip.AddrPort, payload []byte) {
	m := new(dns.Msg)
	if err := m.Unpack(payload); err != nil {
		return
	}
	if m.Response {
		if r.OnResponse != nil {
			r.OnResponse(now, from, m)
		}
		return
	}
	resp := r.Answer(m)
	if resp == nil || r.tr == nil {
		return
	}
	r.Answered++
	to := netip.AddrPortFrom(Group, Port)
	if from.Port() != Port {
		resp.Id, resp.Question, to = m.Id, m.Question, from
		resp.Answer, resp.Extra = legacyUnicast(resp.Answer), legacyUnicast(resp.Extra)
	}
	r.send(to, resp)
}

// legacyTTL caps the TTL of records in a legacy unicast response: the
// querier is a plain DNS resolver that caches them without mDNS's
// maintenance (RFC 6762 section 6.7: "SHOULD NOT be greater than ten
// seconds").
const legacyTTL = 10

// legacyUnicast returns copies of rrs for a legacy unicast response: TTL at
// most legacyTTL and no cache-flush bit, which a conventional resolver
// would read as part of the class (RFC 6762 sections 6.7 and 10.2). The
// responder's own records are not changed.
func legacyUnicast(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		h := c.Header()
		h.Class &^= cacheFlush
		h.Ttl = min(h.Ttl, legacyTTL)
		out[i] = c
	}
	return out
}

func (r *Responder) send(to netip.AddrPort, m *dns.Msg) {
	b, err := m.Pack()
	if err != nil {
		return
	}
	if r.tr.Send(to, b) == nil {
		r.Sent++
	}
}

// ParseTXT returns the key=value pairs of a TXT record (spec 4.3.4: keys
// are case-insensitive; returned upper-case).
func ParseTXT(t *dns.TXT) map[string]string {
	out := make(map[string]string, len(t.Txt))
	for _, kv := range t.Txt {
		k, v, _ := strings.Cut(kv, "=")
		out[strings.ToUpper(k)] = v
	}
	return out
}

// ParseMRP reads SII, SAI and SAT from TXT pairs (ParseTXT); absent or bad
// values are zero (the peer then uses the defaults, spec 4.12.8).
func ParseMRP(kv map[string]string) MRP {
	ms := func(k string) time.Duration {
		v, err := strconv.ParseUint(kv[k], 10, 32)
		if err != nil || v > 3_600_000 { // spec 4.3.4: at most one hour
			return 0
		}
		return time.Duration(v) * time.Millisecond
	}
	return MRP{Idle: ms("SII"), Active: ms("SAI"), ActiveThreshold: ms("SAT")}
}
