package counter

import (
	"encoding/binary"
	"io"
)

// Source supplies the random bits for a counter's initial value. A
// math/rand/v2 *rand.Rand satisfies it directly; wrap an io.Reader (for
// example crypto/rand.Reader or a seeded deterministic reader) with
// NewReaderSource.
type Source interface {
	Uint32() uint32
}

// InitMask keeps the low 28 bits of a random word; adding one gives the
// spec's initial range [1, 2^28] (spec 4.6.1.1; connectedhomeip
// src/transport/MessageCounter.h kMessageCounterRandomInitMask).
const InitMask = 0x0FFFFFFF

// InitialValue draws an initial counter value in [1, 2^28] from src.
func InitialValue(src Source) uint32 { return src.Uint32()&InitMask + 1 }

// ReaderSource adapts an io.Reader to Source. A read error is remembered
// (Err reports the first one) and Uint32 then returns 0, which InitialValue
// still maps into range; callers that care check Err after drawing. The
// zero value is not usable; it is not safe for concurrent use.
type ReaderSource struct {
	r   io.Reader
	err error
}

// NewReaderSource returns a Source reading 4 bytes per draw from r.
func NewReaderSource(r io.Reader) *ReaderSource { return &ReaderSource{r: r} }

// Uint32 reads a little-endian word from the reader.
func (s *ReaderSource) Uint32() uint32 {
	var b [4]byte
	if _, err := io.ReadFull(s.r, b[:]); err != nil {
		if s.err == nil {
			s.err = err
		}
		return 0
	}
	return binary.LittleEndian.Uint32(b[:])
}

// Err returns the first read error, or nil.
func (s *ReaderSource) Err() error { return s.err }
