package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/dnssd"
	"mattersim/scenarios"
	"mattersim/session/cert"
	"mattersim/session/mrp"
	"mattersim/sim"
	"mattersim/sim/bridge"
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
			extra = fmt.Sprintf(" discriminator %d passcode %d mdns %s", ad.disc, ad.passcode, ad.instance)
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
		ad.r.Start(e.Now())
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

// deviceAd is one virtual device's mDNS responder and its commissionable
// Device.
type deviceAd struct {
	node     int
	r        *dnssd.Responder
	comm     dnssd.Commissionable
	host     dnssd.Host
	disc     uint16
	passcode uint32
	instance string
	dev      *commissionee.Handshaker
}

// records is what the device advertises now (advertisedRecords).
func (ad *deviceAd) records() []dns.RR {
	if ad.dev == nil || ad.dev.Device() == nil {
		return ad.comm.Records(ad.host)
	}
	d := ad.dev.Device()
	var ops []dnssd.Operational
	for _, op := range d.Operational() {
		ops = append(ops, dnssd.Operational{CompressedFabricID: binary.BigEndian.Uint64(op.CompressedFabricID[:]),
			NodeID: op.NodeID, MRP: ad.comm.MRP})
	}
	return advertisedRecords(ad.comm, ad.host, d.WindowOpen(), ops)
}

// advertisedRecords is what a device on host h advertises: c's
// _matterc._udp while its commissioning window is open, one _matter._tcp
// instance per fabric in ops, and the host's AAAA records once however
// many services name the host (dnssd.Merge).
func advertisedRecords(c dnssd.Commissionable, h dnssd.Host, windowOpen bool, ops []dnssd.Operational) []dns.RR {
	var sets [][]dns.RR
	if windowOpen {
		sets = append(sets, c.Records(h))
	}
	for _, o := range ops {
		sets = append(sets, o.Records(h))
	}
	return dnssd.Merge(sets...)
}

// advertiseDevices makes every virtual device of d but those in served
// commissionable (a
// commissionee.Device as its node's Handshaker, in place of the
// scenario's PASE responder and IM workload, with its passcode and
// randomness from the node's seeded streams) and gives it an mDNS
// responder on port 5353 (joined to ff02::fb) advertising _matterc._udp
// with its discriminator, the test vendor and product (0xFFF1, 0x8000) and
// the MRP intervals its sessions advertise (spec 4.3.1). The instance name
// is drawn from the device's seeded stream "dnssd/instance". Once
// commissioned the device advertises _matter._tcp per fabric and
// withdraws _matterc._udp (dnssd goodbye), and says so on out; epoch is
// the Matter epoch time of virtual time 0 (the run follows the wall
// clock).
func advertiseDevices(d *scenarios.Net, s *scenarios.Scenario, first uint16, served map[int]bool, epoch cert.Time,
	out io.Writer) (map[int]*deviceAd, error) {
	ads := make(map[int]*deviceAd, len(d.Devices))
	seeds := d.Engine.Seeds()
	tr := d.Engine.Trace()
	for k, i := range d.Devices {
		g := s.GroupOf(i)
		iv := s.Nodes[g].Session.Intervals()
		mrpv := dnssd.MRP{Idle: iv.Idle, Active: iv.Active, ActiveThreshold: iv.ActiveThreshold}
		if mrpv.Idle == 0 {
			mrpv.Idle = mrp.DefaultIdleInterval
		}
		if mrpv.Active == 0 {
			mrpv.Active = mrp.DefaultActiveInterval
		}
		if mrpv.ActiveThreshold == 0 {
			mrpv.ActiveThreshold = mrp.DefaultActiveThreshold
		}
		sn := d.Net.Node(i)
		c := dnssd.Commissionable{
			Instance:      fmt.Sprintf("%016X", sn.Rand("dnssd/instance").Uint64()),
			Discriminator: (first + uint16(k)) & 0xFFF,
			VendorID:      0xFFF1,
			ProductID:     0x8000,
			DeviceName:    "mattersim " + s.Nodes[g].Name,
			Mode:          1,
			PairingHint:   33, // power cycle, device manual (spec 5.1.7.1 bits 0 and 5)
			MRP:           mrpv,
		}
		h := dnssd.Host{Name: deviceHostName(sn), Port: sim.MatterPort, Addrs: []netip.Addr{sn.Addr(), sn.LinkLocal()}}
		ad := &deviceAd{node: i, comm: c, host: h, disc: c.Discriminator, passcode: s.Nodes[g].PasscodeOrDefault(), instance: c.Instance}
		if !served[i] {
			// The SDK test attestation's vendor and product ids; the
			// vendor name the bridged devices always had.
			info := im.InteropBasicInfo()
			info.VendorName = "mattersim"
			var err error
			ad.dev, err = commissionee.NewHandshaker(d.Nodes[i], commissionee.Config{Passcode: ad.passcode,
				Rand: seeds.ChaCha8(i, "commissionee/rand"), Epoch: func(clock.Time) cert.Time { return epoch },
				Info: info, DataVersion: uint32(sn.Rand("commissionee/dataversion").Uint64())})
			if err != nil {
				return nil, fmt.Errorf("node %d: %w", i, err)
			}
			ad.dev.Notify = func(now clock.Time, _ *nodes.Node, nt commissionee.Notice) { ad.notice(now, nt, out, tr) }
		}
		ad.r = dnssd.NewResponder(c.Records(h))
		sock, err := sn.Bind(dnssd.Port, ad.r)
		if err != nil {
			return nil, err
		}
		if err := sn.JoinGroup(dnssd.Group); err != nil {
			return nil, err
		}
		ad.r.Attach(sock)
		ads[i] = ad
	}
	return ads, nil
}

