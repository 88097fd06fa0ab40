package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRoot builds the command tree for one invocation.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "latch",
		Short: "Latch command line: sign in, manage the directory, and reach your machines.",
		Long: `Welcome to Latch!

Use 'latch login' to sign in to a Latch server, then 'latch -h' to see the command groups.
The commands, flags and output follow the Azure CLI (az), so what you know from az works here.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Annotations[clientAnnotation] == "" {
				return nil // serve, agent: commands added by the caller print no results
			}
			return a.prepare()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	a.globalFlags(root.PersistentFlags())
	root.AddCommand(newLoginCommand(a), newLogoutCommand(a), newAccountCommand(a), newADCommand(a),
		newResourceGroupCommand(a), newVMCommand(a), newRoleCommand(a), newMonitorCommand(a))
	root.AddCommand(newPasskeyCommand(a), newSSHCommand(a))
	root.AddCommand(newConditionalAccessCommand(a))
	root.AddCommand(newSignInCommand(a))
	addTAPCommand(root, a) // passkey.go, tap.go
	for _, c := range root.Commands() {
		markClient(c)
	}
	return root
}

// clientAnnotation marks this package's commands, so that the output settings (and a broken
// config.json) concern only them and never "latch serve".
const clientAnnotation = "latch.client"

func markClient(c *cobra.Command) {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[clientAnnotation] = "1"
	for _, sub := range c.Commands() {
		markClient(sub)
	}
}

// globalFlags are the flags every az command takes.
func (a *app) globalFlags(f *pflag.FlagSet) {
	f.StringVarP(&a.output, "output", "o", "", "Output format. Allowed values: json, jsonc, none, table, tsv, yaml, yamlc. Default: json, or $LATCH_OUTPUT, or \"output\" in config.json.")
	f.StringVar(&a.query, "query", "", "JMESPath query string. See http://jmespath.org/ for more information and examples.")
	f.BoolVar(&a.onlyErrors, "only-show-errors", false, "Only show errors, suppressing warnings.")
	f.BoolVar(&a.debug, "debug", false, "Increase logging verbosity to show all debug logs (requests, statuses, correlation ids; never tokens).")
	f.BoolVar(&a.verbose, "verbose", false, "Increase logging verbosity. Use --debug for full debug logs.")
}

// prepare checks the global flags before any command runs, so that a bad --output or --query
// is a usage error (exit 2) and nothing has been sent to the server yet.
func (a *app) prepare() error {
	if a.output == "" {
		var err error
		if a.output, err = a.defaultOutput(); err != nil {
			a.output = "json"
			return err
		}
	}
	if !validFormat(a.output) {
		return usagef("argument --output/-o: invalid choice: '%s' (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')", a.output)
	}
	if a.query != "" {
		if err := checkQuery(a.query); err != nil {
			return usagef("argument --query: invalid jmespath_type value: '%s'", a.query)
		}
	}
	return nil
}

// run adapts a command body that returns a result to cobra: the result is printed in the
// chosen format; nil prints nothing, as az does for commands without output.
func (a *app) run(body func(ctx context.Context, cmd *cobra.Command) (any, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		start := time.Now()
		v, err := body(cmd.Context(), cmd)
		if a.verbose {
			fmt.Fprintf(a.stderr, "INFO: Command ran in %.3f seconds\n", time.Since(start).Seconds())
		}
		if err != nil {
			return err
		}
		if v == nil {
			return nil
		}
		return a.print(v)
	}
}
