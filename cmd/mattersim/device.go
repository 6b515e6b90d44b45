package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
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

	"github.com/spf13/cobra"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/nodes/pairing"
	"mattersim/nodes/udp"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/message"
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
sessions on CloseSession. It prints a ready line to stdout, logs notable
events to stderr, and runs until SIGINT or SIGTERM.

After --max-failures failed pairing attempts (20: spec 13.3, as the SDK
counts them) the commissioning window closes: PBKDFParamRequests are then
acknowledged and ignored, and pair reports that. It stays closed until
restart unless --reopen-after gives a time to re-open it with the count
reset. Refused and failed pairing requests are logged once per --log-every
and the repeats summarised, so a flood of hostile datagrams cannot fill the
log.`,
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
				maxFailures: maxFailures, reopenAfter: reopenAfter, logEvery: logEvery, mdns: mdns},
				cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "[::]:5540", "UDP address to listen on")
	f.Uint32Var(&passcode, "passcode", 20202021, "setup passcode (spec 5.1.7.1: 1..99999998, not a trivial one)")
	f.Uint16Var(&discriminator, "discriminator", 3840, "12-bit discriminator (printed; this device does no discovery)")
	f.StringVar(&vendorName, "vendor-name", info.VendorName, "BasicInformation.VendorName")
	f.StringVar(&productName, "product-name", info.ProductName, "BasicInformation.ProductName")
	f.IntVar(&maxFailures, "max-failures", pase.DefaultMaxFailures, "failed pairing attempts that close the commissioning window")
	f.DurationVar(&reopenAfter, "reopen-after", 0, "re-open a window closed by failures after this long (0: stays closed until restart)")
	f.BoolVar(&mdns, "mdns", true, "advertise the operational instance of each fabric by mDNS on every multicast interface (controllers find the device for CASE by it)")
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
	// Verifier once, with a fresh random 32-byte salt; the passcode is not
	// kept (spec 5.1.7: a device stores the verifier, not the passcode).
	salt := make([]byte, 32)
	if _, err := crand.Read(salt); err != nil {
		return err
	}
	ver, err := spake2p.ComputeVerifier(o.passcode, salt, deviceIterations)
	if err != nil {
		return badInput("--passcode: %v", err)
	}
	o.passcode = 0

	m, err := newRealManager()
	if err != nil {
		return err
	}
	// Interaction Model requests open exchanges on secure sessions only;
	// the PASE responder registers PBKDFParamRequest on unsecured ones.
	// Nothing else opens an exchange (spec 4.10.5.2).
	m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, AnyOpcode: true, Secure: true})
	// The fail-safe is the commissioning clusters' (armed implicitly for
	// 60 s at PASE, im/fabrics), not the pairing responder's.
	resp, err := pairing.NewResponder(m, pairing.ResponderConfig{
		Verifier: ver, Salt: salt, Iterations: deviceIterations, Rand: crand.Reader,
		MaxFailures: o.maxFailures, ReopenAfter: o.reopenAfter, FailSafe: -1,
	})
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
	d, err := newDeviceLoop(m, resp, o, epoch, crand.Reader, binary.LittleEndian.Uint32(dvVersion[:]), stderr)
	if err != nil {
		conn.Close()
		return err
	}
	defer d.log.Flush()
	node := udp.Start(conn, m, udp.Options{})
	defer node.Close()
	if o.mdns {
		iv := m.Config().Local.Normalize()
		txt := []string{fmt.Sprintf("SII=%d", iv.Idle.Milliseconds()), fmt.Sprintf("SAI=%d", iv.Active.Milliseconds()),
			fmt.Sprintf("SAT=%d", iv.ActiveThreshold.Milliseconds())}
		// The responder logs from its goroutine and from Set, which runs on
		// the loop: hand the line to the loop without waiting for it.
		d.mdns = startMDNS(node.Addr().Port(), txt, func(format string, args ...any) {
			go func() {
				_ = node.Do(func(_ *session.Manager, now clock.Time) { d.now = now; d.logf(format, args...) })
			}()
		})
		defer d.mdns.Close()
	}

	fmt.Fprintf(stdout, "mattersim device: listening on %s discriminator %d\n", node.Addr(), o.discriminator)
	err = drive(ctx, node, d, func() bool { return false })
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "mattersim device: stopping")
		return nil
	}
	return err
}

// newDeviceLoop builds the device's handlers on m: the commissionable
// light over a fresh fabric table with the SDK test attestation, the CASE
// server, the subscription engine. rnd draws operational keys and
// signatures; dv seeds the DataVersions.
func newDeviceLoop(m *session.Manager, resp *pairing.Responder, o deviceOptions, epoch cert.Time, rnd io.Reader,
	dv uint32, stderr io.Writer) (*deviceLoop, error) {
	store, err := fabrics.New(fabrics.Config{Rand: rnd, Epoch: epoch})
	if err != nil {
		return nil, err
	}
	att, err := fabrics.TestAttestation()
	if err != nil {
		return nil, err
	}
	comm := &im.Commissioning{Store: store, Attestation: att}
	comm.Challenge = func(a *im.Accessor) ([16]byte, bool) {
		ref, ok := a.Session.(session.Ref)
		if !ok {
			return [16]byte{}, false
		}
		k, ok := m.SessionKeys(ref)
		return k.AttestationChallenge, ok
	}
	light := im.NewCommissionableLight(o.info, dv, comm)
	d := &deviceLoop{resp: resp, srv: im.NewServer(light.Node), light: light, comm: comm, store: store,
		cs:   newCASEServer(m, rnd, epoch, store.CASEFabrics),
		sess: make(map[session.Ref]*im.Accessor), ims: make(map[session.Exchange]*im.Exchange),
		subX: make(map[session.Exchange]uint32), subRefs: make(map[uint64]session.Ref),
		log: newLogLimiter(stderr, "mattersim device: ", o.logEvery), reopenAfter: o.reopenAfter}
	d.subs = &im.SubscriptionEngine{Server: d.srv}
	light.Node.OnChange = d.subs.MarkDirty
	return d, nil
}

// deviceLoop routes the Manager's events: PASE to the responder, IM on
// secure sessions to the server. It runs on the udp loop (inside Do).
type deviceLoop struct {
	resp  *pairing.Responder
	srv   *im.Server
	light *im.Light
	comm  *im.Commissioning
	store *fabrics.Store
	cs    *caseServer
	mdns  *mdnsResponder // nil without --mdns or when no interface can multicast
	// sess holds the subject of every secure session, for access checks.
	sess map[session.Ref]*im.Accessor
	// ims keeps the state of IM exchanges that span several messages
	// (chunked reports, Timed interactions); subs publishes subscriptions,
	// subX maps exchanges awaiting a subscriber's StatusResponse to their
	// subscription, subRefs the engine's peer ids to sessions.
	ims     map[session.Exchange]*im.Exchange
	subs    *im.SubscriptionEngine
	subX    map[session.Exchange]uint32
	subRefs map[uint64]session.Ref
	log     *logLimiter
	// reopenAfter is ResponderConfig.ReopenAfter, for the log.
	reopenAfter time.Duration
	now         clock.Time // of the call in progress, for log lines
}

// logf logs a line that is always printed.
func (d *deviceLoop) logf(format string, args ...any) { d.log.printf(d.now, "", format, args...) }

// Kinds of log line that repeat with hostile input, rate-limited.
const (
	logKindFailed  = "PASE failures"
	logKindRefused = "refused PASE requests"
)

func (d *deviceLoop) Deadline() clock.Time {
	return min(d.resp.Deadline(), d.log.Deadline(), d.comm.Deadline(), d.cs.Deadline(), d.subs.NextDeadline())
}

func (d *deviceLoop) HandleTimeout(m *session.Manager, now clock.Time) {
	d.now = now
	d.resp.HandleTimeout(now)
	d.cs.HandleTimeout(now)
	d.comm.HandleTimeout(now)
	d.notices(m)
	// Reports read without a subject: no access check, no accessing fabric.
	d.subs.HandleTimeout(now)
	d.drainSubs(m, now, session.Exchange{})
	d.log.HandleTimeout(now)
}

func (d *deviceLoop) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	d.now = now
	// CASE first: the pairing responder closes every other secure-channel
	// exchange on an unsecured session, Sigma1 included.
	consumed := d.cs.HandleEvent(now, ev) || d.resp.HandleEvent(now, ev)
	d.notices(m)
	if consumed {
		return
	}
	switch ev.Kind {
	case session.EventSessionClosed:
		if ev.Session.Secure() {
			delete(d.sess, ev.Session)
			d.logf("session %s closed (%s)", ev.Session, ev.Reason)
			d.subSessionClosed(m, now, ev.Session)
		}
	case session.EventGiveUp:
		d.subGiveUp(m, now, ev.Exchange)
	case session.EventExchangeClosed:
		delete(d.ims, ev.Exchange)
	case session.EventMessage:
		// A subscriber's StatusResponse to a priming chunk (on its
		// SubscribeRequest's exchange) or to a report (on ours).
		if id, ok := d.subX[ev.Exchange]; ok {
			d.subResponse(m, now, ev, id)
			return
		}
		if ev.Exchange.Initiator {
			_ = m.CloseExchange(now, ev.Exchange) // nothing else runs on exchanges we open
			return
		}
		if !ev.Session.Secure() || ev.Protocol != message.ProtocolInteractionModel {
			// Not served: close the exchange rather than leave it open
			// until the session dies (acks the message if asked).
			_ = m.CloseExchange(now, ev.Exchange)
			return
		}
		d.serve(m, now, ev)
	}
}

// serve answers one IM request on its exchange and closes the exchange.
func (d *deviceLoop) serve(m *session.Manager, now clock.Time, ev session.Event) {
	op := im.Opcode(ev.Opcode)
	acc := d.accessor(m, ev.Session)
	d.light.Node.Accessor = acc
	d.comm.Now = now
	defer func() { d.light.Node.Accessor = nil }()
	switch op {
	case im.OpReadRequest:
		var req im.ReadRequest
		if im.DecodeReadRequest(ev.Payload, &req) == nil {
			acc.FabricFiltered = req.IsFabricFiltered
			paths := make([]string, len(req.AttributeRequests))
			for i, p := range req.AttributeRequests {
				paths[i] = p.String()
			}
			d.logf("read %s from %s on %s", strings.Join(paths, ","), ev.From, ev.Session)
		}
	case im.OpWriteRequest:
		var req im.WriteRequest
		if im.DecodeWriteRequest(ev.Payload, &req) == nil {
			for _, w := range req.Requests {
				d.logf("write %s from %s on %s", w.Path, ev.From, ev.Session)
			}
		}
	case im.OpInvokeRequest:
		var req im.InvokeRequest
		if im.DecodeInvokeRequest(ev.Payload, &req) == nil {
			for _, c := range req.Requests {
				d.logf("invoke %s from %s on %s", c.Path, ev.From, ev.Session)
			}
		}
	}
	if op == im.OpSubscribeRequest {
		d.subscribe(m, now, ev)
		d.notices(m)
		return
	}
	x := d.ims[ev.Exchange]
	if x == nil {
		x = &im.Exchange{}
	}
	resp, out, ok := d.srv.HandleExchange(now, x, nil, op, ev.Payload)
	acc.FabricFiltered = false
	if ok {
		if err := m.Send(now, ev.Exchange, session.Message{Protocol: message.ProtocolInteractionModel,
			Opcode: uint8(resp), Payload: out, Reliable: true}); err != nil {
			d.logf("sending %s to %s: %v", resp, ev.From, err)
		}
	}
	if x.Open() {
		d.ims[ev.Exchange] = x // a chunked report or a Timed interaction continues
	} else {
		delete(d.ims, ev.Exchange)
		_ = m.CloseExchange(now, ev.Exchange)
	}
	d.notices(m)
}

func (d *deviceLoop) notices(m *session.Manager) {
	d.pairingNotices()
	d.caseNotices()
	d.commissioningNotices(m)
}

func (d *deviceLoop) pairingNotices() {
	for {
		n, ok := d.resp.Poll()
		if !ok {
			return
		}
		switch n.Kind {
		case pairing.NoticeEstablished:
			d.logf("PASE session established with %s (session %s, peer session %d)",
				n.Peer, n.Session, n.Result.PeerSessionID)
			d.sess[n.Session] = &im.Accessor{AuthMode: fabrics.AuthPASE, Session: n.Session}
			d.store.ArmImplicit(d.now, fabrics.DefaultFailSafe)
		case pairing.NoticeFailed:
			d.log.printf(d.now, logKindFailed, "PASE failure from %s: %v (failed attempts %d)", n.Peer, n.Err, n.Failures)
			if errors.Is(n.Err, pase.ErrWindowClosed) {
				if d.reopenAfter > 0 {
					d.logf("commissioning window closed after %d failed attempts; re-opens in %v", n.Failures, d.reopenAfter)
				} else {
					d.logf("commissioning window closed after %d failed attempts; restart to re-open it", n.Failures)
				}
			}
		case pairing.NoticeRefused:
			d.log.printf(d.now, logKindRefused, "PASE request refused: %v", n.Err)
		case pairing.NoticeReopened:
			d.logf("commissioning window re-opened (failure count reset)")
		case pairing.NoticeFailSafe:
			d.logf("fail-safe expired: closing PASE session %s with %s", n.Session, n.Peer)
		case pairing.NoticeReleased:
			// The session-closed event that caused it is logged by HandleEvent.
		}
	}
}

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
