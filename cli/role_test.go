package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const rgScope = "/subscriptions/" + subID + "/resourceGroups/myResourceGroup"

// roleHarness has a resource group and a user bob@contoso.test in the fake directory.
func roleHarness(t *testing.T) (*harness, string) {
	h := newVMHarness(t)
	user := decode(t, mustRun(t, h, "ad", "user", "create", "--display-name", "Bob", "--password", "x", "--user-principal-name", "bob@contoso.test"))
	return h, objectID(user)
}

func TestRoleDefinitions(t *testing.T) {
	h := newHarness(t)
	h.login()
	def := decode(t, mustRun(t, h, "role", "definition", "list", "--name", "Virtual Machine Administrator Login")).([]any)
	if len(def) != 1 {
		t.Fatalf("list --name: %v", def)
	}
	d := def[0].(map[string]any)
	if d["name"] != vmAdminLoginID || d["roleType"] != "BuiltInRole" || d["type"] != "Microsoft.Authorization/roleDefinitions" || d["properties"] != nil {
		t.Errorf("flattened definition %v", d)
	}
	byID := mustRun(t, h, "role", "definition", "list", "-n", vmUserLoginID, "--query", "[].roleName", "-o", "tsv")
	if byID != "Virtual Machine User Login\n" {
		t.Errorf("list by id = %q", byID)
	}
	file := filepath.Join(t.TempDir(), "role.json")
	os.WriteFile(file, []byte(`{"Name":"Contoso Login","Description":"Sign in.","Actions":[],"DataActions":["Microsoft.Compute/virtualMachines/login/action"],"AssignableScopes":["/subscriptions/`+subID+`"]}`), 0o600)
	created := decode(t, mustRun(t, h, "role", "definition", "create", "--role-definition", "@"+file)).(map[string]any)
	if created["roleName"] != "Contoso Login" || created["roleType"] != "CustomRole" {
		t.Errorf("create printed %v", created)
	}
	body := armBody(t, h, "PUT /subscriptions/"+subID+"/providers/Microsoft.Authorization/roleDefinitions/")
	wantPerm := []any{map[string]any{"actions": []any{}, "notActions": nil, "dataActions": []any{"Microsoft.Compute/virtualMachines/login/action"}, "notDataActions": nil}}
	if props := body["properties"].(map[string]any); props["type"] != "CustomRole" || !reflect.DeepEqual(props["permissions"], wantPerm) {
		t.Errorf("create body %v", body)
	}
	if got := mustRun(t, h, "role", "definition", "list", "--custom-role-only", "--query", "[].roleName", "-o", "tsv"); got != "Contoso Login\n" {
		t.Errorf("custom only = %q", got)
	}
	table := mustRun(t, h, "role", "definition", "list", "--custom-role-only", "true", "-o", "table")
	if !strings.HasPrefix(table, "Name           Type                                     Description\n") {
		t.Errorf("definition table:\n%s", table)
	}
	mustRun(t, h, "role", "definition", "delete", "--name", "Contoso Login")
	if got := mustRun(t, h, "role", "definition", "list", "--custom-role-only"); got != "[]\n" {
		t.Errorf("after delete = %q", got)
	}
}

