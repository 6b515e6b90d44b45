package fault

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"mattersim/clock"
	"mattersim/session/message"
)

var (
	addrA = netip.MustParseAddr("fd00:6d73:696d::1")
	addrB = netip.MustParseAddr("fd00:6d73:696d::2")
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6d617474)) }

// matterFrame builds an IPv6/UDP frame carrying a Matter message with the
// given header; for unsecured headers a protocol header ph and payload
// follow in clear, for secure ones opaque bytes plus a 16-byte "MIC".
func matterFrame(t testing.TB, h message.Header, ph message.ProtocolHeader, payload []byte) []byte {
	t.Helper()
	b := h.Append(nil)
	if h.IsSecure() {
		// Stand-in ciphertext: an observer cannot read it anyway.
		b = append(b, make([]byte, 6+len(payload)+message.MICSize)...)
	} else {
		b = ph.Append(b)
		b = append(b, payload...)
	}
	return BuildUDP6(addrA, addrB, 5540, 5540, b)
}

func pkt(data []byte) Packet { return Packet{Data: data, From: 0, To: 1} }

// run pushes n packets through s at 1 ms spacing and returns, per packet,
// the outputs (nil = dropped).
func run(t testing.TB, s Stage, n int, seed uint64, data []byte) [][]Out {
	t.Helper()
	rng := newRNG(seed)
	res := make([][]Out, n)
	var buf []Out
	for i := range n {
		p := pkt(data)
		p.ID = uint64(i)
		var d Drop
		buf, d = s.Apply(clock.Time(i)*1e6, p, rng, buf[:0])
		if len(buf) == 0 {
			if !d.Dropped() {
				t.Fatalf("packet %d vanished without a Drop", i)
			}
		} else {
			if d.Dropped() {
				t.Fatalf("packet %d passed with Drop %v", i, d)
			}
			res[i] = append([]Out(nil), buf...)
		}
	}
	return res
}

func lossRate(res [][]Out) float64 {
	lost := 0
	for _, r := range res {
		if r == nil {
			lost++
		}
	}
	return float64(lost) / float64(len(res))
}

// binomTol is 5 standard deviations of a proportion p over n samples.
func binomTol(p float64, n int) float64 { return 5 * math.Sqrt(p*(1-p)/float64(n)) }

func meanSD(x []float64) (float64, float64) {
	var s, s2 float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	for _, v := range x {
		s2 += (v - m) * (v - m)
	}
	return m, math.Sqrt(s2 / float64(len(x)-1))
}

func lag1(x []float64) float64 {
	m, sd := meanSD(x)
	var c float64
	for i := 1; i < len(x); i++ {
		c += (x[i] - m) * (x[i-1] - m)
	}
	return c / float64(len(x)-1) / (sd * sd)
}
