package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/commissionee"
	"mattersim/nodes/devstate"
	"mattersim/nodes/dnssd"
	"mattersim/nodes/mdnsnet"
	"mattersim/nodes/onboarding"
	"mattersim/nodes/udp"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/pase"
	"mattersim/session/spake2p"
)

func init() { subcommands = append(subcommands, newDeviceCommand) }

// deviceIterations is the PBKDF2 iteration count of the verifier: the spec
// minimum, which matter.js and the SDK examples use (spec 3.9, 5.1.7).
const deviceIterations = 1000

func newDeviceCommand() *cobra.Command {
	var (
		listen        string
		passcode      uint32
		discriminator uint16
		vendorName    string
		productName   string
		maxFailures   int
		reopenAfter   time.Duration
		logEvery      time.Duration
		mdns          bool
		state         string
	)
	info := im.InteropBasicInfo()
	c := &cobra.Command{
		Use:   "device",
		Short: "Run a Matter device on real UDP that accepts PASE and serves Interaction Model reads",
		Long: `device runs a virtual Matter on/off light on a real UDP socket. It computes a
PASE verifier once from --passcode with a random salt (1000 PBKDF2
iterations) and forgets the passcode, accepts PASE (spec 4.14.1) from one
commissioner at a time, answers Interaction Model reads and invokes (Basic
Information on endpoint 0, On/Off on endpoint 1) on PASE sessions, and closes
sessions on CloseSession. It prints a ready line to stdout (with the manual
pairing code and QR code of --passcode and --discriminator), logs notable
events to stderr, and runs until SIGINT or SIGTERM.

With --mdns (the default) it is discoverable on every multicast interface:
it advertises _matterc._udp (spec 4.3.1: discriminator, vendor and product,
CM=1) while its commissioning window is open and _matter._tcp for each
fabric (spec 4.3.2), withdrawing records with an mDNS goodbye when the
window closes or a fabric goes, so a controller can commission it by
pairing code alone.

After --max-failures failed pairing attempts (20: spec 13.3, as the SDK
counts them) the commissioning window closes: PBKDFParamRequests are then
acknowledged and ignored, and pair reports that. It stays closed until
restart unless --reopen-after gives a time to re-open it with the count
reset. Refused and failed pairing requests are logged once per --log-every
and the repeats summarised, so a flood of hostile datagrams cannot fill the
log.

Without --state a restart is a factory reset. With --state FILE the device
keeps its commissioned state in FILE (versioned JSON, mode 0600: it holds
the operational private keys) and restores it at start: the PASE verifier
and salt (not the passcode: give the same --passcode, which is checked
against the verifier), the committed fabrics with their certificates and
keys, labels and the next fabric index, the ACL, and the CASE resumption
records. FILE is written atomically after every committed change
(CommissioningComplete, RemoveFabric, UpdateFabricLabel, an ACL write, a
new CASE session), never while a commissioning is pending under the
fail-safe. A device restored with a fabric starts with its commissioning
window closed. A bad, foreign or newer-version FILE is refused (exit 2);
delete FILE to factory-reset.`,
		Example: `  mattersim device --listen [::]:5540 --passcode 20202021 --discriminator 3840`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := netip.ParseAddrPort(listen)
			if err != nil {
				return badInput("--listen %q: want host:port, e.g. [::]:5540 (%v)", listen, err)
			}
			if err := spake2p.CheckPasscode(passcode); err != nil {
				return badInput("--passcode %d: %v", passcode, err)
			}
			if discriminator > 0xFFF {
				return badInput("--discriminator %d: must be 0..4095 (12 bits, spec 5.1.1.5)", discriminator)
			}
			if maxFailures < 1 {
				return badInput("--max-failures %d: must be at least 1", maxFailures)
			}
			if reopenAfter < 0 {
				return badInput("--reopen-after %v: must not be negative", reopenAfter)
			}
			if logEvery < 0 {
				return badInput("--log-every %v: must not be negative", logEvery)
			}
			info.VendorName, info.ProductName = vendorName, productName
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDevice(ctx, deviceOptions{addr: addr, passcode: passcode, discriminator: discriminator, info: info,
				maxFailures: maxFailures, reopenAfter: reopenAfter, logEvery: logEvery, mdns: mdns, state: state},
				cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "[::]:5540", "UDP address to listen on")
	f.Uint32Var(&passcode, "passcode", 20202021, "setup passcode (spec 5.1.7.1: 1..99999998, not a trivial one)")
	f.Uint16Var(&discriminator, "discriminator", 3840, "12-bit discriminator (advertised in _matterc._udp, and in the pairing codes)")
	f.StringVar(&vendorName, "vendor-name", info.VendorName, "BasicInformation.VendorName")
	f.StringVar(&productName, "product-name", info.ProductName, "BasicInformation.ProductName")
	f.IntVar(&maxFailures, "max-failures", pase.DefaultMaxFailures, "failed pairing attempts that close the commissioning window")
	f.DurationVar(&reopenAfter, "reopen-after", 0, "re-open a window closed by failures after this long (0: stays closed until restart)")
	f.BoolVar(&mdns, "mdns", true, "advertise by mDNS on every multicast interface: _matterc._udp while the commissioning window is open, _matter._tcp per fabric")
	f.StringVar(&state, "state", "", "keep the commissioned state in this file (JSON, mode 0600) and restore it at start (empty: a restart is a factory reset)")
	f.DurationVar(&logEvery, "log-every", defaultLogEvery, "log refused and failed pairing requests once per interval, summarising repeats (0: every one)")
	return c
}

type deviceOptions struct {
	mdns          bool
	addr          netip.AddrPort
	passcode      uint32
	discriminator uint16
	info          im.BasicInfo
	maxFailures   int
	reopenAfter   time.Duration
	logEvery      time.Duration
	state         string // --state file, "" for none
}

// noArgs rejects positional arguments as bad input (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInput("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// newRealManager returns a Manager for a real network: crypto/rand for
// the spec's random values, a ChaCha8 jitter stream seeded from it.
func newRealManager() (*session.Manager, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, err
	}
	return session.New(session.Config{}, crand.Reader, rand.NewChaCha8(seed))
}