func TestRoleDefinitionCreateRefusals(t *testing.T) {
	h := newHarness(t)
	h.login()
	for name, tc := range map[string]struct{ arg, want string }{
		"fail/not-json":  {"{oops", "Failed to parse string as JSON"},
		"fail/list":      {"[]", "A valid dictionary JSON representation is expected."},
		"fail/no-name":   {`{"AssignableScopes":["/"]}`, "please provide role name"},
		"fail/no-scopes": {`{"Name":"x"}`, "please provide 'assignableScopes'"},
		"fail/bad-scope": {`{"Name":"x","AssignableScopes":["subscriptions/x"]}`, "Invalid scope"},
		"fail/no-file":   {"@/nonexistent/role.json", "cannot read /nonexistent/role.json"},
	} {
		if r := h.run("role", "definition", "create", "--role-definition", tc.arg); r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func TestRoleAssignmentAsTheArticle(t *testing.T) {
	h, bob := roleHarness(t)
	out := decode(t, mustRun(t, h, "role", "assignment", "create", "--role", "Virtual Machine Administrator Login",
		"--assignee", "bob@contoso.test", "--scope", rgScope)).(map[string]any)
	if out["principalId"] != bob || out["principalType"] != "User" || out["scope"] != rgScope || out["resourceGroup"] != "myResourceGroup" {
		t.Errorf("create printed %v", out)
	}
	if !slices.Contains(h.idp.graph.requestLog(), "GET /v1.0/users?userPrincipalName eq 'bob@contoso.test' null") {
		t.Errorf("the assignee was not looked up by UPN: %v", h.idp.graph.requestLog())
	}
	if !slices.Contains(h.idp.arm.requestLog(), "GET "+rgScope+"/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20%27Virtual%20Machine%20Administrator%20Login%27&api-version=2022-04-01") {
		t.Errorf("the role was not looked up by name: %v", h.idp.arm.requestLog())
	}
	body := armBody(t, h, "PUT "+rgScope+"/providers/Microsoft.Authorization/roleAssignments/")
	want := map[string]any{"properties": map[string]any{"principalId": bob, "principalType": "User",
		"roleDefinitionId": "/subscriptions/" + subID + "/providers/Microsoft.Authorization/roleDefinitions/" + vmAdminLoginID}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("PUT body %v", body)
	}

	// Again: ARM answers 409 RoleAssignmentExists, and az prints the existing assignment.
	again := decode(t, mustRun(t, h, "role", "assignment", "create", "--role", "Virtual Machine Administrator Login",
		"--assignee", "bob@contoso.test", "--scope", rgScope)).(map[string]any)
	if again["id"] != out["id"] || again["principalName"] != "bob@contoso.test" || again["roleDefinitionName"] != "Virtual Machine Administrator Login" {
		t.Errorf("existing assignment printed %v", again)
	}

	// The object id variant, for a user whose sign-in name is in another domain.
	res := h.run("role", "assignment", "create", "--role", "Virtual Machine User Login", "--assignee-object-id", bob, "--resource-group", "myResourceGroup")
	if res.code != 0 || !strings.Contains(res.stderr, "Better to specify --assignee-principal-type manually.") {
		t.Errorf("object id create: %+v", res)
	}
	if b := armBody(t, h, "PUT "+rgScope+"/providers/Microsoft.Authorization/roleAssignments/"); b["properties"].(map[string]any)["principalType"] != "User" {
		t.Errorf("principal type from getByIds: %v", b)
	}
	table := mustRun(t, h, "role", "assignment", "list", "--assignee", "bob@contoso.test", "-g", "myResourceGroup", "-o", "table")
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	want2 := []string{"Principal         Role                                 Scope",
		"----------------  -----------------------------------  " + strings.Repeat("-", len(rgScope)),
		"bob@contoso.test  Virtual Machine Administrator Login  " + rgScope,
		"bob@contoso.test  Virtual Machine User Login           " + rgScope}
	slices.Sort(lines[2:]) // rows come in the server's order
	if !reflect.DeepEqual(lines, want2) {
		t.Errorf("list table:\n%s\nwant:\n%s", table, strings.Join(want2, "\n"))
	}
}

func TestRoleAssignmentListScopes(t *testing.T) {
	h, bob := roleHarness(t)
	sub := "/subscriptions/" + subID
	mustRun(t, h, "role", "assignment", "create", "--role", vmUserLoginID, "--assignee-object-id", bob, "--assignee-principal-type", "User", "--scope", sub)
	mustRun(t, h, "role", "assignment", "create", "--role", "Virtual Machine Administrator Login", "--assignee", bob, "-g", "myResourceGroup")
	count := func(args ...string) string {
		return strings.TrimSpace(mustRun(t, h, append([]string{"role", "assignment", "list", "--query", "length(@)"}, args...)...))
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ok/subscription-only", nil, "1"},
		{"ok/group-exact", []string{"-g", "myResourceGroup"}, "1"},
		{"ok/group-inherited", []string{"-g", "myResourceGroup", "--include-inherited"}, "2"},
		{"ok/all", []string{"--all"}, "2"},
		{"ok/by-role", []string{"--all", "--role", "Virtual Machine User Login"}, "1"},
		{"ok/by-assignee", []string{"--all", "--assignee", "bob@contoso.test"}, "2"},
	} {
		if got := count(tc.args...); got != tc.want {
			t.Errorf("%s: %s assignments, want %s", tc.name, got, tc.want)
		}
	}
	mustRun(t, h, "role", "assignment", "delete", "--assignee", "bob@contoso.test", "--role", "Virtual Machine Administrator Login", "-g", "myResourceGroup")
	if got := count("--all"); got != "1" {
		t.Errorf("after delete: %s", got)
	}
	if r := h.run("role", "assignment", "delete", "--assignee", "bob@contoso.test", "-g", "myResourceGroup"); r.code != 1 || !strings.Contains(r.stderr, "No matched assignments were found to delete") {
		t.Errorf("fail/delete-nothing: %+v", r)
	}
	id := strings.TrimSpace(mustRun(t, h, "role", "assignment", "list", "--query", "[0].id", "-o", "tsv"))
	mustRun(t, h, "role", "assignment", "delete", "--ids", id)
	if got := count("--all"); got != "0" {
		t.Errorf("after delete --ids: %s", got)
	}
}

func TestRoleAssignmentRefusals(t *testing.T) {
	h, bob := roleHarness(t)
	role := []string{"role", "assignment", "create", "--role", "Virtual Machine User Login"}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no-assignee", []string{"--scope", rgScope}, 1, "usage error: --assignee STRING | --assignee-object-id GUID"},
		{"fail/both-assignees", []string{"--assignee", "bob@contoso.test", "--assignee-object-id", bob}, 1, "usage error: --assignee STRING | --assignee-object-id GUID"},
		{"fail/type-without-object-id", []string{"--assignee", "bob@contoso.test", "--assignee-principal-type", "User"}, 1, "usage error: --assignee-object-id GUID --assignee-principal-type TYPE"},
		{"fail/empty-assignee", []string{"--assignee", ""}, 1, "usage error: --assignee can't be an empty string."},
		{"fail/unknown-user", []string{"--assignee", "nobody@contoso.test", "-g", "myResourceGroup"}, 1, "Cannot find user or service principal in graph database for 'nobody@contoso.test'."},
		{"fail/unknown-role", []string{"--assignee", "bob@contoso.test", "--role", "Nope"}, 1, "Role 'Nope' doesn't exist."},
		{"fail/scope-and-group", []string{"--assignee", "bob@contoso.test", "--scope", rgScope, "-g", "x"}, 1, `Resource group "x" is redundant because scope is supplied`},
		{"fail/bad-type", []string{"--assignee-object-id", bob, "--assignee-principal-type", "Robot"}, 2, "invalid choice: 'Robot'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.run(append(slices.Clone(role), tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
	if r := h.run("role", "assignment", "list", "--all", "-g", "x"); r.code != 1 || !strings.Contains(r.stderr, "group or scope are not required when --all is used") {
		t.Errorf("fail/all-with-group: %+v", r)
	}
	if r := h.run("role", "assignment", "delete"); r.code != 1 || !strings.Contains(r.stderr, "Operation cancelled.") {
		t.Errorf("fail/delete-everything-without-yes: %+v", r)
	}
}
