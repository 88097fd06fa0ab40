package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
)

// needRoot skips t unless it runs as root with the account tools, or fails it under CI.
func needRoot(t testing.TB) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "not running as root"
	}
	for _, tool := range []string{"useradd", "groupadd", "usermod", "gpasswd", "visudo", "getent"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = tool + " is not installed"
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("local account tests need root and the shadow tools: " + missing)
	}
	t.Skip("local account tests need root and the shadow tools: " + missing)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomOID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// logBuffer collects what the code logs, for assertions on warnings.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// accountsFixture is an accounts manager with its own admin group and sudoers file, limited
// to the accounts this test makes, which it removes when the test ends.
type accountsFixture struct {
	a      *accounts
	suffix string
	logs   *logBuffer
}

func newAccountsFixture(t *testing.T) *accountsFixture {
	t.Helper()
	needRoot(t)
	suffix := randomHex(3)
	logs := &logBuffer{}
	f := &accountsFixture{suffix: suffix, logs: logs}
	f.a = &accounts{group: "latchadm" + suffix, sudoers: "/etc/sudoers.d/latch-test-" + suffix,
		log: slog.New(slog.NewTextHandler(logs, nil)), run: runTool, record: filepath.Join(t.TempDir(), managedAccountsFile)}
	t.Cleanup(func() {
		os.Remove(f.a.sudoers)
		runTool(context.Background(), "groupdel", f.a.group)
	})
	return f
}

// user is a directory user of this test.
func (f *accountsFixture) user(t *testing.T, name string, admin bool) machineapi.LoginUser {
	t.Helper()
	u := loginUser(randomOID(), name+f.suffix+"@contoso.test", admin)
	u.DisplayName = "Test " + name
	t.Cleanup(func() { removeAccount(u.LocalName) })
	return u
}

func removeAccount(name string) {
	ctx := context.Background()
	runTool(ctx, "userdel", "-r", "-f", name)
	runTool(ctx, "groupdel", name)
}

// localAccount makes an ordinary local account (not in the directory range).
func (f *accountsFixture) localAccount(t *testing.T, name string, uid int) string {
	t.Helper()
	name += f.suffix
	argv := []string{"useradd", "-M", "-s", "/bin/sh"}
	if uid > 0 {
		argv = append(argv, "-u", strconv.Itoa(uid), "-o")
	}
	mustRun(t, append(argv, name)...)
	t.Cleanup(func() { removeAccount(name) })
	return name
}

func mustRun(t testing.TB, argv ...string) {
	t.Helper()
	if _, err := runTool(context.Background(), argv...); err != nil {
		t.Fatal(err)
	}
}

func (f *accountsFixture) passwd(t *testing.T, name string) passwdLine {
	t.Helper()
	pw, ok, err := f.a.passwdEntry(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("account %s: %v (exists %v)", name, err, ok)
	}
	return pw
}

func (f *accountsFixture) members(t *testing.T) []string {
	t.Helper()
	g, ok, err := f.a.groupEntry(context.Background(), f.a.group)
	if err != nil || !ok {
		t.Fatalf("group %s: %v (exists %v)", f.a.group, err, ok)
	}
	return g.Members
}

