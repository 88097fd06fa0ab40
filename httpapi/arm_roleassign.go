package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// assignmentBody is a role assignment PUT body with ARM's field names: az sends
// properties.roleDefinitionId, principalId and principalType.
type assignmentBody struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleDefinitionID                   string  `json:"roleDefinitionId"`
		PrincipalID                        string  `json:"principalId"`
		PrincipalType                      string  `json:"principalType"`
		Scope                              string  `json:"scope"`
		Description                        *string `json:"description"`
		Condition                          *string `json:"condition"`
		ConditionVersion                   *string `json:"conditionVersion"`
		CanDelegate                        *bool   `json:"canDelegate"`
		DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	} `json:"properties"`
}

// assignmentPath checks the scope and id of an assignment route and records the id.
func (q *armRequest) assignmentPath() (access.Scope, string, error) {
	scope, err := q.authScope()
	if err != nil {
		return scope, "", err
	}
	id := strings.ToLower(q.vars["id"])
	if !directory.IsGUID(id) {
		return scope, "", errs.E("httpapi.assignmentPath", errs.Invalid, access.CodeInvalidRoleAssignmentID,
			fmt.Sprintf("The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", truncate(q.vars["id"], 64)))
	}
	q.resourceID = access.RoleAssignment{ID: id, Scope: scope.String()}.ARMID()
	return scope, id, nil
}

// putRoleAssignment creates an assignment: 201, or 409 RoleAssignmentExists when the principal
// has the role at the scope already. The caller needs roleAssignments/write at the scope;
// ARM's rules (data actions not at management groups nor through old api-versions,
// assignable scopes) are access.ValidateAssignmentAt's.
func putRoleAssignment(q *armRequest) (int, any, error) {
	scope, id, err := q.assignmentPath()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(access.ActionRoleAssignmentsWrite, scope); err != nil {
		return 0, nil, err
	}
	var b assignmentBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	a, err := q.newAssignment(scope, id, b)
	if err != nil {
		return 0, nil, err
	}
	role, err := q.findRoleDefinition(a.RoleDefinitionID)
	if err != nil {
		return 0, nil, err
	}
	a.RoleDefinitionID = role.ID
	existing, err := q.conflictingAssignments(a)
	if err != nil {
		return 0, nil, err
	}
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	if err := access.ValidateAssignmentAt(a, role, existing, q.apiVersion, h.Ancestors(scope)); err != nil {
		return 0, nil, err
	}
	for _, e := range existing {
		if strings.EqualFold(e.ID, a.ID) { // the same assignment again: nothing changes
			return http.StatusOK, e, nil
		}
	}
	if err := q.s.Store.CreateRoleAssignment(q.ctx, resource.RoleAssignment{TenantID: q.tenantID(), Assignment: a}); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, a, nil
}

// newAssignment builds the assignment a PUT describes, filling principalType from the
// directory and refusing principals that do not exist or whose type the body misstates.
func (q *armRequest) newAssignment(scope access.Scope, id string, b assignmentBody) (access.RoleAssignment, error) {
	const op = "httpapi.newAssignment"
	p := b.Properties
	if p.Scope != "" && !scopeOrZero(p.Scope).Equal(scope) {
		return access.RoleAssignment{}, errs.E(op, errs.Invalid, errs.Code("InvalidRoleAssignmentScope"),
			"The scope in the request body does not match the scope in the URL.")
	}
	if !directory.IsGUID(p.PrincipalID) {
		return access.RoleAssignment{}, errs.E(op, errs.Invalid, access.CodeInvalidPrincipalID, "A valid principal ID must be provided for role assignment.")
	}
	actual, err := q.s.principalType(q.ctx, q.tenantID(), p.PrincipalID)
	if errs.Is(err, errs.NotFound) {
		return access.RoleAssignment{}, errs.E(op, errs.Invalid, errs.Code("PrincipalNotFound"), fmt.Sprintf(
			"Principal %s does not exist in the directory %s. Check that you have the correct principal ID.", strings.ReplaceAll(p.PrincipalID, "-", ""), q.tenantID()))
	}
	if err != nil {
		return access.RoleAssignment{}, err
	}
	if p.PrincipalType != "" && !strings.EqualFold(p.PrincipalType, actual) {
		return access.RoleAssignment{}, errs.E(op, errs.Invalid, errs.Code("UnmatchedPrincipalType"), fmt.Sprintf(
			"The PrincipalId '%s' has type '%s' , which is different from specified PrincipalType '%s'.", p.PrincipalID, actual, truncate(p.PrincipalType, 40)))
	}
	now := q.s.now().UTC()
	return access.RoleAssignment{ID: id, Scope: scope.String(), RoleDefinitionID: p.RoleDefinitionID,
		PrincipalID: strings.ToLower(p.PrincipalID), PrincipalType: actual, Description: deref(p.Description),
		Condition: deref(p.Condition), ConditionVersion: deref(p.ConditionVersion),
		DelegatedManagedIdentityResourceID: deref(p.DelegatedManagedIdentityResourceID),
		CreatedOn:                          now, UpdatedOn: now, CreatedBy: q.caller.ObjectID, UpdatedBy: q.caller.ObjectID}, nil
}

// conflictingAssignments are the ones ValidateAssignment must see: the same id, and the same
// role for the same principal at the same scope.
func (q *armRequest) conflictingAssignments(a access.RoleAssignment) ([]access.RoleAssignment, error) {
	same, err := q.s.Store.ListRoleAssignments(q.ctx, q.tenantID(), resource.RoleAssignmentQuery{
		Scopes: []string{a.Scope}, PrincipalIDs: []string{a.PrincipalID}, RoleDefinitionID: a.RoleDefinitionID})
	if err != nil {
		return nil, err
	}
	out := resource.Assignments(same)
	byID, err := q.s.Store.GetRoleAssignment(q.ctx, q.tenantID(), a.ID)
	if err == nil {
		out = append(out, byID.Assignment)
	} else if !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	return out, nil
}

func assignmentNotFound(id string) error {
	return errs.E("httpapi.roleAssignment", errs.NotFound, errs.Code("RoleAssignmentNotFound"),
		"The role assignment '"+truncate(id, 64)+"' is not found.")
}

// storedAssignment finds the assignment the path names; one under another scope is not found.
func (q *armRequest) storedAssignment(scope access.Scope, id string) (access.RoleAssignment, error) {
	a, err := q.s.Store.GetRoleAssignment(q.ctx, q.tenantID(), id)
	if errs.Is(err, errs.NotFound) || err == nil && !scopeOrZero(a.Assignment.Scope).Equal(scope) {
		return access.RoleAssignment{}, assignmentNotFound(id)
	}
	return a.Assignment, err
}

func getRoleAssignment(q *armRequest) (int, any, error) {
	scope, id, err := q.assignmentPath()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(access.ActionRoleAssignmentsRead, scope); err != nil {
		return 0, nil, err
	}
	a, err := q.storedAssignment(scope, id)
	return http.StatusOK, a, err
}

// deleteRoleAssignment answers 200 with the deleted assignment, or 204 when there was none.
func deleteRoleAssignment(q *armRequest) (int, any, error) {
	scope, id, err := q.assignmentPath()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(access.ActionRoleAssignmentsDelete, scope); err != nil {
		return 0, nil, err
	}
	a, err := q.storedAssignment(scope, id)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if err := q.s.Store.DeleteRoleAssignment(q.ctx, q.tenantID(), id); err != nil {
		if errs.Is(err, errs.NotFound) {
			return http.StatusNoContent, nil, nil
		}
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}
