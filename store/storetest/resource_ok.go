package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

func mgRoundTrip(t *testing.T, s store.Store) {
	tid := newID()
	must(t, s.CreateManagementGroup(ctx(t), resource.NewRootGroup(tid, t0)))
	must(t, s.CreateManagementGroup(ctx(t), resource.ManagementGroup{TenantID: tid, Name: "Team", DisplayName: "Team", Parent: tid}))
	got, err := s.GetManagementGroup(ctx(t), tid, "team")
	must(t, err)
	if got.Name != "Team" || got.Parent != tid || got.Version != 1 || got.Created.IsZero() {
		t.Fatalf("got %+v", got)
	}
	sub := newID()
	up, err := s.UpdateManagementGroup(ctx(t), tid, "TEAM", func(g resource.ManagementGroup) (resource.ManagementGroup, error) {
		g.Subscriptions = append(g.Subscriptions, sub)
		g.Name = "renamed" // ignored: names are ids
		return g, nil
	})
	must(t, err)
	if up.Name != "Team" || up.Version != 2 || !slices.Equal(up.Subscriptions, []string{sub}) {
		t.Fatalf("updated %+v", up)
	}
	list, err := s.ListManagementGroups(ctx(t), tid)
	must(t, err)
	if len(list) != 2 || !list[0].IsRoot() {
		t.Fatalf("list %+v", list)
	}
	wantKind(t, s.DeleteManagementGroup(ctx(t), tid, "team"), errs.Conflict) // it holds a subscription
	_, err = s.UpdateManagementGroup(ctx(t), tid, "team", func(g resource.ManagementGroup) (resource.ManagementGroup, error) {
		g.Subscriptions = nil
		return g, nil
	})
	must(t, err)
	at := newAssignment(tid, resource.ManagementGroupID("Team"), newID(), access.ReaderRoleID)
	must(t, s.CreateRoleAssignment(ctx(t), at))
	must(t, s.DeleteManagementGroup(ctx(t), tid, "team"))
	if _, err := s.GetRoleAssignment(ctx(t), tid, at.Assignment.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the assignment at a deleted group survived: %v", err)
	}
	_, err = s.GetManagementGroup(ctx(t), tid, "Team")
	wantKind(t, err, errs.NotFound)
}

func rgRoundTrip(t *testing.T, s store.Store) {
	f := newResFixture(t, s)
	got, err := s.GetResourceGroup(ctx(t), f.tid, strings.ToUpper(f.sub), "RG1")
	must(t, err)
	if got.Name != "rg1" || got.ID != "/subscriptions/"+f.sub+"/resourceGroups/rg1" || got.Location != "westus" || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	must(t, s.CreateResourceGroup(ctx(t), resource.ResourceGroup{TenantID: f.tid, SubscriptionID: f.sub, Name: "Other(2)", Location: "eastus"}))
	must(t, s.CreateResourceGroup(ctx(t), resource.ResourceGroup{TenantID: f.tid, SubscriptionID: newID(), Name: "elsewhere", Location: "eastus"}))
	list, err := s.ListResourceGroups(ctx(t), f.tid, f.sub)
	must(t, err)
	if len(list) != 2 || list[0].Name != "rg1" || list[1].Name != "Other(2)" {
		t.Fatalf("list %+v", list)
	}
	up, err := s.UpdateResourceGroup(ctx(t), f.tid, f.sub, "Rg1", func(g resource.ResourceGroup) (resource.ResourceGroup, error) {
		g.Tags = map[string]string{"env": "dev"}
		return g, nil
	})
	must(t, err)
	if up.Tags["env"] != "dev" || up.Version != 2 || up.Name != "rg1" {
		t.Fatalf("updated %+v", up)
	}
}

