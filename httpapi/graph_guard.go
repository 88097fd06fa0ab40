package httpapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Two rules keep the directory administrable and its roles meaningful:
//
//   - A principal that holds a directory role, directly or through a group, can only be
//     changed (password, enabled, credentials, membership, deletion) by a Global
//     Administrator. Otherwise a User Administrator could reset a Global Administrator's
//     password, or an Application Administrator add a secret to a privileged application,
//     and become them.
//   - The tenant's last usable Global Administrator assignment cannot be removed, by
//     deleting it, its principal, or disabling its principal: nobody could undo that.

// rolesReaching lists the directory role assignments that apply to id, directly or through
// the groups it belongs to.
func (s *Server) rolesReaching(ctx context.Context, tenantID, id string) ([]directory.RoleAssignment, error) {
	assignments, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	groups, err := s.Store.ListGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{id: true}
	for _, g := range directory.TransitiveGroups(id, groups) {
		held[g] = true
	}
	var out []directory.RoleAssignment
	for _, a := range assignments {
		if held[a.PrincipalID] {
			out = append(out, a)
		}
	}
	return out, nil
}

// guardPrivilegedTarget refuses a change to targetID (shown as name) unless the caller may
// manage directory roles, when the target holds any directory role.
func (s *Server) guardPrivilegedTarget(ctx context.Context, c Caller, targetID, name string) error {
	const op = "httpapi.guardPrivilegedTarget"
	roles, err := s.rolesReaching(ctx, c.TenantID, targetID)
	if err != nil || len(roles) == 0 {
		return err
	}
	if s.authorizeDirectory(ctx, c, directory.Action("roleAssignments", directory.ActionUpdate)) == nil {
		return nil
	}
	role := roles[0].RoleDefinitionID
	if r, ok := directory.DirectoryRoleByID(role); ok {
		role = r.DisplayName
	}
	return errs.E(op, errs.PermissionDenied, errs.Code("Authorization_RequestDenied"), fmt.Sprintf(
		"Insufficient privileges to complete the operation: '%s' holds the directory role '%s', so only a Global Administrator can change it.", name, role))
}

// refuseLastGlobalAdmin refuses a change after which no usable Global Administrator
// assignment would remain. removing reports which assignments the change takes away (or
// makes unusable); what names the change for the message.
func (s *Server) refuseLastGlobalAdmin(ctx context.Context, tenantID string, removing func(directory.RoleAssignment) bool, what string) error {
	affected, remaining, err := s.countGlobalAdmins(ctx, tenantID, removing)
	if err != nil {
		return err
	}
	if affected && remaining == 0 {
		return lastGlobalAdminError(what)
	}
	return nil
}

func lastGlobalAdminError(what string) error {
	return errs.E("httpapi.refuseLastGlobalAdmin", errs.Invalid, errs.Code("Request_BadRequest"), fmt.Sprintf(
		"Refusing to %s: it would leave the tenant without a Global Administrator, and nobody could administer the directory. Assign Global Administrator to another enabled user first.", what))
}

// countGlobalAdmins reports whether removing matches any Global Administrator assignment,
// and how many usable ones it leaves.
func (s *Server) countGlobalAdmins(ctx context.Context, tenantID string, removing func(directory.RoleAssignment) bool) (affected bool, remaining int, err error) {
	assignments, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return false, 0, err
	}
	for _, a := range assignments {
		if !strings.EqualFold(a.RoleDefinitionID, directory.GlobalAdministrator.TemplateID) {
			continue
		}
		if removing(a) {
			affected = true
		} else if s.principalUsable(ctx, tenantID, a.PrincipalID) {
			remaining++
		}
	}
	return affected, remaining, nil
}

// principalUsable reports whether an assignment to id can still be exercised: an enabled
// user or service principal, or a group.
func (s *Server) principalUsable(ctx context.Context, tenantID, id string) bool {
	if u, err := s.Store.GetUser(ctx, tenantID, id); err == nil {
		return u.AccountEnabled
	}
	if sp, err := s.Store.GetServicePrincipal(ctx, tenantID, id); err == nil {
		return sp.AccountEnabled
	}
	_, err := s.Store.GetGroup(ctx, tenantID, id)
	return err == nil
}

// heldBy matches the assignments of one principal.
func heldBy(principalID string) func(directory.RoleAssignment) bool {
	return func(a directory.RoleAssignment) bool { return a.PrincipalID == principalID }
}

// deleteAssignmentsOf removes a deleted principal's role assignments, so a later object that
// somehow reused the id would not inherit them.
func (s *Server) deleteAssignmentsOf(ctx context.Context, tenantID, principalID string) error {
	assignments, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, a := range assignments {
		if a.PrincipalID != principalID {
			continue
		}
		if err := s.Store.DeleteDirectoryRoleAssignment(ctx, tenantID, a.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}
