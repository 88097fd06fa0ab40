package agent

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/token"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	aliceOID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	bobOID   = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
)

// decisionCase is one login against one cached Login.
type decisionCase struct {
	name      string
	cache     func(c *loginCache) *loginCache // nil: the default cache
	age       time.Duration                   // since the cache was confirmed
	user      string                          // the account asked for; "" for alice's
	cert      func(f *certFixture) *ssh.Certificate
	wantAllow bool
	wantAdmin bool
	wantStale bool
	wantIn    string // in the event's reason
	// unverified: refused before the certificate checked out, so the event names no user.
	unverified bool
}

func TestDecisions(t *testing.T) {
	f := newCertFixture(t)
	alice := loginUser(aliceOID, "Alice@Contoso.test", false)
	bob := loginUser(bobOID, "bob@contoso.test", true)
	aliceCert := func(f *certFixture) *ssh.Certificate { return f.issue(t, alice, testNow, nil) }
	with := func(change func(u *machineapi.LoginUser)) func(*loginCache) *loginCache {
		return func(c *loginCache) *loginCache { change(&c.Login.Users[0]); return c }
	}
	cases := []decisionCase{
		{name: "fail/no-cache", cache: func(*loginCache) *loginCache { return nil }, cert: aliceCert, wantIn: "no login rules", unverified: true},
		{name: "fail/expired-cache", age: 16 * time.Minute, cert: aliceCert, wantIn: "control plane unreachable since 2026-03-01T11:44:00Z and the cached rules expired"},
		{name: "fail/user-not-in-login", cache: func(c *loginCache) *loginCache { c.Login.Users = c.Login.Users[1:]; return c },
			cert: aliceCert, wantIn: "Your account is configured to prevent you from using this device. (Alice@Contoso.test has no Virtual Machine User Login or Administrator Login role on vm1)"},
		{name: "fail/objectid-mismatch", cert: func(f *certFixture) *ssh.Certificate {
			return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.UserID = bobOID })
		}, wantIn: "prevent you from using this device"},
		{name: "fail/other-users-account", user: bob.LocalName, cert: func(f *certFixture) *ssh.Certificate {
			return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.Principals = []string{bob.LocalName} })
		}, wantIn: "prevent you from using this device"},
		{name: "fail/blocked", cache: with(func(u *machineapi.LoginUser) { u.Block = "Block Linux logins" }), cert: aliceCert,
			wantIn: `blocked by Conditional Access policy "Block Linux logins"`},
		{name: "fail/requirements-unmet", cache: with(func(u *machineapi.LoginUser) { u.Requirements = [][]string{{"fido2"}, {"password", "totp"}} }),
			cert: func(f *certFixture) *ssh.Certificate {
				return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.Methods = []string{"password"} })
			}, wantIn: "The sign-in method you're trying to use isn't allowed. Try a different sign-in method or contact your system administrator. (Conditional Access requires fido2 or password+totp"},
		{name: "fail/requirements-no-methods", cache: with(func(u *machineapi.LoginUser) { u.Requirements = [][]string{{"fido2"}} }),
			cert: aliceCert, wantIn: "sign-in method"},
		{name: "fail/untrusted-ca", cert: func(*certFixture) *ssh.Certificate { return newCertFixture(t).issue(t, alice, testNow, nil) },
			wantIn: "untrusted CA", unverified: true},
		{name: "fail/other-vm", cert: func(f *certFixture) *ssh.Certificate {
			return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.MachineResourceID = testVM + "x" })
		}, wantIn: "another machine", unverified: true},
		{name: "fail/account-made-for-someone-else", cache: func(c *loginCache) *loginCache {
			c.Login.Users[0].ObjectID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f" // alice's name, now another person
			return c
		}, cert: func(f *certFixture) *ssh.Certificate {
			return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.UserID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f" })
		}, wantIn: "was made for another directory user"},
		{name: "ok/user", cert: aliceCert, wantAllow: true, wantIn: "User Login role"},
		{name: "ok/admin", user: bob.LocalName, cert: func(f *certFixture) *ssh.Certificate { return f.issue(t, bob, testNow, nil) },
			wantAllow: true, wantAdmin: true, wantIn: "Administrator Login role"},
		{name: "ok/requirements-met", cache: with(func(u *machineapi.LoginUser) { u.Requirements = [][]string{{"fido2"}, {"password", "totp"}} }),
			cert: func(f *certFixture) *ssh.Certificate {
				return f.issue(t, alice, testNow, func(r *token.SSHCertRequest) { r.Methods = []string{"totp", "password"} })
			}, wantAllow: true},
		{name: "ok/stale-within-ttl", age: 3 * time.Minute, cert: aliceCert, wantAllow: true, wantStale: true,
			wantIn: "decided from cached rules"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runDecision(t, f, c, alice, bob) })
	}
}

