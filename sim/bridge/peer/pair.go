package peer

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/dnssd"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/sim"
)

// PairPort is the UDP port of a virtual controller's pairing with a
// real device (its scenario session core keeps 5540).
const PairPort = 5541

// realPairer pairs a virtual controller with a real device it found by
// browsing: PASE (nodes/pairing.Initiator, as `mattersim pair` runs it) on
// a session core of its own bound to PairPort of the controller's
// node, a read of BasicInformation VendorName, CloseSession. It is a
// sim.Handler: everything runs on the engine's goroutine, on virtual time
// (which follows the wall clock in a bridged run). The handshake's
// unsecured session uses the intervals the device advertises in its TXT
// record (SII/SAI/SAT; spec 4.3.4, 4.12.8) from the first
// PBKDFParamRequest on (pairing.InitiatorConfig.PeerIntervals, as the SDK
// creates the session with the resolved node's MRP config), until the
// PBKDFParamResponse gives the device's session parameters. Not safe for
// concurrent use.
//
// With comm set, the pairer is the session host of a commissioning
// (realCommissioner, --commission-discriminator): the PASE session goes to
// comm instead of the read, and so do the later events, timers and the
// failure.
type realPairer struct {
	node     int
	m        *session.Manager
	sock     *sim.Socket
	p        *pairing.Initiator
	peer     netip.AddrPort
	passcode uint32
	out      io.Writer
	tr       *sim.Trace

	advertised mrp.Intervals // from the device's TXT (zero fields: spec defaults)

	est      pairing.Established
	x        session.Exchange
	paired   bool // PASE is over (successfully or not)
	reading  bool
	deadline clock.Time
	finished bool
	started  clock.Time // when the device was discovered and PASE began

	comm *realCommissioner
}

// pairTarget picks the address to pair with among a found device's: a
// routable one first, else link-local.
func pairTarget(f dnssd.Found) (netip.Addr, bool) {
	for _, a := range f.Addrs {
		if !a.IsLinkLocalUnicast() {
			return a, true
		}
	}
	if len(f.Addrs) > 0 {
		return f.Addrs[0], true
	}
	return netip.Addr{}, false
}

func newRealPairer(sn *sim.Node, f dnssd.Found, passcode uint32, out io.Writer, tr *sim.Trace) (*realPairer, error) {
	addr, ok := pairTarget(f)
	if !ok || f.Port == 0 {
		return nil, fmt.Errorf("%s: no address or port", f.Instance)
	}
	seeds := sn.Network().Engine().Seeds()
	m, err := session.New(session.Config{}, seeds.ChaCha8(sn.Index(), "bridge/pair/entropy"), seeds.PCG(sn.Index(), "bridge/pair/jitter"))
	if err != nil {
		return nil, err
	}
	adv := f.MRP()
	rp := &realPairer{node: sn.Index(), m: m, peer: netip.AddrPortFrom(addr, f.Port), passcode: passcode, out: out, tr: tr,
		advertised: mrp.Intervals{Idle: adv.Idle, Active: adv.Active, ActiveThreshold: adv.ActiveThreshold}}
	if rp.sock, err = sn.Bind(PairPort, rp); err != nil {
		return nil, err
	}
	return rp, nil
}

func (rp *realPairer) start(now clock.Time) {
	rp.started = now
	seeds := rp.sock.Node().Network().Engine().Seeds()
	var err error
	rp.p, err = pairing.StartInitiator(now, rp.m, pairing.InitiatorConfig{Peer: rp.peer, Passcode: rp.passcode,
		Rand: seeds.ChaCha8(rp.node, "bridge/pair/pase"), Timeout: 30 * time.Second, PeerIntervals: rp.advertised})
	if err != nil {
		rp.finish(now, err)
		return
	}
	rp.flush(now)
}

func (rp *realPairer) HandleDatagram(now clock.Time, from netip.AddrPort, b []byte) {
	rp.m.HandleDatagram(now, from, b)
	rp.flush(now)
}

func (rp *realPairer) HandleTimer(now clock.Time) {
	if now >= rp.m.NextDeadline() {
		rp.m.HandleTimeout(now)
	}
	if rp.p != nil && now >= rp.p.Deadline() {
		rp.p.HandleTimeout(now)
	}
	if rp.reading && now >= rp.deadline {
		rp.finish(now, fmt.Errorf("no ReportData from %s", rp.peer))
	}
	if rp.comm != nil && !rp.finished && now >= rp.comm.deadline() {
		rp.comm.timeout(now)
	}
	rp.flush(now)
}

