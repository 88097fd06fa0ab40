package agent_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/agent"
	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/imds"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/tlsca"
)

// The agent against the real control plane. The machine talks to a "front": a second
// instance of the HTTP API on the same store, on a port of its own, which the test can stop
// (every connection cut, as in a crash) and start again on the same port — a control-plane
// restart — and which records what the machine sent. The owner's command line talks to the
// first instance, so changes reach the front through the store, as between replicas.

// owner runs latch commands as the tenant's owner.
type owner struct {
	t   *testing.T
	env map[string]string
}

func ownerLogin(t *testing.T, srv *testenv.Server) *owner {
	o := &owner{t: t, env: map[string]string{"LATCH_CONFIG_DIR": t.TempDir()}}
	o.ok(nil, "login", "--server", srv.URL, "--ca-file", srv.CAFile, "--service-principal",
		"-u", srv.Boot.Owner.AppID, "-p", srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
	return o
}

func (o *owner) ok(v any, args ...string) {
	o.t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), args, nil, &out, &errb, o.env); code != 0 {
		o.t.Fatalf("latch %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	if v != nil {
		if err := json.Unmarshal(out.Bytes(), v); err != nil {
			o.t.Fatalf("latch %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
}

// front is the restartable API instance the machine talks to.
type front struct {
	t    *testing.T
	srv  *testenv.Server
	addr string
	conf *tls.Config

	mu       sync.Mutex
	hs       *http.Server
	statuses []machineapi.ExtensionStatus
	joins    int
}

func startFront(t *testing.T, srv *testenv.Server) *front {
	res, err := tlsca.Ensure(filepath.Join(srv.Data, "tls"), "localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tlsca.LoadKeypair(res.Files.Cert, res.Files.Key)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{t: t, srv: srv, conf: kp.ServerConfig()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(f.stop)
	return f
}

// URL is the front's address under the certificate's name.
func (f *front) URL() string { return "https://localhost:" + f.addr[strings.LastIndex(f.addr, ":")+1:] }

// serve starts a fresh API instance (no memory of the previous one) on ln.
func (f *front) serve(ln net.Listener) {
	api := &httpapi.Server{Store: f.srv.Store, Tokens: f.srv.Tokens, Secrets: authn.NewSecretVerifier(time.Now),
		Log: slog.New(slog.DiscardHandler), Now: time.Now, URL: f.srv.URL, HomeTenantID: f.srv.TenantID}
	hs := &http.Server{Handler: f.record(api.Handler()), TLSConfig: f.conf, ErrorLog: log.New(io.Discard, "", 0)}
	f.mu.Lock()
	f.hs = hs
	f.mu.Unlock()
	go hs.ServeTLS(ln, "", "")
}

// stop cuts every connection at once, as a crashed control plane does.
func (f *front) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hs.Close()
}

// restart stops the front and serves again on the same port.
func (f *front) restart() {
	f.stop()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("listening again on %s: %v", f.addr, err)
	}
	f.serve(ln)
}

// record keeps the extension statuses and counts device joins passing through.
func (f *front) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, machineapi.PathExtensionStatus+"/"):
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
			var st machineapi.ExtensionStatus
			json.Unmarshal(body, &st)
			f.mu.Lock()
			f.statuses = append(f.statuses, st)
			f.mu.Unlock()
		case r.Method == http.MethodPost && r.URL.Path == machineapi.PathDeviceRegistration:
			f.mu.Lock()
			f.joins++
			f.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// count is how many statuses of state for generation gen the front received.
func (f *front) count(state, gen string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.statuses {
		if s.ProvisioningState == state && (gen == "" || s.Generation == gen) {
			n++
		}
	}
	return n
}

func (f *front) last() machineapi.ExtensionStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) == 0 {
		return machineapi.ExtensionStatus{}
	}
	return f.statuses[len(f.statuses)-1]
}

// machine is one connected VM whose agent the test starts and stops.
type machine struct {
	dir string
}

