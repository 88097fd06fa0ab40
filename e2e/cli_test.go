package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/testenv"
)

// latch runs one CLI command with its own configuration directory and returns its exit status,
// standard output and standard error.
type latch struct {
	t   *testing.T
	env map[string]string
}

func newLatch(t *testing.T) *latch {
	return &latch{t: t, env: map[string]string{"LATCH_CONFIG_DIR": t.TempDir(), "LATCH_SSH_ALLOW_HOST": "true"}}
}

func (l *latch) run(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(ctx, args, nil, &out, &errb, l.env)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and decodes its JSON output into v (when v is not nil).
func (l *latch) ok(v any, args ...string) string {
	l.t.Helper()
	code, out, errs := l.run(context.Background(), args...)
	if code != 0 {
		l.t.Fatalf("latch %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			l.t.Fatalf("latch %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return out
}

func ownerLogin(t *testing.T, srv *testenv.Server) *latch {
	l := newLatch(t)
	l.ok(nil, "login", "--server", srv.URL, "--ca-file", srv.CAFile, "--service-principal",
		"-u", srv.Boot.Owner.AppID, "-p", srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
	return l
}

func TestOwnerManagesDirectory(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	l := ownerLogin(t, srv)

	var acct struct {
		ID       string `json:"id"`
		TenantID string `json:"tenantId"`
		User     struct{ Name, Type string }
	}
	l.ok(&acct, "account", "show")
	if acct.ID != srv.Boot.SubscriptionID || acct.TenantID != srv.TenantID || acct.User.Type != "servicePrincipal" || acct.User.Name != srv.Boot.Owner.AppID {
		t.Fatalf("account show: %+v", acct)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		Tenant      string `json:"tenant"`
	}
	l.ok(&tok, "account", "get-access-token")
	if tok.AccessToken == "" || tok.Tenant != srv.TenantID {
		t.Fatalf("get-access-token: %+v", tok)
	}

	var user struct {
		ID  string `json:"id"`
		UPN string `json:"userPrincipalName"`
	}
	l.ok(&user, "ad", "user", "create", "--display-name", "Erin", "--user-principal-name", "erin@contoso.test", "--password", "a long enough passphrase")
	var group struct{ ID string }
	l.ok(&group, "ad", "group", "create", "--display-name", "Ops", "--mail-nickname", "ops")
	l.ok(nil, "ad", "group", "member", "add", "--group", "Ops", "--member-id", user.ID)
	names := strings.TrimSpace(l.ok(nil, "ad", "group", "member", "list", "--group", "Ops", "--query", "[].userPrincipalName", "-o", "tsv"))
	if names != "erin@contoso.test" {
		t.Fatalf("member list: %q", names)
	}
	found := strings.TrimSpace(l.ok(nil, "ad", "user", "list", "--filter", "startswith(displayName,'Er')", "--query", "[0].id", "-o", "tsv"))
	if found != user.ID {
		t.Fatalf("user list --filter: %q, want %q", found, user.ID)
	}
	sps := l.ok(nil, "ad", "sp", "list", "--all", "--query", "[].appId", "-o", "tsv")
	for _, app := range []string{"372140e0-b3b7-4226-8ef9-d57986796201", "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0"} {
		if !strings.Contains(sps, app) {
			t.Errorf("the VM sign-in app %s is missing from ad sp list", app)
		}
	}

	// Refusals as az prints them.
	code, _, stderr := l.run(context.Background(), "ad", "user", "show", "--id", "nobody@contoso.test")
	if code != 3 || !strings.Contains(stderr, "ERROR:") {
		t.Errorf("fail/show-missing: exit %d, stderr %q; want 3 and an ERROR line", code, stderr)
	}
	code, _, stderr = l.run(context.Background(), "ad", "user", "create", "--display-name", "X", "--user-principal-name", "x@fabrikam.test", "--password", "a long enough passphrase")
	if code != 1 || !strings.Contains(stderr, "(") {
		t.Errorf("fail/foreign-domain: exit %d, stderr %q; want 1 and (Code) Message", code, stderr)
	}
}

func TestUserSignsIn(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner := ownerLogin(t, srv)
	owner.ok(nil, "ad", "user", "create", "--display-name", "Frank", "--user-principal-name", "frank@contoso.test", "--password", "franks long passphrase")
	grantReader(t, srv, "frank@contoso.test") // as in Azure, a person with no role sees no subscription to sign in to

	t.Run("ok/browser", func(t *testing.T) {
		l := newLatch(t)
		ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
			go func() {
				if err := srv.SignInWithForm(authURL, "frank@contoso.test", "franks long passphrase"); err != nil {
					t.Error(err)
				}
			}()
			return nil
		})
		if code, _, stderr := l.run(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile); code != 0 {
			t.Fatalf("browser login: exit %d: %s", code, stderr)
		}
		if name := strings.TrimSpace(l.ok(nil, "account", "show", "--query", "user.name", "-o", "tsv")); name != "frank@contoso.test" {
			t.Fatalf("account show names %q", name)
		}
		// A person without a directory role cannot create users.
		code, _, stderr := l.run(context.Background(), "ad", "user", "create", "--display-name", "Mallory", "--user-principal-name", "mallory@contoso.test", "--password", "a long enough passphrase")
		if code != 1 || !strings.Contains(stderr, "Authorization_RequestDenied") {
			t.Errorf("fail/no-directory-role: exit %d, %q", code, stderr)
		}
	})

	t.Run("ok/device-code", func(t *testing.T) {
		l := newLatch(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		done := make(chan struct{})
		var code int
		var stderr string
		pr := &lineWatcher{re: regexp.MustCompile(`enter the code ([A-Z0-9]+) to authenticate`), found: make(chan string, 1)}
		go func() {
			defer close(done)
			var out bytes.Buffer
			code = cli.Run(ctx, []string{"login", "--server", srv.URL, "--ca-file", srv.CAFile, "--use-device-code"}, nil, &out, pr, l.env)
			stderr = pr.String()
		}()
		select {
		case userCode := <-pr.found:
			if err := srv.ApproveDevice(userCode, "frank@contoso.test", "franks long passphrase"); err != nil {
				t.Fatal(err)
			}
		case <-done:
			t.Fatalf("login ended before printing a code: %s", stderr)
		}
		<-done
		if code != 0 {
			t.Fatalf("device-code login: exit %d: %s", code, stderr)
		}
		if name := strings.TrimSpace(l.ok(nil, "account", "show", "--query", "user.name", "-o", "tsv")); name != "frank@contoso.test" {
			t.Fatalf("account show names %q", name)
		}
	})

	t.Run("fail/wrong-secret", func(t *testing.T) {
		l := newLatch(t)
		code, _, stderr := l.run(context.Background(), "login", "--server", srv.URL, "--ca-file", srv.CAFile, "--service-principal",
			"-u", srv.Boot.Owner.AppID, "-p", "not the secret", "--tenant", srv.TenantID)
		if code != 1 || !strings.Contains(stderr, "AADSTS7000215") {
			t.Fatalf("exit %d, %q", code, stderr)
		}
	})
	t.Run("fail/untrusted-server", func(t *testing.T) {
		l := newLatch(t)
		code, _, stderr := l.run(context.Background(), "login", "--server", srv.URL, "--service-principal",
			"-u", srv.Boot.Owner.AppID, "-p", srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
		if code == 0 || !strings.Contains(stderr, "--ca-file") {
			t.Fatalf("exit %d, %q: want a refusal that says to pass --ca-file", code, stderr)
		}
	})
}

// lineWatcher collects what is written to it and reports the first match of re. The buffer
// is a named field, not embedded, so that io.WriteString cannot bypass Write.
type lineWatcher struct {
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	sent  bool
}

func (w *lineWatcher) String() string { return w.buf.String() }

func (w *lineWatcher) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if m := w.re.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.found <- m[1]
	}
	return n, err
}

// grantReader gives the user Reader on the default subscription, straight in the store.
func grantReader(t *testing.T, srv *testenv.Server, upn string) {
	t.Helper()
	u, err := srv.Store.GetUserByUPN(context.Background(), srv.TenantID, upn)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Store.CreateRoleAssignment(context.Background(), resource.RoleAssignment{TenantID: srv.TenantID,
		Assignment: access.RoleAssignment{ID: uuid.NewString(), Scope: "/subscriptions/" + srv.Boot.SubscriptionID,
			RoleDefinitionID: access.ReaderRoleID, PrincipalID: u.ID, PrincipalType: access.PrincipalUser}})
	if err != nil {
		t.Fatal(err)
	}
}
