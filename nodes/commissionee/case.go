package commissionee

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/params"
	"mattersim/session/status"
)

// caseServer drives one casesess.Responder at a time on the device's
// Manager: a Sigma1 on a new unsecured exchange starts a handshake, Sigma3
// or the resumption StatusReport ends it, and the CASE session is
// installed (spec 4.14.2). A Sigma1 on another exchange while a handshake
// is in progress is answered StatusReport BUSY and the handshake goes on,
// as connectedhomeip src/protocols/secure_channel/CASEServer.cpp
// OnMessageReceived does (SendBusyStatusReport; see busyWait). Not safe
// for concurrent use.
type caseServer struct {
	m       *session.Manager
	rand    io.Reader
	epoch   func(now clock.Time) cert.Time
	fabrics func() []*casesess.Fabric
	resume  *casesess.Resumption

	hs      *casesess.Responder
	x       session.Exchange
	peer    netip.AddrPort
	localID uint16
	peerIv  mrp.Intervals // the initiator's, from its Sigma1
	mrpCfg  mrp.Config
	// closing holds handshake exchanges being closed, each with its
	// unsecured session, removed once the exchange is released.
	closing pairing.ClosingExchanges
	notices []caseNotice
}

// caseNotice reports a handshake's end.
type caseNotice struct {
	Peer    netip.AddrPort
	Session session.Ref // established
	Result  casesess.Result
	Err     error // failed
}

var sigma1Request = session.Unsolicited{Protocol: message.ProtocolSecureChannel, Opcode: casesess.OpSigma1}

func newCASEServer(m *session.Manager, rand io.Reader, epoch func(now clock.Time) cert.Time, fabrics func() []*casesess.Fabric) *caseServer {
	m.RegisterUnsolicited(sigma1Request)
	return &caseServer{m: m, rand: rand, epoch: epoch, fabrics: fabrics, mrpCfg: m.Config().MRP.Normalize(),
		resume: casesess.NewResumption(16), closing: make(pairing.ClosingExchanges)}
}

func (c *caseServer) poll() (caseNotice, bool) {
	if len(c.notices) == 0 {
		return caseNotice{}, false
	}
	n := c.notices[0]
	c.notices = c.notices[1:]
	return n, true
}

// Deadline is the step timeout of the handshake in progress.
func (c *caseServer) Deadline() clock.Time {
	if c.hs == nil {
		return clock.Never
	}
	return c.hs.Deadline()
}

// HandleTimeout ends a handshake whose step timed out.
func (c *caseServer) HandleTimeout(now clock.Time) {
	if c.hs == nil {
		return
	}
	if _, err := c.hs.HandleTimeout(now); err != nil {
		c.failed(now, err)
	}
}

func (c *caseServer) active() bool { return c.hs != nil }

// HandleEvent takes the events of CASE exchanges and reports whether it
// consumed ev.
func (c *caseServer) HandleEvent(now clock.Time, ev session.Event) bool {
	if ev.Session.Secure() {
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		if ev.Protocol != message.ProtocolSecureChannel || ev.Exchange.Initiator {
			return false
		}
		if c.active() && ev.Exchange == c.x {
			c.step(now, ev)
			return true
		}
		if ev.Opcode != casesess.OpSigma1 {
			return false // PBKDFParamRequest and the PASE exchange are the pairing responder's
		}
		if c.active() && now >= c.hs.Deadline() {
			c.HandleTimeout(now) // a handshake past its step timeout is over, even if its timer has not run
		}
		if c.active() {
			c.busy(now, ev)
			return true
		}
		c.start(now, ev)
		return true
	case session.EventExchangeClosed:
		if c.closing.Released(now, c.m, ev.Exchange, c.inUse) {
			return true
		}
	case session.EventGiveUp:
		if c.active() && ev.Exchange == c.x {
			c.failed(now, fmt.Errorf("no acknowledgement after %d transmissions", ev.Attempt))
			return true
		}
		return c.closing.Has(ev.Exchange)
	}
	if c.active() && ev.Exchange == c.x {
		return true
	}
	return c.closing.Has(ev.Exchange)
}

// busy answers a Sigma1 that came while a handshake is in progress with
// StatusReport BUSY (spec 4.11.1.3, 4.14.2) and closes its exchange; the
// handshake in progress is left alone.
func (c *caseServer) busy(now clock.Time, ev session.Event) {
	w := c.busyWait()
	_ = c.m.Send(now, ev.Exchange, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: message.OpStatusReport, Payload: status.Busy(w).Append(nil), Reliable: true})
	c.retire(now, ev.Exchange)
	c.notices = append(c.notices, caseNotice{Peer: ev.From,
		Err: fmt.Errorf("%w: a handshake with %s is in progress; answered BUSY (minimum wait %v)", casesess.ErrBusy, c.peer, w)})
}

