package fault

import (
	"bytes"
	"math/bits"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
	"mattersim/session/message"
)

func TestDuplicateRate(t *testing.T) {
	res := run(t, Duplicate{P: 0.2}.New(), samples, 12, []byte{1})
	dups := 0
	for i, r := range res {
		require.NotEmpty(t, r)
		require.LessOrEqual(t, len(r), 2)
		for _, o := range r {
			require.Equal(t, uint64(i), o.P.ID)
			require.Zero(t, o.Delay)
		}
		if len(r) == 2 {
			dups++
		}
	}
	require.InDelta(t, 0.2, float64(dups)/samples, binomTol(0.2, samples))
}

func bitDiff(a, b []byte) (n, at int) {
	at = -1
	for i := range a {
		if d := bits.OnesCount8(a[i] ^ b[i]); d > 0 {
			n += d
			at = i
		}
	}
	return n, at
}

func TestCorrupt(t *testing.T) {
	frame := matterFrame(t, message.Header{SessionID: 0x1234, Counter: 7}, message.ProtocolHeader{}, make([]byte, 40))
	orig := append([]byte(nil), frame...)
	cases := []struct {
		scope    CorruptScope
		lo       int
		sumValid bool
	}{
		{CorruptPacket, 0, false},
		{CorruptPayload, udpPayloadOffset, false},
		{CorruptPayloadFixChecksum, udpPayloadOffset, true},
	}
	for _, c := range cases {
		t.Run(c.scope.String(), func(t *testing.T) {
			res := run(t, Corrupt{P: 1, Scope: c.scope}.New(), 2000, 13, frame)
			lowest := len(frame)
			for _, r := range res {
				require.Len(t, r, 1)
				got := r[0].P.Data
				if c.sumValid {
					// The checksum field (bytes 46-47) changed on purpose.
					require.Equal(t, frame[:46], got[:46])
					got = append(append(append([]byte(nil), got[:46]...), frame[46:48]...), got[48:]...)
				}
				n, at := bitDiff(frame, got)
				require.Equal(t, 1, n, "exactly one bit flipped")
				lowest = min(lowest, at)
				require.GreaterOrEqual(t, at, c.lo)
				if c.scope != CorruptPacket {
					require.Equal(t, c.sumValid, UDPChecksumValid(r[0].P.Data))
				}
			}
			if c.scope == CorruptPacket {
				require.Less(t, lowest, udpPayloadOffset, "netem scope reaches the headers")
			}
			require.Equal(t, orig, frame, "the input packet is never mutated")
		})
	}
	res := run(t, Corrupt{P: 0.1}.New(), samples, 14, frame)
	k := 0
	for _, r := range res {
		if !bytes.Equal(r[0].P.Data, frame) {
			k++
		}
	}
	require.InDelta(t, 0.1, float64(k)/samples, binomTol(0.1, samples))
	// Too short for a payload scope: passes unchanged.
	res = run(t, Corrupt{P: 1, Scope: CorruptPayload}.New(), 10, 15, []byte{0x60, 1, 2})
	require.Equal(t, []byte{0x60, 1, 2}, res[0][0].P.Data)
}

func TestRateQueue(t *testing.T) {
	// 1 Mbit/s, 1000-byte packets: 8 ms each. Ten arrive at once with a
	// 4-packet queue: four leave at 8, 16, 24, 32 ms, the rest are dropped.
	s := Rate{Bits: 1_000_000, Limit: 4}.New()
	rng := newRNG(1)
	data := make([]byte, 1000)
	var got []time.Duration
	drops := 0
	for range 10 {
		out, d := s.Apply(0, pkt(data), rng, nil)
		if len(out) == 0 {
			require.Equal(t, "queue full", d.Reason)
			require.Equal(t, "rate 1Mbit limit 4", d.Stage)
			drops++
			continue
		}
		got = append(got, out[0].Delay)
	}
	require.Equal(t, []time.Duration{8e6, 16e6, 24e6, 32e6}, got)
	require.Equal(t, 6, drops)
	// At 8 ms the first has left: one slot frees, the new packet waits
	// behind the other three and leaves at 40 ms.
	out, _ := s.Apply(clock.Time(8e6), pkt(data), rng, nil)
	require.Len(t, out, 1)
	require.Equal(t, 32*time.Millisecond, out[0].Delay)
	// After the queue drains the link is idle again.
	out, _ = s.Apply(clock.Time(100e6), pkt(data), rng, nil)
	require.Equal(t, 8*time.Millisecond, out[0].Delay)
}

