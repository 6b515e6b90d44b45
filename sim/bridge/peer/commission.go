package peer

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/commissioner"
	"mattersim/nodes/dnssd"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/cert/testca"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/sim"
)

// CommissionNodeID is the operational node id a bridged virtual
// controller gives the real device it commissions (`mattersim commission`'s
// default --node-id).
const CommissionNodeID = 0x2

// ControllerNodeID is the virtual controller's node id in the fabric it
// mints (`mattersim commission`'s).
const ControllerNodeID = commissioner.DefaultControllerNodeID

// CommissionTimeout bounds each wait of a commissioning: the answer
// to one request, the operational discovery, each CASE step
// (nodes.DefaultCommissionStepTimeout).
const CommissionTimeout = 30 * time.Second

// realCommissioner commissions a real device a virtual controller found by
// browsing (--commission-discriminator), on the session core of a
// realPairer (which runs PASE with the device's TXT intervals and hands
// over the PASE session): the whole commissioner.Flow over PASE with the
// controller's fabric (ArmFailSafe, regulatory config, attestation against
// the SDK test PAA, CSR, AddTrustedRootCertificate, AddNOC); then, as the
// SDK's DeviceCommissioner does at kFindOperationalForCommissioningComplete
// (connectedhomeip src/controller/CHIPDeviceController.cpp), operational
// discovery: a browse of _I<compressed fabric id>._sub._matter._tcp on the
// link (spec 4.3.2) for the instance <CFID>-<node id>; CASE to the
// address it advertises, with the SII/SAI/SAT of its TXT record applied to
// the unsecured session before Sigma1 (commissioner.CASEConfig
// PeerIntervals); CommissioningComplete and the flow's read-back over
// CASE; finally a read of VendorName and OnOff over CASE. The CASE
// session is kept. Every step prints a line and traces
// "bridge-commission-step"; the end traces "bridge-commissioned" or
// "bridge-commission-failed". Everything runs on the engine's goroutine,
// on virtual time. Not safe for concurrent use.
type realCommissioner struct {
	rp      *realPairer
	fab     *commissioner.Fabric
	cf      *casesess.Fabric
	cfid    uint64
	epoch   cert.Time
	mux     *dnssd.Mux
	rnd     io.Reader
	flow    *commissioner.Flow
	step    string // what is under way, for a failure
	stepAt  clock.Time
	x       session.Exchange // the request in flight
	final   bool             // x is the closing read of VendorName and OnOff
	wait    clock.Time       // its answer's (or the discovery's) deadline
	browser *dnssd.Browser
	opPeer  netip.AddrPort
	cs      *commissioner.CASE
	cref    session.Ref
	done    bool
	// paseClosed: the PASE session left the table (the device closes it
	// at CommissioningComplete, or when its fail-safe expires).
	paseClosed bool
	// disarmX is the failed commissioning's ArmFailSafe(0) in flight on
	// the PASE session.
	disarmX session.Exchange
}

// newRealCommissioner makes rp commission its device with a fabric minted
// from the controller node's seeded stream "bridge/commission/ca" (fabric
// id 1, the controller node id ControllerNodeID, as `mattersim
// commission` mints one), its randomness (the flow's nonces, CASE) from
// the stream "bridge/commission", browsing operational instances through mux.
func newRealCommissioner(rp *realPairer, sn *sim.Node, mux *dnssd.Mux, epoch cert.Time) (*realCommissioner, error) {
	tf, err := testca.Mint(testca.Options{Seed: sn.Rand("bridge/commission/ca").Uint64(), FabricID: 1,
		FirstNodeID: ControllerNodeID})
	if err != nil {
		return nil, err
	}
	fab, err := commissioner.FabricFromTestCA(tf, 0)
	if err != nil {
		return nil, err
	}
	cf, err := fab.CASEFabric(1)
	if err != nil {
		return nil, err
	}
	c := tf.CompressedFabricID()
	rc := &realCommissioner{rp: rp, fab: fab, cf: cf, cfid: binary.BigEndian.Uint64(c[:]), epoch: epoch, mux: mux,
		rnd: sn.Network().Engine().Seeds().ChaCha8(sn.Index(), "bridge/commission"), wait: clock.Never}
	rp.comm = rc
	return rc, nil
}

// instance is the operational instance the device will advertise.
func (c *realCommissioner) instance() string {
	return dnssd.Operational{CompressedFabricID: c.cfid, NodeID: CommissionNodeID}.Instance()
}

// stepDone prints and traces a finished step, and starts timing the next.
func (c *realCommissioner) stepDone(now clock.Time, step, detail string) {
	ms := now.Sub(c.stepAt).Milliseconds()
	fmt.Fprintf(c.rp.out, "node %d commission %s: %s (%d ms)\n", c.rp.node, step, detail, ms)
	if tr := c.rp.tr; tr != nil {
		tr.Event(now, c.rp.node, "bridge-commission-step", sim.Str("step", step), sim.Str("detail", detail), sim.Int("ms", ms))
	}
	c.stepAt = now
}

