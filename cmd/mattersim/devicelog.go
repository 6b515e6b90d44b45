package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"mattersim/clock"
)

// defaultLogEvery is how often `device` prints a line of one repeating
// kind (a refused or failed pairing request): the first in each interval
// in full, the rest summarised when it ends. A flood of hostile requests
// would otherwise write one line per datagram (26 MB per 200,000).
const defaultLogEvery = 10 * time.Second

// logLimiter prints log lines, rate-limited per kind: the first line of a
// kind in an interval is printed, later ones within it are counted and
// summarised (with the last of them) once the interval is over. Lines of
// kind "" are always printed. Times are the device loop's clock; the
// limiter's Deadline says when a summary is due. Not safe for concurrent
// use (it runs on the device loop).
type logLimiter struct {
	w      io.Writer
	prefix string
	every  time.Duration // 0: no limit
	kinds  map[string]*logKind
}

type logKind struct {
	until      clock.Time // end of the current interval
	suppressed int        // lines counted, not printed, in it
	last       string     // the last of them
}

func newLogLimiter(w io.Writer, prefix string, every time.Duration) *logLimiter {
	return &logLimiter{w: w, prefix: prefix, every: every, kinds: make(map[string]*logKind)}
}

// printf logs one line of kind at now.
func (l *logLimiter) printf(now clock.Time, kind, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if kind == "" || l.every <= 0 {
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, line)
		return
	}
	k := l.kinds[kind]
	if k == nil {
		k = &logKind{}
		l.kinds[kind] = k
	}
	if now < k.until {
		k.suppressed++
		k.last = line
		return
	}
	l.summarise(kind, k)
	fmt.Fprintf(l.w, "%s%s\n", l.prefix, line)
	k.until = now.Add(l.every)
}

// summarise prints and resets kind's count of suppressed lines.
func (l *logLimiter) summarise(kind string, k *logKind) {
	if k.suppressed == 0 {
		return
	}
	fmt.Fprintf(l.w, "%s%d more %s within %v (last: %s)\n", l.prefix, k.suppressed, kind, l.every, k.last)
	k.suppressed, k.last = 0, ""
}

// Deadline returns when the next summary is due, or clock.Never.
func (l *logLimiter) Deadline() clock.Time {
	dl := clock.Never
	for _, k := range l.kinds {
		if k.suppressed > 0 {
			dl = min(dl, k.until)
		}
	}
	return dl
}

// HandleTimeout prints the summaries due at now, in kind order.
func (l *logLimiter) HandleTimeout(now clock.Time) { l.flush(now, false) }

// Flush prints every pending summary (at exit).
func (l *logLimiter) Flush() { l.flush(0, true) }

func (l *logLimiter) flush(now clock.Time, all bool) {
	names := make([]string, 0, len(l.kinds))
	for name := range l.kinds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if k := l.kinds[name]; all || now >= k.until {
			l.summarise(name, k)
		}
	}
}
