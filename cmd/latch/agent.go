package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/latchsh/latch/agent"
	"github.com/latchsh/latch/openssh"
)

// newAgentCommand is "latch agent": the machine side, connect and run.
func newAgentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the Latch machine agent: onboarding and the instance metadata service.",
	}
	cmd.AddCommand(newAgentConnect(), newAgentRun(), newAgentStatus(), newAgentDoctor(), newAgentInstallUnit(), newAgentPrincipals())
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
			if st.KeyNote != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "latch: "+st.KeyNote)
			}
			out := map[string]string{"machineId": st.MachineID, "tenantId": st.TenantID, "resourceId": st.ResourceID,
				"keyProvider": st.KeyProvider}
			if st.TPM != "" {
				out["tpm"] = st.TPM
			}
			return printJSON(cmd, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server, "server", "", "The control plane's URL, as printed in the onboarding command.")
	f.StringVar(&o.Token, "token", "", "The one-time onboarding token.")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM file of the certificate authority the control plane's certificate chains to.")
	f.StringVar(&o.StateDir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	f.StringVar(&o.TPM, "tpm", agent.TPMAuto, "Make the machine and device keys in the TPM: auto (when one is present and works, else key files), require (fail without one) or off (key files).")
	f.StringVar(&o.TPMDevice, "tpm-device", agent.DefaultTPMDevice, "The TPM device.")
	f.StringVar(&o.TPMSimulator, "tpm-simulator", "", "host:port of a TPM simulator's command port (swtpm; platform port next) to use instead of the device, for tests.")
	f.MarkHidden("tpm-simulator")
	cmd.MarkFlagRequired("server")
	cmd.MarkFlagRequired("token")
	return cmd
}

func newAgentRun() *cobra.Command {
	o := agent.RunOptions{LinkLocal: true}
	login := true
	var lo agent.LoginOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve the instance metadata service, follow the control plane's goal state (login extensions) and report status.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return runAgent(ctx, o, login, lo)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&login, "login", true, "Let login extensions configure OpenSSH for directory users (false: they fail, saying so).")
	f.StringVar(&lo.SocketPath, "socket", agent.DefaultSocketPath, "The login decision socket the principals command asks.")
	f.StringVar(&lo.SSHD.MainConfig, "sshd-config", openssh.DefaultMainConfig, "sshd's main configuration, checked with sshd -t before a reload.")
	f.StringVar(&lo.SSHD.Path, "sshd-drop-in", openssh.DefaultDropInPath, "The drop-in file the login extension writes (sshd's main configuration must Include its directory).")
	f.StringVar(&lo.SSHD.CAKeysPath, "sshd-ca-keys", openssh.DefaultCAKeysPath, "Where the tenant's user CA keys are written for TrustedUserCAKeys.")
	f.StringVar(&lo.SSHD.SSHD, "sshd", openssh.DefaultSSHD, "The sshd binary used to check the configuration.")
	f.StringVar(&lo.SSHD.PidFile, "sshd-pid-file", openssh.DefaultPidFile, "sshd's pid file, for a reload by SIGHUP where systemd does not run sshd.")
	f.StringVar(&lo.AdminGroup, "admin-group", agent.DefaultAdminGroup, "The local group of administrators; sudo is granted to it.")
	f.StringVar(&lo.SudoersPath, "sudoers", agent.DefaultSudoersPath, "The sudoers drop-in granting the admin group sudo.")
	f.StringVar(&o.StateDir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	f.StringVar(&o.IMDSAddr, "imds-addr", agent.DefaultIMDSAddr, "Loopback address the metadata service always listens on.")
	f.BoolVar(&o.LinkLocal, "link-local", true, "Also serve 169.254.169.254:80 when the address can be bound.")
	f.StringVar(&o.EndpointsFile, "endpoints", "", "JSON file overriding the goal state's endpoints (login, registration, device, access, management); default: endpoints.json in the state directory when present.")
	f.DurationVar(&o.GoalStateWait, "goal-state-wait", agent.DefaultGoalStateWait, "How long one long-poll for the goal state waits.")
	return cmd
}

// runAgent serves with the machine's login setup, whose decision socket runs beside it.
func runAgent(ctx context.Context, o agent.RunOptions, login bool, lo agent.LoginOptions) error {
	st, key, err := agent.Load(o.StateDir)
	if err != nil {
		return err
	}
	c, err := agent.NewClient(st, key, nil)
	if err != nil {
		return err
	}
	if login {
		lo.StateDir, lo.Client, lo.Logger = o.StateDir, c, o.Logger
		o.SSHDConfig = lo.SSHD.MainConfig
		lg, err := agent.NewLogin(lo)
		if err != nil {
			return err
		}
		o.Login = lg
		go func() {
			if err := lg.Run(ctx); err != nil && ctx.Err() == nil {
				o.Logger.Error("login decisions are not served", "error", err)
			}
		}()
	}
	return agent.Serve(ctx, c, o)
}

func newAgentStatus() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the device state, the machine, the goal state and the last errors, as dsregcmd /status does (-o json for JSON).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := agent.ReadStatus(dir)
			if err != nil {
				return err
			}
			if wantJSON(cmd) {
				return printJSON(cmd, st)
			}
			return st.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	return cmd
}

func newAgentDoctor() *cobra.Command {
	var o agent.DoctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Run the login extension's troubleshooting checks (metadata service, identity, token, endpoints, DNS); exits non-zero when one fails.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks, err := agent.Doctor(cmd.Context(), o)
			if err != nil {
				return err
			}
			failed := 0
			if wantJSON(cmd) {
				for _, c := range checks {
					if !c.OK {
						failed++
					}
				}
				err = printJSON(cmd, checks)
			} else {
				failed, err = agent.WriteChecks(cmd.OutOrStdout(), checks)
			}
			if err == nil && failed > 0 {
				cmd.SilenceUsage = true
				err = fmt.Errorf("%d of %d checks failed", failed, len(checks))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.StateDir, "state-dir", agent.DefaultStateDir, "Where the machine key and state are kept.")
	f.StringVar(&o.IMDSAddr, "imds-addr", agent.DefaultIMDSAddr, "Loopback address of the agent's metadata service.")
	f.StringVar(&o.EndpointsFile, "endpoints", "", "JSON file overriding the goal state's endpoints, as for latch agent run.")
	return cmd
}

// wantJSON: the agent's reports are text unless -o json (or jsonc) was given explicitly.
func wantJSON(cmd *cobra.Command) bool {
	f := cmd.Flag("output")
	return f != nil && f.Changed && strings.HasPrefix(f.Value.String(), "json")
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
