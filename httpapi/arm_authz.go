package httpapi

import (
	"context"
	"fmt"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/token"
)

// armAuthz decides the ARM calls of one request. It reads, once per request, the caller's
// groups, the role assignments of the caller and those groups, the tenant's custom roles and
// its management groups. Nothing is cached across requests: the store is the truth every
// replica shares, and a grant or revocation takes effect on the next request.
type armAuthz struct {
	s      *Server
	ctx    context.Context
	caller Caller

	loaded       bool
	principalIDs []string
	index        *resource.AccessIndex
	hier         resource.Hierarchy
	scopes       []access.Scope // where the caller's (and its groups') assignments are
}

func (z *armAuthz) load() error {
	if z.loaded {
		return nil
	}
	pv, err := z.s.principalView(z.ctx, z.caller.TenantID, z.caller.ObjectID)
	if err != nil {
		return err
	}
	z.principalIDs, z.index, z.hier, z.scopes, z.loaded = pv.ids, pv.index, pv.hier, pv.scopes, true
	return nil
}

// holdsRoleWithin reports whether the caller has any role assignment at or below scope. ARM
// lists a subscription to everyone who holds a role inside it — a person with only a VM login
// role on one resource group still sees the subscription the group is in.
func (z *armAuthz) holdsRoleWithin(scope access.Scope) bool {
	if z.load() != nil {
		return false
	}
	for _, a := range z.scopes {
		if scope.Contains(a) {
			return true
		}
	}
	return false
}

// principalView is what deciding for one principal needs.
type principalView struct {
	ids    []string // the principal and its groups, transitively
	index  *resource.AccessIndex
	hier   resource.Hierarchy
	scopes []access.Scope // the scopes of those principals' assignments
}

// principalView loads the decision inputs of principal objectID: only its own and its
// groups' assignments are read, through the store's principal index.
func (s *Server) principalView(ctx context.Context, tenantID, objectID string) (principalView, error) {
	const op = "httpapi.principalView"
	hier, err := s.hierarchy(ctx, tenantID) // first: it may create the root group and its Owners
	if err != nil {
		return principalView{}, err
	}
	groups, err := s.Store.ListGroups(ctx, tenantID)
	if err != nil {
		return principalView{}, errs.E(op, errs.Internal, err)
	}
	ids := append([]string{objectID}, directory.TransitiveGroups(objectID, groups)...)
	as, err := s.Store.ListRoleAssignments(ctx, tenantID, resource.RoleAssignmentQuery{PrincipalIDs: ids})
	if err != nil {
		return principalView{}, errs.E(op, errs.Internal, err)
	}
	custom, err := s.Store.ListRoleDefinitions(ctx, tenantID)
	if err != nil {
		return principalView{}, errs.E(op, errs.Internal, err)
	}
	scopes := make([]access.Scope, 0, len(as))
	for _, a := range as {
		if sc, err := access.ParseScope(a.Assignment.Scope); err == nil {
			scopes = append(scopes, sc)
		}
	}
	return principalView{ids: ids, index: resource.NewAccessIndex(resource.Assignments(as), resource.Definitions(custom), nil),
		hier: hier, scopes: scopes}, nil
}

func (pv principalView) decide(action string, isData bool, scope access.Scope) access.Decision {
	return pv.index.Decide(access.Request{PrincipalIDs: pv.ids, Action: action, IsDataAction: isData,
		Scope: scope, Ancestors: pv.hier.Ancestors(scope)})
}

// allowed reports whether the caller may perform action at scope; a store failure denies.
func (z *armAuthz) allowed(action string, scope access.Scope) bool {
	if z.load() != nil {
		return false
	}
	return z.decision(action, false, scope).Allowed
}

func (z *armAuthz) decision(action string, isData bool, scope access.Scope) access.Decision {
	return principalView{ids: z.principalIDs, index: z.index, hier: z.hier}.decide(action, isData, scope)
}

// require refuses the request with ARM's AuthorizationFailed unless the caller may perform
// action at scope.
func (z *armAuthz) require(action string, scope access.Scope) error {
	if err := z.load(); err != nil {
		return err
	}
	if z.decision(action, false, scope).Allowed {
		return nil
	}
	return errs.E("httpapi.authorize", errs.PermissionDenied, errs.Code("AuthorizationFailed"), fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' "+
			"or the scope is invalid. If access was recently granted, please refresh your credentials.",
		callerName(z.caller), z.caller.ObjectID, action, scope))
}

