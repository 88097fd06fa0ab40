package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
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

// A machine, as the login tests need one: a network namespace with Debian's sshd and the real
// `latch agent` binary running in it, onboarded with the command `latch vm create` printed,
// and a second namespace for the client, joined to it by a veth pair. Inside the machine's
// namespace:
//
//   - /etc/ssh is the test sshd's own directory and /etc/sudoers.d one of the test's (ip netns
//     exec binds /etc/netns/<ns>/X over /etc/X for every process it starts, sshd and the
//     agent alike), so the agent finds sshd_config, its sshd_config.d drop-in directory and
//     the host keys where a real machine keeps them, the paths it writes into the drop-in mean
//     the same to sshd, and this computer's own /etc/ssh and sudoers are never touched;
//   - the agent has a /run of its own holding only sshd.pid, the test sshd's pid, so it
//     reloads that sshd as it would a machine's (and never asks systemd to reload this
//     computer's); its decision socket is in a directory the principals command can reach;
//   - the control plane's https://localhost:PORT is the test's server, through a forwarder
//     listening on the namespace's loopback, so the agent uses the very URLs the server
//     hands out;
//   - 169.254.169.254 is on the loopback device, where the agent serves the metadata service.

// agentStartTimeout bounds the wait for the agent's metadata service to answer.
const agentStartTimeout = 30 * time.Second

// MachineOptions change how StartMachine builds the machine.
type MachineOptions struct {
	// Subnet is the private /24 joining the machine (.1) and the client (.2); default
	// 10.78.N.0/24 with N from the process id.
	Subnet string
	// SSHD adds to the machine's sshd configuration (Port and LogLevel, extra lines).
	SSHD SSHDConfig
	// AgentArgs are further flags for `latch agent run`.
	AgentArgs []string
}

// Machine is a running machine and the namespace its clients run in.
type Machine struct {
	NS, ClientNS *Netns
	SSHD         *SSHD
	Bin          string // the latch binary, in a root-owned directory sshd accepts
	StateDir     string // the agent's state directory
	SocketPath   string // the agent's decision socket
	etcDir       string // /etc/netns/<ns>
	agent        *exec.Cmd
	agentLog     *syncBuffer
	agentDone    chan struct{}
	agentArgs    []string
}

// StartMachine starts a machine for the VM whose onboarding command ("latch agent connect
// --server … --token … --ca-file …", as `latch vm create` prints it) is given: namespaces,
// sshd, the forwarder to srv, `latch agent connect`, then `latch agent run`. It waits until
// the agent serves the metadata service (connected, its first status report on its way) and
// stops everything when t ends, showing the agent's and sshd's logs if t failed. It skips t
// (fails under CI) without root, ip or sshd.
func StartMachine(t testing.TB, srv *Server, onboardingCommand string, opts MachineOptions) *Machine {
	t.Helper()
	needNetns(t)
	bin := LatchBinary(t)
	m := &Machine{Bin: bin, NS: NewNetns(t, "vm"), ClientNS: NewNetns(t, "cli"), agentLog: &syncBuffer{}}
	subnet := opts.Subnet
	if subnet == "" {
		subnet = fmt.Sprintf("10.78.%d.0/24", os.Getpid()%250+1)
	}
	m.NS.Connect(t, m.ClientNS, subnet)
	if out, err := runIP("-n", m.NS.Name, "addr", "add", "169.254.169.254/32", "dev", "lo"); err != nil {
		t.Fatalf("adding the metadata address: %v: %s", err, out)
	}
	m.startSSHD(t, opts.SSHD)
	m.forwardServer(t, srv)
	m.StateDir = filepath.Join(t.TempDir(), "latch-agent")
	m.SocketPath = socketPath(t)
	m.connect(t, onboardingCommand)
	m.agentArgs = opts.AgentArgs
	m.StartAgent(t)
	return m
}

// startSSHD is StartSSHD with the namespace's /etc bound before sshd starts, so sshd sees
// the same /etc/ssh and /etc/sudoers.d as the agent.
func (m *Machine) startSSHD(t testing.TB, cfg SSHDConfig) {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		skipOrFail(t, sshdMissing)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	m.SSHD = newSSHDFiles(t, m.NS, cfg)
	pub := filepath.Join(m.SSHD.Dir, "ssh_host_ed25519_key.pub")
	mustWrite(t, pub, string(ssh.MarshalAuthorizedKey(m.SSHD.HostKey)), 0o644)
	m.bindEtc(t, map[string]string{"ssh": m.SSHD.Dir, "sudoers.d": t.TempDir()})
	m.SSHD.start(t)
}

