package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
)

func TestGraphPerUserMFA(t *testing.T) {
	f := newGraphFixture(t)
	for _, v := range []string{"beta", "v1.0"} {
		path := "/" + v + "/users/" + f.alice.ID + "/authentication/requirements"
		t.Run(v, func(t *testing.T) {
			f.run(t, []graphCase{
				{name: "fail/get-no-token", method: "GET", path: path, status: 401, code: codeAuth},
				{name: "fail/get-other-user", method: "GET", path: "/" + v + "/users/" + f.admin.ID + "/authentication/requirements", tok: f.aliceTok, status: 403, code: codeDenied},
				{name: "fail/get-other-tenant", method: "GET", path: path, tok: f.otherTok, status: 404, code: codeNotFound},
				{name: "fail/patch-self", method: "PATCH", path: path, tok: f.aliceTok, body: `{"perUserMfaState":"disabled"}`, status: 403, code: codeDenied},
				{name: "fail/patch-bad-state", method: "PATCH", path: path, tok: f.adminTok, body: `{"perUserMfaState":"sometimes"}`, status: 400, code: codeBad},
				{name: "fail/patch-unknown-field", method: "PATCH", path: path, tok: f.adminTok, body: `{"perUserMfaState":"enabled","methods":[]}`, status: 400, code: codeBad},
				{name: "ok/get-self", method: "GET", path: path, tok: f.aliceTok, status: 200, check: mfaState("disabled")},
				{name: "ok/patch", method: "PATCH", path: path, tok: f.userAdminTok, body: `{"perUserMfaState":"enforced"}`, status: 204},
				{name: "ok/get-as-reader-app", method: "GET", path: path, tok: f.readerAppTok, status: 200, check: mfaState("enforced")},
				{name: "ok/reset", method: "PATCH", path: path, tok: f.adminTok, body: `{"perUserMfaState":"disabled"}`, status: 204},
			})
		})
	}
	u, _ := f.Store.GetUser(context.Background(), f.Tenant.ID, f.alice.ID)
	if u.MFA != directory.MFADisabled {
		t.Fatalf("stored MFA state %q after reset", u.MFA)
	}
}

func mfaState(want string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		if m["perUserMfaState"] != want {
			t.Errorf("perUserMfaState %v, want %s", m["perUserMfaState"], want)
		}
	}
}

func TestGraphTemporaryAccessPass(t *testing.T) {
	f := newGraphFixture(t)
	base := "/v1.0/users/" + f.alice.ID + "/authentication/temporaryAccessPassMethods"
	body := `{"lifetimeInMinutes":60,"isUsableOnce":true}`
	var pass, id string
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: base, body: body, status: 401, code: codeAuth},
		{name: "fail/self-issue", method: "POST", path: base, tok: f.aliceTok, body: body, status: 403, code: codeDenied},
		{name: "fail/reader-app", method: "POST", path: base, tok: f.readerAppTok, body: body, status: 403, code: codeDenied},
		{name: "fail/other-tenant", method: "POST", path: base, tok: f.otherTok, body: body, status: 404, code: codeNotFound},
		{name: "fail/unknown-field", method: "POST", path: base, tok: f.adminTok, body: `{"lifetimeInMinutes":60,"pin":"1"}`, status: 400, code: codeBad},
		{name: "fail/lifetime-too-short", method: "POST", path: base, tok: f.adminTok, body: `{"lifetimeInMinutes":5}`, status: 400, code: codeBad},
		{name: "fail/lifetime-too-long", method: "POST", path: base, tok: f.adminTok, body: `{"lifetimeInMinutes":50000}`, status: 400, code: codeBad},
		{name: "fail/for-global-admin-by-user-admin", method: "POST", path: "/v1.0/users/" + f.admin.ID + "/authentication/temporaryAccessPassMethods", tok: f.userAdminTok, body: body, status: 403, code: codeDenied},
		{name: "ok/create", method: "POST", path: base, tok: f.userAdminTok, body: body, status: 201, check: func(t *testing.T, m map[string]any) {
			pass, _ = m["temporaryAccessPass"].(string)
			id, _ = m["id"].(string)
			if m["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethod" || m["isUsable"] != true ||
				m["lifetimeInMinutes"] != float64(60) || m["isUsableOnce"] != true || len(pass) < 20 {
				t.Errorf("temporaryAccessPass %v", m)
			}
		}},
		{name: "fail/second-while-usable", method: "POST", path: base, tok: f.adminTok, body: body, status: 400, code: codeBad},
		{name: "ok/list-self-no-pass", method: "GET", path: base, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			v := values(t, m)
			if len(v) != 1 || v[0]["temporaryAccessPass"] != nil || v[0]["methodUsabilityReason"] != "EnabledByPolicy" {
				t.Errorf("list %v", v)
			}
		}},
		{name: "fail/list-other-user", method: "GET", path: "/v1.0/users/" + f.admin.ID + "/authentication/temporaryAccessPassMethods", tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/list-no-token", method: "GET", path: base, status: 401, code: codeAuth},
	})
	passes, err := f.Store.ListTemporaryAccessPasses(context.Background(), f.Tenant.ID, f.alice.ID)
	if err != nil || len(passes) != 1 || authn.CheckTemporaryAccessPass(passes[0], pass, time.Now()) != nil || strings.Contains(passes[0].Hash, pass) {
		t.Fatalf("stored passes %v (%v): the returned pass must check against the stored hash", passes, err)
	}
	one := base + "/" + id
	f.run(t, []graphCase{
		{name: "ok/get-one", method: "GET", path: one, tok: f.adminTok, status: 200},
		{name: "fail/get-via-other-user", method: "GET", path: "/v1.0/users/" + f.userAdmin.ID + "/authentication/temporaryAccessPassMethods/" + id, tok: f.adminTok, status: 404, code: codeNotFound},
		{name: "fail/delete-self", method: "DELETE", path: one, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/delete-other-tenant", method: "DELETE", path: one, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/delete", method: "DELETE", path: one, tok: f.adminTok, status: 204},
		{name: "fail/delete-again", method: "DELETE", path: one, tok: f.adminTok, status: 404, code: codeNotFound},
		{name: "ok/create-after-delete-beta", method: "POST", path: "/beta/users/alice@contoso.test/authentication/temporaryAccessPassMethods", tok: f.adminTok, body: `{}`, status: 201},
	})
}
