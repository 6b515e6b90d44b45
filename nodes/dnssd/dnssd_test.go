package dnssd

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mattersim/clock"
)

var (
	testHost = Host{Name: "MTRSIM0000000002", Port: 5540,
		Addrs: []netip.Addr{netip.MustParseAddr("fd00:6d73:696d::2"), netip.MustParseAddr("fe80::2")}}
	testDevice = Commissionable{
		Instance: "CF903EDE767EAA49", Discriminator: 3840, VendorID: 0xFFF1, ProductID: 0x8000,
		DeviceName: "light", Mode: 1, PairingHint: 33,
		MRP: MRP{Idle: 500 * time.Millisecond, Active: 300 * time.Millisecond, ActiveThreshold: 4 * time.Second},
	}
)

type sent struct {
	to netip.AddrPort
	m  *dns.Msg
}

type fakeTransport struct {
	out   []sent
	timer clock.Time
	bad   int // datagrams that do not parse as DNS
}

func (f *fakeTransport) Send(to netip.AddrPort, b []byte) error {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		f.bad++
		return err
	}
	f.out = append(f.out, sent{to, m})
	return nil
}
func (f *fakeTransport) SetTimer(at clock.Time) { f.timer = at }

func query(name string, t uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.Id = 0
	b, _ := m.Pack()
	return b
}

func names(rrs []dns.RR) []string {
	var s []string
	for _, rr := range rrs {
		s = append(s, dns.TypeToString[rr.Header().Rrtype]+" "+rr.Header().Name)
	}
	return s
}

// TestCommissionableQueries: what a controller asks when it looks for a
// device by discriminator (matter.js CommissionableMdnsScanner: PTR of
// _L<d>, then SRV and TXT of the instance, then AAAA of the host), and
// the names the spec (4.3.1) gives the service and its subtypes.
func TestCommissionableQueries(t *testing.T) {
	inst := "CF903EDE767EAA49._matterc._udp.local."
	host := "MTRSIM0000000002.local."
	for _, tc := range []struct {
		name       string
		q          string
		qtype      uint16
		answer     []string
		additional []string
	}{
		{"long discriminator", "_L3840._sub._matterc._udp.local.", dns.TypePTR,
			[]string{"PTR _L3840._sub._matterc._udp.local."},
			[]string{"SRV " + inst, "AAAA " + host, "AAAA " + host, "TXT " + inst}},
		{"short discriminator", "_S15._sub._matterc._udp.local.", dns.TypePTR, []string{"PTR _S15._sub._matterc._udp.local."}, nil},
		{"vendor", "_V65521._sub._matterc._udp.local.", dns.TypePTR, []string{"PTR _V65521._sub._matterc._udp.local."}, nil},
		{"commissioning mode", "_CM._sub._matterc._udp.local.", dns.TypePTR, []string{"PTR _CM._sub._matterc._udp.local."}, nil},
		{"service, any case", "_MATTERC._udp.local.", dns.TypePTR, []string{"PTR _matterc._udp.local."}, nil},
		{"srv", inst, dns.TypeSRV, []string{"SRV " + inst}, []string{}},
		{"txt", inst, dns.TypeTXT, []string{"TXT " + inst}, []string{}},
		{"any", inst, dns.TypeANY, []string{"SRV " + inst, "TXT " + inst}, []string{}},
		{"aaaa", host, dns.TypeAAAA, []string{"AAAA " + host, "AAAA " + host}, []string{}},
		{"other discriminator", "_L3841._sub._matterc._udp.local.", dns.TypePTR, nil, nil},
		{"other service", "_hap._tcp.local.", dns.TypePTR, nil, nil},
		{"srv as a", inst, dns.TypeA, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResponder(testDevice.Records(testHost))
			tr := &fakeTransport{}
			r.Attach(tr)
			r.HandleDatagram(0, netip.MustParseAddrPort("[fe80::842]:5353"), query(tc.q, tc.qtype))
			if tc.answer == nil {
				if len(tr.out) != 0 {
					t.Fatalf("answered %v", names(tr.out[0].m.Answer))
				}
				return
			}
			if len(tr.out) != 1 {
				t.Fatalf("%d responses", len(tr.out))
			}
			m := tr.out[0]
			if m.to != netip.MustParseAddrPort("[ff02::fb]:5353") || !m.m.Response || !m.m.Authoritative || m.m.Id != 0 {
				t.Errorf("response to %s, header %+v", m.to, m.m.MsgHdr)
			}
			if got := names(m.m.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("answer %v, want %v", got, tc.answer)
			}
			if tc.additional != nil {
				if got := names(m.m.Extra); !slices.Equal(got, tc.additional) && !(len(got) == 0 && len(tc.additional) == 0) {
					t.Errorf("additional %v, want %v", got, tc.additional)
				}
			}
		})
	}
}

