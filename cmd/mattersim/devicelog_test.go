package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mattersim/clock"
)

// The first line of a kind per interval is printed; the rest of the
// interval is summarised, with the last line, when the interval ends; a
// line after a quiet interval is printed again; kind "" is never limited.
func TestLogLimiter(t *testing.T) {
	var b strings.Builder
	l := newLogLimiter(&b, "dev: ", 10*time.Second)
	at := func(s float64) clock.Time { return clock.Time(0).Add(time.Duration(s * float64(time.Second))) }
	for i := range 1000 {
		l.printf(at(1+float64(i)*0.001), "PASE failures", "failure %d", i)
	}
	l.printf(at(2), "", "established")
	l.printf(at(2), "refused requests", "refused 1")
	require.Equal(t, "dev: failure 0\ndev: established\ndev: refused 1\n", b.String())
	require.Equal(t, at(11), l.Deadline())

	l.HandleTimeout(at(11))
	require.Equal(t, "dev: failure 0\ndev: established\ndev: refused 1\n"+
		"dev: 999 more PASE failures within 10s (last: failure 999)\n", b.String())
	require.Equal(t, clock.Never, l.Deadline()) // "refused requests" has nothing pending

	b.Reset()
	l.printf(at(30), "PASE failures", "failure again")
	l.printf(at(31), "PASE failures", "and again")
	l.Flush()
	require.Equal(t, "dev: failure again\ndev: 1 more PASE failures within 10s (last: and again)\n", b.String())

	// every 0: no limit.
	b.Reset()
	l = newLogLimiter(&b, "", 0)
	l.printf(at(1), "k", "a")
	l.printf(at(1), "k", "b")
	require.Equal(t, "a\nb\n", b.String())
}
