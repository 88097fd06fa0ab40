package resource

import (
	"strings"
	"time"

	"github.com/latchsh/latch/access"
)

// RoleDefinition is a custom role as the store keeps it: the tenant it belongs to and the
// definition in access's terms. Built-in roles are never stored; access.BuiltInRoles has them.
type RoleDefinition struct {
	TenantID   string                `json:"tenantId"`
	Definition access.RoleDefinition `json:"definition"`
	Created    time.Time             `json:"created"`
	Version    int64                 `json:"version"`
}

// RoleAssignment is a role assignment as the store keeps it. Assignment.Scope is canonical
// (access.ParseScope's String) and Assignment.ID and RoleDefinitionID are lower-case GUIDs.
type RoleAssignment struct {
	TenantID   string                `json:"tenantId"`
	Assignment access.RoleAssignment `json:"assignment"`
	Created    time.Time             `json:"created"`
	Version    int64                 `json:"version"`
}

// AssignmentKey is what makes an assignment unique in a tenant: ARM allows one assignment of a
// role to a principal at a scope. It is lower case, scope first, so that assignments at or
// below a scope share a prefix.
func AssignmentKey(a access.RoleAssignment) string {
	return IDKey(a.Scope) + "|" + strings.ToLower(a.PrincipalID) + "|" + strings.ToLower(a.RoleDefinitionID)
}

// RoleAssignmentQuery selects role assignments. Every field that is set must match; an empty
// query selects all of a tenant's assignments.
type RoleAssignmentQuery struct {
	// Scopes, when set, keeps assignments exactly at one of these scopes (ARM ids, any case).
	// AtOrBelow, when set, keeps assignments at that scope or below it. When both are set an
	// assignment matching either is kept, which is how "at, above and below a scope" is asked.
	Scopes    []string
	AtOrBelow string
	// PrincipalIDs, when not empty, keeps assignments to one of these principals. An empty
	// list selects any principal, so callers asking about a principal always include its id.
	PrincipalIDs []string
	// RoleDefinitionID, when set, keeps assignments of this role (GUID).
	RoleDefinitionID string
}

// Assignments returns the access form of stored assignments.
func Assignments(rs []RoleAssignment) []access.RoleAssignment {
	out := make([]access.RoleAssignment, len(rs))
	for i, r := range rs {
		out[i] = r.Assignment
	}
	return out
}

// Definitions returns the access form of stored definitions.
func Definitions(rs []RoleDefinition) []access.RoleDefinition {
	out := make([]access.RoleDefinition, len(rs))
	for i, r := range rs {
		out[i] = r.Definition
	}
	return out
}