func rgDeleteCascade(t *testing.T, s store.Store) {
	f := newResFixture(t, s)
	ext := newExtension(f.vm, "AADLoginForWindows")
	must(t, s.CreateResource(ctx(t), ext))
	must(t, s.CreateResourceGroup(ctx(t), resource.ResourceGroup{TenantID: f.tid, SubscriptionID: f.sub, Name: "rg10", Location: "westus"}))
	sibling := newVM(f.tid, f.sub, "rg10", "vm1")
	must(t, s.CreateResource(ctx(t), sibling))
	user := newID()
	atRG := newAssignment(f.tid, f.rg.ID, user, access.VMUserLoginRoleID)
	atVM := newAssignment(f.tid, f.vm.ID, user, access.VMAdministratorLoginRoleID)
	atSibling := newAssignment(f.tid, resource.ResourceGroupID(f.sub, "rg10"), user, access.VMUserLoginRoleID)
	atSub := newAssignment(f.tid, "/subscriptions/"+f.sub, user, access.ReaderRoleID)
	for _, a := range []resource.RoleAssignment{atRG, atVM, atSibling, atSub} {
		must(t, s.CreateRoleAssignment(ctx(t), a))
	}
	must(t, s.DeleteResourceGroup(ctx(t), f.tid, f.sub, "RG1"))
	for _, id := range []string{f.vm.ID, ext.ID} {
		if _, err := s.GetResource(ctx(t), f.tid, id); !errs.Is(err, errs.NotFound) {
			t.Fatalf("%s survived its group: %v", id, err)
		}
	}
	left, err := s.ListRoleAssignments(ctx(t), f.tid, resource.RoleAssignmentQuery{})
	must(t, err)
	if ids := assignmentIDs(left); !slices.Equal(ids, []string{atSibling.Assignment.ID, atSub.Assignment.ID}) {
		t.Fatalf("assignments left %v, want the sibling group's and the subscription's", ids)
	}
	if _, err := s.GetResource(ctx(t), f.tid, sibling.ID); err != nil {
		t.Fatalf("the sibling group's machine went too: %v", err)
	}
	must(t, s.CreateResourceGroup(ctx(t), resource.ResourceGroup{TenantID: f.tid, SubscriptionID: f.sub, Name: "rg1", Location: "westus"}))
	again, err := s.ListRoleAssignments(ctx(t), f.tid, resource.RoleAssignmentQuery{AtOrBelow: f.rg.ID})
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("a recreated group inherited %v", assignmentIDs(again))
	}
}

func assignmentIDs(as []resource.RoleAssignment) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Assignment.ID)
	}
	return out
}

func resourceRoundTrip(t *testing.T, s store.Store) {
	f := newResFixture(t, s)
	ext := newExtension(f.vm, "ext1")
	must(t, s.CreateResource(ctx(t), ext))
	got, err := s.GetResource(ctx(t), f.tid, strings.ToUpper(f.vm.ID))
	must(t, err)
	if got.ID != f.vm.ID || got.Name != "vm1" || got.Type != resource.TypeVirtualMachine || got.Version != 1 || string(got.Properties) != string(f.vm.Properties) {
		t.Fatalf("got %+v", got)
	}
	vm2 := newVM(f.tid, f.sub, "rg1", "vm2")
	must(t, s.CreateResource(ctx(t), vm2))
	for _, c := range []struct {
		under, typ string
		want       []string
	}{
		{"/subscriptions/" + f.sub, resource.TypeVirtualMachine, []string{f.vm.ID, vm2.ID}},
		{strings.ToUpper(f.rg.ID), "", []string{f.vm.ID, ext.ID, vm2.ID}},
		{f.vm.ID, resource.TypeVMExtension, []string{ext.ID}},
		{f.rg.ID + "x", "", []string{}},
	} {
		list, err := s.ListResources(ctx(t), f.tid, c.under, c.typ)
		must(t, err)
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, c.want) && !(len(ids) == 0 && len(c.want) == 0) {
			t.Fatalf("ListResources(%s, %q) = %v, want %v", c.under, c.typ, ids, c.want)
		}
	}
	up, err := s.UpdateResource(ctx(t), f.tid, strings.ToLower(f.vm.ID), func(r resource.Resource) (resource.Resource, error) {
		r.Tags = map[string]string{"a": "b"}
		r.Identity = &resource.Identity{Type: resource.IdentitySystemAssigned, PrincipalID: newID(), TenantID: f.tid}
		return r, nil
	})
	must(t, err)
	if up.Version != 2 || up.ID != f.vm.ID || up.Identity == nil || up.Tags["a"] != "b" {
		t.Fatalf("updated %+v", up)
	}
}

