package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mattersim/session/mcsp"
	"mattersim/session/message"
	"mattersim/session/security"
	"mattersim/tlv"
)

func init() {
	decodeSubcommands = append(decodeSubcommands, newDecodeMessageCommand)
}

func newDecodeMessageCommand() *cobra.Command {
	var keyHex, nodeIDArg string
	c := &cobra.Command{
		Use:   "message HEX...",
		Short: "Decode a Matter message: headers, and with --key the decrypted payload (spec 4.4, 4.8)",
		Long: `Decode one Matter message (a UDP datagram) given as hex and print its message
header (spec 4.4.1). An unsecured message (session 0, unicast) also shows its
protocol header (spec 4.4.3) and payload. A secure message shows only the
length of its encrypted part unless --key gives the AES-128 session key: then
the message is authenticated and decrypted (AES-CCM, spec 4.8) and the
protocol header and payload are printed. A TLV payload is pretty-printed,
anything else shown as hex.

The nonce uses the sender's node id: --node-id (decimal or 0x hex). Without
it, group messages use their Source Node ID and unicast messages 0, as PASE
sessions do. For a group message with the privacy flag, --key is the
operational group key; its privacy key is derived to de-obfuscate the header
(spec 4.9.3).

"-" reads the hex from standard input and "@FILE" from FILE. A datagram over
the 1232-byte maximum (the IPv6 minimum MTU less the IPv6 and UDP headers;
connectedhomeip MessageHeader.h) is refused: no conforming sender produces
one.`,
		Example: `  mattersim decode message 040000000a4ff2177ea0c8a7cb6a63520520d364000015300120...
  mattersim decode message 003412000a0000009fafea49...e49177 --key 000102030405060708090a0b0c0d0e0f --node-id 1
  mattersim decode message @datagram.hex`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput("decode message: missing HEX argument")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readHexArgs(cmd.InOrStdin(), args)
			if err != nil {
				return badInput("decode message: %v", err)
			}
			if len(b) > message.MaxUDPPayload {
				return badInput("decode message: %d bytes: over the %d-byte maximum of a Matter message over UDP",
					len(b), message.MaxUDPPayload)
			}
			var opts decodeMessageOptions
			if cmd.Flags().Changed("key") {
				k, err := parseHexArg(keyHex)
				if err != nil || len(k) != security.KeySize {
					return badInput("decode message: --key %q: must be 16 bytes of hex", keyHex)
				}
				opts.key = new(security.Key)
				copy(opts.key[:], k)
			}
			if nodeIDArg != "" {
				n, err := strconv.ParseUint(nodeIDArg, 0, 64)
				if err != nil {
					return badInput("decode message: --node-id: not a 64-bit node id: %q", nodeIDArg)
				}
				opts.nodeID, opts.hasNodeID = message.NodeID(n), true
			}
			return decodeMessage(cmd.OutOrStdout(), b, opts)
		},
	}
	c.Flags().StringVar(&keyHex, "key", "", "AES-128 key as hex (session key; operational group key for groups)")
	c.Flags().StringVar(&nodeIDArg, "node-id", "", "sender node id for the nonce (default: source node id for groups, else 0)")
	return c
}

type decodeMessageOptions struct {
	key       *security.Key
	nodeID    message.NodeID
	hasNodeID bool
}

