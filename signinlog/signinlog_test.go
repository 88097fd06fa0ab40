package signinlog

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/risk"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func vmPolicy(state conditional.State) []conditional.Policy {
	return []conditional.Policy{{ID: "11111111-0000-4000-8000-000000000001", DisplayName: "VM sign-in requires phishing-resistant MFA",
		State: state, Conditions: conditional.Conditions{
			Users:        conditional.Users{IncludeUsers: conditional.Strings{conditional.All}},
			Applications: conditional.Applications{IncludeApplications: conditional.Strings{directory.LinuxVMSignInAppID}}},
		GrantControls: &conditional.GrantControls{Operator: conditional.OperatorOR,
			AuthenticationStrength: &conditional.StrengthRef{ID: conditional.PhishingResistID}}}}
}

func input(methods ...string) Input {
	return Input{ID: "e1", Time: t0, CorrelationID: "c0ffee00-0000-4000-8000-000000000001", UserID: "a11ce000-0000-4000-8000-000000000001",
		UserPrincipalName: "alice@contoso.test", AppID: directory.LinuxVMSignInAppID, AppDisplayName: "Azure Linux VM Sign-In",
		Address: netip.MustParseAddr("::ffff:198.51.100.7"), Flow: FlowSSHCertificate, Methods: methods,
		Risk: risk.Low, RiskReasons: []risk.Reason{{Signal: risk.SignalUnfamiliar, Level: risk.Low, Detail: "new network"}},
		SSHCertificateKey: "alice-1", MachineResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"}
}

func decide(state conditional.State, methods ...string) conditional.Result {
	s := conditional.SignIn{UserID: "a11ce000-0000-4000-8000-000000000001", AppID: directory.LinuxVMSignInAppID,
		ClientAppType: conditional.ClientMobileAndDesktop, Methods: methods, AuthTime: t0, Now: t0}
	return conditional.Evaluate(vmPolicy(state), s, conditional.DirectoryFacts{RegisteredMethods: []string{"fido2"}}, nil, nil)
}

func TestNew(t *testing.T) {
	cases := []struct {
		name     string
		state    conditional.State
		methods  []string
		code     int
		caStatus string
		result   string
	}{
		{"fail/totp-against-phishing-resistant", conditional.StateEnabled, []string{"password", "softwareOath"}, conditional.CodeMFARequired, "failure", "failure"},
		{"fail/password-only", conditional.StateEnabled, []string{"password"}, conditional.CodeMFARequired, "failure", "failure"},
		{"ok/report-only-would-fail", conditional.StateReportOnly, []string{"password", "softwareOath"}, 0, "notApplied", "reportOnlyFailure"},
		{"ok/passkey", conditional.StateEnabled, []string{"fido2"}, 0, "success", "success"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := New(input(c.methods...), decide(c.state, c.methods...))
			if e.Status.ErrorCode != c.code || e.ConditionalAccessStatus != c.caStatus || e.AppliedPolicies[0].Result != c.result {
				t.Fatalf("status %+v ca %q policy %+v", e.Status, e.ConditionalAccessStatus, e.AppliedPolicies[0])
			}
			if c.code != 0 && (e.Status.FailureReason != conditional.MessageMethodNotAllowed ||
				!strings.Contains(e.Status.AdditionalDetails, "VM sign-in requires phishing-resistant MFA")) {
				t.Fatalf("status %+v does not name the policy with the article's message", e.Status)
			}
			if e.IPAddress != "198.51.100.7" || e.Latch.SSHCertificateKey != "alice-1" || e.RiskLevelDuringSignIn != "low" ||
				len(e.Latch.RiskReasons) != 1 || e.RiskEventTypes[0] != risk.SignalUnfamiliar {
				t.Fatalf("entry %+v", e)
			}
			b, _ := json.Marshal(e)
			for _, field := range []string{`"appliedConditionalAccessPolicies":[{"id":"11111111`, `"enforcedGrantControls":["authenticationStrength"]`,
				`"correlationId":"c0ffee00`, `"authenticationDetails":[{"authenticationMethod":`, `"clientAppUsed"`, `"deviceDetail"`} {
				if !strings.Contains(string(b), field) {
					t.Errorf("JSON lacks %s: %s", field, b)
				}
			}
		})
	}
}

