package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Frame is one captured packet, decoded down to UDP when it is UDP over
// IPv4 or IPv6. A plain value; Payload aliases the Reader's buffer until
// the next call to Next.
type Frame struct {
	Index  int       // 1-based position in the file
	Time   time.Time // capture timestamp (mattersim: the Unix epoch + virtual time)
	Length int       // original length on the wire
	// UDP: the datagram's endpoints and payload. Src and Dst are valid
	// only when UDP is true.
	UDP      bool
	Src, Dst netip.AddrPort
	Payload  []byte
	// Note says what the frame is when it is not UDP, or that it was
	// truncated by the capture's snap length.
	Note string
}

// Reader reads the frames of a capture: classic pcap (microsecond or
// nanosecond, either byte order, as mattersim writes) or pcapng (as
// Wireshark saves), of any link type gopacket decodes (raw IP, Ethernet,
// Linux cooked, loopback...). Not safe for concurrent use.
type Reader struct {
	next     func() ([]byte, gopacket.CaptureInfo, error)
	linkType layers.LinkType
	n        int
}

// pcapng section header block type (pcapng draft, section 4.1).
const pcapngMagic = 0x0A0D0D0A

// NewReader reads the capture header from r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("capture: not a capture file: %w", err)
	}
	if binary.LittleEndian.Uint32(head) == pcapngMagic {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("capture: pcapng: %w", err)
		}
		return &Reader{next: ng.ReadPacketData, linkType: ng.LinkType()}, nil
	}
	p, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("capture: not a pcap or pcapng file: %w", err)
	}
	return &Reader{next: p.ReadPacketData, linkType: p.LinkType()}, nil
}

// LinkType returns the capture's link type (LINKTYPE_RAW, 101, for
// mattersim's).
func (r *Reader) LinkType() layers.LinkType { return r.linkType }

// Next returns the next frame, or io.EOF after the last one.
func (r *Reader) Next() (Frame, error) {
	data, ci, err := r.next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Frame{}, fmt.Errorf("capture: frame %d: file ends inside it", r.n+1)
			}
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("capture: frame %d: %w", r.n+1, err)
	}
	r.n++
	f := Frame{Index: r.n, Time: ci.Timestamp, Length: ci.Length}
	pkt := gopacket.NewPacket(data, r.linkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var src, dst netip.Addr
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
	default:
		f.Note = "not IP"
		if l := pkt.Layers(); len(l) > 0 {
			f.Note = "not IP: " + l[len(l)-1].LayerType().String()
		}
		return f, nil
	}
	udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		f.Note = "IP, not UDP"
		if l := pkt.Layers(); len(l) > 1 {
			f.Note = "IP, not UDP: " + l[len(l)-1].LayerType().String()
		}
		if e := pkt.ErrorLayer(); e != nil {
			f.Note = "IP, undecodable: " + e.Error().Error()
		}
		return f, nil
	}
	f.UDP = true
	f.Src = netip.AddrPortFrom(src, uint16(udp.SrcPort))
	f.Dst = netip.AddrPortFrom(dst, uint16(udp.DstPort))
	f.Payload = udp.Payload
	if ci.CaptureLength < ci.Length {
		f.Note = fmt.Sprintf("truncated by the capture: %d of %d bytes", ci.CaptureLength, ci.Length)
	}
	return f, nil
}