func runDecision(t *testing.T, f *certFixture, c decisionCase, alice, bob machineapi.LoginUser) {
	clock := &fakeClock{t: testNow}
	lg := newTestLogin(t, clock)
	cache := &loginCache{Login: machineapi.Login{CAKeys: []string{f.ca.AuthorizedKeyLine()}, TTLSeconds: 900,
		Users: []machineapi.LoginUser{alice, bob}}, ConfirmedAt: testNow.Add(-c.age), ResourceID: testVM, TenantID: testTenant}
	if c.cache != nil {
		cache = c.cache(cache)
	}
	lg.cache = cache
	user := c.user
	if user == "" {
		user = alice.LocalName
	}
	cert := c.cert(f)
	out := lg.principals(context.Background(), request(user, cert))
	if got := out == user+"\n"; got != c.wantAllow || (!c.wantAllow && out != "") {
		t.Fatalf("principals %q, want allowed=%v", out, c.wantAllow)
	}
	evs, _, err := lg.audit.pending(10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("spooled events %v, %v; want one", evs, err)
	}
	ev := evs[0]
	if ev.Allowed != c.wantAllow || ev.Admin != c.wantAdmin || ev.Stale != c.wantStale || !strings.Contains(ev.Reason, c.wantIn) {
		t.Fatalf("event %+v; want allowed=%v admin=%v stale=%v reason containing %q", ev, c.wantAllow, c.wantAdmin, c.wantStale, c.wantIn)
	}
	if ev.User != user || ev.ID == "" || c.unverified != (ev.CorrelationID == "") {
		t.Fatalf("event identity %+v", ev)
	}
	if !c.unverified && (ev.Serial != cert.Serial || ev.KeyID != cert.KeyId || ev.CorrelationID != testCorr || ev.ObjectID == "") {
		t.Fatalf("event certificate fields %+v", ev)
	}
}

// TestDecisionSocket asks through the socket and the principals command's client, as sshd's
// command user would, and checks that a peer outside the allowed uids gets nothing.
func TestDecisionSocket(t *testing.T) {
	f := newCertFixture(t)
	alice := loginUser(aliceOID, "alice@contoso.test", false)
	for _, c := range []struct {
		name  string
		peers []int
		want  string
	}{
		{"fail/peer-not-allowed", []int{os.Getuid() + 4242}, ""},
		{"ok/allowed-peer", []int{os.Getuid()}, alice.LocalName + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Now()}
			lg := newTestLogin(t, clock)
			lg.peers = c.peers
			lg.cache = &loginCache{Login: machineapi.Login{CAKeys: []string{f.ca.AuthorizedKeyLine()}, TTLSeconds: 900,
				Users: []machineapi.LoginUser{alice}}, ConfirmedAt: clock.t, ResourceID: testVM, TenantID: testTenant}
			ln, err := listenDecisions(lg.o.SocketPath)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go lg.serveDecisions(ctx, ln)
			r := request(alice.LocalName, f.issue(t, alice, clock.t, nil))
			var out strings.Builder
			err = Principals(ctx, lg.o.SocketPath, []string{r.User, r.KeyType, r.Cert}, &out)
			if out.String() != c.want || (err == nil) != (c.want != "") {
				t.Fatalf("Principals wrote %q, %v; want %q", out.String(), err, c.want)
			}
		})
	}
}

func TestPrincipalsFailsClosed(t *testing.T) {
	dir := t.TempDir()
	t.Run("fail/no-agent", func(t *testing.T) {
		var out strings.Builder
		err := Principals(context.Background(), dir+"/none.sock", []string{"a@b.test", "t", "c"}, &out)
		if err == nil || out.Len() != 0 {
			t.Fatalf("Principals without an agent wrote %q, %v", out.String(), err)
		}
	})
	t.Run("fail/wrong-argument-count", func(t *testing.T) {
		var out strings.Builder
		if err := Principals(context.Background(), dir+"/none.sock", []string{"a@b.test"}, &out); err == nil || out.Len() != 0 {
			t.Fatalf("Principals with one argument wrote %q, %v", out.String(), err)
		}
	})
	t.Run("fail/agent-says-nothing", func(t *testing.T) {
		ln, err := net.Listen("unix", dir+"/mute.sock")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close() // the peer check refused: no answer
			}
		}()
		var out strings.Builder
		if err := Principals(context.Background(), dir+"/mute.sock", []string{"a@b.test", "t", "c"}, &out); err == nil || out.Len() != 0 {
			t.Fatalf("Principals with a mute agent wrote %q, %v", out.String(), err)
		}
	})
}
