package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

func newUser(tenantID, upn string) directory.User {
	return directory.User{ID: newID(), TenantID: tenantID, UserPrincipalName: upn,
		DisplayName: "Test " + upn, AccountEnabled: true,
		Password: directory.Password{Hash: "$argon2id$v=19$fake", ForceChangePasswordNextSignIn: true}}
}

func newGroup(tenantID, nick string, members ...string) directory.Group {
	return directory.Group{ID: newID(), TenantID: tenantID, DisplayName: "Group " + nick,
		MailNickname: nick, SecurityEnabled: true, Members: members}
}

func newSP(tenantID, appID string) directory.ServicePrincipal {
	return directory.ServicePrincipal{ID: newID(), TenantID: tenantID, AppID: appID,
		DisplayName: "App " + appID, Type: directory.SPApplication, AccountEnabled: true,
		ServicePrincipalNames: []string{appID}, RedirectURIs: []string{"http://localhost"}}
}

var errFromFn = errors.New("refused by the update function")

var directoryFailures = []Case{
	{"fail/user-duplicate-upn-case-insensitive", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateUser(ctx(t), newUser(tid, "Alice@contoso.test")))
		wantKind(t, s.CreateUser(ctx(t), newUser(tid, "alice@CONTOSO.TEST")), errs.Exists)
	}},
	{"fail/user-duplicate-id", func(t *testing.T, s store.Store) {
		tid := newID()
		u := newUser(tid, "a@contoso.test")
		must(t, s.CreateUser(ctx(t), u))
		u.UserPrincipalName = "b@contoso.test"
		wantKind(t, s.CreateUser(ctx(t), u), errs.Exists)
	}},
	{"fail/user-not-found", func(t *testing.T, s store.Store) {
		tid := newID()
		u := newUser(tid, "a@contoso.test")
		must(t, s.CreateUser(ctx(t), u))
		_, err := s.GetUser(ctx(t), tid, newID())
		wantKind(t, err, errs.NotFound)
		_, err = s.GetUser(ctx(t), newID(), u.ID) // another tenant sees nothing
		wantKind(t, err, errs.NotFound)
		_, err = s.GetUserByUPN(ctx(t), tid, "b@contoso.test")
		wantKind(t, err, errs.NotFound)
		_, err = s.UpdateUser(ctx(t), tid, newID(), func(u directory.User) (directory.User, error) { return u, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteUser(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/user-update-to-taken-upn", func(t *testing.T, s store.Store) {
		tid := newID()
		a, b := newUser(tid, "a@contoso.test"), newUser(tid, "b@contoso.test")
		must(t, s.CreateUser(ctx(t), a))
		must(t, s.CreateUser(ctx(t), b))
		_, err := s.UpdateUser(ctx(t), tid, b.ID, func(u directory.User) (directory.User, error) {
			u.UserPrincipalName = "A@Contoso.Test"
			return u, nil
		})
		wantKind(t, err, errs.Exists)
		got, err := s.GetUser(ctx(t), tid, b.ID)
		must(t, err)
		if got.UserPrincipalName != b.UserPrincipalName || got.Version != 1 {
			t.Fatalf("failed update changed the user: %+v", got)
		}
	}},
	{"fail/user-update-fn-error-returned-unchanged", func(t *testing.T, s store.Store) {
		tid := newID()
		u := newUser(tid, "a@contoso.test")
		must(t, s.CreateUser(ctx(t), u))
		_, err := s.UpdateUser(ctx(t), tid, u.ID, func(u directory.User) (directory.User, error) {
			u.DisplayName = "changed"
			return u, errFromFn
		})
		if err != errFromFn {
			t.Fatalf("got %v, want the function's own error", err)
		}
		got, err := s.GetUser(ctx(t), tid, u.ID)
		must(t, err)
		if got.DisplayName != u.DisplayName || got.Version != 1 {
			t.Fatalf("aborted update changed the user: %+v", got)
		}
	}},
	{"fail/group-duplicate-mailnickname", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateGroup(ctx(t), newGroup(tid, "admins")))
		wantKind(t, s.CreateGroup(ctx(t), newGroup(tid, "Admins")), errs.Exists)
	}},
	{"fail/group-not-found", func(t *testing.T, s store.Store) {
		tid := newID()
		_, err := s.GetGroup(ctx(t), tid, newID())
		wantKind(t, err, errs.NotFound)
		_, err = s.UpdateGroup(ctx(t), tid, newID(), func(g directory.Group) (directory.Group, error) { return g, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteGroup(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/sp-duplicate-appid", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateServicePrincipal(ctx(t), newSP(tid, "5f8f5b35-7f39-4a3f-9a44-0cf23f3fbd7a")))
		wantKind(t, s.CreateServicePrincipal(ctx(t), newSP(tid, "5F8F5B35-7F39-4A3F-9A44-0CF23F3FBD7A")), errs.Exists)
	}},
	{"fail/sp-not-found", func(t *testing.T, s store.Store) {
		tid := newID()
		_, err := s.GetServicePrincipal(ctx(t), tid, newID())
		wantKind(t, err, errs.NotFound)
		_, err = s.GetServicePrincipalByAppID(ctx(t), tid, directory.LinuxVMSignInAppID)
		wantKind(t, err, errs.NotFound)
		_, err = s.UpdateServicePrincipal(ctx(t), tid, newID(), func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) { return sp, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteServicePrincipal(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/role-assignment-duplicate", func(t *testing.T, s store.Store) {
		tid, principal := newID(), newID()
		a := directory.RoleAssignment{ID: newID(), TenantID: tid, PrincipalID: principal,
			RoleDefinitionID: directory.GlobalAdministrator.TemplateID, DirectoryScopeID: "/"}
		must(t, s.CreateDirectoryRoleAssignment(ctx(t), a))
		again := a
		again.ID = newID()
		wantKind(t, s.CreateDirectoryRoleAssignment(ctx(t), again), errs.Exists)
		sameID := a
		sameID.RoleDefinitionID = directory.GlobalReader.TemplateID
		wantKind(t, s.CreateDirectoryRoleAssignment(ctx(t), sameID), errs.Exists)
		wantKind(t, s.DeleteDirectoryRoleAssignment(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/tap-not-found", func(t *testing.T, s store.Store) {
		tid := newID()
		_, err := s.UpdateTemporaryAccessPass(ctx(t), tid, newID(), func(p authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error) { return p, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteTemporaryAccessPass(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/tap-duplicate-id", func(t *testing.T, s store.Store) {
		p := newTAP(newID(), newID())
		must(t, s.CreateTemporaryAccessPass(ctx(t), p))
		wantKind(t, s.CreateTemporaryAccessPass(ctx(t), p), errs.Exists)
	}},
}

func newTAP(tenantID, userID string) authn.TemporaryAccessPass {
	return authn.TemporaryAccessPass{ID: newID(), TenantID: tenantID, UserID: userID, Hash: newID(),
		OneTime: true, Start: t0, End: t0.Add(time.Hour)}
}

var directoryOK = []Case{
	{"ok/user-round-trip", userRoundTrip},
	{"ok/user-same-upn-other-tenant", func(t *testing.T, s store.Store) {
		must(t, s.CreateUser(ctx(t), newUser(newID(), "a@contoso.test")))
		must(t, s.CreateUser(ctx(t), newUser(newID(), "a@contoso.test")))
	}},
	{"ok/group-round-trip", groupRoundTrip},
	{"ok/groups-without-mailnickname", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateGroup(ctx(t), newGroup(tid, "")))
		must(t, s.CreateGroup(ctx(t), newGroup(tid, "")))
	}},
	{"ok/delete-removes-memberships", deleteRemovesMemberships},
	{"ok/sp-round-trip", spRoundTrip},
	{"ok/sp-same-appid-other-tenant", func(t *testing.T, s store.Store) {
		must(t, s.CreateServicePrincipal(ctx(t), newSP(newID(), directory.LinuxVMSignInAppID)))
		must(t, s.CreateServicePrincipal(ctx(t), newSP(newID(), directory.LinuxVMSignInAppID)))
	}},
	{"ok/role-assignments", roleAssignmentsRoundTrip},
	{"ok/delete-takes-roles-and-passes", deleteTakesRolesAndPasses},
	{"ok/tap-crud", tapCRUD},
}

func userRoundTrip(t *testing.T, s store.Store) {
	tid := newID()
	u := newUser(tid, "Alice@contoso.test")
	u.MFA = directory.MFAEnforced
	must(t, s.CreateUser(ctx(t), u))
	got, err := s.GetUserByUPN(ctx(t), tid, "alice@CONTOSO.test")
	must(t, err)
	if got.ID != u.ID || got.UserPrincipalName != u.UserPrincipalName || got.MFA != u.MFA ||
		got.Password.Hash != u.Password.Hash || got.Version != 1 || got.Created.IsZero() {
		t.Fatalf("got %+v, want %+v with version 1 and a creation time", got, u)
	}
	upd, err := s.UpdateUser(ctx(t), tid, u.ID, func(u directory.User) (directory.User, error) {
		u.DisplayName, u.ID, u.TenantID = "Alice", "not-an-id", "not-a-tenant"
		return u, nil
	})
	must(t, err)
	if upd.ID != u.ID || upd.TenantID != tid || upd.Version != 2 || !upd.Created.Equal(got.Created) {
		t.Fatalf("update changed ids or store fields: %+v", upd)
	}
	again, err := s.GetUser(ctx(t), tid, u.ID)
	must(t, err)
	if again.DisplayName != "Alice" || again.Version != 2 {
		t.Fatalf("update not stored: %+v", again)
	}
	must(t, s.CreateUser(ctx(t), newUser(tid, "bob@contoso.test")))
	list, err := s.ListUsers(ctx(t), tid)
	must(t, err)
	if len(list) != 2 || list[0].ID != u.ID {
		t.Fatalf("list: got %d users, want 2 with the oldest first", len(list))
	}
	must(t, s.DeleteUser(ctx(t), tid, u.ID))
	_, err = s.GetUserByUPN(ctx(t), tid, u.UserPrincipalName)
	wantKind(t, err, errs.NotFound)
	must(t, s.CreateUser(ctx(t), newUser(tid, u.UserPrincipalName))) // the UPN is free again
}

func groupRoundTrip(t *testing.T, s store.Store) {
	tid := newID()
	g := newGroup(tid, "admins", newID())
	must(t, s.CreateGroup(ctx(t), g))
	upd, err := s.UpdateGroup(ctx(t), tid, g.ID, func(g directory.Group) (directory.Group, error) {
		g.MailNickname = "operators"
		g.Members = append(g.Members, newID())
		return g, nil
	})
	must(t, err)
	if upd.Version != 2 || len(upd.Members) != 2 {
		t.Fatalf("update: %+v", upd)
	}
	// The old nickname is free, the new one taken.
	must(t, s.CreateGroup(ctx(t), newGroup(tid, "admins")))
	wantKind(t, s.CreateGroup(ctx(t), newGroup(tid, "OPERATORS")), errs.Exists)
	list, err := s.ListGroups(ctx(t), tid)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("list: got %d groups, want 2", len(list))
	}
	empty, err := s.ListGroups(ctx(t), newID())
	must(t, err)
	if empty == nil || len(empty) != 0 {
		t.Fatalf("list of an empty tenant: got %#v, want an empty slice", empty)
	}
}

func deleteRemovesMemberships(t *testing.T, s store.Store) {
	tid := newID()
	u := newUser(tid, "a@contoso.test")
	sp := newSP(tid, newID())
	must(t, s.CreateUser(ctx(t), u))
	must(t, s.CreateServicePrincipal(ctx(t), sp))
	child := newGroup(tid, "child", u.ID)
	parent := newGroup(tid, "parent", child.ID, u.ID, sp.ID)
	bystander := newGroup(tid, "bystander", newID())
	bystander.Description = `mentions "` + u.ID + `" but does not list it`
	for _, g := range []directory.Group{child, parent, bystander} {
		must(t, s.CreateGroup(ctx(t), g))
	}
	must(t, s.DeleteUser(ctx(t), tid, u.ID))
	wantMembers(t, s, tid, child.ID)
	wantMembers(t, s, tid, parent.ID, child.ID, sp.ID)
	must(t, s.DeleteGroup(ctx(t), tid, child.ID))
	wantMembers(t, s, tid, parent.ID, sp.ID)
	must(t, s.DeleteServicePrincipal(ctx(t), tid, sp.ID))
	wantMembers(t, s, tid, parent.ID)
	b, err := s.GetGroup(ctx(t), tid, bystander.ID)
	must(t, err)
	if b.Version != 1 || len(b.Members) != 1 {
		t.Fatalf("a group that did not list the deleted objects changed: %+v", b)
	}
}

func wantMembers(t *testing.T, s store.Store, tid, groupID string, want ...string) {
	t.Helper()
	g, err := s.GetGroup(ctx(t), tid, groupID)
	must(t, err)
	if !slices.Equal(g.Members, want) && !(len(g.Members) == 0 && len(want) == 0) {
		t.Fatalf("group %s members: got %v, want %v", g.MailNickname, g.Members, want)
	}
}

func spRoundTrip(t *testing.T, s store.Store) {
	tid := newID()
	sp := newSP(tid, directory.WindowsVMSignInAppID)
	sp.PasswordCredentials = []directory.PasswordCredential{{KeyID: newID(), Hint: "abc", Hash: "h", Start: t0, End: t0.Add(time.Hour)}}
	must(t, s.CreateServicePrincipal(ctx(t), sp))
	got, err := s.GetServicePrincipalByAppID(ctx(t), tid, directory.WindowsVMSignInAppID)
	must(t, err)
	if got.ID != sp.ID || len(got.PasswordCredentials) != 1 || !got.PasswordCredentials[0].End.Equal(sp.PasswordCredentials[0].End) {
		t.Fatalf("got %+v, want %+v", got, sp)
	}
	upd, err := s.UpdateServicePrincipal(ctx(t), tid, sp.ID, func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) {
		sp.AccountEnabled = false
		return sp, nil
	})
	must(t, err)
	if upd.AccountEnabled || upd.Version != 2 {
		t.Fatalf("update: %+v", upd)
	}
	list, err := s.ListServicePrincipals(ctx(t), tid)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("list: got %d, want 1", len(list))
	}
	must(t, s.DeleteServicePrincipal(ctx(t), tid, sp.ID))
	_, err = s.GetServicePrincipalByAppID(ctx(t), tid, directory.WindowsVMSignInAppID)
	wantKind(t, err, errs.NotFound)
}

func roleAssignmentsRoundTrip(t *testing.T, s store.Store) {
	tid, principal := newID(), newID()
	a := directory.RoleAssignment{ID: newID(), TenantID: tid, PrincipalID: principal,
		RoleDefinitionID: directory.UserAdministrator.TemplateID, DirectoryScopeID: "/"}
	b := a
	b.ID, b.RoleDefinitionID = newID(), directory.GlobalReader.TemplateID
	must(t, s.CreateDirectoryRoleAssignment(ctx(t), a))
	must(t, s.CreateDirectoryRoleAssignment(ctx(t), b))
	list, err := s.ListDirectoryRoleAssignments(ctx(t), tid)
	must(t, err)
	if len(list) != 2 || list[0] != a || list[1] != b {
		t.Fatalf("list: got %+v, want [%+v %+v]", list, a, b)
	}
	must(t, s.DeleteDirectoryRoleAssignment(ctx(t), tid, a.ID))
	must(t, s.CreateDirectoryRoleAssignment(ctx(t), a)) // free again once deleted
	wantKind(t, s.DeleteDirectoryRoleAssignment(ctx(t), newID(), a.ID), errs.NotFound)
}

func tapCRUD(t *testing.T, s store.Store) {
	tid, alice, bob := newID(), newID(), newID()
	a1, a2, b1 := newTAP(tid, alice), newTAP(tid, alice), newTAP(tid, bob)
	for _, p := range []authn.TemporaryAccessPass{a1, a2, b1} {
		must(t, s.CreateTemporaryAccessPass(ctx(t), p))
	}
	list, err := s.ListTemporaryAccessPasses(ctx(t), tid, alice)
	must(t, err)
	if len(list) != 2 || list[0].ID != a1.ID || list[0].Version != 1 || !list[0].End.Equal(a1.End) {
		t.Fatalf("list: %+v", list)
	}
	upd, err := s.UpdateTemporaryAccessPass(ctx(t), tid, a1.ID, func(p authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error) {
		p.Used = true
		return p, nil
	})
	must(t, err)
	if !upd.Used || upd.Version != 2 {
		t.Fatalf("update: %+v", upd)
	}
	must(t, s.DeleteTemporaryAccessPass(ctx(t), tid, a2.ID))
	list, err = s.ListTemporaryAccessPasses(ctx(t), tid, bob)
	must(t, err)
	if len(list) != 1 || list[0].ID != b1.ID {
		t.Fatalf("bob's passes: %+v", list)
	}
}

// deleteTakesRolesAndPasses checks that a deleted user leaves no directory role and no pass
// behind, and that nobody else's are touched.
func deleteTakesRolesAndPasses(t *testing.T, s store.Store) {
	tid := newID()
	u, other := newUser(tid, "gone@contoso.test"), newUser(tid, "stays@contoso.test")
	must(t, s.CreateUser(ctx(t), u))
	must(t, s.CreateUser(ctx(t), other))
	for _, p := range []string{u.ID, other.ID} {
		must(t, s.CreateDirectoryRoleAssignment(ctx(t), directory.RoleAssignment{ID: newID(), TenantID: tid, PrincipalID: p,
			RoleDefinitionID: directory.GlobalAdministrator.TemplateID, DirectoryScopeID: "/"}))
		must(t, s.CreateTemporaryAccessPass(ctx(t), newTAP(tid, p)))
	}
	must(t, s.DeleteUser(ctx(t), tid, u.ID))
	roles, err := s.ListDirectoryRoleAssignments(ctx(t), tid)
	must(t, err)
	if len(roles) != 1 || roles[0].PrincipalID != other.ID {
		t.Fatalf("role assignments after the delete: %+v", roles)
	}
	for id, want := range map[string]int{u.ID: 0, other.ID: 1} {
		passes, err := s.ListTemporaryAccessPasses(ctx(t), tid, id)
		must(t, err)
		if len(passes) != want {
			t.Fatalf("%s has %d passes, want %d", id, len(passes), want)
		}
	}
}
