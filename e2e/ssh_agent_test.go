package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/openssh"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

// The issue's end-to-end table: one machine (a network namespace with Debian's sshd and the
// real agent binary, onboarded with vm create's command), the login extension set with the
// CLI, and logins by directory users with certificates from the token service — or made here
// with the tenant's CA (or another) to show what the machine refuses.

// loginWithin is the issue's bound on how soon a change in the directory (a role removed, a
// user disabled) reaches the machine.
const loginWithin = 10 * time.Second

// machineEnv is the server, the owner's command line and the machine.
type machineEnv struct {
	t *testing.T
	// locals are the accounts the agent makes, removed once it has stopped (while it runs
	// it would make them again).
	locals *[]string
	srv    *testenv.Server
	owner  *latch
	m      *testenv.Machine
	vmID   string
	ca     ssh.Signer
	caDER  []byte // the tenant CA's private key, PKCS#8
}

func TestSSHLoginWithAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd and the agent in network namespaces")
	}
	e := newMachineEnv(t)
	breakGlass := e.breakGlassAccount()
	e.breakGlassLogin(breakGlass, "before the extension")
	originals := snapshotSSHD(t, e.m.SSHD)
	e.owner.ok(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1",
		"--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADSSHLoginForLinux")
	e.breakGlassLogin(breakGlass, "with the extension")

	// The certificate-based refusals first: sshd or the agent must refuse each.
	member := e.user("erin", "Virtual Machine User Login")
	memberLogin := e.signIn(member)
	e.waitLogin(memberLogin, member)
	t.Run("fail/owner-without-login-role", func(t *testing.T) {
		e := e.with(t)
		u := e.user("olga", "")
		e.owner.ok(nil, "role", "assignment", "create", "--role", "Owner", "--assignee", u.upn, "--resource-group", "rg1")
		code, _, stderr := e.signIn(u).run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "true")
		if code == 0 || !strings.Contains(stderr, "Your account is configured to prevent you from using this device.") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// A certificate made anyway (the CA's key, not the token service) is refused by the machine.
		if r := e.login(e.cert(u, e.vmID, time.Now(), nil), u.local, "true"); r.Exit == 0 {
			t.Fatalf("the machine let in an Owner without a login role: %+v", r)
		}
	})
	t.Run("fail/no-role", func(t *testing.T) {
		e := e.with(t)
		u := e.user("nora", "")
		if r := e.login(e.cert(u, e.vmID, time.Now(), nil), u.local, "true"); r.Exit != 255 {
			t.Fatalf("a user without a role: %+v", r)
		}
	})
	t.Run("fail/cert-for-another-vm", func(t *testing.T) {
		e := e.with(t)
		other := strings.TrimSuffix(e.vmID, "vm1") + "vm2"
		if r := e.login(e.cert(member, other, time.Now(), nil), member.local, "true"); r.Exit != 255 {
			t.Fatalf("a certificate for vm2: %+v", r)
		}
	})
	t.Run("fail/expired-cert", func(t *testing.T) {
		e := e.with(t)
		if r := e.login(e.cert(member, e.vmID, time.Now().Add(-time.Hour), nil), member.local, "true"); r.Exit != 255 {
			t.Fatalf("an expired certificate: %+v", r)
		}
	})
	t.Run("fail/host-cert-as-user-cert", func(t *testing.T) {
		e := e.with(t)
		c := e.cert(member, e.vmID, time.Now(), func(c *ssh.Certificate) { c.CertType = ssh.HostCert })
		if r := e.login(c, member.local, "true"); r.Exit != 255 {
			t.Fatalf("a host certificate: %+v", r)
		}
	})
	t.Run("fail/no-principals", func(t *testing.T) {
		e := e.with(t)
		c := e.noPrincipalsCert()
		if r := e.login(c, member.local, "true"); r.Exit != 255 {
			t.Fatalf("a certificate without principals: %+v", r)
		}
	})
	t.Run("fail/other-tenant", func(t *testing.T) {
		e := e.with(t)
		otherCA, err := token.NewSSHCA()
		if err != nil {
			t.Fatal(err)
		}
		c := e.certBy(otherCA.Signer(), member, e.vmID, time.Now(), func(c *ssh.Certificate) {
			c.Permissions.Extensions[token.SSHCertExtensionTenant] = "11111111-2222-3333-4444-555555555555"
		})
		if r := e.login(c, member.local, "true"); r.Exit != 255 {
			t.Fatalf("another tenant's certificate: %+v", r)
		}
	})
	t.Run("fail/disabled-user", func(t *testing.T) {
		e := e.with(t)
		u := e.user("dana", "Virtual Machine User Login")
		l := e.signIn(u)
		e.waitLogin(l, u)
		c := e.cliCert(l)
		e.owner.ok(nil, "ad", "user", "update", "--id", u.upn, "--account-enabled", "false")
		took := e.waitRefused(c, u.local)
		t.Logf("a disabled user's certificate was refused %v after the change", took.Round(10*time.Millisecond))
	})

	t.Run("fail/host-key-mismatch", func(t *testing.T) {
		e := e.with(t)
		// The VM's record names another key than the machine presents, as a machine taken over
		// on the network would: ssh must refuse the host, whatever the certificate.
		other, _, _ := ed25519.GenerateKey(rand.Reader)
		otherKey, _ := ssh.NewPublicKey(other)
		restore := e.setHostKeys(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherKey))))
		defer restore()
		// --new-cert: the host keys come with a new certificate; a reused one keeps those pinned.
		code, _, stderr := memberLogin.run(context.Background(), "ssh", "vm", "--new-cert", "-g", "rg1", "-n", "vm1", "--", "true")
		if code != 255 || !strings.Contains(stderr, "Host key verification failed") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("ok/host-key-pinned-by-name", func(t *testing.T) {
		e := e.with(t)
		var shown struct {
			Machine struct{ HostKeys []string } `json:"machine"`
		}
		e.owner.ok(&shown, "vm", "show", "-g", "rg1", "-n", "vm1")
		want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(e.m.SSHD.HostKey)))
		if len(shown.Machine.HostKeys) != 1 || shown.Machine.HostKeys[0] != want {
			t.Fatalf("vm show: host keys %q, want %q", shown.Machine.HostKeys, want)
		}
		var cred struct{ KnownHostsFile, HostName string }
		(&latch{t: t, env: memberLogin.env}).ok(&cred, "ssh", "cert", "-g", "rg1", "-n", "vm1")
		b, err := os.ReadFile(cred.KnownHostsFile)
		if err != nil || string(b) != "vm1 "+want+"\n" {
			t.Fatalf("known_hosts %q: %v", b, err)
		}
	})
	t.Run("ok/ssh-config-entry-pins-the-host", func(t *testing.T) {
		e := e.with(t)
		conf := filepath.Join(t.TempDir(), "config")
		(&latch{t: t, env: memberLogin.env}).ok(nil, "ssh", "config", "-g", "rg1", "-n", "vm1", "--file", conf)
		// Plain ssh with nothing but the written entry: user, key, certificate, pinned host.
		out, err := e.m.ClientNS.Command(context.Background(), "ssh", "-F", conf, "-o", "BatchMode=yes", "vm1", "id", "-un").CombinedOutput()
		if err != nil || string(out) != member.local+"\n" {
			b, _ := os.ReadFile(conf)
			t.Fatalf("ssh -F: %v: %s\nconfig:\n%s", err, out, b)
		}
	})
	t.Run("ok/user-login", func(t *testing.T) {
		code, stdout, stderr := memberLogin.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-un")
		if code != 0 || stdout != member.local+"\n" {
			t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
		}
		if code, _, _ := memberLogin.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "sudo", "-n", "true"); code == 0 {
			t.Fatal("a user login may use sudo")
		}
	})
	t.Run("ok/uid-derived", func(t *testing.T) {
		_, stdout, _ := memberLogin.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-u")
		if want := strconv.Itoa(openssh.UID(member.id)); strings.TrimSpace(stdout) != want {
			t.Fatalf("uid %q, want %s", stdout, want)
		}
	})
	t.Run("ok/admin-login", func(t *testing.T) {
		e := e.with(t)
		u := e.user("adam", "Virtual Machine Administrator Login")
		l := e.signIn(u)
		e.waitLogin(l, u)
		code, stdout, stderr := l.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "sudo -n true && echo admin")
		if code != 0 || stdout != "admin\n" {
			t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
		}
	})
	t.Run("ok/role-removed-within-10s", func(t *testing.T) {
		e := e.with(t)
		u := e.user("rita", "Virtual Machine User Login")
		l := e.signIn(u)
		e.waitLogin(l, u)
		c := e.cliCert(l)
		e.owner.ok(nil, "role", "assignment", "delete", "--assignee", u.upn, "--role", "Virtual Machine User Login", "--scope", e.vmID)
		took := e.waitRefused(c, u.local)
		t.Logf("a removed role's certificate was refused %v after the removal", took.Round(10*time.Millisecond))
		// The refusal is in the sign-in log under the certificate's key id and the correlation id
		// of the request that issued it.
		e.waitLogEntry(u, c.keyID, false)
	})
	t.Run("ok/sign-in-log-has-machine-logins", func(t *testing.T) { e.with(t).checkSignInLog(memberLogin, member) })
	t.Run("ok/break-glass", func(t *testing.T) { e.with(t).breakGlassLogin(breakGlass, "with directory logins") })
	t.Run("ok/extension-delete-restores-sshd", func(t *testing.T) {
		e := e.with(t)
		c := e.cliCert(memberLogin)
		e.owner.ok(nil, "vm", "extension", "delete", "-g", "rg1", "--vm-name", "vm1", "-n", "AADSSHLoginForLinux")
		e.waitRefused(c, member.local)
		if after := snapshotSSHD(t, e.m.SSHD); after != originals {
			t.Fatalf("sshd's configuration after the extension was deleted:\n%s\nbefore:\n%s", after, originals)
		}
		e.breakGlassLogin(breakGlass, "after the extension")
	})
}