// TestTXT: the TXT keys a controller reads (spec 4.3.1.3-4.3.1.8, 4.3.4;
// matter.js buildCommissionableDevice needs D and CM as numbers).
func TestTXT(t *testing.T) {
	var txt *dns.TXT
	for _, rr := range testDevice.Records(testHost) {
		if x, ok := rr.(*dns.TXT); ok {
			txt = x
		}
	}
	want := []string{"D=3840", "CM=1", "VP=65521+32768", "DN=light", "SII=500", "SAI=300", "SAT=4000", "PH=33"}
	if !slices.Equal(txt.Txt, want) {
		t.Errorf("TXT %q, want %q", txt.Txt, want)
	}
	kv := ParseTXT(txt)
	if kv["D"] != "3840" || kv["VP"] != "65521+32768" {
		t.Errorf("ParseTXT %v", kv)
	}
	if got := ParseMRP(kv); got != testDevice.MRP {
		t.Errorf("ParseMRP %+v", got)
	}
}

func TestParseMRP(t *testing.T) {
	for _, tc := range []struct {
		kv   map[string]string
		want MRP
	}{
		{map[string]string{}, MRP{}},
		{map[string]string{"SII": "5000", "SAI": "1"}, MRP{Idle: 5 * time.Second, Active: time.Millisecond}},
		{map[string]string{"SII": "-1", "SAI": "x", "SAT": "3600001"}, MRP{}}, // bad, out of range (spec 4.3.4: <= 1 h)
		{map[string]string{"SAT": "3600000"}, MRP{ActiveThreshold: time.Hour}},
	} {
		if got := ParseMRP(tc.kv); got != tc.want {
			t.Errorf("ParseMRP(%v) = %+v, want %+v", tc.kv, got, tc.want)
		}
	}
}

// TestOperational: instance <compressed fabric id>-<node id>, 16
// upper-case hex digits each (spec 4.3.2.1), and the _I subtype.
func TestOperational(t *testing.T) {
	o := Operational{CompressedFabricID: 0x87E1B004E235A130, NodeID: 0x8FC7772401CD0696}
	if got := o.Instance(); got != "87E1B004E235A130-8FC7772401CD0696" {
		t.Errorf("instance %s", got)
	}
	r := NewResponder(o.Records(testHost))
	tr := &fakeTransport{}
	r.Attach(tr)
	r.HandleDatagram(0, netip.MustParseAddrPort("[fe80::842]:5353"), query("_I87E1B004E235A130._sub._matter._tcp.local.", dns.TypePTR))
	if len(tr.out) != 1 || !strings.HasPrefix(tr.out[0].m.Answer[0].(*dns.PTR).Ptr, "87E1B004E235A130-8FC7772401CD0696._matter._tcp") {
		t.Fatalf("no operational answer: %v", tr.out)
	}
}

