package openssh

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Defaults for a Debian-style OpenSSH installation.
const (
	DefaultDropInPath  = "/etc/ssh/sshd_config.d/50-latch.conf"
	DefaultMainConfig  = "/etc/ssh/sshd_config"
	DefaultCAKeysPath  = "/etc/ssh/latch_user_ca.pub"
	DefaultStatePath   = "/var/lib/latch/openssh-originals.json"
	DefaultSSHD        = "/usr/sbin/sshd"
	DefaultPidFile     = "/run/sshd.pid"
	DefaultCommandUser = "nobody"
	DefaultMatchUsers  = "*@*"
)

// DropIn is the sshd configuration the login extension installs. Zero fields take the
// defaults above; CAKeys and Command are required.
type DropIn struct {
	Path       string // the drop-in file
	MainConfig string // sshd's main configuration, checked with sshd -t -f
	CAKeysPath string // the TrustedUserCAKeys file the drop-in points at
	// NoPrincipalsPath is an empty file the drop-in names as AuthorizedPrincipalsFile; default
	// latch_no_principals beside CAKeysPath. See render for why not "none".
	NoPrincipalsPath string
	// CAKeys are the tenant's SSH CA keys (more than one while a CA rotates).
	CAKeys []ssh.PublicKey
	// Command is the principals command without sshd's tokens, absolute path first, e.g.
	// {"/usr/bin/latch", "agent", "principals"}; CommandTokens are appended. sshd insists the
	// binary and every directory above it are root-owned and not group- or world-writable.
	Command []string
	// CommandUser runs the command. Default nobody: it needs no privilege to ask the agent.
	CommandUser string
	// MatchUsers is the sshd pattern of accounts that take the directory path. The default
	// *@* matches every LocalName and no ordinary local account.
	MatchUsers string
	// StatePath keeps the original bytes of every file Install changes, so Remove can put them
	// back even from another process (the agent restarted, the extension deleted later).
	StatePath string
	SSHD      string // the sshd binary used for sshd -t
	PidFile   string // sshd's pid file, for SIGHUP when systemd does not run sshd
	// Reload, when set, replaces the reload (systemctl reload ssh, else SIGHUP to PidFile).
	Reload func(ctx context.Context) error
}

// withDefaults returns d with zero fields set to the defaults.
func (d DropIn) withDefaults() DropIn {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&d.Path, DefaultDropInPath)
	set(&d.MainConfig, DefaultMainConfig)
	set(&d.CAKeysPath, DefaultCAKeysPath)
	set(&d.NoPrincipalsPath, filepath.Join(filepath.Dir(d.CAKeysPath), "latch_no_principals"))
	set(&d.StatePath, DefaultStatePath)
	set(&d.SSHD, DefaultSSHD)
	set(&d.PidFile, DefaultPidFile)
	set(&d.CommandUser, DefaultCommandUser)
	set(&d.MatchUsers, DefaultMatchUsers)
	return d
}

// validate reports every problem at once. Each value lands in a configuration line, so
// anything that could end the line or start another keyword is refused, not quoted.
func (d DropIn) validate() error {
	var probs []string
	for _, p := range []struct{ name, v string }{{"Path", d.Path}, {"MainConfig", d.MainConfig},
		{"CAKeysPath", d.CAKeysPath}, {"NoPrincipalsPath", d.NoPrincipalsPath}, {"StatePath", d.StatePath}, {"SSHD", d.SSHD}} {
		if !filepath.IsAbs(p.v) || !configSafe(p.v) {
			probs = append(probs, p.name+" must be an absolute path without blanks, quotes or '%'")
		}
	}
	if len(d.CAKeys) == 0 || containsNil(d.CAKeys) {
		probs = append(probs, "CAKeys: at least one CA key is required")
	}
	if len(d.Command) == 0 || !filepath.IsAbs(d.Command[0]) {
		probs = append(probs, "Command must start with an absolute path")
	}
	for _, a := range d.Command {
		if !configSafe(a) {
			probs = append(probs, fmt.Sprintf("Command argument %q holds a blank, quote or '%%'", a))
		}
	}
	if !configSafe(d.CommandUser) || !configSafe(d.MatchUsers) || strings.Contains(d.MatchUsers, ",") {
		probs = append(probs, "CommandUser and MatchUsers must be single words")
	}
	if len(probs) > 0 {
		return fmt.Errorf("openssh drop-in: %s", strings.Join(probs, "; "))
	}
	return nil
}

func containsNil(ks []ssh.PublicKey) bool {
	for _, k := range ks {
		if k == nil {
			return true
		}
	}
	return false
}

// configSafe accepts a non-empty word of printable ASCII without blanks, quotes, '%' (sshd
// would expand it), '#' or backslashes.
func configSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"'%#\`, c) >= 0 {
			return false
		}
	}
	return true
}

// render is the drop-in's text. Two behaviours of OpenSSH 9.2 inside a Match block shape it.
// "AuthorizedPrincipalsFile none" is not read as "no file" there: sshd looks for a file
// literally named "none" in the user's home, which the user could create to list their own
// name and skip the agent's decision; so the drop-in names an empty root-owned file instead.
// And "AuthorizedKeysCommand none" written before AuthorizedPrincipalsCommand in the same
// block clears the principals command (sshd -T shows none), so the keys-command line comes
// last.
func (d DropIn) render() []byte {
	cmd := strings.Join(append(append([]string{}, d.Command...), CommandTokens...), " ")
	lines := []string{
		"# Written by the Latch login extension; removing the extension restores what was here.",
		"# Directory users (names with '@') log in only with a certificate from the tenant's SSH",
		"# CA, and only when the Latch agent allows that login. Other accounts are not affected.",
		"Match User " + d.MatchUsers,
		"\tPubkeyAuthentication yes",
		"\tAuthenticationMethods publickey",
		"\tTrustedUserCAKeys " + d.CAKeysPath,
		"\tAuthorizedPrincipalsFile " + d.NoPrincipalsPath,
		"\tAuthorizedPrincipalsCommand " + cmd,
		"\tAuthorizedPrincipalsCommandUser " + d.CommandUser,
		// Keys a directory user plants in their home must not bypass the decision.
		"\tAuthorizedKeysFile none",
		"\tAuthorizedKeysCommand none",
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// renderCAKeys is the TrustedUserCAKeys file: one key per line.
func (d DropIn) renderCAKeys() []byte {
	var b []byte
	for _, k := range d.CAKeys {
		b = append(b, ssh.MarshalAuthorizedKey(k)...)
	}
	return b
}
