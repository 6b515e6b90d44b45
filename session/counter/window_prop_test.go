package counter

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// model is a deliberately naive reception window: a set of seen counters
// plus the spec rules (spec 4.6.5-4.6.7), written
// with int64 arithmetic instead of uint32 wrap-around and a map instead of
// a shifted bitmap. Counters that fall out of the window are pruned from
// the set, as the spec's window forgets them.
//
// The window's initialisation (spec 4.6.5.4 all ones, or the SDK's empty
// bitmap) is modelled as which counters below a trusted one start in the
// seen set, and a synchronization point (SyncNext) as a max that is not in
// the seen set.
type model struct {
	policy Policy
	size   int64
	init   Init
	synced bool
	max    int64
	seen   map[int64]bool
}

const two32 = int64(1) << 32

func newModel(p Policy, size int, init Init) *model {
	m := &model{policy: p, size: int64(size), init: init.Resolve(p), seen: map[int64]bool{}}
	if p == PolicySecureUnicast {
		// SDK: a secure session starts at max 0, which counts as seen.
		m.synced, m.max, m.seen[0] = true, 0, true
	}
	return m
}

func wrap(c int64) int64 { return (c%two32 + two32) % two32 }

// trust synchronizes on c as a trusted first counter does.
func (m *model) trust(c int64) {
	m.synced, m.max = true, c
	m.seen = map[int64]bool{c: true}
	if m.init == InitSpec {
		for i := int64(1); i <= m.size; i++ {
			m.seen[wrap(c-i)] = true
		}
	}
}

// syncNext models a synchronization point: next is the peer's next counter.
func (m *model) syncNext(next int64, init Init) {
	if init == InitDefault {
		init = m.init
	}
	m.synced, m.max = true, wrap(next-1)
	m.seen = map[int64]bool{}
	if init == InitSpec {
		for i := int64(0); i <= m.size; i++ {
			m.seen[wrap(m.max-i)] = true
		}
		return
	}
	m.seen[wrap(m.max-m.size)] = true // the one just out of reach stays closed
}

// ahead is the forward distance from max to c; behind the backward one.
func (m *model) ahead(c int64) int64  { return ((c-m.max)%two32 + two32) % two32 }
func (m *model) behind(c int64) int64 { return ((m.max-c)%two32 + two32) % two32 }

func (m *model) classify(c int64) Verdict {
	if !m.synced {
		return First
	}
	if c == m.max {
		if m.seen[c] {
			return Duplicate
		}
		return InWindow // a synchronization point's open max
	}
	if m.policy == PolicySecureUnicast {
		if c > m.max {
			return Future
		}
	} else if d := m.ahead(c); d >= 1 && d <= two32/2-1 {
		return Future
	}
	if b := m.behind(c); b >= 1 && b <= m.size {
		if m.seen[c] {
			return Duplicate
		}
		return InWindow
	}
	if m.policy == PolicyUnencrypted {
		return Reset
	}
	return BehindWindow
}

func (m *model) commit(c int64) {
	switch m.classify(c) {
	case First:
		m.trust(c)
	case Reset:
		m.synced, m.max = true, c
		m.seen = map[int64]bool{c: true}
	case InWindow:
		m.seen[c] = true
	case Future:
		m.max = c
		m.seen[c] = true
		for x := range m.seen {
			if m.behind(x) > m.size {
				delete(m.seen, x)
			}
		}
	}
}

// bitmap renders the model's seen set in the SDK bitmap convention.
func (m *model) bitmap() uint64 {
	var b uint64
	for i := int64(0); i < m.size; i++ {
		x := ((m.max-1-i)%two32 + two32) % two32
		if m.seen[x] {
			b |= 1 << i
		}
	}
	return b
}

// traffic generates a random interleaving of in-order sends, reordering,
// re-deliveries, jumps, counter wraps, peer reboots and random junk.
type traffic struct {
	rng  *rand.Rand
	next uint32
	sent []uint32
}

func (g *traffic) pick(policy Policy) uint32 {
	r := g.rng
	var c uint32
	switch op := r.IntN(100); {
	case op < 45: // in order
		c = g.next
		g.next++
	case op < 60 && len(g.sent) > 0: // re-delivery of a recent counter
		c = g.sent[len(g.sent)-1-r.IntN(min(len(g.sent), 80))]
	case op < 75: // reordered: a little ahead or behind
		c = g.next + uint32(r.IntN(140)) - 70
	case op < 82: // jump ahead
		j := uint32(r.IntN(200))
		if policy != PolicySecureUnicast && r.IntN(4) == 0 {
			j = 1<<31 - 3 + uint32(r.IntN(6)) // around the half range
		}
		g.next += j
		c = g.next
		g.next++
	case op < 87: // sit just below the wrap
		g.next = 0xFFFFFFFF - uint32(r.IntN(40))
		c = g.next
		g.next++
	case op < 92: // peer reboot: new random counter
		g.next = r.Uint32()&InitMask + 1
		c = g.next
		g.next++
	default: // junk
		c = r.Uint32()
	}
	g.sent = append(g.sent, c)
	return c
}

// TestWindowMatchesNaiveModel drives Window and the naive model with the
// same random traffic, under both initialisations; for rollover policies
// every run also starts from a synchronization point (SyncNext) now and
// then, as a message counter synchronization response does.
func TestWindowMatchesNaiveModel(t *testing.T) {
	for _, p := range []Policy{PolicySecureUnicast, PolicyGroup, PolicyUnencrypted} {
		for _, size := range []int{1, 2, 5, 16, 31, 32, 33, 63, 64} {
			for seed := uint64(1); seed <= 4; seed++ {
				init := []Init{InitSpec, InitSDK}[seed%2]
				t.Run(fmt.Sprintf("%s/size=%d/init=%s/seed=%d", p, size, init, seed), func(t *testing.T) {
					w, err := NewWindowInit(p, size, init)
					require.NoError(t, err)
					m := newModel(p, size, init)
					g := &traffic{rng: rand.New(rand.NewPCG(seed, uint64(size)<<8|uint64(p)))}
					g.next = g.rng.Uint32()&InitMask + 1
					counts := map[Verdict]int{}
					for step := 0; step < 4000; step++ {
						if p != PolicySecureUnicast && g.rng.IntN(500) == 0 {
							// A synchronization point just ahead of the traffic.
							si := []Init{InitDefault, InitSpec, InitSDK}[g.rng.IntN(3)]
							w.SyncNext(g.next, si)
							m.syncNext(int64(g.next), si)
						}
						c := g.pick(p)
						got, want := w.Verify(c), m.classify(int64(c))
						require.Equal(t, want, got, "step %d counter %#x window %s", step, c, &w)
						counts[got]++
						if got.Accepted() {
							w.Commit(c)
							m.commit(int64(c))
						} else {
							before := w
							w.Commit(c) // must be a no-op
							require.Equal(t, before, w)
						}
						require.Equal(t, uint32(m.max), w.Max(), "step %d", step)
						require.Equal(t, m.bitmap(), w.Bitmap(), "step %d counter %#x", step, c)
					}
					// The generator must exercise the interesting verdicts.
					require.Positive(t, counts[Duplicate])
					require.Positive(t, counts[InWindow]+counts[Future])
					if p == PolicyUnencrypted {
						require.Positive(t, counts[Reset])
					} else {
						require.Positive(t, counts[BehindWindow])
					}
				})
			}
		}
	}
}
