package commissionee

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/im/fabrics"
	"mattersim/nodes/pairing"
	"mattersim/session"
	"mattersim/session/cert"
	"mattersim/session/message"
	"mattersim/session/pase"
	"mattersim/session/spake2p"
)

// DefaultIterations is the PBKDF2 iteration count of a verifier computed
// from Config.Passcode: the spec minimum, which matter.js and the SDK
// examples use (spec 3.9, 5.1.7).
const DefaultIterations = 1000

// Config configures a Device.
type Config struct {
	// Verifier, Salt (16..32 bytes) and Iterations are the PASE
	// verifier (spec 5.1.7: a device stores the verifier, not the
	// passcode). With a zero Verifier it is computed from Passcode, with
	// Salt (32 bytes from Rand if nil) and Iterations
	// (DefaultIterations if 0).
	Verifier   spake2p.Verifier
	Salt       []byte
	Iterations uint32
	Passcode   uint32
	// Rand supplies the salt if needed, the PASE and CASE random values
	// and scalars, the operational keys and the signatures. Required.
	Rand io.Reader
	// Epoch returns the Matter epoch time of clock time 0 as it stands
	// at now: certificates (AddNOC, the CASE peer's chain) are checked
	// at cert.TimeAt(Epoch(now), now). A driver whose clock stays tied
	// to the wall clock returns a constant; one that drifts from it
	// returns the correction, so that a long run checks certificates at
	// the current time. Required.
	Epoch func(now clock.Time) cert.Time
	// Info is BasicInformation (im.InteropBasicInfo for the values the
	// SDK test attestation matches).
	Info im.BasicInfo
	// DataVersion is the first DataVersion of every cluster (spec
	// 7.10.3: a device starts it at a random value).
	DataVersion uint32
	// MaxFailures closes the window after this many failed pairings (0:
	// pase.DefaultMaxFailures, 20; spec 13.3).
	MaxFailures int
	// ReopenAfter re-opens a window closed by MaxFailures this long after
	// (0: it stays closed; pairing.ResponderConfig.ReopenAfter).
	ReopenAfter time.Duration

	// fabrics, when set, is the fabric table to run on instead of a new
	// empty one (Handshaker.Persist: the table kept across a power cycle).
	fabrics *fabrics.Store
}

// Device is one commissionable device on a Manager. See the package
// documentation. The zero value is not usable; call New. Not safe for
// concurrent use.
type Device struct {
	cfg   Config
	resp  *pairing.Responder
	srv   *im.Server
	light *im.Light
	comm  *im.Commissioning
	store *fabrics.Store
	cs    *caseServer
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

	window bool // PBKDFParamRequest is served: advertise _matterc._udp
	// commissioning: a PASE session of the open window is established and
	// its fail-safe runs; the window listens again if the fail-safe
	// expires (CommissioningWindowManager: the window status stays open
	// while the advertisement is stopped).
	commissioning bool
	// closedBy is why the window last closed (NoticeWindowClosed), for
	// the log line of a refused PBKDFParamRequest.
	closedBy WindowReason
	notices  []Notice   // for Poll
	now      clock.Time // of the call in progress, for notices
}

