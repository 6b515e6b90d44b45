package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// NoNode is the node index for streams that belong to no node (the switch,
// the workload driver, scenario scripts).
const NoNode = -1

// Seeds derives independent random streams from a run's root seed, one per
// (node, purpose) pair (house style 4). Each stream is seeded by hashing
// (root, node, purpose), so adding a node or a new consumer never shifts
// another stream. The zero value is a valid tree for root 0; it is a plain
// value, safe to copy and to use concurrently (streams themselves are not).
type Seeds struct {
	Root uint64
}

// key hashes (root, node, purpose) to 32 bytes. SHA-256 is used only as a
// well-mixed, stable hash; streams are made at setup, not per packet.
func (s Seeds) key(node int, purpose string) [32]byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], s.Root)
	binary.LittleEndian.PutUint64(b[8:], uint64(int64(node)))
	h := sha256.New()
	h.Write([]byte("mattersim/sim.Seeds\x00"))
	h.Write(b[:])
	h.Write([]byte(purpose))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// PCG returns the PCG source of stream (node, purpose).
func (s Seeds) PCG(node int, purpose string) *rand.PCG {
	k := s.key(node, purpose)
	return rand.NewPCG(binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:16]))
}

// Stream returns a generator for stream (node, purpose). Two calls with the
// same arguments return independent generators producing the same numbers.
func (s Seeds) Stream(node int, purpose string) *rand.Rand {
	return rand.New(s.PCG(node, purpose))
}

// ChaCha8 returns a deterministic byte stream for (node, purpose), used
// where code wants an io.Reader of "secure" randomness in a simulation (the
// netstack's SecureRNG, simulated key material). It is not secret: anyone
// with the seed can reproduce it. Test and simulation use only.
func (s Seeds) ChaCha8(node int, purpose string) *rand.ChaCha8 {
	return rand.NewChaCha8(s.key(node, purpose))
}

// pcgSource adapts a math/rand/v2 PCG to the math/rand v1 Source interface
// that gVisor's stack.Options.RandSource expects, in 16 bytes instead of the
// ~5 KiB of a v1 source.
type pcgSource struct{ p rand.PCG }

func (s *pcgSource) Int63() int64    { return int64(s.p.Uint64() >> 1) }
func (s *pcgSource) Seed(seed int64) { s.p.Seed(uint64(seed), 0) }
func (s *pcgSource) Uint64() uint64  { return s.p.Uint64() }
