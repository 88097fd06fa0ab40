package agent

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// sshdMainConfig is the sshd configuration whose HostKey files the agent reports.
const sshdMainConfig = "/etc/ssh/sshd_config"

// sshdDefaultHostKeys are the keys sshd loads when its configuration names none.
var sshdDefaultHostKeys = []string{"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"}

// maxHostKeys and maxIncludeDepth bound what a strange configuration can make the agent read.
const (
	maxHostKeys     = 16
	maxIncludeDepth = 4
)

// HostKeys are the SSH host public keys of the sshd configured by mainConfig ("" for
// /etc/ssh/sshd_config), as "type base64" lines: the public half (<HostKey>.pub) of every
// HostKey the configuration or its Includes name, or of sshd's defaults when they name none.
// The control plane keeps them on the VM and clients pin them, so reporting them over the
// machine's authenticated channel is what lets a first connection be verified. Keys that
// cannot be read are left out; the result is nil when none can.
func HostKeys(mainConfig string) []string {
	if mainConfig == "" {
		mainConfig = sshdMainConfig
	}
	paths := hostKeyPaths(mainConfig, 0)
	if len(paths) == 0 {
		paths = sshdDefaultHostKeys
	}
	var out []string
	for _, p := range paths {
		if line := publicHostKey(p); line != "" && len(out) < maxHostKeys {
			out = append(out, line)
		}
	}
	return out
}

// hostKeyPaths are the HostKey values of file and the files it Includes, in order.
func hostKeyPaths(file string, depth int) []string {
	f, err := os.Open(file)
	if err != nil || depth > maxIncludeDepth {
		return nil
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, args := configLine(sc.Text())
		switch key {
		case "hostkey":
			if len(args) > 0 {
				paths = append(paths, args[0])
			}
		case "include":
			for _, pattern := range args {
				if !filepath.IsAbs(pattern) { // sshd reads relative Includes from /etc/ssh
					pattern = filepath.Join(filepath.Dir(sshdMainConfig), pattern)
				}
				matches, _ := filepath.Glob(pattern)
				for _, m := range matches {
					paths = append(paths, hostKeyPaths(m, depth+1)...)
				}
			}
		}
	}
	return paths
}

// configLine splits an sshd_config line into its lower-cased keyword and arguments, which
// may be double-quoted; comments and blank lines give "".
func configLine(line string) (string, []string) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil
	}
	// The keyword ends at a blank or an "=", which may have blanks around it.
	i := strings.IndexAny(line, " \t=")
	if i <= 0 {
		return strings.ToLower(line), nil
	}
	key, rest := line[:i], strings.TrimSpace(line[i:])
	rest = strings.TrimPrefix(rest, "=")
	var args []string
	for _, f := range strings.Fields(rest) {
		args = append(args, strings.Trim(f, `"`))
	}
	return strings.ToLower(key), args
}

// publicHostKey reads private key path's ".pub" file and returns the key without its
// comment, or "" when it is missing, unreadable or a certificate.
func publicHostKey(path string) string {
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		return ""
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return ""
	}
	if _, isCert := k.(*ssh.Certificate); isCert {
		return ""
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}