// bindEtc links /etc/netns/<ns>/<name> to each directory, which ip netns exec binds over
// /etc/<name> for the processes it starts from now on.
func (m *Machine) bindEtc(t testing.TB, dirs map[string]string) {
	t.Helper()
	m.etcDir = filepath.Join("/etc/netns", m.NS.Name)
	if err := os.MkdirAll(m.etcDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(m.etcDir)
		os.Remove("/etc/netns") // only when no other namespace has files there
	})
	for name, dir := range dirs {
		if err := os.Symlink(dir, filepath.Join(m.etcDir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// socketPath is a decision socket path in a fresh 0755 directory: the principals command
// runs as nobody and must reach it.
func socketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "latch-agent-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "decide.sock")
}

// forwardServer listens on the machine namespace's loopback at srv's port and relays every
// connection to srv on the test's own loopback, so https://localhost:PORT means the server
// inside the machine as outside it.
func (m *Machine) forwardServer(t testing.TB, srv *Server) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort("127.0.0.1", u.Port())
	var ln net.Listener
	if err := m.NS.Do(func() (err error) { ln, err = net.Listen("tcp", target); return err }); err != nil {
		t.Fatalf("forwarder in %s: %v", m.NS.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(c, target)
		}
	}()
}

// relay copies between c and a new connection to target until either side closes.
func relay(c net.Conn, target string) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// connect runs the onboarding command's `latch agent connect` in the machine's namespace.
func (m *Machine) connect(t testing.TB, command string) {
	t.Helper()
	words := strings.Fields(command)
	if len(words) < 3 || strings.Join(words[:3], " ") != "latch agent connect" {
		t.Fatalf("not an onboarding command: %q", command)
	}
	argv := append([]string{m.Bin}, words[1:]...)
	argv = append(argv, "--state-dir", m.StateDir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := m.NS.Run(ctx, argv...); err != nil {
		t.Fatalf("latch agent connect: %v\n%s", err, out)
	}
}

// StartAgent starts `latch agent run` in the machine's namespace (StartMachine does; call it
// again after StopAgent to restart the agent) and waits until it serves the metadata service.
func (m *Machine) StartAgent(t testing.TB) {
	t.Helper()
	// A private /run (ip netns exec's mount namespace is the agent's own) with sshd's pid and
	// privilege separation directory, which sshd -t checks.
	const script = `mount -t tmpfs -o mode=0755 latch-agent-run /run && mkdir -m 0755 /run/sshd && cat "$0" > /run/sshd.pid && exec "$@"`
	argv := append([]string{"sh", "-c", script, m.SSHD.PidFile, m.Bin, "agent", "run", "--state-dir", m.StateDir,
		"--socket", m.SocketPath}, m.agentArgs...)
	m.agent = m.NS.Command(context.Background(), argv...)
	m.agent.Stdout, m.agent.Stderr = m.agentLog, m.agentLog
	m.agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.agent.Start(); err != nil {
		t.Fatalf("starting the agent: %v", err)
	}
	done := make(chan struct{})
	m.agentDone = done
	go func() { m.agent.Wait(); close(done) }()
	t.Cleanup(func() {
		m.StopAgent()
		if t.Failed() {
			t.Logf("agent log (%s):\n%s", m.NS.Name, m.AgentLog())
		}
	})
	if err := m.waitMetadata(done); err != nil {
		t.Fatalf("latch agent run in %s: %v\n%s", m.NS.Name, err, m.AgentLog())
	}
}

// waitMetadata dials the metadata service's link-local address in the namespace until it
// answers or the agent exits.
func (m *Machine) waitMetadata(done <-chan struct{}) error {
	deadline := time.Now().Add(agentStartTimeout)
	for {
		err := m.NS.Do(func() error {
			c, err := net.DialTimeout("tcp", "169.254.169.254:80", time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("the agent exited")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no metadata service after %v: %v", agentStartTimeout, err)
		}
	}
}

// StopAgent stops the agent (SIGTERM, then SIGKILL after 5 s); it may be called again.
func (m *Machine) StopAgent() {
	if m.agent == nil || m.agent.Process == nil {
		return
	}
	pid := m.agent.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-m.agentDone:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-m.agentDone
	}
}

// AgentLog is what the agent has written so far.
func (m *Machine) AgentLog() string { return m.agentLog.String() }

// SSHProgram writes a stand-in for ssh, for $LATCH_SSH, that runs the real client in the
// client's namespace without any configuration file or agent and in batch mode. Host
// checking is left entirely to the options its caller passes (latch pins the host key).
func (m *Machine) SSHProgram(t testing.TB) string {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\nexec ip netns exec %s ssh -F none -o BatchMode=yes -o IdentityAgent=none "+
		"-o ConnectTimeout=10 -p %d \"$@\"\n", m.ClientNS.Name, m.SSHD.Port)
	path := filepath.Join(t.TempDir(), "ssh")
	mustWrite(t, path, script, 0o700)
	return path
}

var (
	latchBinOnce sync.Once
	latchBin     string
	latchBinErr  error
)

// LatchBinary builds cmd/latch once per test binary into a root-owned 0755 directory under
// /usr/local/libexec/latch-test (sshd runs `latch agent principals` only from such a path)
// and returns its path. Directories left by test binaries that have ended are removed first.
func LatchBinary(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the machine's latch binary must be root-owned for sshd: tests with a machine need root")
	}
	latchBinOnce.Do(func() { latchBin, latchBinErr = buildLatch() })
	if latchBinErr != nil {
		t.Fatal(latchBinErr)
	}
	return latchBin
}

func buildLatch() (string, error) {
	if _, err := mkdirRootOnly(helperRoot); err != nil {
		return "", err
	}
	removeStaleBinaries()
	dir := filepath.Join(helperRoot, "bin-"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "latch")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", path, "github.com/latchsh/latch/cmd/latch").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building latch: %v\n%s", err, out)
	}
	return path, os.Chmod(path, 0o755)
}

// removeStaleBinaries removes bin-<pid> directories whose process has ended.
func removeStaleBinaries() {
	entries, _ := os.ReadDir(helperRoot)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "bin-"))
		if err != nil || !strings.HasPrefix(e.Name(), "bin-") || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(helperRoot, e.Name()))
		}
	}
}