func (c *realCommissioner) paseEstablished(now clock.Time) {
	est := c.rp.est
	c.stepAt = c.rp.started
	c.stepDone(now, "PASE", fmt.Sprintf("session established with %s (local session %d, peer session %d)",
		c.rp.peer, est.Result.LocalSessionID, est.Result.PeerSessionID))
	var err error
	c.flow, err = commissioner.New(commissioner.Config{Fabric: c.fab, DeviceNodeID: CommissionNodeID,
		Challenge: est.Result.AttestationChallenge, Rand: c.rnd,
		Now: time.Unix(int64(c.epoch)+946684800, 0).UTC().Add(now.Duration())})
	if err != nil {
		c.rp.finish(now, err)
		return
	}
	c.next(now)
}

// next sends the flow's next request, starts the operational discovery, or
// sends the closing read.
func (c *realCommissioner) next(now clock.Time) {
	f := c.flow
	if err := f.Err(); err != nil {
		c.rp.finish(now, err)
		return
	}
	if f.Done() {
		c.readFinal(now)
		return
	}
	if f.Step() == commissioner.StepCASE {
		c.discover(now)
		return
	}
	c.step = f.Step().String()
	req, ok := f.Next()
	if !ok {
		c.rp.finish(now, fmt.Errorf("no request at step %s: %v", f.Step(), f.Err()))
		return
	}
	ref := c.rp.est.Ref
	if req.OverCASE {
		ref = c.cref
	}
	c.send(now, ref, req.Opcode, req.Payload)
}

func (c *realCommissioner) send(now clock.Time, ref session.Ref, op im.Opcode, payload []byte) {
	x, err := c.rp.m.NewExchange(ref)
	if err == nil {
		err = c.rp.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel, Opcode: uint8(op),
			Payload: payload, Reliable: true})
	}
	if err != nil {
		c.rp.finish(now, fmt.Errorf("sending %s: %w", c.step, err))
		return
	}
	c.x, c.wait = x, now.Add(CommissionTimeout)
}

// discover browses the fabric's subtype for the device's operational
// instance, on the controller's mDNS socket.
func (c *realCommissioner) discover(now clock.Time) {
	c.step = "operational discovery"
	c.wait = now.Add(CommissionTimeout)
	c.browser = &dnssd.Browser{Service: dnssd.OperationalService, Query: dnssd.OperationalSubtype(c.cfid),
		OnFound: func(now clock.Time, _ netip.AddrPort, f dnssd.Found) { c.operationalFound(now, f) }}
	c.mux.Add(c.browser)
	c.browser.Start(now)
}

func (c *realCommissioner) operationalFound(now clock.Time, f dnssd.Found) {
	if c.done || c.rp.finished || c.cs != nil || !strings.EqualFold(f.Instance, c.instance()) {
		return
	}
	addr, ok := pairTarget(f)
	if !ok || f.Port == 0 {
		return // SRV or AAAA not heard yet: the next response may carry them
	}
	c.browser.Stop()
	c.opPeer = netip.AddrPortFrom(addr, f.Port)
	adv := f.MRP()
	c.stepDone(now, "operational discovery", fmt.Sprintf("%s._matter._tcp at %s SII=%v SAI=%v", f.Instance, c.opPeer, adv.Idle, adv.Active))
	c.step, c.wait = "CASE", clock.Never
	var err error
	c.cs, err = commissioner.StartCASE(now, c.rp.m, commissioner.CASEConfig{Peer: c.opPeer, Fabric: c.cf,
		PeerNodeID: CommissionNodeID, Rand: c.rnd, Epoch: c.epoch, Timeout: CommissionTimeout,
		PeerIntervals: mrp.Intervals{Idle: adv.Idle, Active: adv.Active, ActiveThreshold: adv.ActiveThreshold}})
	if err != nil {
		c.rp.finish(now, err)
	}
	c.rp.flush(now) // called from the mDNS socket: Sigma1 goes out on the pairer's
}

func (c *realCommissioner) readFinal(now clock.Time) {
	c.step, c.final = "Read(VendorName, OnOff)", true
	req := im.NewReadRequest(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName),
		im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff))
	c.send(now, c.cref, im.OpReadRequest, im.AppendReadRequest(nil, req))
}

// deadline is when timeout has work.
func (c *realCommissioner) deadline() clock.Time {
	at := c.wait
	if c.cs != nil && !c.cs.Done() {
		at = min(at, c.cs.Deadline())
	}
	return at
}