func TestRateThroughput(t *testing.T) {
	// Offer 2 Mbit/s (500 B every 2 ms) to a 1 Mbit/s link for 10 s:
	// delivered throughput is the link rate and about half is dropped.
	const n = 5000
	s := Rate{Bits: 1_000_000, Overhead: 0, Limit: 10}.New()
	rng := newRNG(2)
	data := make([]byte, 250)
	var lastDone clock.Time
	delivered := 0
	for i := range n {
		now := clock.Time(i) * 1e6
		out, _ := s.Apply(now, pkt(data), rng, nil)
		if len(out) == 1 {
			delivered++
			lastDone = now.Add(out[0].Delay)
		}
	}
	bps := float64(delivered*250*8) / lastDone.Duration().Seconds()
	require.InDelta(t, 1e6, bps, 1e6*0.01)
	require.InDelta(t, n/2, delivered, n*0.01)
}

func TestRateOverheadAndString(t *testing.T) {
	s := Rate{Bits: 8000, Overhead: 24}.New() // 1 kB/s
	out, _ := s.Apply(0, pkt(make([]byte, 76)), newRNG(1), nil)
	require.Equal(t, 100*time.Millisecond, out[0].Delay)
	require.Equal(t, "rate 8Kbit 24 limit 1000", s.String())
	require.Equal(t, "rate 250Kbit limit 1000", Rate{Bits: 250_000}.String())
	require.Equal(t, "1500bit", FormatBits(1500))
	out, _ = Rate{}.New().Apply(0, pkt(make([]byte, 76)), newRNG(1), nil)
	require.Zero(t, out[0].Delay, "zero Rate is unlimited")
}

func TestMTU(t *testing.T) {
	s := MTU{Bytes: 1280}.New()
	out, d := s.Apply(0, pkt(make([]byte, 1280)), newRNG(1), nil)
	require.Len(t, out, 1)
	require.False(t, d.Dropped())
	out, d = s.Apply(0, pkt(make([]byte, 1281)), newRNG(1), nil)
	require.Empty(t, out)
	require.Equal(t, Drop{Stage: "mtu 1280", Reason: "mtu"}, d)
	require.Equal(t, "mtu (mtu 1280)", d.String())
}

func TestChain(t *testing.T) {
	// Empty chain: pass.
	out, d := Chain(nil).Apply(5, pkt([]byte{1}), newRNG(1), nil)
	require.Equal(t, []Out{{P: pkt([]byte{1})}}, out)
	require.False(t, d.Dropped())
	require.Equal(t, "pass", Chain(nil).String())

	// Delays accumulate and later stages see the time the packet reaches
	// them: a rate stage after a 10 ms delay.
	c := Specs{Delay{Delay: 10 * time.Millisecond}, Duplicate{P: 1}, Rate{Bits: 8_000_000}}.New().(Chain)
	out, _ = c.Apply(0, pkt(make([]byte, 1000)), newRNG(1), []Out{{Delay: 42}})
	require.Len(t, out, 3, "appends after existing outputs")
	require.Equal(t, time.Duration(42), out[0].Delay, "caller's outputs untouched")
	require.Equal(t, []time.Duration{11 * time.Millisecond, 12 * time.Millisecond}, []time.Duration{out[1].Delay, out[2].Delay})
	require.Equal(t, "delay 10ms | duplicate 100% | rate 8Mbit limit 1000", c.String())

	// Everything lost: the last drop is reported.
	c = Chain{Duplicate{P: 1}.New(), LossRandom{P: 1}.New()}
	out, d = c.Apply(0, pkt([]byte{1}), newRNG(1), nil)
	require.Empty(t, out)
	require.Equal(t, "loss", d.Reason)
	require.Equal(t, "loss random 100%", d.Stage)

	// A drop after which nothing runs: later stages see nothing.
	c = Chain{MTU{Bytes: 1}.New(), Duplicate{P: 1}.New()}
	out, d = c.Apply(0, pkt([]byte{1, 2}), newRNG(1), nil)
	require.Empty(t, out)
	require.Equal(t, "mtu", d.Reason)
}