// with is e for subtest t, so that its helpers fail the subtest.
func (e *machineEnv) with(t *testing.T) *machineEnv {
	c := *e
	c.t = t
	return &c
}

func newMachineEnv(t *testing.T) *machineEnv {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	e := &machineEnv{t: t, srv: srv, owner: ownerLogin(t, srv), locals: new([]string)}
	e.owner.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	var vm vmCreated
	e.owner.ok(&vm, "vm", "create", "-g", "rg1", "-n", "vm1", "--image", "Debian:debian-12:12:latest", "--assign-identity",
		"--admin-username", "azureuser", "--admin-password", "a-long-Passw0rd!", "--authentication-type", "password")
	e.vmID = "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
	// Registered before the machine starts, so they run after it has stopped.
	removeGroupLater(t, "latch-admins")
	t.Cleanup(func() {
		for _, name := range *e.locals {
			exec.Command("userdel", "-r", "-f", name).Run()
		}
	})
	e.m = testenv.StartMachine(t, srv, vm.OnboardingCommand, testenv.MachineOptions{Subnet: "10.78.40.0/24"})
	rec, err := srv.Store.GetSSHCA(context.Background(), srv.TenantID)
	if err != nil { // made on first use: ask for it as a machine would
		writeTenantCA(t, srv)
		rec, err = srv.Store.GetSSHCA(context.Background(), srv.TenantID)
	}
	if err != nil {
		t.Fatal(err)
	}
	ca, err := token.UnmarshalSSHCA(rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	e.ca, e.caDER = ca.Signer(), rec.Key
	return e
}

// dirUser is a directory user of the test and the local account it logs in as.
type dirUser struct{ name, upn, id, local, password string }

// user creates name@contoso.test, gives it role on the VM (none when ""), and removes the
// local account the agent makes for it when the test ends.
func (e *machineEnv) user(name, role string) dirUser {
	e.t.Helper()
	// The accounts are this computer's: another run of the test must not meet them.
	name += strconv.Itoa(os.Getpid())
	u := dirUser{name: name, upn: name + "@contoso.test", password: name + "'s long passphrase"}
	var created struct {
		ID string `json:"id"`
	}
	e.owner.ok(&created, "ad", "user", "create", "--display-name", name, "--user-principal-name", u.upn, "--password", u.password)
	u.id, u.local = created.ID, openssh.LocalName(u.upn)
	*e.locals = append(*e.locals, u.local)
	if role != "" {
		e.owner.ok(nil, "role", "assignment", "create", "--role", role, "--assignee", u.upn, "--scope", e.vmID)
	}
	return u
}

// signIn signs u in and points its ssh at the client's namespace.
func (e *machineEnv) signIn(u dirUser) *latch {
	l := signIn(e.t, e.srv, u.upn, u.password)
	l.env["LATCH_SSH"] = e.m.SSHProgram(e.t)
	l.env["LATCH_SSH_ADDRESS"] = "reported" // lab machines have no DNS: no lookup leaves this computer
	l.env["LATCH_SSH_ALLOW_HOST"] = "true"  // the first connection's question, answered up front
	return l
}

// waitLogin waits until u can log in with "latch ssh vm": a role given reaches the machine
// with its next goal state.
func (e *machineEnv) waitLogin(l *latch, u dirUser) {
	e.t.Helper()
	var stderr string
	for deadline := time.Now().Add(loginWithin); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var code int
		var stdout string
		if code, stdout, stderr = l.run(context.Background(), "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-un"); code == 0 && stdout == u.local+"\n" {
			return
		}
	}
	e.t.Fatalf("%s cannot log in within %v: %s\nagent:\n%s", u.upn, loginWithin, stderr, e.m.AgentLog())
}

