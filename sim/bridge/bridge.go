// Package bridge attaches the simulator's switch to a real Ethernet link
// through a Linux TAP interface, and runs the engine in real time.
//
// The switch is an L3 switch (sim.Network): its frames are bare IPv6
// packets and its nodes do no neighbour discovery. The bridge is the
// switch's external port (sim.Network.AddPort): it strips the Ethernet
// header of what arrives on the TAP and puts the IPv6 packet into the
// switch, and wraps what the switch routes to the port in an Ethernet
// header to the neighbour's learned MAC address (RFC 2464 section 7 for
// multicast). It answers IPv6 neighbour solicitations for every virtual
// node's addresses itself (RFC 4861 section 7.2.4), with its own MAC, in
// both network modes, and learns the real side's addresses from the source
// of the frames it receives: nothing on the real side is configured.
//
// Everything the bridge does runs on the engine's goroutine except the
// blocking TAP read, which only hands frames over a channel (Run).
package bridge

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/sim"
)

// DefaultMAC is the bridge's Ethernet address: locally administered,
// unicast (IEEE 802 bit 1 of the first octet set, bit 0 clear).
var DefaultMAC = [6]byte{0x02, 0x6d, 0x73, 0x69, 0x6d, 0x01}

// Stats counts what the bridge did.
type Stats struct {
	FramesIn    uint64 // IPv6 frames from the TAP put into the switch
	FramesOut   uint64 // frames the switch routed to the port, written to the TAP
	NDAnswered  uint64 // neighbour solicitations answered for virtual nodes
	Ignored     uint64 // frames from the TAP not put into the switch (not IPv6, NDP, MLD, runt)
	Neighbours  int    // real-side addresses learned
	WriteErrors uint64 // frames the TAP refused
	Unresolved  uint64 // unicast frames to an address not learned (sent to the broadcast MAC)
}

// Bridge is the switch's external port on a TAP. The zero value is not
// usable; call New. Not safe for concurrent use: it runs on the engine's
// goroutine (Run).
type Bridge struct {
	net   *sim.Network
	port  *sim.Node
	dev   io.ReadWriter
	name  string
	mac   [6]byte
	neigh map[[16]byte][6]byte
	wbuf  []byte
	stats Stats
}

// New adds the bridge to n as its external port on dev (a *Tap, or any
// reader and writer of whole Ethernet frames, one per call). name is the
// interface's name, for the trace. Add it after every virtual node.
func New(n *sim.Network, dev io.ReadWriter, name string) (*Bridge, error) {
	b := &Bridge{net: n, dev: dev, name: name, mac: DefaultMAC, neigh: make(map[[16]byte][6]byte)}
	port, err := n.AddPort(b)
	if err != nil {
		return nil, err
	}
	b.port = port
	return b, nil
}

// Port returns the port's node index in the switch: the index that
// partitions, link faults and the trace use for the real side.
func (b *Bridge) Port() int { return b.port.Index() }

// MAC returns the bridge's Ethernet address.
func (b *Bridge) MAC() net.HardwareAddr { return net.HardwareAddr(b.mac[:]) }

// Stats returns the counters.
func (b *Bridge) Stats() Stats {
	s := b.stats
	s.Neighbours = len(b.neigh)
	return s
}

// Neighbours returns the learned real-side addresses.
func (b *Bridge) Neighbours() map[netip.Addr]net.HardwareAddr {
	out := make(map[netip.Addr]net.HardwareAddr, len(b.neigh))
	for a, m := range b.neigh {
		out[netip.AddrFrom16(a)] = net.HardwareAddr(append([]byte(nil), m[:]...))
	}
	return out
}

const (
	etherHeaderLen = 14
	etherTypeIPv6  = 0x86dd
)

