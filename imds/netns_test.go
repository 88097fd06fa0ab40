package imds

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The real 169.254.169.254: the test makes a network namespace with that address on its lo,
// runs this test binary in it twice (once serving, once as an azidentity client that knows
// nothing of the test), and a third time from a neighbouring namespace routed to the address,
// which must be refused as not local. Children are bounded in time and killed at cleanup.

// childRoleEnv tells a re-executed test binary which part to play instead of running tests.
const childRoleEnv = "LATCH_IMDS_NETNS_ROLE"

const childTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

func runChild(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	var err error
	switch role {
	case "server":
		err = childServe(ctx)
	case "client":
		err = childClient(ctx)
	case "neighbour":
		err = childNeighbour(ctx)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, role+":", err)
		return 1
	}
	return 0
}

// childServe binds 169.254.169.254:80 and serves the fake machine until killed or timed out.
func childServe(ctx context.Context) error {
	s := New(newFakeSource(time.Now, systemID, userID), Config{})
	ln, err := s.ListenLinkLocal()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	return s.Serve(ctx, ln)
}

// childClient is a program on the machine: azidentity with no configuration at all.
func childClient(ctx context.Context) error {
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		return err
	}
	tok, err := cred.GetToken(ctx, policyScopes("https://management.azure.com/.default"))
	if err != nil {
		return err
	}
	fmt.Println("token " + tok.Token)
	return nil
}

// childNeighbour is another machine whose route to 169.254.169.254 leads to this one.
func childNeighbour(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://169.254.169.254/metadata/instance?api-version=2021-02-01", nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("status %d %s\n", resp.StatusCode, body)
	return nil
}

// netnsUnavailable says why namespaces cannot be made here, or "".
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "no ip command (Debian package iproute2)"
	}
	return ""
}

func TestLinkLocalInNetworkNamespace(t *testing.T) {
	if why := netnsUnavailable(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the 169.254.169.254 test: %s", why)
		}
		t.Skip(why)
	}
	machine, neighbour := newNetns(t, "m"), newNetns(t, "n")
	ip(t, "-n", machine, "addr", "add", "169.254.169.254/32", "dev", "lo")
	ip(t, "-n", machine, "link", "add", "imds-m", "type", "veth", "peer", "name", "imds-n", "netns", neighbour)
	ip(t, "-n", machine, "addr", "add", "10.254.0.1/24", "dev", "imds-m")
	ip(t, "-n", machine, "link", "set", "imds-m", "up")
	ip(t, "-n", neighbour, "addr", "add", "10.254.0.2/24", "dev", "imds-n")
	ip(t, "-n", neighbour, "link", "set", "imds-n", "up")
	ip(t, "-n", neighbour, "route", "add", "169.254.169.254/32", "via", "10.254.0.1")

	startChildServer(t, machine)
	out := runChildIn(t, machine, "client")
	if !strings.Contains(out, "token "+testJWT) {
		t.Fatalf("azidentity in the machine's namespace: %s", out)
	}
	out = runChildIn(t, neighbour, "neighbour")
	if !strings.Contains(out, "status 403") {
		t.Fatalf("fail/neighbour-routed-to-169.254.169.254: %s", out)
	}
}

// newNetns makes a namespace named after this process, with lo up, deleted at cleanup.
func newNetns(t *testing.T, suffix string) string {
	name := fmt.Sprintf("latch-imds-%d-%s", os.Getpid(), suffix)
	ip(t, "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
	ip(t, "-n", name, "link", "set", "lo", "up")
	return name
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// childCmd runs this test binary inside ns in role; `ip netns exec` execs it, so killing the
// command kills the child itself.
func childCmd(ctx context.Context, ns, role string) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, exe)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(identityEnv, k)
	}), childRoleEnv+"="+role)
	return cmd
}

// startChildServer starts the serving child in ns and waits for it to say it listens.
func startChildServer(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	cmd := childCmd(ctx, ns, "server")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line == "ready\n"
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("server child did not start: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server child did not say ready in 10 s")
	}
}

// runChildIn runs a client role in ns and returns its output.
func runChildIn(t *testing.T, ns, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	out, err := childCmd(ctx, ns, role).CombinedOutput()
	if err != nil {
		t.Fatalf("%s child in %s: %v: %s", role, ns, err, out)
	}
	return string(out)
}
