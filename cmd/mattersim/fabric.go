package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"mattersim/session/cert"
	"mattersim/session/cert/testca"
)

func init() { subcommands = append(subcommands, newFabricCommand) }

func newFabricCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "fabric",
		Short: "Mint Matter operational certificates for tests and lab devices",
	}
	c.AddCommand(newFabricNewCommand(), newFabricVerifyCommand())
	return c
}

type fabricNewOpts struct {
	out         string
	nodes       int
	seed        uint64
	icac        bool
	fabricID    uint64
	firstNodeID uint64
	cats        []string
	force       bool
}

func newFabricNewCommand() *cobra.Command {
	var o fabricNewOpts
	c := &cobra.Command{
		Use:   "new --out DIR [--nodes N] [--seed S] [--icac] [--fabric-id ID]",
		Short: "Mint a deterministic test fabric: RCAC, optional ICAC, NOCs and keys",
		Long: `fabric new mints a fabric from a seed with the deterministic test CA
(session/cert/testca): a root certificate (RCAC), with --icac an
intermediate (ICAC), and a node operational certificate (NOC) for each of
--nodes nodes with node ids --first-node-id, --first-node-id+1, ..., plus
the fabric's IPK epoch key. The same flags always give the same bytes.
Every chain is validated before anything is written.

Written to --out: manifest.json (fabric id, compressed fabric id, IPK epoch
key and operational IPK in hex, and every file), and for each certificate
NAME.pem (X.509), NAME.chip (Matter TLV, binary) and NAME-key.pem (SEC 1
private key, mode 0600), where NAME is rcac, icac or nodes/NODEID.

The keys follow from the seed: use these fabrics for simulations, tests and
lab devices only (docs/certificates.md).`,
		Example: `  mattersim fabric new --out fab --nodes 3 --seed 1
  mattersim fabric new --out big --nodes 10000 --icac --fabric-id 0xFAB1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFabricNew(cmd, o) },
	}
	f := c.Flags()
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.IntVar(&o.nodes, "nodes", 1, "number of NOCs")
	f.Uint64Var(&o.seed, "seed", 0, "seed of every key, serial number and the IPK")
	f.BoolVar(&o.icac, "icac", false, "issue the NOCs from an intermediate CA")
	f.Uint64Var(&o.fabricID, "fabric-id", 1, "fabric id (decimal or 0x hex)")
	f.Uint64Var(&o.firstNodeID, "first-node-id", 1, "node id of the first NOC")
	f.StringSliceVar(&o.cats, "cat", nil, "CASE Authenticated Tag for every NOC, 32-bit (0x hex), up to 3")
	f.BoolVar(&o.force, "force", false, "overwrite an existing fabric in --out")
	return c
}

func runFabricNew(cmd *cobra.Command, o fabricNewOpts) error {
	if o.out == "" {
		return badInput("fabric new: --out is required")
	}
	if o.nodes < 1 {
		return badInput("fabric new: --nodes must be at least 1")
	}
	if o.fabricID == 0 {
		return badInput("fabric new: fabric id 0 is reserved")
	}
	var cats []uint32
	for _, s := range o.cats {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return badInput("fabric new: --cat %q: want a 32-bit number", s)
		}
		cats = append(cats, uint32(v))
	}
	if _, err := os.Stat(filepath.Join(o.out, "manifest.json")); err == nil && !o.force {
		return badInput("fabric new: %s already holds a fabric (use --force to overwrite)", o.out)
	}
	f, err := testca.Mint(testca.Options{Seed: o.seed, FabricID: o.fabricID, Nodes: o.nodes,
		FirstNodeID: o.firstNodeID, ICAC: o.icac, CATs: cats})
	if err != nil {
		return badInput("fabric new: %v", err)
	}
	for i := range f.Nodes {
		if _, err := f.Chain(i).Verify(cert.VerifyOptions{Epoch: f.Options.NotBefore}); err != nil {
			return fmt.Errorf("fabric new: node 0x%016X: %w", f.NodeID(i), err)
		}
	}
	files, err := f.Files()
	if err != nil {
		return err
	}
	for _, fl := range files {
		p := filepath.Join(o.out, filepath.FromSlash(fl.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fl.Secret {
			mode = 0o600
		}
		if err := os.WriteFile(p, fl.Data, mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile keeps an existing file's mode
			return err
		}
	}
	w := cmd.OutOrStdout()
	cfid := f.CompressedFabricID()
	fmt.Fprintf(w, "fabric 0x%016X (compressed %X), seed %d\n", f.Options.FabricID, cfid[:], f.Options.Seed)
	fmt.Fprintf(w, "  RCAC  %s\n", f.RCAC.Cert.Subject)
	if f.ICAC != nil {
		fmt.Fprintf(w, "  ICAC  %s\n", f.ICAC.Cert.Subject)
	}
	last := len(f.Nodes) - 1
	fmt.Fprintf(w, "  NOCs  %d, node ids 0x%016X..0x%016X\n", len(f.Nodes), f.NodeID(0), f.NodeID(last))
	fmt.Fprintf(w, "  valid from %s, no expiry\n", f.Options.NotBefore)
	fmt.Fprintf(w, "  IPK epoch key %x\n", f.IPK[:])
	fmt.Fprintf(w, "verified %d chains; wrote %d files to %s (see manifest.json)\n", len(f.Nodes), len(files), o.out)
	return nil
}
