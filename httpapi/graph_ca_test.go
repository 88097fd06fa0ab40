package httpapi_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/signinlog"
)

const (
	caPolicies  = "/v1.0/identity/conditionalAccess/policies"
	caLocations = "/v1.0/identity/conditionalAccess/namedLocations"
	caStrengths = "/v1.0/identity/conditionalAccess/authenticationStrength/policies"
	caEvaluate  = "/v1.0/identity/conditionalAccess/evaluate"
	vmApp       = "372140e0-b3b7-4226-8ef9-d57986796201"
)

// caFixture adds a Conditional Access Administrator to the Graph fixture.
func caFixture(t *testing.T) (*graphFixture, string) {
	f := newGraphFixture(t)
	ca := f.createUser(t, f.Tenant.ID, "ca@contoso.test", directory.ConditionalAccessAdministrator)
	return f, f.tokenFor(t, ca)
}

func vmPolicyBody(state, strength string, extra map[string]any) map[string]any {
	m := map[string]any{"displayName": "VM sign-in requires phishing-resistant MFA", "state": state,
		"conditions": map[string]any{"applications": map[string]any{"includeApplications": []string{vmApp}},
			"users": map[string]any{"includeUsers": []string{"All"}}},
		"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{},
			"authenticationStrength": map[string]any{"id": strength}}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func officeBody() map[string]any {
	return map[string]any{"@odata.type": conditional.TypeIPNamedLocation, "displayName": "Office", "isTrusted": true,
		"ipRanges": []any{map[string]any{"@odata.type": conditional.TypeIPv4Range, "cidrAddress": "192.0.2.0/24"}}}
}

// saveID keeps the id of a created object for later cases.
func saveID(dst *string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		if *dst, _ = m["id"].(string); *dst == "" {
			t.Fatalf("no id in %v", m)
		}
	}
}

