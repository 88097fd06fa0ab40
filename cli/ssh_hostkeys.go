package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Host verification for "latch ssh …". The machine's agent reports its SSH host keys over the
// machine's authenticated channel; the control plane keeps them on the VM and hands them out
// with each certificate (to whoever may log in, who may not be able to read the VM). The CLI
// pins them in a known_hosts file of the VM's own under the VM's NAME, and ssh checks the
// host strictly against that file alone: the first connection is verified as well as later
// ones, and nothing another host answered for the name before can interfere.

// knownHostsName is the pinned file, beside the VM's key in the configuration directory.
const knownHostsName = "known_hosts"

// maxPinnedKeys bounds what a token response can make the CLI write.
const maxPinnedKeys = 16

// resolveTimeout bounds the check whether a VM's name resolves.
const resolveTimeout = 2 * time.Second

// sshHost is what the token service said of the VM's SSH server with the certificate.
type sshHost struct {
	keys      []ssh.PublicKey
	addresses []string
}

// hostFromToken reads the host keys and addresses of an ssh-cert token response; lines that
// are not plain public keys are skipped (a certificate is no pin).
func hostFromToken(tr *tokenResponse) sshHost {
	var h sshHost
	for _, line := range tr.HostKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil || len(h.keys) == maxPinnedKeys {
			continue
		}
		if _, isCert := k.(*ssh.Certificate); !isCert {
			h.keys = append(h.keys, k)
		}
	}
	for _, a := range tr.HostAddresses {
		if ip := net.ParseIP(a); ip != nil {
			h.addresses = append(h.addresses, ip.String())
		}
	}
	return h
}

// pinHost writes the VM's known_hosts file beside the key, one "<name> <key>" line per host
// key, and records it in c. Without host keys (no agent has reported) it pins nothing and
// leaves an older pin file alone: ssh then checks the host as the user's configuration says.
func (c *sshCredential) pinHost(name string, h sshHost) error {
	c.addresses = h.addresses
	if len(h.keys) == 0 {
		return nil
	}
	var b strings.Builder
	for _, k := range h.keys {
		b.WriteString(name + " " + string(ssh.MarshalAuthorizedKey(k)))
	}
	dir := filepath.Dir(c.PrivateKeyFile)
	if err := writeFileAtomic(dir, knownHostsName, []byte(b.String())); err != nil {
		return err
	}
	c.KnownHostsFile = filepath.Join(dir, knownHostsName)
	return nil
}

// chooseHostName decides how ssh reaches the VM: by its name when the name resolves, else at
// the first address its agent reported (lab machines have no DNS); the host key is checked
// under the name either way. $LATCH_SSH_ADDRESS=reported always takes the reported address,
// without a name lookup. It warns when nothing is pinned.
func (a *app) chooseHostName(ctx context.Context, name string, c *sshCredential) {
	if c.KnownHostsFile == "" {
		a.warn("%s has not reported its SSH host keys (is its Latch agent connected?): the host key is checked "+
			"against your own known_hosts as ssh is configured to.", name)
		return
	}
	if len(c.addresses) == 0 {
		return
	}
	if a.getenv("LATCH_SSH_ADDRESS") != "reported" && resolves(ctx, name) {
		return
	}
	c.HostName = c.addresses[0]
}

// resolves reports whether name has an address through the system's resolver.
func resolves(ctx context.Context, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	return err == nil && len(addrs) > 0
}

// hostOptions are ssh's options for the pinned host: the VM's own known_hosts and nothing
// else, strict checking, the name as the key's alias, and the address when the name does not
// resolve. Nil when nothing is pinned. The file is quoted: the option takes a list of files.
func (c *sshCredential) hostOptions(name string) []string {
	if c.KnownHostsFile == "" {
		return nil
	}
	opts := []string{"-o", "UserKnownHostsFile=\"" + c.KnownHostsFile + "\"", "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=" + name}
	if c.HostName != "" {
		opts = append(opts, "-o", "HostName="+c.HostName)
	}
	return opts
}

// hostConfigLines are hostOptions as lines of a Host entry.
func (c *sshCredential) hostConfigLines(name string) string {
	if c.KnownHostsFile == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("\tUserKnownHostsFile \"" + c.KnownHostsFile + "\"\n")
	b.WriteString("\tGlobalKnownHostsFile /dev/null\n")
	b.WriteString("\tStrictHostKeyChecking yes\n")
	b.WriteString("\tHostKeyAlias " + name + "\n")
	if c.HostName != "" {
		b.WriteString("\tHostName " + c.HostName + "\n")
	}
	return b.String()
}
