package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchsh/latch/agent"
)

// newAgentPrincipals is "latch agent principals %u %t %k", the AuthorizedPrincipalsCommand
// the login extension's sshd drop-in names. sshd runs it as an unprivileged user; it asks the
// agent over the decision socket and prints the principal the agent allows, or nothing.
// Every failure exits 1 with nothing printed, so sshd refuses the login.
func newAgentPrincipals() *cobra.Command {
	socket := agent.DefaultSocketPath
	cmd := &cobra.Command{
		Use:    "principals USER KEY-TYPE CERTIFICATE",
		Short:  "Answer sshd's AuthorizedPrincipalsCommand by asking the running agent (used by sshd, not people).",
		Hidden: true,
		Args:   cobra.ArbitraryArgs, // Principals checks them, so a wrong count is refused, not a usage page
		// sshd's log shows stderr; usage text there would bury the reason.
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := agent.Principals(cmd.Context(), socket, args, cmd.OutOrStdout()); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "latch agent principals:", err)
				os.Exit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", agent.DefaultSocketPath, "The agent's decision socket.")
	return cmd
}
