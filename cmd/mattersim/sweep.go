package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mattersim/reports/plot"
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
	shard        string
	shards       int
}

func newSweepCommand() *cobra.Command {
	var o sweepOpts
	c := &cobra.Command{
		Use:   "sweep NAME|FILE [--sweep PARAM=V1,V2,...|START..END/STEP] [--reps N] [--workers N] [--shard i/n|auto]",
		Short: "Run a scenario over a grid of parameter values with repetitions, and aggregate with confidence intervals",
		Long: `sweep runs a scenario (a file, or a shipped scenario's name) once per
repetition of every point of a grid: --sweep PARAM=V1,V2,... gives one axis
(repeat it for more; the grid is their product), over parameters the
scenario declares; a value may be a range START..END/STEP (0%..45%/5%).
Without --sweep, the axes are the scenario's sweep.axes; --reps and
--workers override its sweep.reps and sweep.workers. Each run is the
same deterministic simulation as mattersim run; runs go in parallel on
--workers goroutines (default: the cores), and the output does not
depend on their number. Repetition r of a point uses a seed derived from
the scenario's seed (or --seed), the point's values and r.

Written to --out (default mattersim-out/NAME-sweep/): metrics.csv (per
point and metric: n, mean and its 95% Student t interval, clipped to the
metric's range), assertions.csv (per point and assertion: runs, held,
pass rate and its 95% Wilson interval), aggregate.csv (the scenario's
sweep.aggregate assertions, per point they apply at), sweep.json (the
plan), runs/POINT-REP/metrics.json for every run, plots/ (the scenario's
sweep figures, from the aggregate, as PNG and SVG; figure files an
earlier run or sweep left in a reused plots/ are removed, other files
stay) and report.html (one self-contained page: the scenario, the plan,
the aggregate assertions' verdicts, the pass rates, the aggregate table
and the figures). The summary lists per point the metrics asked for with
--show and the assertions' pass counts, and ends with the path of
report.html.

--shard i/n runs only the runs k·reps+r ≡ i (mod n) and writes them with
sweep.json, without the aggregate; mattersim merge joins the shards'
directories into the whole sweep's output. --shard auto takes i from
$JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and n from --shards or
$MATTERSIM_SHARDS.

Exit status: 0 when every assertion held in every run and every aggregate
assertion holds (a shard: when its runs are written), 1 otherwise, 2 for
a bad flag or an invalid scenario or value.`,
		Example: `  mattersim sweep sync-timeout --sweep loss=0%,10%,20%,30% --reps 5 --show mcsp.sync_latency.p99
  mattersim sweep mrp-loss --ci --sweep loss=5%,20% --sweep phase=10s,20s --workers 2
  mattersim sweep mrp-loss --ci --sweep loss=0%..45%/5% --reps 10 --shard 1/4 --out shard-1`,
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
	f.StringVar(&o.shard, "shard", "", "run only shard `i/n` of the runs (run k·reps+r is shard (k·reps+r) mod n), or auto: i from $JOB_COMPLETION_INDEX, n from --shards or $MATTERSIM_SHARDS")
	f.IntVar(&o.shards, "shards", 0, "the shard count for --shard auto (default $MATTERSIM_SHARDS)")
	return c
}

// The environment variables --shard auto reads: the
// index Kubernetes gives each pod of an Indexed Job, and the job size,
// which Kubernetes does not put in the environment (the manifest sets it,
// or passes --shards).
const (
	shardIndexEnv = "JOB_COMPLETION_INDEX"
	shardCountEnv = "MATTERSIM_SHARDS"
)

// parseShard reads --shard i/n or --shard auto (with --shards N or
// $MATTERSIM_SHARDS).
func parseShard(spec string, shards int, getenv func(string) string) (sweep.Shard, error) {
	if spec == "" {
		if shards != 0 {
			return sweep.Shard{}, badInput("sweep: --shards is for --shard auto")
		}
		return sweep.Shard{}, nil
	}
	if spec != "auto" {
		if shards != 0 {
			return sweep.Shard{}, badInput("sweep: --shards is for --shard auto (--shard %s names the count)", spec)
		}
		sh, err := sweep.ParseShard(spec)
		if err != nil {
			return sweep.Shard{}, badInput("sweep: --%v", err)
		}
		return sh, nil
	}
	idx := getenv(shardIndexEnv)
	if idx == "" {
		return sweep.Shard{}, badInput("sweep: --shard auto: $%s is not set (a Kubernetes Indexed Job sets it)", shardIndexEnv)
	}
	n := strconv.Itoa(shards)
	if shards == 0 {
		n = getenv(shardCountEnv)
		if n == "" {
			return sweep.Shard{}, badInput("sweep: --shard auto: the shard count is unknown: pass --shards N or set $%s", shardCountEnv)
		}
	}
	sh, err := sweep.ParseShard(idx + "/" + n)
	if err != nil {
		return sweep.Shard{}, badInput("sweep: --shard auto ($%s=%s, shards %s): %v", shardIndexEnv, idx, n, err)
	}
	return sh, nil
}

// parseAxes reads --sweep PARAM=VALUES flags (values as
// scenarios.ExpandValues reads them: lists and ranges).
func parseAxes(flags []string) ([]sweep.Axis, error) {
	var axes []sweep.Axis
	seen := map[string]bool{}
	for _, s := range flags {
		p, vals, ok := strings.Cut(s, "=")
		if !ok || p == "" || vals == "" {
			return nil, badInput("sweep: --sweep %q: want PARAM=V1,V2,... or PARAM=START..END/STEP", s)
		}
		if seen[p] {
			return nil, badInput("sweep: --sweep %s given twice", p)
		}
		seen[p] = true
		vs, err := scenarios.ExpandValues(vals)
		if err != nil {
			return nil, badInput("sweep: --sweep %s: %v", p, err)
		}
		axes = append(axes, sweep.Axis{Param: p, Values: vs})
	}
	return axes, nil
}

func runSweep(cmd *cobra.Command, name string, o sweepOpts) error {
	stdout := cmd.OutOrStdout()
	flags := cmd.Flags()
	shard, err := parseShard(o.shard, o.shards, os.Getenv)
	if err != nil {
		return err
	}
	axes, err := parseAxes(o.sweeps)
	if err != nil {
		return err
	}
	set, err := scenarios.ParseSet(o.sets)
	if err != nil {
		return badInput("sweep: %v", err)
	}
	if err := checkShow("sweep", o.show); err != nil {
		return err
	}
	file, err := scenarios.OpenFile(name)
	if err != nil {
		return scenarioError(err)
	}
	base := scenarios.Overrides{Set: set, CI: o.ci, Force: o.force}
	if flags.Changed("seed") {
		base.Seed = &o.seed
	}
	if base.Network, err = networkFlag(cmd, "sweep", o.network); err != nil {
		return err
	}
	s0, err := file.Resolve(base)
	if err != nil {
		return scenarioError(err)
	}
	if len(axes) == 0 {
		for _, a := range s0.Sweep.Axes {
			axes = append(axes, sweep.Axis{Param: a.Param, Values: a.Values})
		}
	}
	if len(axes) == 0 {
		return badInput("sweep: no --sweep PARAM=V1,V2,... and no sweep.axes in %s: nothing to vary (use mattersim run for one run)", file.Name())
	}
	if !flags.Changed("reps") && s0.Sweep.Reps > 0 {
		o.reps = s0.Sweep.Reps
	}
	if !flags.Changed("workers") && s0.Sweep.Workers > 0 {
		o.workers = s0.Sweep.Workers
	}
	checks := s0.Sweep.Aggregate
	texts := make([]string, len(checks))
	for i, a := range checks {
		texts[i] = a.Text
	}
	for _, a := range axes {
		if _, dup := set[a.Param]; dup {
			return badInput("sweep: %s is both swept and --set", a.Param)
		}
	}
	if o.reps < 1 || o.workers < 1 {
		return badInput("sweep: --reps and --workers must be at least 1")
	}
	out := o.out
	if out == "" {
		out = filepath.Join("mattersim-out", s0.Name+"-sweep")
		if !shard.Whole() {
			out += "-shard-" + strconv.Itoa(shard.Index)
		}
	}
	writeRun := func(r *sweep.Run) error { return writeRunJSON(out, r.Dir(), r.JSON) }
	res, err := sweep.Execute(sweep.Config{File: file, Base: base, Axes: axes, Reps: o.reps, Workers: o.workers,
		Shard: shard, Version: version(), Checks: checks, WriteRun: writeRun})
	if err != nil {
		return exitCodeError{2, err}
	}
	plan := sweep.NewPlan(sweep.Plan{Scenario: s0.Name, Source: s0.Source(), Digest: file.Digest(),
		Set: set, CI: o.ci, Force: o.force, Network: s0.Network.String(), Seed: s0.Seed, Axes: axes, Reps: o.reps, Aggregate: texts, Version: version()}, shard)
	if err := writeFile(filepath.Join(out, sweep.PlanFile), plan.WriteJSON); err != nil {
		return err
	}
	if !shard.Whole() {
		if !o.quiet {
			fmt.Fprintf(stdout, "mattersim sweep: %s, shard %s: %d of %d runs (%d points × %d reps)\n",
				s0.Name, shard, len(res.Runs), len(res.Points)*o.reps, len(res.Points), o.reps)
			fmt.Fprintf(stdout, "results: %s%c (join the shards with mattersim merge)\n", filepath.Clean(out), filepath.Separator)
		}
		return nil
	}
	return finishSweep(stdout, out, "mattersim sweep: "+s0.Name, res, plan, sweepScenario{s: s0, text: file.Text()}, o.show, o.quiet)
}

// checkShow checks the --show metric names.
func checkShow(cmd string, show []string) error {
	for _, m := range show {
		if d, g, ok := metrics.Lookup(m); !ok || g != "" || d.Name == "" {
			return badInput("%s: --show %s: no such metric (docs/scenario-metrics.md)", cmd, m)
		}
	}
	return nil
}

// writeRunJSON writes a run's metrics.json to out/runs/NAME/.
func writeRunJSON(out, name string, data []byte) error {
	dir := filepath.Join(out, "runs", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "metrics.json"), data, 0o644)
}

