package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"mattersim/reports"
	"mattersim/reports/plot"
	"mattersim/scenarios"
)

func init() {
	subcommands = append(subcommands, newRunCommand)
}

type runOpts struct {
	sets      []string
	seed      uint64
	out       string
	trace     bool
	pcap      bool
	pcapPlain string // --pcap-plaintext FILE
	keylog    string // --keylog FILE
	json      bool
	quiet     bool
	force     bool
	ci        bool
	duration  string
	interval  string
	loss      string
	establish string
	network   string
	// Flags that went away, kept hidden to say what replaced them.
	nodes, controllers string
	noAttacker         bool
}

// shorthands are the run flags that stand for --set NAME=VALUE.
var shorthands = []struct{ flag, param, usage string }{
	{"duration", "duration", "shorthand for --set duration=`D`"},
	{"interval", "interval", "shorthand for --set interval=`D`"},
	{"loss", "loss", "shorthand for --set loss=`P` (a fraction 0.05 or a percentage 5%)"},
	{"establish", "method", "shorthand for --set method=`M` (pase, keys or case)"},
}

func newRunCommand() *cobra.Command {
	o := runOpts{}
	c := &cobra.Command{
		Use:   "run [NAME|FILE]",
		Short: "Run a scenario (a file, or a shipped one by name; default: the default scenario) and check its assertions",
		Long: `Run a scenario in virtual time, check its assertions, print a summary and
write the report.

NAME|FILE is a scenario file, or the name of a shipped scenario (mattersim
list); without it, the shipped "default" scenario runs: a controller pairing
with 49 devices by PASE over lossy, reordering links, reading each every 5 s
for a minute while an attacker replays frames.

A run is a pure function of the scenario, its parameters and the seed: the
same inputs give the same metrics, trace and pcap, byte for byte.
--set NAME=VALUE overrides a parameter the scenario declares; --duration,
--interval, --loss and --establish are shorthands for --set duration=,
interval=, loss= and method= (the shipped default scenario declares them).

The report goes to --out (default mattersim-out/NAME/): metrics.json
(versioned, docs/metrics-json.md), metrics.csv (name,group,value),
junit.xml (one test case per assertion), plots/ (every figure as PNG and
SVG: latency CDFs, MRP retransmissions and give-ups, window verdicts,
network drops, and the scenario's own plots; figure files an earlier run
left in a reused plots/ are removed, other files stay), report.html (one
self-contained page: scenario, run, assertions, figures, metrics; its
path is printed last), and with --trace / --pcap trace.jsonl and
capture.pcap. --pcap-plaintext FILE writes the capture with every secure
message mattersim could decrypt replaced by its plaintext (marked: UDP
port 15540, security flag 0x10), --keylog FILE one line per secure
session with its keys, for mattersim decode pcap and the Wireshark
dissector tools/wireshark/matter.lua. Nothing is written when the
scenario is invalid.

Progress is shown on stderr when it is a terminal and the run takes more
than a second (--quiet turns it off). SIGINT or SIGTERM stops the run
after the event in progress: the trace and pcap are flushed whole, the
report is written marked interrupted, the summary printed.

Exit status: 0 when every assertion holds, 1 when one fails, 2 for a bad
flag or an invalid scenario, 130 after SIGINT, 143 after SIGTERM.`,
		Example: `  mattersim run
  mattersim run mrp-loss --set loss=20%
  mattersim run partition-heal --seed 7 --out /tmp/ph --trace --pcap
  mattersim run my-scenario.yaml --json > metrics.json
  mattersim run --set devices=199 --duration 5m`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return badInput("run: want at most one scenario, got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "default"
			if len(args) == 1 {
				name = args[0]
			}
			return runScenario(cmd, name, o)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&o.sets, "set", nil, "override a parameter: `name=value` (repeatable)")
	f.Uint64Var(&o.seed, "seed", 0, "run seed (default: the scenario's seed)")
	f.StringVar(&o.out, "out", "", "write the report to `DIR` (default mattersim-out/NAME)")
	f.BoolVar(&o.trace, "trace", false, "also write the event trace, trace.jsonl (JSON lines)")
	f.BoolVar(&o.pcap, "pcap", false, "also write every frame to capture.pcap (raw IPv6, nanosecond virtual timestamps)")
	f.StringVar(&o.pcapPlain, "pcap-plaintext", "", "also write `FILE`: the capture with every secure message replaced by its plaintext, marked so (README \"Wireshark\")")
	f.StringVar(&o.keylog, "keylog", "", "also write `FILE`: one line per secure session established, with its keys (README \"Wireshark\")")
	f.BoolVar(&o.json, "json", false, "print metrics.json on stdout instead of the summary")
	f.BoolVar(&o.quiet, "quiet", false, "no progress and no summary: only the exit status, errors and the report files")
	f.BoolVar(&o.force, "force", false, "run a scenario above the event budget")
	f.BoolVar(&o.ci, "ci", false, "apply the scenario's ci: overrides (its short variant)")
	f.StringVar(&o.network, "network", "", "network mode `M`: netstack (a gVisor stack per node) or direct (default: the scenario's network:)")
	for _, s := range []struct {
		p *string
		i int
	}{{&o.duration, 0}, {&o.interval, 1}, {&o.loss, 2}, {&o.establish, 3}} {
		sh := shorthands[s.i]
		f.StringVar(s.p, sh.flag, "", sh.usage)
	}
	f.StringVar(&o.nodes, "nodes", "", "gone: use --set devices=N")
	f.StringVar(&o.controllers, "controllers", "", "gone: use --set controllers=N")
	f.BoolVar(&o.noAttacker, "no-attacker", false, "gone: write a scenario without adversary rules")
	for _, n := range []string{"nodes", "controllers", "no-attacker"} {
		_ = f.MarkHidden(n)
	}
	return c
}

// overrides turns the flags into loader overrides.
func (o runOpts) overrides(cmd *cobra.Command) (scenarios.Overrides, error) {
	switch {
	case o.nodes != "":
		return scenarios.Overrides{}, badInput("run: --nodes is gone: the default scenario has --set devices=N (and --set controllers=N); nodes = controllers + devices")
	case o.controllers != "":
		return scenarios.Overrides{}, badInput("run: --controllers is gone: use --set controllers=N")
	case o.noAttacker:
		return scenarios.Overrides{}, badInput("run: --no-attacker is gone: run a scenario file without adversary rules")
	}
	set, err := scenarios.ParseSet(o.sets)
	if err != nil {
		return scenarios.Overrides{}, badInput("run: %v", err)
	}
	for i, v := range []string{o.duration, o.interval, o.loss, o.establish} {
		sh := shorthands[i]
		if !cmd.Flags().Changed(sh.flag) {
			continue
		}
		if _, dup := set[sh.param]; dup {
			return scenarios.Overrides{}, badInput("run: --%s and --set %s both given", sh.flag, sh.param)
		}
		set[sh.param] = v
	}
	ov := scenarios.Overrides{Set: set, CI: o.ci, Force: o.force}
	if cmd.Flags().Changed("seed") {
		ov.Seed = &o.seed
	}
	if ov.Network, err = networkFlag(cmd, "run", o.network); err != nil {
		return scenarios.Overrides{}, err
	}
	return ov, nil
}

// interruptHook, when set by a test, delivers signals as the OS would.
var interruptHook chan os.Signal

func runScenario(cmd *cobra.Command, name string, o runOpts) (err error) {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	ov, err := o.overrides(cmd)
	if err != nil {
		return err
	}
	file, err := scenarios.OpenFile(name)
	if err != nil {
		return scenarioError(err)
	}
	s, err := file.Resolve(ov)
	if err != nil {
		return scenarioError(err)
	}
	out := o.out
	if out == "" {
		out = filepath.Join("mattersim-out", s.Name)
	}

	// Interrupts: the first SIGINT or SIGTERM stops the run between two
	// events; after it the signals take their default action again, so a
	// second Ctrl-C ends the process at once (the report is then not
	// written).
	var stop atomic.Bool
	var sig atomic.Value
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	defer func() { signal.Stop(sigs); close(done) }()
	hook := interruptHook
	// A signal a test queued before the run is taken here, not by the
	// goroutine below, which a loaded scheduler may start only after a
	// short run has ended (a nil hook is never ready).
	select {
	case v := <-hook:
		sig.Store(v)
		signal.Stop(sigs)
		stop.Store(true)
		hook = nil
	default:
	}
	go func() {
		select {
		case v := <-sigs:
			sig.Store(v)
		case v := <-hook:
			sig.Store(v)
		case <-done:
			return
		}
		signal.Stop(sigs)
		stop.Store(true)
	}()

	// Files are created only once the scenario is known to be valid; a
	// build failure removes them.
	if err := os.MkdirAll(out, 0o755); err != nil {
		return badInput("run: --out: %v", err)
	}
	rc := scenarios.RunConfig{Interrupt: &stop}
	var created []*os.File
	closeAll := func() error {
		var first error
		for _, f := range created {
			if cerr := f.Close(); cerr != nil && first == nil {
				first = cerr
			}
		}
		created = nil
		return first
	}
	defer func() {
		if cerr := closeAll(); cerr != nil && err == nil {
			err = fmt.Errorf("run: %w", cerr)
		}
	}()
	for _, w := range []struct {
		on   bool
		path string
		dst  *io.Writer
	}{
		{o.trace, filepath.Join(out, "trace.jsonl"), &rc.Trace},
		{o.pcap, filepath.Join(out, "capture.pcap"), &rc.Pcap},
		{o.pcapPlain != "", o.pcapPlain, &rc.PcapPlaintext},
		{o.keylog != "", o.keylog, &rc.KeyLog},
	} {
		if !w.on {
			continue
		}
		f, cerr := os.Create(w.path)
		if cerr != nil {
			return badInput("run: %v", cerr)
		}
		created = append(created, f)
		*w.dst = f
	}
	prog := newProgress(stderr, o.quiet)
	rc.Progress = prog.report

	d, err := scenarios.NewNet(s, rc)
	if err != nil {
		for _, f := range created {
			_ = os.Remove(f.Name())
		}
		_ = closeAll()
		return fmt.Errorf("run: %s: %w", s.Source(), err)
	}
	sum, err := d.Run()
	prog.finish()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	verdicts, err := s.Evaluate(d.Metrics)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	rep := &reports.Report{
		Scenario: s.Name, Source: s.Source(), Seed: s.Seed, Network: s.Network.String(), Parameters: s.Parameters,
		Version: version(), BuildWall: sum.BuildWall, Wall: sum.Wall, Virtual: sum.Virtual,
		Events: sum.Events, Interrupted: sum.Interrupted, Verdicts: verdicts, Metrics: sum.Metrics,
	}
	var jsonDoc bytes.Buffer
	for _, w := range []struct {
		file  string
		write func(io.Writer) error
	}{
		{"metrics.json", func(w io.Writer) error { return rep.WriteJSON(io.MultiWriter(w, &jsonDoc)) }},
		{"metrics.csv", rep.WriteCSV},
		{"junit.xml", rep.WriteJUnit},
	} {
		if err := writeFile(filepath.Join(out, w.file), w.write); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	figs, err := plot.Run(s, d.Metrics)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if err := figs.Write(filepath.Join(out, "plots")); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	page := plot.Page{Report: rep, ScenarioText: string(file.Text()), Figures: figs}
	htmlPath := filepath.Join(out, "report.html")
	if err := writeFile(htmlPath, func(w io.Writer) error { return plot.WriteHTML(w, page) }); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	switch {
	case o.json:
		if _, err := stdout.Write(jsonDoc.Bytes()); err != nil {
			return err
		}
	case !o.quiet:
		if err := sum.WriteTable(stdout); err != nil {
			return err
		}
		writeVerdicts(stdout, verdicts)
		fmt.Fprintf(stdout, "report: %s\n", htmlPath)
	}
	if sum.Interrupted {
		v, _ := sig.Load().(os.Signal)
		code := 130
		if v == syscall.SIGTERM {
			code = 143
		}
		return exitCodeError{code, fmt.Errorf("run: interrupted at virtual time %s; report (marked interrupted) in %s", sum.Virtual, out)}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (observed %s)", v.Assertion.Text, scenarios.FormatValue(v.Assertion.Metric.Kind, v.Observed))
		}
		return exitCodeError{1, fmt.Errorf("run: %d of %d assertions failed: %s", len(failed), len(verdicts), strings.Join(parts, "; "))}
	}
	return nil
}

// scenarioError is a scenario that cannot be loaded: exit status 2, every
// problem on its own line.
func scenarioError(err error) error {
	var list scenarios.ErrorList
	if errors.As(err, &list) {
		return exitCodeError{2, fmt.Errorf("run: invalid scenario:\n%s", list.Error())}
	}
	return exitCodeError{2, fmt.Errorf("run: %w", err)}
}

// writeVerdicts lists the assertions with ✓ or ✗ and the observed value.
func writeVerdicts(w io.Writer, vs []scenarios.Verdict) {
	if len(vs) == 0 {
		fmt.Fprintln(w, "\nassertions: none")
		return
	}
	held := 0
	width := 0
	for _, v := range vs {
		if v.Holds {
			held++
		}
		width = max(width, len(v.Assertion.Text))
	}
	fmt.Fprintf(w, "\nassertions: %d of %d hold\n", held, len(vs))
	for _, v := range vs {
		mark := "✓"
		if !v.Holds {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %-*s  observed %s\n", mark, width, v.Assertion.Text, scenarios.FormatValue(v.Assertion.Metric.Kind, v.Observed))
	}
}

// writeFile writes a report file whole.
func writeFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// version returns mattersim's version: the module version and the VCS
// revision the binary was built from, when known.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if dirty {
			v += "-dirty"
		}
	}
	return v
}

// networkFlag reads --network, nil when it was not given.
func networkFlag(cmd *cobra.Command, verb, v string) (*scenarios.NetworkMode, error) {
	if !cmd.Flags().Changed("network") {
		return nil, nil
	}
	m, err := scenarios.ParseNetworkMode(v)
	if err != nil {
		return nil, badInput("%s: --network: %v", verb, err)
	}
	return &m, nil
}
