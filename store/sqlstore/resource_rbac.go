package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

var roleDefinitions = docKind[resource.RoleDefinition]{
	name: "roleDefinition", what: "role definition",
	ids: func(d *resource.RoleDefinition) (*string, *string) { return &d.TenantID, &d.Definition.ID },
	key: func(d resource.RoleDefinition) string { return strings.ToLower(d.Definition.ID) },
	ref: func(resource.RoleDefinition) string { return "" },
	stamp: func(d *resource.RoleDefinition, v int64, c time.Time) {
		d.Version, d.Created = v, c
	},
	exists: func(d resource.RoleDefinition) string {
		return fmt.Sprintf("A role definition with id '%s' already exists.", d.Definition.ID)
	},
}

// Assignments keep their uniqueness key (scope|principal|role, see resource.AssignmentKey) in
// lookup and their principal in ref: the unique index enforces ARM's one-assignment rule, the
// ref index serves "what may this principal do", and the key's scope prefix serves listings.
var roleAssignmentsKind = docKind[resource.RoleAssignment]{
	name: "roleAssignment", what: "role assignment",
	ids: func(a *resource.RoleAssignment) (*string, *string) { return &a.TenantID, &a.Assignment.ID },
	key: func(a resource.RoleAssignment) string { return resource.AssignmentKey(a.Assignment) },
	ref: func(a resource.RoleAssignment) string { return strings.ToLower(a.Assignment.PrincipalID) },
	stamp: func(a *resource.RoleAssignment, v int64, c time.Time) {
		a.Version, a.Created = v, c
	},
	exists: func(resource.RoleAssignment) string { return "The role assignment already exists." },
}

// CreateRoleDefinition stores a custom role; its id is kept in lower case.
func (s *Store) CreateRoleDefinition(ctx context.Context, d resource.RoleDefinition) error {
	d.Definition.ID = strings.ToLower(d.Definition.ID)
	return roleDefinitions.create(ctx, s, "store.CreateRoleDefinition", d)
}

// GetRoleDefinition finds a custom role by GUID in any case; NotFound when absent.
func (s *Store) GetRoleDefinition(ctx context.Context, tenantID, id string) (resource.RoleDefinition, error) {
	return roleDefinitions.get(ctx, s, "store.GetRoleDefinition", tenantID, strings.ToLower(id))
}

// ListRoleDefinitions returns the tenant's custom roles, oldest first.
func (s *Store) ListRoleDefinitions(ctx context.Context, tenantID string) ([]resource.RoleDefinition, error) {
	return roleDefinitions.list(ctx, s, "store.ListRoleDefinitions", tenantID, "")
}

// UpdateRoleDefinition is compare-and-swap.
func (s *Store) UpdateRoleDefinition(ctx context.Context, tenantID, id string, fn func(resource.RoleDefinition) (resource.RoleDefinition, error)) (resource.RoleDefinition, error) {
	return roleDefinitions.update(ctx, s, "store.UpdateRoleDefinition", tenantID, strings.ToLower(id), fn)
}

// DeleteRoleDefinition removes a custom role no assignment uses. The role's row is locked
// first, and CreateRoleAssignment locks it too, so no assignment can slip in between the
// check and the delete.
func (s *Store) DeleteRoleDefinition(ctx context.Context, tenantID, id string) error {
	const op = "store.DeleteRoleDefinition"
	id = strings.ToLower(id)
	err := s.inTx(ctx, func(c conn) error {
		if err := lockByKey(ctx, c, op, roleDefinitions.name, roleDefinitions.what, tenantID, id); err != nil {
			return err
		}
		var n int
		if err := c.row(ctx, `SELECT COUNT(*) FROM docs WHERE kind = ? AND tenant_id = ? AND lookup LIKE ? ESCAPE '\'`,
			roleAssignmentsKind.name, tenantID, "%|"+likeEscape(id)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(op, errs.Conflict, errs.Code("RoleDefinitionHasAssignments"),
				"There are existing role assignments referencing role; remove them before deleting the role.")
		}
		return roleDefinitions.remove(ctx, c, op, tenantID, id)
	})
	return s.d.wrap(op, err, "")
}

