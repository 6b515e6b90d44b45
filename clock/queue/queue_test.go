package queue

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

// TestOrderAgainstStableSort: random pushes and pops, checked against a
// naive model (a slice kept stably sorted by time: insertion order breaks
// ties).
func TestOrderAgainstStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type rec struct {
		at clock.Time
		id int
	}
	var q Queue[int]
	var model []rec
	id := 0
	for step := range 20000 {
		if rng.IntN(3) > 0 || len(model) == 0 {
			at := clock.Time(rng.IntN(50)) // many equal instants
			q.Push(at, id)
			i, _ := slices.BinarySearchFunc(model, at+1, func(r rec, t clock.Time) int {
				if r.at < t {
					return -1
				}
				return 1
			})
			model = slices.Insert(model, i, rec{at, id})
			id++
		} else {
			require.Equal(t, model[0].at, q.Next(), "step %d", step)
			pat, pv := q.Peek()
			require.Equal(t, model[0], rec{pat, *pv})
			at, v := q.Pop()
			require.Equal(t, model[0], rec{at, v}, "step %d", step)
			model = model[1:]
		}
		require.Equal(t, len(model), q.Len())
	}
}

func TestEmpty(t *testing.T) {
	var q Queue[string]
	require.Equal(t, 0, q.Len())
	require.Equal(t, clock.Never, q.Next())
	q.Push(5, "a")
	q.Push(5, "b")
	q.Push(1, "c")
	for _, want := range []string{"c", "a", "b"} {
		_, v := q.Pop()
		require.Equal(t, want, v)
	}
	require.Equal(t, clock.Never, q.Next())
}
