package main

import (
	"context"
	crand "crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/commissioner"
	"mattersim/nodes/pairing"
	"mattersim/nodes/udp"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/spake2p"
)

func init() { subcommands = append(subcommands, newCommissionCommand) }

type commissionOpts struct {
	peer            string
	passcode        uint32
	fabricDir       string
	seed            uint64
	nodeID          uint64
	skipAttestation bool
	paaDir          string
	timeout         time.Duration
	asJSON          bool
	noResume        bool
	noSubscribe     bool
	caseRepeat      int
	caseResume      bool
}

func newCommissionCommand() *cobra.Command {
	var o commissionOpts
	c := &cobra.Command{
		Use:   "commission --peer ADDR --passcode N [--fabric DIR] [--skip-attestation|--paa DIR]",
		Short: "Commission a Matter device over UDP: PASE, attestation, CSR, NOC, CASE, CommissioningComplete",
		Long: `commission runs the commissioner's flow (spec 5.5) against --peer over UDP:
PASE; ArmFailSafe; a read of LocationCapability (and BasicInformation
VendorID and ProductID) and SetRegulatoryConfig with it; device attestation (CertificateChainRequest DAC and PAI,
AttestationRequest: the DAC → PAI → PAA chain against the SDK's public test
PAAs or --paa DIR, the attestation signature over the elements and the PASE
attestation challenge, the nonce, the Certification Declaration's signature
by the SDK's test CD signing key and its vendor and product ids), or none
with --skip-attestation; CSRRequest (nonce, the
PKCS#10 self-signature and the DAC's signature over the NOCSR elements);
AddTrustedRootCertificate and AddNOC with a NOC for the CSR's key issued by
the test fabric (minted from --seed like "fabric new", or loaded from
--fabric DIR; the controller is the fabric's first node); then CASE to the
device at the same address, CommissioningComplete and a read of
VendorName and CommissionedFabrics on the CASE session; a subscription to
On/Off OnOff on endpoint 1 on it, with two Toggles whose reports must
arrive (--no-subscribe skips it); finally a second
CASE on a new UDP socket that resumes the first (Sigma2_Resume) and reads
VendorName again.

Exit status: 0 on success; 1 when a step fails; 2 for bad flags.`,
		Example: `  mattersim commission --peer [::1]:5540 --passcode 20202021
  mattersim commission --peer [::1]:5540 --passcode 20202021 --fabric fab --node-id 0x42 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := netip.ParseAddrPort(o.peer)
			if err != nil {
				return badInput("--peer %q: want host:port, e.g. [::1]:5540 (%v)", o.peer, err)
			}
			if addr.Port() == 0 || addr.Addr().IsUnspecified() {
				return badInput("--peer %s: need a concrete address and port", addr)
			}
			if err := spake2p.CheckPasscode(o.passcode); err != nil {
				return badInput("--passcode %d: %v", o.passcode, err)
			}
			if o.timeout <= 0 {
				return badInput("--timeout %v: must be positive", o.timeout)
			}
			if o.caseRepeat < 0 || (o.caseResume && o.caseRepeat == 0) {
				return badInput("--case-repeat %d: want N > 0 (and --case-resume only with it)", o.caseRepeat)
			}
			if o.skipAttestation && o.paaDir != "" {
				return badInput("--skip-attestation and --paa exclude each other")
			}
			fab, err := commissionFabric(o)
			if err != nil {
				return err
			}
			var paas []*x509.Certificate
			if o.paaDir != "" {
				if paas, err = loadPAAs(o.paaDir); err != nil {
					return badInput("--paa %s: %v", o.paaDir, err)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, o.timeout)
			defer cancel()
			log := func(format string, a ...any) {
				if !o.asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), format+"\n", a...)
				}
			}
			err = runCommission(ctx, addr, o, fab, paas, log, func(res *commissionResult) error {
				if o.asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				return nil
			})
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %v: %w", o.timeout, err)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&o.peer, "peer", "[::1]:5540", "device UDP address host:port (PASE and, after commissioning, CASE)")
	f.Uint32Var(&o.passcode, "passcode", 20202021, "the device's setup passcode")
	f.StringVar(&o.fabricDir, "fabric", "", `load the fabric from DIR ("mattersim fabric new --out DIR"); the controller is its first node`)
	f.Uint64Var(&o.seed, "seed", 1, "without --fabric: mint the test fabric (fabric id 1, controller node id 0x1B669) from this seed")
	f.Uint64Var(&o.nodeID, "node-id", 0x2, "operational node id given to the device in its NOC")
	f.BoolVar(&o.skipAttestation, "skip-attestation", false, "do not request or verify the device's attestation (DAC, PAI, AttestationRequest)")
	f.StringVar(&o.paaDir, "paa", "", "directory of PAA certificates (.der or .pem) to trust instead of the SDK's test PAAs")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "bound on the whole run")
	f.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&o.noResume, "no-resume", false, "skip the CASE resumption on a second connection")
	f.IntVar(&o.caseRepeat, "case-repeat", 0, "benchmark: do not commission; run N sequential CASE handshakes to a device already commissioned on the same fabric (--seed or --fabric) and --node-id, closing each session")
	f.BoolVar(&o.caseResume, "case-resume", false, "with --case-repeat: one untimed full CASE, then N resumptions (Sigma2_Resume) instead of N full handshakes")
	f.BoolVar(&o.noSubscribe, "no-subscribe", false, "skip the subscription to On/Off on endpoint 1 (and its two Toggles)")
	return c
}

func commissionFabric(o commissionOpts) (*commissioner.Fabric, error) {
	if o.fabricDir != "" {
		f, err := loadFabricDir(o.fabricDir)
		if err != nil {
			return nil, badInput("--fabric %s: %v", o.fabricDir, err)
		}
		return f, nil
	}
	tf, err := testca.Mint(testca.Options{Seed: o.seed, FabricID: 1, FirstNodeID: commissioner.DefaultControllerNodeID})
	if err != nil {
		return nil, err
	}
	return commissioner.FabricFromTestCA(tf, 0)
}

// commissionResult is what commission prints with --json.
type commissionResult struct {
	Peer                string `json:"peer"`
	Attestation         string `json:"attestation"` // "verified" or "skipped"
	DACVendorID         uint16 `json:"dacVendorId,omitempty"`
	DACProductID        uint16 `json:"dacProductId,omitempty"`
	PAA                 string `json:"paa,omitempty"`
	CDCertificateID     string `json:"cdCertificateId,omitempty"` // of the verified Certification Declaration
	FabricID            uint64 `json:"fabricId"`
	NodeID              uint64 `json:"nodeId"`
	FabricIndex         uint8  `json:"fabricIndex"`
	CASEMs              int64  `json:"caseMs"`
	VendorName          string `json:"vendorName"`
	CommissionedFabrics uint64 `json:"commissionedFabrics"`
	Resumed             bool   `json:"resumed"`
	ResumeMs            int64  `json:"resumeMs,omitempty"`
	ResumedVendorName   string `json:"resumedVendorName,omitempty"`
	SubscriptionID      uint32 `json:"subscriptionId,omitempty"`
	SubscriptionOnOff   []bool `json:"subscriptionOnOff,omitempty"` // priming, after Toggle 1, after Toggle 2
	// With --case-repeat: the timed handshakes, their kind and wall time.
	CASERepeat        int     `json:"caseRepeat,omitempty"`
	CASERepeatResumed bool    `json:"caseRepeatResumed,omitempty"`
	CASERepeatSeconds float64 `json:"caseRepeatSeconds,omitempty"`
}

// multiHandler routes events to the handshakes (their leftovers) and to
// the one outstanding request.
type multiHandler struct {
	pase *pairing.Initiator
	cs   []*commissioner.CASE
	sub  *subHandler
	req  *imRequest
}

func (h *multiHandler) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	if h.pase != nil && h.pase.HandleEvent(now, ev) {
		return
	}
	for _, c := range h.cs {
		if c.HandleEvent(now, ev) {
			return
		}
	}
	if h.sub != nil && h.sub.handle(m, now, ev) {
		return
	}
	if h.req != nil && h.req.handle(m, now, ev) {
		return
	}
	closeUnsolicited(m, now, ev)
}

// idle reports whether every handshake's unsecured session has lingered
// out (see lingerAfter).
func (h *multiHandler) idle() bool {
	if h.pase != nil && !h.pase.Idle() {
		return false
	}
	for _, c := range h.cs {
		if !c.Idle() {
			return false
		}
	}
	return true
}

func (h *multiHandler) HandleTimeout(m *session.Manager, now clock.Time) {
	if h.pase != nil {
		h.pase.HandleTimeout(now)
	}
	if h.sub != nil {
		h.sub.c.HandleTimeout(now)
		h.sub.flush(m, now, session.Exchange{})
	}
	for _, c := range h.cs {
		c.HandleTimeout(now)
	}
}

func (h *multiHandler) Deadline() clock.Time {
	d := clock.Never
	if h.pase != nil {
		d = min(d, h.pase.Deadline())
	}
	for _, c := range h.cs {
		d = min(d, c.Deadline())
	}
	if h.sub != nil {
		d = min(d, h.sub.c.NextDeadline())
	}
	return d
}

// imRequest is one IM request on a secure session awaiting its response.
type imRequest struct {
	x       session.Exchange
	op      im.Opcode
	payload []byte
	err     error
	done    bool
}

func (r *imRequest) handle(m *session.Manager, now clock.Time, ev session.Event) bool {
	if r.done || ev.Exchange != r.x {
		if ev.Kind == session.EventSessionClosed && ev.Session == r.x.Session && !r.done {
			r.done, r.err = true, fmt.Errorf("the device closed the session (%s)", ev.Reason)
			return true
		}
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		r.done, r.op, r.payload = true, im.Opcode(ev.Opcode), append([]byte(nil), ev.Payload...)
		_ = m.CloseExchange(now, r.x)
	case session.EventGiveUp:
		r.done, r.err = true, fmt.Errorf("no answer: %w (sent %d times)", pairing.ErrNoAck, ev.Attempt)
	}
	return true
}

// exchange sends one IM request on ref and waits for its response.
func exchange(ctx context.Context, node *udp.Node, h *multiHandler, ref session.Ref, op im.Opcode, payload []byte) (im.Opcode, []byte, error) {
	r := &imRequest{}
	var serr error
	err := node.Do(func(m *session.Manager, now clock.Time) {
		if r.x, serr = m.NewExchange(ref); serr != nil {
			return
		}
		serr = m.Send(now, r.x, session.Message{Protocol: message.ProtocolInteractionModel,
			Opcode: uint8(op), Payload: payload, Reliable: true})
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, nil, err
	}
	h.req = r
	defer func() { h.req = nil }()
	if err := drive(ctx, node, h, func() bool { return r.done }); err != nil {
		return 0, nil, err
	}
	return r.op, r.payload, r.err
}

// startNode opens a UDP socket and a session manager towards peer.
func startNode(peer netip.AddrPort) (*udp.Node, error) {
	m, err := newRealManager()
	if err != nil {
		return nil, err
	}
	local := netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	if peer.Addr().Is4() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	conn, err := listenUDP(local)
	if err != nil {
		return nil, err
	}
	// Reports of a subscription arrive on exchanges the device opens.
	m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, Opcode: uint8(im.OpReportData), Secure: true})
	return udp.Start(conn, m, udp.Options{}), nil
}

// matterEpochAt is the Matter epoch time (seconds since 2000-01-01 UTC) of
// clock time 0 of a node whose clock reads now at the wall time wall.
func matterEpochAt(wall time.Time, now clock.Time) cert.Time {
	return cert.Time(wall.Unix() - 946684800 - int64(now.Duration()/time.Second))
}

// runCASE runs one CASE handshake on node and returns it established.
func runCASE(ctx context.Context, node *udp.Node, h *multiHandler, cfg commissioner.CASEConfig) (*commissioner.CASE, time.Duration, error) {
	var (
		c     *commissioner.CASE
		serr  error
		start clock.Time
		took  time.Duration
	)
	err := node.Do(func(m *session.Manager, now clock.Time) {
		start = now
		cfg.Epoch = matterEpochAt(time.Now(), now)
		c, serr = commissioner.StartCASE(now, m, cfg)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, 0, err
	}
	h.cs = append(h.cs, c)
	if err := drive(ctx, node, h, c.Done); err != nil {
		_ = node.Do(func(_ *session.Manager, now clock.Time) { c.Abort(now, err) })
		return nil, 0, err
	}
	if err := c.Err(); err != nil {
		return nil, 0, fmt.Errorf("CASE with %s: %w", cfg.Peer, err)
	}
	_ = node.Do(func(_ *session.Manager, now clock.Time) { took = now.Sub(start) })
	return c, took, nil
}

// lingerTarget is a node whose handshakes may still have to ack the
// device's retransmissions.
type lingerTarget struct {
	node *udp.Node
	h    *multiHandler
}

// runCommission runs the steps, hands the result to report, and then keeps
// every socket answering until its handshakes' unsecured sessions have
// lingered out (about 7 s with default parameters, bounded by ctx; an
// interrupt ends it at once): if our ack of the device's final PASE or
// CASE StatusReport was lost, the device retransmits that report, and an
// exit before its last retransmission leaves it unacknowledged (see
// lingerAfter for pair). The wait also follows a failure once PASE has
// succeeded.
func runCommission(ctx context.Context, peer netip.AddrPort, o commissionOpts, fab *commissioner.Fabric,
	paas []*x509.Certificate, log func(string, ...any), report func(*commissionResult) error) error {
	var targets []lingerTarget
	var (
		res *commissionResult
		err error
	)
	if o.caseRepeat > 0 {
		res, err = caseRepeat(ctx, peer, o, fab, log, &targets)
	} else {
		res, err = commissionSteps(ctx, peer, o, fab, paas, log, &targets)
	}
	if err == nil {
		err = report(res)
	}
	done := make(chan struct{}, len(targets))
	for _, t := range targets {
		go func() {
			_ = drive(ctx, t.node, t.h, t.h.idle)
			done <- struct{}{}
		}()
	}
	for range targets {
		<-done
	}
	for _, t := range targets {
		t.node.Close()
	}
	return err
}

func commissionSteps(ctx context.Context, peer netip.AddrPort, o commissionOpts, fab *commissioner.Fabric,
	paas []*x509.Certificate, log func(string, ...any), targets *[]lingerTarget) (*commissionResult, error) {
	node, err := startNode(peer)
	if err != nil {
		return nil, err
	}
	closeNode := true
	defer func() {
		if closeNode {
			node.Close()
		}
	}()
	res := &commissionResult{Peer: peer.String(), FabricID: fab.FabricID, NodeID: o.nodeID, Attestation: "skipped"}

	// 1. PASE.
	var (
		p     *pairing.Initiator
		perr  error
		start clock.Time
	)
	if err := node.Do(func(m *session.Manager, now clock.Time) {
		start = now
		p, perr = pairing.StartInitiator(now, m, pairing.InitiatorConfig{Peer: peer, Passcode: o.passcode, Rand: crand.Reader})
	}); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	h := &multiHandler{pase: p}
	if err := drive(ctx, node, h, p.Done); err != nil {
		_ = node.Do(func(_ *session.Manager, now clock.Time) { p.Abort(now, err) })
		return nil, fmt.Errorf("PASE with %s: %w", peer, err)
	}
	if err := p.Err(); err != nil {
		// Let our FAILURE report (if any) reach the device, as pair does.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = drive(sctx, node, h, p.Settled)
		cancel()
		return nil, err
	}
	closeNode = false
	*targets = append(*targets, lingerTarget{node: node, h: h})
	est, _ := p.Session()
	var took time.Duration
	_ = node.Do(func(_ *session.Manager, now clock.Time) { took = now.Sub(start) })
	log("PASE session established with %s in %d ms", peer, took.Milliseconds())
	closePASE := func() {
		_ = node.Do(func(m *session.Manager, now clock.Time) { _ = m.CloseSession(now, est.Ref) })
	}

	// 2. The commissioning steps.
	flow, err := commissioner.New(commissioner.Config{Fabric: fab, DeviceNodeID: o.nodeID,
		Challenge: est.Result.AttestationChallenge, Rand: crand.Reader, PAAs: paas,
		SkipAttestation: o.skipAttestation, Now: time.Now()})
	if err != nil {
		return nil, err
	}
	caseFab, err := fab.CASEFabric(1)
	if err != nil {
		return nil, err
	}
	resumption := casesess.NewResumption(casesess.DefaultResumptionCapacity)
	var (
		caseRef session.Ref
		caseRes casesess.Result
	)
	// abort disarms the fail-safe (the device rolls back what this attempt
	// installed) and closes the PASE session, within a second.
	abort := func() {
		if req, ok := flow.Disarm(); ok {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			if _, _, err := exchange(dctx, node, h, est.Ref, req.Opcode, req.Payload); err == nil {
				log("ArmFailSafe(0): fail-safe disarmed")
			}
			cancel()
		}
		closePASE()
	}
	for !flow.Done() {
		if flow.Err() != nil {
			abort()
			return nil, flow.Err()
		}
		if flow.Step() == commissioner.StepCASE {
			c, took, err := runCASE(ctx, node, h, commissioner.CASEConfig{Peer: peer, Fabric: caseFab,
				PeerNodeID: o.nodeID, Rand: crand.Reader, Resumption: resumption})
			if err != nil {
				abort()
				return nil, err
			}
			caseRef, caseRes, _ = c.Session()
			res.CASEMs = took.Milliseconds()
			log("CASE session established with node 0x%016X in %d ms (Sigma1, Sigma2, Sigma3)", o.nodeID, took.Milliseconds())
			flow.CASEEstablished()
			continue
		}
		req, ok := flow.Next()
		if !ok {
			continue // Err is set
		}
		ref := est.Ref
		if req.OverCASE {
			ref = caseRef
		}
		op, payload, err := exchange(ctx, node, h, ref, req.Opcode, req.Payload)
		if err != nil {
			abort()
			return nil, fmt.Errorf("commissioning step %s: %w", req.Step, err)
		}
		if err := flow.Handle(op, payload); err != nil {
			continue
		}
		logStep(log, req.Step, flow.Result(), o)
	}
	if !o.noSubscribe {
		pp := caseRes.PeerParams.Effective()
		peerIv := mrp.Intervals{Idle: pp.IdleInterval, Active: pp.ActiveInterval, ActiveThreshold: pp.ActiveThreshold}
		id, values, err := subscribeOnOff(ctx, node, h, caseRef, peerIv, log)
		if err != nil {
			closePASE()
			return nil, err
		}
		res.SubscriptionID, res.SubscriptionOnOff = id, values
	}
	r := flow.Result()
	if a := r.Attested; a != nil {
		res.Attestation, res.DACVendorID, res.DACProductID, res.PAA = "verified", a.VendorID, a.ProductID, a.PAA.Subject.CommonName
		res.CDCertificateID = a.CD.CertificateID
	}
	res.FabricIndex, res.VendorName, res.CommissionedFabrics = r.FabricIndex, r.VendorName, r.CommissionedFabrics
	closePASE()
	_ = node.Do(func(m *session.Manager, now clock.Time) { _ = m.CloseSession(now, caseRef) })
	if o.noResume {
		return res, nil
	}

	// 3. CASE resumption from a second socket, sharing the resumption record.
	node2, err := startNode(peer)
	if err != nil {
		return nil, err
	}
	h2 := &multiHandler{}
	*targets = append(*targets, lingerTarget{node: node2, h: h2})
	c, took, err := runCASE(ctx, node2, h2, commissioner.CASEConfig{Peer: peer, Fabric: caseFab,
		PeerNodeID: o.nodeID, Rand: crand.Reader, Resumption: resumption})
	if err != nil {
		return nil, fmt.Errorf("second CASE: %w", err)
	}
	ref2, cres, _ := c.Session()
	res.Resumed, res.ResumeMs = cres.Resumed, took.Milliseconds()
	kind := "full handshake (the device did not resume)"
	if cres.Resumed {
		kind = "resumed (Sigma1 with resumption id, Sigma2_Resume)"
	}
	log("second CASE session on a new socket in %d ms: %s", took.Milliseconds(), kind)
	vn := im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName)
	op, payload, err := exchange(ctx, node2, h2, ref2, im.OpReadRequest, im.AppendReadRequest(nil, im.NewReadRequest(vn)))
	if err == nil {
		var rd *im.ReportData
		if rd, err = im.ParseReadResponse(op, payload); err == nil {
			var v im.Value
			if v, err = rd.Value(vn); err == nil {
				res.ResumedVendorName, err = v.String()
			}
		}
	}
	_ = node2.Do(func(m *session.Manager, now clock.Time) { _ = m.CloseSession(now, ref2) })
	if err != nil {
		return nil, fmt.Errorf("read on the resumed session: %w", err)
	}
	log("VendorName on the resumed session: %s", res.ResumedVendorName)
	if !cres.Resumed {
		return res, errors.New("the second CASE was a full handshake, not a resumption")
	}
	return res, nil
}

// caseRepeat is --case-repeat: o.caseRepeat sequential CASE handshakes
// from one socket to an already commissioned device, each session closed
// (CloseSession) before the next; with o.caseResume one untimed full
// handshake first creates the resumption record and every timed one
// resumes the one before. It measures the device's CASE cost (see
// interop TestMatterJSCASECost and BENCHMARKS.md).
func caseRepeat(ctx context.Context, peer netip.AddrPort, o commissionOpts, fab *commissioner.Fabric,
	log func(string, ...any), targets *[]lingerTarget) (*commissionResult, error) {
	caseFab, err := fab.CASEFabric(1)
	if err != nil {
		return nil, err
	}
	node, err := startNode(peer)
	if err != nil {
		return nil, err
	}
	h := &multiHandler{}
	*targets = append(*targets, lingerTarget{node: node, h: h})
	var resumption *casesess.Resumption
	once := func() (bool, error) {
		c, _, err := runCASE(ctx, node, h, commissioner.CASEConfig{Peer: peer, Fabric: caseFab,
			PeerNodeID: o.nodeID, Rand: crand.Reader, Resumption: resumption})
		if err != nil {
			return false, err
		}
		ref, cres, _ := c.Session()
		_ = node.Do(func(m *session.Manager, now clock.Time) { _ = m.CloseSession(now, ref) })
		return cres.Resumed, nil
	}
	if o.caseResume {
		resumption = casesess.NewResumption(casesess.DefaultResumptionCapacity)
		if _, err := once(); err != nil {
			return nil, fmt.Errorf("CASE (creating the resumption record): %w", err)
		}
	}
	t0 := time.Now()
	for i := 0; i < o.caseRepeat; i++ {
		resumed, err := once()
		if err != nil {
			return nil, fmt.Errorf("CASE %d of %d: %w", i+1, o.caseRepeat, err)
		}
		if resumed != o.caseResume {
			return nil, fmt.Errorf("CASE %d of %d: resumed=%v, want %v", i+1, o.caseRepeat, resumed, o.caseResume)
		}
	}
	secs := time.Since(t0).Seconds()
	kind := "full"
	if o.caseResume {
		kind = "resumed"
	}
	log("CASE repeat: %d %s handshakes in %.3f s (%.1f/s)", o.caseRepeat, kind, secs, float64(o.caseRepeat)/secs)
	return &commissionResult{Peer: peer.String(), FabricID: fab.FabricID, NodeID: o.nodeID, Attestation: "skipped",
		CASERepeat: o.caseRepeat, CASERepeatResumed: o.caseResume, CASERepeatSeconds: secs}, nil
}

func logStep(log func(string, ...any), s commissioner.Step, r commissioner.Result, o commissionOpts) {
	switch s {
	case commissioner.StepArmFailSafe:
		log("ArmFailSafe(%d s): OK", commissioner.DefaultFailSafe)
	case commissioner.StepReadLocation:
		log("LocationCapability: %s; VendorID 0x%04X, ProductID 0x%04X", regulatoryName(r.LocationCapability), r.BasicVendorID, r.BasicProductID)
	case commissioner.StepSetRegulatory:
		log("SetRegulatoryConfig(%s, XX): OK", regulatoryName(r.LocationCapability))
	case commissioner.StepDACRequest, commissioner.StepPAIRequest:
	case commissioner.StepAttestation:
		a := r.Attested
		log("attestation verified: DAC vendor 0x%04X product 0x%04X (%q) → PAI %q → PAA %q; signature and nonce OK",
			a.VendorID, a.ProductID, a.DAC.Subject.CommonName, a.PAI.Subject.CommonName, a.PAA.Subject.CommonName)
		log("certification declaration %s (vendor 0x%04X, products %04X): signature OK, matches DAC, PAI and BasicInformation 0x%04X/0x%04X",
			a.CD.CertificateID, a.CD.VendorID, a.CD.ProductIDs, r.BasicVendorID, r.BasicProductID)
	case commissioner.StepCSR:
		if o.skipAttestation {
			log("attestation skipped (--skip-attestation)")
		}
		checks := "nonce, PKCS#10 signature, DAC signature"
		if o.skipAttestation {
			checks = "nonce, PKCS#10 signature"
		}
		log("CSR verified (%s); NOC issued for node 0x%016X", checks, o.nodeID)
	case commissioner.StepAddRoot:
		log("AddTrustedRootCertificate: OK")
	case commissioner.StepAddNOC:
		log("AddNOC: OK (fabric index %d)", r.FabricIndex)
	case commissioner.StepComplete:
		log("CommissioningComplete: OK")
	case commissioner.StepReadBack:
		log("read over CASE: VendorName %q, CommissionedFabrics %d", r.VendorName, r.CommissionedFabrics)
	}
}

func regulatoryName(v uint8) string {
	switch v {
	case im.RegulatoryIndoor:
		return "Indoor"
	case im.RegulatoryOutdoor:
		return "Outdoor"
	case im.RegulatoryIndoorOutdoor:
		return "IndoorOutdoor"
	}
	return fmt.Sprint(v)
}
