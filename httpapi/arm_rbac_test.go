package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
)

func assignmentPath(scope string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString()
}

func assignmentBody(sub, role, principal, ptype string) map[string]any {
	p := map[string]any{"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role, "principalId": principal}
	if ptype != "" {
		p["principalType"] = ptype
	}
	return map[string]any{"properties": p}
}

// The rules the article states for role assignments, over HTTP.
func TestARMRoleAssignments(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "myResourceGroup")
	rg := f.rgPath("myResourceGroup")
	root := "/providers/Microsoft.Management/managementGroups/" + f.Tenant.ID
	dup := assignmentPath(rg)
	f.run(t, []armCase{
		{name: "fail/contributor-cannot-assign", method: "PUT", path: assignmentPath(rg) + apiAuthz, tok: f.daveTok,
			body: assignmentBody(f.sub, vmUserLogin, f.alice.ID, "User"), status: 403, code: codeAuthz,
			check: func(t *testing.T, m map[string]any) {
				if !strings.Contains(errorMessage(m), "'Microsoft.Authorization/roleAssignments/write'") {
					t.Fatalf("message %q does not name the action", errorMessage(m))
				}
			}},
		{name: "fail/no-role-cannot-assign", method: "PUT", path: assignmentPath(rg) + apiAuthz, tok: f.aliceTok,
			body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, "User"), status: 403, code: codeAuthz},
		{name: "fail/data-actions-at-management-group", method: "PUT", path: assignmentPath(root) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, "User"), status: 400, code: "InvalidCreateRoleAssignmentRequest"},
		{name: "fail/data-actions-old-api-version", method: "PUT", path: assignmentPath(rg) + "?api-version=2015-07-01", tok: f.adminTok,
			body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, "User"), status: 400, code: "UnsupportedApiVersionForRoleDefinitionHasDataActions"},
		{name: "fail/unknown-role", method: "PUT", path: assignmentPath(rg) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, uuid.NewString(), f.alice.ID, "User"), status: 404, code: "RoleDefinitionDoesNotExist"},
		{name: "fail/unknown-principal", method: "PUT", path: assignmentPath(rg) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, vmUserLogin, uuid.NewString(), "User"), status: 400, code: "PrincipalNotFound"},
		{name: "fail/wrong-principal-type", method: "PUT", path: assignmentPath(rg) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, vmUserLogin, f.team.ID, "User"), status: 400, code: "UnmatchedPrincipalType"},
		{name: "fail/not-a-guid", method: "PUT", path: rg + "/providers/Microsoft.Authorization/roleAssignments/abc" + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, vmUserLogin, f.alice.ID, "User"), status: 400, code: "InvalidRoleAssignmentId"},
		{name: "ok/article-assignment-at-group", method: "PUT", path: dup + "?api-version=2020-04-01-preview", tok: f.adminTok,
			body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, "User"), status: 201, check: func(t *testing.T, m map[string]any) {
				wantField(dup, "id")(t, m)
				wantField("Microsoft.Authorization/roleAssignments", "type")(t, m)
				wantField(rg, "properties", "scope")(t, m)
				wantField("User", "properties", "principalType")(t, m)
				wantField("/subscriptions/"+f.sub+"/providers/Microsoft.Authorization/roleDefinitions/"+vmAdminLogin, "properties", "roleDefinitionId")(t, m)
			}},
		{name: "ok/same-id-again", method: "PUT", path: dup + apiAuthz, tok: f.adminTok, body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, ""), status: 200},
		{name: "fail/duplicate", method: "PUT", path: assignmentPath(strings.ToLower(rg)) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, vmAdminLogin, f.alice.ID, ""), status: 409, code: "RoleAssignmentExists",
			check: func(t *testing.T, m map[string]any) {
				if errorMessage(m) != "The role assignment already exists." {
					t.Fatalf("message %q", errorMessage(m))
				}
			}},
		{name: "ok/non-data-role-at-management-group", method: "PUT", path: assignmentPath(root) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, access.ReaderRoleID, f.carol.ID, "User"), status: 201},
		{name: "fail/list-no-role", method: "GET", path: rg + "/providers/Microsoft.Authorization/roleAssignments" + apiAuthz, tok: f.bobTok, status: 403, code: codeAuthz},
		{name: "fail/list-bad-filter", method: "GET", path: rg + "/providers/Microsoft.Authorization/roleAssignments" + apiAuthz + "&$filter=" + urlq("roleName eq 'x'"), tok: f.adminTok, status: 400},
		{name: "ok/list-principal", method: "GET", path: "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleAssignments" + apiAuthz + "&$filter=" + urlq("principalId eq '"+f.alice.ID+"'"),
			tok: f.adminTok, status: 200, check: wantIDs(dup)},
		{name: "ok/list-at-scope-sees-above-not-below", method: "GET", path: "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleAssignments" + apiAuthz + "&$filter=atScope()",
			tok: f.carolTok, status: 200, check: func(t *testing.T, m map[string]any) {
				for _, id := range ids(t, m) {
					if strings.Contains(strings.ToLower(id), "/resourcegroups/") {
						t.Fatalf("atScope() listed %s, below the scope", id)
					}
				}
				if len(ids(t, m)) < 3 { // the root Owner, carol's Reader, dave's Contributor
					t.Fatalf("atScope() listed %v", ids(t, m))
				}
			}},
		{name: "fail/delete-contributor", method: "DELETE", path: dup + apiAuthz, tok: f.daveTok, status: 403, code: codeAuthz},
		{name: "ok/get", method: "GET", path: dup + apiAuthz, tok: f.adminTok, status: 200, check: wantField(f.alice.ID, "properties", "principalId")},
		{name: "fail/get-under-other-scope", method: "GET", path: strings.Replace(dup, "/resourceGroups/myResourceGroup", "", 1) + apiAuthz, tok: f.adminTok, status: 404, code: "RoleAssignmentNotFound"},
		{name: "ok/delete", method: "DELETE", path: dup + apiAuthz, tok: f.adminTok, status: 200},
		{name: "ok/delete-again", method: "DELETE", path: dup + apiAuthz, tok: f.adminTok, status: 204},
	})
}

