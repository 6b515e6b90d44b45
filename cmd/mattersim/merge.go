package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mattersim/reports/sweep"
	"mattersim/scenarios"
)

func init() { subcommands = append(subcommands, newMergeCommand) }

type mergeOpts struct {
	out   string
	show  []string
	quiet bool
}

func newMergeCommand() *cobra.Command {
	var o mergeOpts
	c := &cobra.Command{
		Use:   "merge DIR... --out OUT",
		Short: "Join the outputs of a sweep's shards (mattersim sweep --shard) into the sweep's aggregate",
		Long: `merge reads the output directories of the shards of one sweep (each
written by mattersim sweep --shard i/n: sweep.json and
runs/POINT-REP/metrics.json) and writes to --out what the unsharded sweep
writes: every run's metrics.json, sweep.json, metrics.csv,
assertions.csv, aggregate.csv, plots/ and report.html, aggregated from the
runs' metrics.json read back, as the sweep itself aggregates, so they are
byte for byte the unsharded sweep's (a run's metrics.json differs only in
its measured wall_time). The figures and the scenario text need the
scenario the shards ran, unchanged: when merge cannot reopen it, it says
so and writes the rest.

It refuses, in one line naming what is wrong, outputs of different sweeps
(scenario digest, seed, axes, reps, overrides, aggregate assertions or
mattersim version differ), a shard given twice or a run held by two
outputs, and missing shards or runs (listing the runs).

Exit status: 0 when every assertion held in every run and every aggregate
assertion holds, 1 otherwise, 2 when the shards cannot be merged.`,
		Example: `  mattersim sweep mrp-loss --ci --sweep loss=0%..45%/5% --reps 4 --shard 0/2 --out sh0
  mattersim sweep mrp-loss --ci --sweep loss=0%..45%/5% --reps 4 --shard 1/2 --out sh1
  mattersim merge sh0 sh1 --out merged`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput("merge: want the shards' output directories")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runMerge(cmd, args, o) },
	}
	f := c.Flags()
	f.StringVar(&o.out, "out", "", "write the merged sweep to `DIR` (required)")
	f.StringSliceVar(&o.show, "show", nil, "metrics to print per point (`name,...`)")
	f.BoolVar(&o.quiet, "quiet", false, "no summary")
	return c
}

func runMerge(cmd *cobra.Command, dirs []string, o mergeOpts) error {
	if o.out == "" {
		return badInput("merge: --out DIR is required")
	}
	if err := checkShow("merge", o.show); err != nil {
		return err
	}
	m, err := sweep.MergeDirs(dirs)
	if err != nil {
		return exitCodeError{2, err}
	}
	for i, path := range m.Paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := writeRunJSON(o.out, sweep.RunName(i/m.Result.Reps, i%m.Result.Reps), data); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(o.out, sweep.PlanFile), m.Plan.WriteJSON); err != nil {
		return err
	}
	title := fmt.Sprintf("mattersim merge: %s from %d outputs", m.Plan.Scenario, len(dirs))
	sc := mergedScenario(m.Plan)
	if sc.s == nil && !o.quiet {
		fmt.Fprintf(cmd.OutOrStdout(), "note: plots/ not drawn, report.html without the figures and the scenario: %s\n", sc.why)
	}
	return finishSweep(cmd.OutOrStdout(), o.out, title, m.Result, m.Plan, sc, o.show, o.quiet)
}

// mergedScenario reopens the scenario the shards ran, for the figures its
// plots: block declares and for report.html: the plan's source file, else
// the shipped scenario of its name, resolved with the shards' overrides.
// The file must still be the one the shards ran (same digest); otherwise
// the result has no scenario and says why, and neither the figures nor
// the scenario text are written (the CSV aggregate does not need them).
func mergedScenario(p sweep.Plan) sweepScenario {
	var file *scenarios.File
	var err error
	for _, name := range []string{p.Source, p.Scenario} {
		if name == "" {
			continue
		}
		if file, err = scenarios.OpenFile(name); err == nil {
			break
		}
	}
	if file == nil {
		return sweepScenario{why: fmt.Sprintf("cannot open scenario %q: %v", p.Scenario, err)}
	}
	if file.Digest() != p.Digest {
		return sweepScenario{why: fmt.Sprintf("%s has changed since the shards ran (digest %s, shards %s)", file.Name(), file.Digest(), p.Digest)}
	}
	o := scenarios.Overrides{Set: p.Set, CI: p.CI, Force: p.Force, Seed: &p.Seed}
	if p.Network != "" {
		mode, err := scenarios.ParseNetworkMode(p.Network)
		if err != nil {
			return sweepScenario{why: fmt.Sprintf("network mode %q: %v", p.Network, err)}
		}
		o.Network = &mode
	}
	s, err := file.Resolve(o)
	if err != nil {
		return sweepScenario{why: err.Error()}
	}
	return sweepScenario{s: s, text: file.Text()}
}
