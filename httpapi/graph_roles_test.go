package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
)

const rolesBase = "/v1.0/roleManagement/directory/"

func TestGraphRoleDefinitions(t *testing.T) {
	f := newGraphFixture(t)
	ga := directory.GlobalAdministrator.TemplateID
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: rolesBase + "roleDefinitions", status: 401, code: codeAuth},
		{name: "fail/app-without-role", method: "GET", path: rolesBase + "roleDefinitions", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/unknown-id", method: "GET", path: rolesBase + "roleDefinitions/" + uuid.NewString(), tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/by-name-not-id", method: "GET", path: rolesBase + "roleDefinitions/" + url.PathEscape("Global Administrator"), tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "ok/list", method: "GET", path: rolesBase + "roleDefinitions", tok: f.readerAppTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if got := len(values(t, m)); got != len(directory.BuiltInDirectoryRoles) {
				t.Errorf("%d role definitions, want %d", got, len(directory.BuiltInDirectoryRoles))
			}
		}},
		{name: "ok/filter-name", method: "GET", path: rolesBase + "roleDefinitions?$filter=" + url.QueryEscape("displayName eq 'global administrator'"), tok: f.aliceTok, status: 200, check: wantIDs(ga)},
		{name: "ok/get", method: "GET", path: rolesBase + "roleDefinitions/" + ga, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			perms := m["rolePermissions"].([]any)[0].(map[string]any)["allowedResourceActions"].([]any)
			if m["isBuiltIn"] != true || m["displayName"] != "Global Administrator" || perms[0] != "microsoft.directory/*/*" {
				t.Errorf("role definition %v", m)
			}
		}},
	})
}

