package main

import (
	"fmt"
	"path/filepath"

	"mattersim/reports/plot"
	"mattersim/reports/sweep"
	"mattersim/scenarios"
)

// writeSweepPlots draws a sweep's figures from its aggregate
// (plot.Sweep) into out/plots/ as PNG and SVG and returns them.
func writeSweepPlots(out string, s *scenarios.Scenario, res *sweep.Result) (plot.Set, error) {
	set, err := plot.Sweep(s, res)
	if err != nil {
		return plot.Set{}, fmt.Errorf("sweep: %w", err)
	}
	return set, set.Write(filepath.Join(out, "plots"))
}
