package testenv

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHDPath is Debian's sshd. It is run by absolute path because sshd re-executes itself.
const SSHDPath = "/usr/sbin/sshd"

const sshdMissing = "OpenSSH server not found at " + SSHDPath + "; run scripts/install.sh " +
	"(Debian's openssh-server and openssh-client)"

// sshdStartTimeout bounds the wait for a new sshd (it listens 20–30 ms after start here).
const sshdStartTimeout = 10 * time.Second

// SSHDConfig is what a test asks of its sshd. Everything not here is fixed: a fresh Ed25519
// host key, PidFile none (the default pid file is shared across namespaces), UsePAM yes
// (useradd leaves passwords locked, which sshd refuses without PAM), public keys only, no
// root login, and an Include of DropInDir before every other line, as Debian's config has.
type SSHDConfig struct {
	Port     int    // 0: 22, free in a namespace of its own
	LogLevel string // "": VERBOSE. DEBUG1 also shows what principals commands write to stderr.
	// TrustedUserCAKeys, AuthorizedPrincipalsCommand and its user, when set, become global
	// settings. Tests of the drop-in leave them empty: the drop-in brings its own.
	TrustedUserCAKeys               string
	AuthorizedPrincipalsCommand     string
	AuthorizedPrincipalsCommandUser string
	Extra                           []string // further lines, after the generated ones
}

// SSHD is a real OpenSSH server running in a test's namespace.
type SSHD struct {
	NS         *Netns
	Dir        string // private to this server: config, host key, known_hosts, pid file
	Config     string // the main configuration, for sshd -t -f and the drop-in's MainConfig
	DropInDir  string // included as DropInDir/*.conf
	HostKey    ssh.PublicKey
	KnownHosts string // pins HostKey under HostAlias
	HostAlias  string
	// PidFile holds sshd's pid, written by StartSSHD (sshd itself writes none), so code that
	// reloads sshd through a pid file can be pointed at it.
	PidFile string
	Port    int

	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// StartSSHD starts /usr/sbin/sshd -D -e -f <generated config> inside ns, waits until it
// accepts connections, and stops it when t ends. Its log is shown when t fails. It skips t
// (fails under CI) when sshd is not installed.
func StartSSHD(t testing.TB, ns *Netns, cfg SSHDConfig) *SSHD {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		skipOrFail(t, sshdMissing)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation dir
		t.Fatal(err)
	}
	s := newSSHDFiles(t, ns, cfg)
	s.start(t)
	return s
}

// newSSHDFiles writes the host key, known_hosts and configuration.
func newSSHDFiles(t testing.TB, ns *Netns, cfg SSHDConfig) *SSHD {
	t.Helper()
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	dir := t.TempDir()
	s := &SSHD{NS: ns, Dir: dir, Config: filepath.Join(dir, "sshd_config"), DropInDir: filepath.Join(dir, "sshd_config.d"),
		KnownHosts: filepath.Join(dir, "known_hosts"), HostAlias: "latch-test-" + ns.Name,
		PidFile: filepath.Join(dir, "sshd.pid"), Port: cfg.Port, log: &syncBuffer{}, exited: make(chan struct{})}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	pub, err := writeHostKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	s.HostKey = pub
	known := s.HostAlias + " " + string(ssh.MarshalAuthorizedKey(pub))
	mustWrite(t, s.KnownHosts, known, 0o644)
	if err := os.Mkdir(s.DropInDir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s.Config, sshdConfigText(cfg, s.DropInDir, hostKey), 0o644)
	return s
}

func writeHostKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

func sshdConfigText(cfg SSHDConfig, dropInDir, hostKey string) string {
	lines := []string{
		"# sshd for one test",
		"Include " + dropInDir + "/*.conf",
		"Port " + strconv.Itoa(cfg.Port),
		"HostKey " + hostKey,
		"PidFile none",
		"UsePAM yes",
		"LogLevel " + orString(cfg.LogLevel, "VERBOSE"),
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin no",
		"AuthorizedKeysFile .ssh/authorized_keys",
	}
	if cfg.TrustedUserCAKeys != "" {
		lines = append(lines, "TrustedUserCAKeys "+cfg.TrustedUserCAKeys)
	}
	if cfg.AuthorizedPrincipalsCommand != "" {
		lines = append(lines, "AuthorizedPrincipalsCommand "+cfg.AuthorizedPrincipalsCommand,
			"AuthorizedPrincipalsCommandUser "+orString(cfg.AuthorizedPrincipalsCommandUser, "nobody"))
	}
	return strings.Join(append(lines, cfg.Extra...), "\n") + "\n"
}

// start runs sshd and waits for it to accept connections.
func (s *SSHD) start(t testing.TB) {
	t.Helper()
	s.cmd = s.NS.Command(context.Background(), SSHDPath, "-D", "-e", "-f", s.Config)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Its own process group, so the per-connection children can be stopped with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("sshd log (%s):\n%s", s.NS.Name, s.log.String())
		}
	})
	// ip netns exec replaces itself with sshd, so this is sshd's pid.
	mustWrite(t, s.PidFile, strconv.Itoa(s.cmd.Process.Pid)+"\n", 0o644)
	if err := s.waitListening(); err != nil {
		t.Fatalf("sshd in %s: %v\n%s", s.NS.Name, err, s.log.String())
	}
}

