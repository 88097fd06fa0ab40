package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

// The amr values a sign-in leaves in its refresh token.
var (
	amrPasswordTOTP = []string{"pwd", "otp", "mfa"}
	amrPasskey      = authn.PasskeyAMR()
)

// caPolicy creates a policy through Graph, as an administrator does, and returns its id.
func (f *sshFixture) caPolicy(t *testing.T, body map[string]any) string {
	t.Helper()
	resp, m := f.do(t, "POST", "/v1.0/identity/conditionalAccess/policies", f.tokenFor(t, f.Admin), body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create policy: %d %v", resp.StatusCode, m)
	}
	return m["id"].(string)
}

// caLocation creates an IP named location for cidr and returns its id.
func (f *sshFixture) caLocation(t *testing.T, cidr string) string {
	t.Helper()
	body := map[string]any{"@odata.type": conditional.TypeIPNamedLocation, "displayName": "Range " + cidr,
		"ipRanges": []any{map[string]any{"@odata.type": conditional.TypeIPv4Range, "cidrAddress": cidr}}}
	resp, m := f.do(t, "POST", "/v1.0/identity/conditionalAccess/namedLocations", f.tokenFor(t, f.Admin), body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create location: %d %v", resp.StatusCode, m)
	}
	return m["id"].(string)
}

// strengthPolicy requires strength for the Linux VM sign-in app, for everyone.
func strengthPolicy(name, state, strength string) map[string]any {
	return map[string]any{"displayName": name, "state": state,
		"conditions": map[string]any{"applications": map[string]any{"includeApplications": []string{directory.LinuxVMSignInAppID}},
			"users": map[string]any{"includeUsers": []string{"All"}}},
		"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{},
			"authenticationStrength": map[string]any{"id": strength}}}
}

