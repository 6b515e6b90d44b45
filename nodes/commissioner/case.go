package commissioner

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"mattersim/clock"
	"mattersim/session"
	"mattersim/session/casesess"
	"mattersim/session/cert"
	"mattersim/session/message"
	"mattersim/session/mrp"
	"mattersim/session/params"
)

// CASEConfig configures one CASE handshake to a commissioned node.
type CASEConfig struct {
	Peer       netip.AddrPort
	Fabric     *casesess.Fabric
	PeerNodeID uint64
	Rand       io.Reader
	// Epoch is the Matter epoch time of the Manager's clock time 0 (the
	// device's NOC is validated at it, see casesess.InitiatorConfig).
	Epoch cert.Time
	// Resumption, when set, offers a resumption of an earlier session to
	// the same node and keeps the record of this one.
	Resumption *casesess.Resumption
	// Timeout bounds each wait for the device (casesess.DefaultStepTimeout
	// when 0).
	Timeout time.Duration
	// PeerIntervals are the node's MRP intervals known before the
	// handshake: the SII/SAI/SAT keys of its operational DNS-SD TXT record
	// (spec 4.3.4). The unsecured session takes them before Sigma1 goes
	// out, so its first retransmission already follows them, as the SDK
	// creates the session with the resolved node's config (connectedhomeip
	// src/app/OperationalSessionSetup.cpp OnNodeAddressResolved passes
	// ResolveResult.mrpRemoteConfig on; src/app/CASEClient.cpp
	// EstablishSession: CreateUnauthenticatedSession(peerAddress,
	// remoteMRPConfig)). The installed session takes Sigma2's session
	// parameters instead. Zero fields mean the spec defaults.
	PeerIntervals mrp.Intervals
}

// CASE runs one initiator CASE handshake on a session.Manager, over an
// unsecured session of its own, and installs the CASE session when it
// succeeds; it is to session/casesess what nodes/pairing.Initiator is to
// session/pase. Start it with StartCASE, feed it every event with
// HandleEvent and call HandleTimeout at Deadline. Not safe for concurrent
// use.
type CASE struct {
	m       *session.Manager
	cfg     CASEConfig
	hs      *casesess.Initiator
	localID uint16
	unsec   session.Ref
	x       session.Exchange
	done    bool
	retired bool
	cleaned bool // the unsecured session has been removed
	ref     session.Ref
	res     casesess.Result
	err     error
}

// StartCASE reserves a session id, opens the unsecured session (with
// cfg.PeerIntervals) and sends Sigma1 (offering a resumption when cfg.Resumption has a record).
func StartCASE(now clock.Time, m *session.Manager, cfg CASEConfig) (*CASE, error) {
	if m == nil || !cfg.Peer.IsValid() {
		return nil, fmt.Errorf("%w: nil Manager or invalid peer", ErrConfig)
	}
	id, err := m.ReserveLocalID(now)
	if err != nil {
		return nil, err
	}
	hs, err := casesess.NewInitiator(casesess.InitiatorConfig{Fabric: cfg.Fabric, PeerNodeID: cfg.PeerNodeID,
		LocalSessionID: id, Params: params.FromIntervals(m.Config().Local), Rand: cfg.Rand, Epoch: cfg.Epoch, Resumption: cfg.Resumption, StepTimeout: cfg.Timeout})
	if err != nil {
		m.ReleaseLocalID(id)
		return nil, err
	}
	ref, err := m.OpenUnsecured(now, cfg.Peer)
	if err != nil {
		m.ReleaseLocalID(id)
		return nil, err
	}
	_ = m.SetPeerIntervals(ref, cfg.PeerIntervals)
	x, err := m.NewExchange(ref)
	if err != nil {
		m.ReleaseLocalID(id)
		_ = m.RemoveSession(now, ref)
		return nil, err
	}
	c := &CASE{m: m, cfg: cfg, hs: hs, localID: id, unsec: ref, x: x}
	out, err := hs.Start(now)
	if err == nil {
		err = c.send(now, out)
	}
	if err != nil {
		m.ReleaseLocalID(id)
		_ = m.RemoveSession(now, ref)
		return nil, err
	}
	return c, nil
}

// Done reports whether the handshake has ended.
func (c *CASE) Done() bool { return c.done }

// Err returns what ended the handshake unsuccessfully, or nil.
func (c *CASE) Err() error { return c.err }

// Resuming reports whether Sigma1 offered a resumption.
func (c *CASE) Resuming() bool { return c.hs.Resuming() }

// Session returns the installed CASE session and the handshake's result
// (Result.Resumed tells a Sigma2_Resume from a full handshake).
func (c *CASE) Session() (session.Ref, casesess.Result, bool) {
	return c.ref, c.res, c.done && c.err == nil
}

