package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testUserCert certifies a new key for principal, valid from now-1m to now+life, with a CA of
// its own: the cache checks the certificate's shape and validity, not its signer (sshd does).
func testUserCert(t *testing.T, now time.Time, life time.Duration) (ed25519.PrivateKey, *ssh.Certificate) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	ca, _ := ssh.NewSignerFromKey(caKey)
	sshPub, _ := ssh.NewPublicKey(pub)
	cert := &ssh.Certificate{Key: sshPub, CertType: ssh.UserCert, ValidPrincipals: []string{"alice@contoso.test"},
		ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(life).Unix())}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return priv, cert
}

// testSession is a signed-in session of account at a fixed server and tenant, in dir.
func testSession(dir, account string) *session {
	return &session{dir: dir, prof: &profile{Server: "https://latch.test", Tenant: homeTenant, User: accountUser{Name: account, Type: "user"}}}
}

const testVMID = "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"

func TestSSHSlotReuse(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	line, _ := newHostKeyLine(t)
	hostKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(line))
	host := sshHost{keys: []ssh.PublicKey{hostKey}, addresses: []string{"10.0.0.4"}}
	tests := []struct {
		name    string
		life    time.Duration
		damage  func(t *testing.T, dir string) // applied to the slot after saving
		account string                         // who asks afterwards; "" is the same account
		vmID    string                         // for which VM; "" is the same VM
		at      time.Duration                  // asked this long after issuance
		why     string                         // "" when reused
	}{
		{name: "fail/other-vm-not-reused", life: 10 * time.Minute, vmID: strings.Replace(testVMID, "vm1", "vm2", 1), why: "another account or VM"},
		{name: "fail/other-subscription-not-reused", life: 10 * time.Minute, vmID: strings.Replace(testVMID, subID, "bbbbbbbb-0000-0000-0000-000000000002", 1), why: "another account or VM"},
		{name: "fail/other-account-not-reused", life: 10 * time.Minute, account: "bob@contoso.test", why: "another account or VM"},
		{name: "fail/expiring-soon-not-reused", life: 10 * time.Minute, at: 9 * time.Minute, why: "expires within a minute"},
		{name: "fail/expired-not-reused", life: 10 * time.Minute, at: 11 * time.Minute, why: "expires within a minute"},
		{name: "fail/bad-mode-not-reused", life: 10 * time.Minute, why: "not 0600",
			damage: func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, sshKeyName), 0o644) }},
		{name: "fail/bad-cert-mode-not-reused", life: 10 * time.Minute, why: "not 0600",
			damage: func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, sshKeyName+"-cert.pub"), 0o640) }},
		{name: "fail/bad-dir-mode-not-reused", life: 10 * time.Minute, why: "not 0700",
			damage: func(t *testing.T, dir string) { chmod(t, dir, 0o755) }},
		{name: "fail/symlinked-key-not-reused", life: 10 * time.Minute, why: "symbolic link",
			damage: func(t *testing.T, dir string) { symlinkKey(t, dir) }},
		{name: "fail/other-owner-not-reused", life: 10 * time.Minute, why: "not to you",
			damage: func(t *testing.T, dir string) { chownOther(t, filepath.Join(dir, sshKeyName)) }},
		{name: "fail/other-key-not-reused", life: 10 * time.Minute, why: "not for the key",
			damage: func(t *testing.T, dir string) { replaceKey(t, dir) }},
		{name: "fail/no-record-not-reused", life: 10 * time.Minute, why: "no such file",
			damage: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, sshRecordName)) }},
		{name: "ok/reused", life: 10 * time.Minute, at: 8 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			slot := testSession(dir, userName).sshSlotFor("rg1", "vm1", testVMID)
			priv, cert := testUserCert(t, now, tc.life)
			issued, err := slot.save(priv, cert, host)
			if err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(t, slot.dir)
			}
			asking := slot
			if tc.account != "" || tc.vmID != "" {
				asking.want.Account, asking.want.VMID = or(tc.account, userName), or(tc.vmID, testVMID)
			}
			cred, err := asking.load(now.Add(tc.at))
			if tc.why != "" {
				if err == nil || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("got %v, want a refusal saying %q", err, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cred.PrivateKeyFile != issued.PrivateKeyFile || cred.KnownHostsFile != issued.KnownHostsFile ||
				cred.user() != "alice@contoso.test" || len(cred.addresses) != 1 || cred.addresses[0] != "10.0.0.4" {
				t.Fatalf("reused %+v, issued %+v", cred, issued)
			}
		})
	}
}