// callerName is how ARM names a caller in messages and the activity log: the UPN of a
// person, the application id of an application.
func callerName(c Caller) string {
	if c.PrincipalType == token.PrincipalUser && c.Name != "" {
		return c.Name
	}
	if c.AppID != "" {
		return c.AppID
	}
	return c.ObjectID
}

// hierarchy reads the tenant's management groups, creating the root group first when the
// tenant has none (a tenant made before management groups existed).
func (s *Server) hierarchy(ctx context.Context, tenantID string) (resource.Hierarchy, error) {
	const op = "httpapi.hierarchy"
	groups, err := s.Store.ListManagementGroups(ctx, tenantID)
	if err != nil {
		return resource.Hierarchy{}, errs.E(op, errs.Internal, err)
	}
	if !hasRoot(groups, tenantID) {
		root, err := s.ensureRootGroup(ctx, tenantID)
		if err != nil {
			return resource.Hierarchy{}, err
		}
		groups = append(groups, root)
	}
	return resource.NewHierarchy(tenantID, groups), nil
}

func hasRoot(groups []resource.ManagementGroup, tenantID string) bool {
	for _, g := range groups {
		if g.IsRoot() && g.Name == tenantID {
			return true
		}
	}
	return false
}

// ensureRootGroup creates the tenant's root management group. The replica that creates it
// also makes every Global Administrator an Owner of it: before the resource manager decided by
// role assignments, they were the ones who could manage everything, and a tenant must not be
// left with nobody able to grant access. A replica that loses the race only reads the group.
func (s *Server) ensureRootGroup(ctx context.Context, tenantID string) (resource.ManagementGroup, error) {
	const op = "httpapi.ensureRootGroup"
	root := resource.NewRootGroup(tenantID, s.now().UTC())
	err := s.Store.CreateManagementGroup(ctx, root)
	if errs.Is(err, errs.Exists) {
		return s.Store.GetManagementGroup(ctx, tenantID, tenantID)
	}
	if err != nil {
		return root, errs.E(op, errs.Internal, err)
	}
	return root, s.ownersFromGlobalAdmins(ctx, tenantID, root)
}

func (s *Server) ownersFromGlobalAdmins(ctx context.Context, tenantID string, root resource.ManagementGroup) error {
	const op = "httpapi.ownersFromGlobalAdmins"
	das, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	for _, da := range das {
		if da.RoleDefinitionID != directory.GlobalAdministrator.TemplateID || da.DirectoryScopeID != "/" {
			continue
		}
		ptype, err := s.principalType(ctx, tenantID, da.PrincipalID)
		if err != nil {
			continue // the principal is gone; nothing to grant
		}
		a := resource.RoleAssignment{TenantID: tenantID, Assignment: access.RoleAssignment{ID: newID(), Scope: root.ARMID(),
			RoleDefinitionID: access.OwnerRoleID, PrincipalID: da.PrincipalID, PrincipalType: ptype,
			Description: "Global Administrator when the root management group was created", CreatedOn: s.now().UTC(), UpdatedOn: s.now().UTC()}}
		if err := s.Store.CreateRoleAssignment(ctx, a); err != nil && !errs.Is(err, errs.Exists) {
			return errs.E(op, errs.Internal, err)
		}
	}
	return nil
}

// principalType is ARM's principalType of a directory object, or NotFound.
func (s *Server) principalType(ctx context.Context, tenantID, id string) (string, error) {
	if _, err := s.Store.GetUser(ctx, tenantID, id); err == nil {
		return access.PrincipalUser, nil
	} else if !errs.Is(err, errs.NotFound) {
		return "", err
	}
	if _, err := s.Store.GetGroup(ctx, tenantID, id); err == nil {
		return access.PrincipalGroup, nil
	} else if !errs.Is(err, errs.NotFound) {
		return "", err
	}
	if _, err := s.Store.GetServicePrincipal(ctx, tenantID, id); err != nil {
		return "", err
	}
	return access.PrincipalServicePrincipal, nil
}
