package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Directory roles through Entra's role management API: the built-in role definitions, and
// assignments of them to users, groups and service principals across the tenant ("/").

func roleDefinitionJSON(r directory.DirectoryRole) map[string]any {
	return map[string]any{
		"@odata.type":     "#microsoft.graph.unifiedRoleDefinition",
		"id":              r.TemplateID,
		"templateId":      r.TemplateID,
		"displayName":     r.DisplayName,
		"description":     nil,
		"isBuiltIn":       true,
		"isEnabled":       true,
		"resourceScopes":  []string{"/"},
		"version":         "1",
		"rolePermissions": []map[string]any{{"allowedResourceActions": r.Permissions, "condition": nil}},
	}
}

func roleAssignmentJSON(a directory.RoleAssignment) map[string]any {
	return map[string]any{
		"@odata.type":      "#microsoft.graph.unifiedRoleAssignment",
		"id":               a.ID,
		"principalId":      a.PrincipalID,
		"roleDefinitionId": a.RoleDefinitionID,
		"directoryScopeId": a.DirectoryScopeID,
	}
}

const (
	roleDefinitionsSet = "roleManagement/directory/roleDefinitions"
	roleAssignmentsSet = "roleManagement/directory/roleAssignments"
)

func (s *Server) listRoleDefinitions(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "roleDefinitions"); err != nil {
		return err
	}
	q, err := parseGraphQuery(r, roleDefinitionFilterSchema, roleDefinitionJSON(directory.DirectoryRole{}))
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(directory.BuiltInDirectoryRoles))
	for i, role := range directory.BuiltInDirectoryRoles {
		objs[i] = roleDefinitionJSON(role)
	}
	s.writeGraphList(w, r, roleDefinitionsSet, objs, q)
	return nil
}

func (s *Server) getRoleDefinition(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "roleDefinitions"); err != nil {
		return err
	}
	id := r.PathValue("id")
	role, ok := directory.DirectoryRoleByID(id)
	if !ok || !strings.EqualFold(role.TemplateID, id) {
		return graphNotFound("httpapi.getRoleDefinition", id)
	}
	return s.writeGraphEntity(w, r, http.StatusOK, roleDefinitionsSet, roleDefinitionJSON(role))
}

func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "roleAssignments"); err != nil {
		return err
	}
	q, err := parseGraphQuery(r, roleAssignmentFilterSchema, roleAssignmentJSON(directory.RoleAssignment{}))
	if err != nil {
		return err
	}
	as, err := s.Store.ListDirectoryRoleAssignments(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(as))
	for i, a := range as {
		objs[i] = roleAssignmentJSON(a)
	}
	s.writeGraphList(w, r, roleAssignmentsSet, objs, q)
	return nil
}

// findRoleAssignment returns the tenant's assignment with id, or Request_ResourceNotFound.
func (s *Server) findRoleAssignment(r *http.Request, c Caller, id string) (directory.RoleAssignment, error) {
	as, err := s.Store.ListDirectoryRoleAssignments(r.Context(), c.TenantID)
	if err != nil {
		return directory.RoleAssignment{}, err
	}
	for _, a := range as {
		if strings.EqualFold(a.ID, id) {
			return a, nil
		}
	}
	return directory.RoleAssignment{}, graphNotFound("httpapi.findRoleAssignment", id)
}

func (s *Server) getRoleAssignment(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "roleAssignments"); err != nil {
		return err
	}
	a, err := s.findRoleAssignment(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, roleAssignmentsSet, roleAssignmentJSON(a))
}

// roleAssignmentCreate is the body of POST …/roleAssignments.
type roleAssignmentCreate struct {
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

func (s *Server) createRoleAssignment(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createRoleAssignment"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "roleAssignments", directory.ActionCreate); err != nil {
		return err
	}
	var body roleAssignmentCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	role, ok := directory.DirectoryRoleByID(body.RoleDefinitionID)
	if !ok || !strings.EqualFold(role.TemplateID, body.RoleDefinitionID) {
		return graphBadRequest(op, "The role definition '"+truncate(body.RoleDefinitionID, 64)+"' does not exist; list them at /v1.0/roleManagement/directory/roleDefinitions.")
	}
	if body.DirectoryScopeID != "/" {
		return graphBadRequest(op, "Latch assigns directory roles across the whole tenant only: set directoryScopeId to '/'.")
	}
	principal := strings.ToLower(body.PrincipalID)
	if !directory.IsGUID(principal) || !s.principalExists(r, c.TenantID, principal) {
		return graphBadRequest(op, "The principal '"+truncate(body.PrincipalID, 64)+"' is not a user, group or service principal of this tenant.")
	}
	a := directory.RoleAssignment{ID: newID(), TenantID: c.TenantID, PrincipalID: principal,
		RoleDefinitionID: role.TemplateID, DirectoryScopeID: "/"}
	if err := s.Store.CreateDirectoryRoleAssignment(ctx, a); err != nil {
		if errs.Is(err, errs.Exists) {
			return errs.E(op, errs.Exists, errs.Code("RoleAssignmentExists"),
				"The principal '"+principal+"' already holds the role '"+role.DisplayName+"' at scope '/'.")
		}
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusCreated, roleAssignmentsSet, roleAssignmentJSON(a))
}

// principalExists reports whether id is a user, group or service principal of the tenant.
func (s *Server) principalExists(r *http.Request, tenantID, id string) bool {
	ctx := r.Context()
	if _, err := s.Store.GetUser(ctx, tenantID, id); err == nil {
		return true
	}
	if _, err := s.Store.GetGroup(ctx, tenantID, id); err == nil {
		return true
	}
	_, err := s.Store.GetServicePrincipal(ctx, tenantID, id)
	return err == nil
}

func (s *Server) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.deleteRoleAssignment"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "roleAssignments", directory.ActionDelete); err != nil {
		return err
	}
	a, err := s.findRoleAssignment(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	what := "remove the Global Administrator assignment " + a.ID
	if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, func(x directory.RoleAssignment) bool { return x.ID == a.ID }, what); err != nil {
		return err
	}
	if err := s.Store.DeleteDirectoryRoleAssignment(ctx, c.TenantID, a.ID); err != nil {
		return asGraphError(op, a.ID, err)
	}
	// Two administrators removing the last two assignments at once would both pass the check
	// above; whoever finds none left afterwards puts theirs back.
	if strings.EqualFold(a.RoleDefinitionID, directory.GlobalAdministrator.TemplateID) {
		_, remaining, err := s.countGlobalAdmins(ctx, c.TenantID, func(directory.RoleAssignment) bool { return false })
		if err != nil {
			return err
		}
		if remaining == 0 {
			if err := s.Store.CreateDirectoryRoleAssignment(ctx, a); err != nil && !errs.Is(err, errs.Exists) {
				return errs.E(op, errs.Internal, err)
			}
			return lastGlobalAdminError(what)
		}
	}
	noContent(w)
	return nil
}
