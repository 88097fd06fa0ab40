package resource

import (
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
)

// AccessIndex is a snapshot of what access decisions read — role assignments by principal,
// role definitions by id, and group membership — indexed so that one decision costs the
// handful of assignments of one principal and its groups, not a scan of the tenant. It is
// immutable after NewAccessIndex and safe for concurrent use. It holds no clock and no store:
// whoever builds it decides how fresh it is.
type AccessIndex struct {
	byPrincipal map[string][]access.RoleAssignment // lower-case principal id
	roles       map[string]access.RoleDefinition   // lower-case GUID, built-ins included
	groupsOf    map[string][]string                // member id → every group containing it, transitively
}

// NewAccessIndex indexes assignments and the custom roles (built-in roles are always
// included and cannot be replaced by a custom role with the same id). groups are the tenant's
// groups; membership is resolved transitively, cycles included, once here.
func NewAccessIndex(assignments []access.RoleAssignment, custom []access.RoleDefinition, groups []directory.Group) *AccessIndex {
	x := &AccessIndex{byPrincipal: make(map[string][]access.RoleAssignment), roles: access.IndexRoles(custom...)}
	for _, b := range access.BuiltInRoles() {
		x.roles[strings.ToLower(b.ID)] = b
	}
	for _, a := range assignments {
		k := strings.ToLower(a.PrincipalID)
		x.byPrincipal[k] = append(x.byPrincipal[k], a)
	}
	x.groupsOf = transitiveMembership(groups)
	return x
}

// transitiveMembership computes, for every direct member of any group, all groups that
// contain it directly or through nesting. Each group's closure is computed once and shared.
func transitiveMembership(groups []directory.Group) map[string][]string {
	parents := map[string][]string{}
	for _, g := range groups {
		for _, m := range g.Members {
			k := strings.ToLower(m)
			parents[k] = append(parents[k], strings.ToLower(g.ID))
		}
	}
	closure := map[string][]string{}
	out := make(map[string][]string, len(parents))
	for member := range parents {
		out[member] = closureOf(member, parents, closure)
	}
	return out
}

// closureOf walks up from id breadth-first; memo keeps finished group closures.
func closureOf(id string, parents, memo map[string][]string) []string {
	if c, ok := memo[id]; ok {
		return c
	}
	seen := map[string]bool{id: true}
	var out []string
	queue := append([]string(nil), parents[id]...)
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, g)
		queue = append(queue, parents[g]...)
	}
	memo[id] = out
	return out
}

// PrincipalIDs returns objectID followed by every group it belongs to, transitively.
func (x *AccessIndex) PrincipalIDs(objectID string) []string {
	gs := x.groupsOf[strings.ToLower(objectID)]
	out := make([]string, 0, len(gs)+1)
	return append(append(out, objectID), gs...)
}

// Roles returns the index's role definitions by lower-case GUID. The map is shared: do not
// change it.
func (x *AccessIndex) Roles() map[string]access.RoleDefinition { return x.roles }

// Decide is access.Decide over the assignments of req.PrincipalIDs only.
func (x *AccessIndex) Decide(req access.Request) access.Decision {
	var mine []access.RoleAssignment
	for _, id := range req.PrincipalIDs {
		mine = append(mine, x.byPrincipal[strings.ToLower(id)]...)
	}
	return access.Decide(req, mine, x.roles)
}

// Check decides whether principal objectID, with its groups, may perform action at scope,
// whose management-group ancestors are given nearest first.
func (x *AccessIndex) Check(objectID, action string, isDataAction bool, scope access.Scope, ancestors []access.Scope) access.Decision {
	return x.Decide(access.Request{PrincipalIDs: x.PrincipalIDs(objectID), Action: action,
		IsDataAction: isDataAction, Scope: scope, Ancestors: ancestors})
}

// IsDataAction reports whether action is a data action of some known role, which is how a
// caller that only names an action is told whether Actions or DataActions decide it.
func (x *AccessIndex) IsDataAction(action string) bool {
	for _, r := range x.roles {
		for _, p := range r.Permissions {
			for _, d := range p.DataActions {
				if strings.EqualFold(d, action) {
					return true
				}
			}
		}
	}
	return false
}