// blockPolicy blocks everyone from app ("All" for every app), only from location when given.
func blockPolicy(name, app, location string) map[string]any {
	cond := map[string]any{"applications": map[string]any{"includeApplications": []string{app}},
		"users": map[string]any{"includeUsers": []string{"All"}}}
	if location != "" {
		cond["locations"] = map[string]any{"includeLocations": []string{location}}
	}
	return map[string]any{"displayName": name, "state": "enabled", "conditions": cond,
		"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{"block"}}}
}

// rtWith stores a refresh token of the Azure CLI for u whose sign-in used amr.
func (f *sshFixture) rtWith(t *testing.T, u directory.User, amr []string) string {
	t.Helper()
	raw := uuid.NewString() + uuid.NewString()
	sum := sha256.Sum256([]byte(raw))
	now := time.Now()
	if err := f.Store.CreateRefreshToken(context.Background(), token.RefreshToken{
		Hash: base64.RawURLEncoding.EncodeToString(sum[:]), FamilyID: uuid.NewString(), TenantID: u.TenantID,
		ClientID: directory.AzureCLIAppID, UserID: u.ID, Scope: f.ARMAudience() + ".default offline_access",
		AMR: amr, AuthTime: now, Status: token.RefreshActive, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return raw
}

// armForm is a refresh request for an ARM token.
func (f *sshFixture) armForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {directory.AzureCLIAppID}, "refresh_token": {rt},
		"scope": {f.ARMAudience() + ".default offline_access"}}
}

// withPasskey registers a passkey for u, so a stronger sign-in is within their reach.
func (f *sshFixture) withPasskey(t *testing.T, u directory.User) {
	t.Helper()
	if err := f.Store.CreatePasskey(context.Background(), authn.Passkey{ID: uuid.NewString(), TenantID: u.TenantID,
		UserID: u.ID, DisplayName: "key", CredentialID: []byte(uuid.NewString()), PublicKey: []byte{1},
		AttestationType: "none", Method: authn.MethodFIDO2, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// signInFor returns the one log entry with correlation id cid.
func (f *sshFixture) signInFor(t *testing.T, cid string) signinlog.Entry {
	t.Helper()
	if err := f.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := f.Store.ListSignIns(context.Background(), f.Tenant.ID, signinlog.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var found []signinlog.Entry
	for _, e := range all {
		if e.CorrelationID == cid {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d sign-in log entries with correlation id %q, want 1", len(found), cid)
	}
	return found[0]
}

// policyResult is the result the entry gives the policy named id.
func policyResult(e signinlog.Entry, id string) string {
	for _, p := range e.AppliedPolicies {
		if p.ID == id {
			return p.Result
		}
	}
	return ""
}

// postTraced posts a token request under a fresh client-request-id, which the server takes
// as the request's correlation id, and returns that id with the answer.
func (f *sshFixture) postTraced(t *testing.T, form url.Values) (string, int, map[string]any) {
	t.Helper()
	cid := uuid.NewString()
	req, _ := http.NewRequest("POST", f.URL+"/"+f.Tenant.ID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", cid)
	resp, err := f.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("status %d: not JSON: %v", resp.StatusCode, err)
	}
	return cid, resp.StatusCode, m
}

// caCase is one issuance under Conditional Access.
type caCase struct {
	name   string
	setup  func(t *testing.T, f *sshFixture) (form url.Values, policyID string)
	status int
	errStr string // the error code, "" on success
	code   int    // the AADSTS number the description starts with
	result string // the policy's result in the log
	caStat string // the log's conditionalAccessStatus
}

func TestConditionalAccessAtIssuance(t *testing.T) {
	cases := []caCase{
		{name: "fail/strength-unmet-password-totp", status: 400, errStr: "interaction_required", code: 50076,
			result: "failure", caStat: "failure",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				f.withPasskey(t, f.alice)
				id := f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabled", conditional.PhishingResistID))
				return f.sshForm(f.rtWith(t, f.alice, amrPasswordTOTP), f.vm), id
			}},
		{name: "fail/strength-unmet-nothing-registered", status: 400, errStr: "interaction_required", code: 50079,
			result: "failure", caStat: "failure",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabled", conditional.PhishingResistID))
				return f.sshForm(f.rtWith(t, f.alice, amrPasswordTOTP), f.vm), id
			}},
		{name: "fail/block-named-location", status: 400, errStr: "invalid_grant", code: 53003,
			result: "failure", caStat: "failure",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, blockPolicy("Block loopback", "All", f.caLocation(t, "127.0.0.0/8")))
				return f.sshForm(f.rtWith(t, f.alice, amrPasskey), f.vm), id
			}},
		{name: "fail/block-all-users-app", status: 400, errStr: "invalid_grant", code: 53003,
			result: "failure", caStat: "failure",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, blockPolicy("Block VM sign-in", directory.LinuxVMSignInAppID, ""))
				return f.sshForm(f.rtWith(t, f.alice, amrPasskey), f.vm), id
			}},
		{name: "fail/block-all-users-app-token", status: 400, errStr: "invalid_grant", code: 53003,
			result: "failure", caStat: "failure",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, blockPolicy("Block everything", "All", ""))
				return f.armForm(f.rtWith(t, f.alice, amrPasskey)), id
			}},
		{name: "ok/block-other-location", status: 200, result: "notApplied", caStat: "notApplied",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, blockPolicy("Block documentation range", "All", f.caLocation(t, "192.0.2.0/24")))
				return f.sshForm(f.rtWith(t, f.alice, amrPasswordTOTP), f.vm), id
			}},
		{name: "ok/report-only-logs-reportOnlyFailure-but-issues", status: 200, result: "reportOnlyFailure", caStat: "notApplied",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabledForReportingButNotEnforced", conditional.PhishingResistID))
				return f.sshForm(f.rtWith(t, f.alice, amrPasswordTOTP), f.vm), id
			}},
		{name: "ok/passkey-satisfies-phishing-resistant", status: 200, result: "success", caStat: "success",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabled", conditional.PhishingResistID))
				return f.sshForm(f.rtWith(t, f.alice, amrPasskey), f.vm), id
			}},
		{name: "ok/app-not-targeted", status: 200, result: "notApplied", caStat: "notApplied",
			setup: func(t *testing.T, f *sshFixture) (url.Values, string) {
				id := f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabled", conditional.PhishingResistID))
				return f.armForm(f.rtWith(t, f.alice, amrPasswordTOTP)), id
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSSHFixture(t)
			f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
			form, policyID := tc.setup(t, f)
			cid, status, m := f.postTraced(t, form)
			checkCAAnswer(t, tc, status, m)
			if got, _ := m["correlation_id"].(string); tc.errStr != "" && got != cid {
				t.Errorf("correlation_id %q, want the request's %q", got, cid)
			}
			e := f.signInFor(t, cid)
			if got := policyResult(e, policyID); got != tc.result {
				t.Errorf("policy result %q in the log, want %q (%+v)", got, tc.result, e.AppliedPolicies)
			}
			if e.ConditionalAccessStatus != tc.caStat || e.Status.ErrorCode != tc.code || e.UserID != f.alice.ID {
				t.Errorf("log entry: CA status %q code %d user %q; want %q %d %q", e.ConditionalAccessStatus,
					e.Status.ErrorCode, e.UserID, tc.caStat, tc.code, f.alice.ID)
			}
			if tc.code != 0 && !strings.Contains(e.Status.AdditionalDetails, policyID) {
				t.Errorf("the log's detail %q does not name the policy %s", e.Status.AdditionalDetails, policyID)
			}
		})
	}
}

// checkCAAnswer checks the token endpoint's answer against the case.
func checkCAAnswer(t *testing.T, tc caCase, status int, m map[string]any) {
	t.Helper()
	if status != tc.status || tc.errStr != "" && m["error"] != tc.errStr {
		t.Fatalf("answer %d %v, want %d %s", status, m, tc.status, tc.errStr)
	}
	if tc.errStr == "" {
		return
	}
	desc, _ := m["error_description"].(string)
	want := conditional.MessageMethodNotAllowed
	if tc.code == conditional.CodeBlocked {
		want = conditional.MessageBlocked
	}
	prefix := "AADSTS" + strconv.Itoa(tc.code) + ": " + want
	if !strings.HasPrefix(desc, prefix) {
		t.Errorf("description %q does not start with %q", desc, prefix)
	}
	codes, _ := m["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(tc.code) || m["suberror"] == nil || m["correlation_id"] == "" {
		t.Errorf("error_codes %v suberror %v correlation_id %v", codes, m["suberror"], m["correlation_id"])
	}
	if tc.code == conditional.CodeMFARequired && !strings.Contains(m["claims"].(string), conditional.PhishingResistID) {
		t.Errorf("claims %v do not ask for phishing-resistant MFA", m["claims"])
	}
}