// TestSSHSlotsApart: another account, subscription or VM name has a slot of its own, so
// switching between them keeps each one's certificate.
func TestSSHSlotsApart(t *testing.T) {
	dir := t.TempDir()
	base := testSession(dir, userName).sshSlotFor("rg1", "vm1", testVMID).dir
	others := []string{
		testSession(dir, "bob@contoso.test").sshSlotFor("rg1", "vm1", testVMID).dir,
		testSession(dir, userName).sshSlotFor("rg1", "vm1", strings.Replace(testVMID, subID, "bbbbbbbb-0000-0000-0000-000000000002", 1)).dir,
		testSession(dir, userName).sshSlotFor("rg1", "vm2", strings.Replace(testVMID, "vm1", "vm2", 1)).dir,
	}
	for _, o := range others {
		if o == base || !strings.HasPrefix(o, filepath.Join(dir, sshKeysDir)+string(filepath.Separator)) {
			t.Fatalf("slot %s beside %s", o, base)
		}
	}
}

// TestSSHSlotRewritesBadMode: issuing again makes a slot with loose modes private again, so
// the next command reuses it.
func TestSSHSlotRewritesBadMode(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	slot := testSession(t.TempDir(), userName).sshSlotFor("rg1", "vm1", testVMID)
	priv, cert := testUserCert(t, now, 10*time.Minute)
	if _, err := slot.save(priv, cert, sshHost{}); err != nil {
		t.Fatal(err)
	}
	chmod(t, slot.dir, 0o755)
	chmod(t, filepath.Join(slot.dir, sshKeyName), 0o644)
	if _, err := slot.load(now); err == nil {
		t.Fatal("a slot with loose modes was reused")
	}
	priv, cert = testUserCert(t, now, 10*time.Minute)
	if _, err := slot.save(priv, cert, sshHost{}); err != nil {
		t.Fatal(err)
	}
	if _, err := slot.load(now); err != nil {
		t.Fatal(err)
	}
}

// TestSSHCertReuseCommand runs 'latch ssh cert': a valid cached certificate is used without
// any request; --new-cert, and a cache for another VM, ask the token service (which, in this
// fake, answers with no certificate, so the command fails after asking).
func TestSSHCertReuseCommand(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		reuse bool
	}{
		{name: "fail/new-cert-asks", args: []string{"-g", "rg1", "-n", "vm1", "--new-cert"}},
		{name: "fail/other-vm-asks", args: []string{"-g", "rg1", "-n", "vm2"}},
		{name: "ok/reused", args: []string{"-g", "rg1", "-n", "vm1"}, reuse: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			prof, err := loadProfile(h.dir)
			if err != nil {
				t.Fatal(err)
			}
			slot := (&session{dir: h.dir, prof: prof}).sshSlotFor("rg1", "vm1", testVMID)
			priv, cert := testUserCert(t, h.now, 10*time.Minute)
			if _, err := slot.save(priv, cert, sshHost{}); err != nil {
				t.Fatal(err)
			}
			grants := len(h.idp.grantLog())
			res := h.run(append([]string{"ssh", "cert", "-o", "json"}, tc.args...)...)
			asked := len(h.idp.grantLog()) > grants
			if tc.reuse != (res.code == 0) || tc.reuse == asked {
				t.Fatalf("exit %d, asked the token service %v\n%s%s", res.code, asked, res.stdout, res.stderr)
			}
			if tc.reuse && !strings.Contains(res.stdout, filepath.Join(slot.dir, sshKeyName)) {
				t.Fatalf("not the cached key: %s", res.stdout)
			}
		})
	}
}

