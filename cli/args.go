package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// joinBoolValues rewrites "--flag true|false" into "--flag=true|false" for boolean flags, so
// that az's spelling "--account-enabled false" works; pflag alone would take "false" for a
// positional argument.
func joinBoolValues(root *cobra.Command, args []string) []string {
	bools := boolFlagNames(root)
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if bools[arg] && i+1 < len(args) && isBoolWord(args[i+1]) {
			arg += "=" + strings.ToLower(args[i+1])
			i++
		}
		out = append(out, arg)
	}
	return out
}

func isBoolWord(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false":
		return true
	}
	return false
}

// boolFlagNames collects "--name" for every boolean flag in the tree.
func boolFlagNames(c *cobra.Command) map[string]bool {
	names := map[string]bool{}
	add := func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			names["--"+f.Name] = true
		}
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
	return names
}

// newGroup returns a command that only holds subcommands. Cobra would print help and succeed
// for "latch ad usr"; az refuses an unknown command with a usage error, and so does this.
func newGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := "unknown command \"" + args[0] + "\" for \"" + cmd.CommandPath() + "\""
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return usagef("%s", msg)
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