// busyWait is the minimum wait of the BUSY report, as CASEServer.cpp
// OnMessageReceived computes it: once Sigma2 is sent (waiting for Sigma3),
// CASESession::ComputeSigma2ResponseTimeout of the handshake's initiator,
// that is the five transmissions of a message at its idle interval with
// the largest jitter (GetRetransmissionTimeout with the peer assumed idle)
// plus kExpectedHighProcessingTime, 30 s, capped at the 16-bit field;
// otherwise (Sigma2_Resume sent) 5000 ms.
func (c *caseServer) busyWait() time.Duration {
	if c.hs.State() != casesess.StateWaitSigma3 {
		return 5 * time.Second
	}
	iv := c.peerIv.Normalize()
	var w time.Duration
	for n := range c.mrpCfg.MaxTransmissions {
		w += c.mrpCfg.Backoff(iv.Idle, n, 1)
	}
	return min(w+30*time.Second, status.MaxBusyWait)
}

func (c *caseServer) start(now clock.Time, ev session.Event) {
	id, err := c.m.ReserveLocalID(now)
	if err != nil {
		c.retire(now, ev.Exchange)
		c.notices = append(c.notices, caseNotice{Peer: ev.From, Err: err})
		return
	}
	hs, err := casesess.NewResponder(casesess.ResponderConfig{Fabrics: c.fabrics(), LocalSessionID: id,
		Params: params.FromIntervals(c.m.Config().Local), Rand: c.rand, Epoch: c.epoch(now), Resumption: c.resume})
	if err != nil {
		c.m.ReleaseLocalID(id)
		c.retire(now, ev.Exchange)
		c.notices = append(c.notices, caseNotice{Peer: ev.From, Err: err})
		return
	}
	c.hs, c.x, c.peer, c.localID, c.peerIv = hs, ev.Exchange, ev.From, id, mrp.Intervals{}
	var s1 casesess.Sigma1
	if s1.Decode(ev.Payload) == nil && s1.Params != nil {
		c.peerIv = s1.Params.Intervals()
		_ = c.m.SetPeerIntervals(ev.Session, c.peerIv)
	}
	c.step(now, ev)
}

func (c *caseServer) step(now clock.Time, ev session.Event) {
	c.peer = ev.From
	out, err := c.hs.Handle(now, ev.Opcode, ev.Payload)
	var serr error
	if out.Send {
		serr = c.m.Send(now, c.x, session.Message{Protocol: message.ProtocolSecureChannel,
			Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
	}
	switch {
	case err != nil:
		c.failed(now, err)
	case serr != nil:
		c.failed(now, serr)
	case out.Done:
		c.establish(now)
	}
}

func (c *caseServer) establish(now clock.Time) {
	res, _ := c.hs.Result()
	ref, err := c.m.InstallSecureSession(now, session.SecureSession{Kind: session.CASE,
		LocalID: res.LocalSessionID, PeerID: res.PeerSessionID, Peer: c.peer,
		LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID),
		I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I, AttestationChallenge: res.Keys.AttestationChallenge,
		FabricIndex: res.FabricIndex, PeerIntervals: res.PeerParams.Intervals()})
	peer, x := c.peer, c.x
	c.hs = nil
	c.retire(now, x)
	if err != nil {
		c.m.ReleaseLocalID(c.localID)
		c.notices = append(c.notices, caseNotice{Peer: peer, Err: fmt.Errorf("installing the CASE session: %w", err)})
		return
	}
	c.notices = append(c.notices, caseNotice{Peer: peer, Session: ref, Result: res})
}

func (c *caseServer) failed(now clock.Time, err error) {
	peer, x := c.peer, c.x
	c.hs = nil
	c.m.ReleaseLocalID(c.localID)
	c.retire(now, x)
	c.notices = append(c.notices, caseNotice{Peer: peer, Err: err})
}

// retire closes a handshake exchange; its unsecured session is removed
// once the exchange is released.
func (c *caseServer) retire(now clock.Time, x session.Exchange) {
	c.closing.Close(now, c.m, x, nil)
}

// inUse reports whether ref is the unsecured session of the handshake in
// progress, which a released exchange's cleanup must leave alone.
func (c *caseServer) inUse(ref session.Ref) bool { return c.active() && ref == c.x.Session }
