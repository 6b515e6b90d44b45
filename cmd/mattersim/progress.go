package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mattersim/scenarios"
)

// progressDelay is how long a run goes before it shows progress: shorter
// runs print only their summary.
const progressDelay = time.Second

// progress draws scenario progress on a terminal's stderr: nodes built,
// then virtual time against the run's end with wall time and events per
// second. It stays silent when stderr is not a terminal, with --quiet, and
// for the first progressDelay of the run.
type progress struct {
	w       io.Writer
	on      bool
	start   time.Time
	bar     *progressbar.ProgressBar
	phase   scenarios.Phase
	scale   int64 // progress units per bar unit
	lastEvs uint64
	lastAt  time.Time
}

func newProgress(stderr io.Writer, quiet bool) *progress {
	p := &progress{w: stderr, start: time.Now()}
	if f, ok := stderr.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

// report is the scenarios.RunConfig.Progress callback.
func (p *progress) report(r scenarios.Progress) {
	if !p.on || time.Since(p.start) < progressDelay {
		return
	}
	if r.Phase == scenarios.PhaseDrain {
		r.Phase = scenarios.PhaseRun // one bar for the run and its wind-down
	}
	if p.bar == nil || p.phase != r.Phase {
		if p.bar != nil {
			_ = p.bar.Finish()
			fmt.Fprintln(p.w)
		}
		p.phase = r.Phase
		switch r.Phase {
		case scenarios.PhaseBuild:
			p.bar = progressbar.NewOptions64(int64(r.Nodes), progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription("build"), progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
		case scenarios.PhaseRun, scenarios.PhaseDone:
			p.bar = progressbar.NewOptions64(int64(r.End/time.Millisecond), progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription("run"), progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond))
		}
	}
	switch r.Phase {
	case scenarios.PhaseBuild:
		_ = p.bar.Set64(int64(r.Built))
	default:
		now := time.Now()
		rate := 0.0
		if !p.lastAt.IsZero() && now.After(p.lastAt) {
			rate = float64(r.Events-p.lastEvs) / now.Sub(p.lastAt).Seconds()
		}
		p.lastEvs, p.lastAt = r.Events, now
		p.bar.Describe(fmt.Sprintf("virtual %s / %s · wall %s · %.0f events/s", r.Virtual.Round(time.Millisecond),
			r.End, r.Wall.Round(100*time.Millisecond), rate))
		_ = p.bar.Set64(int64(r.Virtual / time.Millisecond))
	}
}

// finish ends the bar, if one was drawn.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}