// certFiles is a key and certificate on disk.
type certFiles struct{ key, cert, keyID string }

// cliCert has the CLI get a certificate (latch ssh cert).
func (e *machineEnv) cliCert(l *latch) certFiles {
	e.t.Helper()
	var out struct{ PrivateKeyFile, CertificateFile string }
	l = &latch{t: e.t, env: l.env}
	l.ok(&out, "ssh", "cert", "-g", "rg1", "-n", "vm1", "--file", filepath.Join(e.t.TempDir(), "cert.pub"))
	return certFiles{key: out.PrivateKeyFile, cert: out.CertificateFile, keyID: readCert(e.t, out.CertificateFile).KeyId}
}

// cert makes a certificate for u and vm as the token service would, issued at now, with the
// tenant's CA; edit, when not nil, changes it before it is signed again.
func (e *machineEnv) cert(u dirUser, vm string, now time.Time, edit func(*ssh.Certificate)) certFiles {
	return e.certBy(e.ca, u, vm, now, edit)
}

func (e *machineEnv) certBy(ca ssh.Signer, u dirUser, vm string, now time.Time, edit func(*ssh.Certificate)) certFiles {
	e.t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)})
	c, err := token.IssueSSHCert(ca, token.SSHCertRequest{TenantID: e.srv.TenantID, UserID: u.id, UPN: u.upn,
		KeyID: "e2e-" + u.name, Principals: []string{u.local}, MachineResourceID: vm, PublicKeyJWK: jwk,
		ValidFor: 10 * time.Minute, Now: now})
	if err != nil {
		e.t.Fatal(err)
	}
	if edit != nil {
		edit(c)
		if err := c.SignCert(rand.Reader, ca); err != nil {
			e.t.Fatal(err)
		}
	}
	dir := e.t.TempDir()
	block, _ := ssh.MarshalPrivateKey(priv, "")
	f := certFiles{key: filepath.Join(dir, "id_ed25519"), cert: filepath.Join(dir, "id_ed25519-cert.pub"), keyID: c.KeyId}
	if err := os.WriteFile(f.key, pem.EncodeToMemory(block), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(f.cert, ssh.MarshalAuthorizedKey(c), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return f
}

// noPrincipalsCert is a certificate by the tenant's CA with no principal at all, which
// x/crypto will not sign: ssh-keygen does.
func (e *machineEnv) noPrincipalsCert() certFiles {
	e.t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(e.caDER)
	if err != nil {
		e.t.Fatal(err)
	}
	dir := e.t.TempDir()
	writeKey := func(name string, k crypto.PrivateKey) string {
		block, err := ssh.MarshalPrivateKey(k, "")
		if err != nil {
			e.t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(block), 0o600)
		return p
	}
	caFile := writeKey("ca", key)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	f := certFiles{key: writeKey("id_ed25519", priv), cert: filepath.Join(dir, "id_ed25519-cert.pub")}
	signer, _ := ssh.NewSignerFromKey(priv)
	os.WriteFile(f.key+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	if out, err := exec.Command("ssh-keygen", "-q", "-s", caFile, "-I", "no-principals", "-V", "-5m:+10m", f.key+".pub").CombinedOutput(); err != nil {
		e.t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return f
}

// login runs ssh from the client's namespace with the certificate, as user, running command.
func (e *machineEnv) login(c certFiles, user, command string) testenv.SSHResult {
	e.t.Helper()
	return testenv.SSH(e.t, e.m.ClientNS, e.m.SSHD, "-i", c.key, "-o", "CertificateFile="+c.cert, "-l", user, e.m.SSHD.Addr(), command)
}

// waitRefused logs in with c until the machine refuses it, and returns how long that took;
// it fails the test past loginWithin.
func (e *machineEnv) waitRefused(c certFiles, user string) time.Duration {
	e.t.Helper()
	start := time.Now()
	for time.Since(start) < loginWithin {
		if r := e.login(c, user, "true"); r.Exit == 255 {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("%s still logs in %v after the change\nagent:\n%s", user, loginWithin, e.m.AgentLog())
	return 0
}

// breakGlassAccount is a local account with its own key, which no extension state may touch;
// its certFiles holds the key and, as keyID, the account's name.
func (e *machineEnv) breakGlassAccount() certFiles {
	e.t.Helper()
	name := "breakglass" + strconv.Itoa(os.Getpid()) // other test runs may have one too
	addAccount(e.t, name)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	dir := e.t.TempDir()
	block, _ := ssh.MarshalPrivateKey(priv, "")
	f := certFiles{key: filepath.Join(dir, "id_ed25519"), keyID: name}
	os.WriteFile(f.key, pem.EncodeToMemory(block), 0o600)
	home := "/home/" + name + "/.ssh"
	os.MkdirAll(home, 0o700)
	os.WriteFile(filepath.Join(home, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600)
	if out, err := exec.Command("chown", "-R", name, home).CombinedOutput(); err != nil {
		e.t.Fatalf("chown: %v %s", err, out)
	}
	return f
}

func (e *machineEnv) breakGlassLogin(f certFiles, when string) {
	e.t.Helper()
	r := testenv.SSH(e.t, e.m.ClientNS, e.m.SSHD, "-i", f.key, "-l", f.keyID, e.m.SSHD.Addr(), "id -un")
	if r.Exit != 0 || r.Stdout != f.keyID+"\n" {
		e.t.Fatalf("the break-glass account cannot log in %s: %+v\nsshd:\n%s", when, r, e.m.SSHD.Log())
	}
}

// checkSignInLog: the log has the member's accepted machine login with the certificate's key
// id and the correlation id of the certificate's token request, which is that of the member's
// interactive sign-in in the browser: one id from the browser to the machine.
func (e *machineEnv) checkSignInLog(l *latch, u dirUser) {
	c := e.cliCert(l)
	if r := e.login(c, u.local, "true"); r.Exit != 0 {
		e.t.Fatalf("login: %+v", r)
	}
	e.waitLogEntry(u, c.keyID, true)
	kid, _ := token.ParseSSHKeyID(c.keyID)
	var entries []signinlog.Entry
	(&latch{t: e.t, env: e.owner.env}).ok(&entries, "signin", "list", "--user", u.upn)
	if !slices.ContainsFunc(entries, func(en signinlog.Entry) bool {
		return en.IsInteractive && en.Latch.Flow == signinlog.FlowBrowser && en.CorrelationID == kid.CorrelationID
	}) {
		e.t.Fatalf("no interactive browser sign-in of %s under the certificate's correlation id %s: %+v", u.upn, kid.CorrelationID, entries)
	}
}

// setHostKeys replaces the host keys on the VM's record, as if the machine had reported them,
// and returns what puts the reported ones back.
func (e *machineEnv) setHostKeys(keys ...string) (restore func()) {
	e.t.Helper()
	var old []string
	set := func(keys []string, keep *[]string) {
		_, err := e.srv.Store.UpdateResource(context.Background(), e.srv.TenantID, e.vmID, func(r resource.Resource) (resource.Resource, error) {
			p, err := resource.ParseVMProperties(r.Properties)
			if keep != nil {
				*keep = p.Machine.HostKeys
			}
			p.Machine.HostKeys = keys
			r.Properties = resource.Raw(p)
			return r, err
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	set(keys, &old)
	return func() { set(old, nil) }
}

// waitLogEntry waits until the sign-in log (latch signin list) has u's machine login with the certificate key id,
// accepted or refused, under the correlation id of the certificate's request, beside that
// request's own entry.
func (e *machineEnv) waitLogEntry(u dirUser, keyID string, allowed bool) {
	e.t.Helper()
	kid, err := token.ParseSSHKeyID(keyID)
	if err != nil {
		e.t.Fatal(err)
	}
	var login, issued bool
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !(login && issued); time.Sleep(200 * time.Millisecond) {
		var entries []signinlog.Entry // Graph's auditLogs/signIns, as latch signin list prints it
		(&latch{t: e.t, env: e.owner.env}).ok(&entries, "signin", "list", "--user", u.upn)
		for _, en := range entries {
			switch {
			case en.CorrelationID != kid.CorrelationID:
			case en.Latch.Flow != signinlog.FlowMachineLogin:
				issued = true
			case en.Latch.SSHCertificateKey == keyID && (en.Status.ErrorCode == 0) == allowed:
				login = true
			}
		}
	}
	if !login || !issued {
		e.t.Fatalf("sign-in log for %s, correlation id %s: issuance %v, machine login (allowed %v) %v\nagent:\n%s",
			u.upn, kid.CorrelationID, issued, allowed, login, e.m.AgentLog())
	}
}

// snapshotSSHD is sshd_config and every file of the drop-in directory, byte for byte.
func snapshotSSHD(t *testing.T, s *testenv.SSHD) string {
	t.Helper()
	var b bytes.Buffer
	main, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("== sshd_config\n" + string(main))
	entries, _ := os.ReadDir(s.DropInDir)
	for _, en := range entries {
		data, _ := os.ReadFile(filepath.Join(s.DropInDir, en.Name()))
		b.WriteString("== " + en.Name() + "\n" + string(data))
	}
	return b.String()
}

// removeGroupLater removes group when the test ends if it does not exist now.
func removeGroupLater(t *testing.T, group string) {
	if exec.Command("getent", "group", group).Run() == nil {
		return
	}
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
}