// TestAnnounceAndLegacyUnicast: Start announces twice a second apart
// (RFC 6762 section 8.3); a query from a port other than 5353 is answered
// unicast with its ID and question (section 6.7).
func TestAnnounceAndLegacyUnicast(t *testing.T) {
	r := NewResponder(testDevice.Records(testHost))
	tr := &fakeTransport{}
	r.Attach(tr)
	r.Start(0)
	if len(tr.out) != 1 || tr.timer != clock.Time(time.Second) {
		t.Fatalf("after Start: %d sent, timer %v", len(tr.out), tr.timer)
	}
	r.HandleTimer(tr.timer)
	r.HandleTimer(clock.Time(2 * time.Second)) // nothing left to announce
	if len(tr.out) != 2 || len(tr.out[1].m.Answer) != len(r.Records()) {
		t.Fatalf("announcements: %d", len(tr.out))
	}
	q := new(dns.Msg)
	q.SetQuestion("_L3840._sub._matterc._udp.local.", dns.TypePTR)
	q.Id = 0x1234
	b, _ := q.Pack()
	from := netip.MustParseAddrPort("[fd00:6d73:696d::ff00]:40000")
	r.HandleDatagram(0, from, b)
	last := tr.out[len(tr.out)-1]
	if last.to != from || last.m.Id != 0x1234 || len(last.m.Question) != 1 {
		t.Errorf("legacy unicast answer to %s id %#x questions %d", last.to, last.m.Id, len(last.m.Question))
	}
	// Section 6.7: TTL at most 10 s and no cache-flush bit in any record of
	// it, while the responder's own records keep theirs.
	for _, rr := range append(append([]dns.RR{}, last.m.Answer...), last.m.Extra...) {
		if h := rr.Header(); h.Ttl > 10 || h.Class&cacheFlush != 0 {
			t.Errorf("legacy unicast record %s: ttl %d class %#x", h.Name, h.Ttl, h.Class)
		}
	}
	if len(last.m.Extra) == 0 {
		t.Error("legacy unicast PTR answer without additional records")
	}
	flushed := 0
	for _, rr := range r.Records() {
		if h := rr.Header(); h.Ttl != TTL {
			t.Errorf("record %s ttl changed to %d", h.Name, h.Ttl)
		} else if h.Class&cacheFlush != 0 {
			flushed++
		}
	}
	if flushed == 0 {
		t.Error("the responder's unique records lost their cache-flush bit")
	}
	// Garbage and responses are not answered.
	n := len(tr.out)
	r.HandleDatagram(0, from, []byte{1, 2, 3})
	resp := new(dns.Msg)
	resp.Response = true
	rb, _ := resp.Pack()
	heard := 0
	r.OnResponse = func(clock.Time, netip.AddrPort, *dns.Msg) { heard++ }
	r.HandleDatagram(0, from, rb)
	if len(tr.out) != n || heard != 1 {
		t.Errorf("sent %d more, heard %d responses", len(tr.out)-n, heard)
	}
}

// TestBrowse: a browser's query is a PTR question for the service on the
// group, and a device's response (what a Responder sends) is reported
// once, with its TXT, SRV and addresses; a repeat is not reported again.
func TestBrowse(t *testing.T) {
	tr := &fakeTransport{}
	var found []Found
	b := &Browser{Service: CommissionableService, OnFound: func(_ clock.Time, _ netip.AddrPort, f Found) { found = append(found, f) }}
	b.Attach(tr)
	b.Start(0)
	if len(tr.out) != 1 || tr.out[0].m.Question[0].Name != CommissionableService || tr.out[0].m.Question[0].Qtype != dns.TypePTR ||
		tr.timer != clock.Time(BrowseInterval) {
		t.Fatalf("query %v, timer %v", tr.out, tr.timer)
	}
	r := NewResponder(testDevice.Records(testHost))
	rt := &fakeTransport{}
	r.Attach(rt)
	q, _ := tr.out[0].m.Pack()
	r.HandleDatagram(0, netip.MustParseAddrPort("[fe80::1]:5353"), q)
	resp, _ := rt.out[0].m.Pack()
	for range 2 {
		b.HandleDatagram(0, netip.MustParseAddrPort("[fe80::2]:5353"), resp)
	}
	if len(found) != 1 {
		t.Fatalf("found %d", len(found))
	}
	f := found[0]
	if f.Instance != testDevice.Instance || f.Port != 5540 || f.Discriminator() != 3840 || f.MRP() != testDevice.MRP ||
		!slices.Equal(f.Addrs, testHost.Addrs) {
		t.Errorf("found %+v", f)
	}
}