func TestNewStrengthsAndAuthError(t *testing.T) {
	e := New(input("fido2"), decide(conditional.StateEnabled, "fido2"))
	if strings.Join(e.Latch.StrengthsMet, ",") != conditional.MultifactorID+","+conditional.PasswordlessID+","+conditional.PhishingResistID {
		t.Errorf("a passkey meets all three built-ins, got %v", e.Latch.StrengthsMet)
	}
	in := input()
	in.FailedMethods = []string{"password"}
	in.AuthError = &Status{ErrorCode: 50126, FailureReason: "Invalid username or password."}
	e = New(in, conditional.Result{})
	if e.Status.ErrorCode != 50126 || e.ConditionalAccessStatus != "notApplied" || e.AuthenticationDetails[0].Succeeded ||
		e.AuthenticationDetails[0].AuthenticationMethod != "Password" || len(e.Latch.StrengthsMet) != 0 {
		t.Errorf("entry %+v", e)
	}
}

func TestParseFilter(t *testing.T) {
	bad := map[string]string{
		"fail/unknown-field":    "ipAddress eq '1.2.3.4'",
		"fail/or":               "appId eq 'a' or appId eq 'b'",
		"fail/unquoted-string":  "userId eq alice",
		"fail/open-quote":       "userId eq 'alice",
		"fail/ne-on-string":     "userId ne 'alice'",
		"fail/bad-time":         "createdDateTime ge yesterday",
		"fail/twice":            "appId eq 'a' and appId eq 'b'",
		"fail/dangling-and":     "appId eq 'a' and",
		"fail/status-word":      "status/errorCode eq failure",
		"fail/two-lower-bounds": "createdDateTime ge 2026-01-01T00:00:00Z and createdDateTime gt 2026-01-02T00:00:00Z",
		"fail/too-long":         "userId eq '" + strings.Repeat("x", MaxFilterLength) + "'",
	}
	for name, expr := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseFilter(expr); !errs.Is(err, errs.Invalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	f, err := ParseFilter("userPrincipalName eq 'o''brien@contoso.test' and appId eq 'x y' and createdDateTime ge 2026-03-01T00:00:00Z and createdDateTime lt 2026-03-02T00:00:00Z and status/errorCode ne 0")
	if err != nil {
		t.Fatal(err)
	}
	want := Filter{UserPrincipalName: "o'brien@contoso.test", AppID: "x y", From: t0.Add(-12 * time.Hour), To: t0.Add(12 * time.Hour), Status: StatusFailure}
	if f != want {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
}

func TestFilterMatch(t *testing.T) {
	e := Entry{UserID: "u1", UserPrincipalName: "Alice@Contoso.test", AppID: "app", CreatedDateTime: t0, Status: Status{ErrorCode: 53003}}
	cases := map[string]bool{
		"fail/other-user":    false,
		"fail/success-only":  false,
		"fail/before-range":  false,
		"fail/end-exclusive": false,
		"fail/other-error":   false,
		"ok/everything":      true,
		"ok/upn-any-case":    true,
		"ok/failure":         true,
		"ok/that-error":      true,
		"ok/inclusive-le":    true,
	}
	exprs := map[string]string{
		"fail/other-user":    "userId eq 'u2'",
		"fail/success-only":  "status/errorCode eq 0",
		"fail/before-range":  "createdDateTime gt 2026-03-01T12:00:00Z",
		"fail/end-exclusive": "createdDateTime lt 2026-03-01T12:00:00Z",
		"fail/other-error":   "status/errorCode eq 50076",
		"ok/everything":      "",
		"ok/upn-any-case":    "userPrincipalName eq 'alice@contoso.TEST'",
		"ok/failure":         "status/errorCode ne 0 and appId eq 'app'",
		"ok/that-error":      "status/errorCode eq 53003",
		"ok/inclusive-le":    "createdDateTime le 2026-03-01T12:00:00Z and createdDateTime ge 2026-03-01T12:00:00Z",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFilter(exprs[name])
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(e); got != want {
				t.Fatalf("Match = %v with %+v", got, f)
			}
		})
	}
}

// FuzzParseFilter: no panic, and an accepted filter is deterministic.
func FuzzParseFilter(f *testing.F) {
	f.Add("userId eq 'u' and createdDateTime ge 2026-03-01T00:00:00Z and status/errorCode ne 0")
	f.Add("userPrincipalName eq 'o''brien'")
	f.Fuzz(func(t *testing.T, expr string) {
		a, errA := ParseFilter(expr)
		b, errB := ParseFilter(expr)
		if (errA == nil) != (errB == nil) || a != b {
			t.Fatal("not deterministic")
		}
		a.Match(Entry{})
	})
}
