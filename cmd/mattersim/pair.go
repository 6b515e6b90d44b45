package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mattersim/clock"
	"mattersim/im"
	"mattersim/nodes/pairing"
	"mattersim/nodes/udp"
	"mattersim/session"
	"mattersim/session/message"
	"mattersim/session/spake2p"
)

func init() { subcommands = append(subcommands, newPairCommand) }

func newPairCommand() *cobra.Command {
	var (
		peer     string
		passcode uint32
		timeout  time.Duration
		asJSON   bool
	)
	c := &cobra.Command{
		Use:   "pair",
		Short: "Open a PASE session with a Matter device over UDP, read its names, close the session",
		Long: `pair runs PASE (spec 4.14.1) as the commissioner against --peer over UDP,
reads BasicInformation VendorName and ProductName (endpoint 0, cluster 0x0028,
attributes 1 and 3) over the encrypted PASE session, sends CloseSession and
prints what it read. It works with matter.js devices and with
"mattersim device".

Exit status: 0 on success; 1 when pairing or the read fails (timeout,
wrong passcode, no answer); 2 for bad flags.`,
		Example: `  mattersim pair --peer [::1]:5540 --passcode 20202021
  mattersim pair --peer 127.0.0.1:5540 --passcode 20202021 --timeout 5s --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := netip.ParseAddrPort(peer)
			if err != nil {
				return badInput("--peer %q: want host:port, e.g. [::1]:5540 (%v)", peer, err)
			}
			if addr.Port() == 0 || addr.Addr().IsUnspecified() {
				return badInput("--peer %s: need a concrete address and port", addr)
			}
			if err := spake2p.CheckPasscode(passcode); err != nil {
				return badInput("--passcode %d: %v", passcode, err)
			}
			if timeout <= 0 {
				return badInput("--timeout %v: must be positive", timeout)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runPair(ctx, cmd.ErrOrStderr(), addr.Addr().Unmap(), addr.Port(), passcode, timeout, func(res *pairResult) error {
				return printPair(cmd.OutOrStdout(), res, asJSON)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&peer, "peer", "[::1]:5540", "device UDP address host:port")
	f.Uint32Var(&passcode, "passcode", 20202021, "the device's setup passcode")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "bound on the whole pairing and read (a failure ends within it)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

// pairResult is what pair prints.
type pairResult struct {
	Peer          string `json:"peer"`
	LocalSession  uint16 `json:"localSessionId"`
	PeerSession   uint16 `json:"peerSessionId"`
	HandshakeMs   int64  `json:"handshakeMs"`
	VendorName    string `json:"vendorName"`
	ProductName   string `json:"productName"`
	SessionClosed bool   `json:"sessionClosed"`
}

func printPair(w io.Writer, r *pairResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "PASE session established with %s in %d ms (local session %d, peer session %d)\n",
		r.Peer, r.HandshakeMs, r.LocalSession, r.PeerSession)
	fmt.Fprintf(w, "VendorName: %s\n", r.VendorName)
	fmt.Fprintf(w, "ProductName: %s\n", r.ProductName)
	if r.SessionClosed {
		fmt.Fprintln(w, "CloseSession sent")
	} else {
		fmt.Fprintln(w, "CloseSession not sent (the session was already closed)")
	}
	return nil
}

// pairHandshake drives a pairing.Initiator on the udp loop.
type pairHandshake struct{ p *pairing.Initiator }

func (h *pairHandshake) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	if !h.p.HandleEvent(now, ev) {
		closeUnsolicited(m, now, ev)
	}
}

// closeUnsolicited closes the exchange of an unsolicited message nobody
// handles. The commissioner registers no unsolicited messages, so the core
// opens none; this only guards against leaving one open (spec 4.10.5.2).
func closeUnsolicited(m *session.Manager, now clock.Time, ev session.Event) {
	if ev.Kind == session.EventMessage && !ev.Exchange.Initiator {
		_ = m.CloseExchange(now, ev.Exchange)
	}
}
func (h *pairHandshake) HandleTimeout(_ *session.Manager, now clock.Time) { h.p.HandleTimeout(now) }
func (h *pairHandshake) Deadline() clock.Time                             { return h.p.Deadline() }

// pairRead waits for the ReportData of one ReadRequest.
type pairRead struct {
	hs       *pairing.Initiator
	x        session.Exchange
	deadline clock.Time
	report   *im.ReportData
	err      error
}

func (r *pairRead) HandleEvent(m *session.Manager, now clock.Time, ev session.Event) {
	if r.hs.HandleEvent(now, ev) || r.done() {
		return // handshake leftovers: the unsecured session's clean-up
	}
	switch {
	case ev.Kind == session.EventMessage && ev.Exchange == r.x:
		r.report, r.err = im.ParseReadResponse(im.Opcode(ev.Opcode), ev.Payload)
		if r.err == nil && r.report == nil {
			r.err = errors.New("empty read response")
		}
		_ = m.CloseExchange(now, r.x)
	case ev.Kind == session.EventGiveUp && ev.Exchange == r.x:
		r.err = fmt.Errorf("no answer to the ReadRequest: %w (sent %d times)", pairing.ErrNoAck, ev.Attempt)
	case ev.Kind == session.EventSessionClosed && ev.Session == r.x.Session:
		r.err = fmt.Errorf("the device closed the PASE session before answering the read (%s)", ev.Reason)
	default:
		closeUnsolicited(m, now, ev)
	}
}

func (r *pairRead) HandleTimeout(_ *session.Manager, now clock.Time) {
	if !r.done() && now >= r.deadline {
		r.err = errTimedOut
	}
}

var errTimedOut = errors.New("timed out")

func (r *pairRead) Deadline() clock.Time {
	if r.done() {
		return clock.Never
	}
	return r.deadline
}

func (r *pairRead) done() bool { return r.report != nil || r.err != nil }

// runPair pairs with peer, reads the names, closes the session and calls
// report with the result. The handshake and the read share one deadline,
// timeout from the start, and a failure returns within it. After a success
// it keeps answering the device until the device can no longer be
// retransmitting its last handshake message (see lingerAfter) and then
// returns.
func runPair(ctx context.Context, logw io.Writer, addr netip.Addr, port uint16, passcode uint32, timeout time.Duration, report func(*pairResult) error) error {
	deadline := time.Now().Add(timeout)
	res, p, node, err := pairAndRead(ctx, logw, addr, port, passcode, timeout)
	if node != nil {
		defer node.Close()
	}
	if err != nil {
		if p != nil {
			// PASE succeeded and the read failed: our ack of the device's
			// final StatusReport may still have been lost, so keep
			// answering as after a success, within what --timeout leaves.
			lctx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			_ = lingerAfter(lctx, node, p)
		}
		return err
	}
	if err := report(res); err != nil {
		return err
	}
	return lingerAfter(ctx, node, p)
}

// lingerAfter keeps the handshake's unsecured session answering until it
// has lingered out: if our ack of the device's final StatusReport (spec
// 4.14.1.4) was lost, the device retransmits that report, and an exit
// before its last retransmission leaves it unacknowledged — matter.js then
// counts a PASE failure (20 end commissioning) and refuses new pairings
// for ~13.5 s. The device times its retransmissions from our advertised
// session parameters, so the bound is MaxTransmissions transmissions at
// the larger of our intervals with maximum jitter
// (session.Config.UnsecuredLinger; about 7 s with the defaults). An
// interrupt ends the wait at once.
func lingerAfter(ctx context.Context, node *udp.Node, p *pairing.Initiator) error {
	err := drive(ctx, node, &pairHandshake{p: p}, p.Idle)
	if ctx.Err() != nil {
		return nil // interrupted while lingering: the result is out
	}
	return err
}

// pairAndRead runs the handshake and the read within timeout. It returns
// the node (to close) whenever it opened one, and the Initiator whenever
// PASE succeeded, even if the read then failed.
func pairAndRead(ctx context.Context, logw io.Writer, addr netip.Addr, port uint16, passcode uint32, timeout time.Duration) (*pairResult, *pairing.Initiator, *udp.Node, error) {
	peer := netip.AddrPortFrom(addr, port)
	m, err := newRealManager()
	if err != nil {
		return nil, nil, nil, err
	}
	local := netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	if addr.Is4() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	conn, err := listenUDP(local)
	if err != nil {
		return nil, nil, nil, err
	}
	node := udp.Start(conn, m, udp.Options{})
	// One deadline for the handshake and the read (wall clock: the udp
	// node's clock runs on it).
	dctx, cancelDeadline := context.WithTimeout(ctx, timeout)
	defer cancelDeadline()

	// 1. PASE, again after a BUSY's minimum wait while time is left.
	var (
		p     *pairing.Initiator
		hs    *pairHandshake
		start clock.Time
		derr  error
	)
	for attempt := 1; ; attempt++ {
		var startErr error
		err = node.Do(func(m *session.Manager, now clock.Time) {
			if attempt == 1 {
				start = now
			}
			p, startErr = pairing.StartInitiator(now, m, pairing.InitiatorConfig{Peer: peer, Passcode: passcode,
				Rand: crand.Reader, Timeout: timeout - now.Sub(start)})
		})
		if err == nil {
			err = startErr
		}
		if err != nil {
			return nil, nil, node, err
		}
		hs = &pairHandshake{p: p}
		if derr = drive(dctx, node, hs, p.Done); derr != nil || p.Err() == nil {
			break
		}
		w, busy := pairing.BusyWait(p.Err())
		var now clock.Time
		_ = node.Do(func(_ *session.Manager, t clock.Time) { now = t })
		if !busy || now.Add(w) >= start.Add(timeout) {
			break
		}
		// The device is still holding another pairing (for instance a
		// PASE session whose CloseSession was lost) and said when to come
		// back: retry then, within the overall deadline.
		fmt.Fprintf(logw, "mattersim pair: %s is busy (StatusReport BUSY); retrying in %v\n", peer, w)
		select {
		case <-time.After(w):
		case <-dctx.Done():
		}
	}
	if err := derr; err != nil {
		// Interrupted or out of time: tell the device, so it serves the
		// next pairing now. The report goes out inside Do; there is no
		// time left to wait for its ack. Out of time, the error is the
		// handshake's own timeout (naming what it waited for, and whether
		// the device acknowledged and ignored us): the wall-clock deadline
		// can fire a moment before the handshake's timer.
		timedOut := ctx.Err() == nil && dctx.Err() != nil
		_ = node.Do(func(_ *session.Manager, now clock.Time) {
			if timedOut {
				p.AbortTimedOut(now, timeout)
			} else {
				p.Abort(now, err)
			}
		})
		if timedOut {
			if perr := p.Err(); perr != nil {
				err = perr
			} else {
				err = fmt.Errorf("timed out after %v: PASE with %s did not finish", timeout, peer)
			}
		}
		return nil, nil, node, err
	}
	if err := p.Err(); err != nil {
		// Let our FAILURE report (if any) reach the device: wait until its
		// exchange is released (acked or given up on), within what is left
		// of the deadline.
		settle(dctx, node, hs, p, time.Second)
		return nil, nil, node, err
	}
	est, _ := p.Session()
	var handshake time.Duration
	_ = node.Do(func(_ *session.Manager, now clock.Time) { handshake = now.Sub(start) })
	res := &pairResult{Peer: peer.String(), LocalSession: est.Result.LocalSessionID,
		PeerSession: est.Result.PeerSessionID, HandshakeMs: handshake.Milliseconds()}

	// 2. Read VendorName and ProductName over the PASE session (spec 8.4.3).
	vendor := im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicVendorName)
	product := im.ConcreteAttribute(0, im.ClusterBasicInformation, im.BasicProductName)
	rd := &pairRead{hs: p}
	var serr error
	err = node.Do(func(m *session.Manager, now clock.Time) {
		rd.deadline = start.Add(timeout)
		if rd.x, serr = m.NewExchange(est.Ref); serr != nil {
			return
		}
		req := im.NewReadRequest(vendor, product)
		serr = m.Send(now, rd.x, session.Message{Protocol: message.ProtocolInteractionModel,
			Opcode: uint8(im.OpReadRequest), Payload: im.AppendReadRequest(nil, req), Reliable: true})
	})
	if err == nil {
		err = serr
	}
	if err == nil {
		err = drive(dctx, node, rd, rd.done)
		if err != nil && ctx.Err() == nil && dctx.Err() != nil {
			err = errTimedOut
		}
	}
	if err == nil {
		err = rd.err
	}
	closeSession := func() {
		_ = node.Do(func(m *session.Manager, now clock.Time) {
			if m.CloseSession(now, est.Ref) == nil {
				res.SessionClosed = true
			}
		})
	}
	if errors.Is(err, errTimedOut) {
		closeSession()
		return nil, p, node, fmt.Errorf("timed out after %v waiting for ReportData from %s", timeout, peer)
	}
	if err != nil {
		closeSession()
		return nil, p, node, fmt.Errorf("reading BasicInformation from %s: %w", peer, err)
	}
	for _, f := range []struct {
		path im.AttributePath
		dst  *string
	}{{vendor, &res.VendorName}, {product, &res.ProductName}} {
		v, verr := rd.report.Value(f.path)
		if verr == nil {
			*f.dst, verr = v.String()
		}
		if verr != nil {
			closeSession()
			return nil, p, node, fmt.Errorf("reading %s from %s: %w", f.path, peer, verr)
		}
	}

	// 3. CloseSession (spec 4.11.1.4): the device accepts the next PASE at
	// once (matter.js otherwise holds its only pairing slot for 60 s).
	closeSession()
	return res, p, node, nil
}

// settle drives the handshake until its last message is released, at most
// limit and never past ctx.
func settle(ctx context.Context, node *udp.Node, hs *pairHandshake, p *pairing.Initiator, limit time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_ = drive(wctx, node, hs, p.Settled)
}