// A policy added after the sign-in refuses the next refresh, and the refused refresh token
// stays usable once the policy is gone, since nothing was rotated.
func TestRefreshReEvaluatesConditionalAccess(t *testing.T) {
	f := newSSHFixture(t)
	rt := f.rtWith(t, f.alice, amrPasswordTOTP)
	status, m := f.post(t, f.armForm(rt))
	if status != 200 {
		t.Fatalf("first refresh: %d %v", status, m)
	}
	next := m["refresh_token"].(string)
	id := f.caPolicy(t, blockPolicy("Block everything", "All", ""))
	status, m = f.post(t, f.armForm(next))
	if status != 400 || m["error"] != "invalid_grant" || !strings.HasPrefix(m["error_description"].(string), "AADSTS53003") {
		t.Fatalf("refresh after the policy: %d %v", status, m)
	}
	e := f.signInFor(t, m["correlation_id"].(string))
	if policyResult(e, id) != "failure" || e.Latch.Flow != "refreshToken" {
		t.Fatalf("log entry %+v", e)
	}
	if resp, _ := f.do(t, "DELETE", "/v1.0/identity/conditionalAccess/policies/"+id, f.tokenFor(t, f.Admin), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete policy: %d", resp.StatusCode)
	}
	if status, m = f.post(t, f.armForm(next)); status != 200 {
		t.Fatalf("the refused refresh token was spent: %d %v", status, m)
	}
}

// An issued certificate carries the sign-in's methods and the request's correlation id, and
// the log entry names the VM, the methods and the strengths they satisfy.
func TestSSHCertSignInLogged(t *testing.T) {
	f := newSSHFixture(t)
	f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
	form := f.sshForm(f.rtWith(t, f.alice, amrPasskey), f.vm)
	status, m := f.post(t, form)
	if status != 200 {
		t.Fatalf("ssh-cert: %d %v", status, m)
	}
	cert := parseCert(t, m["access_token"].(string))
	if cert.Extensions[token.SSHCertExtensionMethods] != authn.MethodFIDO2 {
		t.Errorf("methods extension %q", cert.Extensions[token.SSHCertExtensionMethods])
	}
	kid, err := token.ParseSSHKeyID(cert.KeyId)
	if err != nil {
		t.Fatal(err)
	}
	e := f.signInFor(t, kid.CorrelationID)
	if e.Latch.Flow != signinlog.FlowSSHCertificate || e.ResourceID != f.vm || e.AppID != directory.AzureCLIAppID ||
		e.IPAddress != "127.0.0.1" || e.Latch.SSHCertificateKey != cert.KeyId || e.Status.ErrorCode != 0 {
		t.Errorf("entry %+v", e)
	}
	if !slices.Contains(e.Latch.StrengthsMet, conditional.PhishingResistID) || len(e.AuthenticationDetails) != 1 ||
		e.RiskLevelDuringSignIn == "" {
		t.Errorf("methods, strengths or risk missing: %+v", e)
	}
}

// A refusal before Conditional Access (no login role) is logged too, with the message shown.
func TestSSHCertRoleRefusalLogged(t *testing.T) {
	f := newSSHFixture(t)
	status, m := f.post(t, f.sshForm(f.rtWith(t, f.bob, amrPasskey), f.vm))
	if status != 400 || m["error"] != "access_denied" || !strings.Contains(m["error_description"].(string), "Your account is configured to prevent you from using this device.") {
		t.Fatalf("answer %d %v", status, m)
	}
	e := f.signInFor(t, m["correlation_id"].(string))
	if e.Status.ErrorCode != 50105 || !strings.Contains(e.Status.FailureReason, "prevent you from using this device") {
		t.Fatalf("entry status %+v", e.Status)
	}
}

// A client-credentials token is logged as the application's sign-in.
func TestClientCredentialsSignInLogged(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	cid := uuid.NewString()
	req, _ := http.NewRequest("POST", srv.Authority()+"/oauth2/v2.0/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {srv.Boot.Owner.AppID},
		"client_secret": {srv.Boot.Owner.Secret}, "scope": {srv.ARMScope()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", cid)
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("client credentials: %d", resp.StatusCode)
	}
	if err := srv.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := srv.Store.ListSignIns(context.Background(), srv.TenantID, signinlog.Filter{}, 100)
	if err != nil || len(all) != 1 {
		t.Fatalf("%d entries, %v", len(all), err)
	}
	e := all[0]
	if e.CorrelationID != cid || e.AppID != srv.Boot.Owner.AppID || e.UserID != "" ||
		e.Latch.Flow != signinlog.FlowClientCredentials || e.ConditionalAccessStatus != "notApplied" {
		t.Fatalf("entry %+v", e)
	}
}
