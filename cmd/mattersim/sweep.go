package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"mattersim/reports"
	"mattersim/reports/sweep"
	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

func init() { subcommands = append(subcommands, newSweepCommand) }

type sweepOpts struct {
	sets, sweeps []string
	seed         uint64
	reps         int
	workers      int
	out          string
	show         []string
	ci, force    bool
	quiet        bool
	network      string
}

func newSweepCommand() *cobra.Command {
	var o sweepOpts
	c := &cobra.Command{
		Use:   "sweep NAME|FILE --sweep PARAM=V1,V2,... [--reps N] [--workers N]",
		Short: "Run a scenario over a grid of parameter values with repetitions, and aggregate with confidence intervals",
		Long: `sweep runs a scenario (a file, or a shipped scenario's name) once per
repetition of every point of a grid: --sweep PARAM=V1,V2,... gives one axis
(repeat it for more; the grid is their product), over parameters the
scenario declares. Each run is the same deterministic simulation as
mattersim run; runs go in parallel on --workers goroutines (default: the
cores), and the output does not depend on their number. Repetition r of a
point uses a seed derived from the scenario's seed (or --seed), the point's
values and r.

Written to --out (default mattersim-out/NAME-sweep/): metrics.csv (per point
and metric: n, mean and its 95% Student t interval, clipped to the
metric's range), assertions.csv (per
point and assertion: runs, held, pass rate and its 95% Wilson interval), and
runs/POINT-REP/metrics.json for every run. The summary lists per point the
metrics asked for with --show and the assertions' pass counts.

Exit status: 0 when every assertion held in every run, 1 otherwise, 2 for a
bad flag or an invalid scenario or value.`,
		Example: `  mattersim sweep sync-timeout --sweep loss=0%,10%,20%,30% --reps 5 --show mcsp.sync_latency.p99
  mattersim sweep mrp-loss --ci --sweep loss=5%,20% --sweep phase=10s,20s --workers 2`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput("sweep: want one scenario (a file or a shipped name), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSweep(cmd, args[0], o) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.sweeps, "sweep", nil, "an axis: `param=v1,v2,...` (repeatable; the grid is their product)")
	f.StringArrayVar(&o.sets, "set", nil, "fix a parameter for every run: `name=value` (repeatable)")
	f.Uint64Var(&o.seed, "seed", 0, "base seed the runs' seeds derive from (default: the scenario's)")
	f.IntVar(&o.reps, "reps", 3, "repetitions per point")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "runs in parallel")
	f.StringVar(&o.out, "out", "", "write the results to `DIR` (default mattersim-out/NAME-sweep)")
	f.StringSliceVar(&o.show, "show", nil, "metrics to print per point (`name,...`)")
	f.BoolVar(&o.ci, "ci", false, "apply the scenario's ci: overrides (its short variant) to every run")
	f.BoolVar(&o.force, "force", false, "run scenarios above the event budget")
	f.BoolVar(&o.quiet, "quiet", false, "no summary")
	f.StringVar(&o.network, "network", "", "network mode `M` of every run: netstack or direct (default: the scenario's network:)")
	return c
}

func runSweep(cmd *cobra.Command, name string, o sweepOpts) error {
	stdout := cmd.OutOrStdout()
	if len(o.sweeps) == 0 {
		return badInput("sweep: no --sweep PARAM=V1,V2,...: nothing to vary (use mattersim run for one run)")
	}
	if o.reps < 1 || o.workers < 1 {
		return badInput("sweep: --reps and --workers must be at least 1")
	}
	var axes []sweep.Axis
	seen := map[string]bool{}
	for _, s := range o.sweeps {
		p, vals, ok := strings.Cut(s, "=")
		if !ok || p == "" || vals == "" {
			return badInput("sweep: --sweep %q: want PARAM=V1,V2,...", s)
		}
		if seen[p] {
			return badInput("sweep: --sweep %s given twice", p)
		}
		seen[p] = true
		axes = append(axes, sweep.Axis{Param: p, Values: strings.Split(vals, ",")})
	}
	set, err := scenarios.ParseSet(o.sets)
	if err != nil {
		return badInput("sweep: %v", err)
	}
	for _, a := range axes {
		if _, dup := set[a.Param]; dup {
			return badInput("sweep: %s is both swept and --set", a.Param)
		}
	}
	for _, m := range o.show {
		if d, g, ok := metrics.Lookup(m); !ok || g != "" || d.Name == "" {
			return badInput("sweep: --show %s: no such metric (docs/scenario-metrics.md)", m)
		}
	}
	file, err := scenarios.OpenFile(name)
	if err != nil {
		return scenarioError(err)
	}
	base := scenarios.Overrides{Set: set, CI: o.ci, Force: o.force}
	if cmd.Flags().Changed("seed") {
		base.Seed = &o.seed
	}
	if base.Network, err = networkFlag(cmd, "sweep", o.network); err != nil {
		return err
	}
	s0, err := file.Resolve(base)
	if err != nil {
		return scenarioError(err)
	}
	out := o.out
	if out == "" {
		out = filepath.Join("mattersim-out", s0.Name+"-sweep")
	}
	res, err := sweep.Execute(sweep.Config{File: file, Base: base, Axes: axes, Reps: o.reps, Workers: o.workers})
	if err != nil {
		return exitCodeError{2, err}
	}
	for _, r := range res.Runs {
		dir := filepath.Join(out, "runs", fmt.Sprintf("%d-%d", r.Point, r.Rep))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		rep := &reports.Report{Scenario: r.Scenario.Name, Source: r.Scenario.Source(), Seed: r.Seed,
			Parameters: r.Scenario.Parameters, Version: version(), BuildWall: r.Summary.BuildWall, Wall: r.Summary.Wall,
			Virtual: r.Summary.Virtual, Events: r.Summary.Events, Verdicts: r.Verdicts, Metrics: r.Summary.Metrics}
		if err := writeFile(filepath.Join(dir, "metrics.json"), rep.WriteJSON); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(out, "metrics.csv"), res.WriteMetrics); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "assertions.csv"), res.WriteAssertions); err != nil {
		return err
	}
	if err := writeSweepPlots(out, s0, res); err != nil {
		return err
	}
	failed := 0
	for _, pa := range res.Agg {
		for _, a := range pa.Assertions {
			failed += a.Pass.N - a.Held
		}
	}
	if !o.quiet {
		fmt.Fprintf(stdout, "mattersim sweep: %s, %d points × %d runs\n", s0.Name, len(res.Points), o.reps)
		if err := res.WriteTable(stdout, o.show); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results: %s%c\n", filepath.Clean(out), filepath.Separator)
	}
	if failed > 0 {
		return exitCodeError{1, fmt.Errorf("sweep: %d assertion checks failed across the runs (assertions.csv)", failed)}
	}
	return nil
}
