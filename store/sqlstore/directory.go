package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
)

var users = docKind[directory.User]{
	name: "user", what: "user",
	ids: func(u *directory.User) (*string, *string) { return &u.TenantID, &u.ID },
	key: func(u directory.User) string { return strings.ToLower(u.UserPrincipalName) },
	ref: func(directory.User) string { return "" },
	stamp: func(u *directory.User, v int64, c time.Time) {
		u.Version, u.Created = v, c
	},
	exists: func(u directory.User) string {
		return fmt.Sprintf("Another object with the same value for property userPrincipalName (%s) or id already exists.", u.UserPrincipalName)
	},
}

var groups = docKind[directory.Group]{
	name: "group", what: "group",
	ids: func(g *directory.Group) (*string, *string) { return &g.TenantID, &g.ID },
	key: func(g directory.Group) string { return strings.ToLower(g.MailNickname) },
	ref: func(directory.Group) string { return "" },
	stamp: func(g *directory.Group, v int64, c time.Time) {
		g.Version, g.Created = v, c
	},
	exists: func(g directory.Group) string {
		return fmt.Sprintf("Another object with the same value for property mailNickname (%s) or id already exists.", g.MailNickname)
	},
}

var servicePrincipals = docKind[directory.ServicePrincipal]{
	name: "servicePrincipal", what: "service principal",
	ids: func(sp *directory.ServicePrincipal) (*string, *string) { return &sp.TenantID, &sp.ID },
	key: func(sp directory.ServicePrincipal) string { return strings.ToLower(sp.AppID) },
	ref: func(directory.ServicePrincipal) string { return "" },
	stamp: func(sp *directory.ServicePrincipal, v int64, c time.Time) {
		sp.Version, sp.Created = v, c
	},
	exists: func(sp directory.ServicePrincipal) string {
		return fmt.Sprintf("A service principal with appId %s or the same id already exists in this tenant.", sp.AppID)
	},
}

var roleAssignments = docKind[directory.RoleAssignment]{
	name: "directoryRoleAssignment", what: "directory role assignment",
	ids: func(a *directory.RoleAssignment) (*string, *string) { return &a.TenantID, &a.ID },
	key: func(a directory.RoleAssignment) string {
		return strings.ToLower(a.PrincipalID + "|" + a.RoleDefinitionID + "|" + a.DirectoryScopeID)
	},
	ref:   func(a directory.RoleAssignment) string { return a.PrincipalID },
	stamp: func(*directory.RoleAssignment, int64, time.Time) {},
	exists: func(a directory.RoleAssignment) string {
		return fmt.Sprintf("The principal %s already has the directory role %s at scope %s.", a.PrincipalID, a.RoleDefinitionID, a.DirectoryScopeID)
	},
}

// CreateUser stores u with Version 1 and Created now. Exists when the id or the UPN
// (case-insensitively) is taken in the tenant.
func (s *Store) CreateUser(ctx context.Context, u directory.User) error {
	return users.create(ctx, s, "store.CreateUser", u)
}

// GetUser fails with NotFound when the tenant has no such user.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (directory.User, error) {
	return users.get(ctx, s, "store.GetUser", tenantID, id)
}

// GetUserByUPN matches the UPN case-insensitively; NotFound when no user has it.
func (s *Store) GetUserByUPN(ctx context.Context, tenantID, upn string) (directory.User, error) {
	return users.getByKey(ctx, s, "store.GetUserByUPN", tenantID, strings.ToLower(upn))
}

// ListUsers returns the tenant's users, oldest first; an empty slice when there are none.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]directory.User, error) {
	return users.list(ctx, s, "store.ListUsers", tenantID, "")
}

// UpdateUser is compare-and-swap (see store.Store). Exists when the new UPN is taken.
func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(directory.User) (directory.User, error)) (directory.User, error) {
	return users.update(ctx, s, "store.UpdateUser", tenantID, id, fn)
}

// DeleteUser removes the user and its memberships; NotFound when there is no such user.
func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return deleteMember(ctx, s, users, "store.DeleteUser", tenantID, id)
}

