package openssh

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

// helperArg makes the test binary act as the principals command: sshd runs a copy of it with
// this first argument, the helper's directory, and the drop-in's tokens.
const helperArg = "latch-principals-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(principalsHelper(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// principalsHelper is a stand-in for "latch agent principals": the trusted CA keys, this
// machine's id and the decision come from files in dir that the test controls, and the rest
// is the real Principals. It runs as nobody with almost no environment, as sshd runs it.
func principalsHelper(args []string) int {
	if len(args) < 1 {
		return 2
	}
	dir := args[0]
	req, err := ParseCommandArgs(args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if req.CAKeys, err = readCAKeys(filepath.Join(dir, "ca.pub")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	vm, _ := os.ReadFile(filepath.Join(dir, "vm"))
	req.VMResourceID, req.Now = strings.TrimSpace(string(vm)), time.Now()
	decide := func(context.Context, Login) (Decision, error) {
		b, err := os.ReadFile(filepath.Join(dir, "decision"))
		return Decision{Allow: strings.TrimSpace(string(b)) == "allow", Reason: "decision file says deny"}, err
	}
	if _, err := Principals(context.Background(), os.Stdout, req, decide); err != nil {
		fmt.Fprintln(os.Stderr, "latch principals:", err) // sshd logs it at DEBUG1
		return 1
	}
	return 0
}

func readCAKeys(path string) ([]ssh.PublicKey, error) {
	rest, err := os.ReadFile(path)
	var keys []ssh.PublicKey
	for err == nil && len(strings.TrimSpace(string(rest))) > 0 {
		var k ssh.PublicKey
		if k, _, _, rest, err = ssh.ParseAuthorizedKey(rest); err == nil {
			keys = append(keys, k)
		}
	}
	return keys, err
}

// e2e is one machine (a namespace with the real sshd), a client namespace beside it, a
// directory user's account and a local account.
type e2e struct {
	f             *certFixture
	vm, client    *testenv.Netns
	srv           *testenv.SSHD
	helperDir     string
	helper        string
	dirUser       string // the directory user's local name
	localUser     string
	keyPath       string // the directory user's private key; the certificate goes beside it
	localKey      string
	dropIn        DropIn
	beforeInstall map[string]string
}

func TestEndToEndWithOpenSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd in network namespaces")
	}
	e := newE2E(t)
	e.step(t, "ok/local-account-before-install", e.local(t), 0)
	e.install(t)
	e.steps(t)
	e.remove(t)
}

func (e *e2e) steps(t *testing.T) {
	now := func(r *token.SSHCertRequest) { r.Now = time.Now() }
	good := e.f.issue(t, now)
	e.step(t, "ok/allowed-user", e.withCert(t, good, "id -u"), 0, strconv.Itoa(UID(testOID)))
	e.step(t, "ok/local-account-with-latch-installed", e.local(t), 0)
	refused := map[string]*ssh.Certificate{
		"fail/no-principals": forgeFrom(t, good, e.f.ca.Signer(), func(c *ssh.Certificate) { c.ValidPrincipals = nil }),
		"fail/other-vm":      e.f.issue(t, func(r *token.SSHCertRequest) { now(r); r.MachineResourceID = otherVM }),
		"fail/expired": e.f.issue(t, func(r *token.SSHCertRequest) {
			r.Now, r.ValidFor = time.Now().Add(-2*time.Hour), 10*time.Minute
		}),
		"fail/other-ca":              forgeFrom(t, good, e.f.otherCA.Signer(), func(*ssh.Certificate) {}),
		"fail/host-cert-as-user":     forgeFrom(t, good, e.f.ca.Signer(), func(c *ssh.Certificate) { c.CertType = ssh.HostCert }),
		"fail/principal-not-account": e.f.issue(t, func(r *token.SSHCertRequest) { now(r); r.Principals = []string{"bob@contoso.test"} }),
	}
	for name, c := range refused {
		e.step(t, name, e.withCert(t, c, "true"), 255)
	}
	e.setDecision(t, "deny")
	e.step(t, "fail/decision-flipped-to-deny", e.withCert(t, good, "true"), 255)
	e.step(t, "ok/local-account-while-denied", e.local(t), 0)
	// A denied user who still holds a valid certificate plants what sshd might read instead of
	// asking the agent: a principals file named "none" (what "AuthorizedPrincipalsFile none"
	// means inside a Match block in OpenSSH 9.2) and their key in authorized_keys.
	e.plantBypass(t)
	e.step(t, "fail/denied-with-planted-principals-file", e.withCert(t, good, "true"), 255)
	e.step(t, "fail/denied-with-planted-authorized-key", e.plainKey(), 255)
	e.unplantBypass(t)
	e.setDecision(t, "allow")
	e.step(t, "ok/allowed-again", e.withCert(t, good, "true"), 0)
}

