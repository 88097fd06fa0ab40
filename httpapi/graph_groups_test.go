package httpapi_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/latchsh/latch/directory"
)

func TestGraphGroupsCRUD(t *testing.T) {
	f := newGraphFixture(t)
	body := map[string]any{"displayName": "Linux admins", "mailNickname": "linux-admins", "mailEnabled": false,
		"securityEnabled": true, "description": "sudo on every machine",
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + f.alice.ID}}
	var gid string
	idOf := func(t *testing.T, m map[string]any) { gid, _ = m["id"].(string) }
	f.run(t, []graphCase{
		{name: "fail/create-no-token", method: "POST", path: "/v1.0/groups", body: body, status: 401, code: codeAuth},
		{name: "fail/create-plain-user", method: "POST", path: "/v1.0/groups", tok: f.aliceTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-reader-app", method: "POST", path: "/v1.0/groups", tok: f.readerAppTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-unknown-field", method: "POST", path: "/v1.0/groups", tok: f.adminTok, body: `{"displayName":"x","mailNickname":"x","visibility":"Public"}`, status: 400, code: codeBad},
		{name: "fail/create-mail-enabled", method: "POST", path: "/v1.0/groups", tok: f.adminTok, body: `{"displayName":"x","mailNickname":"x","mailEnabled":true}`, status: 400, code: codeBad},
		{name: "fail/create-unified", method: "POST", path: "/v1.0/groups", tok: f.adminTok, body: `{"displayName":"x","mailNickname":"x","groupTypes":["Unified"]}`, status: 400, code: codeBad},
		{name: "fail/create-bad-nickname", method: "POST", path: "/v1.0/groups", tok: f.adminTok, body: `{"displayName":"x","mailNickname":"a b"}`, status: 400, code: codeBad},
		{name: "fail/create-bind-other-tenant", method: "POST", path: "/v1.0/groups", tok: f.adminTok,
			body: map[string]any{"displayName": "x", "mailNickname": "x", "members@odata.bind": []string{"https://h/v1.0/directoryObjects/" + f.otherAdmin.ID}}, status: 404, code: codeNotFound},
		{name: "ok/create-with-member", method: "POST", path: "/v1.0/groups", tok: f.userAdminTok, body: body, status: 201, check: func(t *testing.T, m map[string]any) {
			idOf(t, m)
			if m["@odata.type"] != "#microsoft.graph.group" || m["securityEnabled"] != true || m["mailEnabled"] != false {
				t.Errorf("group %v", m)
			}
		}},
		{name: "fail/create-duplicate-nickname", method: "POST", path: "/v1.0/groups", tok: f.adminTok, body: `{"displayName":"y","mailNickname":"linux-admins"}`, status: 400, code: codeBad},
	})
	path := "/v1.0/groups/" + gid
	f.run(t, []graphCase{
		{name: "fail/get-no-token", method: "GET", path: path, status: 401, code: codeAuth},
		{name: "fail/get-other-tenant", method: "GET", path: path, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/get-not-a-guid", method: "GET", path: "/v1.0/groups/linux-admins", tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/list-app-without-role", method: "GET", path: "/v1.0/groups", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/list-filter-unsupported", method: "GET", path: "/v1.0/groups?$filter=" + url.QueryEscape("userPrincipalName eq 'x'"), tok: f.aliceTok, status: 400, code: codeQuery},
		{name: "ok/get", method: "GET", path: path, tok: f.aliceTok, status: 200},
		{name: "ok/list-filter", method: "GET", path: "/v1.0/groups?$filter=" + url.QueryEscape("displayName eq 'linux ADMINS'"), tok: f.readerAppTok, status: 200, check: wantIDs(gid)},
		{name: "ok/list-other-tenant-empty", method: "GET", path: "/v1.0/groups", tok: f.otherTok, status: 200, check: wantIDs()},
		{name: "ok/members-from-bind", method: "GET", path: path + "/members", tok: f.aliceTok, status: 200, check: wantIDs(f.alice.ID)},
		{name: "fail/patch-plain-user", method: "PATCH", path: path, tok: f.aliceTok, body: `{"description":"x"}`, status: 403, code: codeDenied},
		{name: "fail/patch-other-tenant", method: "PATCH", path: path, tok: f.otherTok, body: `{"description":"x"}`, status: 404, code: codeNotFound},
		{name: "fail/patch-unknown-field", method: "PATCH", path: path, tok: f.adminTok, body: `{"visibility":"x"}`, status: 400, code: codeBad},
		{name: "fail/patch-empty-name", method: "PATCH", path: path, tok: f.adminTok, body: `{"displayName":""}`, status: 400, code: codeBad},
		{name: "ok/patch", method: "PATCH", path: path, tok: f.adminTok, body: `{"description":"root everywhere"}`, status: 204},
		{name: "ok/patched", method: "GET", path: path + "?$select=description", tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["description"] != "root everywhere" {
				t.Errorf("after PATCH %v", m)
			}
		}},
		{name: "fail/delete-no-token", method: "DELETE", path: path, status: 401, code: codeAuth},
		{name: "fail/delete-plain-user", method: "DELETE", path: path, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "ok/delete", method: "DELETE", path: path, tok: f.adminTok, status: 204},
		{name: "fail/get-deleted", method: "GET", path: path, tok: f.aliceTok, status: 404, code: codeNotFound},
	})
}

