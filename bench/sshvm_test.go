package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/testenv"
)

// BenchmarkSSHVM compares, on one machine (testenv.StartMachine: Debian's sshd and the real
// agent in a network namespace), a directory login with `latch ssh vm -- true` against a plain
// `ssh -i key host true` to a local account with an authorized key, each run from the client's
// namespace through the same ssh stand-in and alternated within each iteration, so that all
// meet the same machine load. latch runs twice per iteration: with --new-cert, as a first run
// (a new key and certificate from the token service), then without, as every later run within
// the certificate's life (the cached key and certificate, no request). A fourth variant, ssh
// with the certificate latch wrote, shows the login alone; a fifth, `latch ssh cert
// --new-cert`, times the issuance alone; a sixth, the reusing `latch ssh vm` with `true` for
// ssh, what the command line costs before ssh starts. It reports the median of each and the median
// per-iteration ratios; RESULTS.md has runs.
//
//	sudo go test -run '^$' -bench SSHVM -benchtime 40x ./bench
func BenchmarkSSHVM(b *testing.B) {
	f := newSSHVMFixture(b)
	var plain, first, reuse, cert, issue, cli, firstRatio, reuseRatio, certRatio []float64
	b.ResetTimer()
	for range b.N {
		p := f.time(b, f.plainArgs...)
		n := f.time(b, f.firstArgs...)
		r := f.time(b, f.latchArgs...)
		c := f.time(b, f.certArgs...)
		i := f.time(b, f.issueArgs...)
		cli = append(cli, f.timeEnv(b, f.noSSHEnv, f.latchArgs...))
		plain, first, reuse, cert, issue = append(plain, p), append(first, n), append(reuse, r), append(cert, c), append(issue, i)
		firstRatio, reuseRatio, certRatio = append(firstRatio, n/p), append(reuseRatio, r/p), append(certRatio, c/p)
	}
	b.StopTimer()
	b.ReportMetric(median(plain), "plain-ms")
	b.ReportMetric(median(first), "first-ms")
	b.ReportMetric(median(reuse), "reuse-ms")
	b.ReportMetric(median(cert), "cert-ms")
	b.ReportMetric(median(issue), "issue-ms")
	b.ReportMetric(median(cli), "cli-ms")
	b.ReportMetric(median(firstRatio), "first/plain")
	b.ReportMetric(median(reuseRatio), "reuse/plain")
	b.ReportMetric(median(certRatio), "cert/plain")
	b.ReportMetric(0, "ns/op") // the runs per iteration are what is measured
}

// sshVMFixture holds the command lines and their environment.
type sshVMFixture struct {
	env, noSSHEnv                                        []string
	plainArgs, firstArgs, latchArgs, certArgs, issueArgs []string
}

