package main

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"mattersim/im"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/dnssd"
)

// What the device advertises follows its window and fabric table:
// _matterc._udp only while the window is open, _matter._tcp per fabric.
func TestDeviceRecords(t *testing.T) {
	m, err := newRealManager()
	require.NoError(t, err)
	comm := commissionable(m, deviceOptions{discriminator: 3840, info: im.InteropBasicInfo()})
	require.Regexp(t, `^[0-9A-F]{16}$`, comm.Instance)
	require.Equal(t, uint16(0xFFF1), comm.VendorID)
	require.Equal(t, uint16(0x8000), comm.ProductID)
	require.Equal(t, uint8(1), comm.Mode)
	require.NotZero(t, comm.MRP.Idle)
	op := commissionee.Operational{Fabric: 1, CompressedFabricID: [8]byte{0xA9, 0x11, 0x12, 0xEF, 0xE7, 0x64, 0x69, 0x92}, NodeID: 1}
	h := dnssd.Host{Name: "0011223344556677", Port: 5541, Addrs: []netip.Addr{netip.MustParseAddr("fd00::1")}}
	for _, tc := range []struct {
		name          string
		open          bool
		ops           []commissionee.Operational
		wantC, wantOp int
	}{
		{"window open, no fabric", true, nil, 1, 0},
		{"fabric added, window still open", true, []commissionee.Operational{op}, 1, 1},
		{"commissioned", false, []commissionee.Operational{op}, 0, 1},
		{"fabric removed, window closed", false, nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := &dns.Msg{Answer: deviceRecords(tc.open, tc.ops, comm)(h)}
			c := dnssd.ParseResponse(msg, dnssd.CommissionableService)
			o := dnssd.ParseResponse(msg, dnssd.OperationalService)
			require.Len(t, c, tc.wantC)
			require.Len(t, o, tc.wantOp)
			for _, f := range c {
				require.Equal(t, 3840, f.Discriminator())
				require.Equal(t, "65521+32768", f.TXT["VP"])
				require.Equal(t, "1", f.TXT["CM"])
				require.Equal(t, "33", f.TXT["PH"])
				require.Equal(t, "InteropLight", f.TXT["DN"])
				require.Equal(t, uint16(5541), f.Port)
				require.Equal(t, h.Addrs, f.Addrs)
			}
			for _, f := range o {
				require.Equal(t, "A91112EFE7646992-0000000000000001", f.Instance)
				require.Equal(t, f.MRP(), comm.MRP)
			}
		})
	}
}

// The ready line carries the pairing codes of the passcode and
// discriminator (the vectors matter.js prints for 20202021 and 3840).
func TestDeviceReadyLinePairingCodes(t *testing.T) {
	var stdout, stderr syncBuffer
	root := newRoot(&stdout, &stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root.SetArgs([]string{"device", "--listen", "[::1]:0", "--mdns=false"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	re := regexp.MustCompile(`discriminator 3840 manual (\d{11}) qr (MT:\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(stdout.String()) }, 5*time.Second, 10*time.Millisecond,
		"stdout %q", stdout.String())
	mm := re.FindStringSubmatch(stdout.String())
	require.Equal(t, "34970112332", mm[1])
	require.Equal(t, "MT:Y.K90AFN00KA0648G00", mm[2])
	require.False(t, strings.Contains(stderr.String(), "mDNS"), "--mdns=false starts no responder: %s", stderr.String())
	cancel()
	require.NoError(t, <-done)
}
