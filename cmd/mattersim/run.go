package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/spf13/cobra"

	"mattersim/scenarios"
)

func init() {
	subcommands = append(subcommands, newRunCommand)
}

type runOpts struct {
	seed      uint64
	nodes     int
	ctls      int
	loss      float64
	duration  time.Duration
	interval  time.Duration
	noAttack  bool
	establish string
	tracePath string
	pcapPath  string
}

func newRunCommand() *cobra.Command {
	d := scenarios.DefaultOptions()
	o := runOpts{}
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the default network: a controller reading every device over secure sessions, with loss and a replaying attacker",
		Long: `Run the built-in default network in virtual time and print a summary.

The network: --nodes virtual nodes (--controllers controllers, 1 by default,
then devices), each a real gVisor IPv6/UDP stack with mattersim's Matter
session core on port 5540; device i is served by controller i mod
--controllers.
The controller pairs with every device by PASE over the simulated network
(--establish pase, the default: SPAKE2+ with the device's passcode, handshake
messages retransmitted by MRP, failed pairings retried after a backoff), or
installs the sessions from seeded keys at time 0 (--establish keys). Once a
device is paired, the controller reads its Basic
Information VendorName attribute every --interval (Interaction Model
ReadRequest -> ReportData, reliable messages with MRP). Every link loses
--loss percent of frames and delays them 2ms +-2ms (so frames reorder). An
on-path attacker replays recorded secure frames later, after the receiver's
counter window has moved, from a spoofed source, and to the wrong device.

Reads start for --duration of virtual time; then the run winds down until
every read is answered, given up or timed out, or for at most 2 minutes of
virtual time: whatever did not finish by then (pairings never started or
in flight, reads in flight, frames queued) is shown on the "unfinished"
line. A read that falls due while the previous one to the same device is
still in flight is skipped (counted), so a tiny --interval costs no more
events than the reads it starts. A run is a pure function of
the flags: the same --seed gives the same trace and pcap, byte for byte.

Exit status: 0 when every replayed frame was refused, 1 when any was accepted
by a session core, 2 for bad flags.`,
		Example: `  mattersim run
  mattersim run --seed 7 --nodes 200 --loss 10 --duration 5m
  mattersim run --nodes 10 --duration 5s --trace run.jsonl --pcap run.pcap
  mattersim run --establish keys --nodes 2000
  mattersim run --establish keys --nodes 100000 --controllers 2 --duration 10s --interval 10s`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput("run: unexpected argument %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return runDefault(cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.Uint64Var(&o.seed, "seed", d.Seed, "run seed (printed in the output)")
	f.IntVar(&o.nodes, "nodes", d.Nodes, "number of nodes: controllers + devices (at least controllers + 1)")
	f.IntVar(&o.ctls, "controllers", 1, fmt.Sprintf("number of controllers; each serves at most %d devices (16-bit session ids)", scenarios.MaxDevicesPerController))
	f.Float64Var(&o.loss, "loss", d.LossPercent, "Bernoulli loss on every link, in percent [0, 100]")
	f.DurationVar(&o.duration, "duration", d.Duration, "virtual time during which the controller reads (e.g. 60s, 5m)")
	f.DurationVar(&o.interval, "interval", scenarios.DefaultReadInterval, "virtual time between two reads of one device")
	f.BoolVar(&o.noAttack, "no-attacker", false, "leave the replaying attacker out")
	f.StringVar(&o.establish, "establish", d.Establish.String(), "how sessions are opened: pase (handshake over the network) or keys (installed at time 0)")
	f.StringVar(&o.tracePath, "trace", "", "write the event trace to `FILE` (JSON lines)")
	f.StringVar(&o.pcapPath, "pcap", "", "write every frame to `FILE` (pcap, raw IPv6, nanosecond timestamps)")
	return c
}

func (o runOpts) validate() error {
	switch {
	case o.ctls < 1:
		return badInput("run: --controllers must be at least 1, got %d", o.ctls)
	case o.nodes < o.ctls+1:
		return badInput("run: --nodes must be at least %d (%d controller(s) + 1 device), got %d", o.ctls+1, o.ctls, o.nodes)
	case (o.nodes-1)/o.ctls > scenarios.MaxDevicesPerController:
		devs := o.nodes - o.ctls
		return badInput("run: --nodes %d: %d devices need --controllers %d or more (a controller holds at most %d sessions), got %d",
			o.nodes, devs, (devs+scenarios.MaxDevicesPerController-1)/scenarios.MaxDevicesPerController, scenarios.MaxDevicesPerController, o.ctls)
	case math.IsNaN(o.loss) || o.loss < 0 || o.loss > 100:
		return badInput("run: --loss must be a percentage in [0, 100], got %v", o.loss)
	case o.duration <= 0:
		return badInput("run: --duration must be positive, got %s", o.duration)
	case o.interval <= 0:
		return badInput("run: --interval must be positive, got %s", o.interval)
	}
	if _, err := scenarios.ParseEstablishment(o.establish); err != nil {
		return badInput("run: --establish must be pase or keys, got %q", o.establish)
	}
	return nil
}

func runDefault(stdout io.Writer, o runOpts) (err error) {
	opts := scenarios.Options{
		Seed:         o.seed,
		Nodes:        o.nodes,
		Controllers:  o.ctls,
		LossPercent:  o.loss,
		Duration:     o.duration,
		ReadInterval: o.interval,
		NoAttacker:   o.noAttack,
	}
	opts.Establish, _ = scenarios.ParseEstablishment(o.establish) // validated
	closeFile := func(f *os.File, flag string) {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("run: %s: %w", flag, cerr)
		}
	}
	if o.tracePath != "" {
		f, cerr := os.Create(o.tracePath)
		if cerr != nil {
			return badInput("run: --trace: %v", cerr)
		}
		defer closeFile(f, "--trace")
		opts.Trace = f
	}
	if o.pcapPath != "" {
		f, cerr := os.Create(o.pcapPath)
		if cerr != nil {
			return badInput("run: --pcap: %v", cerr)
		}
		defer closeFile(f, "--pcap")
		opts.Pcap = f
	}
	s, err := scenarios.Default(opts)
	if err != nil {
		var oe *scenarios.OptionError
		if errors.As(err, &oe) {
			return badInput("run: %v", err)
		}
		return fmt.Errorf("run: %w", err)
	}
	if err := s.WriteTable(stdout); err != nil {
		return err
	}
	if n := s.Replays.Failures(); n > 0 {
		return exitCodeError{1, fmt.Errorf("run: %d replayed frames were accepted by a session core (%d delivered as new messages, %d taken as new without delivery): replay protection failed",
			n, s.Replays.Accepted, s.Replays.Fresh)}
	}
	return nil
}
