package main

import "github.com/spf13/cobra"

// decodeSubcommands holds the constructors of `mattersim decode` children
// (tlv, message, ...), each registered from its own file's init.
var decodeSubcommands []func() *cobra.Command

func init() {
	subcommands = append(subcommands, func() *cobra.Command {
		c := &cobra.Command{
			Use:   "decode",
			Short: "Decode Matter TLV and messages given as hex, and captures",
			// A group, not a command: a stray word is a mistyped
			// subcommand (exit 2, not help with exit 0).
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return badInput("unknown command %q for %q", args[0], cmd.CommandPath())
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		}
		for _, s := range decodeSubcommands {
			c.AddCommand(s())
		}
		return c
	})
}
