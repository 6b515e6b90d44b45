package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mattersim/scenarios"
	"mattersim/sim/simbench"
)

func init() {
	subcommands = append(subcommands, newBenchCommand)
}

// benchFigures are the figures `mattersim bench` can print, in print order.
var benchFigures = []string{"datagram", "datagram-n", "secure", "secure-n", "secure-metrics", "secure-n-metrics", "memory", "speedup"}

type benchOpts struct {
	nodes, datagrams, speedupNodes int
	virtual, interval              time.Duration
	seed                           uint64
	only                           []string
}

func newBenchCommand() *cobra.Command {
	o := benchOpts{}
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure the simulator: datagram cost bare and through session cores, memory and build time per node, virtual-time speed-up",
		Long: `Measure the simulator core on this machine and print one line per figure:

  datagram    wall time per 64-byte UDP datagram between 2 nodes (sender's
              gVisor stack -> switch -> event queue -> receiver's stack)
  datagram-n  the same on --nodes nodes with a random pair per datagram
  secure      wall time per encrypted Matter datagram delivered session core to
              session core (messages and their acks) between 2 nodes, next to
              the datagram floor measured interleaved with it, and their ratio
  secure-n    the same on --nodes nodes with random pairs
  secure-metrics, secure-n-metrics
              secure and secure-n with the metrics collector on every node
              and the switch, as the default network runs it
  memory      heap per idle node and build time for --nodes nodes
  speedup     virtual time / wall time for --speedup-nodes nodes, each sending
              a 64-byte echo request to a random node every --interval

Figures vary by tens of percent between runs on a shared VM; rerun before
comparing. Go benchmarks with the same workloads: go test -bench . ./sim/
and go test -bench EndToEndSecure ./scenarios/.`,
		Example: `  mattersim bench
  mattersim bench --only datagram,speedup --datagrams 50000
  mattersim bench --nodes 100000 --only memory`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput("bench: unexpected argument %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return runBench(cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.IntVar(&o.nodes, "nodes", 10000, "node count for datagram-n, secure-n and memory")
	f.IntVar(&o.datagrams, "datagrams", 100000, "datagrams timed for datagram, datagram-n, secure and secure-n")
	f.IntVar(&o.speedupNodes, "speedup-nodes", 200, "node count for speedup")
	f.DurationVar(&o.virtual, "virtual", 10*time.Minute, "virtual time simulated for speedup")
	f.DurationVar(&o.interval, "interval", 10*time.Second, "per-node send interval for speedup")
	f.Uint64Var(&o.seed, "seed", 1, "run seed")
	f.StringSliceVar(&o.only, "only", nil, "figures to print (comma list of "+strings.Join(benchFigures, ", ")+"); default all")
	return c
}

func (o benchOpts) validate() error {
	switch {
	case o.nodes < 2:
		return badInput("bench: --nodes must be at least 2")
	case o.speedupNodes < 2:
		return badInput("bench: --speedup-nodes must be at least 2")
	case o.datagrams < 1:
		return badInput("bench: --datagrams must be positive")
	case o.virtual <= 0 || o.interval <= 0:
		return badInput("bench: --virtual and --interval must be positive")
	}
	for _, f := range o.only {
		if !slices.Contains(benchFigures, f) {
			return badInput("bench: unknown figure %q (want %s)", f, strings.Join(benchFigures, ", "))
		}
	}
	return nil
}

func (o benchOpts) want(fig string) bool { return len(o.only) == 0 || slices.Contains(o.only, fig) }

func runBench(w io.Writer, o benchOpts) error {
	fmt.Fprintf(w, "seed %d\n", o.seed)
	if o.want("datagram") {
		r, err := simbench.RunDatagrams(2, o.datagrams, o.seed)
		if err != nil {
			return err
		}
		printDatagram(w, "datagram", r)
	}
	if o.want("datagram-n") {
		r, err := simbench.RunDatagrams(o.nodes, o.datagrams, o.seed)
		if err != nil {
			return err
		}
		printDatagram(w, "datagram-n", r)
	}
	for _, fig := range []struct {
		name    string
		nodes   int
		metrics bool
	}{{"secure", 2, false}, {"secure-n", o.nodes, false}, {"secure-metrics", 2, true}, {"secure-n-metrics", o.nodes, true}} {
		if !o.want(fig.name) {
			continue
		}
		run := scenarios.RunEndToEnd
		if fig.metrics {
			run = scenarios.RunEndToEndMetrics
		}
		r, err := run(fig.nodes, max(o.datagrams/2, 1), o.seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-11s %d nodes, %d encrypted datagrams: %v/datagram, floor %v/datagram, %.2fx the floor\n",
			fig.name, r.Nodes, r.Datagrams, r.PerDatagram().Round(10*time.Nanosecond),
			r.FloorPerDatagram().Round(10*time.Nanosecond), r.Ratio())
	}
	if o.want("memory") {
		m, err := simbench.IdleNodes(o.nodes, o.seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "memory      %d idle nodes: %.0f B/node (%.1f KiB), %.0f objects/node, heap %.1f MiB; build %v (%v/node)\n",
			m.Nodes, m.PerNode(), m.PerNode()/1024, m.ObjectsPerNode(), float64(m.HeapBytes)/(1<<20),
			m.Build.Round(time.Millisecond), m.BuildPerNode().Round(100*time.Nanosecond))
	}
	if o.want("speedup") {
		s, err := simbench.RunSpeedup(o.speedupNodes, o.virtual, o.interval, o.seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "speedup     %d nodes, one echo every %v each: %v virtual in %v wall = %.0fx real time (%d datagrams, %d events)\n",
			s.Nodes, s.Interval, s.Virtual, s.Wall.Round(time.Millisecond), s.Factor(), s.Datagrams, s.Events)
	}
	return nil
}

func printDatagram(w io.Writer, name string, r simbench.DatagramResult) {
	fmt.Fprintf(w, "%-11s %d nodes, %d x %d B: %v/datagram (%.0f/s), %.1f allocs, %.0f B allocated per datagram; build %v\n",
		name, r.Nodes, r.Count, simbench.PayloadSize, r.PerDatagram().Round(10*time.Nanosecond),
		float64(r.Count)/r.Wall.Seconds(), float64(r.Allocs)/float64(r.Count), float64(r.HeapBytes)/float64(r.Count),
		r.Build.Round(time.Millisecond))
}