// deviceHostName is a virtual device's mDNS host name: 16 upper-case hex
// digits, as spec 4.3.4 builds it from a 64-bit MAC (connectedhomeip
// src/lib/dnssd/ServiceNaming.cpp MakeHostName hex-encodes the MAC). A
// virtual node has no MAC of its own on the TAP link (the bridge answers
// neighbour solicitations with its own), so the 64 bits come from the
// node's seeded stream "dnssd/host": stable for a seed, and unlikely to
// collide with another bridge's devices on the link.
func deviceHostName(sn *sim.Node) string {
	return fmt.Sprintf("%016X", sn.Rand("dnssd/host").Uint64())
}

// notice prints a line per commissioning event of the device, traces
// every notice ("commissionee", with its kind and text) and updates the
// mDNS records when what the device advertises changes.
func (ad *deviceAd) notice(now clock.Time, nt commissionee.Notice, out io.Writer, tr *sim.Trace) {
	if tr != nil {
		tr.Event(now, ad.node, "commissionee", sim.Str("kind", nt.Kind.String()), sim.Str("text", nt.Text))
	}
	line := ""
	switch nt.Kind {
	case commissionee.NoticePASEEstablished:
		line = fmt.Sprintf("PASE session established with %s", nt.Peer)
	case commissionee.NoticeFabricAdded:
		line = fmt.Sprintf("AddNOC: fabric %d added (fabric id 0x%016X, node id 0x%016X), pending CommissioningComplete",
			nt.Fabric, nt.FabricID, nt.NodeID)
	case commissionee.NoticeCASEEstablished:
		line = fmt.Sprintf("CASE session with %s (fabric %d, peer node 0x%016X)", nt.Peer, nt.Fabric, nt.NodeID)
	case commissionee.NoticeCommissioned:
		line = fmt.Sprintf("commissioned: fabric %d node id 0x%016X", nt.Fabric, nt.NodeID)
		for _, op := range ad.dev.Device().Operational() {
			if op.Fabric == nt.Fabric {
				line += fmt.Sprintf(" (CASE reachable as %s._matter._tcp)", op.Name())
			}
		}
	case commissionee.NoticeFailSafeExpired, commissionee.NoticeFabricRemoved:
		line = nt.Text
	case commissionee.NoticeWindowClosed:
		line = fmt.Sprintf("commissioning window closed (%s): _matterc._udp withdrawn", nt.Window)
	case commissionee.NoticeWindowOpened:
		line = fmt.Sprintf("commissioning window open (%s): advertising _matterc._udp", nt.Window)
	}
	if line != "" {
		fmt.Fprintf(out, "node %d %s\n", ad.node, line)
	}
	if nt.OperationalChanged() || nt.Kind == commissionee.NoticeWindowClosed || nt.Kind == commissionee.NoticeWindowOpened {
		ad.r.SetRecords(now, ad.records())
	}
}

