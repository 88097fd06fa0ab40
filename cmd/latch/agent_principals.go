package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchsh/latch/agent"
)

// sshd runs "latch agent principals" once or twice for every login attempt, so its start-up
// is part of every login's time. init answers it before main builds the whole command tree
// (the server's and the CLI's hundreds of commands, which it does not need): see
// principalsFastPath. Anything it does not recognise goes on to cobra as before.
func init() {
	if socket, args, ok := principalsFastPath(os.Args[1:]); ok {
		os.Exit(runPrincipals(context.Background(), socket, args))
	}
}

// principalsFastPath recognises exactly what the login extension's sshd drop-in runs:
// "agent principals [--socket=PATH | --socket PATH] USER KEY-TYPE CERTIFICATE" with no other
// flag; it returns the socket and sshd's tokens.
func principalsFastPath(argv []string) (socket string, args []string, ok bool) {
	if len(argv) < 2 || argv[0] != "agent" || argv[1] != "principals" {
		return "", nil, false
	}
	socket, args = agent.DefaultSocketPath, argv[2:]
	if len(args) > 0 {
		if v, found := strings.CutPrefix(args[0], "--socket="); found {
			socket, args = v, args[1:]
		} else if args[0] == "--socket" && len(args) > 1 {
			socket, args = args[1], args[2:]
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return "", nil, false // --help and the like: cobra answers
		}
	}
	return socket, args, len(args) == 3
}

// runPrincipals asks the agent and returns the exit status: 1, with the reason on stderr for
// sshd's log and nothing on stdout, for every failure, so sshd refuses the login.
func runPrincipals(ctx context.Context, socket string, args []string) int {
	if err := agent.Principals(ctx, socket, args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "latch agent principals:", err)
		return 1
	}
	return 0
}

// newAgentPrincipals is "latch agent principals %u %t %k", the AuthorizedPrincipalsCommand
// the login extension's sshd drop-in names. sshd runs it as an unprivileged user; it asks the
// agent over the decision socket and prints the principal the agent allows, or nothing.
// Every failure exits 1 with nothing printed, so sshd refuses the login. sshd's own
// invocations are answered by init before this command exists; this one serves the rest
// (--help, wrong argument counts).
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
			if code := runPrincipals(cmd.Context(), socket, args); code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", agent.DefaultSocketPath, "The agent's decision socket.")
	return cmd
}
