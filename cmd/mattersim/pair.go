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
			res, err := runPair(ctx, addr.Addr().Unmap(), addr.Port(), passcode, timeout)
			if err != nil {
				return err
			}
			return printPair(cmd.OutOrStdout(), res, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&peer, "peer", "[::1]:5540", "device UDP address host:port")
	f.Uint32Var(&passcode, "passcode", 20202021, "the device's setup passcode")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "bound on the handshake and on the read, each")
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

// runPair pairs with peer, reads the names and closes the session.
func runPair(ctx context.Context, addr netip.Addr, port uint16, passcode uint32, timeout time.Duration) (*pairResult, error) {
	peer := netip.AddrPortFrom(addr, port)
	m, err := newRealManager()
	if err != nil {
		return nil, err
	}
	local := netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	if addr.Is4() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	conn, err := listenUDP(local)
	if err != nil {
		return nil, err
	}
	node := udp.Start(conn, m, udp.Options{})
	defer node.Close()

	// 1. PASE.
	var (
		p     *pairing.Initiator
		start clock.Time
	)
	var startErr error
	err = node.Do(func(m *session.Manager, now clock.Time) {
		start = now
		p, startErr = pairing.StartInitiator(now, m, pairing.InitiatorConfig{Peer: peer, Passcode: passcode,
			Rand: crand.Reader, Timeout: timeout})
	})
	if err == nil {
		err = startErr
	}
	if err != nil {
		return nil, err
	}
	hs := &pairHandshake{p: p}
	if err := drive(ctx, node, hs, p.Done); err != nil {
		if ctx.Err() != nil {
			// Interrupted: tell the device, so it serves the next pairing now.
			_ = node.Do(func(_ *session.Manager, now clock.Time) { p.Abort(now, ctx.Err()) })
		}
		return nil, err
	}
	if err := p.Err(); err != nil {
		// Let our FAILURE report (if any) reach the device: wait until its
		// exchange is released (acked or given up on), at most 1 s; the
		// retired session's linger is no reason to stay.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = drive(wctx, node, hs, p.Settled)
		cancel()
		return nil, err
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
		rd.deadline = now.Add(timeout)
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
		err = drive(ctx, node, rd, rd.done)
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
		return nil, fmt.Errorf("timed out after %v waiting for ReportData from %s", timeout, peer)
	}
	if err != nil {
		closeSession()
		return nil, fmt.Errorf("reading BasicInformation from %s: %w", peer, err)
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
			return nil, fmt.Errorf("reading %s from %s: %w", f.path, peer, verr)
		}
	}

	// 3. CloseSession (spec 4.11.1.4): the device accepts the next PASE at
	// once (matter.js otherwise holds its only pairing slot for 60 s).
	closeSession()
	return res, nil
}
