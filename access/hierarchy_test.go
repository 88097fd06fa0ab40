package access

import "testing"

func TestManagementGroupAncestors(t *testing.T) {
	mg := func(name string) Scope {
		return MustParseScope("/providers/Microsoft.Management/managementGroups/" + name)
	}
	tree := map[string]Scope{subScope: mg("child"), mg("child").String(): mg("mg1"), mg("mg1").String(): mg("root")}
	parentOf := func(s Scope) (Scope, bool) { p, ok := tree[s.String()]; return p, ok }
	names := func(ss []Scope) (out []string) {
		for _, s := range ss {
			out = append(out, s.ManagementGroupName())
		}
		return out
	}
	for _, tc := range []struct {
		name, target string
		parentOf     func(Scope) (Scope, bool)
		want         []string
	}{
		{name: "fail/root-has-none", target: "/", parentOf: parentOf},
		{name: "fail/no-hierarchy", target: vmScope},
		{name: "fail/unknown-subscription", target: "/subscriptions/" + sub2, parentOf: parentOf},
		{name: "fail/cycle-stops", target: subScope, parentOf: func(Scope) (Scope, bool) { return mg("a"), true }, want: []string{"a"}},
		{name: "fail/non-group-parent-stops", target: subScope, parentOf: func(Scope) (Scope, bool) { return MustParseScope(subScope), true }},
		{name: "ok/from-vm", target: vmScope, parentOf: parentOf, want: []string{"child", "mg1", "root"}},
		{name: "ok/from-group", target: mg("child").String(), parentOf: parentOf, want: []string{"mg1", "root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(ManagementGroupAncestors(MustParseScope(tc.target), tc.parentOf))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	deep := func(s Scope) (Scope, bool) { return mg(s.ManagementGroupName() + "x"), true }
	if n := len(ManagementGroupAncestors(MustParseScope(subScope), deep)); n != MaxManagementGroupDepth {
		t.Fatalf("an endless hierarchy gave %d ancestors", n)
	}
}

func TestDecideLogin(t *testing.T) {
	roles := IndexRoles(BuiltInRoles()...)
	vm := MustParseScope(vmScope)
	for _, tc := range []struct {
		name        string
		assignments []RoleAssignment
		want        LoginLevel
	}{
		{name: "fail/nothing", want: LoginNone},
		{name: "fail/owner", assignments: []RoleAssignment{assign("a1", alice, OwnerRoleID, subScope)}, want: LoginNone},
		{name: "ok/user", assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, rgScope)}, want: LoginUser},
		{name: "ok/admin", assignments: []RoleAssignment{assign("a1", alice, VMAdministratorLoginRoleID, vmScope)}, want: LoginAdministrator},
		{name: "ok/both-admin-wins", assignments: []RoleAssignment{assign("a1", alice, VMUserLoginRoleID, vmScope),
			assign("a2", admins, VMAdministratorLoginRoleID, subScope)}, want: LoginAdministrator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, d := DecideLogin([]string{alice, admins}, vm, nil, tc.assignments, roles)
			if level != tc.want || d.Allowed != (level != LoginNone) || d.Reason == "" {
				t.Fatalf("level %v, decision %+v", level, d)
			}
		})
	}
}
