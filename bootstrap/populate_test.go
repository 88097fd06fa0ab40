package bootstrap

import (
	"context"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/resource"
)

// The first start makes the tenant root management group and makes the owner service
// principal and the first administrator its Owners: they can manage the subscription (which
// sits under the root group) but, Owner granting no data actions, cannot sign in to machines,
// and nobody else holds anything.
func TestFirstStartRootGroupOwners(t *testing.T) {
	st, res, f := firstStart(t)
	ctx := context.Background()
	root, err := st.GetManagementGroup(ctx, res.Tenant.ID, res.Tenant.ID)
	if err != nil || !root.IsRoot() || root.DisplayName != resource.RootGroupDisplayName {
		t.Fatalf("root group: %+v, %v", root, err)
	}
	owner, err := st.GetServicePrincipalByAppID(ctx, res.Tenant.ID, f.Owner.AppID)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := st.GetUserByUPN(ctx, res.Tenant.ID, "admin@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.ListRoleAssignments(ctx, res.Tenant.ID, resource.RoleAssignmentQuery{})
	if err != nil || len(stored) != 2 {
		t.Fatalf("assignments: %+v, %v; want the owner's and the admin's", stored, err)
	}
	groups, _ := st.ListManagementGroups(ctx, res.Tenant.ID)
	idx := resource.NewAccessIndex(resource.Assignments(stored), nil, nil)
	sub := access.MustParseScope("/subscriptions/" + res.SubscriptionID)
	vm := access.MustParseScope("/subscriptions/" + res.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm")
	ancestors := resource.NewHierarchy(res.Tenant.ID, groups).Ancestors(sub)
	for _, c := range []struct {
		name      string
		principal string
		action    string
		data      bool
		scope     access.Scope
		want      bool
	}{
		{"fail/stranger-reads-subscription", "0b7f3c52-8a35-4c1e-9d0e-5f1a2b3c4d5e", access.ActionSubscriptionsRead, false, sub, false},
		{"fail/admin-logs-in", admin.ID, access.ActionVMLogin, true, vm, false},
		{"fail/owner-logs-in-as-admin", owner.ID, access.ActionVMLoginAsAdmin, true, vm, false},
		{"ok/owner-assigns-roles", owner.ID, access.ActionRoleAssignmentsWrite, false, sub, true},
		{"ok/admin-writes-vm", admin.ID, access.ActionVMWrite, false, vm, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := idx.Check(c.principal, c.action, c.data, c.scope, ancestors)
			if d.Allowed != c.want {
				t.Fatalf("allowed %v, want %v: %s", d.Allowed, c.want, d.Reason)
			}
		})
	}
}