func resourceDelete(t *testing.T, s store.Store) {
	f := newResFixture(t, s)
	ext := newExtension(f.vm, "ext1")
	must(t, s.CreateResource(ctx(t), ext))
	vm10 := newVM(f.tid, f.sub, "rg1", "vm10")
	must(t, s.CreateResource(ctx(t), vm10))
	user := newID()
	must(t, s.CreateRoleAssignment(ctx(t), newAssignment(f.tid, f.vm.ID, user, access.VMUserLoginRoleID)))
	keep := newAssignment(f.tid, vm10.ID, user, access.VMUserLoginRoleID)
	must(t, s.CreateRoleAssignment(ctx(t), keep))
	must(t, s.DeleteResource(ctx(t), f.tid, strings.ToUpper(f.vm.ID)))
	if _, err := s.GetResource(ctx(t), f.tid, ext.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("extension survived its machine: %v", err)
	}
	left, err := s.ListRoleAssignments(ctx(t), f.tid, resource.RoleAssignmentQuery{})
	must(t, err)
	if !slices.Equal(assignmentIDs(left), []string{keep.Assignment.ID}) {
		t.Fatalf("assignments left %v", assignmentIDs(left))
	}
	wantKind(t, s.DeleteResource(ctx(t), f.tid, f.vm.ID), errs.NotFound)
}

func assignmentQueries(t *testing.T, s store.Store) {
	tid, sub := newID(), newID()
	alice, bob, group := newID(), newID(), newID()
	subScope := "/subscriptions/" + sub
	rg := resource.ResourceGroupID(sub, "rg")
	rg2 := resource.ResourceGroupID(sub, "rg2") // shares "rg" as a text prefix, not as a scope
	vm := resource.ResourceID(sub, "rg", resource.TypeVirtualMachine, "vm")
	as := []resource.RoleAssignment{
		newAssignment(tid, "/", alice, access.OwnerRoleID),
		newAssignment(tid, subScope, bob, access.ReaderRoleID),
		newAssignment(tid, rg, group, access.VMUserLoginRoleID),
		newAssignment(tid, rg2, alice, access.VMUserLoginRoleID),
		newAssignment(tid, vm, bob, access.VMAdministratorLoginRoleID),
	}
	for _, a := range as {
		must(t, s.CreateRoleAssignment(ctx(t), a))
	}
	id := func(i int) string { return as[i].Assignment.ID }
	for _, c := range []struct {
		name string
		q    resource.RoleAssignmentQuery
		want []string
	}{
		{"all", resource.RoleAssignmentQuery{}, []string{id(0), id(1), id(2), id(3), id(4)}},
		{"below-rg", resource.RoleAssignmentQuery{AtOrBelow: strings.ToUpper(rg)}, []string{id(2), id(4)}},
		{"below-root", resource.RoleAssignmentQuery{AtOrBelow: "/"}, []string{id(0), id(1), id(2), id(3), id(4)}},
		{"at-root-or-sub", resource.RoleAssignmentQuery{Scopes: []string{"/", subScope}}, []string{id(0), id(1)}},
		{"above-and-below-rg", resource.RoleAssignmentQuery{Scopes: []string{"/", subScope}, AtOrBelow: rg}, []string{id(0), id(1), id(2), id(4)}},
		{"principals", resource.RoleAssignmentQuery{PrincipalIDs: []string{strings.ToUpper(bob), group}}, []string{id(1), id(2), id(4)}},
		{"principal-below-rg", resource.RoleAssignmentQuery{PrincipalIDs: []string{bob}, AtOrBelow: rg}, []string{id(4)}},
		{"role", resource.RoleAssignmentQuery{RoleDefinitionID: strings.ToUpper(access.VMUserLoginRoleID)}, []string{id(2), id(3)}},
	} {
		got, err := s.ListRoleAssignments(ctx(t), tid, c.q)
		must(t, err)
		if ids := assignmentIDs(got); !slices.Equal(ids, c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, ids, c.want)
		}
	}
	got, err := s.GetRoleAssignment(ctx(t), tid, strings.ToUpper(id(4)))
	must(t, err)
	if got.Assignment.Scope != vm || got.Assignment.PrincipalID != bob || got.Assignment.RoleDefinitionID != access.VMAdministratorLoginRoleID {
		t.Fatalf("got %+v", got.Assignment)
	}
	must(t, s.DeleteRoleAssignment(ctx(t), tid, id(4)))
	_, err = s.GetRoleAssignment(ctx(t), tid, id(4))
	wantKind(t, err, errs.NotFound)
}