func newE2E(t *testing.T) *e2e {
	e := &e2e{f: newCertFixture(t)}
	e.vm = testenv.NewNetns(t, "vm")
	e.client = testenv.NewNetns(t, "cli")
	e.vm.Connect(t, e.client, "10.77.41.0/24")
	// DEBUG1 lets the principals command's reasons reach sshd's log, shown if the test fails.
	e.srv = testenv.StartSSHD(t, e.vm, testenv.SSHDConfig{LogLevel: "DEBUG1"})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.helperDir, e.helper = testenv.InstallHelper(t, exe)
	e.writeHelperFile(t, "ca.pub", e.f.ca.AuthorizedKeyLine()+"\n")
	e.writeHelperFile(t, "vm", testVM+"\n")
	e.setDecision(t, "allow")
	e.dirUser = e.addDirectoryUser(t)
	e.localUser, e.localKey = e.addLocalUser(t)
	e.keyPath = writePrivateKey(t, t.TempDir(), "id_ed25519", e.f.userPriv)
	return e
}

func (e *e2e) writeHelperFile(t *testing.T, name, content string) {
	t.Helper()
	// 0644: the command runs as nobody.
	if err := os.WriteFile(filepath.Join(e.helperDir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *e2e) setDecision(t *testing.T, d string) { e.writeHelperFile(t, "decision", d+"\n") }

func (e *e2e) install(t *testing.T) {
	t.Helper()
	e.beforeInstall = snapshot(t, e.srv.Dir)
	e.dropIn = DropIn{
		Path:       filepath.Join(e.srv.DropInDir, "50-latch.conf"),
		MainConfig: e.srv.Config,
		CAKeysPath: filepath.Join(e.srv.Dir, "latch_user_ca.pub"),
		CAKeys:     e.f.caKeys(),
		Command:    []string{e.helper, helperArg, e.helperDir},
		StatePath:  filepath.Join(t.TempDir(), "originals.json"),
		Reload:     ReloadPidFile(e.srv.PidFile),
	}
	e.reloaded(t, func() error { return e.dropIn.Install(context.Background()) })
}

func (e *e2e) remove(t *testing.T) {
	t.Helper()
	e.reloaded(t, func() error { return e.dropIn.Remove(context.Background()) })
	sameSnapshot(t, "sshd's files after Remove", snapshot(t, e.srv.Dir), e.beforeInstall)
	now := func(r *token.SSHCertRequest) { r.Now = time.Now() }
	e.step(t, "fail/certificate-after-remove", e.withCert(t, e.f.issue(t, now), "true"), 255)
	e.step(t, "ok/local-account-after-remove", e.local(t), 0)
}

// reloaded runs change, which reloads sshd through the pid file, and waits for the reload.
func (e *e2e) reloaded(t *testing.T, change func() error) {
	t.Helper()
	before := e.srv.ListenCount()
	if err := change(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.WaitReloaded(before); err != nil {
		t.Fatal(err)
	}
}

// step runs one ssh login and checks its exit status and, when given, its output.
func (e *e2e) step(t *testing.T, name string, args []string, wantExit int, wantOut ...string) {
	t.Helper()
	start := time.Now()
	res := testenv.SSH(t, e.client, e.srv, args...)
	took := time.Since(start)
	if res.Exit != wantExit || (len(wantOut) > 0 && strings.TrimSpace(res.Stdout) != wantOut[0]) {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d %q", name, res.Exit, res.Stdout, res.Stderr, wantExit, wantOut)
		return
	}
	t.Logf("%s: exit %d in %v", name, res.Exit, took.Round(time.Millisecond))
}

// withCert writes cert beside the directory user's key and returns the ssh arguments that
// log in with it and run cmd.
func (e *e2e) withCert(t *testing.T, cert *ssh.Certificate, cmd string) []string {
	t.Helper()
	certPath := e.keyPath + "-cert.pub"
	if err := os.WriteFile(certPath, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-i", e.keyPath, "-o", "CertificateFile=" + certPath, "-l", e.dirUser, e.srv.Addr(), cmd}
}

// plainKey logs in as the directory user with the bare key, no certificate.
func (e *e2e) plainKey() []string {
	return []string{"-i", e.keyPath, "-o", "CertificateFile=none", "-l", e.dirUser, e.srv.Addr(), "true"}
}

// plantBypass writes, as the directory user would, ~/none naming the account and
// ~/.ssh/authorized_keys holding the user's key.
func (e *e2e) plantBypass(t *testing.T) {
	t.Helper()
	u, err := user.Lookup(e.dirUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	sshDir := filepath.Join(u.HomeDir, ".ssh")
	files := map[string][]byte{filepath.Join(u.HomeDir, "none"): []byte(e.dirUser + "\n"),
		filepath.Join(sshDir, "authorized_keys"): ssh.MarshalAuthorizedKey(e.f.userKey.PublicKey())}
	errs := []error{os.Mkdir(sshDir, 0o700), os.Chown(sshDir, uid, gid)}
	for p, b := range files {
		errs = append(errs, os.WriteFile(p, b, 0o600), os.Chown(p, uid, gid))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// unplantBypass removes what plantBypass wrote, so later steps test only the certificate.
func (e *e2e) unplantBypass(t *testing.T) {
	t.Helper()
	u, err := user.Lookup(e.dirUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Remove(filepath.Join(u.HomeDir, "none")), os.RemoveAll(filepath.Join(u.HomeDir, ".ssh"))); err != nil {
		t.Fatal(err)
	}
}

func (e *e2e) local(*testing.T) []string {
	return []string{"-i", e.localKey, "-l", e.localUser, e.srv.Addr(), "true"}
}

// addDirectoryUser creates the directory user's account as the agent will: the local name
// from the UPN, the UID from the object id. An account of that name that exists already
// (another run of this test) fails the test rather than be shared or deleted.
func (e *e2e) addDirectoryUser(t *testing.T) string {
	t.Helper()
	name := LocalName(testUPN)
	if _, err := user.Lookup(name); err == nil {
		t.Fatalf("account %s exists already (another test run, or one that did not clean up)", name)
	}
	if _, err := user.LookupId(strconv.Itoa(UID(testOID))); err == nil {
		t.Fatalf("UID %d is taken already", UID(testOID))
	}
	run(t, "useradd", "-m", "-N", "-s", "/bin/sh", "-u", strconv.Itoa(UID(testOID)), name)
	t.Cleanup(func() { runQuiet("userdel", "-r", "-f", name) })
	return name
}

// addLocalUser creates an ordinary local account that logs in with its own key.
func (e *e2e) addLocalUser(t *testing.T) (name, keyPath string) {
	t.Helper()
	name = "latchlocal" + strconv.Itoa(os.Getpid())
	run(t, "useradd", "-m", "-s", "/bin/sh", name)
	t.Cleanup(func() { runQuiet("userdel", "-r", "-f", name) })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	f := newCertFixture(t) // only for a fresh key pair
	keyPath = writePrivateKey(t, t.TempDir(), "id_local", f.userPriv)
	sshDir := filepath.Join(u.HomeDir, ".ssh")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := errors.Join(os.Mkdir(sshDir, 0o700), os.Chown(sshDir, uid, gid),
		os.WriteFile(filepath.Join(sshDir, "authorized_keys"), ssh.MarshalAuthorizedKey(f.userKey.PublicKey()), 0o600),
		os.Chown(filepath.Join(sshDir, "authorized_keys"), uid, gid)); err != nil {
		t.Fatal(err)
	}
	return name, keyPath
}

func writePrivateKey(t *testing.T, dir, name string, priv any) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

func runQuiet(argv ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exec.CommandContext(ctx, argv[0], argv[1:]...).Run()
}
