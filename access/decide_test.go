package access

import (
	"strings"
	"testing"
)

const (
	alice  = "aaaaaaaa-0000-4000-8000-000000000001"
	bob    = "bbbbbbbb-0000-4000-8000-000000000002"
	admins = "eeeeeeee-0000-4000-8000-00000000000e" // a group alice belongs to
)

func assign(id, principal, role, scope string) RoleAssignment {
	return RoleAssignment{ID: id, PrincipalID: principal, PrincipalType: PrincipalUser, RoleDefinitionID: role, Scope: scope}
}

func TestDecide(t *testing.T) {
	roles := IndexRoles(BuiltInRoles()...)
	mg1 := MustParseScope(mgScope)
	rg2 := subScope + "/resourceGroups/rg2"
	vm2 := rg2 + "/providers/Microsoft.Compute/virtualMachines/vm2"
	login := func(s string) Request {
		return Request{PrincipalIDs: []string{alice, admins}, Action: ActionVMLogin, IsDataAction: true, Scope: MustParseScope(s)}
	}
	loginAsAdmin := func(s string) Request { r := login(s); r.Action = ActionVMLoginAsAdmin; return r }
	control := func(action, s string) Request {
		return Request{PrincipalIDs: []string{alice}, Action: action, Scope: MustParseScope(s)}
	}
	withAncestors := func(r Request, a ...Scope) Request { r.Ancestors = a; return r }
	conditional := assign("c1", alice, VMUserLoginRoleID, subScope)
	conditional.Condition, conditional.ConditionVersion = "@Resource[x] StringEquals 'y'", "2.0"

	for _, tc := range []struct {
		name        string
		req         Request
		assignments []RoleAssignment
		reason      string // a substring the reason must contain
	}{
		{name: "fail/no-assignments", req: login(vmScope), reason: "Virtual Machine User Login"},
		{name: "fail/owner-does-not-grant-login", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}},
		{name: "fail/contributor-does-not-grant-login", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, ContributorRoleID, subScope)}},
		{name: "fail/owner-does-not-grant-admin-login", req: loginAsAdmin(vmScope), assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, vmScope)}, reason: "Virtual Machine Administrator Login"},
		{name: "fail/user-login-is-not-admin", req: loginAsAdmin(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, vmScope)}},
		{name: "fail/reader-no-login", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, vmScope)}},
		{name: "fail/other-principal", req: login(vmScope), assignments: []RoleAssignment{assign("a1", bob, VMAdministratorLoginRoleID, subScope)}},
		{name: "fail/rg-assignment-not-for-other-rg", req: login(vm2), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, rgScope)}},
		{name: "fail/rg-assignment-not-for-subscription", req: control(ActionVMRead, subScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, rgScope)}},
		{name: "fail/vm-assignment-not-for-rg", req: control(ActionVMRead, rgScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, vmScope)}},
		{name: "fail/other-subscription", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, "/subscriptions/"+sub2)}},
		{name: "fail/management-group-without-ancestors", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, mgScope)}},
		{name: "fail/unknown-role", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, "deadbeef-0000-4000-8000-000000000000", subScope)}},
		{name: "fail/malformed-assignment-scope", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, subScope+"/")}},
		{name: "fail/condition-ignored", req: login(vmScope), assignments: []RoleAssignment{conditional}, reason: "conditions"},
		{name: "fail/contributor-no-role-assignment", req: control(ActionRoleAssignmentsWrite, rgScope), assignments: []RoleAssignment{assign("a1", alice, ContributorRoleID, subScope)}},
		{name: "fail/no-principal", req: Request{Action: ActionVMLogin, IsDataAction: true, Scope: MustParseScope(vmScope)},
			assignments: []RoleAssignment{assign("a1", "", VMUserLoginRoleID, subScope)}, reason: "no principal"},
		{name: "fail/no-action", req: Request{PrincipalIDs: []string{alice}, Scope: MustParseScope(vmScope)},
			assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, reason: "no action"},
		{name: "fail/no-scope", req: Request{PrincipalIDs: []string{alice}, Action: ActionVMRead},
			assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, reason: "no scope"},
		{name: "fail/control-action-asked-as-data", req: Request{PrincipalIDs: []string{alice}, Action: ActionVMRead, IsDataAction: true, Scope: MustParseScope(vmScope)},
			assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}},
		{name: "ok/user-login-at-vm", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, vmScope)}, reason: "Virtual Machine User Login"},
		{name: "ok/admin-login-grants-login", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMAdministratorLoginRoleID, vmScope)}},
		{name: "ok/admin-login-grants-admin", req: loginAsAdmin(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMAdministratorLoginRoleID, rgScope)}},
		{name: "ok/subscription-to-rg", req: control(ActionResourceGroupsRead, rgScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, subScope)}},
		{name: "ok/subscription-to-vm", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, subScope)}},
		{name: "ok/subscription-to-extension", req: control(ActionVMExtensionsRead, extScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, subScope)}},
		{name: "ok/reader-reads-vm", req: control(ActionVMRead, vmScope), assignments: []RoleAssignment{assign("a1", alice, ReaderRoleID, vmScope)}},
		{name: "ok/via-group", req: login(vmScope), assignments: []RoleAssignment{assign("a1", admins, VMUserLoginRoleID, rgScope)}},
		{name: "ok/root", req: login(vmScope), assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, "/")}},
		{name: "ok/management-group-via-ancestors", req: withAncestors(login(vmScope), MustParseScope("/providers/Microsoft.Management/managementGroups/child"), mg1),
			assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, mgScope)}},
		{name: "ok/case-insensitive-ids-and-scope", req: login(vmScope),
			assignments: []RoleAssignment{assign("a1", strings.ToUpper(alice), strings.ToUpper(VMUserLoginRoleID), strings.ToUpper(rgScope))}},
		{name: "ok/full-arm-role-id", req: login(vmScope),
			assignments: []RoleAssignment{assign("a1", alice, "/subscriptions/"+sub1+"/providers/Microsoft.Authorization/roleDefinitions/"+VMUserLoginRoleID, subScope)}},
		{name: "ok/condition-ignored-but-another-grants", req: login(vmScope),
			assignments: []RoleAssignment{conditional, assign("a2", alice, VMUserLoginRoleID, vmScope)}},
		{name: "ok/owner-writes-role-assignments", req: control(ActionRoleAssignmentsWrite, rgScope), assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, subScope)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.req, tc.assignments, roles)
			want := strings.HasPrefix(tc.name, "ok/")
			if d.Allowed != want {
				t.Fatalf("allowed = %v: %s", d.Allowed, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) || d.Reason == "" {
				t.Fatalf("reason %q lacks %q", d.Reason, tc.reason)
			}
			if want != (len(d.MatchedAssignments) > 0) {
				t.Fatalf("matched %v", d.MatchedAssignments)
			}
		})
	}
}

