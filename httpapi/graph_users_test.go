package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
)

func TestGraphUsersRead(t *testing.T) {
	f := newGraphFixture(t)
	alice := "/v1.0/users/" + f.alice.ID
	expired := f.userClaims(f.alice)
	expired.IssuedAt, expired.Expires = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	otherAudience := f.userClaims(f.alice)
	otherAudience.Audience = "https://graph.microsoft.com"
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: "/v1.0/users", status: 401, code: codeAuth},
		{name: "fail/garbage-token", method: "GET", path: "/v1.0/users", tok: "not.a.jwt", status: 401, code: codeAuth},
		{name: "fail/expired-token", method: "GET", path: "/v1.0/users", tok: f.sign(t, expired), status: 401, code: codeAuth},
		{name: "fail/arm-audience", method: "GET", path: "/v1.0/users", tok: f.armTokenFor(t, f.admin), status: 401, code: codeAuth},
		{name: "fail/foreign-audience", method: "GET", path: "/v1.0/me", tok: f.sign(t, otherAudience), status: 401, code: codeAuth},
		{name: "fail/app-without-role", method: "GET", path: "/v1.0/users", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/get-app-without-role", method: "GET", path: alice, tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/other-tenant-get", method: "GET", path: alice, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/other-tenant-by-upn", method: "GET", path: "/v1.0/users/alice@contoso.test", tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/unknown-id", method: "GET", path: "/v1.0/users/" + "00000000-0000-4000-8000-000000000000", tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/unknown-filter-property", method: "GET", path: "/v1.0/users?$filter=" + url.QueryEscape("jobTitle eq 'x'"), tok: f.aliceTok, status: 400, code: codeQuery},
		{name: "fail/bad-filter-syntax", method: "GET", path: "/v1.0/users?$filter=" + url.QueryEscape("displayName eq 'x"), tok: f.aliceTok, status: 400, code: "BadRequest"},
		{name: "fail/top-zero", method: "GET", path: "/v1.0/users?$top=0", tok: f.aliceTok, status: 400},
		{name: "fail/top-too-big", method: "GET", path: "/v1.0/users?$top=1000", tok: f.aliceTok, status: 400},
		{name: "fail/orderby", method: "GET", path: "/v1.0/users?$orderby=displayName", tok: f.aliceTok, status: 400, code: codeQuery},
		{name: "fail/select-unknown", method: "GET", path: "/v1.0/users?$select=passwordHash", tok: f.aliceTok, status: 400},
		{name: "fail/me-with-app-token", method: "GET", path: "/v1.0/me", tok: f.readerAppTok, status: 400},
		{name: "fail/me-no-token", method: "GET", path: "/v1.0/me", status: 401, code: codeAuth},
		{name: "ok/list-only-own-tenant", method: "GET", path: "/v1.0/users", tok: f.otherTok, status: 200, check: wantIDs(f.otherAdmin.ID)},
		{name: "ok/list-as-user", method: "GET", path: "/v1.0/users", tok: f.aliceTok, status: 200, check: wantIDs(f.admin.ID, f.alice.ID, f.userAdmin.ID)},
		{name: "ok/list-as-reader-app", method: "GET", path: "/v1.0/users", tok: f.readerAppTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if got, want := m["@odata.context"], f.URL+"/v1.0/$metadata#users"; got != want {
				t.Errorf("@odata.context %v, want %v", got, want)
			}
		}},
		{name: "ok/filter-upn-as-az-sends", method: "GET", path: "/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq 'ALICE@contoso.test'"), tok: f.aliceTok, status: 200, check: wantIDs(f.alice.ID)},
		{name: "ok/filter-startswith-or", method: "GET", path: "/v1.0/users?$filter=" + url.QueryEscape("startswith(displayName,'adm') or userPrincipalName in ('ua@contoso.test')"), tok: f.aliceTok, status: 200, check: wantIDs(f.admin.ID, f.userAdmin.ID)},
		{name: "ok/filter-not-enabled", method: "GET", path: "/v1.0/users?$filter=" + url.QueryEscape("not accountEnabled eq true"), tok: f.aliceTok, status: 200, check: wantIDs()},
		{name: "ok/get-by-id", method: "GET", path: alice, tok: f.aliceTok, status: 200, check: checkUser("alice@contoso.test")},
		{name: "ok/get-by-upn", method: "GET", path: "/v1.0/users/Alice@Contoso.test", tok: f.adminTok, status: 200, check: checkUser("alice@contoso.test")},
		{name: "ok/me", method: "GET", path: "/v1.0/me", tok: f.aliceTok, status: 200, check: checkUser("alice@contoso.test")},
		{name: "ok/select", method: "GET", path: alice + "?$select=id,DisplayName", tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if _, ok := m["userPrincipalName"]; ok || m["displayName"] != "alice" || m["id"] != f.alice.ID {
				t.Errorf("$select=id,displayName gave %v", m)
			}
		}},
	})
}

