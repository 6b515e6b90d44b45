// Package onboarding encodes the onboarding payload a user types or scans
// to commission a device (spec 5.1): the 11-digit manual pairing code
// (spec 5.1.4) and the "MT:" QR code (spec 5.1.3), following the SDK's
// src/setup_payload/ManualSetupPayloadGenerator.cpp and
// QRCodeSetupPayloadGenerator.cpp. Pure functions; no I/O.
package onboarding

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Discovery capabilities of the QR payload (spec 5.1.3.1, table
// "Discovery Capabilities Bitmask").
const (
	DiscoverySoftAP    uint8 = 1 << 0
	DiscoveryBLE       uint8 = 1 << 1
	DiscoveryOnNetwork uint8 = 1 << 2
)

// Payload is what the codes carry.
type Payload struct {
	VendorID, ProductID uint16
	Discovery           uint8  // Discovery* bits (QR code only)
	Discriminator       uint16 // 12 bits; the manual code carries the upper 4
	Passcode            uint32 // 27 bits
}

// ErrRange is returned for a field that does not fit its bits.
var ErrRange = errors.New("onboarding: field out of range")

func (p Payload) check() error {
	if p.Discriminator > 0xFFF {
		return fmt.Errorf("%w: discriminator %d exceeds 12 bits", ErrRange, p.Discriminator)
	}
	if p.Passcode == 0 || p.Passcode > 99999998 {
		return fmt.Errorf("%w: passcode %d not in 1..99999998", ErrRange, p.Passcode)
	}
	return nil
}

// Manual returns the 11-digit manual pairing code without vendor and
// product ids (spec 5.1.4.1, Table "Manual Pairing Code"): digit 1 the
// top two bits of the short discriminator, digits 2-6 its low two bits
// and the low 14 bits of the passcode, digits 7-10 the passcode's top 13
// bits, digit 11 the Verhoeff check digit (spec 5.1.4.2).
func (p Payload) Manual() (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	short := p.Discriminator >> 8 // the 4-bit short discriminator
	d1 := uint32(short >> 2)      // VID_PID_PRESENT (bit 2) clear
	d2 := uint32(short&3)<<14 | p.Passcode&0x3FFF
	d3 := p.Passcode >> 14
	s := fmt.Sprintf("%d%05d%04d", d1, d2, d3)
	return s + strconv.Itoa(verhoeff(s)), nil
}

// QR returns the QR code text, "MT:" and the base-38 packed payload (spec
// 5.1.3.1): version 0 (3 bits), vendor id (16), product id (16), custom
// flow 0, standard (2), discovery capabilities (8), discriminator (12),
// passcode (27), padding (4): 88 bits, least significant first.
func (p Payload) QR() (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	var b [11]byte
	off := 0
	put := func(v uint64, n int) {
		for i := range n {
			if v>>i&1 != 0 {
				b[(off+i)/8] |= 1 << ((off + i) % 8)
			}
		}
		off += n
	}
	put(0, 3)
	put(uint64(p.VendorID), 16)
	put(uint64(p.ProductID), 16)
	put(0, 2)
	put(uint64(p.Discovery), 8)
	put(uint64(p.Discriminator), 12)
	put(uint64(p.Passcode), 27)
	put(0, 4)
	return "MT:" + base38(b[:]), nil
}

const base38Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-."

// base38 encodes b three bytes (little-endian) to five characters at a
// time, a final two bytes to four and a final byte to two (spec 5.1.3.3).
func base38(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		n := min(3, len(b)-i)
		var v uint32
		for j := n - 1; j >= 0; j-- {
			v = v<<8 | uint32(b[i+j])
		}
		chars := [4]int{0, 2, 4, 5}[n]
		for range chars {
			sb.WriteByte(base38Chars[v%38])
			v /= 38
		}
	}
	return sb.String()
}

// Verhoeff tables (dihedral group D5 multiplication, permutation).
var (
	verhoeffD = [10][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	verhoeffInv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// verhoeff returns the check digit of the decimal string s.
func verhoeff(s string) int {
	c := 0
	for i := range len(s) {
		digit := int(s[len(s)-1-i] - '0')
		c = verhoeffD[c][verhoeffP[(i+1)%8][digit]]
	}
	return verhoeffInv[c]
}
