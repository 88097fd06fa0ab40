package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

// resFixture is a tenant with a root management group, a subscription and a resource group
// "rg1" holding a virtual machine "vm1".
type resFixture struct {
	tid, sub string
	rg       resource.ResourceGroup
	vm       resource.Resource
}

func newResFixture(t *testing.T, s store.Store) resFixture {
	t.Helper()
	f := resFixture{tid: newID(), sub: newID()}
	must(t, s.CreateManagementGroup(ctx(t), resource.NewRootGroup(f.tid, t0)))
	must(t, s.CreateSubscription(ctx(t), resource.Subscription{ID: f.sub, TenantID: f.tid, DisplayName: "dev", State: "Enabled"}))
	f.rg = resource.ResourceGroup{TenantID: f.tid, SubscriptionID: f.sub, Name: "rg1", Location: "westus"}
	must(t, s.CreateResourceGroup(ctx(t), f.rg))
	f.rg.ID = f.rg.ARMID()
	f.vm = newVM(f.tid, f.sub, "rg1", "vm1")
	must(t, s.CreateResource(ctx(t), f.vm))
	return f
}

func newVM(tid, sub, rg, name string) resource.Resource {
	return resource.Resource{TenantID: tid, ID: resource.ResourceID(sub, rg, resource.TypeVirtualMachine, name),
		Type: resource.TypeVirtualMachine, Name: name, Location: "westus",
		Properties: json.RawMessage(`{"vmId":"` + newID() + `"}`)}
}

func newExtension(vm resource.Resource, name string) resource.Resource {
	return resource.Resource{TenantID: vm.TenantID, ID: resource.ChildID(vm.ID, "extensions", name),
		Type: resource.TypeVMExtension, Name: name, Location: vm.Location}
}

func newAssignment(tid, scope, principal, role string) resource.RoleAssignment {
	return resource.RoleAssignment{TenantID: tid, Assignment: access.RoleAssignment{ID: newID(), Scope: scope,
		PrincipalID: principal, PrincipalType: access.PrincipalUser, RoleDefinitionID: role}}
}

func newCustomRole(tid, name string) resource.RoleDefinition {
	return resource.RoleDefinition{TenantID: tid, Definition: access.RoleDefinition{ID: newID(), RoleName: name,
		RoleType: access.RoleTypeCustom, AssignableScopes: []string{"/subscriptions/" + newID()},
		Permissions: []access.Permission{{Actions: []string{"Microsoft.Compute/virtualMachines/read"}}}}}
}

func newActivity(tid, resID string, at time.Time) resource.ActivityEntry {
	return resource.ActivityEntry{TenantID: tid, ID: newID(), Time: at, Caller: "admin@contoso.test",
		CallerObjectID: newID(), OperationName: "Microsoft.Compute/virtualMachines/write", ResourceID: resID,
		Status: resource.ActivitySucceeded, HTTPStatus: 201, CorrelationID: newID(), Properties: map[string]string{"statusCode": "Created"}}
}

