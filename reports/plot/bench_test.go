package plot

import (
	"io"
	"syscall"
	"testing"
	"time"

	"mattersim/reports"
	"mattersim/scenarios"
)

// BenchmarkDefaultFigures is the cost of drawing the default scenario's
// figures (PNG and SVG) and its report.html, once the run is done: what
// mattersim run adds to a run (BENCHMARKS.md).
func BenchmarkDefaultFigures(b *testing.B) {
	s, err := scenarios.Open("default", scenarios.Overrides{})
	if err != nil {
		b.Fatal(err)
	}
	d, err := scenarios.NewNet(s, scenarios.RunConfig{})
	if err != nil {
		b.Fatal(err)
	}
	sum, err := d.Run()
	if err != nil {
		b.Fatal(err)
	}
	rep := &reports.Report{Scenario: s.Name, Seed: s.Seed, Parameters: s.Parameters, Metrics: sum.Metrics}
	dir := b.TempDir()
	cpu0 := cpuTime()
	for b.Loop() {
		set, err := Run(s, d.Metrics)
		if err != nil {
			b.Fatal(err)
		}
		if err := set.Write(dir); err != nil {
			b.Fatal(err)
		}
		if err := WriteHTML(io.Discard, Page{Report: rep, Figures: set}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time says more than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