// decodeMessage prints the message in b. b is modified (de-obfuscated and
// decrypted in place).
func decodeMessage(w io.Writer, b []byte, opts decodeMessageOptions) error {
	var out strings.Builder
	obfuscated := false
	if len(b) >= 4 && message.SecurityFlags(b[3]).Privacy() && opts.key != nil {
		op := *opts.key
		if err := security.NewPrivacy(security.DerivePrivacyKey(op)).Deobfuscate(b); err != nil {
			return badInput("decode message: privacy: %s", trimPkg(err))
		}
	} else if len(b) >= 4 && message.SecurityFlags(b[3]).Privacy() {
		obfuscated = true
	}
	var h message.Header
	n, err := h.Decode(b)
	if err != nil {
		return badInput("decode message: %s", trimPkg(err))
	}
	note := ""
	if obfuscated {
		note = "counter and node ids are obfuscated; pass --key to reveal"
	}
	writeMessageHeader(&out, &h, n, note)
	rest := b[n:]
	if h.IsSecure() {
		if len(rest) < security.MICSize {
			return badInput("decode message: secure message too short for its %d-byte MIC", security.MICSize)
		}
		if opts.key == nil {
			fmt.Fprintf(&out, "encrypted payload, %d bytes (+ %d-byte MIC); pass --key to decrypt\n",
				len(rest)-security.MICSize, security.MICSize)
			_, err := io.WriteString(w, out.String())
			return err
		}
		node := opts.nodeID
		if !opts.hasNodeID && h.Flags.SessionType() == message.SessionGroup && h.HasSource {
			node = h.Source
		}
		rest, err = security.OpenMessage(b[n:n], security.NewCCM(*opts.key), b, n, node)
		if err != nil {
			return badInput("decode message: message authentication failed (wrong --key or --node-id %d?)", uint64(node))
		}
		fmt.Fprintf(&out, "decrypted with nonce node id 0x%016X\n", uint64(node))
	}
	var p message.ProtocolHeader
	m, err := p.Decode(rest)
	if err != nil {
		return badInput("decode message: protocol header: %s", trimPkg(err))
	}
	writeProtocolHeader(&out, &p, m)
	writePayload(&out, &p, rest[m:])
	_, err = io.WriteString(w, out.String())
	return err
}

