package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/testenv"
)

// The real agent on the real 169.254.169.254: the test builds the latch binary and runs
// "latch agent connect" and "latch agent run" inside a network namespace whose lo carries
// 169.254.169.254, then a program on that machine — this test binary again, playing the part —
// gets a token with azidentity's ManagedIdentityCredential and no configuration at all, as
// code on an Azure VM does. The namespace reaches the control plane through a relay the test
// runs from a listener inside it to the server's port on the host's loopback.

// miClientRole tells a re-executed test binary to be the azidentity program.
const miClientRole = "LATCH_AGENT_NETNS_MI_CLIENT"

// identityEnv are the variables by which azidentity picks another protocol than IMDS.
var identityEnv = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
	"IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID", "AZURE_CLIENT_ID"}

func TestMain(m *testing.M) {
	if scope := os.Getenv(miClientRole); scope != "" {
		os.Exit(miClient(scope))
	}
	os.Exit(m.Run())
}

// miClient gets a token for scope and prints it.
func miClient(scope string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mi client:", err)
		return 1
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mi client:", err)
		return 1
	}
	fmt.Println("token " + tok.Token)
	return 0
}

func TestAgentServesLinkLocalInNetns(t *testing.T) {
	ns := testenv.NewNetns(t, "agent")
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	if out, err := exec.Command("ip", "-n", ns.Name, "addr", "add", "169.254.169.254/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	relay(t, ns, srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	bin := buildLatch(t)
	command, principal, owner := createVM(t, srv)

	dir := filepath.Join(t.TempDir(), "state")
	args := append(strings.Fields(command)[1:], "--state-dir", dir)
	if out, err := ns.Run(context.Background(), append([]string{bin}, args...)...); err != nil {
		t.Fatalf("latch %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	startAgent(t, ns, bin, dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, _ := os.Executable()
	cmd := ns.Command(ctx, exe)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(identityEnv, k)
	}), miClientRole+"="+srv.URL+"/arm/.default")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("azidentity through 169.254.169.254: %v\n%s", err, out)
	}
	tok, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "token ")
	if !ok {
		t.Fatalf("client output: %s", out)
	}
	if oid := claim(t, tok, "oid"); oid != principal || principal == "" {
		t.Fatalf("token oid %q, want the VM's identity %q", oid, principal)
	}

	// The login extension joins the device; this agent runs without login configuration, so
	// the extension then fails, saying so, and status and doctor show the rest.
	owner(nil, "vm", "extension", "set", "-g", "rg1", "--vm-name", "vm1", "--publisher", "Microsoft.Azure.ActiveDirectory",
		"--name", "AADSSHLoginForLinux", "--no-wait")
	var st struct {
		Device struct {
			DirectoryJoined bool   `json:"directoryJoined"`
			KeySignTest     string `json:"keySignTest"`
		} `json:"deviceState"`
		GoalState struct {
			Extensions []struct{ ProvisioningState, Message string } `json:"extensions"`
		} `json:"goalState"`
	}
	for deadline := time.Now().Add(time.Minute); len(st.GoalState.Extensions) == 0; time.Sleep(100 * time.Millisecond) {
		out, err := ns.Run(context.Background(), bin, "agent", "status", "--state-dir", dir, "-o", "json")
		if err != nil || json.Unmarshal(out, &st) != nil || time.Now().After(deadline) {
			t.Fatalf("latch agent status: %v\n%s", err, out)
		}
	}
	ext := st.GoalState.Extensions[0]
	if !st.Device.DirectoryJoined || st.Device.KeySignTest != "PASSED" || ext.ProvisioningState != "Failed" ||
		!strings.Contains(ext.Message, "started without login configuration") {
		t.Fatalf("status after the extension: %+v", st)
	}
	out, err = ns.Run(context.Background(), bin, "agent", "status", "--state-dir", dir)
	t.Logf("latch agent status:\n%s", out)
	out, err = ns.Run(context.Background(), bin, "agent", "doctor", "--state-dir", dir)
	t.Logf("latch agent doctor:\n%s", out)
	if err != nil ||
		strings.Contains(string(out), "FAIL") || strings.Count(string(out), "OK ") < 8 {
		t.Fatalf("latch agent doctor: %v\n%s", err, out)
	}
}

// buildLatch builds the latch binary into the test's directory.
func buildLatch(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "latch")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// createVM makes a VM with a system-assigned identity as the owner and returns its
// onboarding command, the identity's principal id and a way to run more owner commands.
func createVM(t *testing.T, srv *testenv.Server) (string, string, func(v any, args ...string)) {
	env := map[string]string{"LATCH_CONFIG_DIR": t.TempDir()}
	run := func(v any, args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Run(context.Background(), args, nil, &out, &errb, env); code != 0 {
			t.Fatalf("latch %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
		}
		if v != nil {
			if err := json.Unmarshal(out.Bytes(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(nil, "login", "--server", srv.URL, "--ca-file", srv.CAFile, "--service-principal",
		"-u", srv.Boot.Owner.AppID, "-p", srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
	run(nil, "group", "create", "--name", "rg1", "--location", "westus")
	var vm struct {
		OnboardingCommand string `json:"onboardingCommand"`
		Identity          struct {
			SystemAssignedIdentity string `json:"systemAssignedIdentity"`
		} `json:"identity"`
	}
	run(&vm, "vm", "create", "-g", "rg1", "-n", "vm1", "--image", "UbuntuLTS", "--assign-identity",
		"--admin-password", "a-long-Passw0rd!", "--authentication-type", "password")
	return vm.OnboardingCommand, vm.Identity.SystemAssignedIdentity, run
}

// relay listens on 127.0.0.1:port inside ns and forwards each connection to the same port on
// the host's loopback, where the control plane is.
func relay(t *testing.T, ns *testenv.Netns, port string) {
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:"+port)
		return err
	}); err != nil {
		t.Fatalf("relay listener in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go pipe(in, "127.0.0.1:"+port)
		}
	}()
}

func pipe(in net.Conn, addr string) {
	defer in.Close()
	out, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done
}

// startAgent runs "latch agent run" in ns until the test ends and waits until
// 169.254.169.254:80 answers there.
func startAgent(t *testing.T, ns *testenv.Netns, bin, dir string) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns.Command(ctx, bin, "agent", "run", "--state-dir", dir, "--login=false", "--goal-state-wait", "5s")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := ns.Do(func() error {
			c, err := net.DialTimeout("tcp", "169.254.169.254:80", time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent does not serve 169.254.169.254:80: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// claim reads one claim of a JWT without verifying it.
func claim(t *testing.T, raw, name string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("JWT payload unreadable")
	}
	s, _ := m[name].(string)
	return s
}
