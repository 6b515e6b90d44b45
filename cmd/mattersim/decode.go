package main

import "github.com/spf13/cobra"

// decodeSubcommands holds the constructors of `mattersim decode` children
// (tlv, message, ...), each registered from its own file's init.
var decodeSubcommands []func() *cobra.Command

func init() {
	subcommands = append(subcommands, func() *cobra.Command {
		c := &cobra.Command{
			Use:   "decode",
			Short: "Decode Matter TLV and messages given as hex",
		}
		for _, s := range decodeSubcommands {
			c.AddCommand(s())
		}
		return c
	})
}
