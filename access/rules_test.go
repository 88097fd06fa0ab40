package access

import (
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

const (
	assignmentID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	customRoleID = "c0ffee00-0000-4000-8000-000000000001"
)

func customRole(mutate func(*RoleDefinition)) RoleDefinition {
	d := RoleDefinition{
		ID: customRoleID, RoleName: "Machine Operator", RoleType: RoleTypeCustom,
		Permissions:      []Permission{{Actions: []string{"Microsoft.Compute/virtualMachines/*/read", ActionVMRead}}},
		AssignableScopes: []string{subScope},
	}
	if mutate != nil {
		mutate(&d)
	}
	return d
}

func TestValidateAssignment(t *testing.T) {
	userLogin, _ := BuiltInRole(VMUserLoginRoleID)
	owner, _ := BuiltInRole(OwnerRoleID)
	dataCustom := customRole(func(d *RoleDefinition) {
		d.Permissions = []Permission{{DataActions: []string{ActionVMLogin}}}
		d.AssignableScopes = []string{mgScope}
	})
	mgCustom := customRole(func(d *RoleDefinition) { d.AssignableScopes = []string{mgScope} })
	base := func(role RoleDefinition, scope string, mutate ...func(*RoleAssignment)) RoleAssignment {
		a := RoleAssignment{ID: assignmentID, Scope: scope, RoleDefinitionID: role.ID, PrincipalID: alice, PrincipalType: PrincipalUser}
		for _, m := range mutate {
			m(&a)
		}
		return a
	}
	existing := []RoleAssignment{{ID: "0d0d0d0d-0000-4000-8000-000000000000", Scope: strings.ToUpper(rgScope),
		RoleDefinitionID: "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + VMUserLoginRoleID,
		PrincipalID:      strings.ToUpper(alice), PrincipalType: PrincipalUser}}

	for _, tc := range []struct {
		name       string
		a          RoleAssignment
		role       RoleDefinition
		existing   []RoleAssignment
		apiVersion string
		ancestors  []Scope
		kind       errs.Kind
		code       errs.Code
		message    string
	}{
		{name: "fail/id-not-guid", a: base(owner, rgScope, func(a *RoleAssignment) { a.ID = "my-assignment" }), role: owner, code: CodeInvalidRoleAssignmentID},
		{name: "fail/id-empty", a: base(owner, rgScope, func(a *RoleAssignment) { a.ID = "" }), role: owner, code: CodeInvalidRoleAssignmentID},
		{name: "fail/scope-malformed", a: base(owner, rgScope+"/"), role: owner, code: "InvalidScope"},
		{name: "fail/scope-empty", a: base(owner, ""), role: owner, code: "InvalidScope"},
		{name: "fail/principal-not-guid", a: base(owner, rgScope, func(a *RoleAssignment) { a.PrincipalID = "alice@contoso.test" }), role: owner, code: CodeInvalidPrincipalID},
		{name: "fail/principal-empty", a: base(owner, rgScope, func(a *RoleAssignment) { a.PrincipalID = "" }), role: owner, code: CodeInvalidPrincipalID},
		{name: "fail/principal-type-unknown", a: base(owner, rgScope, func(a *RoleAssignment) { a.PrincipalType = "Robot" }), role: owner, code: CodeInvalidPrincipalType},
		{name: "fail/principal-type-wrong-case", a: base(owner, rgScope, func(a *RoleAssignment) { a.PrincipalType = "user" }), role: owner, code: CodeInvalidPrincipalType},
		{name: "fail/principal-type-empty", a: base(owner, rgScope, func(a *RoleAssignment) { a.PrincipalType = "" }), role: owner, code: CodeInvalidPrincipalType},
		{name: "fail/role-id-mismatch", a: base(owner, rgScope), role: userLogin, code: CodeInvalidRoleDefinitionID},
		{name: "fail/role-id-garbage", a: base(owner, rgScope, func(a *RoleAssignment) { a.RoleDefinitionID = "Owner" }), role: owner, code: CodeInvalidRoleDefinitionID},
		{name: "fail/condition-without-version", a: base(owner, rgScope, func(a *RoleAssignment) { a.Condition = "x" }), role: owner, code: CodeInvalidCondition},
		{name: "fail/condition-version-1", a: base(owner, rgScope, func(a *RoleAssignment) { a.Condition, a.ConditionVersion = "x", "1.0" }), role: owner, code: CodeInvalidCondition},
		{name: "fail/condition-version-alone", a: base(owner, rgScope, func(a *RoleAssignment) { a.ConditionVersion = "2.0" }), role: owner, code: CodeInvalidCondition},
		{name: "fail/api-version-missing", a: base(userLogin, rgScope), role: userLogin, apiVersion: "-", code: CodeMissingAPIVersion},
		{name: "fail/api-version-garbage", a: base(userLogin, rgScope), role: userLogin, apiVersion: "latest", code: CodeInvalidAPIVersion},
		{name: "fail/api-version-bad-suffix", a: base(userLogin, rgScope), role: userLogin, apiVersion: "2022-04-01-", code: CodeInvalidAPIVersion},
		{name: "fail/old-api-version-data-actions", a: base(userLogin, rgScope), role: userLogin, apiVersion: "2015-07-01",
			code: CodeUnsupportedAPIVersionDataActions, message: "not supported on API version '2015-07-01'. The minimum required API version for this operations is '2018-01-01-preview'."},
		{name: "fail/old-preview-api-version-data-actions", a: base(userLogin, rgScope), role: userLogin, apiVersion: "2017-10-01-preview", code: CodeUnsupportedAPIVersionDataActions},
		{name: "fail/built-in-login-at-management-group", a: base(userLogin, mgScope), role: userLogin, code: CodeInvalidCreateRoleAssignment,
			message: "The Virtual Machine Administrator Login and Virtual Machine User Login roles use dataActions, so they can't be assigned at the management group scope."},
		{name: "fail/custom-data-actions-at-management-group", a: base(dataCustom, mgScope), role: dataCustom, code: CodeInvalidCreateRoleAssignment,
			message: "Role assignments to Management Groups can not be made to custom role definitions with DataActions"},
		{name: "fail/outside-assignable-scopes", a: base(customRole(nil), "/subscriptions/"+sub2), role: customRole(nil), code: CodeInvalidRoleAssignmentScope},
		{name: "fail/above-assignable-scope", a: base(customRole(nil), "/"), role: customRole(nil), code: CodeInvalidRoleAssignmentScope},
		{name: "fail/management-group-assignable-without-hierarchy", a: base(mgCustom, rgScope), role: mgCustom, code: CodeInvalidRoleAssignmentScope},
		{name: "fail/no-assignable-scopes", a: base(customRole(nil), rgScope), role: customRole(func(d *RoleDefinition) { d.AssignableScopes = nil }), code: CodeInvalidRoleAssignmentScope},
		{name: "fail/exists", a: base(userLogin, rgScope), role: userLogin, existing: existing, kind: errs.Exists, code: CodeRoleAssignmentExists,
			message: "The role assignment already exists."},
		{name: "fail/exists-full-role-id", a: base(userLogin, rgScope, func(a *RoleAssignment) { a.RoleDefinitionID = strings.ToUpper(VMUserLoginRoleID) }),
			role: userLogin, existing: existing, kind: errs.Exists, code: CodeRoleAssignmentExists},
		{name: "fail/update-changes-principal", a: base(userLogin, rgScope, func(a *RoleAssignment) { a.ID = existing[0].ID; a.PrincipalID = bob }),
			role: userLogin, existing: existing, code: CodeRoleAssignmentUpdateNotPermitted},
		{name: "fail/update-changes-scope", a: base(userLogin, vmScope, func(a *RoleAssignment) { a.ID = existing[0].ID }),
			role: userLogin, existing: existing, code: CodeRoleAssignmentUpdateNotPermitted},
		{name: "ok/user-login-at-resource-group", a: base(userLogin, rgScope), role: userLogin},
		{name: "ok/user-login-at-subscription-new-api", a: base(userLogin, subScope), role: userLogin, apiVersion: "2018-01-01-preview"},
		{name: "ok/owner-at-management-group", a: base(owner, mgScope), role: owner},
		{name: "ok/owner-old-api-version", a: base(owner, rgScope), role: owner, apiVersion: "2015-07-01"},
		{name: "ok/custom-inside-assignable-scope", a: base(customRole(nil), vmScope), role: customRole(nil)},
		{name: "ok/custom-at-management-group-below", a: base(mgCustom, rgScope), role: mgCustom, ancestors: []Scope{MustParseScope(mgScope)}},
		{name: "ok/same-triple-other-principal", a: base(userLogin, rgScope, func(a *RoleAssignment) { a.PrincipalID = bob }), role: userLogin, existing: existing},
		{name: "ok/same-triple-other-scope", a: base(userLogin, subScope), role: userLogin, existing: existing},
		{name: "ok/idempotent-update", a: base(userLogin, rgScope, func(a *RoleAssignment) { a.ID = existing[0].ID; a.Description = "new" }),
			role: userLogin, existing: existing},
		{name: "ok/group-with-condition", a: base(userLogin, rgScope, func(a *RoleAssignment) {
			a.PrincipalType, a.Condition, a.ConditionVersion = PrincipalGroup, "@Resource[x] StringEquals 'y'", "2.0"
		}), role: userLogin},
		{name: "ok/device", a: base(userLogin, vmScope, func(a *RoleAssignment) { a.PrincipalType = PrincipalDevice }), role: userLogin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := tc.apiVersion
			switch api {
			case "":
				api = CurrentAPIVersion
			case "-":
				api = ""
			}
			err := ValidateAssignmentAt(tc.a, tc.role, tc.existing, api, tc.ancestors)
			checkRefusal(t, err, tc.name, tc.kind, tc.code, tc.message)
		})
	}
}