func roleDefinitionRoundTrip(t *testing.T, s store.Store) {
	tid := newID()
	d := newCustomRole(tid, "Operator")
	d.Definition.ID = strings.ToUpper(d.Definition.ID)
	must(t, s.CreateRoleDefinition(ctx(t), d))
	got, err := s.GetRoleDefinition(ctx(t), tid, d.Definition.ID)
	must(t, err)
	if got.Definition.ID != strings.ToLower(d.Definition.ID) || got.Definition.RoleName != "Operator" ||
		!got.Definition.Grants("Microsoft.Compute/virtualMachines/read", false) || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	up, err := s.UpdateRoleDefinition(ctx(t), tid, got.Definition.ID, func(r resource.RoleDefinition) (resource.RoleDefinition, error) {
		r.Definition.Description = "Runs machines"
		return r, nil
	})
	must(t, err)
	if up.Definition.Description != "Runs machines" || up.Version != 2 {
		t.Fatalf("updated %+v", up)
	}
	a := newAssignment(tid, d.Definition.AssignableScopes[0], newID(), strings.ToUpper(got.Definition.ID))
	must(t, s.CreateRoleAssignment(ctx(t), a))
	must(t, s.DeleteRoleAssignment(ctx(t), tid, a.Assignment.ID))
	must(t, s.DeleteRoleDefinition(ctx(t), tid, got.Definition.ID))
	list, err := s.ListRoleDefinitions(ctx(t), tid)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("left %+v", list)
	}
}

func activityList(t *testing.T, s store.Store) {
	tid, sub := newID(), newID()
	rg := resource.ResourceGroupID(sub, "rg")
	var es []resource.ActivityEntry
	for i, id := range []string{rg, rg + "/providers/Microsoft.Compute/virtualMachines/vm", resource.ResourceGroupID(sub, "rg2"), "/subscriptions/" + newID()} {
		e := newActivity(tid, id, t0.Add(time.Duration(i)*time.Minute))
		must(t, s.AppendActivity(ctx(t), e))
		es = append(es, e)
	}
	ids := func(list []resource.ActivityEntry) []string {
		out := []string{}
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    resource.ActivityQuery
		want []string
	}{
		{"all-newest-first", resource.ActivityQuery{}, []string{es[3].ID, es[2].ID, es[1].ID, es[0].ID}},
		{"subscription", resource.ActivityQuery{ResourcePrefix: "/subscriptions/" + strings.ToUpper(sub)}, []string{es[2].ID, es[1].ID, es[0].ID}},
		{"group-not-sibling", resource.ActivityQuery{ResourcePrefix: rg}, []string{es[1].ID, es[0].ID}},
		{"range", resource.ActivityQuery{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []string{es[2].ID, es[1].ID}},
		{"limit", resource.ActivityQuery{Limit: 1}, []string{es[3].ID}},
	} {
		got, err := s.ListActivity(ctx(t), tid, c.q)
		must(t, err)
		if !slices.Equal(ids(got), c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, ids(got), c.want)
		}
	}
	got, err := s.ListActivity(ctx(t), tid, resource.ActivityQuery{Limit: 1})
	must(t, err)
	if e := got[0]; !e.Time.Equal(es[3].Time) || e.Caller != es[3].Caller || e.HTTPStatus != 201 || e.Properties["statusCode"] != "Created" || e.CorrelationID != es[3].CorrelationID {
		t.Fatalf("round trip: %+v", e)
	}
	other, err := s.ListActivity(ctx(t), newID(), resource.ActivityQuery{})
	must(t, err)
	if len(other) != 0 {
		t.Fatalf("another tenant sees %v", ids(other))
	}
}