// listenUDP opens the UDP socket for addr, unmapping IPv4-mapped forms.
func listenUDP(addr netip.AddrPort) (*net.UDPConn, error) {
	network := "udp"
	if addr.Addr().Is6() && !addr.Addr().Is4In6() && !addr.Addr().IsUnspecified() {
		network = "udp6"
	}
	return net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
}

func runDevice(ctx context.Context, o deviceOptions, stdout, stderr io.Writer) error {
	var kept *commissionee.State
	if o.state != "" {
		st, ok, err := devstate.Load(o.state)
		if err != nil {
			return badInput("--state: %v (delete the file to factory-reset)", err)
		}
		if ok {
			kept = &st
		}
	}
	var ver spake2p.Verifier
	var salt []byte
	if kept != nil {
		// The kept verifier (spec 5.1.7: the passcode itself is not kept):
		// the printed pairing codes must still be the device's.
		salt = kept.Salt
		v, err := spake2p.ComputeVerifier(o.passcode, salt, int(kept.Iterations))
		if err != nil || v != kept.Verifier {
			return badInput("--passcode %d does not match the PASE verifier kept in %s (field pase.verifier): give the passcode the device was first started with, or delete the file to factory-reset",
				o.passcode, o.state)
		}
		ver = v
	} else {
		// Verifier once, with a fresh random 32-byte salt; the passcode is
		// not kept (spec 5.1.7: a device stores the verifier, not the
		// passcode).
		salt = make([]byte, 32)
		if _, err := crand.Read(salt); err != nil {
			return err
		}
		var err error
		if ver, err = spake2p.ComputeVerifier(o.passcode, salt, deviceIterations); err != nil {
			return badInput("--passcode: %v", err)
		}
	}
	// Kept only for the printed pairing codes, which carry it anyway.
	passcode := o.passcode
	o.passcode = 0

	m, err := newRealManager()
	if err != nil {
		return err
	}
	conn, err := listenUDP(o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	// Certificates are checked at the wall-clock time: the Matter epoch
	// time of the udp node's clock 0 (it starts below).
	epoch := cert.Time(time.Now().Unix() - matterEpochUnix)
	var dvVersion [4]byte
	_, _ = crand.Read(dvVersion[:]) // spec 7.10.3: DataVersion starts random
	cfg := commissionee.Config{Verifier: ver, Salt: salt, Iterations: deviceIterations,
		Rand: crand.Reader, Epoch: func(clock.Time) cert.Time { return epoch }, Info: o.info,
		DataVersion: binary.LittleEndian.Uint32(dvVersion[:]), MaxFailures: o.maxFailures, ReopenAfter: o.reopenAfter}
	var dev *commissionee.Device
	if kept != nil {
		dev, err = commissionee.NewFromState(m, 0, cfg, *kept)
		if err != nil {
			// Load checked the file as NewFromState does; name it anyway.
			err = badInput("--state: state file %s: %v", o.state, err)
		}
	} else {
		dev, err = commissionee.New(m, cfg)
	}
	if err != nil {
		conn.Close()
		return err
	}
	var keeper *devstate.Keeper
	if o.state != "" {
		if keeper, err = devstate.NewKeeper(o.state, kept); err == nil && kept == nil {
			// A new file at once: the path is writable, and the salt (so the
			// verifier) is kept from the first start.
			_, err = keeper.Keep(dev.State())
		}
		if err != nil {
			conn.Close()
			return badInput("--state: %v", err)
		}
		if kept != nil {
			fmt.Fprintf(stderr, "mattersim device: state: restored %d fabric(s), %d ACL entries, %d resumption record(s) from %s\n",
				len(kept.Fabrics.Fabrics), len(kept.Fabrics.ACL), len(kept.Resumption), o.state)
		} else {
			fmt.Fprintf(stderr, "mattersim device: state: no %s yet: factory-new, keeping the state there\n", o.state)
		}
	}
	d := newDeviceLoop(dev, newLogLimiter(stderr, "mattersim device: ", o.logEvery))
	d.keeper = keeper
	defer d.log.Flush()
	node := udp.Start(conn, m, udp.Options{})
	defer node.Close()
	if o.mdns {
		d.comm = commissionable(m, o)
		d.mdns = startMDNS(node, d, stderr)
		if d.mdns != nil {
			defer d.mdns.Close()
		}
	}
	// The first notices (a restored device's window closed) and record
	// set: _matterc._udp while the window is open, a restored fabric's
	// operational instance.
	if err := node.Do(func(*session.Manager, clock.Time) { d.notices(); d.advertise() }); err != nil {
		return err
	}

	codes := onboarding.Payload{VendorID: o.info.VendorID, ProductID: o.info.ProductID,
		Discovery: onboarding.DiscoveryOnNetwork, Discriminator: o.discriminator, Passcode: passcode}
	manual, _ := codes.Manual() // the passcode and discriminator were checked above
	qr, _ := codes.QR()
	fmt.Fprintf(stdout, "mattersim device: listening on %s discriminator %d manual %s qr %s\n", node.Addr(), o.discriminator,
		manual, qr)
	err = drive(ctx, node, d, func() bool { return false })
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "mattersim device: stopping")
		return nil
	}
	return err
}