// Settled reports whether the handshake has ended and its exchange is
// released.
func (c *CASE) Settled() bool { return c.done && c.retired }

// Idle reports whether the handshake has ended and its unsecured session
// is gone: retired, it lingers (session.Config.UnsecuredLinger) to ack the
// device's retransmissions of its final StatusReport if our ack was lost,
// as nodes/pairing.Initiator's does.
func (c *CASE) Idle() bool { return c.done && c.cleaned }

// Deadline returns when HandleTimeout has work.
func (c *CASE) Deadline() clock.Time {
	if c.done {
		return clock.Never
	}
	return c.hs.Deadline()
}

// HandleTimeout fails the handshake when its step timeout has passed.
func (c *CASE) HandleTimeout(now clock.Time) {
	if c.done {
		return
	}
	if _, err := c.hs.HandleTimeout(now); err != nil {
		c.fail(now, err)
	}
}

// Abort ends a handshake in progress, telling the device.
func (c *CASE) Abort(now clock.Time, cause error) {
	if c.done {
		return
	}
	if out := c.hs.Abort(); out.Send {
		_ = c.send(now, out)
	}
	c.fail(now, cause)
}

// HandleEvent consumes ev if it belongs to the handshake's unsecured
// session and reports whether it did.
func (c *CASE) HandleEvent(now clock.Time, ev session.Event) bool {
	if ev.Session != c.unsec {
		return false
	}
	switch ev.Kind {
	case session.EventMessage:
		if ev.Exchange != c.x || ev.Protocol != message.ProtocolSecureChannel || c.done {
			return true
		}
		out, err := c.hs.Handle(now, ev.Opcode, ev.Payload)
		if out.Send {
			if serr := c.send(now, out); err == nil && serr != nil {
				err = serr
			}
		}
		if err != nil {
			c.fail(now, err)
			return true
		}
		if out.Done {
			c.establish(now, ev.From)
		}
	case session.EventGiveUp:
		if ev.Exchange == c.x && !c.done {
			c.fail(now, fmt.Errorf("commissioner: CASE message sent %d times without an ack", ev.Attempt))
		}
	case session.EventExchangeClosed:
		if ev.Exchange == c.x && c.done {
			c.retire(now)
		}
	case session.EventSessionClosed:
		c.retired, c.cleaned = true, true
		if !c.done {
			c.fail(now, fmt.Errorf("commissioner: unsecured session closed (%s)", ev.Reason))
		}
	}
	return true
}

func (c *CASE) establish(now clock.Time, from netip.AddrPort) {
	res, _ := c.hs.Result()
	peer := from
	if !peer.IsValid() {
		peer = c.cfg.Peer
	}
	pp := res.PeerParams.Effective()
	ref, err := c.m.InstallSecureSession(now, session.SecureSession{
		Kind: session.CASE, Initiator: true, LocalID: res.LocalSessionID, PeerID: res.PeerSessionID,
		LocalNodeID: message.NodeID(res.LocalNodeID), PeerNodeID: message.NodeID(res.PeerNodeID), Peer: peer,
		I2RKey: res.Keys.I2R, R2IKey: res.Keys.R2I, AttestationChallenge: res.Keys.AttestationChallenge,
		PeerIntervals: mrp.Intervals{Idle: pp.IdleInterval, Active: pp.ActiveInterval, ActiveThreshold: pp.ActiveThreshold},
		FabricIndex:   res.FabricIndex,
	})
	if err != nil {
		c.fail(now, fmt.Errorf("commissioner: installing the CASE session: %w", err))
		return
	}
	c.done, c.ref, c.res = true, ref, res
	c.closeExchange(now)
}

func (c *CASE) send(now clock.Time, out casesess.Output) error {
	return c.m.Send(now, c.x, session.Message{Protocol: message.ProtocolSecureChannel,
		Opcode: out.Opcode, Payload: out.Payload, Reliable: true})
}

func (c *CASE) fail(now clock.Time, err error) {
	if c.done {
		return
	}
	c.done, c.err = true, err
	c.m.ReleaseLocalID(c.localID)
	c.closeExchange(now)
}

func (c *CASE) closeExchange(now clock.Time) {
	if err := c.m.CloseExchange(now, c.x); err != nil {
		if errors.Is(err, session.ErrNoExchange) || errors.Is(err, session.ErrNoSession) {
			c.retire(now)
		}
	}
}

func (c *CASE) retire(now clock.Time) {
	if c.retired {
		return
	}
	c.retired = true
	if c.m.RetireSession(now, c.unsec) != nil {
		c.cleaned = true
	}
}
