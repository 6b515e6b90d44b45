package peer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mattersim/nodes/dnssd"
)

// TestBridgeAdvertisedRecords: a bridged device with its window open and
// a fabric (or two) advertises _matterc._udp and _matter._tcp with the
// host's AAAA records once each, not once per service.
func TestBridgeAdvertisedRecords(t *testing.T) {
	h := dnssd.Host{Name: "0123456789ABCDEF", Port: 5540,
		Addrs: []netip.Addr{netip.MustParseAddr("fd00:6d73:696d::2"), netip.MustParseAddr("fe80::2")}}
	c := dnssd.Commissionable{Instance: "CF903EDE767EAA49", Discriminator: 3840, VendorID: 0xFFF1, ProductID: 0x8000, Mode: 1,
		MRP: dnssd.MRP{Idle: 500 * time.Millisecond, Active: 300 * time.Millisecond}}
	op := func(n uint64) dnssd.Operational {
		return dnssd.Operational{CompressedFabricID: 0x87E1B004E235A130 + n, NodeID: n, MRP: c.MRP}
	}
	for _, tc := range []struct {
		name       string
		window     bool
		ops        []dnssd.Operational
		srv, aaaas int
	}{
		{"commissionable only", true, nil, 1, 2},
		{"window open and one fabric", true, []dnssd.Operational{op(1)}, 2, 2},
		{"window open and two fabrics", true, []dnssd.Operational{op(1), op(2)}, 3, 2},
		{"commissioned", false, []dnssd.Operational{op(1)}, 1, 2},
		{"nothing", false, nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rrs := AdvertisedRecords(c, h, tc.window, tc.ops)
			count := map[uint16]int{}
			seen := map[string]bool{}
			for _, rr := range rrs {
				count[rr.Header().Rrtype]++
				if s := rr.String(); seen[s] {
					t.Errorf("record twice: %s", s)
				} else {
					seen[s] = true
				}
			}
			if count[dns.TypeSRV] != tc.srv || count[dns.TypeAAAA] != tc.aaaas {
				t.Errorf("%d SRV, %d AAAA; want %d, %d", count[dns.TypeSRV], count[dns.TypeAAAA], tc.srv, tc.aaaas)
			}
		})
	}
}