func TestARMRoleDefinitions(t *testing.T) {
	f := newARMFixture(t)
	defs := "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleDefinitions"
	custom := defs + "/" + uuid.NewString()
	body := map[string]any{"properties": map[string]any{"roleName": "Machine Operator", "type": "CustomRole", "description": "Restarts machines",
		"assignableScopes": []string{"/subscriptions/" + f.sub},
		"permissions":      []any{map[string]any{"actions": []string{"Microsoft.Compute/virtualMachines/read"}, "notActions": []string{}, "dataActions": []string{}, "notDataActions": []string{}}}}}
	dupName := map[string]any{"properties": map[string]any{"roleName": "virtual machine user login", "assignableScopes": []string{"/subscriptions/" + f.sub},
		"permissions": []any{map[string]any{"actions": []string{"*/read"}}}}}
	f.run(t, []armCase{
		{name: "ok/az-filter-by-name", method: "GET", path: defs + "?api-version=2018-01-01-preview&$filter=" + urlq("roleName eq 'Virtual Machine Administrator Login'"),
			tok: f.bobTok, status: 200, check: func(t *testing.T, m map[string]any) {
				v := values(t, m)
				if len(v) != 1 || v[0]["name"] != vmAdminLogin || field(v[0], "properties", "type") != "BuiltInRole" {
					t.Fatalf("got %v, want exactly the built-in role", v)
				}
				wantIDs(defs+"/"+vmAdminLogin)(t, m)
			}},
		{name: "ok/filter-no-match", method: "GET", path: defs + apiAuthz + "&$filter=" + urlq("roleName eq 'Nobody'"), tok: f.bobTok, status: 200, check: wantIDs()},
		{name: "fail/filter-unsupported", method: "GET", path: defs + apiAuthz + "&$filter=" + urlq("startswith(roleName,'V')"), tok: f.bobTok, status: 400},
		{name: "ok/get-builtin-at-root", method: "GET", path: "/providers/Microsoft.Authorization/roleDefinitions/" + vmUserLogin + apiAuthz, tok: f.bobTok, status: 200,
			check: wantField("Virtual Machine User Login", "properties", "roleName")},
		{name: "fail/get-unknown", method: "GET", path: defs + "/" + uuid.NewString() + apiAuthz, tok: f.bobTok, status: 404, code: "RoleDefinitionDoesNotExist"},
		{name: "fail/contributor-creates", method: "PUT", path: custom + apiAuthz, tok: f.daveTok, body: body, status: 403, code: codeAuthz},
		{name: "fail/builtin-name", method: "PUT", path: defs + "/" + uuid.NewString() + apiAuthz, tok: f.adminTok, body: dupName, status: 409, code: "RoleDefinitionWithSameNameExists"},
		{name: "fail/replace-builtin", method: "PUT", path: defs + "/" + vmUserLogin + apiAuthz, tok: f.adminTok, body: body, status: 400, code: "InvalidRoleDefinitionId"},
		{name: "ok/create", method: "PUT", path: custom + apiAuthz, tok: f.adminTok, body: body, status: 201, check: wantField("CustomRole", "properties", "type")},
		{name: "ok/listed-by-type", method: "GET", path: defs + apiAuthz + "&$filter=" + urlq("type eq 'CustomRole'"), tok: f.bobTok, status: 200, check: wantIDs(custom)},
		{name: "fail/delete-builtin", method: "DELETE", path: defs + "/" + vmUserLogin + apiAuthz, tok: f.adminTok, status: 400},
		{name: "fail/delete-contributor", method: "DELETE", path: custom + apiAuthz, tok: f.daveTok, status: 403, code: codeAuthz},
		{name: "ok/delete", method: "DELETE", path: custom + apiAuthz, tok: f.adminTok, status: 200},
		{name: "ok/delete-again", method: "DELETE", path: custom + apiAuthz, tok: f.adminTok, status: 204},
	})
}