func trimPkg(err error) string {
	s := err.Error()
	for _, p := range []string{"message: ", "security: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// writeMessageHeader prints h (n bytes on the wire). privacyNote, when
// set, says why the counter and node ids shown are obfuscated.
func writeMessageHeader(out *strings.Builder, h *message.Header, n int, privacyNote string) {
	sec := "unsecured"
	if h.IsSecure() {
		sec = "secure"
	}
	fmt.Fprintf(out, "message header: %d bytes\n", n)
	fmt.Fprintf(out, "  session:        0x%04X (%s, %s)\n", uint16(h.SessionID), h.Flags.SessionType(), sec)
	var flags []string
	if h.Flags.Privacy() {
		flags = append(flags, "P")
	}
	if h.Flags.Control() {
		flags = append(flags, "C")
	}
	if h.Flags.Extensions() {
		flags = append(flags, "MX")
	}
	fmt.Fprintf(out, "  security flags: 0x%02X%s\n", byte(h.Flags), flagList(flags))
	if privacyNote != "" {
		out.WriteString("  privacy:        " + privacyNote + "\n")
	}
	fmt.Fprintf(out, "  counter:        %d (0x%08X)\n", h.Counter, h.Counter)
	if h.HasSource {
		fmt.Fprintf(out, "  source node:    0x%016X\n", uint64(h.Source))
	}
	switch h.DestKind {
	case message.DestinationNode:
		fmt.Fprintf(out, "  dest node:      0x%016X\n", uint64(h.DestNode))
	case message.DestinationGroup:
		fmt.Fprintf(out, "  dest group:     0x%04X\n", uint16(h.DestGroup))
	}
	if h.Flags.Extensions() {
		fmt.Fprintf(out, "  extensions:     %x (%d bytes)\n", h.Extensions, len(h.Extensions))
	}
}

func flagList(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " [" + strings.Join(names, " ") + "]"
}

func writeProtocolHeader(out *strings.Builder, p *message.ProtocolHeader, n int) {
	fmt.Fprintf(out, "protocol header: %d bytes\n", n)
	var flags []string
	for _, f := range []struct {
		bit  message.ExchangeFlags
		name string
	}{{message.InitiatorFlag, "I"}, {message.AckFlag, "A"}, {message.ReliableFlag, "R"},
		{message.SecuredExtensionsFlag, "SX"}, {message.VendorFlag, "V"}} {
		if p.Flags&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	fmt.Fprintf(out, "  exchange flags: 0x%02X%s\n", byte(p.Flags), flagList(flags))
	fmt.Fprintf(out, "  exchange id:    %d (0x%04X)\n", p.ExchangeID, p.ExchangeID)
	proto, op := protocolNames(p)
	if p.Flags.Vendor() {
		fmt.Fprintf(out, "  protocol:       0x%04X:0x%04X %s\n", p.VendorID, uint16(p.ProtocolID), proto)
	} else {
		fmt.Fprintf(out, "  protocol:       0x%04X %s\n", uint16(p.ProtocolID), proto)
	}
	fmt.Fprintf(out, "  opcode:         0x%02X %s\n", p.Opcode, op)
	if p.Flags.Ack() {
		fmt.Fprintf(out, "  ack counter:    %d (0x%08X)\n", p.AckCounter, p.AckCounter)
	}
	if p.Flags.SecuredExtensions() {
		fmt.Fprintf(out, "  sec extensions: %x (%d bytes)\n", p.SecuredExtensions, len(p.SecuredExtensions))
	}
}

var (
	secureChannelOps = map[uint8]string{
		message.OpMsgCounterSyncReq: "MsgCounterSyncReq", message.OpMsgCounterSyncRsp: "MsgCounterSyncRsp",
		message.OpStandaloneAck: "StandaloneAck", message.OpPBKDFParamRequest: "PBKDFParamRequest",
		message.OpPBKDFParamResponse: "PBKDFParamResponse", message.OpPASEPake1: "PASE_Pake1",
		message.OpPASEPake2: "PASE_Pake2", message.OpPASEPake3: "PASE_Pake3", message.OpCASESigma1: "CASE_Sigma1",
		message.OpCASESigma2: "CASE_Sigma2", message.OpCASESigma3: "CASE_Sigma3",
		message.OpCASESigma2Resume: "CASE_Sigma2_Resume", message.OpStatusReport: "StatusReport",
		message.OpICDCheckIn: "ICD_CheckIn",
	}
	imOps = map[uint8]string{
		message.OpIMStatusResponse: "StatusResponse", message.OpIMReadRequest: "ReadRequest",
		message.OpIMSubscribeRequest: "SubscribeRequest", message.OpIMSubscribeResponse: "SubscribeResponse",
		message.OpIMReportData: "ReportData", message.OpIMWriteRequest: "WriteRequest",
		message.OpIMWriteResponse: "WriteResponse", message.OpIMInvokeRequest: "InvokeRequest",
		message.OpIMInvokeResponse: "InvokeResponse", message.OpIMTimedRequest: "TimedRequest",
	}
)

func protocolNames(p *message.ProtocolHeader) (proto, op string) {
	if p.VendorID != 0 {
		return "(vendor protocol)", ""
	}
	switch p.ProtocolID {
	case message.ProtocolSecureChannel:
		return "Secure Channel", secureChannelOps[p.Opcode]
	case message.ProtocolInteractionModel:
		return "Interaction Model", imOps[p.Opcode]
	case message.ProtocolBDX:
		return "BDX", ""
	case message.ProtocolUDC:
		return "User Directed Commissioning", ""
	case message.ProtocolEcho:
		return "Echo", ""
	}
	return "", ""
}

func writePayload(out *strings.Builder, p *message.ProtocolHeader, payload []byte) {
	if len(payload) == 0 {
		out.WriteString("payload: 0 bytes\n")
		return
	}
	// MsgCounterSyncReq/Rsp are fixed layouts (spec 4.18.4): an 8-byte
	// challenge; a little-endian counter and the 8-byte response.
	switch {
	case p.Is(message.ProtocolSecureChannel, message.OpMsgCounterSyncReq) && len(payload) == mcsp.RequestLen:
		fmt.Fprintf(out, "payload: %d bytes\n  challenge: %x\n", len(payload), payload)
		return
	case p.Is(message.ProtocolSecureChannel, message.OpMsgCounterSyncRsp) && len(payload) == mcsp.ResponseLen:
		r, _ := mcsp.DecodeResponse(payload)
		fmt.Fprintf(out, "payload: %d bytes\n  counter:   %d (0x%08X)\n  response:  %x\n", len(payload), r.Counter, r.Counter, r.Response[:])
		return
	}
	// StatusReport is a fixed little-endian layout, not TLV (spec 4.10.1).
	isStatus := p.Is(message.ProtocolSecureChannel, message.OpStatusReport)
	if !isStatus {
		if text, err := tlv.Format(payload); err == nil {
			fmt.Fprintf(out, "payload: %d bytes, TLV\n", len(payload))
			for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
				out.WriteString("  " + line + "\n")
			}
			return
		}
	}
	fmt.Fprintf(out, "payload: %d bytes\n  %x\n", len(payload), payload)
}