// virtual reports whether a is an address of a virtual node (not the
// port's own).
func (b *Bridge) virtual(a [16]byte) bool {
	pfx := netip.AddrFrom16(a)
	if !sim.ULAPrefix.Contains(pfx) && !(sim.LinkLocalPrefix.Contains(pfx) && pfx.Zone() == "") {
		return false
	}
	iid := binary.BigEndian.Uint64(a[8:])
	return iid >= 1 && iid <= uint64(b.port.Index())
}

// WriteFrame implements sim.Port: the switch routed data (an IPv6 packet)
// to the real side.
func (b *Bridge) WriteFrame(now clock.Time, data []byte) {
	if len(data) < 40 {
		return
	}
	var dstMAC [6]byte
	dst := [16]byte(data[24:40])
	if dst[0] == 0xff {
		dstMAC = [6]byte{0x33, 0x33, dst[12], dst[13], dst[14], dst[15]}
	} else if m, ok := b.neigh[dst]; ok {
		dstMAC = m
	} else {
		dstMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		b.stats.Unresolved++
	}
	if b.writeEther(dstMAC, data) {
		b.stats.FramesOut++
	}
}

func (b *Bridge) writeEther(dstMAC [6]byte, ip []byte) bool {
	w := append(b.wbuf[:0], dstMAC[:]...)
	w = append(w, b.mac[:]...)
	w = binary.BigEndian.AppendUint16(w, etherTypeIPv6)
	w = append(w, ip...)
	b.wbuf = w
	if _, err := b.dev.Write(w); err != nil {
		b.stats.WriteErrors++
		return false
	}
	return true
}

// Input takes one Ethernet frame that arrived on the TAP, at the engine's
// current instant: it learns the sender, answers a neighbour solicitation
// for a virtual node, and puts any other IPv6 packet into the switch.
func (b *Bridge) Input(frame []byte) {
	if len(frame) < etherHeaderLen+40 || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIPv6 {
		b.stats.Ignored++
		return
	}
	srcMAC := [6]byte(frame[6:12])
	ip := frame[etherHeaderLen:]
	if ip[0]>>4 != 6 {
		b.stats.Ignored++
		return
	}
	if plen := int(binary.BigEndian.Uint16(ip[4:6])); 40+plen <= len(ip) {
		ip = ip[:40+plen] // drop Ethernet padding
	}
	src := [16]byte(ip[8:24])
	if srcMAC[0]&1 == 0 && src != ([16]byte{}) && src[0] != 0xff && !b.virtual(src) {
		if old, ok := b.neigh[src]; !ok || old != srcMAC {
			b.neigh[src] = srcMAC
			if tr := b.net.Engine().Trace(); tr != nil {
				tr.Event(b.net.Engine().Now(), b.Port(), "bridge-neighbour",
					sim.Str("addr", netip.AddrFrom16(src).String()), sim.Str("mac", net.HardwareAddr(srcMAC[:]).String()))
			}
		}
	}
	if ip[6] == 58 && len(ip) >= 41 { // ICMPv6, no extension header
		switch ip[40] {
		case 135: // neighbour solicitation
			b.answerNS(srcMAC, ip)
			return
		case 133, 134, 136, 137, 143, 130, 131, 132:
			// Router/neighbour discovery and MLD belong to the link, not to
			// the virtual nodes (their stacks do neither).
			b.stats.Ignored++
			return
		}
	}
	if ip[6] == 0 { // hop-by-hop options: MLD reports carry one
		b.stats.Ignored++
		return
	}
	b.stats.FramesIn++
	b.net.PortInput(append([]byte(nil), ip...))
}

