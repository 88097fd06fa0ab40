package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/agent"
	"github.com/latchsh/latch/imds"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/testenv"
)

// The machine and device keys in a TPM: a software TPM (swtpm) the test starts on loopback
// stands for the machine's, and the agent talks to it over the simulator protocol as it
// talks to /dev/tpmrm0.

// startSWTPM starts a TPM 2.0 simulator with a fresh state and returns its command port's
// address (the platform port is the next one). It skips without swtpm unless CI is set.
func startSWTPM(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("swtpm is not installed (apt-get install swtpm swtpm-tools)")
		}
		t.Skip("swtpm is not installed (apt-get install swtpm swtpm-tools)")
	}
	var last string
	for range 10 { // another program may take a port between the probe and swtpm's bind
		port := freePortPair(t)
		cmd := exec.Command(bin, "socket", "--tpm2",
			"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
			"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
			"--tpmstate", "dir="+t.TempDir(), "--flags", "not-need-init,startup-clear")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting swtpm: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if listening(addr, exited) {
			t.Cleanup(func() { cmd.Process.Kill(); <-exited })
			return addr
		}
		cmd.Process.Kill()
		<-exited
		last = out.String()
	}
	t.Fatalf("swtpm did not start: %s", last)
	return ""
}

// freePortPair finds a loopback port whose successor is free too.
func freePortPair(t *testing.T) int {
	for {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		a.Close()
		if err == nil {
			b.Close()
			return port
		}
	}
}

// listening waits until addr accepts a connection or the program exited.
func listening(addr string, exited <-chan struct{}) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// onboardingToken creates a VM with a system-assigned identity and returns its token.
func onboardingToken(t *testing.T, own *owner, name string) string {
	var vm struct {
		OnboardingCommand string `json:"onboardingCommand"`
	}
	own.ok(&vm, "vm", "create", "-g", "rg1", "-n", name, "--image", "UbuntuLTS", "--admin-password", "a-long-Passw0rd!",
		"--authentication-type", "password", "--assign-identity")
	words := strings.Fields(vm.OnboardingCommand)
	for i := range words {
		if words[i] == "--token" && i+1 < len(words) {
			return words[i+1]
		}
	}
	t.Fatalf("no token in %q", vm.OnboardingCommand)
	return ""
}

// runTPMAgent runs the agent on dir, as a fresh process would (state and key loaded anew),
// and returns its metadata service's base URL and a stop function.
func runTPMAgent(t *testing.T, dir string, login agent.LoginSetup) (string, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		done <- agent.Run(ctx, agent.RunOptions{StateDir: dir, IMDSAddr: "127.0.0.1:0", Login: login,
			GoalStateWait: 30 * time.Second, Logger: slog.New(slog.DiscardHandler),
			Ready: func(_ *imds.Server, addr string) { ready <- "http://" + addr }})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("agent run: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return base, stop
}

// imdsToken asks the agent's metadata service for a managed-identity token, which the agent
// gets from the control plane with a proof signed by the machine key.
func imdsToken(t *testing.T, base, resource string) (int, string) {
	t.Helper()
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	req, _ := http.NewRequest(http.MethodGet, base+"/metadata/identity/oauth2/token?"+q.Encode(), nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &tok)
	if tok.AccessToken == "" {
		return resp.StatusCode, string(body)
	}
	return resp.StatusCode, tok.AccessToken
}

// noPrivateKeyFile fails when a file of dir holds a PEM private key.
func noPrivateKeyFile(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte("PRIVATE KEY")) || strings.HasSuffix(path, ".pem") && !strings.HasSuffix(path, "cert.pem") {
			t.Errorf("%s holds a private key in the clear", path)
		}
		return nil
	})
}