// checkUser checks a user object's Graph shape and that no secret leaks.
func checkUser(upn string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		if m["@odata.type"] != "#microsoft.graph.user" || m["userPrincipalName"] != upn {
			t.Errorf("user %v, want @odata.type #microsoft.graph.user and upn %s", m, upn)
		}
		for k := range m {
			if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "hash") {
				t.Errorf("user JSON carries %q", k)
			}
		}
	}
}

func TestGraphUsersPaging(t *testing.T) {
	f := newGraphFixture(t)
	for _, n := range []string{"p1", "p2", "p3", "p4"} {
		f.createUser(t, f.Tenant.ID, n+"@contoso.test")
	}
	seen := map[string]bool{}
	path := "/v1.0/users?$top=2&$count=true"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, m := f.do(t, "GET", path, f.aliceTok, nil)
		if resp.StatusCode != 200 || m["@odata.count"] != float64(7) {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, m)
		}
		for _, id := range ids(t, m) {
			if seen[id] {
				t.Fatalf("%s seen on two pages", id)
			}
			seen[id] = true
		}
		next, _ := m["@odata.nextLink"].(string)
		path = strings.TrimPrefix(next, f.URL)
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d users, want 7", len(seen))
	}
}

func TestGraphUsersCreate(t *testing.T) {
	f := newGraphFixture(t)
	good := map[string]any{"accountEnabled": true, "displayName": "Bob", "mailNickname": "bob",
		"userPrincipalName": "bob@contoso.test",
		"passwordProfile":   map[string]any{"password": "correct horse battery", "forceChangePasswordNextSignIn": true}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	var bobID string
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: "/v1.0/users", body: good, status: 401, code: codeAuth},
		{name: "fail/plain-user", method: "POST", path: "/v1.0/users", tok: f.aliceTok, body: good, status: 403, code: codeDenied},
		{name: "fail/reader-app", method: "POST", path: "/v1.0/users", tok: f.readerAppTok, body: good, status: 403, code: codeDenied},
		{name: "fail/other-tenant-domain", method: "POST", path: "/v1.0/users", tok: f.otherTok, body: good, status: 400, code: codeBad},
		{name: "fail/malformed-json", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: `{"displayName":`, status: 400, code: codeBad},
		{name: "fail/unknown-field", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("jobTitle", "x"), status: 400, code: codeBad},
		{name: "fail/wrong-domain", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("userPrincipalName", "bob@evil.test"), status: 400, code: codeBad},
		{name: "fail/short-password", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("passwordProfile", map[string]any{"password": "short"}), status: 400, code: codeBad},
		{name: "fail/no-display-name", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("displayName", " "), status: 400, code: codeBad},
		{name: "fail/no-account-enabled", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: `{"displayName":"B","userPrincipalName":"b2@contoso.test"}`, status: 400, code: codeBad},
		{name: "fail/bad-nickname", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("mailNickname", "b o b"), status: 400, code: codeBad},
		{name: "ok/user-admin-creates", method: "POST", path: "/v1.0/users", tok: f.userAdminTok, body: good, status: 201, check: func(t *testing.T, m map[string]any) {
			checkUser("bob@contoso.test")(t, m)
			bobID, _ = m["id"].(string)
		}},
		{name: "fail/duplicate-upn", method: "POST", path: "/v1.0/users", tok: f.adminTok, body: with("userPrincipalName", "BOB@contoso.test"), status: 400, code: codeBad},
		{name: "ok/passwordless", method: "POST", path: "/v1.0/users", tok: f.adminTok,
			body: `{"accountEnabled":true,"displayName":"Carol","mailNickname":"carol","userPrincipalName":"carol@contoso.test"}`, status: 201},
	})
	u, err := f.Store.GetUser(context.Background(), f.Tenant.ID, bobID)
	if err != nil || u.Password.Hash == "" || !u.Password.ForceChangePasswordNextSignIn || strings.Contains(u.Password.Hash, "horse") {
		t.Fatalf("stored user %+v, %v: want a hashed password and a forced change", u.Password, err)
	}
}

