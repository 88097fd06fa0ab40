package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestGraphGetByIds(t *testing.T) {
	f := newGraphFixture(t)
	g := f.createGroup(t, f.Tenant.ID, "ops")
	// az role assignment create sends exactly these types.
	azTypes := []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}
	all := []string{f.alice.ID, g.ID, f.plainApp.ID, f.otherAdmin.ID, uuid.NewString()}
	const path = "/v1.0/directoryObjects/getByIds"
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: path, body: map[string]any{"ids": all}, status: 401, code: codeAuth},
		{name: "fail/app-without-role", method: "POST", path: path, tok: f.plainAppTok, body: map[string]any{"ids": all}, status: 403, code: codeDenied},
		{name: "fail/no-ids", method: "POST", path: path, tok: f.aliceTok, body: `{"ids":[]}`, status: 400, code: codeBad},
		{name: "fail/unknown-field", method: "POST", path: path, tok: f.aliceTok, body: `{"ids":["x"],"expand":true}`, status: 400, code: codeBad},
		{name: "fail/unknown-type", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": []string{"spaceship"}}, status: 400, code: codeBad},
		{name: "fail/too-many", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": make([]string, 1001)}, status: 400, code: codeBad},
		{name: "fail/get-method", method: "GET", path: path, tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "ok/az-types", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": azTypes}, status: 200, check: func(t *testing.T, m map[string]any) {
			wantIDs(f.alice.ID, g.ID, f.plainApp.ID)(t, m)
			types := map[string]bool{}
			for _, o := range values(t, m) {
				types[o["@odata.type"].(string)] = true
			}
			for _, want := range []string{"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.servicePrincipal"} {
				if !types[want] {
					t.Errorf("no %s in %v", want, types)
				}
			}
		}},
		{name: "ok/only-users", method: "POST", path: path, tok: f.readerAppTok, body: map[string]any{"ids": all, "types": []string{"User"}}, status: 200, check: wantIDs(f.alice.ID)},
		{name: "ok/applications", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": []string{"application"}}, status: 200, check: func(t *testing.T, m map[string]any) {
			v := values(t, m)
			if len(v) != 1 || v[0]["@odata.type"] != "#microsoft.graph.application" {
				t.Errorf("applications %v", v)
			}
		}},
		{name: "ok/upper-case-id", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": []string{strings.ToUpper(f.alice.ID)}}, status: 200, check: wantIDs(f.alice.ID)},
		{name: "ok/other-tenant-sees-nothing", method: "POST", path: path, tok: f.otherTok, body: map[string]any{"ids": all[:3]}, status: 200, check: wantIDs()},
	})
}

func TestGraphMemberGroupChecks(t *testing.T) {
	f := newGraphFixture(t)
	inner := f.createGroup(t, f.Tenant.ID, "inner", f.alice.ID)
	outer := f.createGroup(t, f.Tenant.ID, "outer", inner.ID)
	other := f.createGroup(t, f.Tenant.ID, "other")
	check := map[string]any{"groupIds": []string{outer.ID, other.ID}}
	f.run(t, []graphCase{
		{name: "fail/get-no-token", method: "POST", path: "/v1.0/users/" + f.alice.ID + "/getMemberGroups", body: `{"securityEnabledOnly":true}`, status: 401, code: codeAuth},
		{name: "fail/get-app-without-role", method: "POST", path: "/v1.0/users/" + f.alice.ID + "/getMemberGroups", tok: f.plainAppTok, body: `{"securityEnabledOnly":true}`, status: 403, code: codeDenied},
		{name: "fail/get-unknown-field", method: "POST", path: "/v1.0/users/" + f.alice.ID + "/getMemberGroups", tok: f.aliceTok, body: `{"all":true}`, status: 400, code: codeBad},
		{name: "fail/get-other-tenant", method: "POST", path: "/v1.0/directoryObjects/" + f.alice.ID + "/getMemberGroups", tok: f.otherTok, body: `{}`, status: 404, code: codeNotFound},
		{name: "ok/get-transitive", method: "POST", path: "/v1.0/users/alice@contoso.test/getMemberGroups", tok: f.aliceTok, body: `{"securityEnabledOnly":false}`, status: 200, check: func(t *testing.T, m map[string]any) {
			v, _ := m["value"].([]any)
			if len(v) != 2 {
				t.Errorf("getMemberGroups %v, want inner and outer", v)
			}
		}},
		{name: "fail/check-no-ids", method: "POST", path: "/v1.0/users/" + f.alice.ID + "/checkMemberGroups", tok: f.aliceTok, body: `{"groupIds":[]}`, status: 400, code: codeBad},
		{name: "fail/check-not-found", method: "POST", path: "/v1.0/groups/" + uuid.NewString() + "/checkMemberGroups", tok: f.aliceTok, body: check, status: 404, code: codeNotFound},
		{name: "ok/check", method: "POST", path: "/v1.0/directoryObjects/" + f.alice.ID + "/checkMemberGroups", tok: f.readerAppTok, body: check, status: 200, check: func(t *testing.T, m map[string]any) {
			v, _ := m["value"].([]any)
			if len(v) != 1 || v[0] != outer.ID {
				t.Errorf("checkMemberGroups %v, want only %s", v, outer.ID)
			}
		}},
		{name: "fail/object-no-token", method: "GET", path: "/v1.0/directoryObjects/" + inner.ID, status: 401, code: codeAuth},
		{name: "fail/object-other-tenant", method: "GET", path: "/v1.0/directoryObjects/" + inner.ID, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/object", method: "GET", path: "/v1.0/directoryObjects/" + inner.ID, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["@odata.type"] != "#microsoft.graph.group" {
				t.Errorf("directory object %v", m)
			}
		}},
	})
}
