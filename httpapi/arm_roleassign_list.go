package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// assignmentFilter is ARM's $filter for role assignment lists: atScope() (only at or above the
// scope), principalId eq '…' (that principal only), assignedTo('…') (the principal and its
// groups), joined by "and".
type assignmentFilter struct {
	atScope    bool
	principal  string
	assignedTo string
}

func parseAssignmentFilter(raw string) (assignmentFilter, error) {
	var f assignmentFilter
	for _, c := range splitAnd(raw) {
		switch lc := strings.ToLower(c); {
		case lc == "atscope()":
			f.atScope = true
		case strings.HasPrefix(lc, "assignedto('") && strings.HasSuffix(lc, "')"):
			f.assignedTo = c[len("assignedTo('") : len(c)-2]
		default:
			field, op, val, ok := parseClause(c)
			if !ok || !strings.EqualFold(field, "principalId") || !strings.EqualFold(op, "eq") {
				return f, errs.E("httpapi.parseAssignmentFilter", errs.Invalid, errs.Code("UnsupportedQuery"),
					"The filter '"+truncate(c, 100)+"' is not supported. Use atScope(), principalId eq '{id}' or assignedTo('{id}').")
			}
			f.principal = val
		}
	}
	return f, nil
}

// listRoleAssignments lists the assignments that apply at a scope (at it and above it) and,
// without atScope(), those below it too, as ARM does. The caller needs roleAssignments/read
// at the scope.
func listRoleAssignments(q *armRequest) (int, any, error) {
	scope, err := q.authScope()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(access.ActionRoleAssignmentsRead, scope); err != nil {
		return 0, nil, err
	}
	f, err := parseAssignmentFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return 0, nil, err
	}
	query, err := q.assignmentQuery(scope, f)
	if err != nil {
		return 0, nil, err
	}
	as, err := q.s.Store.ListRoleAssignments(q.ctx, q.tenantID(), query)
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, a := range as {
		out = append(out, a.Assignment)
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (q *armRequest) assignmentQuery(scope access.Scope, f assignmentFilter) (resource.RoleAssignmentQuery, error) {
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return resource.RoleAssignmentQuery{}, err
	}
	query := resource.RoleAssignmentQuery{Scopes: scopesAbove(scope, h)}
	if !f.atScope {
		query.AtOrBelow = scope.String()
	} else {
		query.Scopes = append(query.Scopes, scope.String())
	}
	switch {
	case f.assignedTo != "":
		groups, err := q.s.Store.ListGroups(q.ctx, q.tenantID())
		if err != nil {
			return query, err
		}
		query.PrincipalIDs = append([]string{f.assignedTo}, directory.TransitiveGroups(f.assignedTo, groups)...)
	case f.principal != "":
		query.PrincipalIDs = []string{f.principal}
	}
	return query, nil
}

// scopesAbove lists the scopes whose assignments reach scope from above: its parents in the
// scope string, the management groups above it, and the root.
func scopesAbove(scope access.Scope, h resource.Hierarchy) []string {
	var out []string
	for p, ok := scope.Parent(); ok; p, ok = p.Parent() {
		if p.Kind() != access.Root {
			out = append(out, p.String())
		}
	}
	for _, a := range h.Ancestors(scope) {
		out = append(out, a.String())
	}
	if scope.Kind() != access.Root {
		out = append(out, "/")
	}
	return out
}
