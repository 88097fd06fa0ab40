package testenv

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsMissing is what a test says when it cannot make network namespaces.
const netnsMissing = "network namespaces need root and the ip command (Debian's iproute2, which " +
	"scripts/install.sh installs)"

// Netns is a network namespace made for one test, so the programs it runs (sshd, a client,
// a metadata service on 169.254.169.254) have their own addresses and ports and never meet
// the machine's. It is removed when the test ends.
type Netns struct {
	Name string // the name ip netns knows it by
	// Addr is this namespace's address on the link Connect made; invalid before Connect.
	Addr netip.Addr
}

// NewNetns makes a namespace named after name (plus a random suffix, so parallel test runs
// do not meet) with its loopback up, and removes it when t ends. It skips the test when
// namespaces cannot be made here (not root, no ip command, no permission), or fails it when
// the environment variable CI is set, where skipping would hide a broken setup.
func NewNetns(t testing.TB, name string) *Netns {
	t.Helper()
	needNetns(t)
	ns := &Netns{Name: "latch-" + name + "-" + randomHex(3)}
	if out, err := runIP("netns", "add", ns.Name); err != nil {
		skipOrFail(t, fmt.Sprintf("%s: ip netns add: %v: %s", netnsMissing, err, out))
	}
	t.Cleanup(func() {
		if out, err := runIP("netns", "del", ns.Name); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", ns.Name, err, out)
		}
	})
	if out, err := runIP("-n", ns.Name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("bringing up lo in %s: %v: %s", ns.Name, err, out)
	}
	return ns
}

// Connect joins ns and peer with a veth pair in subnet, a private /24 the test picks such as
// "10.77.1.0/24": ns gets .1 and peer .2 (see their Addr). The pair goes when the namespaces do.
func (ns *Netns) Connect(t testing.TB, peer *Netns, subnet string) {
	t.Helper()
	pfx, err := netip.ParsePrefix(subnet)
	if err != nil || pfx.Bits() != 24 || !pfx.Addr().Is4() || !pfx.Addr().IsPrivate() || pfx.Masked() != pfx {
		t.Fatalf("Connect: %q is not a private IPv4 /24 network", subnet)
	}
	// Interface names are at most 15 bytes.
	suffix := randomHex(3)
	a, b := "lv"+suffix+"a", "lv"+suffix+"b"
	ns.Addr, peer.Addr = pfx.Addr().Next(), pfx.Addr().Next().Next()
	steps := [][]string{
		{"link", "add", a, "type", "veth", "peer", "name", b},
		{"link", "set", a, "netns", ns.Name},
		{"link", "set", b, "netns", peer.Name},
		{"-n", ns.Name, "addr", "add", ns.Addr.String() + "/24", "dev", a},
		{"-n", peer.Name, "addr", "add", peer.Addr.String() + "/24", "dev", b},
		{"-n", ns.Name, "link", "set", a, "up"},
		{"-n", peer.Name, "link", "set", b, "up"},
	}
	for _, s := range steps {
		if out, err := runIP(s...); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
}

// Command is argv run inside the namespace (through ip netns exec, which also gives it its
// own view of /sys). The process keeps the caller's user, files and environment.
func (ns *Netns) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name}, argv...)...)
}

// Run runs argv inside the namespace and returns its combined output.
func (ns *Netns) Run(ctx context.Context, argv ...string) ([]byte, error) {
	return ns.Command(ctx, argv...).CombinedOutput()
}

// Do calls fn on an OS thread that has entered the namespace, so sockets fn opens (a dial, a
// listener) live there. Goroutines fn starts run elsewhere; a socket keeps its namespace
// whichever goroutine uses it later. The thread is never returned to the runtime, so no other
// goroutine ever runs in the namespace by accident.
func (ns *Netns) Do(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		f, err := os.Open("/run/netns/" + ns.Name)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering %s: %w", ns.Name, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// needNetns skips or fails t unless this process may make namespaces.
func needNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, netnsMissing+": not running as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, netnsMissing+": no ip command")
	}
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// runIP runs the ip command with a deadline: a hung netlink call must not hang the test run.
func runIP(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}