func newSSHVMFixture(b *testing.B) *sshVMFixture {
	srv := testenv.StartServer(b, testenv.ServerOptions{})
	owner := benchCLI(b, nil)
	owner.ok("login", "--server", srv.URL, "--ca-file", srv.CAFile, "--service-principal",
		"-u", srv.Boot.Owner.AppID, "-p", srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
	owner.ok("group", "create", "--name", "rg1", "--location", "westus")
	var vm struct{ OnboardingCommand string }
	owner.json(&vm, "vm", "create", "-g", "rg1", "-n", "vm1", "--image", "Debian:debian-12:12:latest", "--assign-identity",
		"--admin-username", "azureuser", "--admin-password", "a-long-Passw0rd!", "--authentication-type", "password")
	m := testenv.StartMachine(b, srv, vm.OnboardingCommand, testenv.MachineOptions{Subnet: "10.78.41.0/24"})
	if exec.Command("getent", "group", "latch-admins").Run() != nil {
		b.Cleanup(func() { exec.Command("groupdel", "latch-admins").Run() })
	}
	owner.ok("vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADSSHLoginForLinux")
	owner.ok("ad", "user", "create", "--display-name", "Bench", "--user-principal-name", "bench@contoso.test", "--password", "bench's long passphrase")
	b.Cleanup(func() { exec.Command("userdel", "-r", "-f", "bench@contoso.test").Run() })
	owner.ok("role", "assignment", "create", "--role", "Virtual Machine User Login", "--assignee", "bench@contoso.test", "--resource-group", "rg1")

	user := benchCLI(b, map[string]string{"LATCH_SSH": m.SSHProgram(b), "LATCH_SSH_ADDRESS": "reported",
		"LATCH_SSH_ALLOW_HOST": "true"})
	ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
		go srv.SignInWithForm(authURL, "bench@contoso.test", "bench's long passphrase")
		return nil
	})
	user.okCtx(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile)
	f := &sshVMFixture{env: append(os.Environ(), user.environ()...)}
	f.noSSHEnv = append(slices.Clone(f.env), "LATCH_SSH=true")
	f.latchArgs = []string{m.Bin, "ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "true"}
	f.firstArgs = []string{m.Bin, "ssh", "vm", "--new-cert", "-g", "rg1", "-n", "vm1", "--", "true"}
	f.issueArgs = []string{m.Bin, "ssh", "cert", "--new-cert", "-g", "rg1", "-n", "vm1", "-o", "none"}
	waitFor(b, func() bool { return f.command(f.firstArgs...).Run() == nil })
	var cred struct{ PrivateKeyFile, CertificateFile string }
	user.json(&cred, "ssh", "cert", "-g", "rg1", "-n", "vm1")
	pinned := []string{"-o", "UserKnownHostsFile=" + m.SSHD.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "HostKeyAlias=" + m.SSHD.HostAlias, "-o", "HostName=" + m.SSHD.Addr()}
	f.certArgs = append(append([]string{m.SSHProgram(b), "-l", "bench@contoso.test", "-i", cred.PrivateKeyFile,
		"-o", "CertificateFile=" + cred.CertificateFile, "-o", "IdentitiesOnly=yes"}, pinned...), "--", "vm1", "true")
	key := plainAccount(b)
	f.plainArgs = append(append([]string{m.SSHProgram(b), "-l", "benchplain", "-i", key, "-o", "IdentitiesOnly=yes"}, pinned...), "--", "vm1", "true")
	for _, args := range [][]string{f.plainArgs, f.certArgs} {
		if out, err := f.command(args...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	return f
}

func (f *sshVMFixture) command(args ...string) *exec.Cmd {
	c := exec.Command(args[0], args[1:]...)
	c.Env = f.env
	return c
}

// time runs one command line and returns its wall time in milliseconds.
func (f *sshVMFixture) time(b *testing.B, args ...string) float64 {
	return f.timeEnv(b, f.env, args...)
}

// timeEnv is time with another environment.
func (f *sshVMFixture) timeEnv(b *testing.B, env []string, args ...string) float64 {
	c := f.command(args...)
	c.Env = env
	start := time.Now()
	if out, err := c.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", args, err, out)
	}
	return float64(time.Since(start).Microseconds()) / 1000
}

// waitFor retries ok until it holds (the role reaches the machine with its next goal state).
func waitFor(b *testing.B, ok func() bool) {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	b.Fatal("the directory user cannot log in")
}

// plainAccount makes the local account benchplain with an authorized key and returns the key.
func plainAccount(b *testing.B) string {
	if out, err := exec.Command("useradd", "-m", "-N", "-s", "/bin/sh", "benchplain").CombinedOutput(); err != nil {
		b.Fatalf("useradd: %v %s", err, out)
	}
	b.Cleanup(func() { exec.Command("userdel", "-r", "-f", "benchplain").Run() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	key := filepath.Join(b.TempDir(), "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	os.MkdirAll("/home/benchplain/.ssh", 0o700)
	os.WriteFile("/home/benchplain/.ssh/authorized_keys", ssh.MarshalAuthorizedKey(sshPub), 0o600)
	exec.Command("chown", "-R", "benchplain", "/home/benchplain/.ssh").Run()
	return key
}

// benchCLI runs the command line in process with a configuration directory of its own.
type benchCLIRunner struct {
	b   *testing.B
	env map[string]string
}

func benchCLI(b *testing.B, env map[string]string) *benchCLIRunner {
	if env == nil {
		env = map[string]string{}
	}
	env["LATCH_CONFIG_DIR"] = b.TempDir()
	return &benchCLIRunner{b: b, env: env}
}

func (r *benchCLIRunner) okCtx(ctx context.Context, args ...string) []byte {
	var out, errb bytes.Buffer
	if code := cli.Run(ctx, args, nil, &out, &errb, r.env); code != 0 {
		r.b.Fatalf("latch %v: exit %d\n%s", args, code, errb.String())
	}
	return out.Bytes()
}

func (r *benchCLIRunner) ok(args ...string) []byte { return r.okCtx(context.Background(), args...) }

func (r *benchCLIRunner) json(v any, args ...string) {
	if err := json.Unmarshal(r.ok(args...), v); err != nil {
		r.b.Fatalf("latch %v: %v", args, err)
	}
}

// environ is the runner's environment as KEY=VALUE lines, for the built binary.
func (r *benchCLIRunner) environ() []string {
	var out []string
	for k, v := range r.env {
		out = append(out, k+"="+v)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
