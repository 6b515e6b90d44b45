package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"mattersim/scenarios"
)

func init() {
	subcommands = append(subcommands, newValidateCommand, newListCommand, newSchemaCommand)
}

func newValidateCommand() *cobra.Command {
	var sets []string
	var ci, force bool
	c := &cobra.Command{
		Use:   "validate FILE|NAME...",
		Short: "Check scenario files strictly and print every problem with its position",
		Long: `Check each scenario file (or shipped scenario, by name) as mattersim run
would load it: YAML syntax, unknown fields, types and units, ranges,
references to node groups and metrics, the schedule, and the event budget.
Every problem is printed at once, one per line, as

  FILE:LINE:COL: field.path: reason

A file that passes prints "ok FILE". Nothing is run and nothing is written.

Exit status: 0 when every file is valid, 2 when any is not (or for bad flags).`,
		Example: `  mattersim validate my-scenario.yaml
  mattersim validate default mrp-loss
  mattersim validate --set loss=20% --set devices=199 default`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput("validate: want at least one scenario file or name")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := scenarios.ParseSet(sets)
			if err != nil {
				return badInput("validate: %v", err)
			}
			return validateFiles(cmd.OutOrStdout(), args, scenarios.Overrides{Set: set, CI: ci, Force: force})
		},
	}
	f := c.Flags()
	f.StringArrayVar(&sets, "set", nil, "override a parameter: `name=value` (repeatable)")
	f.BoolVar(&ci, "ci", false, "apply the scenario's ci: overrides (the short variant make test runs)")
	f.BoolVar(&force, "force", false, "accept a scenario above the event budget")
	return c
}

// validateFiles checks every file and reports all of them before failing.
func validateFiles(out io.Writer, args []string, o scenarios.Overrides) error {
	bad := 0
	for _, a := range args {
		_, err := scenarios.Open(a, o)
		if err == nil {
			fmt.Fprintln(out, "ok", a)
			continue
		}
		bad++
		var list scenarios.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(out, list.Error())
		} else {
			fmt.Fprintf(out, "%s: %v\n", a, err)
		}
	}
	if bad > 0 {
		return exitCodeError{2, fmt.Errorf("validate: %d of %d scenario%s invalid", bad, len(args), plural(len(args)))}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func newListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the shipped scenarios, one line each",
		Long: `List the scenarios shipped inside mattersim, one per line: the name
(which mattersim run and validate accept in place of a file) and the first
line of its description.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := 0
			for _, s := range scenarios.Shipped() {
				w = max(w, len(s.Name))
			}
			for _, s := range scenarios.Shipped() {
				fmt.Fprintf(cmd.OutOrStdout(), "%-*s  %s\n", w, s.Name, s.Summary)
			}
			return nil
		},
	}
}

func newSchemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files",
		Long: `Print the JSON Schema (draft 2020-12) of scenario files, generated from
the Go types the loader decodes into. Point an editor's YAML language
server at it for completion and checking, e.g. with a first line

  # yaml-language-server: $schema=./scenario.schema.json

The loader checks more than the schema can state (references to node
groups and metrics, schedules, the event budget): run mattersim validate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(scenarios.Schema())
			return err
		},
	}
}