// connectMachine creates a VM (with an identity when asked) and connects a machine to it
// through the front.
func connectMachine(t *testing.T, srv *testenv.Server, own *owner, fr *front, name string, identity bool) *machine {
	args := []string{"vm", "create", "-g", "rg1", "-n", name, "--image", "UbuntuLTS", "--admin-password", "a-long-Passw0rd!",
		"--authentication-type", "password"}
	if identity {
		args = append(args, "--assign-identity")
	}
	var vm struct {
		OnboardingCommand string `json:"onboardingCommand"`
	}
	own.ok(&vm, args...)
	o := agent.ConnectOptions{StateDir: filepath.Join(t.TempDir(), "latch-agent"), Server: fr.URL(), CAFile: srv.CAFile}
	words := strings.Fields(vm.OnboardingCommand)
	for i := range words {
		if words[i] == "--token" && i+1 < len(words) {
			o.Token = words[i+1]
		}
	}
	if _, err := agent.Connect(context.Background(), o); err != nil {
		t.Fatalf("connect: %v", err)
	}
	return &machine{dir: o.StateDir}
}

// start runs the agent with login until the returned stop is called.
func (m *machine) start(t *testing.T, login agent.LoginSetup) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- agent.Run(ctx, agent.RunOptions{StateDir: m.dir, IMDSAddr: "127.0.0.1:0", Login: login,
			GoalStateWait: 30 * time.Second, Logger: slog.New(slog.DiscardHandler),
			Ready: func(*imds.Server, string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent run: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// progress is what the agent saved.
func (m *machine) status(t *testing.T) agent.Status {
	s, err := agent.ReadStatus(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually polls cond for up to a minute (the control plane rechecks every few seconds).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// countingLogin is a LoginSetup that counts; while block is set, Apply waits for its context.
type countingLogin struct {
	mu                      sync.Mutex
	applies, confirms, rems int
	block                   chan struct{}
}

func (l *countingLogin) Apply(ctx context.Context, _ agent.State, _ *machineapi.Login) error {
	l.mu.Lock()
	block := l.block
	l.block = nil
	l.mu.Unlock()
	if block != nil {
		close(block)
		<-ctx.Done()
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applies++
	return nil
}

func (l *countingLogin) Confirm(time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.confirms++
	return nil
}

func (l *countingLogin) Remove(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rems++
	return nil
}

func (l *countingLogin) count() (int, int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applies, l.confirms, l.rems
}

// TestControlPlaneRestartWhileLongPolling: the control plane restarts under a waiting
// long-poll; a change made after the restart reaches the agent.
func TestControlPlaneRestartWhileLongPolling(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	fr := startFront(t, srv)
	m := connectMachine(t, srv, own, fr, "vm1", false)
	m.start(t, &countingLogin{})
	eventually(t, "the first goal state", func() bool { return m.status(t).GoalState.Version != "" })
	first := m.status(t).GoalState.Version

	fr.restart()
	var assigned struct {
		SystemAssignedIdentity string `json:"systemAssignedIdentity"`
	}
	own.ok(&assigned, "vm", "identity", "assign", "-g", "rg1", "-n", "vm1")
	eventually(t, "the identity assigned after the restart", func() bool {
		p := readProgress(t, m.dir)
		return p.Goal != nil && p.Goal.Identity != nil
	})
	p := readProgress(t, m.dir)
	if p.Version == first || p.Goal.Identity.PrincipalID != assigned.SystemAssignedIdentity {
		t.Fatalf("the agent's goal state after the restart: %+v", p.Goal)
	}
}

// progressFile mirrors the agent's goalstate.json, which tests outside the package read.
type progressFile struct {
	Version string                `json:"version"`
	Goal    *machineapi.GoalState `json:"goal"`
}

func readProgress(t *testing.T, dir string) progressFile {
	var p progressFile
	b, err := os.ReadFile(filepath.Join(dir, "goalstate.json"))
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentKilledMidExtension: the agent stops after reporting Creating and before
// Succeeded; restarted, it finishes the extension: one Succeeded for the generation, one
// device join.
func TestAgentKilledMidExtension(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	fr := startFront(t, srv)
	m := connectMachine(t, srv, own, fr, "vm1", true)
	// The registration service is reached through the front too, so the test sees each join.
	os.WriteFile(filepath.Join(m.dir, "endpoints.json"), []byte(`{"registration":"`+fr.URL()+`"}`), 0o600)

	started := make(chan struct{})
	blocked := &countingLogin{block: started}
	stop := m.start(t, blocked)
	own.ok(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory",
		"--name", "AADSSHLoginForLinux", "--no-wait")
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatalf("the login setup was never reached; last status %+v", fr.last())
	}
	stop()
	if fr.count(machineapi.ProvisioningCreating, "") != 1 || fr.count(machineapi.ProvisioningSucceeded, "") != 0 {
		t.Fatalf("before the restart: %+v", fr.statuses)
	}
	gen := fr.last().Generation

	login := &countingLogin{}
	m.start(t, login)
	eventually(t, "Succeeded", func() bool { return fr.count(machineapi.ProvisioningSucceeded, gen) > 0 })
	if n := fr.count(machineapi.ProvisioningSucceeded, gen); n != 1 {
		t.Fatalf("%d Succeeded reports for generation %s", n, gen)
	}
	fr.mu.Lock()
	joins := fr.joins
	fr.mu.Unlock()
	if a, _, _ := login.count(); a != 1 || joins != 1 {
		t.Fatalf("applies %d, device joins %d", a, joins)
	}
	if s := m.status(t); !s.Device.DirectoryJoined || s.Device.KeySignTest != "PASSED" {
		t.Fatalf("device state %+v", s.Device)
	}
}

// TestRegistrationUnreachable: with the registration endpoint pointed at a closed port, the
// real control plane hears exit code -2145648607 naming that endpoint.
func TestRegistrationUnreachable(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	fr := startFront(t, srv)
	m := connectMachine(t, srv, own, fr, "vm1", true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	os.WriteFile(filepath.Join(m.dir, "endpoints.json"), []byte(`{"registration":"`+closed+`"}`), 0o600)
	m.start(t, &countingLogin{})
	own.ok(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory",
		"--name", "AADSSHLoginForLinux", "--no-wait")
	eventually(t, "Failed", func() bool { return fr.count(machineapi.ProvisioningFailed, "") > 0 })
	last := fr.last()
	if last.Code != machineapi.ExitDiscoveryFailed || !strings.Contains(last.Message, closed) {
		t.Fatalf("status %+v", last)
	}
}

// lastLogin is the login configuration the counting setup last applied.
func (l *recordingLogin) lastUsers() []machineapi.LoginUser {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return nil
	}
	return l.last.Users
}

// recordingLogin is countingLogin keeping the last Login applied.
type recordingLogin struct {
	countingLogin
	last *machineapi.Login
}

func (l *recordingLogin) Apply(ctx context.Context, st agent.State, lg *machineapi.Login) error {
	err := l.countingLogin.Apply(ctx, st, lg)
	l.mu.Lock()
	l.last = lg
	l.mu.Unlock()
	return err
}

// TestRoleChangeAndDeletion: with the extension applied, a role assigned afterwards reaches
// the login setup; deleting the extension removes the login setup and leaves the directory.
func TestRoleChangeAndDeletion(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	own := ownerLogin(t, srv)
	own.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	fr := startFront(t, srv)
	m := connectMachine(t, srv, own, fr, "vm1", true)
	login := &recordingLogin{}
	m.start(t, login)
	own.ok(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory",
		"--name", "AADSSHLoginForLinux")
	if last := fr.last(); last.ProvisioningState != machineapi.ProvisioningSucceeded {
		t.Fatalf("extension set returned with the machine's status %+v", last)
	}

	user := testenv.CreateUser(t, srv, "erin", "a long enough passphrase")
	var vm struct{ ID string }
	own.ok(&vm, "vm", "show", "-g", "rg1", "-n", "vm1")
	own.ok(nil, "role", "assignment", "create", "--assignee", user.UserPrincipalName, "--role", "Virtual Machine User Login", "--scope", vm.ID)
	assigned := time.Now()
	eventually(t, "the new user in the login setup", func() bool {
		for _, u := range login.lastUsers() {
			if u.ObjectID == user.ID {
				return true
			}
		}
		return false
	})
	t.Logf("the role assignment reached the login setup in %v", time.Since(assigned).Round(time.Millisecond))

	own.ok(nil, "vm", "extension", "delete", "-g", "rg1", "--vm-name", "vm1", "--name", "AADSSHLoginForLinux")
	if _, _, rems := login.count(); rems != 1 || fr.last().ProvisioningState != machineapi.ProvisioningDeleted {
		t.Fatalf("removes %d, last status %+v", rems, fr.last())
	}
	if s := m.status(t); s.Device.DirectoryJoined {
		t.Fatalf("still joined after the extension was deleted: %+v", s.Device)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "device-key.pem")); !os.IsNotExist(err) {
		t.Fatalf("device key left behind: %v", err)
	}
}
