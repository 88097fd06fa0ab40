package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/latchsh/latch/agent"
)

// newAgentCommand is "latch agent": the machine side, connect and run.
func newAgentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the Latch machine agent: onboarding and the instance metadata service.",
	}
	cmd.AddCommand(newAgentConnect(), newAgentRun(), newAgentInstallUnit(), newAgentPrincipals())
	return cmd
}

func newAgentConnect() *cobra.Command {
	var o agent.ConnectOptions
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Connect this machine to its VM resource with a one-time onboarding token.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := agent.Connect(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]string{"machineId": st.MachineID, "tenantId": st.TenantID, "resourceId": st.ResourceID})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server, "server", "", "The control plane's URL, as printed in the onboarding command.")
	f.StringVar(&o.Token, "token", "", "The one-time onboarding token.")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM file of the certificate authority the control plane's certificate chains to.")
	f.StringVar(&o.StateDir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	cmd.MarkFlagRequired("server")
	cmd.MarkFlagRequired("token")
	return cmd
}

func newAgentRun() *cobra.Command {
	o := agent.RunOptions{LinkLocal: true}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve the instance metadata service for this machine and report its status.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return agent.Run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.StateDir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	f.StringVar(&o.IMDSAddr, "imds-addr", agent.DefaultIMDSAddr, "Loopback address the metadata service always listens on.")
	f.BoolVar(&o.LinkLocal, "link-local", true, "Also serve 169.254.169.254:80 when the address can be bound.")
	return cmd
}

func newAgentInstallUnit() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "install-unit",
		Short: "Write the agent's systemd unit (then: systemctl enable --now latch-agent).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := agent.InstallUnit(dir)
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), path)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "/etc/systemd/system", "Directory of systemd units.")
	return cmd
}

// printJSON writes v indented, as the command line prints results.
func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