func TestGraphGroupMembers(t *testing.T) {
	f := newGraphFixture(t)
	a := f.createGroup(t, f.Tenant.ID, "a")
	b := f.createGroup(t, f.Tenant.ID, "b")
	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
	}
	add := "/v1.0/groups/" + a.ID + "/members/$ref"
	f.run(t, []graphCase{
		{name: "fail/add-no-token", method: "POST", path: add, body: ref(f.alice.ID), status: 401, code: codeAuth},
		{name: "fail/add-plain-user", method: "POST", path: add, tok: f.aliceTok, body: ref(f.alice.ID), status: 403, code: codeDenied},
		{name: "fail/add-other-tenant-group", method: "POST", path: add, tok: f.otherTok, body: ref(f.otherAdmin.ID), status: 404, code: codeNotFound},
		{name: "fail/add-member-of-other-tenant", method: "POST", path: add, tok: f.adminTok, body: ref(f.otherAdmin.ID), status: 404, code: codeNotFound},
		{name: "fail/add-unknown-field", method: "POST", path: add, tok: f.adminTok, body: `{"@odata.id":"x","id":"y"}`, status: 400, code: codeBad},
		{name: "fail/add-bad-ref", method: "POST", path: add, tok: f.adminTok, body: `{"@odata.id":"https://h/v1.0/devices/` + f.alice.ID + `"}`, status: 400, code: codeBad},
		{name: "fail/add-ref-not-guid", method: "POST", path: add, tok: f.adminTok, body: `{"@odata.id":"https://h/v1.0/directoryObjects/alice"}`, status: 400, code: codeBad},
		{name: "fail/add-self", method: "POST", path: add, tok: f.adminTok, body: ref(a.ID), status: 400, code: codeBad},
		{name: "fail/add-wrong-collection", method: "POST", path: add, tok: f.adminTok, body: map[string]any{"@odata.id": "https://h/v1.0/groups/" + f.alice.ID}, status: 404, code: codeNotFound},
		{name: "ok/add-user", method: "POST", path: add, tok: f.adminTok, body: ref(f.alice.ID), status: 204},
		{name: "fail/add-twice", method: "POST", path: add, tok: f.userAdminTok, body: ref(f.alice.ID), status: 400, code: codeBad, check: func(t *testing.T, m map[string]any) {
			if want := "One or more added object references already exist for the following modified properties: 'members'."; errorMessage(m) != want {
				t.Errorf("message %q, want Graph's %q", errorMessage(m), want)
			}
		}},
		{name: "ok/add-group", method: "POST", path: add, tok: f.userAdminTok, body: map[string]any{"@odata.id": "https://h/v1.0/groups/" + b.ID}, status: 204},
		{name: "ok/add-service-principal", method: "POST", path: "/v1.0/groups/" + b.ID + "/members/%24ref", tok: f.adminTok, body: ref(f.plainApp.ID), status: 204},
		{name: "ok/cycle-allowed", method: "POST", path: "/v1.0/groups/" + b.ID + "/members/$ref", tok: f.adminTok, body: ref(a.ID), status: 204},
		{name: "ok/members", method: "GET", path: "/v1.0/groups/" + a.ID + "/members", tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			wantIDs(f.alice.ID, b.ID)(t, m)
			for _, o := range values(t, m) {
				if o["@odata.type"] != "#microsoft.graph.user" && o["@odata.type"] != "#microsoft.graph.group" {
					t.Errorf("member without its type: %v", o)
				}
			}
		}},
		{name: "ok/transitive-members-with-cycle", method: "GET", path: "/v1.0/groups/" + a.ID + "/transitiveMembers", tok: f.readerAppTok, status: 200, check: wantIDs(f.alice.ID, b.ID, f.plainApp.ID)},
		{name: "ok/members-filter", method: "GET", path: "/v1.0/groups/" + a.ID + "/transitiveMembers?$filter=" + url.QueryEscape("appId eq '"+f.plainApp.AppID+"'"), tok: f.aliceTok, status: 200, check: wantIDs(f.plainApp.ID)},
		{name: "fail/members-other-tenant", method: "GET", path: "/v1.0/groups/" + a.ID + "/members", tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/members-app-without-role", method: "GET", path: "/v1.0/groups/" + a.ID + "/members", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "ok/sp-transitive-member-of", method: "GET", path: "/v1.0/servicePrincipals/" + f.plainApp.ID + "/transitiveMemberOf", tok: f.aliceTok, status: 200, check: wantIDs(a.ID, b.ID)},
		{name: "fail/remove-no-token", method: "DELETE", path: "/v1.0/groups/" + a.ID + "/members/" + f.alice.ID + "/$ref", status: 401, code: codeAuth},
		{name: "fail/remove-plain-user", method: "DELETE", path: "/v1.0/groups/" + a.ID + "/members/" + f.alice.ID + "/$ref", tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "ok/remove", method: "DELETE", path: "/v1.0/groups/" + a.ID + "/members/" + f.alice.ID + "/$ref", tok: f.adminTok, status: 204},
		{name: "fail/remove-not-member", method: "DELETE", path: "/v1.0/groups/" + a.ID + "/members/" + f.alice.ID + "/$ref", tok: f.adminTok, status: 404, code: codeNotFound},
	})
}