// checkRefusal checks a fail/ case's kind (Invalid unless given), code and message, and that
// an ok/ case passed.
func checkRefusal(t *testing.T, err error, name string, kind errs.Kind, code errs.Code, message string) {
	t.Helper()
	if strings.HasPrefix(name, "ok/") {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if kind == errs.Internal {
		kind = errs.Invalid
	}
	if err == nil {
		t.Fatal("accepted")
	}
	if errs.KindOf(err) != kind || errs.CodeOf(err) != code || !strings.Contains(errs.Message(err), message) {
		t.Fatalf("got %v (kind %v, code %q), want kind %v code %q message containing %q", err, errs.KindOf(err), errs.CodeOf(err), kind, code, message)
	}
}

func TestValidateRoleDefinition(t *testing.T) {
	perm := func(p Permission) func(*RoleDefinition) {
		return func(d *RoleDefinition) { d.Permissions = []Permission{p} }
	}
	scopes := func(s ...string) func(*RoleDefinition) { return func(d *RoleDefinition) { d.AssignableScopes = s } }
	mg2 := "/providers/Microsoft.Management/managementGroups/mg2"
	for _, tc := range []struct {
		name      string
		mutate    func(*RoleDefinition)
		allowRoot bool
		code      errs.Code
	}{
		{name: "fail/id-not-guid", mutate: func(d *RoleDefinition) { d.ID = "operator" }, code: CodeInvalidRoleDefinitionID},
		{name: "fail/id-of-built-in", mutate: func(d *RoleDefinition) { d.ID = strings.ToUpper(OwnerRoleID) }, code: CodeInvalidRoleDefinitionID},
		{name: "fail/type-built-in", mutate: func(d *RoleDefinition) { d.RoleType = RoleTypeBuiltIn }, code: CodeInvalidRoleDefinition},
		{name: "fail/type-empty", mutate: func(d *RoleDefinition) { d.RoleType = "" }, code: CodeInvalidRoleDefinition},
		{name: "fail/name-empty", mutate: func(d *RoleDefinition) { d.RoleName = "" }, code: CodeInvalidRoleDefinition},
		{name: "fail/name-blank", mutate: func(d *RoleDefinition) { d.RoleName = "   " }, code: CodeInvalidRoleDefinition},
		{name: "fail/name-too-long", mutate: func(d *RoleDefinition) { d.RoleName = strings.Repeat("n", 513) }, code: CodeInvalidRoleDefinition},
		{name: "fail/name-control-character", mutate: func(d *RoleDefinition) { d.RoleName = "Operator\n" }, code: CodeInvalidRoleDefinition},
		{name: "fail/description-too-long", mutate: func(d *RoleDefinition) { d.Description = strings.Repeat("d", 2049) }, code: CodeInvalidRoleDefinition},
		{name: "fail/no-permissions", mutate: func(d *RoleDefinition) { d.Permissions = nil }, code: CodeInvalidRoleDefinition},
		{name: "fail/only-not-actions", mutate: perm(Permission{NotActions: []string{ActionVMDelete}}), code: CodeInvalidRoleDefinition},
		{name: "fail/action-empty", mutate: perm(Permission{Actions: []string{""}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/action-without-provider", mutate: perm(Permission{Actions: []string{"read"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/action-empty-segment", mutate: perm(Permission{Actions: []string{"Microsoft.Compute//read"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/action-trailing-slash", mutate: perm(Permission{Actions: []string{"Microsoft.Compute/"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/action-space", mutate: perm(Permission{Actions: []string{"Microsoft.Compute/virtual Machines/read"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/action-too-long", mutate: perm(Permission{Actions: []string{"Microsoft.Compute/" + strings.Repeat("a", 512)}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/not-action-malformed", mutate: perm(Permission{Actions: []string{"*"}, NotActions: []string{"Microsoft.Compute/?"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/data-action-star-alone", mutate: perm(Permission{DataActions: []string{"*"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/not-data-action-star-alone", mutate: perm(Permission{DataActions: []string{ActionVMLogin}, NotDataActions: []string{"*"}}), code: CodeInvalidActionOrNotAction},
		{name: "fail/no-assignable-scopes", mutate: scopes(), code: CodeInvalidAssignableScopes},
		{name: "fail/assignable-scope-malformed", mutate: scopes("subscriptions/" + sub1), code: CodeInvalidAssignableScopes},
		{name: "fail/assignable-root", mutate: scopes("/"), code: CodeInvalidAssignableScopes},
		{name: "fail/two-management-groups", mutate: scopes(mgScope, mg2), code: CodeInvalidAssignableScopes},
		{name: "ok/minimal"},
		{name: "ok/wildcards", mutate: perm(Permission{Actions: []string{"*/read", "Microsoft.Compute/*", "Microsoft.*/x"}, NotActions: []string{"Microsoft.Compute/*/delete"}})},
		{name: "ok/data-actions", mutate: perm(Permission{DataActions: []string{ActionVMLogin, "Microsoft.Compute/virtualMachines/*"}})},
		{name: "ok/actions-star", mutate: perm(Permission{Actions: []string{"*"}})},
		{name: "ok/management-group-and-subscriptions", mutate: scopes(mgScope, subScope, "/subscriptions/"+sub2+"/resourceGroups/rg")},
		{name: "ok/root-when-allowed", mutate: scopes("/"), allowRoot: true},
		{name: "ok/name-512", mutate: func(d *RoleDefinition) { d.RoleName = strings.Repeat("é", 512) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RoleDefinitionRules{AllowRootAssignableScope: tc.allowRoot}.Validate(customRole(tc.mutate))
			checkRefusal(t, err, tc.name, errs.Invalid, tc.code, "")
		})
	}
	if err := ValidateRoleDefinition(customRole(scopes("/"))); errs.CodeOf(err) != CodeInvalidAssignableScopes {
		t.Fatalf("the strict rules accepted root: %v", err)
	}
}

func TestCheckRoleNameUnique(t *testing.T) {
	other := customRole(func(d *RoleDefinition) { d.ID = "c0ffee00-0000-4000-8000-000000000002" })
	for _, tc := range []struct {
		name     string
		d        RoleDefinition
		existing []RoleDefinition
	}{
		{name: "fail/built-in-name", d: customRole(func(d *RoleDefinition) { d.RoleName = "virtual machine user login" })},
		{name: "fail/other-custom-role", d: customRole(nil), existing: []RoleDefinition{other}},
		{name: "fail/other-custom-role-spaces", d: customRole(func(d *RoleDefinition) { d.RoleName = " Machine Operator " }), existing: []RoleDefinition{other}},
		{name: "ok/new-name", d: customRole(nil)},
		{name: "ok/update-of-itself", d: customRole(nil), existing: []RoleDefinition{customRole(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRefusal(t, CheckRoleNameUnique(tc.d, tc.existing), tc.name, errs.Exists, CodeRoleDefinitionWithSameNameExist, "same name")
		})
	}
}

func TestErrRoleDefinitionNotFound(t *testing.T) {
	err := ErrRoleDefinitionNotFound("x'\n" + strings.Repeat("y", 100))
	if errs.KindOf(err) != errs.NotFound || errs.CodeOf(err) != CodeRoleDefinitionDoesNotExist ||
		strings.ContainsAny(errs.Message(err)[len("The specified role definition with ID '"):len(errs.Message(err))-len("' does not exist.")], "'\n") {
		t.Fatalf("%v", err)
	}
}

func TestAssignableAt(t *testing.T) {
	role := customRole(func(d *RoleDefinition) { d.AssignableScopes = []string{"not a scope", mgScope, rgScope} })
	for _, tc := range []struct {
		name, scope string
		ancestors   []Scope
	}{
		{name: "fail/subscription-above-rg", scope: subScope},
		{name: "fail/below-management-group-without-hierarchy", scope: "/subscriptions/" + sub2},
		{name: "fail/root", scope: "/", ancestors: []Scope{MustParseScope(mgScope)}},
		{name: "ok/rg", scope: rgScope},
		{name: "ok/vm-in-rg", scope: vmScope},
		{name: "ok/below-management-group", scope: "/subscriptions/" + sub2, ancestors: []Scope{MustParseScope(mgScope)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := role.AssignableAt(MustParseScope(tc.scope), tc.ancestors); got != strings.HasPrefix(tc.name, "ok/") {
				t.Fatalf("AssignableAt = %v", got)
			}
		})
	}
}
