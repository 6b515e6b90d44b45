package sim

import (
	"encoding/binary"
	"io"

	"mattersim/clock"
)

// Pcap file constants. The file uses the nanosecond-resolution variant of the
// classic libpcap format (magic 0xa1b23c4d) so virtual timestamps survive
// exactly, and LINKTYPE_RAW (101): each record is a bare IPv6 packet, which is
// what the simulated links carry. Wireshark and tshark read it as is.
const (
	PcapMagicNanos  = 0xa1b23c4d
	PcapLinkTypeRaw = 101
	PcapSnapLen     = 65535
)

// Pcap writes a capture of the frames entering a switch. Timestamps are
// virtual time counted from the Unix epoch (1970-01-01T00:00:00Z = virtual
// time 0). The zero value is not usable; call NewPcap. Not safe for
// concurrent use.
type Pcap struct {
	w       io.Writer
	hdr     [16]byte
	err     error
	n       uint64
	rewrite func([]byte) []byte
	tee     *Pcap
}

// NewPcap writes the file header to w and returns the writer.
func NewPcap(w io.Writer) (*Pcap, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], PcapMagicNanos)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	// thiszone and sigfigs stay 0.
	binary.LittleEndian.PutUint32(h[16:], PcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], PcapLinkTypeRaw)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Pcap{w: w}, nil
}

// Packets returns the number of records written.
func (p *Pcap) Packets() uint64 { return p.n }

// Err returns the first write error, if any; later writes are skipped.
func (p *Pcap) Err() error { return p.err }

// SetRewrite makes p record rewrite(b) instead of each packet b (nil: b
// as is). rewrite must not modify b; its result is used before the next
// call. A plaintext capture is a Pcap whose rewrite is
// capture.Plaintexter.Rewrite.
func (p *Pcap) SetRewrite(rewrite func([]byte) []byte) { p.rewrite = rewrite }

// Tee makes every WritePacket on p also write the packet to q (through q's
// own rewrite), so one tap on the switch feeds two captures. q's write
// errors are q's: check q.Err too.
func (p *Pcap) Tee(q *Pcap) { p.tee = q }

// WritePacket appends one record for b captured at virtual time t (and
// hands b to the Tee). b is not retained.
func (p *Pcap) WritePacket(t clock.Time, b []byte) error {
	if p.tee != nil {
		_ = p.tee.WritePacket(t, b)
	}
	if p.err != nil {
		return p.err
	}
	if p.rewrite != nil {
		b = p.rewrite(b)
	}
	if t < 0 {
		t = 0
	}
	capLen := min(len(b), PcapSnapLen)
	binary.LittleEndian.PutUint32(p.hdr[0:], uint32(int64(t)/1e9))
	binary.LittleEndian.PutUint32(p.hdr[4:], uint32(int64(t)%1e9))
	binary.LittleEndian.PutUint32(p.hdr[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(p.hdr[12:], uint32(len(b)))
	if _, err := p.w.Write(p.hdr[:]); err != nil {
		p.err = err
		return err
	}
	if _, err := p.w.Write(b[:capLen]); err != nil {
		p.err = err
		return err
	}
	p.n++
	return nil
}
