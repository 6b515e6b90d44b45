package main

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"
)

func query(t *testing.T, name string, typ dnsmessage.Type) dnsmessage.Question {
	t.Helper()
	n, err := dnsmessage.NewName(name)
	require.NoError(t, err)
	return dnsmessage.Question{Name: n, Type: typ, Class: dnsmessage.ClassINET}
}

// The responder answers a question for any of its names with the whole
// record set, and stays silent for other names or with no instance.
func TestMDNSAnswer(t *testing.T) {
	lo := 0
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagLoopback != 0 {
				lo = ifc.Index
			}
		}
	}
	r := &mdnsResponder{port: 5541, host: "0011223344556677.local.", txt: []string{"SII=500"}}
	inst := mdnsInstance{Name: "A91112EFE7646992-0000000000000001", Subtype: "_IA91112EFE7646992"}
	instName := inst.Name + "." + matterSvc
	_, ok := r.answer(0, nil, []dnsmessage.Question{query(t, instName, dnsmessage.TypeSRV)}, lo)
	require.False(t, ok, "no instance yet")
	r.insts = []mdnsInstance{inst}
	for _, tc := range []struct {
		name string
		typ  dnsmessage.Type
		ok   bool
	}{
		{instName, dnsmessage.TypeSRV, true},
		{"a91112efe7646992-0000000000000001._matter._tcp.local.", dnsmessage.TypeTXT, true}, // case-insensitive
		{matterSvc, dnsmessage.TypePTR, true},
		{inst.Subtype + "._sub." + matterSvc, dnsmessage.TypePTR, true},
		{r.host, dnsmessage.TypeAAAA, true},
		{"B91112EFE7646992-0000000000000001." + matterSvc, dnsmessage.TypeSRV, false},
		{"_matterc._udp.local.", dnsmessage.TypePTR, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := r.answer(0x1234, nil, []dnsmessage.Question{query(t, tc.name, tc.typ)}, lo)
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(b)
			require.NoError(t, err)
			require.True(t, h.Response)
			require.True(t, h.Authoritative)
			require.Equal(t, uint16(0x1234), h.ID)
			require.NoError(t, p.SkipAllQuestions())
			rrs, err := p.AllAnswers()
			require.NoError(t, err)
			types := map[dnsmessage.Type]int{}
			for _, rr := range rrs {
				types[rr.Header.Type]++
				switch body := rr.Body.(type) {
				case *dnsmessage.SRVResource:
					require.Equal(t, uint16(5541), body.Port)
					require.Equal(t, r.host, body.Target.String())
					require.Equal(t, instName, rr.Header.Name.String())
				case *dnsmessage.TXTResource:
					require.Equal(t, []string{"SII=500"}, body.TXT)
				case *dnsmessage.AAAAResource:
					require.True(t, netip.AddrFrom16(body.AAAA).IsValid())
				}
			}
			require.Equal(t, 2, types[dnsmessage.TypePTR])
			require.Equal(t, 1, types[dnsmessage.TypeSRV])
			require.Equal(t, 1, types[dnsmessage.TypeTXT])
		})
	}
}
