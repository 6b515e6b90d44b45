package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mattersim/session/message"
	"mattersim/session/security"
	"mattersim/sim/capture"
)

func init() {
	decodeSubcommands = append(decodeSubcommands, newDecodePcapCommand)
}

func newDecodePcapCommand() *cobra.Command {
	var keylog, frames string
	var portArgs []uint
	c := &cobra.Command{
		Use:   "pcap FILE",
		Short: "Decode every frame of a capture, decrypted with --keylog (spec 4.4, 4.8)",
		Long: `Decode every frame of a capture (pcap or pcapng; mattersim run --pcap or
--pcap-plaintext, or a capture of real traffic) and print, for each Matter
frame (UDP port 5540 or 15540, or a --port), its message header (spec
4.4.1) and, when the payload can be read, its protocol header (spec 4.4.3)
and payload, TLV pretty-printed, as mattersim decode message does.

--keylog FILE (mattersim run --keylog) gives the keys: a secure unicast
message is decrypted with the key of the session its destination and
session id name (AES-CCM, nonce of spec 4.8.1.1), a group message with the
group key of its group session id, its header de-obfuscated first (spec
4.9.3); one the key log has no key for, or whose MIC no key matches, says
so. Frames of a plaintext capture (--pcap-plaintext) are shown as PLAINTEXT
(decrypted by mattersim, not wire bytes).

--frames N or N-M prints only those frames (1-based, as Wireshark numbers
them); every frame is still counted. A last line counts the frames by
outcome.`,
		Example: `  mattersim decode pcap mattersim-out/default/capture.pcap --keylog keys.log
  mattersim decode pcap plain.pcap --frames 40-45`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput("decode pcap: want one capture FILE, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var ring *capture.Keyring
			if keylog != "" {
				f, err := os.Open(keylog)
				if err != nil {
					return badInput("decode pcap: --keylog: %v", err)
				}
				recs, err := capture.ParseKeyLog(f)
				f.Close()
				if err != nil {
					return badInput("decode pcap: --keylog %s: %v", keylog, strings.TrimPrefix(err.Error(), "capture: "))
				}
				ring = new(capture.Keyring)
				ring.AddLog(recs)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return badInput("decode pcap: %v", err)
			}
			defer f.Close()
			sel, err := parseFrameRange(frames)
			if err != nil {
				return badInput("decode pcap: --frames %q: %v", frames, err)
			}
			var ports []uint16
			for _, p := range portArgs {
				if p == 0 || p > 65535 {
					return badInput("decode pcap: --port %d: not a UDP port", p)
				}
				ports = append(ports, uint16(p))
			}
			return decodePcap(cmd.OutOrStdout(), f, ring, ports, sel)
		},
	}
	c.Flags().StringVar(&keylog, "keylog", "", "key log `FILE` (mattersim run --keylog) to decrypt with")
	c.Flags().StringVar(&frames, "frames", "", "print only frames `N` or N-M (1-based; all are counted)")
	c.Flags().UintSliceVar(&portArgs, "port", nil, "also decode UDP `PORT` as Matter (repeatable; 5540 and 15540 always are)")
	return c
}

// pcapTally counts the frames of a capture by outcome.
type pcapTally struct {
	frames, other, unsecured, decrypted, plaintext, encrypted, noKey, authFailed, malformed int
}