func TestSpecsFreshState(t *testing.T) {
	spec := Specs{Rate{Bits: 8000, Limit: 1}}
	a, b := spec.New(), spec.New()
	out, _ := a.Apply(0, pkt(make([]byte, 100)), newRNG(1), nil)
	require.Len(t, out, 1)
	out, _ = a.Apply(0, pkt(make([]byte, 100)), newRNG(1), nil)
	require.Empty(t, out, "a's queue is full")
	out, _ = b.Apply(0, pkt(make([]byte, 100)), newRNG(1), nil)
	require.Len(t, out, 1, "b has its own queue")
	require.Equal(t, "rate 8Kbit limit 1", spec.String())
	require.Equal(t, "pass", Specs(nil).String())
}

// Same seed → same verdict sequence; another seed → another one.
func TestDeterminism(t *testing.T) {
	spec := Specs{
		Duplicate{P: 0.05, Corr: 0.2},
		LossGE{P: 0.02, R: 0.25, LossBad: 0.9, LossGood: 0.01},
		LossState{P13: 0.01, P31: 0.4, P32: 0.1, P23: 0.3, P14: 0.005},
		LossRandom{P: 0.02, Corr: 0.3},
		Corrupt{P: 0.05, Scope: CorruptPayloadFixChecksum},
		Delay{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Corr: 0.25, Dist: ParetoNormal, Reorder: 0.1, Gap: 3},
		Rate{Bits: 1_000_000, Limit: 20},
	}
	frame := matterFrame(t, message.Header{SessionID: 9, Counter: 1}, message.ProtocolHeader{}, make([]byte, 60))
	trace := func(seed uint64) []string {
		c := spec.New()
		rng := newRNG(seed)
		var lines []string
		var out []Out
		for i := range 20000 {
			var d Drop
			out, d = c.Apply(clock.Time(i)*1e5, Packet{Data: frame, ID: uint64(i)}, rng, out[:0])
			line := d.String()
			for _, o := range out {
				line += " " + o.Delay.String() + ":" + string(o.P.Data[len(o.P.Data)-4:])
			}
			lines = append(lines, line)
		}
		return lines
	}
	a, b, c := trace(42), trace(42), trace(43)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
}

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		s    Spec
		want string
	}{
		{LossRandom{P: 0.01}, "loss random 1%"},
		{LossRandom{P: 0.005, Corr: 0.25}, "loss random 0.5% 25%"},
		{LossGE{P: 0.01, R: 0.3, LossBad: 1}, "loss gemodel p 1% r 30% 1-h 100% 1-k 0%"},
		{StateDefaults(0.1), "loss state p13 10% p31 90% p32 0% p23 100% p14 0%"},
		{Delay{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond}, "delay 100ms 10ms distribution uniform"},
		{Duplicate{P: 0.01}, "duplicate 1%"},
		{Corrupt{P: 0.001, Scope: CorruptPayloadFixChecksum}, "corrupt 0.1% scope payload-fixsum"},
		{MTU{Bytes: 1280}, "mtu 1280"},
		{Filter{Match: Match{From: []int{1}, Multicast: No}, Stage: LossRandom{P: 1}}, "filter from 1 unicast { loss random 100% }"},
	} {
		require.Equal(t, c.want, c.s.String())
		require.Equal(t, c.want, c.s.New().String(), "stage and spec describe themselves alike")
	}
}