func TestGraphUsersUpdateDelete(t *testing.T) {
	f := newGraphFixture(t)
	bob := f.createUser(t, f.Tenant.ID, "bob@contoso.test")
	path := "/v1.0/users/" + bob.ID
	f.run(t, []graphCase{
		{name: "fail/patch-no-token", method: "PATCH", path: path, body: `{"displayName":"B"}`, status: 401, code: codeAuth},
		{name: "fail/patch-plain-user", method: "PATCH", path: path, tok: f.aliceTok, body: `{"displayName":"B"}`, status: 403, code: codeDenied},
		{name: "fail/patch-self-plain-user", method: "PATCH", path: "/v1.0/users/" + f.alice.ID, tok: f.aliceTok, body: `{"accountEnabled":true}`, status: 403, code: codeDenied},
		{name: "fail/patch-other-tenant", method: "PATCH", path: path, tok: f.otherTok, body: `{"displayName":"B"}`, status: 404, code: codeNotFound},
		{name: "fail/patch-unknown-field", method: "PATCH", path: path, tok: f.adminTok, body: `{"city":"x"}`, status: 400, code: codeBad},
		{name: "fail/patch-upn-other-domain", method: "PATCH", path: path, tok: f.adminTok, body: `{"userPrincipalName":"bob@fabrikam.test"}`, status: 400, code: codeBad},
		{name: "fail/patch-upn-taken", method: "PATCH", path: path, tok: f.adminTok, body: `{"userPrincipalName":"alice@contoso.test"}`, status: 400, code: codeBad},
		{name: "fail/patch-not-found", method: "PATCH", path: "/v1.0/users/nobody@contoso.test", tok: f.adminTok, body: `{"displayName":"B"}`, status: 404, code: codeNotFound},
		{name: "fail/user-admin-resets-global-admin", method: "PATCH", path: "/v1.0/users/" + f.admin.ID, tok: f.userAdminTok,
			body: `{"passwordProfile":{"password":"attacker-chosen-pass"}}`, status: 403, code: codeDenied},
		{name: "fail/user-admin-deletes-global-admin", method: "DELETE", path: "/v1.0/users/" + f.admin.ID, tok: f.userAdminTok, status: 403, code: codeDenied},
		{name: "fail/disable-last-global-admin", method: "PATCH", path: "/v1.0/users/" + f.admin.ID, tok: f.adminTok, body: `{"accountEnabled":false}`, status: 400, code: codeBad},
		{name: "fail/delete-last-global-admin", method: "DELETE", path: "/v1.0/users/" + f.admin.ID, tok: f.adminTok, status: 400, code: codeBad},
		{name: "ok/patch", method: "PATCH", path: path, tok: f.userAdminTok,
			body: `{"displayName":"Robert","userPrincipalName":"robert@contoso.test","accountEnabled":false}`, status: 204},
		{name: "ok/renamed", method: "GET", path: "/v1.0/users/robert@contoso.test", tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["displayName"] != "Robert" || m["accountEnabled"] != false {
				t.Errorf("after PATCH: %v", m)
			}
		}},
		{name: "fail/delete-no-token", method: "DELETE", path: path, status: 401, code: codeAuth},
		{name: "fail/delete-plain-user", method: "DELETE", path: path, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/delete-other-tenant", method: "DELETE", path: path, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/delete", method: "DELETE", path: path, tok: f.userAdminTok, status: 204},
		{name: "fail/delete-again", method: "DELETE", path: path, tok: f.userAdminTok, status: 404, code: codeNotFound},
	})
	// A disabled or deleted user's token stops working at once.
	second := f.createUser(t, f.Tenant.ID, "second@contoso.test", directory.GlobalAdministrator)
	secondTok := f.tokenFor(t, second)
	if got := f.statusOf(t, "PATCH", "/v1.0/users/"+f.admin.ID, secondTok, `{"accountEnabled":false}`); got != 204 {
		t.Fatalf("disabling a Global Administrator while another exists: %d, want 204", got)
	}
	if got := f.statusOf(t, "GET", "/v1.0/me", f.adminTok, nil); got != 401 {
		t.Fatalf("token of a disabled user: %d, want 401", got)
	}
	if got := f.statusOf(t, "DELETE", "/v1.0/users/"+second.ID, secondTok, nil); got != 400 {
		t.Fatalf("deleting the last enabled Global Administrator: %d, want 400", got)
	}
}

func TestGraphUsersMemberOf(t *testing.T) {
	f := newGraphFixture(t)
	inner := f.createGroup(t, f.Tenant.ID, "inner", f.alice.ID)
	outer := f.createGroup(t, f.Tenant.ID, "outer", inner.ID)
	// A cycle: outer contains inner contains outer.
	if _, err := f.Store.UpdateGroup(context.Background(), f.Tenant.ID, inner.ID, func(g directory.Group) (directory.Group, error) {
		g.Members = append(g.Members, outer.ID)
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	base := "/v1.0/users/" + f.alice.ID
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: base + "/memberOf", status: 401, code: codeAuth},
		{name: "fail/other-tenant", method: "GET", path: base + "/memberOf", tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/app-without-role", method: "GET", path: base + "/transitiveMemberOf", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/not-found", method: "GET", path: "/v1.0/users/ghost@contoso.test/memberOf", tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/me-app-token", method: "GET", path: "/v1.0/me/memberOf", tok: f.readerAppTok, status: 400},
		{name: "ok/direct", method: "GET", path: base + "/memberOf", tok: f.aliceTok, status: 200, check: wantIDs(inner.ID)},
		{name: "ok/transitive-with-cycle", method: "GET", path: base + "/transitiveMemberOf", tok: f.readerAppTok, status: 200, check: wantIDs(inner.ID, outer.ID)},
		{name: "ok/me-transitive", method: "GET", path: "/v1.0/me/transitiveMemberOf", tok: f.aliceTok, status: 200, check: wantIDs(inner.ID, outer.ID)},
	})
}

func TestGraphUnknownRoute(t *testing.T) {
	f := newGraphFixture(t)
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: "/v1.0/contacts", status: 401, code: codeAuth},
		{name: "fail/unknown-collection", method: "GET", path: "/v1.0/contacts", tok: f.aliceTok, status: 400, code: "BadRequest"},
		{name: "fail/wrong-method", method: "PUT", path: "/v1.0/users", tok: f.aliceTok, status: 400, code: "BadRequest"},
	})
}