// FuzzHandleDatagram: any datagram on the mDNS port, to a responder and to
// a browser, neither panics nor makes them send anything but DNS.
func FuzzHandleDatagram(f *testing.F) {
	f.Add(query("_L3840._sub._matterc._udp.local.", dns.TypePTR))
	r0 := NewResponder(testDevice.Records(testHost))
	tr0 := &fakeTransport{}
	r0.Attach(tr0)
	r0.Start(0)
	b0, _ := tr0.out[0].m.Pack()
	f.Add(b0)
	f.Add([]byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewResponder(testDevice.Records(testHost))
		tr := &fakeTransport{}
		r.Attach(tr)
		from := netip.MustParseAddrPort("[fe80::1]:5353")
		r.HandleDatagram(0, from, b)
		br := &Browser{Service: CommissionableService, OnFound: func(clock.Time, netip.AddrPort, Found) {}}
		br.Attach(tr)
		br.HandleDatagram(0, from, b)
		if tr.bad > 0 {
			t.Fatalf("%d datagrams sent that are not DNS", tr.bad)
		}
	})
}

// TestSetRecordsGoodbye: replacing the commissionable records by the
// operational ones (a device commissioned) first sends one goodbye with
// every withdrawn record at TTL 0 (RFC 6762 section 10.1) and nothing of
// what stays, then announces the new set; the withdrawn names are no
// longer answered.
func TestSetRecordsGoodbye(t *testing.T) {
	comm := testDevice.Records(testHost)
	op := Operational{CompressedFabricID: 0x87E1B004E235A130, NodeID: 0x8FC7772401CD0696}.Records(testHost)
	r := NewResponder(comm)
	tr := &fakeTransport{}
	r.Attach(tr)
	r.SetRecords(0, op)
	if len(tr.out) != 2 || r.Goodbyes != 1 {
		t.Fatalf("sent %d datagrams, %d goodbyes; want a goodbye and an announcement", len(tr.out), r.Goodbyes)
	}
	bye := tr.out[0].m.Answer
	for _, rr := range bye {
		if rr.Header().Ttl != 0 {
			t.Errorf("goodbye record %s has TTL %d", rr.Header().Name, rr.Header().Ttl)
		}
		if rr.Header().Rrtype == dns.TypeAAAA {
			t.Errorf("the host's AAAA stays advertised but was withdrawn: %s", rr)
		}
	}
	// Every commissionable PTR goes; the AAAA records are in both sets.
	var ptrs int
	for _, rr := range comm {
		if rr.Header().Rrtype == dns.TypePTR {
			ptrs++
		}
	}
	if got := len(bye); got < ptrs || got >= len(comm) {
		t.Errorf("goodbye carries %d records; want the %d PTRs, SRV and TXT (of %d)", got, ptrs, len(comm))
	}
	if len(tr.out[1].m.Answer) != len(op) || tr.out[1].m.Answer[0].Header().Ttl != TTL {
		t.Errorf("announcement: %d records", len(tr.out[1].m.Answer))
	}
	n := len(tr.out)
	r.HandleDatagram(0, netip.MustParseAddrPort("[fe80::842]:5353"), query("_L3840._sub._matterc._udp.local.", dns.TypePTR))
	if len(tr.out) != n {
		t.Errorf("a withdrawn name is still answered")
	}
	// Withdrawing everything sends the goodbye and announces nothing.
	r.SetRecords(clock.Time(time.Second), nil)
	if len(tr.out) != n+1 || r.Goodbyes != 2 {
		t.Errorf("sent %d after withdrawing all", len(tr.out)-n)
	}
}