func TestTPMConnectRefusals(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	token := onboardingToken(t, own, "vm1")
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	for _, tt := range []struct {
		name string
		o    agent.ConnectOptions
		want string
	}{
		{"fail/require-without-device", agent.ConnectOptions{TPM: agent.TPMRequire, TPMDevice: filepath.Join(t.TempDir(), "tpmrm0")}, "no working TPM"},
		{"fail/require-device-not-a-tpm", agent.ConnectOptions{TPM: agent.TPMRequire, TPMDevice: os.DevNull}, "no working TPM"},
		{"fail/require-simulator-down", agent.ConnectOptions{TPM: agent.TPMRequire, TPMSimulator: deadAddr}, "no working TPM"},
		{"fail/unknown-mode", agent.ConnectOptions{TPM: "sometimes"}, "auto, require or off"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Server, tt.o.CAFile, tt.o.Token = srv.URL, srv.CAFile, token
			tt.o.StateDir = filepath.Join(t.TempDir(), "latch-agent")
			if _, err := agent.Connect(context.Background(), tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Connect = %v, want an error saying %q", err, tt.want)
			}
			if _, err := os.Stat(tt.o.StateDir); !os.IsNotExist(err) {
				t.Fatalf("a refused connect left state behind: %v", err)
			}
		})
	}
	t.Run("ok/auto-without-tpm-uses-files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "latch-agent")
		st, err := agent.Connect(context.Background(), agent.ConnectOptions{Server: srv.URL, CAFile: srv.CAFile, Token: token,
			StateDir: dir, TPMDevice: filepath.Join(t.TempDir(), "tpmrm0")})
		if err != nil || st.KeyProvider != agent.KeyProviderSoftware || !strings.Contains(st.KeyNote, "no TPM") {
			t.Fatalf("Connect = %+v, %v", st, err)
		}
		if s, err := agent.ReadStatus(dir); err != nil || s.Machine.KeyProvider != "software" || s.Machine.KeySignTest != "PASSED" {
			t.Fatalf("status %+v, %v", s.Machine, err)
		}
	})
}

func TestTPMMachineKey(t *testing.T) {
	sim := startSWTPM(t)
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	fr := startFront(t, srv)
	dir := filepath.Join(t.TempDir(), "latch-agent")
	st, err := agent.Connect(context.Background(), agent.ConnectOptions{Server: fr.URL(), CAFile: srv.CAFile,
		Token: onboardingToken(t, own, "vm1"), StateDir: dir, TPM: agent.TPMRequire, TPMSimulator: sim})
	if err != nil {
		t.Fatalf("connect with the TPM: %v", err)
	}
	if st.KeyProvider != agent.KeyProviderTPM || st.TPM != "tcp:"+sim {
		t.Fatalf("connected with %q at %q, want the TPM", st.KeyProvider, st.TPM)
	}
	base, stop := runTPMAgent(t, dir, &recordingLogin{})
	resource := srv.URL + "/arm/"

	t.Run("ok/imds-token-with-tpm-proofs", func(t *testing.T) {
		if code, tok := imdsToken(t, base, resource); code != http.StatusOK {
			t.Fatalf("IMDS token: %d %s", code, tok)
		}
	})
	t.Run("ok/device-key-in-tpm", func(t *testing.T) {
		own.ok(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory",
			"--name", "AADSSHLoginForLinux")
		if last := fr.last(); last.ProvisioningState != machineapi.ProvisioningSucceeded {
			t.Fatalf("extension status %+v", last)
		}
		s, err := agent.ReadStatus(dir)
		if err != nil || !s.Device.DirectoryJoined || s.Device.KeyProvider != "tpm" || s.Device.KeySignTest != "PASSED" ||
			s.Machine.KeyProvider != "tpm" || s.Machine.KeySignTest != "PASSED" {
			t.Fatalf("status %+v %+v, %v", s.Device, s.Machine, err)
		}
		var text bytes.Buffer
		s.WriteText(&text)
		if !strings.Contains(text.String(), "KeyProvider : tpm") {
			t.Fatalf("status text lacks the TPM:\n%s", text.String())
		}
	})
	t.Run("ok/no-private-key-in-state-dir", func(t *testing.T) {
		noPrivateKeyFile(t, dir)
		for _, name := range []string{"tpm-key.json", "tpm-device-key.json"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
	t.Run("ok/restarted-agent-still-signs", func(t *testing.T) {
		stop()
		base, _ := runTPMAgent(t, dir, &recordingLogin{})
		if code, tok := imdsToken(t, base, resource); code != http.StatusOK {
			t.Fatalf("IMDS token after a restart: %d %s", code, tok)
		}
	})
	t.Run("fail/key-in-another-tpm", func(t *testing.T) {
		other := startSWTPM(t)
		moved := filepath.Join(t.TempDir(), "moved")
		os.MkdirAll(moved, 0o700)
		for _, name := range []string{"state.json", "tpm-key.json"} {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			os.WriteFile(filepath.Join(moved, name), bytes.ReplaceAll(b, []byte(sim), []byte(other)), 0o600)
		}
		s, err := agent.ReadStatus(moved)
		if err != nil || !strings.HasPrefix(s.Machine.KeySignTest, "FAILED") {
			t.Fatalf("a key copied to another TPM: sign test %q, %v", s.Machine.KeySignTest, err)
		}
	})
}
