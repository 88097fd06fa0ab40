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

// nargsAnnotation marks a flag that takes several space-separated values, as az's nargs='+'
// and nargs='*' arguments do ("--tags a=b c=d", "--assign-identity" alone).
const nargsAnnotation = "latch.nargs"

// listValue is a flag value that collects every value given. Unlike pflag's string slices it
// never splits on commas: a tag value may contain one.
type listValue struct{ values *[]string }

func (v listValue) String() string { return strings.Join(*v.values, " ") }
func (v listValue) Type() string   { return "list" }

// Set appends s; the empty string (a bare flag) adds nothing but still counts as given.
func (v listValue) Set(s string) error {
	if strings.TrimSpace(s) != "" {
		*v.values = append(*v.values, s)
	}
	return nil
}

// listFlag adds a multi-valued flag. bare is the value of the flag given without values
// ("" for none), as in "--assign-identity" meaning "[system]".
func listFlag(cmd *cobra.Command, p *[]string, name, short, bare, usage string) {
	f := cmd.Flags().VarPF(listValue{p}, name, short, usage)
	f.NoOptDefVal = bare
	if bare == "" {
		f.NoOptDefVal = " " // pflag needs a non-empty marker to allow the bare flag
	}
	cmd.Flags().SetAnnotation(name, nargsAnnotation, []string{"1"})
}

// normaliseArgs rewrites az's spellings that pflag does not parse: boolean values as separate
// words, and flags followed by several values.
func normaliseArgs(root *cobra.Command, args []string) []string {
	return spreadListValues(root, joinBoolValues(root, args))
}

// spreadListValues rewrites "--tags a=b c=d" into "--tags=a=b --tags=c=d" for the invoked
// command's multi-valued flags: every following word up to the next flag is one value.
func spreadListValues(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	multi := listFlagNames(cmd)
	if len(multi) == 0 {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if !multi[arg] {
			out = append(out, arg)
			continue
		}
		n := 0
		for ; i+1 < len(args) && !looksLikeFlag(args[i+1]); n++ {
			i++
			out = append(out, arg+"="+args[i])
		}
		if n == 0 {
			out = append(out, arg)
		}
	}
	return out
}

func listFlagNames(cmd *cobra.Command) map[string]bool {
	names := map[string]bool{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[nargsAnnotation]; ok {
			names["--"+f.Name] = true
			if f.Shorthand != "" {
				names["-"+f.Shorthand] = true
			}
		}
	})
	return names
}

func looksLikeFlag(s string) bool {
	return len(s) > 1 && s[0] == '-' && (s[1] < '0' || s[1] > '9')
}