// deviceLoop runs a commissionee.Device on the udp loop (inside Do): its
// notices become log lines (rate-limited for the kinds hostile input
// repeats) and, when the fabric table changes, the mDNS responder's
// records: _matterc._udp while the window is open, _matter._tcp per fabric.
type deviceLoop struct {
	dev  *commissionee.Device
	log  *logLimiter
	mdns *mdnsnet.Driver // nil without --mdns or when no interface can multicast
	comm dnssd.Commissionable
	// keeper writes the device's State to the --state file after every
	// input that changed it (nil without --state).
	keeper *devstate.Keeper
}

func newDeviceLoop(dev *commissionee.Device, log *logLimiter) *deviceLoop {
	return &deviceLoop{dev: dev, log: log}
}

// Kinds of log line that repeat with hostile input, rate-limited.
const (
	logKindFailed  = "PASE failures"
	logKindRefused = "refused PASE requests"
	logKindCASE    = "CASE failures"
	logKindState   = "state write failures"
)

func (d *deviceLoop) Deadline() clock.Time { return min(d.dev.Deadline(), d.log.Deadline()) }

func (d *deviceLoop) HandleTimeout(m *session.Manager, now clock.Time) {
	d.dev.HandleTimeout(m, now)
	d.notices()
	d.keep(now)
	d.log.HandleTimeout(now)
}

