package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// SSH to machines with short-lived certificates ("latch ssh …"), as "az ssh" does: a command
// has the token service certify a fresh Ed25519 key for one VM for a few minutes, or reuses
// the last such key and certificate while they stay valid (ssh_cache.go), and hands key and
// certificate to the system's OpenSSH.

// sshHostNote is said in every command's help: how the machine is verified (ssh_hostkeys.go).
const sshHostNote = `The machine is verified by its name, never by an address: its agent reports the machine's
SSH host keys over its authenticated channel, and Latch pins them under the VM's name in a
known_hosts file of the VM's own in the configuration directory, which ssh checks strictly
(StrictHostKeyChecking yes, HostKeyAlias <VM name>), the first connection included. When the
name does not resolve (no DNS for lab machines), ssh connects to the first address the agent
reported, still checking the key under the name; $LATCH_SSH_ADDRESS=reported always does.
A machine whose agent has not reported host keys is checked against your own known_hosts.`

// sshReuseNote is said in every command's help: why reusing a certificate is safe.
const sshReuseNote = `A certificate lives a few minutes. While the last one for this VM and account stays valid
for more than a minute, it is reused with its key instead of asking for a new one (--new-cert
asks anyway, and fetches the VM's host keys again). Reuse does not extend anyone's access:
the machine checks your login roles and Conditional Access requirements again at every login,
and a change reaches the machine within seconds; what depends on where you connect from is
checked when a certificate is issued, as for any certificate used with plain ssh. The key
never leaves the configuration directory; files there that are not private to you are not
used. 'latch logout' deletes every key and certificate.`

func newSSHCommand(a *app) *cobra.Command {
	return newGroup("ssh", "SSH to machines with your directory identity and short-lived certificates.",
		newSSHCert(a), newSSHConfig(a), newSSHVM(a))
}

// sshTarget is the VM flags every ssh command takes.
type sshTarget struct {
	sub, rg, name string
	fresh         bool // --new-cert
	allowHost     bool // --allow-host (ssh_hostconsent.go)
}

func (t *sshTarget) flags(cmd *cobra.Command) {
	resourceFlags(cmd, &t.rg, &t.name, "The name of the VM.")
	cmd.Flags().StringVar(&t.sub, "subscription", "", "Name or ID of subscription. You can configure the default subscription using 'latch account set -s NAME_OR_ID'.")
	cmd.Flags().BoolVar(&t.fresh, "new-cert", false, "Get a new key and certificate even when the cached ones are still valid.")
	cmd.Flags().BoolVar(&t.allowHost, "allow-host", false, "Allow the connection to this VM without being asked (Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days).")
}

// certificate gets a certificate for the target, reused or new; certFile "" leaves it beside
// the key only.
func (t *sshTarget) certificate(ctx context.Context, a *app, certFile string) (*sshCredential, error) {
	if err := checkSSHName(t.rg, t.name); err != nil {
		return nil, err
	}
	return a.sshCertificate(a.withHostConsent(ctx, t.name, t.allowHost), t.sub, t.rg, t.name, certFile, t.fresh)
}

// checkSSHName refuses names that would be read as options or paths by ssh or the shell.
func checkSSHName(names ...string) error {
	for _, n := range names {
		if n == "" || n == "." || n == ".." || strings.HasPrefix(n, "-") || strings.ContainsAny(n, "/\\ \t\n\"'%") {
			return usagef("%q cannot be a machine or resource group name here.", n)
		}
	}
	return nil
}

func newSSHCert(a *app) *cobra.Command {
	var t sshTarget
	var file string
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Write an SSH certificate for a VM, for SSH clients other than latch.",
		Long: `Makes a new Ed25519 key in the Latch configuration directory (readable only by you) and
gets a certificate for it, valid for a few minutes and for this VM only, logging in as your
directory account (your user principal name in lower case). The certificate is written beside
the key as id_ed25519-cert.pub, and also to --file.

` + sshReuseNote + "\n\n" + sshHostNote,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			return t.certificate(ctx, a, file)
		}),
	}
	t.flags(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "The file to write the certificate to. Default: beside the key in the Latch configuration directory.")
	return cmd
}