// A User Administrator can manage ordinary groups but not one that carries a directory role,
// or they could add themselves and gain it.
func TestGraphGroupWithRoleNeedsGlobalAdmin(t *testing.T) {
	f := newGraphFixture(t)
	admins := f.createGroup(t, f.Tenant.ID, "tenant-admins")
	f.assignRole(t, f.Tenant.ID, admins.ID, directory.GlobalAdministrator)
	nested := f.createGroup(t, f.Tenant.ID, "nested")
	if _, err := f.Store.UpdateGroup(context.Background(), f.Tenant.ID, admins.ID, func(g directory.Group) (directory.Group, error) {
		g.Members = append(g.Members, nested.ID)
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	self := map[string]any{"@odata.id": "https://h/v1.0/directoryObjects/" + f.userAdmin.ID}
	f.run(t, []graphCase{
		{name: "fail/user-admin-joins-role-group", method: "POST", path: "/v1.0/groups/" + admins.ID + "/members/$ref", tok: f.userAdminTok, body: self, status: 403, code: codeDenied},
		{name: "fail/user-admin-joins-nested-group", method: "POST", path: "/v1.0/groups/" + nested.ID + "/members/$ref", tok: f.userAdminTok, body: self, status: 403, code: codeDenied},
		{name: "fail/user-admin-deletes-role-group", method: "DELETE", path: "/v1.0/groups/" + admins.ID, tok: f.userAdminTok, status: 403, code: codeDenied},
		{name: "ok/global-admin-adds", method: "POST", path: "/v1.0/groups/" + nested.ID + "/members/$ref", tok: f.adminTok, body: self, status: 204},
	})
}

// Concurrent adds of the same member: exactly one wins, the rest get Graph's duplicate error.
func TestGraphGroupConcurrentAdd(t *testing.T) {
	f := newGraphFixture(t)
	g := f.createGroup(t, f.Tenant.ID, "race")
	body := map[string]any{"@odata.id": "https://h/v1.0/directoryObjects/" + f.alice.ID}
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.statusOf(t, "POST", "/v1.0/groups/"+g.ID+"/members/$ref", f.adminTok, body)
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case 204:
			won++
		case 400:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	got, err := f.Store.GetGroup(context.Background(), f.Tenant.ID, g.ID)
	if won != 1 || err != nil || len(got.Members) != 1 {
		t.Fatalf("%d winners, members %v (%v); want exactly one", won, got.Members, err)
	}
}
