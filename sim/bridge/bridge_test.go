package bridge

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"mattersim/sim"
	"mattersim/sim/fault"
)

// fakeTap records the frames the bridge writes; it never yields frames
// (Input is called directly).
type fakeTap struct{ out [][]byte }

func (f *fakeTap) Read([]byte) (int, error) { select {} }
func (f *fakeTap) Write(b []byte) (int, error) {
	f.out = append(f.out, append([]byte(nil), b...))
	return len(b), nil
}

var (
	realMAC  = [6]byte{0x0a, 0, 0, 0, 0, 0x42}
	realAddr = netip.MustParseAddr("fd00:6d73:696d::ff00")
	realLL   = netip.MustParseAddr("fe80::842")
)

func newBridge(t *testing.T, mode sim.Mode, nodes int) (*sim.Network, *Bridge, *fakeTap) {
	t.Helper()
	e := sim.New(1)
	n, err := sim.NewNetwork(e, sim.NetConfig{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.AddNodes(nodes); err != nil {
		t.Fatal(err)
	}
	tap := &fakeTap{}
	b, err := New(n, tap, "fake0")
	if err != nil {
		t.Fatal(err)
	}
	return n, b, tap
}

// ether wraps an IPv6 packet from the real side.
func ether(dst [6]byte, ip []byte) []byte {
	f := append(append(append([]byte(nil), dst[:]...), realMAC[:]...), 0x86, 0xdd)
	return append(f, ip...)
}

func ipv6(src, dst netip.Addr, proto uint8, hop uint8, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	header.IPv6(b).Encode(&header.IPv6Fields{
		PayloadLength: uint16(len(payload)), TransportProtocol: tcpip.TransportProtocolNumber(proto), HopLimit: hop,
		SrcAddr: tcpip.AddrFrom16(src.As16()), DstAddr: tcpip.AddrFrom16(dst.As16()),
	})
	copy(b[40:], payload)
	return b
}

func icmp(src, dst netip.Addr, typ header.ICMPv6Type, body []byte) []byte {
	m := header.ICMPv6(make([]byte, 4+len(body)))
	m.SetType(typ)
	copy(m[4:], body)
	m.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{
		Header: m, Src: tcpip.AddrFrom16(src.As16()), Dst: tcpip.AddrFrom16(dst.As16()),
	}))
	return m
}

func solicitation(src, target netip.Addr) []byte {
	body := make([]byte, 4+16+8)
	copy(body[4:20], target.AsSlice())
	body[20], body[21] = 1, 1 // source link-layer address option
	copy(body[22:28], realMAC[:])
	t16 := target.As16()
	group := netip.AddrFrom16([16]byte{0xff, 0x02, 11: 1, 12: 0xff, 13: t16[13], 14: t16[14], 15: t16[15]})
	return ether([6]byte{0x33, 0x33, 0xff, t16[13], t16[14], t16[15]},
		ipv6(src, group, 58, 255, icmp(src, group, header.ICMPv6NeighborSolicit, body)))
}