// browseFromControllers gives every virtual controller of d an mDNS
// browser for _matterc._udp on the bridged link: each commissionable
// device it hears of (a real one, or a virtual one) is printed and traced
// ("bridge-discovered", with the MRP intervals its TXT advertises). The
// first controller pairs with (--pair-discriminator) or commissions
// (--commission-discriminator) the device of the discriminator asked
// for; the browsers share the controller's mDNS socket through a
// dnssd.Mux, where a commissioning adds its operational browser.
func browseFromControllers(d *scenarios.Net, stdout io.Writer, o bridgeOpts) ([]*dnssd.Browser, error) {
	var out []*dnssd.Browser
	tr := d.Engine.Trace()
	for c, i := range d.Controllers {
		sn := d.Net.Node(i)
		var pairer *realPairer
		mux := &dnssd.Mux{}
		b := &dnssd.Browser{Service: dnssd.CommissionableService}
		b.OnFound = func(now clock.Time, from netip.AddrPort, f dnssd.Found) {
			m := f.MRP()
			fmt.Fprintf(stdout, "node %d discovered %s: D=%s CM=%s VP=%s SII=%v SAI=%v port %d addresses %v (from %s)\n",
				i, f.Instance, f.TXT["D"], f.TXT["CM"], f.TXT["VP"], m.Idle, m.Active, f.Port, f.Addrs, from.Addr())
			if tr != nil {
				tr.Event(now, i, "bridge-discovered", sim.Str("instance", f.Instance), sim.Str("from", from.Addr().String()),
					sim.Str("D", f.TXT["D"]), sim.Str("VP", f.TXT["VP"]),
					sim.Int("sii_ms", m.Idle.Milliseconds()), sim.Int("sai_ms", m.Active.Milliseconds()))
			}
			if c == 0 && o.pairDisc >= 0 && pairer == nil && f.Discriminator() == o.pairDisc {
				var err error
				if pairer, err = newRealPairer(sn, f, o.pairPasscode, stdout, tr); err != nil {
					fmt.Fprintf(stdout, "node %d cannot pair with %s: %v\n", i, f.Instance, err)
					return
				}
				pairer.start(now)
			}
			if c == 0 && o.commDisc >= 0 && pairer == nil && f.Discriminator() == o.commDisc {
				var err error
				if pairer, err = newRealPairer(sn, f, o.commPasscode, stdout, tr); err == nil {
					_, err = newRealCommissioner(pairer, sn, mux, o.epoch)
				}
				if err != nil {
					fmt.Fprintf(stdout, "node %d cannot commission %s: %v\n", i, f.Instance, err)
					return
				}
				fmt.Fprintf(stdout, "node %d commissioning %s at %s: PASE with SII=%v SAI=%v\n", i, f.Instance, pairer.peer, m.Idle, m.Active)
				pairer.start(now)
			}
		}
		mux.Add(b)
		sock, err := sn.Bind(dnssd.Port, mux)
		if err != nil {
			return nil, err
		}
		if err := sn.JoinGroup(dnssd.Group); err != nil {
			return nil, err
		}
		mux.Attach(sock)
		out = append(out, b)
	}
	return out, nil
}