func TestGraphConditionalAccessPolicies(t *testing.T) {
	f, caTok := caFixture(t)
	body := vmPolicyBody("enabledForReportingButNotEnforced", conditional.PhishingResistID, nil)
	var pid string
	f.run(t, []graphCase{
		{name: "fail/create-no-token", method: "POST", path: caPolicies, body: body, status: 401, code: codeAuth},
		{name: "fail/create-plain-user", method: "POST", path: caPolicies, tok: f.aliceTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-user-admin", method: "POST", path: caPolicies, tok: f.userAdminTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-reader-app", method: "POST", path: caPolicies, tok: f.readerAppTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-unknown-field", method: "POST", path: caPolicies, tok: caTok, body: vmPolicyBody("enabled", conditional.PhishingResistID, map[string]any{"colour": "red"}), status: 400, code: codeBad},
		{name: "fail/create-bad-json", method: "POST", path: caPolicies, tok: caTok, body: `{"displayName":`, status: 400, code: codeBad},
		{name: "fail/create-bad-state", method: "POST", path: caPolicies, tok: caTok, body: vmPolicyBody("on", conditional.PhishingResistID, nil), status: 400, code: codeBad},
		{name: "fail/create-unknown-strength", method: "POST", path: caPolicies, tok: caTok, body: vmPolicyBody("enabled", uuid.NewString(), nil), status: 400, code: codeBad},
		{name: "ok/create", method: "POST", path: caPolicies, tok: caTok, body: body, status: 201, check: func(t *testing.T, m map[string]any) {
			saveID(&pid)(t, m)
			if m["state"] != "enabledForReportingButNotEnforced" || m["createdDateTime"] == nil {
				t.Errorf("created %v", m)
			}
		}},
	})
	f.run(t, []graphCase{
		{name: "fail/list-plain-user", method: "GET", path: caPolicies, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/list-plain-app", method: "GET", path: caPolicies, tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/get-other-tenant", method: "GET", path: caPolicies + "/" + pid, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/get-unknown", method: "GET", path: caPolicies + "/" + uuid.NewString(), tok: caTok, status: 404, code: codeNotFound},
		{name: "ok/list-reader-app", method: "GET", path: caPolicies, tok: f.readerAppTok, status: 200, check: wantIDs(pid)},
		{name: "ok/list-filter-state", method: "GET", path: caPolicies + "?$filter=" + url.QueryEscape("state eq 'enabled'"), tok: caTok, status: 200, check: wantIDs()},
		{name: "fail/update-plain-user", method: "PATCH", path: caPolicies + "/" + pid, tok: f.aliceTok, body: map[string]any{"state": "enabled"}, status: 403, code: codeDenied},
		{name: "fail/update-unknown-field", method: "PATCH", path: caPolicies + "/" + pid, tok: caTok, body: map[string]any{"colour": "red"}, status: 400, code: codeBad},
		{name: "fail/update-bad-state", method: "PATCH", path: caPolicies + "/" + pid, tok: caTok, body: map[string]any{"state": "sometimes"}, status: 400, code: codeBad},
		{name: "fail/update-unknown", method: "PATCH", path: caPolicies + "/" + uuid.NewString(), tok: caTok, body: map[string]any{"state": "enabled"}, status: 404, code: codeNotFound},
		{name: "ok/update-state", method: "PATCH", path: caPolicies + "/" + pid, tok: caTok, body: map[string]any{"state": "enabled"}, status: 204},
		{name: "ok/get-updated", method: "GET", path: caPolicies + "/" + pid, tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["state"] != "enabled" || m["id"] != pid || m["modifiedDateTime"] == nil {
				t.Errorf("after PATCH %v", m)
			}
		}},
		{name: "fail/delete-reader-app", method: "DELETE", path: caPolicies + "/" + pid, tok: f.readerAppTok, status: 403, code: codeDenied},
		{name: "fail/delete-other-tenant", method: "DELETE", path: caPolicies + "/" + pid, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/delete", method: "DELETE", path: caPolicies + "/" + pid, tok: caTok, status: 204},
		{name: "fail/delete-again", method: "DELETE", path: caPolicies + "/" + pid, tok: caTok, status: 404, code: codeNotFound},
	})
}

func TestGraphNamedLocationsAndStrengths(t *testing.T) {
	f, caTok := caFixture(t)
	var lid, sid string
	strength := map[string]any{"displayName": "Keys only", "allowedCombinations": []string{"fido2"}}
	f.run(t, []graphCase{
		{name: "fail/location-plain-user", method: "POST", path: caLocations, tok: f.aliceTok, body: officeBody(), status: 403, code: codeDenied},
		{name: "fail/location-bad-range", method: "POST", path: caLocations, tok: caTok, body: map[string]any{"@odata.type": conditional.TypeIPNamedLocation, "displayName": "x",
			"ipRanges": []any{map[string]any{"@odata.type": conditional.TypeIPv4Range, "cidrAddress": "10.0.0.0/4"}}}, status: 400, code: codeBad},
		{name: "fail/location-unknown-field", method: "POST", path: caLocations, tok: caTok, body: `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"x","ipRanges":[],"owner":"me"}`, status: 400, code: codeBad},
		{name: "ok/location-create", method: "POST", path: caLocations, tok: caTok, body: officeBody(), status: 201, check: saveID(&lid)},
		{name: "fail/strength-plain-user", method: "POST", path: caStrengths, tok: f.aliceTok, body: strength, status: 403, code: codeDenied},
		{name: "fail/strength-bad-combination", method: "POST", path: caStrengths, tok: caTok, body: map[string]any{"displayName": "x", "allowedCombinations": []string{"sms"}}, status: 400, code: codeBad},
		{name: "ok/strength-create", method: "POST", path: caStrengths, tok: caTok, body: strength, status: 201, check: saveID(&sid)},
	})
	body := vmPolicyBody("enabled", sid, nil)
	body["conditions"].(map[string]any)["locations"] = map[string]any{"includeLocations": []string{"All"}, "excludeLocations": []string{lid}}
	f.run(t, []graphCase{
		{name: "fail/policy-unknown-location", method: "POST", path: caPolicies, tok: caTok, body: func() map[string]any {
			b := vmPolicyBody("enabled", sid, nil)
			b["conditions"].(map[string]any)["locations"] = map[string]any{"includeLocations": []string{uuid.NewString()}}
			return b
		}(), status: 400, code: codeBad},
		{name: "ok/policy-naming-both", method: "POST", path: caPolicies, tok: caTok, body: body, status: 201},
		{name: "fail/location-delete-in-use", method: "DELETE", path: caLocations + "/" + lid, tok: caTok, status: 409},
		{name: "fail/strength-delete-in-use", method: "DELETE", path: caStrengths + "/" + sid, tok: caTok, status: 409},
		{name: "fail/builtin-strength-delete", method: "DELETE", path: caStrengths + "/" + conditional.PhishingResistID, tok: caTok, status: 400, code: codeBad},
		{name: "fail/builtin-strength-update", method: "PATCH", path: caStrengths + "/" + conditional.MultifactorID, tok: caTok, body: map[string]any{"displayName": "mine"}, status: 400, code: codeBad},
		{name: "fail/strengths-plain-user", method: "GET", path: caStrengths, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "ok/strengths-builtin-and-custom", method: "GET", path: caStrengths, tok: f.readerAppTok, status: 200, check: wantIDs(
			conditional.MultifactorID, conditional.PasswordlessID, conditional.PhishingResistID, sid)},
		{name: "ok/strength-get-builtin", method: "GET", path: caStrengths + "/" + conditional.PhishingResistID, tok: caTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["policyType"] != "builtIn" || len(m["allowedCombinations"].([]any)) != 3 {
				t.Errorf("built-in strength %v", m)
			}
		}},
		{name: "ok/location-rename", method: "PATCH", path: caLocations + "/" + lid, tok: caTok, body: map[string]any{"displayName": "HQ"}, status: 204},
		{name: "ok/location-get", method: "GET", path: caLocations + "/" + lid, tok: caTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["displayName"] != "HQ" || m["isTrusted"] != true {
				t.Errorf("location %v", m)
			}
		}},
	})
}