func TestLogoutRemovesSSHKeys(t *testing.T) {
	h := newHarness(t)
	h.login()
	prof, _ := loadProfile(h.dir)
	slot := (&session{dir: h.dir, prof: prof}).sshSlotFor("rg1", "vm1", testVMID)
	priv, cert := testUserCert(t, h.now, 10*time.Minute)
	if _, err := slot.save(priv, cert, sshHost{}); err != nil {
		t.Fatal(err)
	}
	if res := h.run("logout"); res.code != 0 {
		t.Fatalf("logout: %d %s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(h.dir, sshKeysDir)); !os.IsNotExist(err) {
		t.Fatalf("the SSH keys survived logout: %v", err)
	}
}

// FuzzSSHRecord feeds arbitrary record and certificate files to a slot: never a panic, and
// never a reuse of what was not saved by a matching issuance.
func FuzzSSHRecord(f *testing.F) {
	f.Add([]byte(`{"server":"https://latch.test","tenant":"`+homeTenant+`","account":"`+userName+`","vmId":"`+testVMID+`"}`), []byte("ssh-ed25519-cert-v01@openssh.com AAAA"))
	f.Add([]byte(`{}`), []byte(""))
	f.Fuzz(func(t *testing.T, record, certLine []byte) {
		slot := testSession(t.TempDir(), userName).sshSlotFor("rg1", "vm1", testVMID)
		os.MkdirAll(slot.dir, 0o700)
		os.WriteFile(filepath.Join(slot.dir, sshRecordName), record, 0o600)
		os.WriteFile(filepath.Join(slot.dir, sshKeyName+"-cert.pub"), certLine, 0o600)
		if cred, err := slot.load(time.Unix(1_800_000_000, 0)); err == nil {
			t.Fatalf("reused %+v without a key", cred)
		}
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// symlinkKey moves the key aside and links it back.
func symlinkKey(t *testing.T, dir string) {
	key := filepath.Join(dir, sshKeyName)
	if err := os.Rename(key, key+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(key+".real", key); err != nil {
		t.Fatal(err)
	}
}

// chownOther gives path to another user; only root can, so the case skips otherwise.
func chownOther(t *testing.T, path string) {
	if os.Getuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// replaceKey puts a different key where the certified one was.
func replaceKey(t *testing.T, dir string) {
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := writeSSHCredential(dir, other, mustCert(t, dir), testVMID); err != nil {
		t.Fatal(err)
	}
}

// mustCert reads the slot's certificate back.
func mustCert(t *testing.T, dir string) *ssh.Certificate {
	b, err := os.ReadFile(filepath.Join(dir, sshKeyName+"-cert.pub"))
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ssh.Certificate)
}

// TestSSHFailureForgetsCertificate: when ssh fails (exit 255: no connection, host key or login
// refused) with a reused certificate, the next command asks for a new one; another exit
// status is the remote command's and keeps it.
func TestSSHFailureForgetsCertificate(t *testing.T) {
	tests := []struct {
		name string
		exit int
		kept bool
	}{
		{name: "fail/ssh-failed-forgets", exit: 255},
		{name: "ok/remote-status-keeps", exit: 3, kept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			prof, _ := loadProfile(h.dir)
			slot := (&session{dir: h.dir, prof: prof}).sshSlotFor("rg1", "vm1", testVMID)
			priv, cert := testUserCert(t, h.now, 10*time.Minute)
			if _, err := slot.save(priv, cert, sshHost{}); err != nil {
				t.Fatal(err)
			}
			fake := filepath.Join(t.TempDir(), "ssh")
			os.WriteFile(fake, []byte(fmt.Sprintf("#!/bin/sh\nexit %d\n", tc.exit)), 0o700)
			h.env["LATCH_SSH"] = fake
			if res := h.run("ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "true"); res.code != tc.exit {
				t.Fatalf("exit %d, want %d: %s", res.code, tc.exit, res.stderr)
			}
			if _, err := slot.load(h.now); (err == nil) != tc.kept {
				t.Fatalf("kept: %v", err)
			}
		})
	}
}