func (f *accountsFixture) locked(t *testing.T, name string) bool {
	t.Helper()
	l, err := f.a.isLocked(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAccounts(t *testing.T) {
	f := newAccountsFixture(t)
	ctx := context.Background()
	alice, bob, carol := f.user(t, "alice", false), f.user(t, "bob", true), f.user(t, "carol", false)
	// Someone local holds carol's fleet UID, so she takes the next candidate.
	squatter := f.localAccount(t, "squat", openssh.UID(carol.ObjectID))
	breakGlass := f.localAccount(t, "local", 0)
	// A directory-range account this agent never managed (another agent's, or made by hand).
	stranger := f.localAccount(t, "stranger", openssh.UID(randomOID()))
	mustRun(t, "groupadd", "--system", f.a.group)
	mustRun(t, "gpasswd", "-a", breakGlass, f.a.group)
	all := []machineapi.LoginUser{alice, bob, carol}
	if err := f.a.reconcile(ctx, all); err != nil {
		t.Fatal(err)
	}
	t.Run("ok/created", func(t *testing.T) { f.checkCreated(t, alice, openssh.UID(alice.ObjectID)) })
	t.Run("ok/uid-collision-takes-candidate-1", func(t *testing.T) {
		f.checkCreated(t, carol, openssh.UIDCandidate(carol.ObjectID, 1))
		if !strings.Contains(f.logs.String(), "differs from the one the fleet uses") {
			t.Fatal("no warning about carol's UID")
		}
		if pw := f.passwd(t, squatter); pw.UID != openssh.UID(carol.ObjectID) {
			t.Fatalf("the squatter's UID changed: %d", pw.UID)
		}
	})
	t.Run("ok/admin-group-and-sudoers", func(t *testing.T) { f.checkAdmins(t, bob.LocalName, breakGlass) })
	t.Run("ok/reuse-unlocks", func(t *testing.T) {
		mustRun(t, "usermod", "-L", "-e", "1", alice.LocalName)
		if err := f.a.reconcile(ctx, all); err != nil {
			t.Fatal(err)
		}
		f.checkCreated(t, alice, openssh.UID(alice.ObjectID))
		if f.locked(t, alice.LocalName) {
			t.Fatal("alice still locked after she came back")
		}
	})
	t.Run("ok/drift-undoes-manual-admin", func(t *testing.T) {
		mustRun(t, "gpasswd", "-a", alice.LocalName, f.a.group)
		if err := f.a.syncAdmins(ctx, all); err != nil {
			t.Fatal(err)
		}
		f.checkAdmins(t, bob.LocalName, breakGlass)
		want := alice.LocalName + " was added to " + f.a.group + " by hand; removed: administrator rights come from the Virtual Machine Administrator Login role"
		if !strings.Contains(f.logs.String(), want) {
			t.Fatalf("no warning %q in\n%s", want, f.logs.String())
		}
	})
	t.Run("ok/removed-users-locked", func(t *testing.T) {
		notAdmin := bob
		notAdmin.Admin = false
		if err := f.a.reconcile(ctx, []machineapi.LoginUser{notAdmin}); err != nil {
			t.Fatal(err)
		}
		if !f.locked(t, alice.LocalName) || !f.locked(t, carol.LocalName) || f.locked(t, bob.LocalName) {
			t.Fatalf("locked: alice %v carol %v bob %v", f.locked(t, alice.LocalName), f.locked(t, carol.LocalName), f.locked(t, bob.LocalName))
		}
		f.checkAdmins(t, "", breakGlass)
		if _, err := os.Stat("/home/" + alice.LocalName); err != nil {
			t.Fatalf("alice's home went: %v", err)
		}
	})
	t.Run("fail/name-reassigned-to-another-user", func(t *testing.T) {
		newcomer := alice
		newcomer.ObjectID = randomOID() // alice's UPN now names someone else
		if err := f.a.reconcile(ctx, []machineapi.LoginUser{newcomer, bob}); err != nil {
			t.Fatal(err)
		}
		if !f.locked(t, alice.LocalName) || f.passwd(t, alice.LocalName).UID != openssh.UID(alice.ObjectID) {
			t.Fatal("alice's old account was handed to the newcomer")
		}
		if !strings.Contains(f.logs.String(), "belongs to another directory user") {
			t.Fatal("no warning about the reassigned name")
		}
	})
	t.Run("ok/remove-all", func(t *testing.T) {
		if err := f.a.reconcile(ctx, []machineapi.LoginUser{bob}); err != nil {
			t.Fatal(err)
		}
		if err := f.a.removeAll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f.a.sudoers); !os.IsNotExist(err) {
			t.Fatalf("sudoers drop-in still there: %v", err)
		}
		if got := f.members(t); !slices.Equal(got, []string{breakGlass}) {
			t.Fatalf("admin group after removal: %v", got)
		}
		if !f.locked(t, bob.LocalName) || f.locked(t, breakGlass) || f.locked(t, stranger) {
			t.Fatalf("locked: bob %v, break-glass %v, unmanaged %v", f.locked(t, bob.LocalName), f.locked(t, breakGlass), f.locked(t, stranger))
		}
	})
	t.Run("ok/record-survives-restart", func(t *testing.T) {
		mustRun(t, "usermod", "-U", "-e", "", bob.LocalName)
		restarted := &accounts{group: f.a.group, sudoers: f.a.sudoers, log: f.a.log, run: runTool, record: f.a.record}
		if err := restarted.removeAll(ctx); err != nil {
			t.Fatal(err)
		}
		if !f.locked(t, bob.LocalName) || f.locked(t, stranger) {
			t.Fatalf("after a restart: bob locked %v, unmanaged locked %v", f.locked(t, bob.LocalName), f.locked(t, stranger))
		}
	})
}

// checkCreated checks u's account: name, UID, private group, home, shell, comment.
func (f *accountsFixture) checkCreated(t *testing.T, u machineapi.LoginUser, wantUID int) {
	t.Helper()
	pw := f.passwd(t, u.LocalName)
	line, _, _ := f.a.getent(context.Background(), "passwd", u.LocalName)
	want := fmt.Sprintf("%s:x:%d:%d:%s:/home/%s:/bin/bash", u.LocalName, wantUID, wantUID, u.DisplayName, u.LocalName)
	if pw.UID != wantUID || line != want {
		t.Fatalf("passwd %q, want %q", line, want)
	}
	if g, ok, _ := f.a.groupEntry(context.Background(), u.LocalName); !ok || g.GID != wantUID {
		t.Fatalf("private group %+v (exists %v), want GID %d", g, ok, wantUID)
	}
	if fi, err := os.Stat(pw.Home); err != nil || !fi.IsDir() {
		t.Fatalf("home %s: %v", pw.Home, err)
	}
}

// checkAdmins checks the group's members are exactly the admin (when not "") and the
// break-glass account, and the sudoers rule is in place.
func (f *accountsFixture) checkAdmins(t *testing.T, admin, breakGlass string) {
	t.Helper()
	want := []string{breakGlass}
	if admin != "" {
		want = append(want, admin)
	}
	got := f.members(t)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("admin group members %v, want %v", got, want)
	}
	b, err := os.ReadFile(f.a.sudoers)
	fi, _ := os.Stat(f.a.sudoers)
	if err != nil || !strings.Contains(string(b), "%"+f.a.group+" ALL=(ALL:ALL) NOPASSWD: ALL\n") || fi.Mode().Perm() != 0o440 {
		t.Fatalf("sudoers drop-in %q (%v)", b, err)
	}
}