func (rp *realPairer) flush(now clock.Time) {
	for {
		o, ok := rp.m.Poll()
		if !ok {
			break
		}
		if o.IsDatagram() {
			_ = rp.sock.Send(o.To, o.Data)
			continue
		}
		rp.event(now, o.Event)
	}
	if rp.p != nil && rp.p.Done() && !rp.paired && !rp.finished {
		rp.paired = true
		switch err := rp.p.Err(); {
		case err != nil:
			rp.finish(now, err)
		case rp.comm != nil:
			rp.est, _ = rp.p.Session()
			rp.comm.paseEstablished(now)
		default:
			rp.read(now)
		}
		rp.flush(now)
		return
	}
	at := rp.m.NextDeadline()
	if rp.p != nil {
		at = min(at, rp.p.Deadline())
	}
	if rp.reading {
		at = min(at, rp.deadline)
	}
	if rp.comm != nil && !rp.finished {
		at = min(at, rp.comm.deadline())
	}
	rp.sock.SetTimer(at)
}

func (rp *realPairer) read(now clock.Time) {
	rp.est, _ = rp.p.Session()
	rp.reading = true
	rp.deadline = now.Add(10 * time.Second)
	var err error
	if rp.x, err = rp.m.NewExchange(rp.est.Ref); err != nil {
		rp.finish(now, err)
		return
	}
	req := im.NewReadRequest(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName))
	if err := rp.m.Send(now, rp.x, session.Message{Protocol: message.ProtocolInteractionModel,
		Opcode: uint8(im.OpReadRequest), Payload: im.AppendReadRequest(nil, req), Reliable: true}); err != nil {
		rp.finish(now, err)
	}
}

func (rp *realPairer) event(now clock.Time, ev session.Event) {
	if ev.Kind == session.EventRetransmit && rp.tr != nil {
		// MRP at work on the bridged link (a lost frame, a slow device).
		rp.tr.Event(now, rp.node, "bridge-retransmit", sim.Str("peer", rp.peer.String()),
			sim.Int("counter", int64(ev.Counter)), sim.Int("attempt", int64(ev.Attempt)))
	}
	if rp.p != nil && rp.p.HandleEvent(now, ev) {
		return
	}
	if rp.comm != nil && rp.comm.event(now, ev) {
		return
	}
	if ev.Kind == session.EventMessage && !ev.Exchange.Initiator {
		_ = rp.m.CloseExchange(now, ev.Exchange)
		return
	}
	if !rp.reading || rp.finished {
		return
	}
	switch {
	case ev.Kind == session.EventMessage && ev.Exchange == rp.x:
		// A copy: the payload is the Manager's buffer, which closing the
		// exchange (the ack it sends) may reuse, and rep refers into it.
		rep, err := im.ParseReadResponse(im.Opcode(ev.Opcode), append([]byte(nil), ev.Payload...))
		_ = rp.m.CloseExchange(now, rp.x)
		if err != nil {
			rp.finish(now, err)
			return
		}
		v, err := rep.Value(im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName))
		var name string
		if err == nil {
			name, err = v.String()
		}
		if err != nil {
			rp.finish(now, err)
			return
		}
		fmt.Fprintf(rp.out, "node %d paired with %s over PASE (local session %d, peer session %d): VendorName %q\n",
			rp.node, rp.peer, rp.est.Result.LocalSessionID, rp.est.Result.PeerSessionID, name)
		if rp.tr != nil {
			rp.tr.Event(now, rp.node, "bridge-paired", sim.Str("peer", rp.peer.String()), sim.Str("vendor_name", name))
		}
		_ = rp.m.CloseSession(now, rp.est.Ref)
		rp.finished, rp.reading = true, false
	case ev.Kind == session.EventGiveUp && ev.Exchange == rp.x:
		rp.finish(now, fmt.Errorf("no answer to the ReadRequest (sent %d times)", ev.Attempt))
	}
}

func (rp *realPairer) finish(now clock.Time, err error) {
	if rp.finished {
		return
	}
	// No read to wait for any more: its deadline, left in the timer, would
	// fire again and again at the same instant.
	rp.finished, rp.reading = true, false
	if rp.comm != nil {
		rp.comm.failed(now, err)
		return
	}
	fmt.Fprintf(rp.out, "node %d pairing with %s failed: %v\n", rp.node, rp.peer, err)
	if rp.tr != nil {
		rp.tr.Event(now, rp.node, "bridge-pair-failed", sim.Str("peer", rp.peer.String()), sim.Str("err", err.Error()))
	}
}