// waitListening dials sshd's port from inside the namespace until it answers.
func (s *SSHD) waitListening() error {
	deadline := time.Now().Add(sshdStartTimeout)
	for {
		err := s.NS.Do(func() error {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("sshd exited")
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %v: %v", sshdStartTimeout, err)
		}
	}
}

// Reload sends sshd SIGHUP, as a configuration change on a real machine would, and waits
// until the re-executed sshd listens again.
func (s *SSHD) Reload(t testing.TB) {
	t.Helper()
	before := strings.Count(s.log.String(), "Server listening on")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("reloading sshd: %v", err)
	}
	if err := s.WaitReloaded(before); err != nil {
		t.Fatal(err)
	}
}

// WaitReloaded waits until sshd has announced listening more than before times (count it
// with ListenCount before causing a reload by other means, e.g. a pid file).
func (s *SSHD) WaitReloaded(before int) error {
	deadline := time.Now().Add(sshdStartTimeout)
	for s.ListenCount() <= before {
		select {
		case <-s.exited:
			return fmt.Errorf("sshd exited on reload:\n%s", s.log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd did not listen again within %v:\n%s", sshdStartTimeout, s.log.String())
		}
	}
	return s.waitListening()
}

// ListenCount is how many times sshd has announced it is listening (once per start or reload,
// per address family).
func (s *SSHD) ListenCount() int { return strings.Count(s.log.String(), "Server listening on") }

// Log is what sshd has logged so far.
func (s *SSHD) Log() string { return s.log.String() }

// Addr is where a client in a connected namespace reaches this server; 127.0.0.1 for a client
// in the server's own namespace, when Connect was not called.
func (s *SSHD) Addr() string {
	if s.NS.Addr.IsValid() {
		return s.NS.Addr.String()
	}
	return "127.0.0.1"
}

// stop ends sshd and every process of its group: SIGTERM, then SIGKILL after 5 s.
func (s *SSHD) stop() {
	pid := s.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-s.exited
	}
	syscall.Kill(-pid, syscall.SIGKILL) // connection children that outlived the listener
}

func mustWrite(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for sshd's output and the test reading it at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// SSHResult is how a run of the ssh client ended.
type SSHResult struct {
	Stdout, Stderr string
	Exit           int // the client's exit status; 255 when ssh itself failed (refused, unreachable); -1 on timeout
}

// sshTimeout bounds one client run; a login here takes about 0.2 s.
const sshTimeout = 30 * time.Second

// SSH runs the real ssh client inside ns against srv with args (identity, user, command …;
// give srv.Addr() as the host). The client reads no configuration files and no agent, uses
// public keys only in batch mode, and pins srv's host key: StrictHostKeyChecking yes against a
// known_hosts file holding only that key under srv.HostAlias. A refused login is a result
// (Exit 255), not a test failure; a client that cannot be started fails t.
func SSH(t testing.TB, ns *Netns, srv *SSHD, args ...string) SSHResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sshTimeout)
	defer cancel()
	argv := append([]string{"ssh", "-F", "none",
		"-o", "UserKnownHostsFile=" + srv.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=" + srv.HostAlias,
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "PreferredAuthentications=publickey", "-p", strconv.Itoa(srv.Port)}, args...)
	cmd := ns.Command(ctx, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := SSHResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.Exit = -1
	case errors.As(err, &exit):
		res.Exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("running ssh: %v", err)
	}
	return res
}

// helperRoot is where InstallHelper puts programs sshd must run. sshd refuses a principals or
// keys command unless the file and every directory above it are root-owned and not writable
// by group or others, so a test's temporary directory will not do.
const helperRoot = "/usr/local/libexec/latch-test"

// InstallHelper copies the program at src into a fresh root-owned directory under
// /usr/local/libexec/latch-test (mode 0755 all the way) and returns that directory and the
// copy's path. Files the helper reads can go in the same directory. Everything is removed
// when t ends. It needs root, like everything that runs sshd.
func InstallHelper(t testing.TB, src string) (dir, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "installing a program for sshd needs root")
	}
	created, err := mkdirRootOnly(helperRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(helperRoot, randomHex(6))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		// What this call created, innermost first, and only if empty: another test run may
		// have a helper there too.
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i])
		}
	})
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; sshd wants exactly no group/other write.
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// mkdirRootOnly makes dir and its missing parents 0755, returns those it created (outermost
// first), and checks that each directory up to / is root-owned and not group- or
// world-writable, as sshd will.
func mkdirRootOnly(dir string) ([]string, error) {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" {
			break
		}
		created = append([]string{d}, created...)
	}
	for _, d := range created {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return created, err
		}
		if err := os.Chmod(d, 0o755); err != nil { // past the umask
			return created, err
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return created, err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
			return created, fmt.Errorf("%s must be root-owned and not group- or world-writable for sshd", d)
		}
		if d == "/" {
			return created, nil
		}
	}
}
