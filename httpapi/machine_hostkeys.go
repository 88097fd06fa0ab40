package httpapi

import (
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/resource"
)

// maxHostKeys caps how many host keys one machine may report; sshd has one per algorithm.
const maxHostKeys = 16

// maxHostKeyLine caps one reported line; an RSA-16384 key is about 2.8 kB in base64.
const maxHostKeyLine = 4096

// machineHostKeys keeps the reported host keys that are plain public keys, as canonical
// "type base64" lines without comments, deduplicated and at most maxHostKeys. Certificates
// and anything unreadable are dropped: a client pins exactly these.
func machineHostKeys(lines []string) []string {
	var out []string
	for _, l := range lines {
		if len(out) == maxHostKeys {
			break
		}
		if len(l) > maxHostKeyLine {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
		if err != nil {
			continue
		}
		if _, isCert := k.(*ssh.Certificate); isCert {
			continue
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out
}

// withHostKeys adds the VM's host keys and addresses, as its agent last reported them, to an
// ssh-cert response (Latch's addition to Entra's answer): the requester was just checked to
// hold a login role on the VM, which does not let them read the VM itself, and the client
// needs the keys to verify the machine on the first connection too.
func withHostKeys(resp map[string]any, vm resource.Resource) {
	p, err := resource.ParseVMProperties(vm.Properties)
	if err != nil || len(p.Machine.HostKeys) == 0 {
		return
	}
	resp["host_keys"] = p.Machine.HostKeys
	if len(p.Machine.Addresses) > 0 {
		resp["host_addresses"] = p.Machine.Addresses
	}
}