// writeSweepAggregate writes the aggregate of a whole sweep to out:
// metrics.csv and assertions.csv. Both mattersim sweep and mattersim
// merge call it with the aggregate built by sweep.Aggregate, so whatever
// it writes is the same for a sweep and for its merged shards.
func writeSweepAggregate(out string, res *sweep.Result, plan sweep.Plan) error {
	if err := writeFile(filepath.Join(out, "metrics.csv"), res.WriteMetrics); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "assertions.csv"), res.WriteAssertions); err != nil {
		return err
	}
	if len(plan.Aggregate) > 0 {
		if err := writeFile(filepath.Join(out, "aggregate.csv"), res.WriteChecks); err != nil {
			return err
		}
	}
	return nil
}

// sweepScenario is the scenario a sweep ran, for its figures (the plots:
// block of s) and report.html (its text): both nil when merge could not
// reopen it, and why then says why.
type sweepScenario struct {
	s    *scenarios.Scenario
	text []byte
	why  string
}

// finishSweep writes the aggregate, the sweep's figures and report.html
// (from the plan and the aggregate only, so merged shards write the same
// bytes), prints the summary and sets the exit status: what sweep and
// merge share after the runs are in. When sc has no scenario (merge could
// not reopen it) the figures are not drawn, an earlier sweep's in a
// reused out are removed, and report.html says why.
func finishSweep(stdout io.Writer, out, title string, res *sweep.Result, plan sweep.Plan, sc sweepScenario, show []string, quiet bool) error {
	if err := writeSweepAggregate(out, res, plan); err != nil {
		return err
	}
	page := plot.SweepPage{Plan: plan, Result: res, NoScenario: sc.why}
	if sc.s != nil {
		figs, err := writeSweepPlots(out, sc.s, res)
		if err != nil {
			return err
		}
		page.Figures, page.ScenarioText = figs, string(sc.text)
	} else if err := (plot.Set{}).RemoveStale(filepath.Join(out, "plots")); err != nil {
		// No figures this time: none of an earlier sweep's may stay
		// beside this aggregate.
		return fmt.Errorf("sweep: %w", err)
	}
	htmlPath := filepath.Join(out, "report.html")
	if err := writeFile(htmlPath, func(w io.Writer) error { return plot.WriteSweepHTML(w, page) }); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	failed := 0
	for _, pa := range res.Agg {
		for _, a := range pa.Assertions {
			failed += a.Pass.N - a.Held
		}
	}
	if !quiet {
		fmt.Fprintf(stdout, "%s, %d points × %d runs\n", title, len(res.Points), res.Reps)
		if err := res.WriteTable(stdout, show); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results: %s%c\n", filepath.Clean(out), filepath.Separator)
		fmt.Fprintf(stdout, "report: %s\n", htmlPath)
	}
	aggFailed := res.ChecksFailed()
	switch {
	case failed > 0 && aggFailed > 0:
		return exitCodeError{1, fmt.Errorf("sweep: %d assertion checks failed across the runs (assertions.csv) and %d aggregate checks (aggregate.csv)", failed, aggFailed)}
	case failed > 0:
		return exitCodeError{1, fmt.Errorf("sweep: %d assertion checks failed across the runs (assertions.csv)", failed)}
	case aggFailed > 0:
		return exitCodeError{1, fmt.Errorf("sweep: %d aggregate checks failed (aggregate.csv)", aggFailed)}
	}
	return nil
}