func TestGraphRoleAssignments(t *testing.T) {
	f := newGraphFixture(t)
	reader := directory.GlobalReader.TemplateID
	body := map[string]any{"principalId": f.alice.ID, "roleDefinitionId": reader, "directoryScopeId": "/"}
	with := func(k, v string) map[string]any {
		m := map[string]any{"principalId": f.alice.ID, "roleDefinitionId": reader, "directoryScopeId": "/"}
		m[k] = v
		return m
	}
	var aid string
	f.run(t, []graphCase{
		{name: "fail/create-no-token", method: "POST", path: rolesBase + "roleAssignments", body: body, status: 401, code: codeAuth},
		{name: "fail/create-plain-user", method: "POST", path: rolesBase + "roleAssignments", tok: f.aliceTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-user-admin", method: "POST", path: rolesBase + "roleAssignments", tok: f.userAdminTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-reader-app", method: "POST", path: rolesBase + "roleAssignments", tok: f.readerAppTok, body: body, status: 403, code: codeDenied},
		{name: "fail/create-other-tenant-principal", method: "POST", path: rolesBase + "roleAssignments", tok: f.otherTok, body: body, status: 400, code: codeBad},
		{name: "fail/create-unknown-field", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: with("appScopeId", "x"), status: 400, code: codeBad},
		{name: "fail/create-unknown-role", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: with("roleDefinitionId", uuid.NewString()), status: 400, code: codeBad},
		{name: "fail/create-scoped", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: with("directoryScopeId", "/administrativeUnits/x"), status: 400, code: codeBad},
		{name: "fail/create-unknown-principal", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: with("principalId", uuid.NewString()), status: 400, code: codeBad},
		{name: "ok/create", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: body, status: 201, check: func(t *testing.T, m map[string]any) {
			aid, _ = m["id"].(string)
			if m["principalId"] != f.alice.ID || m["roleDefinitionId"] != reader || m["directoryScopeId"] != "/" {
				t.Errorf("assignment %v", m)
			}
		}},
	})
	f.run(t, []graphCase{
		{name: "fail/create-duplicate", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok, body: body, status: 409, check: func(t *testing.T, m map[string]any) {
			if !strings.Contains(errorMessage(m), "already holds the role 'Global Reader'") {
				t.Errorf("duplicate message %q", errorMessage(m))
			}
		}},
		{name: "ok/list-filter", method: "GET", path: rolesBase + "roleAssignments?$filter=" + url.QueryEscape("principalId eq '"+f.alice.ID+"'"), tok: f.aliceTok, status: 200, check: wantIDs(aid)},
		{name: "fail/list-app-without-role", method: "GET", path: rolesBase + "roleAssignments", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "ok/list-other-tenant-sees-own", method: "GET", path: rolesBase + "roleAssignments?$filter=" + url.QueryEscape("principalId eq '"+f.alice.ID+"'"), tok: f.otherTok, status: 200, check: wantIDs()},
		{name: "fail/get-other-tenant", method: "GET", path: rolesBase + "roleAssignments/" + aid, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/delete-no-token", method: "DELETE", path: rolesBase + "roleAssignments/" + aid, status: 401, code: codeAuth},
		{name: "fail/delete-user-admin", method: "DELETE", path: rolesBase + "roleAssignments/" + aid, tok: f.userAdminTok, status: 403, code: codeDenied},
		{name: "fail/delete-other-tenant", method: "DELETE", path: rolesBase + "roleAssignments/" + aid, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/delete", method: "DELETE", path: rolesBase + "roleAssignments/" + aid, tok: f.adminTok, status: 204},
		{name: "fail/delete-again", method: "DELETE", path: rolesBase + "roleAssignments/" + aid, tok: f.adminTok, status: 404, code: codeNotFound},
	})
	// The new role took effect: alice, now Global Reader for a moment, could have read; an
	// assignment to a group reaches its members.
	g := f.createGroup(t, f.Tenant.ID, "helpdesk", f.plainApp.ID)
	f.run(t, []graphCase{
		{name: "fail/app-before-group-role", method: "GET", path: "/v1.0/users", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "ok/assign-group", method: "POST", path: rolesBase + "roleAssignments", tok: f.adminTok,
			body: map[string]any{"principalId": g.ID, "roleDefinitionId": reader, "directoryScopeId": "/"}, status: 201},
		{name: "ok/app-through-group-role", method: "GET", path: "/v1.0/users", tok: f.plainAppTok, status: 200},
	})
}

func TestGraphLastGlobalAdminAssignment(t *testing.T) {
	f := newGraphFixture(t)
	as, err := f.Store.ListDirectoryRoleAssignments(context.Background(), f.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	var adminAssignment string
	for _, a := range as {
		if a.PrincipalID == f.admin.ID {
			adminAssignment = a.ID
		}
	}
	path := rolesBase + "roleAssignments/" + adminAssignment
	f.run(t, []graphCase{
		{name: "fail/delete-last", method: "DELETE", path: path, tok: f.adminTok, status: 400, code: codeBad, check: func(t *testing.T, m map[string]any) {
			if !strings.Contains(errorMessage(m), "without a Global Administrator") {
				t.Errorf("message %q", errorMessage(m))
			}
		}},
	})
	// A second Global Administrator who is disabled does not count.
	second := f.createUser(t, f.Tenant.ID, "second@contoso.test", directory.GlobalAdministrator)
	if _, err := f.Store.UpdateUser(context.Background(), f.Tenant.ID, second.ID, func(u directory.User) (directory.User, error) {
		u.AccountEnabled = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := f.statusOf(t, "DELETE", path, f.adminTok, nil); got != 400 {
		t.Fatalf("deleting the last usable assignment beside a disabled one: %d, want 400", got)
	}
	third := f.createUser(t, f.Tenant.ID, "third@contoso.test", directory.GlobalAdministrator)
	if got := f.statusOf(t, "DELETE", path, f.adminTok, nil); got != 204 {
		t.Fatalf("deleting one of two usable assignments: %d, want 204", got)
	}
	// The two remaining usable assignments (third's) and a race: concurrent deletions of the
	// last ones leave at least one.
	fourth := f.createUser(t, f.Tenant.ID, "fourth@contoso.test", directory.GlobalAdministrator)
	thirdTok := f.tokenFor(t, third)
	as, _ = f.Store.ListDirectoryRoleAssignments(context.Background(), f.Tenant.ID)
	var wg sync.WaitGroup
	for _, a := range as {
		if a.PrincipalID != third.ID && a.PrincipalID != fourth.ID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.do(t, "DELETE", rolesBase+"roleAssignments/"+a.ID, thirdTok, nil)
		}()
	}
	wg.Wait()
	as, _ = f.Store.ListDirectoryRoleAssignments(context.Background(), f.Tenant.ID)
	usable := 0
	for _, a := range as {
		if a.RoleDefinitionID == directory.GlobalAdministrator.TemplateID && (a.PrincipalID == third.ID || a.PrincipalID == fourth.ID) {
			usable++
		}
	}
	if usable == 0 {
		t.Fatal("concurrent deletions removed every usable Global Administrator assignment")
	}
}