func TestDecideReportsEveryGrantInOrder(t *testing.T) {
	roles := IndexRoles(BuiltInRoles()...)
	as := []RoleAssignment{
		assign("a3", alice, VMAdministratorLoginRoleID, subScope),
		assign("a1", alice, VMUserLoginRoleID, vmScope),
		assign("a2", bob, VMUserLoginRoleID, vmScope),
	}
	d := Decide(Request{PrincipalIDs: []string{alice}, Action: ActionVMLogin, IsDataAction: true, Scope: MustParseScope(vmScope)}, as, roles)
	if !d.Allowed || len(d.MatchedAssignments) != 2 || d.MatchedAssignments[0].ID != "a1" || d.MatchedAssignments[1].ID != "a3" {
		t.Fatalf("%+v", d)
	}
}

func TestDecideIgnoresMisfiledRoles(t *testing.T) {
	// A map entry whose definition has another id must not stand in for the role asked for.
	owner, _ := BuiltInRole(OwnerRoleID)
	user, _ := BuiltInRole(VMUserLoginRoleID)
	roles := map[string]RoleDefinition{VMUserLoginRoleID: owner, OwnerRoleID: user}
	d := Decide(Request{PrincipalIDs: []string{alice}, Action: ActionVMLogin, IsDataAction: true, Scope: MustParseScope(vmScope)},
		[]RoleAssignment{assign("a1", alice, OwnerRoleID, subScope)}, roles)
	if d.Allowed {
		t.Fatal("a misfiled role granted access")
	}
}
