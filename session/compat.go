package session

// Adapters over the counter, status and params packages (helper C1). Until
// they land, these are small private stand-ins with the same semantics
// (spec 4.6.5; notes section 3.2).

import (
	"encoding/binary"
)

// verdict of a reception window check.
type verdict uint8

const (
	vNew verdict = iota + 1
	vDup
)

type windowPolicy uint8

const (
	policySecureUnicast windowPolicy = iota + 1
	policyUnencrypted
)

// window is a reception window (spec 4.6.5). Secure unicast starts at max 0
// with an empty bitmap; unencrypted starts unsynchronized.
type window struct {
	policy windowPolicy
	size   uint32
	synced bool
	max    uint32
	bits   uint32
}

func newWindow(p windowPolicy, size int) window {
	return window{policy: p, size: uint32(size), synced: p == policySecureUnicast}
}

func (w *window) verify(c uint32) verdict {
	if !w.synced {
		return vNew
	}
	if c == w.max {
		return vDup
	}
	d := c - w.max
	future := false
	if w.policy == policySecureUnicast {
		future = c > w.max
	} else {
		future = d >= 1 && d <= 1<<31-1
	}
	if future {
		return vNew
	}
	off := w.max - c
	if off >= 1 && off <= w.size {
		if w.bits&(1<<(off-1)) != 0 {
			return vDup
		}
		return vNew
	}
	if w.policy == policyUnencrypted {
		return vNew // peer reboot (spec 4.6.5.2)
	}
	return vDup
}

func (w *window) commit(c uint32) {
	if !w.synced {
		w.synced, w.max, w.bits = true, c, 0
		return
	}
	off := w.max - c
	inWin := off >= 1 && off <= w.size
	if w.policy == policySecureUnicast {
		inWin = c < w.max && off <= w.size
	} else if d := c - w.max; d >= 1 && d <= 1<<31-1 {
		inWin = false
	}
	if inWin {
		w.bits |= 1 << (off - 1)
		return
	}
	shift := c - w.max
	w.max = c
	if shift > 32 || shift == 0 {
		w.bits = 0
		return
	}
	w.bits = w.bits<<shift | 1<<(shift-1)
	if w.size < 32 {
		w.bits &= 1<<w.size - 1
	}
}

// outCounter is an outbound message counter (spec 4.5.1). A secure session
// counter never wraps: after 0xFFFFFFFF was used it is exhausted.
type outCounter struct {
	next      uint32
	wraps     bool
	exhausted bool
}

func (o *outCounter) take() (uint32, bool) {
	if o.exhausted {
		return 0, false
	}
	c := o.next
	o.next++
	if o.next == 0 && !o.wraps {
		o.exhausted = true
	}
	return c, true
}

// initCounter maps 32 random bits to [1, 2^28] (spec 4.5.1.1;
// connectedhomeip MessageCounter.h kMessageCounterRandomInitMask).
func initCounter(r uint32) uint32 { return r&0x0FFFFFFF + 1 }

// Status report constants (spec 4.10.1.2, 4.11.1.4).
const (
	generalSuccess        = 0
	protoCodeCloseSession = 3
)

func appendCloseSession(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, generalSuccess)
	b = binary.LittleEndian.AppendUint32(b, 0) // Secure Channel, vendor 0
	return binary.LittleEndian.AppendUint16(b, protoCodeCloseSession)
}

func isCloseSession(payload []byte) bool {
	if len(payload) < 8 {
		return false
	}
	return binary.LittleEndian.Uint16(payload) == generalSuccess &&
		binary.LittleEndian.Uint32(payload[2:]) == 0 &&
		binary.LittleEndian.Uint16(payload[6:]) == protoCodeCloseSession
}