// answerNS answers a neighbour solicitation (RFC 4861 section 4.3) whose
// target is a virtual node's address with a solicited, override
// advertisement (section 4.4) carrying the bridge's MAC.
func (b *Bridge) answerNS(srcMAC [6]byte, ip []byte) {
	icmp := ip[40:]
	if len(icmp) < 24 || ip[7] != 255 {
		b.stats.Ignored++
		return
	}
	target := [16]byte(icmp[8:24])
	if !b.virtual(target) {
		b.stats.Ignored++
		return
	}
	src := [16]byte(ip[8:24])
	dst := src
	flags := byte(0x60) // solicited, override
	dstMAC := srcMAC
	if src == ([16]byte{}) { // DAD probe: answer to all-nodes, not solicited
		dst = [16]byte{0xff, 0x02, 15: 1}
		flags = 0x20
		dstMAC = [6]byte{0x33, 0x33, 0, 0, 0, 1}
	}
	na := make([]byte, 40+32)
	na[0] = 0x60
	binary.BigEndian.PutUint16(na[4:6], 32)
	na[6], na[7] = 58, 255
	copy(na[8:24], target[:])
	copy(na[24:40], dst[:])
	m := na[40:]
	m[0] = 136
	m[4] = flags
	copy(m[8:24], target[:])
	m[24], m[25] = 2, 1 // target link-layer address option
	copy(m[26:32], b.mac[:])
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(target, dst, m))
	b.stats.NDAnswered++
	if tr := b.net.Engine().Trace(); tr != nil {
		tr.Event(b.net.Engine().Now(), b.Port(), "bridge-nd",
			sim.Str("target", netip.AddrFrom16(target).String()), sim.Str("dst", netip.AddrFrom16(dst).String()))
	}
	b.writeEther(dstMAC, na)
}

// icmpv6Checksum is the ICMPv6 checksum over the IPv6 pseudo-header (RFC
// 8200 section 8.1) and msg, whose checksum field is zero.
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var ph [8]byte
	binary.BigEndian.PutUint32(ph[0:4], uint32(len(msg)))
	ph[7] = 58
	add(ph[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TraceFlushEvery is how often Run flushes the engine's trace (at the
// next wake-up after it has passed), so the trace of a bridged run can be
// read while it runs.
const TraceFlushEvery = 200 * time.Millisecond

// Run runs the engine in real time until ctx is done, for (if positive)
// has passed, or the TAP fails: the virtual clock follows the wall clock
// from the engine's current instant, and the loop sleeps until the next
// event falls due or a frame arrives, whichever first. A frame is put into
// the switch at the instant it was taken from the TAP. The run is
// deterministic given its seed only up to what arrives from outside; the
// trace says so in a "realtime" line at the start.
func (b *Bridge) Run(ctx context.Context, dur time.Duration) error {
	e := b.net.Engine()
	if tr := e.Trace(); tr != nil {
		tr.Event(e.Now(), b.Port(), "realtime",
			sim.Str("tap", b.name),
			sim.Str("note", "real-time mode: the clock follows wall time and frames from the tap are outside input; this run is not reproducible from its seed"))
	}
	frames := make(chan []byte, 512)
	errc := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := b.dev.Read(buf)
			if err != nil {
				select {
				case errc <- err:
				case <-done:
				}
				return
			}
			f := append([]byte(nil), buf[:n]...)
			select {
			case frames <- f:
			case <-done:
				return
			}
		}
	}()
	start := time.Now()
	base := e.Now()
	vnow := func() clock.Time { return base.Add(time.Since(start)) }
	end := clock.Never
	if dur > 0 {
		end = base.Add(dur)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastFlush := time.Now()
	for {
		if tr := e.Trace(); tr != nil && time.Since(lastFlush) >= TraceFlushEvery {
			_ = tr.Flush() // a live run's trace can be followed as it grows
			lastFlush = time.Now()
		}
		now := vnow()
		if now >= end {
			e.RunUntil(end)
			return nil
		}
		e.RunUntil(now)
		wait := time.Hour
		if nx := min(e.Next(), end); nx != clock.Never {
			wait = max(nx.Sub(vnow()), 0)
		}
		timer.Reset(wait)
		select {
		case f := <-frames:
			e.RunUntil(vnow())
			b.Input(f)
			for more := true; more; { // take what else has arrived meanwhile
				select {
				case f = <-frames:
					b.Input(f)
				default:
					more = false
				}
			}
		case <-timer.C:
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bridge: tap %s: read: %w", b.name, err)
		}
	}
}