// CreateGroup stores g with Version 1 and Created now. Exists when the id or the mailNickname
// (case-insensitively) is taken in the tenant.
func (s *Store) CreateGroup(ctx context.Context, g directory.Group) error {
	return groups.create(ctx, s, "store.CreateGroup", g)
}

// GetGroup fails with NotFound when the tenant has no such group.
func (s *Store) GetGroup(ctx context.Context, tenantID, id string) (directory.Group, error) {
	return groups.get(ctx, s, "store.GetGroup", tenantID, id)
}

// ListGroups returns the tenant's groups, oldest first.
func (s *Store) ListGroups(ctx context.Context, tenantID string) ([]directory.Group, error) {
	return groups.list(ctx, s, "store.ListGroups", tenantID, "")
}

// UpdateGroup is compare-and-swap: concurrent member changes are never lost.
func (s *Store) UpdateGroup(ctx context.Context, tenantID, id string, fn func(directory.Group) (directory.Group, error)) (directory.Group, error) {
	return groups.update(ctx, s, "store.UpdateGroup", tenantID, id, fn)
}

// DeleteGroup removes the group and its memberships in other groups; NotFound when absent.
func (s *Store) DeleteGroup(ctx context.Context, tenantID, id string) error {
	return deleteMember(ctx, s, groups, "store.DeleteGroup", tenantID, id)
}

// CreateServicePrincipal stores sp with Version 1 and Created now. Exists when the id or the
// appId is taken in the tenant; the same appId in another tenant is fine.
func (s *Store) CreateServicePrincipal(ctx context.Context, sp directory.ServicePrincipal) error {
	return servicePrincipals.create(ctx, s, "store.CreateServicePrincipal", sp)
}

// GetServicePrincipal fails with NotFound when the tenant has no such object.
func (s *Store) GetServicePrincipal(ctx context.Context, tenantID, id string) (directory.ServicePrincipal, error) {
	return servicePrincipals.get(ctx, s, "store.GetServicePrincipal", tenantID, id)
}

// GetServicePrincipalByAppID matches appId case-insensitively; NotFound when absent.
func (s *Store) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	return servicePrincipals.getByKey(ctx, s, "store.GetServicePrincipalByAppID", tenantID, strings.ToLower(appID))
}

// ListServicePrincipals returns the tenant's service principals, oldest first.
func (s *Store) ListServicePrincipals(ctx context.Context, tenantID string) ([]directory.ServicePrincipal, error) {
	return servicePrincipals.list(ctx, s, "store.ListServicePrincipals", tenantID, "")
}

// UpdateServicePrincipal is compare-and-swap. Exists when the new appId is taken.
func (s *Store) UpdateServicePrincipal(ctx context.Context, tenantID, id string, fn func(directory.ServicePrincipal) (directory.ServicePrincipal, error)) (directory.ServicePrincipal, error) {
	return servicePrincipals.update(ctx, s, "store.UpdateServicePrincipal", tenantID, id, fn)
}

// DeleteServicePrincipal removes it and its group memberships; NotFound when absent.
func (s *Store) DeleteServicePrincipal(ctx context.Context, tenantID, id string) error {
	return deleteMember(ctx, s, servicePrincipals, "store.DeleteServicePrincipal", tenantID, id)
}

// CreateDirectoryRoleAssignment fails with Exists when the id or the same (principal, role,
// scope) is already assigned.
func (s *Store) CreateDirectoryRoleAssignment(ctx context.Context, a directory.RoleAssignment) error {
	return roleAssignments.create(ctx, s, "store.CreateDirectoryRoleAssignment", a)
}

// ListDirectoryRoleAssignments returns the tenant's assignments, oldest first.
func (s *Store) ListDirectoryRoleAssignments(ctx context.Context, tenantID string) ([]directory.RoleAssignment, error) {
	return roleAssignments.list(ctx, s, "store.ListDirectoryRoleAssignments", tenantID, "")
}

// DeleteDirectoryRoleAssignment fails with NotFound when there is no such assignment.
func (s *Store) DeleteDirectoryRoleAssignment(ctx context.Context, tenantID, id string) error {
	return roleAssignments.remove(ctx, s.c, "store.DeleteDirectoryRoleAssignment", tenantID, id)
}
