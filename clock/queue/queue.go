// Package queue is the one time-ordered queue of mattersim: a binary min-heap
// of values ordered by (time, insertion sequence). The sequence is unique, so
// there are no ties and values due at the same instant come out in the order
// they were pushed — the total event order a deterministic run needs
// (DEVELOPERS.md, house style 3). The simulator's event loop and the node
// workloads' timers both use it.
package queue

import "mattersim/clock"

// Queue is a min-heap of values of type T keyed by (at, seq). The zero value
// is an empty queue. It is not safe for concurrent use. Cancellation is the
// owner's business: push a generation with the value and skip stale ones
// when they come out.
type Queue[T any] struct {
	q   []item[T]
	seq uint64
}

type item[T any] struct {
	at  clock.Time
	seq uint64
	v   T
}

func (a *item[T]) less(b *item[T]) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// Len returns the number of queued values.
func (q *Queue[T]) Len() int { return len(q.q) }

// Push queues v at time at, after every value already queued for at.
func (q *Queue[T]) Push(at clock.Time, v T) {
	q.seq++
	q.q = append(q.q, item[T]{at: at, seq: q.seq, v: v})
	h := q.q
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// Next returns the time of the earliest value, or clock.Never when the queue
// is empty.
func (q *Queue[T]) Next() clock.Time {
	if len(q.q) == 0 {
		return clock.Never
	}
	return q.q[0].at
}

// Peek returns the earliest value and its time without removing it. The
// pointer is valid until the next Push or Pop. The queue must not be empty.
func (q *Queue[T]) Peek() (clock.Time, *T) { return q.q[0].at, &q.q[0].v }

// Pop removes and returns the earliest value and its time. The queue must
// not be empty.
func (q *Queue[T]) Pop() (clock.Time, T) {
	h := q.q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = item[T]{} // drop references for the GC
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			m = r
		}
		if !h[m].less(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.q = h
	return top.at, top.v
}
