package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mattersim/nodes/dnssd"
	"mattersim/scenarios"
	"mattersim/session/cert"
	"mattersim/sim"
	"mattersim/sim/bridge"
	"mattersim/sim/bridge/peer"
)

func init() { subcommands = append(subcommands, newBridgeCommand) }

//go:embed bridge_default.yaml
var bridgeDefaultScenario []byte

type bridgeOpts struct {
	tap     string
	create  bool
	dur     time.Duration
	trace   string
	pcap    string
	set     []string
	network string
	// discriminator is the first virtual device's; device k has
	// discriminator + k.
	discriminator uint16
	// pairDisc >= 0: the first virtual controller pairs with the device of
	// that discriminator it finds on the link, with pairPasscode.
	pairDisc     int
	pairPasscode uint32
	// commDisc >= 0: the first virtual controller commissions the device
	// of that discriminator it finds on the link, with commPasscode.
	commDisc     int
	commPasscode uint32
	// epoch is the Matter epoch time of virtual time 0.
	epoch cert.Time
}

func newBridgeCommand() *cobra.Command {
	var o bridgeOpts
	c := &cobra.Command{
		Use:   "bridge --tap NAME [--create] [SCENARIO]",
		Short: "Attach the virtual network to a Linux TAP interface and run it in real time",
		Long: `bridge builds the scenario's virtual network (default: one virtual controller
and one virtual device, parameters devices and loss) and attaches its switch
to the TAP interface --tap as one more port (the built-in network's
controller is powered off: a device serves one pairing at a time, so its
device is left to real controllers), so real controllers and devices
on that link talk to the virtual nodes. The engine runs in real time: the
virtual clock follows the wall clock, and what arrives on the TAP is the only
input not fixed by the seed (the trace says so). The bridge answers IPv6
neighbour solicitations for the virtual nodes' addresses (fd00:6d73:696d::N
and fe80::N, N = node index + 1) and learns the real side's addresses; the
scenario's faults, partitions and adversary apply to bridged frames in both
directions, and the trace and capture show them.

The devices left to real controllers (all of them in the built-in
network) are commissionable: PASE, the commissioning clusters with the SDK
test attestation, CASE, then reads, invokes and subscriptions over CASE
(nodes/commissionee). Each advertises _matterc._udp while its
commissioning window is open and _matter._tcp for each fabric it joins;
the bridge prints a line per commissioning step. A scenario file's
controllers keep the devices they serve.

Every virtual controller browses _matterc._udp on the link and prints
what it finds. With --pair-discriminator D the first one pairs with the
device of discriminator D (PASE, a read of VendorName, CloseSession); with
--commission-discriminator D it commissions it: PASE, the commissioning
flow with the SDK test attestation and a fabric minted from the seed,
operational discovery (_I<compressed fabric id>._sub._matter._tcp), CASE
to the address advertised, CommissioningComplete, a read of VendorName
and OnOff over CASE, and it keeps the CASE session. Both run on UDP port
5541 of the controller's node, so the scenario's faults apply.

--create creates the TAP (it must not exist), sets its MTU to 1280 and
brings it up; it disappears when bridge exits. Without --create the TAP
must exist (ip tuntap add dev NAME mode tap). Both need CAP_NET_ADMIN.
bridge runs until SIGINT or SIGTERM, or for --for.

Exit status: 0 on a clean stop; 1 when the bridge cannot run (no
CAP_NET_ADMIN, TAP missing or taken); 2 for bad flags or scenario.`,
		Example: `  mattersim bridge --tap mtr0 --create
  mattersim bridge --tap mtr0 --create --set loss=20% --trace trace.jsonl
  mattersim bridge --tap mtr0 --create --commission-discriminator 3840 --commission-passcode 20202021`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBridge(cmd, args, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.tap, "tap", "", "TAP interface name (required)")
	f.BoolVar(&o.create, "create", false, "create the TAP (removed on exit)")
	f.DurationVar(&o.dur, "for", 0, "stop after this wall time (0: run until SIGINT or SIGTERM)")
	f.StringVar(&o.trace, "trace", "", "write the JSON-lines trace to this file")
	f.StringVar(&o.pcap, "pcap", "", "write a capture of every switch frame to this file")
	f.StringArrayVar(&o.set, "set", nil, "override a scenario parameter: name=value (repeatable)")
	f.Uint16Var(&o.discriminator, "discriminator", 3840, "the first device's discriminator (device k: this + k), advertised over mDNS")
	f.IntVar(&o.pairDisc, "pair-discriminator", -1, "the first virtual controller pairs (PASE + a read) with the device of this discriminator it discovers on the link")
	f.Uint32Var(&o.pairPasscode, "pair-passcode", 20202021, "the passcode for --pair-discriminator")
	f.IntVar(&o.commDisc, "commission-discriminator", -1, "the first virtual controller commissions (PASE, attestation, NOC, operational discovery, CASE, CommissioningComplete) the device of this discriminator it discovers on the link")
	f.Uint32Var(&o.commPasscode, "commission-passcode", 20202021, "the passcode for --commission-discriminator")
	f.StringVar(&o.network, "network", "", "network mode: netstack or direct (default: the scenario's)")
	return c
}

func runBridge(cmd *cobra.Command, args []string, o bridgeOpts) (err error) {
	stdout := cmd.OutOrStdout()
	if o.tap == "" {
		return badInput("bridge: --tap NAME is required")
	}
	if o.pairDisc > 0xFFF || o.commDisc > 0xFFF {
		return badInput("bridge: a discriminator has 12 bits (0..4095)")
	}
	if o.pairDisc >= 0 && o.commDisc >= 0 {
		return badInput("bridge: --pair-discriminator and --commission-discriminator exclude each other (one virtual controller, one real peer)")
	}
	set, err := scenarios.ParseSet(o.set)
	if err != nil {
		return badInput("bridge: %v", err)
	}
	ov := scenarios.Overrides{Set: set}
	if ov.Network, err = networkFlag(cmd, "bridge", o.network); err != nil {
		return err
	}
	var s *scenarios.Scenario
	if len(args) == 1 {
		s, err = scenarios.Open(args[0], ov)
	} else {
		s, err = scenarios.LoadBytes("bridge", bridgeDefaultScenario, ov)
	}
	if err != nil {
		return scenarioError(err)
	}

	tap, err := bridge.OpenTap(o.tap, o.create, sim.DefaultMTU)
	if err != nil {
		return exitCodeError{1, err}
	}
	defer tap.Close()

	var rc scenarios.RunConfig
	var closers []func() error
	defer func() {
		for _, c := range closers {
			if cerr := c(); cerr != nil && err == nil {
				err = fmt.Errorf("bridge: %w", cerr)
			}
		}
	}()
	if o.trace != "" {
		f, cerr := os.Create(o.trace)
		if cerr != nil {
			return badInput("bridge: %v", cerr)
		}
		closers = append(closers, f.Close)
		rc.Trace = f // sim.Trace buffers; the bridge flushes it as it runs
	}
	d, err := scenarios.NewNet(s, rc)
	if err != nil {
		return fmt.Errorf("bridge: %s: %w", s.Source(), err)
	}
	e := d.Engine
	var pcap *sim.Pcap
	var pw *bufio.Writer
	if o.pcap != "" {
		f, cerr := os.Create(o.pcap)
		if cerr != nil {
			return badInput("bridge: %v", cerr)
		}
		closers = append([]func() error{f.Close}, closers...)
		pw = bufio.NewWriter(f)
		if pcap, err = sim.NewPcap(pw); err != nil {
			return fmt.Errorf("bridge: pcap: %w", err)
		}
		d.Net.SetPcap(pcap)
	}
	br, err := bridge.New(d.Net, tap, o.tap)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	// A scenario file's controllers run and keep the devices they serve
	// (the scenario's PASE responder and workload); every other device is
	// left to real controllers and is commissionable.
	served := map[int]bool{}
	if len(args) == 1 {
		_, sv := s.Served()
		for _, devs := range sv {
			for _, i := range devs {
				served[i] = true
			}
		}
	}
	o.epoch = matterEpochAt(time.Now(), e.Now())
	ads, err := advertiseDevices(d, s, o.discriminator, served, o.epoch, stdout)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	fmt.Fprintf(stdout, "bridge: %s attached as switch port %d (MAC %s), %s network, real time\n",
		o.tap, br.Port(), br.MAC(), s.Network.Sim())
	ctrl := map[int]bool{}
	for _, c := range d.Controllers {
		ctrl[c] = true
	}
	for i := range br.Port() {
		role := "device"
		if ctrl[i] {
			role = "controller"
		}
		if len(args) == 0 && ctrl[i] {
			role += " (powered off; browsing mDNS)"
		}
		extra := ""
		if ad, ok := ads[i]; ok {
			extra = fmt.Sprintf(" discriminator %d passcode %d mdns %s", ad.Discriminator(), ad.Passcode(), ad.Instance())
		}
		fmt.Fprintf(stdout, "node %d %s: [%s]:%d fe80::%x%%%s%s\n", i, role, sim.Addr(i), sim.MatterPort, i+1, o.tap, extra)
	}
	fmt.Fprintln(stdout, "ready")

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for i, nd := range d.Nodes {
		if len(args) == 0 && ctrl[i] {
			// The built-in network leaves its device to real controllers.
			// Its mDNS browser still runs: the Matter node is off, the
			// network node on.
			if err := nd.PowerOff(e.Now()); err != nil {
				return fmt.Errorf("bridge: %w", err)
			}
			d.Net.Node(i).SetDown(false)
			continue
		}
		nd.Start(e.Now())
	}
	for _, ad := range ads {
		ad.Start(e.Now())
	}
	browsers, err := browseFromControllers(d, stdout, o)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	for _, b := range browsers {
		b.Start(e.Now())
	}
	runErr := br.Run(ctx, o.dur)
	for i, nd := range d.Nodes {
		if len(args) == 0 && ctrl[i] {
			continue
		}
		nd.Stop(e.Now())
	}
	st := br.Stats()
	fmt.Fprintf(stdout, "bridge: stopped at %s: %d frames in, %d out, %d neighbour solicitations answered, %d neighbours learned\n",
		time.Duration(e.Now()), st.FramesIn, st.FramesOut, st.NDAnswered, st.Neighbours)
	if tr := e.Trace(); tr != nil {
		if ferr := tr.Flush(); ferr != nil && runErr == nil {
			runErr = ferr
		}
	}
	if pw != nil {
		if ferr := pw.Flush(); ferr != nil && runErr == nil {
			runErr = ferr
		}
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("bridge: %w", runErr)
	}
	return nil
}

// advertiseDevices makes every virtual device of d advertise itself
// (peer.Advertise) with discriminator first + k for device k, and every
// one but those in served commissionable, with its scenario group's
// passcode and session intervals.
func advertiseDevices(d *scenarios.Net, s *scenarios.Scenario, first uint16, served map[int]bool, epoch cert.Time,
	out io.Writer) (map[int]*peer.Device, error) {
	ads := make(map[int]*peer.Device, len(d.Devices))
	for k, i := range d.Devices {
		g := s.GroupOf(i)
		iv := s.Nodes[g].Session.Intervals()
		ad, err := peer.Advertise(peer.DeviceConfig{Node: d.Nodes[i], Sim: d.Net.Node(i), Commissionable: !served[i],
			Discriminator: first + uint16(k), Passcode: s.Nodes[g].PasscodeOrDefault(), Name: s.Nodes[g].Name,
			MRP: dnssd.MRP{Idle: iv.Idle, Active: iv.Active, ActiveThreshold: iv.ActiveThreshold}, Epoch: epoch, Out: out})
		if err != nil {
			return nil, err
		}
		ads[i] = ad
	}
	return ads, nil
}

// browseFromControllers gives every virtual controller of d an mDNS
// browser (peer.Browse); the first one pairs with (--pair-discriminator)
// or commissions (--commission-discriminator) the device asked for.
func browseFromControllers(d *scenarios.Net, stdout io.Writer, o bridgeOpts) ([]*peer.Controller, error) {
	var out []*peer.Controller
	for c, i := range d.Controllers {
		cfg := peer.ControllerConfig{Sim: d.Net.Node(i), PairDiscriminator: -1, CommissionDiscriminator: -1, Epoch: o.epoch, Out: stdout}
		if c == 0 {
			cfg.PairDiscriminator, cfg.PairPasscode = o.pairDisc, o.pairPasscode
			cfg.CommissionDiscriminator, cfg.CommissionPasscode = o.commDisc, o.commPasscode
		}
		b, err := peer.Browse(cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
