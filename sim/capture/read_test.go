package capture_test

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/sim"
	"mattersim/sim/capture"
)

// TestReaderReadsSimPcap: what sim.Pcap writes (nanosecond pcap, raw
// IPv6) reads back frame by frame, with its UDP endpoints and timestamps.
func TestReaderReadsSimPcap(t *testing.T) {
	var b bytes.Buffer
	w, err := sim.NewPcap(&b)
	require.NoError(t, err)
	src := netip.MustParseAddrPort("[fd00:6d73:696d::1]:5540")
	dst := netip.MustParseAddrPort("[fd00:6d73:696d::2]:5540")
	payload := []byte{0x00, 0x00, 0x00, 0x00, 1, 0, 0, 0}
	pkt := rawUDP(src, dst, payload)
	require.NoError(t, w.WritePacket(clock.Time(1_500_000_001), pkt))
	notUDP := append([]byte(nil), pkt...)
	notUDP[6] = 59 // no next header
	require.NoError(t, w.WritePacket(clock.Time(2e9), notUDP))

	r, err := capture.NewReader(&b)
	require.NoError(t, err)
	require.EqualValues(t, 101, r.LinkType())
	f, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, 1, f.Index)
	require.True(t, f.UDP)
	require.Equal(t, src, f.Src)
	require.Equal(t, dst, f.Dst)
	require.Equal(t, payload, f.Payload)
	require.Equal(t, int64(1_500_000_001), f.Time.UnixNano())
	f, err = r.Next()
	require.NoError(t, err)
	require.False(t, f.UDP)
	require.Contains(t, f.Note, "IP, not UDP")
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)

	_, err = capture.NewReader(bytes.NewReader([]byte("not a pcap at all")))
	require.ErrorContains(t, err, "not a pcap or pcapng file")
}

func rawUDP(src, dst netip.AddrPort, payload []byte) []byte {
	n := 8 + len(payload)
	b := make([]byte, 48+len(payload))
	b[0] = 0x60
	b[4], b[5] = byte(n>>8), byte(n)
	b[6], b[7] = 17, 64
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	b[40], b[41] = byte(src.Port()>>8), byte(src.Port())
	b[42], b[43] = byte(dst.Port()>>8), byte(dst.Port())
	b[44], b[45] = byte(n>>8), byte(n)
	copy(b[48:], payload)
	return b
}

// TestReaderReadsPcapng: a pcapng file (what Wireshark saves) with an
// Ethernet link reads as well: the UDP endpoints and payload under the
// Ethernet and IPv6 headers.
func TestReaderReadsPcapng(t *testing.T) {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	require.NoError(t, err)
	src := netip.MustParseAddrPort("[fd00::1]:40000")
	dst := netip.MustParseAddrPort("[fd00::2]:5540")
	payload := []byte{0x00, 0x00, 0x00, 0x00, 9, 0, 0, 0}
	eth := append([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd}, rawUDP(src, dst, payload)...)
	ts := time.Unix(3, 7)
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(eth), Length: len(eth), InterfaceIndex: 0}, eth))
	require.NoError(t, w.Flush())

	r, err := capture.NewReader(&b)
	require.NoError(t, err)
	require.Equal(t, layers.LinkTypeEthernet, r.LinkType())
	f, err := r.Next()
	require.NoError(t, err)
	require.True(t, f.UDP, f.Note)
	require.Equal(t, src, f.Src)
	require.Equal(t, dst, f.Dst)
	require.Equal(t, payload, f.Payload)
	require.Equal(t, ts.UnixNano(), f.Time.UnixNano())
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
}
