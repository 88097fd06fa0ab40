package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/testenv"
)

// TestSSHVMWithOpenSSH runs "latch ssh vm" against Debian's sshd in a network namespace that
// trusts the tenant's CA as served by the server. Without the machine agent, sshd itself
// checks the certificate: signed by the CA, valid now, principal equal to the account name.
func TestSSHVMWithOpenSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd in network namespaces")
	}
	srv, vm := sshEnv(t)
	vmNS, cliNS := testenv.NewNetns(t, "sshvm"), testenv.NewNetns(t, "sshcli")
	vmNS.Connect(t, cliNS, "10.77.42.0/24")
	sshd := testenv.StartSSHD(t, vmNS, testenv.SSHDConfig{TrustedUserCAKeys: writeTenantCA(t, srv)})
	name := fmt.Sprintf("e2essh%d", os.Getpid())
	testenv.CreateUser(t, srv, name, "correct horse battery staple")
	upn := name + "@contoso.test"
	addAccount(t, upn)
	grantRole(t, srv, upn, vm, access.VMUserLoginRoleID)
	l := signIn(t, srv, upn, "correct horse battery staple")
	l.env["LATCH_SSH"] = sshInNamespace(t, cliNS, sshd)
	other := name + "b@contoso.test"
	addAccount(t, other)
	var cred struct{ PrivateKeyFile, CertificateFile string }
	l.ok(&cred, "ssh", "cert", "-g", "rg1", "-n", "vm1")
	out, err := exec.Command(l.env["LATCH_SSH"], "-l", other, "-i", cred.PrivateKeyFile, "-o", "CertificateFile="+cred.CertificateFile,
		"-o", "IdentitiesOnly=yes", "--", "vm1", "id", "-un").CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 255 || !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("fail/certificate-for-another-account: %v\n%s", err, out)
	}
	code, stdout, stderr := l.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-un")
	if code != 0 || stdout != upn+"\n" {
		t.Fatalf("ok/user-login: exit %d, stdout %q\n%s\nsshd:\n%s", code, stdout, stderr, sshd.Log())
	}
}

// writeTenantCA fetches the tenant's CA key from the server into a TrustedUserCAKeys file.
func writeTenantCA(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	resp, err := srv.Client.Get(srv.URL + "/" + srv.TenantID + "/ssh/ca")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET ssh/ca: %d %v", resp.StatusCode, err)
	}
	path := filepath.Join(t.TempDir(), "latch_user_ca.pub")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// addAccount makes the local account a directory user logs in as, as the agent will.
func addAccount(t *testing.T, name string) {
	t.Helper()
	if out, err := exec.Command("useradd", "-m", "-N", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-r", "-f", name).Run() })
}

// sshInNamespace writes a stand-in for ssh that runs the real client in ns, reaching the
// machine's name at sshd's address and pinning its host key: the name stays what latch
// passes, as a resolver would map it.
func sshInNamespace(t *testing.T, ns *testenv.Netns, sshd *testenv.SSHD) string {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\nexec ip netns exec %s ssh -F none -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null "+
		"-o StrictHostKeyChecking=yes -o HostKeyAlias=%s -o HostName=%s -o BatchMode=yes -o IdentityAgent=none -p %d \"$@\"\n",
		ns.Name, sshd.KnownHosts, sshd.HostAlias, sshd.Addr(), sshd.Port)
	path := filepath.Join(t.TempDir(), "ssh")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}
