package main

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mattersim/session/cert"
)

type fabricVerifyOpts struct {
	rcac, icac, noc string
	at              string
}

func newFabricVerifyCommand() *cobra.Command {
	var o fabricVerifyOpts
	c := &cobra.Command{
		Use:   "verify --rcac FILE [--icac FILE] --noc FILE [--at TIME]",
		Short: "Validate an operational certificate chain RCAC → (ICAC) → NOC",
		Long: `fabric verify decodes the certificates (each file PEM, DER, Matter TLV
binary, or either of those in hex) and validates the chain as
docs/certificates.md describes, at --at (RFC 3339, default: now).

It prints the node id, fabric id and CATs the chain proves and exits 0, or
names the certificate and the check that failed and exits 1. Files that do
not decode exit 2.`,
		Example: `  mattersim fabric verify --rcac fab/rcac.pem --icac fab/icac.chip --noc fab/nodes/0000000000000001.pem`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runFabricVerify(cmd, o) },
	}
	f := c.Flags()
	f.StringVar(&o.rcac, "rcac", "", "root certificate file (required)")
	f.StringVar(&o.icac, "icac", "", "intermediate certificate file")
	f.StringVar(&o.noc, "noc", "", "node operational certificate file (required)")
	f.StringVar(&o.at, "at", "", "validation time, RFC 3339 (default: now)")
	return c
}

func runFabricVerify(cmd *cobra.Command, o fabricVerifyOpts) error {
	if o.rcac == "" || o.noc == "" {
		return badInput("fabric verify: --rcac and --noc are required")
	}
	at := time.Now()
	if o.at != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, o.at); err != nil {
			return badInput("fabric verify: --at: %v", err)
		}
	}
	when, ok := cert.Date(at.UTC().Year(), int(at.UTC().Month()), at.UTC().Day(), at.UTC().Hour(), at.UTC().Minute(), at.UTC().Second())
	if !ok {
		return badInput("fabric verify: --at %s is outside the Matter epoch range", o.at)
	}
	var ch cert.Chain
	var err error
	if ch.RCAC, err = loadCert(o.rcac); err != nil {
		return err
	}
	if o.icac != "" {
		if ch.ICAC, err = loadCert(o.icac); err != nil {
			return err
		}
	}
	if ch.NOC, err = loadCert(o.noc); err != nil {
		return err
	}
	v, err := ch.Verify(cert.VerifyOptions{Epoch: when})
	if err != nil {
		var ve *cert.VerifyError
		if errors.As(err, &ve) {
			return exitCodeError{1, fmt.Errorf("fabric verify: %s: %s: %s", ve.Cert, ve.Check.String(), ve.Detail)}
		}
		return exitCodeError{1, err}
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "chain ok at %s: node 0x%016X on fabric 0x%016X", when, v.NodeID, v.FabricID)
	for i, c := range v.CATs {
		if i == 0 {
			fmt.Fprint(w, ", CATs")
		}
		fmt.Fprintf(w, " 0x%08X", c)
	}
	fmt.Fprintln(w)
	return nil
}

// loadCert reads a certificate as PEM, DER, Matter TLV, or hex of DER or
// TLV.
func loadCert(path string) (*cert.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("fabric verify: %v", err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, badInput("fabric verify: %s: PEM block %q, want CERTIFICATE", path, blk.Type)
		}
		b = blk.Bytes
	} else if h, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), "")); err == nil && len(h) > 0 {
		b = h
	}
	var c *cert.Certificate
	switch {
	case bytes.HasPrefix(b, []byte{0x30}):
		c, err = cert.ParseDER(b)
	case bytes.HasPrefix(b, []byte{0x15}):
		c, err = cert.DecodeTLV(b)
	default:
		return nil, badInput("fabric verify: %s: not a PEM, DER or Matter TLV certificate", path)
	}
	if err != nil {
		return nil, badInput("fabric verify: %s: %v", path, err)
	}
	return c, nil
}
