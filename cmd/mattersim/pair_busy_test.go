package main

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/session/message"
	"mattersim/session/pase"
	"mattersim/session/status"
)

// busyRelay listens on loopback and forwards datagrams to the device at
// dev, except that it answers the first PBKDFParamRequest itself with
// StatusReport BUSY carrying wait, as a device still holding another
// pairing does (spec 4.11.1.3). It returns its address.
func busyRelay(t *testing.T, dev string, wait time.Duration) string {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	back, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { front.Close(); back.Close() })
	devAddr := netip.MustParseAddrPort(dev)
	var client netip.AddrPort
	clientSet := make(chan struct{})
	go func() {
		<-clientSet
		buf := make([]byte, 2048)
		for {
			n, _, err := back.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			front.WriteToUDPAddrPort(buf[:n], client)
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		answered := false
		for {
			n, from, err := front.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b := buf[:n]
			if !client.IsValid() {
				client = from
				close(clientSet)
			}
			var h message.Header
			hn, herr := h.Decode(b)
			var ph message.ProtocolHeader
			if herr == nil && !h.IsSecure() && !answered {
				if _, perr := ph.Decode(b[hn:]); perr == nil && ph.Is(message.ProtocolSecureChannel, pase.OpPBKDFParamRequest) {
					answered = true
					rh := message.Header{Counter: 0x4242, DestKind: message.DestinationNode, DestNode: h.Source}
					rph := message.ProtocolHeader{Opcode: pase.OpStatusReport, ExchangeID: ph.ExchangeID,
						ProtocolID: message.ProtocolSecureChannel, Flags: message.AckFlag, AckCounter: h.Counter}
					r := rph.Append(rh.Append(nil))
					r = append(r, status.Busy(wait).Append(nil)...)
					front.WriteToUDPAddrPort(r, from)
					continue
				}
			}
			back.WriteToUDPAddrPort(b, devAddr)
		}
	}()
	return front.LocalAddr().String()
}

// A device that answers BUSY with a minimum wait is tried again after that
// wait, within --timeout, and the retry is reported.
func TestPairRetriesAfterBusy(t *testing.T) {
	addr, _ := startDevice(t, "127.0.0.1")
	relay := busyRelay(t, addr, time.Second)
	start := time.Now()
	code, out, errOut := runCLI(t, "pair", "--peer", relay, "--timeout", "10s")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "VendorName: InteropVendor")
	require.Contains(t, errOut, "is busy (StatusReport BUSY); retrying in 1s")
	require.GreaterOrEqual(t, time.Since(start), time.Second)

	// A wait that would pass the deadline is not waited for.
	relay = busyRelay(t, addr, 5*time.Second)
	start = time.Now()
	code, _, errOut = runCLI(t, "pair", "--peer", relay, "--timeout", "2s")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "busy")
	require.NotContains(t, errOut, "retrying")
	require.Less(t, time.Since(start), 2*time.Second)
}

// --timeout bounds the whole command when the device never answers: it
// ends within the timeout (it used to wait up to one more second).
func TestPairTimeoutIsOverall(t *testing.T) {
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer l.Close() // a silent peer: receives, never answers
	start := time.Now()
	code, _, errOut := runCLI(t, "pair", "--peer", l.LocalAddr().String(), "--timeout", "1s")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "timed out")
	require.Less(t, time.Since(start), 1300*time.Millisecond, "ends within --timeout (plus scheduling slack)")
}