func newSSHConfig(a *app) *cobra.Command {
	var t sshTarget
	var file string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write an OpenSSH configuration entry for a VM, so plain ssh, scp and IDEs can reach it.",
		Long: `Gets a certificate as 'latch ssh cert' does and adds a "Host <VM name>" entry to --file with
the user, key and certificate, replacing the entry an earlier run wrote for the same VM. The
certificate is valid for a few minutes: run the command again to renew it.

` + sshReuseNote + "\n\n" + sshHostNote,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			cred, err := t.certificate(ctx, a, "")
			if err != nil {
				return nil, err
			}
			a.chooseHostName(ctx, t.name, cred)
			return cred, writeSSHConfig(file, t.name, cred)
		}),
	}
	t.flags(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "The OpenSSH configuration file to add the entry to, e.g. ~/.ssh/config.")
	required(cmd, "file")
	return cmd
}

func newSSHVM(a *app) *cobra.Command {
	var t sshTarget
	cmd := &cobra.Command{
		Use:   "vm [-- COMMAND...]",
		Short: "SSH to a VM with your directory identity.",
		Long: `Gets a certificate for the VM and runs the system's ssh with it, logging in as your
directory account. Anything after "--" is the remote command. $LATCH_SSH names another ssh
program.

` + sshReuseNote + "\n\n" + sshHostNote,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
				return usagef("unrecognized arguments: %s (put the remote command after --)", strings.Join(args, " "))
			}
			return nil
		},
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			cred, err := t.certificate(ctx, a, "")
			if err != nil {
				return nil, err
			}
			a.chooseHostName(ctx, t.name, cred)
			return nil, a.runSSH(ctx, t.name, cred, cmd.Flags().Args())
		}),
	}
	t.flags(cmd)
	return cmd
}

// runSSH runs ssh to host with the credential, on this command's streams, and passes on a
// non-zero exit status.
func (a *app) runSSH(ctx context.Context, host string, cred *sshCredential, command []string) error {
	prog := a.getenv("LATCH_SSH")
	if prog == "" {
		prog = "ssh"
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return failf("cannot find the ssh program %q: %v", prog, err)
	}
	args := append(sshArgs(host, cred), command...)
	a.debugf("Running %s %s", path, strings.Join(args, " "))
	c := exec.CommandContext(ctx, path, args...)
	c.Stdin, c.Stdout, c.Stderr = a.stdin, a.stdout, a.stderr
	err = c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if exit.ExitCode() == sshFailed {
			a.debugf("ssh failed; the next command gets a new certificate and the VM's host keys again.")
			cred.forget()
		}
		return &cliError{msg: "ssh ended with " + exit.ProcessState.String(), exit: exit.ExitCode()}
	}
	return err
}

// sshFailed is ssh's exit status when it could not connect, verify the host or log in (or the
// remote command exited so). The cached certificate is then dropped: the next command asks the
// token service again, which says why a login is refused and reports the host keys as they are
// now, so a pin or certificate that no longer works is not reused for the rest of its life.
const sshFailed = 255

// sshArgs are ssh's options for the credential and the pinned host, then "--" and the host's
// name, so that nothing the user or the server chose can be read as an option.
func sshArgs(host string, cred *sshCredential) []string {
	args := []string{"-l", cred.user(), "-i", cred.PrivateKeyFile, "-o", "CertificateFile=" + cred.CertificateFile,
		"-o", "IdentitiesOnly=yes"}
	args = append(args, cred.hostOptions(host)...)
	return append(args, "--", host)
}

// writeSSHConfig replaces the entry for host in file, or appends one, keeping the rest.
func writeSSHConfig(file, host string, cred *sshCredential) error {
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return failf("cannot read %s: %v", file, err)
	}
	begin, end := "# latch ssh config: "+cred.VMID, "# end of latch ssh config: "+cred.VMID
	kept := withoutBlock(string(old), begin, end)
	if kept != "" && !strings.HasSuffix(kept, "\n") {
		kept += "\n"
	}
	entry := begin + "\n" + sshConfigEntry(host, cred) + end + "\n"
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Dir(abs), filepath.Base(abs), []byte(kept+entry))
}

// withoutBlock drops the lines from begin to end, both included.
func withoutBlock(s, begin, end string) string {
	var out []string
	skipping := false
	for _, line := range strings.SplitAfter(s, "\n") {
		switch t := strings.TrimSpace(line); {
		case t == begin:
			skipping = true
		case skipping && t == end:
			skipping = false
		case !skipping:
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