// New builds a Device on m: the PASE responder, the CASE server, the
// commissionable light over an empty fabric table with the SDK test
// attestation, the subscription engine. It registers on m what the
// device takes unsolicited: PBKDFParamRequest and Sigma1 on unsecured
// sessions, every Interaction Model message on secure ones (spec
// 4.10.5.2). The commissioning window is open.
func New(m *session.Manager, cfg Config) (*Device, error) {
	if m == nil {
		return nil, errors.New("commissionee: nil Manager")
	}
	if cfg.Rand == nil {
		return nil, errors.New("commissionee: Config.Rand is required")
	}
	if cfg.Epoch == nil {
		return nil, errors.New("commissionee: Config.Epoch is required")
	}
	if cfg.Verifier == (spake2p.Verifier{}) {
		if cfg.Iterations == 0 {
			cfg.Iterations = DefaultIterations
		}
		if cfg.Salt == nil {
			cfg.Salt = make([]byte, 32)
			if _, err := io.ReadFull(cfg.Rand, cfg.Salt); err != nil {
				return nil, fmt.Errorf("commissionee: salt: %w", err)
			}
		}
		ver, err := spake2p.ComputeVerifier(cfg.Passcode, cfg.Salt, int(cfg.Iterations))
		if err != nil {
			return nil, fmt.Errorf("commissionee: %w", err)
		}
		cfg.Verifier, cfg.Passcode = ver, 0
	}
	// Interaction Model requests open exchanges on secure sessions only;
	// the PASE responder registers PBKDFParamRequest and the CASE server
	// Sigma1 on unsecured ones. Nothing else opens an exchange.
	m.RegisterUnsolicited(session.Unsolicited{Protocol: message.ProtocolInteractionModel, AnyOpcode: true, Secure: true})
	// The fail-safe is the commissioning clusters' (armed implicitly for
	// 60 s at PASE, im/fabrics), not the pairing responder's. A second
	// PBKDFParamRequest during a pairing is acked and dropped, not
	// answered BUSY: the SDK unregisters its PBKDFParamRequest handler
	// while a pairing runs (CommissioningWindowManager::
	// OnUnsolicitedMessageReceived) and src/messaging/ExchangeMgr.cpp only
	// acks a message no handler takes.
	resp, err := pairing.NewResponder(m, pairing.ResponderConfig{
		Verifier: cfg.Verifier, Salt: cfg.Salt, Iterations: cfg.Iterations, Rand: cfg.Rand,
		MaxFailures: cfg.MaxFailures, ReopenAfter: cfg.ReopenAfter, FailSafe: -1, IgnoreWhileBusy: true,
	})
	if err != nil {
		return nil, err
	}
	store := cfg.fabrics
	if store == nil {
		if store, err = fabrics.New(fabrics.Config{Rand: cfg.Rand, EpochAt: cfg.Epoch}); err != nil {
			return nil, err
		}
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
	light := im.NewCommissionableLight(cfg.Info, cfg.DataVersion, comm)
	d := &Device{cfg: cfg, resp: resp, srv: im.NewServer(light.Node), light: light, comm: comm, store: store,
		cs:   newCASEServer(m, cfg.Rand, cfg.Epoch, store.CASEFabrics),
		sess: make(map[session.Ref]*im.Accessor), ims: make(map[session.Exchange]*im.Exchange),
		subX: make(map[session.Exchange]uint32), subRefs: make(map[uint64]session.Ref), window: true}
	d.subs = &im.SubscriptionEngine{Server: d.srv}
	light.Node.OnChange = d.subs.MarkDirty
	return d, nil
}

// Light returns the device's data model (On/Off on endpoint 1).
func (d *Device) Light() *im.Light { return d.light }

// Fabrics returns the fabric table.
func (d *Device) Fabrics() *fabrics.Store { return d.store }

// WindowOpen reports whether the commissioning window is open: PASE is
// served and the device should advertise _matterc._udp.
func (d *Device) WindowOpen() bool { return d.window }

// Salt returns the PASE salt (drawn from Rand when Config had none).
func (d *Device) Salt() []byte { return d.cfg.Salt }

// Poll returns the next notice, in order, and false once there are none.
// Drain it after every call: notices accumulate until polled.
func (d *Device) Poll() (Notice, bool) {
	if len(d.notices) == 0 {
		return Notice{}, false
	}
	n := d.notices[0]
	d.notices = d.notices[1:]
	if len(d.notices) == 0 {
		d.notices = nil
	}
	return n, true
}

func (d *Device) notify(n Notice) {
	n.At = d.now
	if n.Kind == NoticeWindowClosed {
		d.closedBy = n.Window
	}
	d.notices = append(d.notices, n)
}

// logf queues a log line with no other meaning.
func (d *Device) logf(format string, args ...any) {
	d.notify(Notice{Kind: NoticeLog, Text: fmt.Sprintf(format, args...)})
}

// Deadline returns when HandleTimeout has work, or clock.Never.
func (d *Device) Deadline() clock.Time {
	return min(d.resp.Deadline(), d.comm.Deadline(), d.cs.Deadline(), d.subs.NextDeadline())
}

// HandleTimeout runs what is due at now: PASE and CASE step timeouts, the
// fail-safe, a window re-opening, subscription reports.
func (d *Device) HandleTimeout(m *session.Manager, now clock.Time) {
	d.now = now
	d.resp.HandleTimeout(now)
	d.cs.HandleTimeout(now)
	d.comm.HandleTimeout(now)
	d.handleNotices(m)
	// Reports read without a subject: no access check, no accessing fabric.
	d.subs.HandleTimeout(now)
	d.drainSubs(m, now, session.Exchange{})
}

// HandleEvent takes one event of m, in order. Handshake events go to the
// CASE server first, then to the pairing responder (which closes every
// other secure-channel exchange on an unsecured session, Sigma1
// included); Interaction Model messages are served on secure sessions
// only; every other exchange opened by a peer is closed unserved (acking
// its message if asked).
func (d *Device) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	d.now = now
	consumed := d.cs.HandleEvent(now, ev) || d.resp.HandleEvent(now, ev)
	d.handleNotices(m)
	if consumed {
		return
	}
	switch ev.Kind {
	case session.EventSessionClosed:
		if ev.Session.Secure() {
			a := d.sess[ev.Session]
			delete(d.sess, ev.Session)
			if a != nil && a.AuthMode == fabrics.AuthPASE && d.commissioning {
				// The commissioning PASE session died (CloseSession, eviction):
				// its fail-safe expires at once, which rolls back and listens
				// again (CommissioningWindowManager::OnSessionReleased →
				// ExpireFailSafeIfArmed).
				d.comm.ExpireFailSafe(now)
				d.handleNotices(m)
			}
			d.notify(Notice{Kind: NoticeSessionClosed, Session: ev.Session,
				Text: fmt.Sprintf("session %s closed (%s)", ev.Session, ev.Reason)})
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
func (d *Device) serve(m *session.Manager, now clock.Time, ev session.Event) {
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
		d.handleNotices(m)
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
	d.handleNotices(m)
}

func (d *Device) handleNotices(m *session.Manager) {
	d.pairingNotices()
	d.caseNotices()
	d.commissioningNotices(m)
}

func (d *Device) pairingNotices() {
	for {
		n, ok := d.resp.Poll()
		if !ok {
			return
		}
		switch n.Kind {
		case pairing.NoticeEstablished:
			d.notify(Notice{Kind: NoticePASEEstablished, Peer: n.Peer, Session: n.Session,
				Text: fmt.Sprintf("PASE session established with %s (session %s, peer session %d)",
					n.Peer, n.Session, n.Result.PeerSessionID)})
			d.sess[n.Session] = &im.Accessor{AuthMode: fabrics.AuthPASE, Session: n.Session}
			d.store.ArmImplicit(d.now, fabrics.DefaultFailSafe)
			d.stopListening()
		case pairing.NoticeFailed:
			d.notify(Notice{Kind: NoticePASEFailed, Peer: n.Peer, Err: n.Err, Failures: n.Failures,
				Text: fmt.Sprintf("PASE failure from %s: %v (failed attempts %d)", n.Peer, n.Err, n.Failures)})
			if errors.Is(n.Err, pase.ErrWindowClosed) {
				d.window, d.commissioning = false, false
				text := fmt.Sprintf("commissioning window closed after %d failed attempts; restart to re-open it", n.Failures)
				if d.cfg.ReopenAfter > 0 {
					text = fmt.Sprintf("commissioning window closed after %d failed attempts; re-opens in %v", n.Failures, d.cfg.ReopenAfter)
				}
				d.notify(Notice{Kind: NoticeWindowClosed, Window: WindowFailures, Failures: n.Failures, Text: text})
			}
		case pairing.NoticeRefused:
			text := fmt.Sprintf("PASE request refused: %v", n.Err)
			switch {
			case d.commissioning:
				text = fmt.Sprintf("PASE request from %s ignored: a commissioning is in progress (PASE session established)", n.Peer)
			case !d.window && d.closedBy == WindowCommissioned:
				// The pairing responder's text blames failed attempts;
				// this window closed because the device is commissioned.
				text = fmt.Sprintf("PASE request from %s ignored: the commissioning window is closed (commissioned; it re-opens when the last fabric is removed)", n.Peer)
			}
			d.notify(Notice{Kind: NoticePASERefused, Peer: n.Peer, Err: n.Err, Text: text})
		case pairing.NoticeReopened:
			d.window = true
			d.notify(Notice{Kind: NoticeWindowOpened, Window: WindowFailures,
				Text: "commissioning window re-opened (failure count reset)"})
		case pairing.NoticeFailSafe:
			d.logf("fail-safe expired: closing PASE session %s with %s", n.Session, n.Peer)
		case pairing.NoticeReleased:
			// The session-closed event that caused it is noticed by HandleEvent.
		}
	}
}