// TestMerge: a host advertising _matterc._udp and _matter._tcp carries
// each of its AAAA records once; records differing only in TTL or name
// case are the same record; distinct records all stay, in order.
func TestMerge(t *testing.T) {
	op := Operational{CompressedFabricID: 0x87E1B004E235A130, NodeID: 2, MRP: testDevice.MRP}
	both := Merge(testDevice.Records(testHost), op.Records(testHost))
	aaaa := 0
	for _, rr := range both {
		if rr.Header().Rrtype == dns.TypeAAAA {
			aaaa++
		}
	}
	if aaaa != len(testHost.Addrs) {
		t.Errorf("%d AAAA records, want %d: %v", aaaa, len(testHost.Addrs), names(both))
	}
	// Everything but the duplicated AAAA (and the shared _services PTR of
	// neither) stays.
	if want := len(testDevice.Records(testHost)) + len(op.Records(testHost)) - len(testHost.Addrs); len(both) != want {
		t.Errorf("%d records, want %d", len(both), want)
	}
	a := testDevice.Records(testHost)
	b := make([]dns.RR, len(a))
	for i, rr := range a {
		c := dns.Copy(rr)
		c.Header().Ttl = 1
		c.Header().Name = strings.ToUpper(c.Header().Name)
		b[i] = c
	}
	if got := Merge(a, b); len(got) != len(a) || got[0] != a[0] {
		t.Errorf("TTL and case variants kept: %d records, want %d", len(got), len(a))
	}
	if got := Merge(); got != nil {
		t.Errorf("Merge() = %v", got)
	}
}

// TestBrowseSubtypeMux: an operational browser asks for its fabric's
// subtype (_I<compressed fabric id>) and reports the _matter._tcp
// instance; sharing one socket with a commissionable browser through a
// Mux, each keeps its own timer and both hear every response.
func TestBrowseSubtypeMux(t *testing.T) {
	const cfid = 0x87E1B004E235A130
	if got := OperationalSubtype(cfid); got != "_I87E1B004E235A130._sub._matter._tcp.local." {
		t.Fatalf("OperationalSubtype = %q", got)
	}
	tr := &fakeTransport{}
	var mux Mux
	mux.Attach(tr)
	var comm, oper []Found
	cb := &Browser{Service: CommissionableService, OnFound: func(_ clock.Time, _ netip.AddrPort, f Found) { comm = append(comm, f) }}
	ob := &Browser{Service: OperationalService, Query: OperationalSubtype(cfid),
		OnFound: func(_ clock.Time, _ netip.AddrPort, f Found) { oper = append(oper, f) }}
	mux.Add(cb)
	mux.Add(ob)
	cb.Start(0)
	ob.Start(clock.Time(2 * time.Second))
	if len(tr.out) != 2 || tr.out[1].m.Question[0].Name != OperationalSubtype(cfid) || tr.out[1].m.Question[0].Qtype != dns.TypePTR {
		t.Fatalf("queries %v", tr.out)
	}
	if tr.timer != clock.Time(BrowseInterval) {
		t.Fatalf("socket timer %v, want the earlier browser's %v", tr.timer, BrowseInterval)
	}
	mux.HandleTimer(clock.Time(BrowseInterval))
	if len(tr.out) != 3 || tr.out[2].m.Question[0].Name != CommissionableService {
		t.Fatalf("at %v: queries %v", BrowseInterval, tr.out)
	}
	if want := clock.Time(2*time.Second + BrowseInterval); tr.timer != want {
		t.Fatalf("socket timer %v, want %v", tr.timer, want)
	}
	op := Operational{CompressedFabricID: cfid, NodeID: 2, MRP: MRP{Idle: 800 * time.Millisecond, Active: 400 * time.Millisecond}}
	r := NewResponder(Merge(testDevice.Records(testHost), op.Records(testHost)))
	rt := &fakeTransport{}
	r.Attach(rt)
	q, _ := tr.out[1].m.Pack()
	r.HandleDatagram(0, netip.MustParseAddrPort("[fe80::1]:5353"), q)
	if len(rt.out) != 1 {
		t.Fatalf("subtype query not answered")
	}
	resp, _ := rt.out[0].m.Pack()
	mux.HandleDatagram(0, netip.MustParseAddrPort("[fe80::2]:5353"), resp)
	if len(oper) != 1 || oper[0].Instance != op.Instance() || oper[0].Port != 5540 || oper[0].MRP() != op.MRP ||
		!slices.Equal(oper[0].Addrs, testHost.Addrs) {
		t.Fatalf("operational browser found %+v", oper)
	}
	if len(comm) != 0 {
		t.Errorf("commissionable browser found %+v in an operational answer", comm)
	}
}