// CreateRoleAssignment stores a; see store.ResourceStore for its refusals.
func (s *Store) CreateRoleAssignment(ctx context.Context, a resource.RoleAssignment) error {
	const op = "store.CreateRoleAssignment"
	a.Assignment.ID = strings.ToLower(a.Assignment.ID)
	a.Assignment.RoleDefinitionID = strings.ToLower(a.Assignment.RoleDefinitionID)
	err := s.inTx(ctx, func(c conn) error {
		if !access.IsBuiltInRoleID(a.Assignment.RoleDefinitionID) {
			err := lockByKey(ctx, c, op, roleDefinitions.name, roleDefinitions.what, a.TenantID, a.Assignment.RoleDefinitionID)
			if errs.Is(err, errs.NotFound) {
				return access.ErrRoleDefinitionNotFound(a.Assignment.RoleDefinitionID)
			}
			if err != nil {
				return err
			}
		}
		return insertDoc(ctx, c, s, roleAssignmentsKind, op, a)
	})
	if errs.Is(err, errs.Exists) {
		return errs.E(op, errs.Exists, access.CodeRoleAssignmentExists, "The role assignment already exists.", err)
	}
	return s.d.wrap(op, err, "")
}

// GetRoleAssignment finds an assignment by GUID in any case; NotFound when absent.
func (s *Store) GetRoleAssignment(ctx context.Context, tenantID, id string) (resource.RoleAssignment, error) {
	return roleAssignmentsKind.get(ctx, s, "store.GetRoleAssignment", tenantID, strings.ToLower(id))
}

// DeleteRoleAssignment fails with NotFound when there is no such assignment.
func (s *Store) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	return roleAssignmentsKind.remove(ctx, s.c, "store.DeleteRoleAssignment", tenantID, strings.ToLower(id))
}

// ListRoleAssignments returns the assignments q selects, oldest first.
func (s *Store) ListRoleAssignments(ctx context.Context, tenantID string, q resource.RoleAssignmentQuery) ([]resource.RoleAssignment, error) {
	const op = "store.ListRoleAssignments"
	where, args := assignmentFilter(q)
	rows, err := s.c.query(ctx, `SELECT data, version, created FROM docs WHERE kind = ? AND tenant_id = ?`+where+
		` ORDER BY created, id`, append([]any{roleAssignmentsKind.name, tenantID}, args...)...)
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	out := []resource.RoleAssignment{}
	for rows.Next() {
		a, _, err := roleAssignmentsKind.scan(op, rows)
		if err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		out = append(out, a)
	}
	return out, s.d.wrap(op, rows.Err(), "")
}

// assignmentFilter turns q into SQL conditions on lookup and ref, "" when q selects all.
func assignmentFilter(q resource.RoleAssignmentQuery) (string, []any) {
	var conds []string
	var args []any
	if scope, a := scopeCondition(q); scope != "" {
		conds, args = append(conds, scope), append(args, a...)
	}
	if len(q.PrincipalIDs) > 0 {
		conds = append(conds, "ref IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.PrincipalIDs)), ", ")+")")
		for _, p := range q.PrincipalIDs {
			args = append(args, strings.ToLower(p))
		}
	}
	if q.RoleDefinitionID != "" {
		conds = append(conds, `lookup LIKE ? ESCAPE '\'`)
		args = append(args, "%|"+likeEscape(strings.ToLower(q.RoleDefinitionID)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}

// scopeCondition is the OR of "exactly at one of Scopes" and "at or below AtOrBelow", or ""
// when that is everything (nothing asked, or at or below the root).
func scopeCondition(q resource.RoleAssignmentQuery) (string, []any) {
	var ors []string
	var args []any
	for _, sc := range q.Scopes {
		ors = append(ors, `lookup LIKE ? ESCAPE '\'`)
		args = append(args, likeEscape(resource.IDKey(sc))+"|%")
	}
	if q.AtOrBelow != "" {
		key := resource.IDKey(strings.TrimSuffix(q.AtOrBelow, "/"))
		if key == "" { // the root: everything is at or below it
			return "", nil
		}
		ors = append(ors, `lookup LIKE ? ESCAPE '\'`, `lookup LIKE ? ESCAPE '\'`)
		args = append(args, likeEscape(key)+"|%", likeEscape(key)+"/%")
	}
	if len(ors) == 0 {
		return "", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}
