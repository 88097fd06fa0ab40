package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
)

const windowsVMSignIn = "372140e0-b3b7-4226-8ef9-d57986796201"

// vmPolicyJSON is the reference's example policy: VM sign-in requires phishing-resistant MFA.
const vmPolicyJSON = `{"displayName":"VM sign-in requires phishing-resistant MFA","state":"enabledForReportingButNotEnforced",
 "conditions":{"applications":{"includeApplications":["372140e0-b3b7-4226-8ef9-d57986796201"],"excludeApplications":[],"includeUserActions":[]},
   "users":{"includeUsers":["All"],"excludeUsers":[],"includeGroups":[],"excludeGroups":[],"includeRoles":[],"excludeRoles":[]},
   "signInRiskLevels":[],"clientAppTypes":["all"],
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]},"platforms":null},
 "grantControls":{"operator":"OR","builtInControls":[],"customAuthenticationFactors":[],"termsOfUse":[],
   "authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}},"sessionControls":null}`

// refused runs a command that must fail with exit status want and say something on stderr.
func (l *latch) refused(want int, args ...string) string {
	l.t.Helper()
	code, _, errs := l.run(context.Background(), args...)
	if code != want || strings.TrimSpace(errs) == "" {
		l.t.Fatalf("latch %s: exit %d (want %d), stderr %q", strings.Join(args, " "), code, want, errs)
	}
	return errs
}

func TestConditionalAccessCLI(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	l := ownerLogin(t, srv)
	l.ok(nil, "ad", "user", "create", "--display-name", "Alice", "--user-principal-name", "alice@contoso.test", "--password", "alice's long passphrase")
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(vmPolicyJSON), 0o600); err != nil {
		t.Fatal(err)
	}

	// Refusals first: unknown field, bad state, missing body, unknown policy.
	if msg := l.refused(1, "conditional-access", "policy", "create", "--body", `{"displayName":"x","state":"enabled","colour":"red"}`); !strings.Contains(msg, "colour") {
		t.Errorf("unknown field refusal does not name it: %s", msg)
	}
	l.refused(2, "conditional-access", "policy", "create", "--body", "@"+file, "--state", "sometimes")
	l.refused(2, "conditional-access", "policy", "create", "--name", "no body")
	l.refused(3, "conditional-access", "policy", "show", "--id", "No such policy")
	l.refused(3, "conditional-access", "what-if", "--user", "nobody@contoso.test", "--app", windowsVMSignIn)

	var p struct{ ID, DisplayName, State string }
	l.ok(&p, "conditional-access", "policy", "create", "--body", "@"+file)
	if p.ID == "" || p.State != "enabledForReportingButNotEnforced" {
		t.Fatalf("created %+v", p)
	}
	var list []struct{ ID string }
	l.ok(&list, "conditional-access", "policy", "list")
	if len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("list %+v", list)
	}
	var shown struct{ ID, State string }
	l.ok(&shown, "conditional-access", "policy", "update", "--id", p.DisplayName, "--state", "enabled")
	if shown.ID != p.ID || shown.State != "enabled" {
		t.Fatalf("after update %+v", shown)
	}
	whatIf(t, l, "password", "deny", "failure")
	whatIf(t, l, "fido2", "allow", "success")
	signInList(t, l, srv)

	l.ok(nil, "conditional-access", "policy", "delete", "--id", p.ID)
	l.refused(3, "conditional-access", "policy", "show", "--id", p.ID)
}

// whatIf asks about alice signing in to the Windows VM app with method.
func whatIf(t *testing.T, l *latch, method, outcome, result string) {
	t.Helper()
	var ans struct {
		Outcome  string
		Policies []struct{ Result, Reason string }
	}
	l.ok(&ans, "conditional-access", "what-if", "--user", "alice@contoso.test", "--app", windowsVMSignIn, "--ip", "198.51.100.4", "--methods", method)
	if ans.Outcome != outcome || len(ans.Policies) != 1 || ans.Policies[0].Result != result || ans.Policies[0].Reason == "" {
		t.Fatalf("what-if with %s: %+v", method, ans)
	}
}

// signInList checks the log's filters through the CLI on entries written to the store.
func signInList(t *testing.T, l *latch, srv *testenv.Server) {
	t.Helper()
	t0 := time.Now().UTC().Truncate(time.Second)
	for _, e := range []signinlog.Entry{
		{ID: "ok-1", CreatedDateTime: t0.Add(-time.Hour), UserPrincipalName: "alice@contoso.test", AppID: windowsVMSignIn},
		{ID: "refused-1", CreatedDateTime: t0, UserPrincipalName: "alice@contoso.test", AppID: windowsVMSignIn, Status: signinlog.Status{ErrorCode: 53003}},
		{ID: "other-1", CreatedDateTime: t0, UserPrincipalName: "bob@contoso.test", AppID: "someone-else"},
	} {
		if err := srv.Store.AppendSignIn(t.Context(), srv.TenantID, e); err != nil {
			t.Fatal(err)
		}
	}
	l.refused(2, "signin", "list", "--status", "maybe")
	l.refused(2, "signin", "list", "--start-time", "yesterday")
	check := func(want string, args ...string) {
		t.Helper()
		var got []struct{ ID string }
		l.ok(&got, append([]string{"signin", "list"}, args...)...)
		ids := []string{}
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if strings.Join(ids, ",") != want {
			t.Fatalf("signin list %v: %v, want %s", args, ids, want)
		}
	}
	check("refused-1", "--user", "alice@contoso.test", "--status", "failure")
	check("refused-1,ok-1", "--app", windowsVMSignIn)
	check("refused-1", "--app", windowsVMSignIn, "--start-time", t0.Add(-time.Minute).Format(time.RFC3339))
	check("other-1", "--user", "bob@contoso.test", "--status", "success")
}