var resourceFailures = []Case{
	{"fail/management-group-duplicate-any-case", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateManagementGroup(ctx(t), resource.NewRootGroup(tid, t0)))
		must(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: tid, Name: "Team", Parent: tid}))
		wantKind(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: tid, Name: "TEAM", Parent: tid}), errs.Exists)
	}},
	{"fail/management-group-parent-missing", func(t *testing.T, s store.Store) {
		wantKind(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: newID(), Name: "team", Parent: "nowhere"}), errs.NotFound)
	}},
	{"fail/management-group-delete-root-or-parent", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateManagementGroup(ctx(t), resource.NewRootGroup(tid, t0)))
		must(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: tid, Name: "team", Parent: tid}))
		wantKind(t, s.DeleteManagementGroup(ctx(t), tid, tid), errs.Invalid)
		must(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: tid, Name: "sub-team", Parent: "Team"}))
		wantKind(t, s.DeleteManagementGroup(ctx(t), tid, "team"), errs.Conflict)
		wantKind(t, s.DeleteManagementGroup(ctx(t), tid, "nobody"), errs.NotFound)
	}},
	{"fail/resource-group-duplicate-any-case", func(t *testing.T, s store.Store) {
		f := newResFixture(t, s)
		wantKind(t, s.CreateResourceGroup(ctx(t), resource.ResourceGroup{TenantID: f.tid, SubscriptionID: f.sub, Name: "RG1", Location: "eastus"}), errs.Exists)
	}},
	{"fail/resource-group-not-found", func(t *testing.T, s store.Store) {
		f := newResFixture(t, s)
		_, err := s.GetResourceGroup(ctx(t), f.tid, f.sub, "rg2")
		wantKind(t, err, errs.NotFound)
		_, err = s.GetResourceGroup(ctx(t), newID(), f.sub, "rg1") // another tenant sees nothing
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteResourceGroup(ctx(t), f.tid, f.sub, "rg2"), errs.NotFound)
	}},
	{"fail/resource-without-group-or-parent", func(t *testing.T, s store.Store) {
		f := newResFixture(t, s)
		wantKind(t, s.CreateResource(ctx(t), newVM(f.tid, f.sub, "nogroup", "vm1")), errs.NotFound)
		orphan := newExtension(newVM(f.tid, f.sub, "rg1", "novm"), "ext")
		wantKind(t, s.CreateResource(ctx(t), orphan), errs.NotFound)
		bad := f.vm
		bad.ID = "/subscriptions/not-a-guid/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/x"
		wantKind(t, s.CreateResource(ctx(t), bad), errs.Invalid)
	}},
	{"fail/resource-duplicate-any-case", func(t *testing.T, s store.Store) {
		f := newResFixture(t, s)
		dup := newVM(f.tid, f.sub, "RG1", "VM1")
		wantKind(t, s.CreateResource(ctx(t), dup), errs.Exists)
		_, err := s.GetResource(ctx(t), f.tid, f.vm.ID+"x")
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/role-assignment-same-principal-role-scope", func(t *testing.T, s store.Store) {
		tid, user := newID(), newID()
		scope := "/subscriptions/" + newID()
		must(t, s.CreateRoleAssignment(ctx(t), newAssignment(tid, scope, user, access.ReaderRoleID)))
		upper := newAssignment(tid, strings.ToUpper(scope), strings.ToUpper(user), access.ReaderRoleID)
		err := s.CreateRoleAssignment(ctx(t), upper)
		wantKind(t, err, errs.Exists)
		if errs.CodeOf(err) != access.CodeRoleAssignmentExists {
			t.Fatalf("code %q, want RoleAssignmentExists", errs.CodeOf(err))
		}
	}},
	{"fail/role-assignment-duplicate-id", func(t *testing.T, s store.Store) {
		tid := newID()
		a := newAssignment(tid, "/subscriptions/"+newID(), newID(), access.ReaderRoleID)
		must(t, s.CreateRoleAssignment(ctx(t), a))
		a.Assignment.PrincipalID = newID()
		wantKind(t, s.CreateRoleAssignment(ctx(t), a), errs.Exists)
	}},
	{"fail/role-assignment-unknown-custom-role", func(t *testing.T, s store.Store) {
		err := s.CreateRoleAssignment(ctx(t), newAssignment(newID(), "/subscriptions/"+newID(), newID(), newID()))
		wantKind(t, err, errs.NotFound)
		if errs.CodeOf(err) != access.CodeRoleDefinitionDoesNotExist {
			t.Fatalf("code %q, want RoleDefinitionDoesNotExist", errs.CodeOf(err))
		}
	}},
	{"fail/role-definition-delete-in-use-or-missing", func(t *testing.T, s store.Store) {
		tid := newID()
		d := newCustomRole(tid, "Operator")
		must(t, s.CreateRoleDefinition(ctx(t), d))
		a := newAssignment(tid, d.Definition.AssignableScopes[0], newID(), d.Definition.ID)
		must(t, s.CreateRoleAssignment(ctx(t), a))
		wantKind(t, s.DeleteRoleDefinition(ctx(t), tid, d.Definition.ID), errs.Conflict)
		wantKind(t, s.DeleteRoleDefinition(ctx(t), tid, newID()), errs.NotFound)
		wantKind(t, s.DeleteRoleAssignment(ctx(t), tid, newID()), errs.NotFound)
		wantKind(t, s.CreateRoleDefinition(ctx(t), d), errs.Exists)
	}},
	{"fail/activity-duplicate-id", func(t *testing.T, s store.Store) {
		e := newActivity(newID(), "/subscriptions/"+newID(), t0)
		must(t, s.AppendActivity(ctx(t), e))
		wantKind(t, s.AppendActivity(ctx(t), e), errs.Exists)
	}},
}

var resourceOK = []Case{
	{"ok/management-group-round-trip", mgRoundTrip},
	{"ok/resource-group-round-trip", rgRoundTrip},
	{"ok/resource-group-delete-cascades", rgDeleteCascade},
	{"ok/resource-round-trip-and-list", resourceRoundTrip},
	{"ok/resource-delete-removes-children-and-assignments", resourceDelete},
	{"ok/role-assignment-queries", assignmentQueries},
	{"ok/role-definition-round-trip", roleDefinitionRoundTrip},
	{"ok/activity-log-range-prefix-newest-first", activityList},
}

var resourceConcurrency = []Case{
	{"concurrency/role-assignment-same-triple-one-winner", assignmentRace},
	{"concurrency/resource-group-tags-no-lost-update", rgTagRace},
	{"concurrency/resource-group-delete-vs-create-no-orphan", rgDeleteRace},
}