// checkAccess is the decision function over HTTP: who may sign in where, as user or admin.
func TestARMCheckAccess(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "rg1")
	f.mkRG(t, "rg2")
	vm1 := f.mkVM(t, "rg1", "vm1")
	f.mkVM(t, "rg2", "vm2")
	f.assign(t, f.rgPath("rg1"), f.outer.ID, vmUserLogin)         // bob, through team ⊂ outer
	f.assign(t, f.vmPath("rg1", "vm1"), f.carol.ID, vmAdminLogin) // carol, at the machine
	f.assign(t, "/subscriptions/"+f.sub, f.alice.ID, access.OwnerRoleID)
	mi, _ := f.Store.GetServicePrincipal(t.Context(), f.Tenant.ID, field(vm1, "identity", "principalId").(string))
	miTok := f.armAppToken(t, mi)
	check := "/providers/Microsoft.Authorization/checkAccess" + apiAuthz
	login, admin := access.ActionVMLogin, access.ActionVMLoginAsAdmin
	vm1ID, vm2ID := f.vmPath("rg1", "vm1"), f.vmPath("rg2", "vm2")
	ask := func(principal, action, scope string) map[string]any {
		return map[string]any{"principalId": principal, "action": action, "scope": scope}
	}
	allowed := func(want bool) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			t.Helper()
			if m["allowed"] != want || m["reason"] == "" {
				t.Fatalf("allowed %v, want %v: %v", m["allowed"], want, m)
			}
		}
	}
	f.run(t, []armCase{
		{name: "fail/no-token", method: "POST", path: check, body: ask("", login, vm1ID), status: 401},
		{name: "fail/bad-scope", method: "POST", path: check, tok: f.bobTok, body: ask("", login, "/subscriptions/x"), status: 400},
		{name: "fail/bob-asks-about-carol", method: "POST", path: check, tok: f.bobTok, body: ask(f.carol.ID, login, vm1ID), status: 403, code: codeAuthz},
		{name: "fail/identity-asks-other-machine", method: "POST", path: check, tok: miTok, body: ask(f.bob.ID, login, vm2ID), status: 403, code: codeAuthz},
		{name: "fail/identity-asks-other-action", method: "POST", path: check, tok: miTok, body: ask(f.bob.ID, access.ActionVMWrite, vm1ID), status: 403, code: codeAuthz},
		{name: "deny/owner-no-login", method: "POST", path: check, tok: f.aliceTok, body: ask("", login, vm1ID), status: 200, check: allowed(false)},
		{name: "deny/contributor-no-admin-login", method: "POST", path: check, tok: f.daveTok, body: ask("", admin, vm1ID), status: 200, check: allowed(false)},
		{name: "deny/user-login-not-admin", method: "POST", path: check, tok: f.bobTok, body: ask("", admin, vm1ID), status: 200, check: allowed(false)},
		{name: "deny/group-not-sibling-group", method: "POST", path: check, tok: f.bobTok, body: ask("", login, vm2ID), status: 200, check: allowed(false)},
		{name: "deny/machine-grant-not-group", method: "POST", path: check, tok: f.carolTok, body: ask("", login, f.rgPath("rg1")), status: 200, check: allowed(false)},
		{name: "ok/nested-group-login", method: "POST", path: check, tok: f.bobTok, body: ask("", login, vm1ID), status: 200, check: func(t *testing.T, m map[string]any) {
			allowed(true)(t, m)
			if got, _ := m["matchedAssignments"].([]any); len(got) != 1 || !strings.HasPrefix(got[0].(string), f.rgPath("rg1")+"/providers/Microsoft.Authorization/roleAssignments/") {
				t.Fatalf("matched %v", m["matchedAssignments"])
			}
		}},
		{name: "ok/admin-login", method: "POST", path: check, tok: f.carolTok, body: ask("", admin, vm1ID), status: 200, check: allowed(true)},
		{name: "ok/admin-login-allows-user-login", method: "POST", path: check, tok: f.carolTok, body: ask(f.carol.ID, login, vm1ID), status: 200, check: allowed(true)},
		{name: "ok/identity-asks-own-machine", method: "POST", path: check, tok: miTok, body: ask(f.bob.ID, login, vm1ID), status: 200, check: allowed(true)},
		{name: "ok/identity-denied-admin", method: "POST", path: check, tok: miTok, body: ask(f.bob.ID, admin, strings.ToLower(vm1ID)), status: 200, check: allowed(false)},
		{name: "ok/owner-asks-about-others", method: "POST", path: check, tok: f.aliceTok, body: ask(f.carol.ID, admin, vm1ID), status: 200, check: allowed(true)},
	})
	// A disabled account is refused even where its roles allow.
	if _, err := f.Store.UpdateUser(t.Context(), f.Tenant.ID, f.carol.ID, func(u directory.User) (directory.User, error) {
		u.AccountEnabled = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.run(t, []armCase{{name: "deny/disabled-account", method: "POST", path: check, tok: miTok, body: ask(f.carol.ID, admin, vm1ID), status: 200, check: allowed(false)}})
}

// Assignments can only be written about the caller's own tenant's subscriptions.
func TestARMRoleAssignmentOtherTenant(t *testing.T) {
	f := newARMFixture(t)
	f.run(t, []armCase{
		{name: "fail/other-tenant-subscription", method: "PUT", path: assignmentPath("/subscriptions/"+f.otherSub) + apiAuthz, tok: f.adminTok,
			body: assignmentBody(f.sub, access.ReaderRoleID, f.alice.ID, "User"), status: 404, code: "SubscriptionNotFound"},
		{name: "fail/other-tenant-lists", method: "GET", path: "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleAssignments" + apiAuthz, tok: f.otherTok, status: 404, code: "SubscriptionNotFound"},
	})
}

// TestSubscriptionListedToRoleHolderBelow: a person whose only role is on a resource group
// sees the subscription the group is in (as in Azure), and nobody else's.
func TestSubscriptionListedToRoleHolderBelow(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "rg1")
	list := func(tok string) []any {
		resp, m := f.do(t, "GET", "/subscriptions?api-version=2022-12-01", tok, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %v", resp.StatusCode, m)
		}
		v, _ := m["value"].([]any)
		return v
	}
	if got := list(f.carolTok); len(got) != 0 {
		t.Fatalf("fail/no-role: carol sees %v", got)
	}
	f.assign(t, f.rgPath("rg1"), f.carol.ID, access.VMUserLoginRoleID)
	got := list(f.carolTok)
	if len(got) != 1 || field(got[0].(map[string]any), "subscriptionId") != f.sub {
		t.Fatalf("ok/role-below: carol sees %v, want only %s", got, f.sub)
	}
	if resp, _ := f.do(t, "GET", "/subscriptions/"+f.otherSub+"?api-version=2022-12-01", f.carolTok, nil); resp.StatusCode == 200 {
		t.Fatal("fail/other-tenant-subscription: readable")
	}
}