func (t *pcapTally) String() string {
	parts := []string{fmt.Sprintf("%d frames", t.frames)}
	for _, p := range []struct {
		n    int
		what string
	}{
		{t.unsecured, "unsecured"}, {t.decrypted, "decrypted"}, {t.plaintext, "plaintext"},
		{t.encrypted, "encrypted (no --keylog)"}, {t.noKey, "no key"}, {t.authFailed, "not authenticated"},
		{t.malformed, "malformed"}, {t.other, "not Matter"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}

// frameRange selects frames by number; the zero value selects all.
type frameRange struct{ first, last int }

func (fr frameRange) has(n int) bool {
	return fr == frameRange{} || n >= fr.first && (fr.last == 0 || n <= fr.last)
}

// parseFrameRange parses "", "N", "N-" or "N-M".
func parseFrameRange(s string) (frameRange, error) {
	if s == "" {
		return frameRange{}, nil
	}
	a, b, dash := strings.Cut(s, "-")
	first, err := strconv.Atoi(a)
	if err != nil || first < 1 {
		return frameRange{}, errors.New("want N, N- or N-M with frame numbers from 1")
	}
	if !dash {
		return frameRange{first, first}, nil
	}
	if b == "" {
		return frameRange{first, 0}, nil
	}
	last, err := strconv.Atoi(b)
	if err != nil || last < first {
		return frameRange{}, errors.New("want N, N- or N-M with frame numbers from 1 and M >= N")
	}
	return frameRange{first, last}, nil
}

// decodePcap prints the frames of the capture read from r that sel
// selects, then the tally of all. ring (nil: no key log) decrypts secure
// messages.
func decodePcap(w io.Writer, r io.Reader, ring *capture.Keyring, ports []uint16, sel frameRange) error {
	rd, err := capture.NewReader(r)
	if err != nil {
		return badInput("decode pcap: %s", strings.TrimPrefix(err.Error(), "capture: "))
	}
	matterPort := func(p uint16) bool {
		if p == capture.MatterPort || p == capture.PlaintextPort {
			return true
		}
		for _, q := range ports {
			if p == q {
				return true
			}
		}
		return false
	}
	var empty capture.Keyring
	open := ring
	if open == nil {
		open = &empty
	}
	var tally pcapTally
	var out strings.Builder
	for {
		fr, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// What was decoded is printed; the damage is reported.
			_, _ = io.WriteString(w, out.String())
			return fmt.Errorf("decode pcap: %s", strings.TrimPrefix(err.Error(), "capture: "))
		}
		tally.frames++
		out.Reset()
		t := fr.Time.UnixNano()
		fmt.Fprintf(&out, "frame %d  t=%d.%09d  ", fr.Index, t/1e9, t%1e9)
		if !fr.UDP || !(matterPort(fr.Src.Port()) || matterPort(fr.Dst.Port())) {
			tally.other++
			what := fr.Note
			if fr.UDP {
				what = fmt.Sprintf("UDP %s → %s, not a Matter port", fr.Src, fr.Dst)
			}
			fmt.Fprintf(&out, "%d bytes: %s\n\n", fr.Length, what)
			if !sel.has(fr.Index) {
				continue
			}
			if _, err := io.WriteString(w, out.String()); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(&out, "%s → %s  %d bytes\n", fr.Src, fr.Dst, len(fr.Payload))
		if fr.Note != "" {
			fmt.Fprintf(&out, "note: %s\n", fr.Note)
		}
		writeCapturedMessage(&out, open, ring != nil, &fr, &tally)
		out.WriteString("\n")
		if !sel.has(fr.Index) {
			continue
		}
		if _, err := io.WriteString(w, out.String()); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(w, tally.String())
	return err
}

// writeCapturedMessage prints one Matter datagram of a capture.
func writeCapturedMessage(out *strings.Builder, ring *capture.Keyring, haveKeys bool, fr *capture.Frame, tally *pcapTally) {
	o := ring.Open(fr.Dst, fr.Payload)
	if o.Status == capture.Malformed && o.HeaderLen == 0 {
		tally.malformed++
		fmt.Fprintf(out, "malformed: %s\n  %x\n", trimPkg(o.Err), fr.Payload)
		return
	}
	note := ""
	if o.Header.Flags.Privacy() && o.Status != capture.Decrypted && o.Status != capture.Plaintext {
		note = "counter and node ids are obfuscated (no group key for them)"
	} else if o.Header.Flags.Privacy() {
		note = "de-obfuscated (counter and node ids as they were before obfuscation)"
	}
	writeMessageHeader(out, &o.Header, o.HeaderLen, note)
	rest := fr.Payload[o.HeaderLen:]
	var count *int // the outcome, once the protocol header decodes
	switch o.Status {
	case capture.Malformed:
		tally.malformed++
		fmt.Fprintf(out, "malformed: %s\n", strings.TrimPrefix(o.Err.Error(), "capture: "))
		return
	case capture.Unsecured:
		count = &tally.unsecured
	case capture.Plaintext:
		count = &tally.plaintext
		if fr.Src.Port() == capture.PlaintextPort || fr.Dst.Port() == capture.PlaintextPort {
			out.WriteString("PLAINTEXT (decrypted by mattersim, not wire bytes)\n")
		} else {
			out.WriteString("PLAINTEXT (decrypted by mattersim, not wire bytes; security flag 0x10 set, though not on port 15540)\n")
		}
	case capture.Decrypted:
		count = &tally.decrypted
		if g := o.Group; g != nil {
			fmt.Fprintf(out, "decrypted: group key set %d epoch %d (key log)\n", g.KeySet, g.Epoch)
			break
		}
		r := o.Record
		t := int64(r.Time)
		fmt.Fprintf(out, "decrypted: %s key of the %s session %d → %d established at t=%d.%09d (key log)\n",
			o.Dir, r.Kind, r.Initiator.SessionID, r.Responder.SessionID, t/1e9, t%1e9)
	default: // NoKey, AuthFailed
		enc := max(len(rest)-security.MICSize, 0)
		fmt.Fprintf(out, "encrypted payload, %d bytes (+ %d-byte MIC)", enc, security.MICSize)
		switch {
		case !haveKeys:
			tally.encrypted++
			out.WriteString(": pass --keylog to decrypt\n")
		case o.Status == capture.NoKey:
			tally.noKey++
			fmt.Fprintf(out, ": not decrypted: %s\n", strings.TrimPrefix(o.Err.Error(), "capture: "))
		default:
			tally.authFailed++
			fmt.Fprintf(out, ": not decrypted: %s\n", strings.TrimPrefix(o.Err.Error(), "capture: "))
		}
		return
	}
	var p message.ProtocolHeader
	m, err := p.Decode(o.Plain)
	if err != nil {
		tally.malformed++
		fmt.Fprintf(out, "protocol header: malformed: %s\n  %x\n", trimPkg(err), o.Plain)
		return
	}
	*count++
	writeProtocolHeader(out, &p, m)
	writePayload(out, &p, o.Plain[m:])
}
