package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
	"github.com/latchsh/latch/testenv"
)

// loginE2E is one machine: the real sshd in a network namespace, a client namespace beside
// it, a Login serving decisions to the real latch binary as sshd's principals command, and
// a local account with a plain key.
type loginE2E struct {
	f          *certFixture
	srv        *testenv.SSHD
	client     *testenv.Netns
	lg         *Login
	logs       *logBuffer
	reloads    atomic.Int32
	keyPath    string
	localUser  string
	localKey   string
	st         State
	alice, bob machineapi.LoginUser
}

func TestLoginWithOpenSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("builds latch and starts sshd in network namespaces")
	}
	needRoot(t)
	e := newLoginE2E(t)
	e.ssh(t, "ok/local-account-before-apply", e.local(), 0, "")
	before := snapshotDir(t, e.srv.Dir)
	both := []machineapi.LoginUser{e.alice, e.bob}
	e.apply(t, both, true)
	e.ssh(t, "ok/user-gets-a-shell", e.withCert(t, e.alice, "id -u"), 0, strconv.Itoa(openssh.UID(e.alice.ObjectID)))
	e.ssh(t, "fail/user-has-no-sudo", e.withCert(t, e.alice, "sudo -n true"), 1, "")
	e.ssh(t, "ok/admin-has-sudo", e.withCert(t, e.bob, "sudo -n true && echo root-ok"), 0, "root-ok")
	e.ssh(t, "ok/local-account-with-latch", e.local(), 0, "")
	e.apply(t, both, false) // the same rules again: no rewrite, no reload
	e.apply(t, []machineapi.LoginUser{e.bob}, false)
	e.ssh(t, "fail/user-after-role-removed", e.withCert(t, e.alice, "true"), 255, "")
	e.ssh(t, "ok/admin-still-in", e.withCert(t, e.bob, "true"), 0, "")
	e.remove(t)
	if diff := diffSnapshots(before, snapshotDir(t, e.srv.Dir)); diff != "" {
		t.Errorf("sshd's files after Remove differ from before Apply: %s", diff)
	}
	e.ssh(t, "fail/certificate-after-remove", e.withCert(t, e.bob, "true"), 255, "")
	e.ssh(t, "ok/local-account-after-remove", e.local(), 0, "")
	if !strings.Contains(e.logs.String(), "directory login refused") || !strings.Contains(e.logs.String(), "directory login allowed") {
		t.Errorf("the agent's log lacks the decisions:\n%s", e.logs.String())
	}
}

func newLoginE2E(t *testing.T) *loginE2E {
	e := &loginE2E{f: newCertFixture(t), logs: &logBuffer{}}
	bin := buildLatch(t)
	vm := testenv.NewNetns(t, "vm")
	e.client = testenv.NewNetns(t, "cli")
	vm.Connect(t, e.client, "10.77.43.0/24")
	e.srv = testenv.StartSSHD(t, vm, testenv.SSHDConfig{LogLevel: "DEBUG1"})
	helperDir, latch := testenv.InstallHelper(t, bin)
	suffix := randomHex(3)
	e.alice, e.bob = loginUser(randomOID(), "alice"+suffix+"@contoso.test", false), loginUser(randomOID(), "bob"+suffix+"@contoso.test", true)
	t.Cleanup(func() { removeAccount(e.alice.LocalName); removeAccount(e.bob.LocalName) })
	e.st = State{ResourceID: testVM, TenantID: testTenant}
	e.startLogin(t, helperDir, latch, suffix)
	e.keyPath = writeKey(t, e.f.priv)
	e.localUser, e.localKey = addLocalUser(t, "latchl"+suffix)
	return e
}