func TestGraphSignIns(t *testing.T) {
	f, caTok := caFixture(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, e := range []signinlog.Entry{
		{ID: "s1", CreatedDateTime: t0, UserID: f.alice.ID, UserPrincipalName: "alice@contoso.test", AppID: vmApp},
		{ID: "s2", CreatedDateTime: t0.Add(time.Minute), UserID: f.alice.ID, UserPrincipalName: "alice@contoso.test", AppID: vmApp, Status: signinlog.Status{ErrorCode: 53003}},
		{ID: "s3", CreatedDateTime: t0.Add(2 * time.Minute), UserID: f.admin.ID, UserPrincipalName: "admin@contoso.test", AppID: "other"},
	} {
		if err := f.Store.AppendSignIn(t.Context(), f.Tenant.ID, e); err != nil {
			t.Fatal(i, err)
		}
	}
	const base = "/v1.0/auditLogs/signIns"
	q := func(filter string) string { return base + "?$filter=" + url.QueryEscape(filter) }
	inOrder := func(want ...string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			got := ids(t, m)
			if len(got) != len(want) {
				t.Fatalf("ids %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("ids %v, want %v in this order", got, want)
				}
			}
		}
	}
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: base, status: 401, code: codeAuth},
		{name: "fail/plain-user", method: "GET", path: base, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/plain-app", method: "GET", path: base, tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/bad-filter", method: "GET", path: q("displayName eq 'x'"), tok: caTok, status: 400, code: codeBad},
		{name: "fail/unsupported-option", method: "GET", path: base + "?$orderby=createdDateTime", tok: caTok, status: 400, code: codeQuery},
		{name: "fail/top-zero", method: "GET", path: base + "?$top=0", tok: caTok, status: 400},
		{name: "ok/all-newest-first", method: "GET", path: base, tok: f.readerAppTok, status: 200, check: inOrder("s3", "s2", "s1")},
		{name: "ok/top", method: "GET", path: base + "?$top=1", tok: caTok, status: 200, check: inOrder("s3")},
		{name: "ok/user-and-failure", method: "GET", path: q("userPrincipalName eq 'ALICE@contoso.test' and status/errorCode ne 0"), tok: caTok, status: 200, check: inOrder("s2")},
		{name: "ok/app-and-time", method: "GET", path: q("appId eq '" + vmApp + "' and createdDateTime lt " + t0.Add(time.Minute).Format(time.RFC3339)), tok: caTok, status: 200, check: inOrder("s1")},
		{name: "ok/other-tenant-sees-none", method: "GET", path: base, tok: f.otherTok, status: 200, check: inOrder()},
	})
}

func TestGraphWhatIf(t *testing.T) {
	f, caTok := caFixture(t)
	f.setPassword(t, f.alice, "correct horse battery staple")
	var pid string
	f.run(t, []graphCase{
		{name: "ok/policy", method: "POST", path: caPolicies, tok: caTok, body: vmPolicyBody("enabled", conditional.PhishingResistID, nil), status: 201, check: saveID(&pid)},
	})
	ask := func(app string, methods ...string) map[string]any {
		return map[string]any{"userPrincipalName": "alice@contoso.test", "appId": app, "ipAddress": "192.0.2.9", "methods": methods}
	}
	policyResult := func(want, outcome string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			ps := m["policies"].([]any)
			if len(ps) != 1 || ps[0].(map[string]any)["id"] != pid || ps[0].(map[string]any)["result"] != want || m["outcome"] != outcome {
				t.Fatalf("what-if %v", m)
			}
			if ps[0].(map[string]any)["reason"] == "" {
				t.Fatalf("no reason in %v", ps[0])
			}
		}
	}
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: caEvaluate, body: ask(vmApp), status: 401, code: codeAuth},
		{name: "fail/plain-user", method: "POST", path: caEvaluate, tok: f.aliceTok, body: ask(vmApp), status: 403, code: codeDenied},
		{name: "fail/unknown-user", method: "POST", path: caEvaluate, tok: caTok, body: map[string]any{"userPrincipalName": "nobody@contoso.test", "appId": vmApp}, status: 404, code: codeNotFound},
		{name: "fail/bad-address", method: "POST", path: caEvaluate, tok: caTok, body: map[string]any{"userPrincipalName": "alice@contoso.test", "appId": vmApp, "ipAddress": "here"}, status: 400, code: codeBad},
		{name: "fail/unknown-field", method: "POST", path: caEvaluate, tok: caTok, body: map[string]any{"userPrincipalName": "alice@contoso.test", "appId": vmApp, "device": "x"}, status: 400, code: codeBad},
		{name: "ok/password-denied", method: "POST", path: caEvaluate, tok: caTok, body: ask(vmApp, "password"), status: 200, check: policyResult("failure", "deny")},
		{name: "ok/passkey-allowed", method: "POST", path: caEvaluate, tok: caTok, body: ask(vmApp, "fido2"), status: 200, check: policyResult("success", "allow")},
		{name: "ok/other-app-not-applied", method: "POST", path: caEvaluate, tok: caTok, body: ask(uuid.NewString(), "password"), status: 200, check: policyResult("notApplied", "allow")},
	})
}