func (d *deviceLoop) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	d.dev.HandleEvent(m, now, ev)
	d.notices()
	d.keep(now)
}

// keep writes the State to the --state file if the input changed it; a
// failed write is logged and retried after the next input.
func (d *deviceLoop) keep(now clock.Time) {
	if d.keeper == nil {
		return
	}
	st := d.dev.State()
	saved, err := d.keeper.Keep(st)
	switch {
	case err != nil:
		d.log.printf(now, logKindState, "state: %v; retrying after the next change", err)
	case saved:
		d.log.printf(now, "", "state: saved %s (%d fabric(s), %d ACL entries, %d resumption record(s))",
			d.keeper.Path, len(st.Fabrics.Fabrics), len(st.Fabrics.ACL), len(st.Resumption))
	}
}

func (d *deviceLoop) notices() {
	for {
		n, ok := d.dev.Poll()
		if !ok {
			return
		}
		kind := ""
		switch n.Kind {
		case commissionee.NoticePASEFailed:
			kind = logKindFailed
		case commissionee.NoticePASERefused:
			kind = logKindRefused
		case commissionee.NoticeCASEFailed:
			kind = logKindCASE
		}
		d.log.printf(n.At, kind, "%s", n.Text)
		if n.OperationalChanged() || n.Kind == commissionee.NoticeWindowClosed || n.Kind == commissionee.NoticeWindowOpened {
			d.advertise()
		}
	}
}

// advertise gives the mDNS driver what the device advertises now:
// _matterc._udp while the commissioning window is open (spec 4.3.1), the
// operational instance of every fabric (spec 4.3.2; an added fabric before
// CommissioningComplete: the commissioner finds the node by it for the
// CASE step). The snapshot is taken here on the udp loop, which owns the
// Device; the driver builds each interface's records from it under its
// own lock.
func (d *deviceLoop) advertise() {
	if d.mdns == nil {
		return
	}
	d.mdns.SetRecords(deviceRecords(d.dev.WindowOpen(), d.dev.Operational(), d.comm))
}

// deviceRecords returns what the device advertises on a host: comm's
// records while the window is open, then one operational instance per
// fabric with the same MRP intervals.
func deviceRecords(open bool, ops []commissionee.Operational, comm dnssd.Commissionable) func(h dnssd.Host) []dns.RR {
	return func(h dnssd.Host) []dns.RR {
		var rrs []dns.RR
		if open {
			rrs = comm.Records(h)
		}
		for _, op := range ops {
			o := dnssd.Operational{CompressedFabricID: binary.BigEndian.Uint64(op.CompressedFabricID[:]),
				NodeID: op.NodeID, MRP: comm.MRP}
			rrs = append(rrs, o.Records(h)...)
		}
		// Each set names the host's AAAA records (and _services PTRs may
		// repeat): one copy of each in a response.
		seen := make(map[string]bool, len(rrs))
		out := rrs[:0]
		for _, rr := range rrs {
			if k := rr.String(); !seen[k] {
				seen[k] = true
				out = append(out, rr)
			}
		}
		return out
	}
}

