// Command mattersim runs Matter session-layer simulations and tools.
//
// All logic lives in packages; this command parses flags, calls them and
// prints results. Each subcommand lives in its own file and registers its
// constructor in subcommands from an init function.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors of every subcommand, in file order.
var subcommands []func() *cobra.Command

// usageError marks bad user input (bad hex, bad flags, bad bytes): exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInput wraps err so that main exits with status 2.
func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCodeError carries a specific exit status with its message.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "mattersim",
		Short: "Simulation and network-emulation testbed for the Matter session layer",
		Long: `mattersim runs virtual Matter nodes with real session code on a simulated
IPv6 network driven by one virtual clock, and offers tools to decode Matter
messages and to talk to real devices over UDP.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range subcommands {
		root.AddCommand(c())
	}
	return root
}

// stdin is what "-" arguments read; tests replace it.
var stdin io.Reader = os.Stdin

// run executes the CLI and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	if isUnknownCommand(err) {
		err = usageError{err}
	}
	fmt.Fprintln(stderr, "mattersim:", err)
	var ue usageError
	var ce exitCodeError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}

// isUnknownCommand reports whether err is cobra's "unknown command" error
// for a mistyped subcommand (cobra v1.10 has no typed error for it), which
// is bad input like a bad flag.
func isUnknownCommand(err error) bool {
	var ue usageError
	return !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "unknown command ")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