// startLogin makes the Login and runs it until the test ends. The socket lives in the
// helper's directory: the command runs as nobody, who must be able to reach it.
func (e *loginE2E) startLogin(t *testing.T, helperDir, latch, suffix string) {
	t.Helper()
	sock := filepath.Join(helperDir, "decide.sock")
	group, sudoers := "latchadm"+suffix, "/etc/sudoers.d/latch-test-"+suffix
	t.Cleanup(func() { os.Remove(sudoers); runTool(context.Background(), "groupdel", group) })
	reload := openssh.ReloadPidFile(e.srv.PidFile)
	lg, err := NewLogin(LoginOptions{StateDir: t.TempDir(), SocketPath: sock, AdminGroup: group, SudoersPath: sudoers,
		Command: []string{latch, "agent", "principals", "--socket=" + sock},
		SSHD: openssh.DropIn{Path: filepath.Join(e.srv.DropInDir, "50-latch.conf"), MainConfig: e.srv.Config,
			CAKeysPath: filepath.Join(e.srv.Dir, "latch_user_ca.pub"),
			Reload:     func(ctx context.Context) error { e.reloads.Add(1); return reload(ctx) }},
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), NoSyslog: true})
	if err != nil {
		t.Fatal(err)
	}
	e.lg = lg
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", e.logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatal("the decision socket did not appear")
		}
	}
}

// apply applies a Login of users and checks whether sshd was reloaded.
func (e *loginE2E) apply(t *testing.T, users []machineapi.LoginUser, wantReload bool) {
	t.Helper()
	l := &machineapi.Login{CAKeys: []string{e.f.ca.AuthorizedKeyLine()}, Users: users, TTLSeconds: 900}
	before, listens := e.reloads.Load(), e.srv.ListenCount()
	if err := e.lg.Apply(context.Background(), e.st, l); err != nil {
		t.Fatal(err)
	}
	if reloaded := e.reloads.Load() != before; reloaded != wantReload {
		t.Fatalf("Apply reloaded sshd: %v, want %v", reloaded, wantReload)
	}
	if wantReload {
		if err := e.srv.WaitReloaded(listens); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *loginE2E) remove(t *testing.T) {
	t.Helper()
	listens := e.srv.ListenCount()
	if err := e.lg.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.WaitReloaded(listens); err != nil {
		t.Fatal(err)
	}
	for _, u := range []machineapi.LoginUser{e.alice, e.bob} {
		if l, err := e.lg.accts.isLocked(context.Background(), u.LocalName); err != nil || !l {
			t.Errorf("%s not locked after Remove (%v)", u.LocalName, err)
		}
	}
}

// ssh runs one login and checks its exit status and, when given, its output.
func (e *loginE2E) ssh(t *testing.T, name string, args []string, wantExit int, wantOut string) {
	t.Helper()
	res := testenv.SSH(t, e.client, e.srv, args...)
	if res.Exit != wantExit || (wantOut != "" && strings.TrimSpace(res.Stdout) != wantOut) {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d %q", name, res.Exit, res.Stdout, res.Stderr, wantExit, wantOut)
	}
}

// withCert issues a fresh certificate for u, writes it beside the key, and returns the ssh
// arguments that log in with it and run cmd.
func (e *loginE2E) withCert(t *testing.T, u machineapi.LoginUser, cmd string) []string {
	t.Helper()
	cert := e.f.issue(t, u, time.Now(), nil)
	certPath := e.keyPath + "-cert.pub"
	if err := os.WriteFile(certPath, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-i", e.keyPath, "-o", "CertificateFile=" + certPath, "-l", u.LocalName, e.srv.Addr(), cmd}
}

func (e *loginE2E) local() []string {
	return []string{"-i", e.localKey, "-l", e.localUser, e.srv.Addr(), "true"}
}

// buildLatch builds the real latch binary, whose "agent principals" sshd runs.
func buildLatch(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	out := filepath.Join(t.TempDir(), "latch")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/latch")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building latch: %v\n%s", err, b)
	}
	return out
}

func writeKey(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// addLocalUser makes an ordinary local account that logs in with its own plain key.
func addLocalUser(t *testing.T, name string) (string, string) {
	t.Helper()
	mustRun(t, "useradd", "-m", "-s", "/bin/sh", name)
	t.Cleanup(func() { removeAccount(name) })
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("/home", name, ".ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "chown", "-R", name+":", dir)
	return name, writeKey(t, priv)
}

// snapshotDir is every regular file under dir with its mode and bytes.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = fi.Mode().String() + "\n" + string(b)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(a, b map[string]string) string {
	var d []string
	for p, v := range a {
		if w, ok := b[p]; !ok || w != v {
			d = append(d, p+" changed or missing")
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			d = append(d, p+" added")
		}
	}
	return strings.Join(d, "; ")
}