// commissionable is the device's _matterc._udp description: a random
// instance name for the run, the discriminator, the vendor and product
// of its Basic Information, CM=1 (basic window), the MRP intervals its
// sessions use, and pairing hint 33 (power cycle, see the device's
// manual: spec 5.1.7.1 bits 0 and 5), as the SDK's examples advertise.
func commissionable(m *session.Manager, o deviceOptions) dnssd.Commissionable {
	iv := m.Config().Local.Normalize()
	var id [8]byte
	_, _ = crand.Read(id[:])
	return dnssd.Commissionable{
		Instance:      mdnsnet.HostName(id),
		Discriminator: o.discriminator,
		VendorID:      o.info.VendorID,
		ProductID:     o.info.ProductID,
		DeviceName:    o.info.ProductName,
		Mode:          1,
		PairingHint:   33,
		MRP:           dnssd.MRP{Idle: iv.Idle, Active: iv.Active, ActiveThreshold: iv.ActiveThreshold},
	}
}

// startMDNS starts the mDNS driver for node's port with a random host name
// for the run; nil (logged) when no interface can multicast or port 5353
// cannot be shared. Its log lines go to the loop without waiting for it
// (the driver calls logf under its lock, and SetRecords runs on the loop).
func startMDNS(node *udp.Node, d *deviceLoop, stderr io.Writer) *mdnsnet.Driver {
	var id [8]byte
	_, _ = crand.Read(id[:])
	host := mdnsnet.HostName(id)
	logf := func(format string, args ...any) {
		go func() {
			_ = node.Do(func(_ *session.Manager, now clock.Time) { d.log.printf(now, "", format, args...) })
		}()
	}
	drv, err := mdnsnet.Start(mdnsnet.Options{Host: host, Port: node.Addr().Port(), Logf: logf})
	if err != nil {
		fmt.Fprintf(stderr, "mattersim device: mDNS: %v; discovery off\n", err)
		return nil
	}
	fmt.Fprintf(stderr, "mattersim device: mDNS: answering for host %s.local. on %s\n", host, strings.Join(drv.Interfaces(), ","))
	return drv
}

// matterEpochUnix is 2000-01-01T00:00:00Z in Unix seconds (spec 3.5.3,
// the epoch of certificate times).
const matterEpochUnix = 946684800

// loopHandler is what drive runs on the udp loop.
type loopHandler interface {
	HandleEvent(m *session.Manager, now clock.Time, ev session.Event)
	HandleTimeout(m *session.Manager, now clock.Time)
	Deadline() clock.Time
}

// drive feeds node's events and h's timeouts to h, each on the node's
// loop, until stop reports true after a call, ctx ends or the node fails.
// The handler's deadline is on the node's clock; the one wall timer here
// is re-armed after every call.
func drive(ctx context.Context, node *udp.Node, h loopHandler, stop func() bool) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	rearm := func(now clock.Time) {
		timer.Stop()
		if dl := h.Deadline(); dl != clock.Never {
			timer.Reset(max(0, dl.Sub(now)))
		}
	}
	do := func(f func(m *session.Manager, now clock.Time)) error {
		return node.Do(func(m *session.Manager, now clock.Time) { f(m, now); rearm(now) })
	}
	if err := do(func(*session.Manager, clock.Time) {}); err != nil {
		return err
	}
	events := node.Events()
	for !stop() {
		var err error
		select {
		case ev, ok := <-events:
			if !ok {
				return udp.ErrClosed
			}
			err = do(func(m *session.Manager, now clock.Time) { h.HandleEvent(m, now, ev) })
		case <-timer.C:
			err = do(h.HandleTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
