package resource

import (
	"bytes"
	"slices"
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
	// byPrincipal holds each principal's assignments as (scope number, assignment number)
	// pairs: a decision numbers the few scopes that reach its target, compares integers, and
	// hands access.Decide only the assignments that can apply. Numbers instead of strings keep
	// a principal's entries small and together in memory, which is what a decision waits on.
	byPrincipal map[string][]grant               // lower-case principal id
	scopeNums   map[string]int32                 // IDKey of a scope that has assignments → its number
	assignments []access.RoleAssignment          // by assignment number
	roles       map[string]access.RoleDefinition // lower-case GUID, built-ins included
	groupsOf    map[string][]string              // member id → every group containing it, transitively
}

type grant struct{ scope, assignment int32 }

// NewAccessIndex indexes assignments and the custom roles (built-in roles are always
// included and cannot be replaced by a custom role with the same id). groups are the tenant's
// groups; membership is resolved transitively, cycles included, once here.
func NewAccessIndex(assignments []access.RoleAssignment, custom []access.RoleDefinition, groups []directory.Group) *AccessIndex {
	x := &AccessIndex{byPrincipal: make(map[string][]grant), scopeNums: map[string]int32{},
		assignments: slices.Clone(assignments), roles: access.IndexRoles(custom...)}
	for _, b := range access.BuiltInRoles() {
		x.roles[strings.ToLower(b.ID)] = b
	}
	for i, a := range x.assignments {
		key := IDKey(a.Scope)
		n, ok := x.scopeNums[key]
		if !ok {
			n = int32(len(x.scopeNums))
			x.scopeNums[key] = n
		}
		p := strings.ToLower(a.PrincipalID)
		x.byPrincipal[p] = append(x.byPrincipal[p], grant{n, int32(i)})
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

// Decide is access.Decide over the assignments that can reach req: those of req.PrincipalIDs
// at req.Scope or a scope above it (its parents, req.Ancestors and the root). Every other
// assignment would be ignored by access.Decide anyway, so the answer is the same as deciding
// over all of them.
func (x *AccessIndex) Decide(req access.Request) access.Decision {
	var buf [16]int32
	scopes := x.reachingScopes(buf[:0], req.Scope, req.Ancestors)
	var mine []access.RoleAssignment
	for _, id := range req.PrincipalIDs {
		mine = x.collect(strings.ToLower(id), scopes, mine)
	}
	return x.decide(req, mine)
}

// Check decides whether principal objectID, with its groups, may perform action at scope,
// whose management-group ancestors are given nearest first.
func (x *AccessIndex) Check(objectID, action string, isDataAction bool, scope access.Scope, ancestors []access.Scope) access.Decision {
	var buf [16]int32
	scopes := x.reachingScopes(buf[:0], scope, ancestors)
	oid := strings.ToLower(objectID)
	mine := x.collect(oid, scopes, nil)
	for _, g := range x.groupsOf[oid] {
		mine = x.collect(g, scopes, mine)
	}
	req := access.Request{PrincipalIDs: []string{objectID}, Action: action, IsDataAction: isDataAction, Scope: scope, Ancestors: ancestors}
	if len(mine) > 0 {
		req.PrincipalIDs = x.PrincipalIDs(objectID)
	}
	return x.decide(req, mine)
}

// collect appends principal's assignments at one of scopes to into.
func (x *AccessIndex) collect(principal string, scopes []int32, into []access.RoleAssignment) []access.RoleAssignment {
	if len(scopes) == 0 {
		return into
	}
	for _, g := range x.byPrincipal[principal] {
		if slices.Contains(scopes, g.scope) {
			into = append(into, x.assignments[g.assignment])
		}
	}
	return into
}

// decide hands the candidates to access.Decide. With none, the answer is a denial whatever the
// principals are, so only the first is passed, sparing Decide an index of all of them.
func (x *AccessIndex) decide(req access.Request, candidates []access.RoleAssignment) access.Decision {
	if len(candidates) == 0 && len(req.PrincipalIDs) > 1 {
		req.PrincipalIDs = req.PrincipalIDs[:1]
	}
	return access.Decide(req, candidates, x.roles)
}

// reachingScopes appends to out the numbers of the scopes whose assignments apply at target
// and have any: target, every parent in its id up to the root, and the management groups
// above it. The parents are prefixes of target's canonical id, so one lower-cased copy (on
// the stack for ids of ordinary length) serves them all, and the map lookups by a []byte
// conversion allocate nothing.
func (x *AccessIndex) reachingScopes(out []int32, target access.Scope, ancestors []access.Scope) []int32 {
	if target.IsZero() {
		return out
	}
	var buf [256]byte
	key := appendLowerASCII(buf[:0], target.String())
	out = x.appendScope(out, key)
	switch target.Kind() {
	case access.Resource:
		// subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}]…
		for n := bytes.Count(key, slash) - 2; n >= 8; n -= 2 {
			out = x.appendScope(out, prefixSegments(key, n))
		}
		out = x.appendScope(out, prefixSegments(key, 4))
		out = x.appendScope(out, prefixSegments(key, 2))
	case access.ResourceGroup:
		out = x.appendScope(out, prefixSegments(key, 2))
	}
	if target.Kind() != access.Root {
		out = x.appendScope(out, slash)
	}
	for _, a := range ancestors {
		if a.Kind() == access.ManagementGroup {
			out = x.appendScope(out, appendLowerASCII(buf[:0], a.String()))
		}
	}
	return out
}

var slash = []byte("/")

// appendScope appends the number of the scope with lookup key key, if it has assignments.
func (x *AccessIndex) appendScope(out []int32, key []byte) []int32 {
	if n, ok := x.scopeNums[string(key)]; ok {
		out = append(out, n)
	}
	return out
}

func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// prefixSegments is the part of id ("/a/b/c…") made of its first n segments.
func prefixSegments(id []byte, n int) []byte {
	seen := 0
	for i := 1; i < len(id); i++ {
		if id[i] == '/' {
			if seen++; seen == n {
				return id[:i]
			}
		}
	}
	return id
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