func (c *realCommissioner) timeout(now clock.Time) {
	if c.cs != nil && !c.cs.Done() && now >= c.cs.Deadline() {
		c.cs.HandleTimeout(now)
		c.caseProgress(now)
	}
	if now >= c.wait {
		c.rp.finish(now, fmt.Errorf("%s: no answer within %v", c.step, CommissionTimeout))
	}
}

// event takes the events of the CASE handshake and of the requests; it
// reports whether ev was the commissioning's.
func (c *realCommissioner) event(now clock.Time, ev session.Event) bool {
	if c.cs != nil && c.cs.HandleEvent(now, ev) {
		c.caseProgress(now)
		return true
	}
	if pase := c.rp.est.Ref; pase != (session.Ref{}) && ev.Session == pase && ev.Kind == session.EventSessionClosed {
		c.paseClosed = true
		c.disarmX = session.Exchange{} // the device closed it first (its fail-safe expired)
		return false
	}
	if c.disarmX != (session.Exchange{}) && ev.Exchange == c.disarmX &&
		(ev.Kind == session.EventMessage || ev.Kind == session.EventGiveUp) {
		c.disarmed(now, ev)
		return true
	}
	if c.rp.finished || c.x == (session.Exchange{}) || ev.Exchange != c.x {
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		c.x, c.wait = session.Exchange{}, clock.Never
		// The payload is the Manager's buffer until the next call into it
		// (closing the exchange sends the ack): copy it first.
		payload := append([]byte(nil), ev.Payload...)
		ev.Payload = payload
		_ = c.rp.m.CloseExchange(now, ev.Exchange)
		if c.final {
			c.finalResponse(now, im.Opcode(ev.Opcode), ev.Payload)
			return true
		}
		step := c.flow.Step()
		if err := c.flow.Handle(im.Opcode(ev.Opcode), ev.Payload); err != nil {
			c.rp.finish(now, err)
			return true
		}
		c.stepDone(now, step.String(), c.stepDetail(step))
		if step == commissioner.StepComplete {
			c.commissioned(now)
		}
		c.next(now)
	case session.EventGiveUp:
		c.rp.finish(now, fmt.Errorf("%s: request sent %d times without an ack", c.step, ev.Attempt))
	default:
		return false
	}
	return true
}

// stepDetail says what a finished flow step learned.
func (c *realCommissioner) stepDetail(s commissioner.Step) string {
	r := c.flow.Result()
	switch s {
	case commissioner.StepReadLocation:
		return fmt.Sprintf("LocationCapability %d, VendorID 0x%04X, ProductID 0x%04X", r.LocationCapability, r.BasicVendorID, r.BasicProductID)
	case commissioner.StepAttestation:
		if a := r.Attested; a != nil {
			return fmt.Sprintf("verified (DAC vendor 0x%04X product 0x%04X)", a.VendorID, a.ProductID)
		}
	case commissioner.StepCSR:
		return fmt.Sprintf("verified; NOC issued for node 0x%016X", uint64(CommissionNodeID))
	case commissioner.StepAddNOC:
		return fmt.Sprintf("fabric index %d (fabric id 0x%016X, compressed 0x%016X)", r.FabricIndex, c.fab.FabricID, c.cfid)
	case commissioner.StepReadBack:
		return fmt.Sprintf("VendorName %q, CommissionedFabrics %d", r.VendorName, r.CommissionedFabrics)
	}
	return "ok"
}

// caseProgress moves on once the CASE handshake has ended.
func (c *realCommissioner) caseProgress(now clock.Time) {
	if !c.cs.Done() || c.cref != (session.Ref{}) || c.rp.finished {
		return
	}
	if err := c.cs.Err(); err != nil {
		c.rp.finish(now, err)
		return
	}
	ref, res, _ := c.cs.Session()
	c.cref = ref
	c.stepDone(now, "CASE", fmt.Sprintf("session established with %s (local session %d, peer session %d)",
		c.opPeer, res.LocalSessionID, res.PeerSessionID))
	c.flow.CASEEstablished()
	c.next(now)
}

// commissioned reports CommissioningComplete answered with success.
func (c *realCommissioner) commissioned(now clock.Time) {
	took := now.Sub(c.rp.started)
	fmt.Fprintf(c.rp.out, "node %d commissioned %s as %s (fabric id 0x%016X, node id 0x%016X) in %d ms since discovery\n",
		c.rp.node, c.opPeer, c.instance(), c.fab.FabricID, uint64(CommissionNodeID), took.Milliseconds())
	if tr := c.rp.tr; tr != nil {
		tr.Event(now, c.rp.node, "bridge-commissioned", sim.Str("peer", c.opPeer.String()), sim.Str("instance", c.instance()),
			sim.Int("ms", took.Milliseconds()))
	}
}

