package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

// sshEnv is a server with rg1/vm1 made by the owner, and the VM's ARM id.
func sshEnv(t *testing.T) (*testenv.Server, string) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	sh := &shell{t: t, l: ownerLogin(t, srv), vars: map[string]string{}}
	sh.run(`latch group create -n rg1 -l westus`)
	sh.run(`latch vm create -g rg1 -n vm1 --image UbuntuLTS --ssh-key-values "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHy8 user@host"`)
	return srv, "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
}

// grantRole gives user upn the role at scope, straight in the store.
func grantRole(t *testing.T, srv *testenv.Server, upn, scope, role string) {
	t.Helper()
	u, err := srv.Store.GetUserByUPN(context.Background(), srv.TenantID, upn)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.CreateRoleAssignment(context.Background(), resource.RoleAssignment{TenantID: srv.TenantID,
		Assignment: access.RoleAssignment{ID: uuid.NewString(), Scope: scope, RoleDefinitionID: role,
			PrincipalID: u.ID, PrincipalType: access.PrincipalUser}}); err != nil {
		t.Fatal(err)
	}
}

func TestSSHCertRefusedWithoutLoginRole(t *testing.T) {
	srv, vm := sshEnv(t)
	testenv.CreateUser(t, srv, "olga", "correct horse battery staple")
	grantRole(t, srv, "olga@contoso.test", vm, access.OwnerRoleID)
	l := signIn(t, srv, "olga@contoso.test", "correct horse battery staple")
	code, _, stderr := l.run(context.Background(), "ssh", "cert", "-g", "rg1", "-n", "vm1")
	if code == 0 || !strings.Contains(stderr, "Your account is configured to prevent you from using this device.") ||
		!strings.Contains(stderr, "Virtual Machine User Login") {
		t.Fatalf("an Owner without a login role: exit %d\n%s", code, stderr)
	}
	if found, _ := filepath.Glob(filepath.Join(l.env["LATCH_CONFIG_DIR"], "ssh", "rg1", "vm1-*", "id_ed25519-cert.pub")); len(found) > 0 {
		t.Fatal("a certificate was written after a refusal")
	}
	// The refusal left the refresh token usable: the next command still works.
	l.ok(nil, "vm", "show", "-g", "rg1", "-n", "vm1")
}

func TestSSHCertThroughCLI(t *testing.T) {
	srv, vm := sshEnv(t)
	testenv.CreateUser(t, srv, "uma", "correct horse battery staple")
	grantRole(t, srv, "uma@contoso.test", vm, access.VMUserLoginRoleID)
	l := signIn(t, srv, "uma@contoso.test", "correct horse battery staple")
	var out struct{ PrivateKeyFile, CertificateFile, VMID string }
	before := time.Now()
	l.ok(&out, "ssh", "cert", "-g", "rg1", "-n", "vm1")
	cert := readCert(t, out.CertificateFile)
	if len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != "uma@contoso.test" || cert.CertType != ssh.UserCert {
		t.Fatalf("principals %q, type %d", cert.ValidPrincipals, cert.CertType)
	}
	if life := time.Unix(int64(cert.ValidBefore), 0).Sub(before); life < 9*time.Minute || life > 11*time.Minute {
		t.Fatalf("valid for %v, want about 10 minutes", life)
	}
	if !strings.EqualFold(cert.Extensions[token.SSHCertExtensionVM], vm) || cert.Extensions[token.SSHCertExtensionTenant] != srv.TenantID {
		t.Fatalf("extensions %v", cert.Extensions)
	}
	if _, ok := cert.Extensions["permit-pty"]; !ok {
		t.Fatalf("no permit-pty: %v", cert.Extensions)
	}
	checkKeyPair(t, out.PrivateKeyFile, cert)
	if filepath.Dir(out.CertificateFile) != filepath.Dir(out.PrivateKeyFile) || filepath.Base(out.CertificateFile) != "id_ed25519-cert.pub" {
		t.Fatalf("certificate %s is not beside the key %s", out.CertificateFile, out.PrivateKeyFile)
	}
	other := filepath.Join(t.TempDir(), "vm1-cert.pub")
	l.ok(&out, "ssh", "cert", "-g", "rg1", "-n", "vm1", "--file", other)
	if out.CertificateFile != other {
		t.Fatalf("--file: wrote %s", out.CertificateFile)
	}
	checkKeyPair(t, out.PrivateKeyFile, readCert(t, other))
}

func TestSSHConfigAndVM(t *testing.T) {
	srv, vm := sshEnv(t)
	testenv.CreateUser(t, srv, "uma", "correct horse battery staple")
	grantRole(t, srv, "uma@contoso.test", vm, access.VMAdministratorLoginRoleID)
	l := signIn(t, srv, "uma@contoso.test", "correct horse battery staple")
	conf := filepath.Join(t.TempDir(), "config")
	os.WriteFile(conf, []byte("Host other\n\tUser me\n"), 0o600)
	l.ok(nil, "ssh", "config", "-g", "rg1", "-n", "vm1", "--file", conf)
	l.ok(nil, "ssh", "config", "-g", "rg1", "-n", "vm1", "--file", conf)
	b, _ := os.ReadFile(conf)
	text := string(b)
	if !strings.HasPrefix(text, "Host other\n\tUser me\n") || strings.Count(text, "Host vm1\n") != 1 ||
		!strings.Contains(text, "\tUser uma@contoso.test\n") || !strings.Contains(text, "CertificateFile ") ||
		!strings.Contains(text, "IdentityFile ") || strings.Contains(text, "StrictHostKeyChecking") {
		t.Fatalf("config:\n%s", text)
	}
	// A stand-in for ssh shows the arguments "latch ssh vm" passes.
	fake := filepath.Join(t.TempDir(), "ssh")
	os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\nexit 7\n"), 0o700)
	l.env["LATCH_SSH"] = fake
	code, stdout, _ := l.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-u")
	args := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 7 || len(args) < 4 || args[0] != "-l" || args[1] != "uma@contoso.test" ||
		strings.Join(args[len(args)-4:], " ") != "-- vm1 id -u" || strings.Contains(stdout, "StrictHostKeyChecking") {
		t.Fatalf("ssh vm: exit %d, ssh got %q", code, args)
	}
}

func readCert(t *testing.T, file string) *ssh.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("%s holds a %T", file, k)
	}
	return cert
}

// checkKeyPair checks that the key file is private and holds the certified key.
func checkKeyPair(t *testing.T, keyFile string, cert *ssh.Certificate) {
	t.Helper()
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v %v", keyFile, fi.Mode(), err)
	}
	b, _ := os.ReadFile(keyFile)
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if base64.StdEncoding.EncodeToString(signer.PublicKey().Marshal()) != base64.StdEncoding.EncodeToString(cert.Key.Marshal()) {
		t.Fatal("the certificate is not for the key on disk")
	}
}