// TestNeighbourSolicitation: the bridge answers solicitations for the
// virtual nodes' addresses (both prefixes, both modes) with a valid
// solicited advertisement carrying its MAC, and ignores the others
// (a real-side address, the port's own index, a DAD probe for another
// host).
func TestNeighbourSolicitation(t *testing.T) {
	for _, mode := range sim.Modes() {
		for _, tc := range []struct {
			name   string
			src    netip.Addr
			target netip.Addr
			answer bool
		}{
			{"ula node 0", realAddr, sim.Addr(0), true},
			{"link-local node 1", realLL, sim.LinkLocalAddr(1), true},
			{"the port's own index", realAddr, sim.Addr(2), false},
			{"a real address", realAddr, netip.MustParseAddr("fd00:6d73:696d::ff01"), false},
			{"other prefix", realAddr, netip.MustParseAddr("fd00:1::1"), false},
		} {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				_, b, tap := newBridge(t, mode, 2)
				b.Input(solicitation(tc.src, tc.target))
				if !tc.answer {
					if len(tap.out) != 0 {
						t.Fatalf("answered: % x", tap.out)
					}
					return
				}
				if len(tap.out) != 1 {
					t.Fatalf("%d frames written, want one advertisement", len(tap.out))
				}
				f := tap.out[0]
				if !bytes.Equal(f[0:6], realMAC[:]) || !bytes.Equal(f[6:12], DefaultMAC[:]) {
					t.Errorf("ethernet %x -> %x", f[6:12], f[0:6])
				}
				ip := header.IPv6(f[14:])
				if !ip.IsValid(len(ip)) || ip.HopLimit() != 255 || ip.SourceAddress() != tcpip.AddrFrom16(tc.target.As16()) ||
					ip.DestinationAddress() != tcpip.AddrFrom16(tc.src.As16()) {
					t.Fatalf("ipv6 header %x", f[14:54])
				}
				m := header.ICMPv6(ip.Payload())
				if m.Type() != header.ICMPv6NeighborAdvert {
					t.Fatalf("type %d", m.Type())
				}
				if got := checksum.Checksum(m, header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber,
					ip.SourceAddress(), ip.DestinationAddress(), uint16(len(m)))); got != 0xffff {
					t.Errorf("ICMPv6 checksum does not verify (%#x)", got)
				}
				na := header.NDPNeighborAdvert(m.MessageBody())
				if !na.SolicitedFlag() || !na.OverrideFlag() || na.TargetAddress() != tcpip.AddrFrom16(tc.target.As16()) {
					t.Errorf("advertisement flags/target: % x", m)
				}
				if opt := m.MessageBody()[20:]; opt[0] != 2 || opt[1] != 1 || !bytes.Equal(opt[2:8], DefaultMAC[:]) {
					t.Errorf("target link-layer option % x", opt)
				}
				if st := b.Stats(); st.NDAnswered != 1 || st.FramesIn != 0 || st.Neighbours != 1 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// TestEchoThroughBridge: an ICMPv6 echo request from the real side reaches
// a netstack node through the switch, and its reply leaves the port to the
// MAC learned from the request; with 100% loss on the port's links the
// request is dropped by the fault stage, as any frame.
func TestEchoThroughBridge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		loss  bool
		reply bool
	}{{"clean", false, true}, {"port link lossy", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			n, b, tap := newBridge(t, sim.ModeNetstack, 1)
			if tc.loss {
				n.SetLinkSpec(b.Port(), -1, fault.LossRandom{P: 1})
			}
			body := []byte{0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'}
			b.Input(ether(DefaultMAC, ipv6(realAddr, sim.Addr(0), 58, 64, icmp(realAddr, sim.Addr(0), header.ICMPv6EchoRequest, body))))
			n.Engine().RunFor(10 * time.Millisecond)
			if !tc.reply {
				if len(tap.out) != 0 {
					t.Fatalf("frames out through a lossy link: %d", len(tap.out))
				}
				if n.Stats().Dropped == 0 {
					t.Errorf("no drop counted")
				}
				return
			}
			if len(tap.out) != 1 {
				t.Fatalf("%d frames out, want the echo reply", len(tap.out))
			}
			f := tap.out[0]
			if !bytes.Equal(f[0:6], realMAC[:]) || binary.BigEndian.Uint16(f[12:14]) != 0x86dd {
				t.Fatalf("ethernet header % x", f[:14])
			}
			ip := header.IPv6(f[14:])
			m := header.ICMPv6(ip.Payload())
			if m.Type() != header.ICMPv6EchoReply || !bytes.Equal(m[4:], body) || ip.DestinationAddress() != tcpip.AddrFrom16(realAddr.As16()) {
				t.Errorf("reply % x", f[14:])
			}
			if st := b.Stats(); st.FramesIn != 1 || st.FramesOut != 1 || st.Unresolved != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestIgnored: frames that are not for the virtual nodes' stacks stay on
// the link.
func TestIgnored(t *testing.T) {
	_, b, tap := newBridge(t, sim.ModeDirect, 1)
	arp := append(append(append([]byte(nil), DefaultMAC[:]...), realMAC[:]...), 0x08, 0x06)
	arp = append(arp, make([]byte, 46)...)
	rs := ether([6]byte{0x33, 0x33, 0, 0, 0, 2}, ipv6(realLL, netip.MustParseAddr("ff02::2"), 58, 255,
		icmp(realLL, netip.MustParseAddr("ff02::2"), header.ICMPv6RouterSolicit, make([]byte, 4))))
	for _, f := range [][]byte{arp, rs, {1, 2, 3}} {
		b.Input(f)
	}
	if st := b.Stats(); st.Ignored != 3 || st.FramesIn != 0 || len(tap.out) != 0 {
		t.Errorf("stats %+v, %d out", st, len(tap.out))
	}
}

// FuzzInput: whatever arrives on the TAP, the bridge neither panics nor
// writes anything but a well-formed advertisement.
func FuzzInput(f *testing.F) {
	f.Add(solicitation(realAddr, sim.Addr(0)))
	f.Add(ether(DefaultMAC, ipv6(realAddr, sim.Addr(0), 58, 64, icmp(realAddr, sim.Addr(0), header.ICMPv6EchoRequest, []byte{1, 2, 3, 4}))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		n, b, tap := newBridge(t, sim.ModeNetstack, 1)
		b.Input(frame)
		n.Engine().RunFor(10 * time.Millisecond)
		for _, w := range tap.out {
			if len(w) < 14+40 || binary.BigEndian.Uint16(w[12:14]) != 0x86dd {
				t.Fatalf("malformed frame out: % x", w)
			}
		}
	})
}