func (c *realCommissioner) finalResponse(now clock.Time, op im.Opcode, payload []byte) {
	rep, err := im.ParseReadResponse(op, payload)
	if err != nil {
		c.rp.finish(now, err)
		return
	}
	var name string
	var on bool
	v, err := rep.Value(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName))
	if err == nil {
		name, err = v.String()
	}
	if err == nil {
		if v, err = rep.Value(im.ConcreteAttribute(1, im.ClusterOnOff, im.OnOffAttrOnOff)); err == nil {
			on, err = v.Bool()
		}
	}
	if err != nil {
		c.rp.finish(now, err)
		return
	}
	c.stepDone(now, "Read(VendorName, OnOff)", fmt.Sprintf("VendorName %q, OnOff %v over CASE", name, on))
	c.done, c.rp.finished = true, true
	fmt.Fprintf(c.rp.out, "node %d keeps the CASE session with %s (node id 0x%016X)\n", c.rp.node, c.opPeer, uint64(CommissionNodeID))
}

// failed reports the commissioning stopped at its current step, then
// cleans up as connectedhomeip's DeviceCommissioner::CleanupCommissioning
// does (src/controller/CHIPDeviceController.cpp): while the PASE session
// is up and the device's fail-safe may be armed (commissioner.Flow.Disarm),
// ArmFailSafe with expiry 0 goes over it (DisarmFailsafeRequest), so the
// device rolls back at once instead of at the fail-safe's expiry; its
// answer or give-up closes the PASE session (CleanupDoneAfterError), as
// nodes/establish_commission.go does for the simulator's commissioner.
// With nothing to disarm the PASE session is closed at once.
func (c *realCommissioner) failed(now clock.Time, err error) {
	if c.browser != nil {
		c.browser.Stop()
	}
	step := c.step
	if step == "" {
		step = "PASE"
	}
	fmt.Fprintf(c.rp.out, "node %d commissioning %s failed at %s: %v\n", c.rp.node, c.rp.peer, step, err)
	if tr := c.rp.tr; tr != nil {
		tr.Event(now, c.rp.node, "bridge-commission-failed", sim.Str("peer", c.rp.peer.String()), sim.Str("step", step),
			sim.Str("err", err.Error()))
	}
	pase := c.rp.est.Ref
	if pase == (session.Ref{}) || c.paseClosed {
		return
	}
	if c.x != (session.Exchange{}) {
		_ = c.rp.m.CloseExchange(now, c.x)
		c.x = session.Exchange{}
	}
	if !c.disarm(now, pase) {
		_ = c.rp.m.CloseSession(now, pase)
	}
}

// disarm sends the flow's ArmFailSafe(0) on the PASE session; it reports
// whether it did (false: nothing to disarm, or the send failed).
func (c *realCommissioner) disarm(now clock.Time, pase session.Ref) bool {
	if c.flow == nil {
		return false
	}
	req, ok := c.flow.Disarm()
	if !ok {
		return false
	}
	x, err := c.rp.m.NewExchange(pase)
	if err != nil {
		return false
	}
	if err := c.rp.m.Send(now, x, session.Message{Protocol: message.ProtocolInteractionModel, Opcode: uint8(req.Opcode),
		Payload: req.Payload, Reliable: true}); err != nil {
		_ = c.rp.m.CloseExchange(now, x)
		return false
	}
	c.disarmX = x
	fmt.Fprintf(c.rp.out, "node %d commission disarm: ArmFailSafe(0) sent over the PASE session with %s\n", c.rp.node, c.rp.peer)
	if tr := c.rp.tr; tr != nil {
		tr.Event(now, c.rp.node, "bridge-commission-disarm", sim.Str("peer", c.rp.peer.String()), sim.Str("outcome", "sent"))
	}
	return true
}

// disarmed ends the disarm on its answer (whatever its status: the
// attempt is over either way, OnDisarmFailsafe / OnDisarmFailsafeFailure)
// or its give-up, and closes the PASE session.
func (c *realCommissioner) disarmed(now clock.Time, ev session.Event) {
	outcome := "answered"
	if ev.Kind == session.EventGiveUp {
		outcome = fmt.Sprintf("no answer (sent %d times)", ev.Attempt)
	}
	_ = c.rp.m.CloseExchange(now, c.disarmX)
	c.disarmX = session.Exchange{}
	_ = c.rp.m.CloseSession(now, c.rp.est.Ref)
	fmt.Fprintf(c.rp.out, "node %d commission disarm: %s; PASE session closed\n", c.rp.node, outcome)
	if tr := c.rp.tr; tr != nil {
		tr.Event(now, c.rp.node, "bridge-commission-disarm", sim.Str("peer", c.rp.peer.String()), sim.Str("outcome", outcome))
	}
}
