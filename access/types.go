package access

import (
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Role types, as ARM spells them in a role definition's properties.type.
const (
	RoleTypeBuiltIn = "BuiltInRole"
	RoleTypeCustom  = "CustomRole"
)

// Principal types a role can be assigned to, as ARM spells them. Managed identities are
// ServicePrincipal, as in Azure.
const (
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalForeignGroup     = "ForeignGroup"
	PrincipalDevice           = "Device"
)

// ARM resource types of the two kinds of object, and the path segment their ids sit under.
const (
	TypeRoleDefinition = "Microsoft.Authorization/roleDefinitions"
	TypeRoleAssignment = "Microsoft.Authorization/roleAssignments"
)

// Permission is one block of a role definition: what it allows and what it carves out, for
// control-plane actions and for data actions separately.
type Permission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// RoleDefinition is a role, built in or custom. ID is the bare GUID (ARM's "name"); its ARM id
// is ARMID's. Decoding from JSON normalizes empty lists to nil, lower-cases GUIDs and converts
// times to UTC, so a definition survives a JSON round trip unchanged.
type RoleDefinition struct {
	ID               string
	RoleName         string
	Description      string
	RoleType         string // RoleTypeBuiltIn or RoleTypeCustom
	Permissions      []Permission
	AssignableScopes []string
	CreatedOn        time.Time
	UpdatedOn        time.Time
	CreatedBy        string
	UpdatedBy        string
}

// RoleAssignment grants a role to a principal at a scope and everything below it.
// RoleDefinitionID is the role's bare GUID; JSON carries ARM's full id and decoding keeps the
// GUID. A Condition (ABAC, conditionVersion "2.0") is stored and returned, but Decide does not
// evaluate conditions yet and ignores any assignment that has one.
type RoleAssignment struct {
	ID               string // GUID, ARM's "name"
	Scope            string // canonical scope string, see ParseScope
	RoleDefinitionID string
	PrincipalID      string
	PrincipalType    string
	Description      string
	Condition        string
	ConditionVersion string
	CreatedOn        time.Time
	UpdatedOn        time.Time
	CreatedBy        string
	UpdatedBy        string
	// DelegatedManagedIdentityResourceID is kept for ARM compatibility; Latch gives it no meaning.
	DelegatedManagedIdentityResourceID string
}

const (
	providersAuthorization = "/providers/Microsoft.Authorization/"
	roleDefinitionsPath    = providersAuthorization + "roleDefinitions/"
	roleAssignmentsPath    = providersAuthorization + "roleAssignments/"
)

// ARMID is the definition's tenant-wide ARM id, /providers/Microsoft.Authorization/roleDefinitions/{guid},
// which is how ARM names built-in roles.
func (d RoleDefinition) ARMID() string { return roleDefinitionARMID(d.ID, Scope{}) }

// ARMIDAt is the id ARM shows for the definition when listed at scope: under a subscription it
// is prefixed with /subscriptions/{id}, elsewhere it is ARMID. ParseRoleDefinitionID accepts both.
func (d RoleDefinition) ARMIDAt(scope Scope) string { return roleDefinitionARMID(d.ID, scope) }

func roleDefinitionARMID(guid string, at Scope) string {
	if guid == "" {
		return ""
	}
	if sub := at.SubscriptionID(); sub != "" {
		return "/subscriptions/" + sub + roleDefinitionsPath + guid
	}
	return roleDefinitionsPath + guid
}

// ARMID is the assignment's ARM id, {scope}/providers/Microsoft.Authorization/roleAssignments/{guid},
// or "" when the assignment has no scope or id yet.
func (a RoleAssignment) ARMID() string {
	if a.Scope == "" || a.ID == "" {
		return ""
	}
	return strings.TrimSuffix(a.Scope, "/") + roleAssignmentsPath + a.ID
}

// ParseRoleDefinitionID accepts a role definition's bare GUID or any of its ARM ids
// ({scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}, where {scope} is empty or a
// valid scope; az sends the subscription form) and returns the GUID in lower case. Anything
// else fails with kind errs.Invalid and code "InvalidRoleDefinitionId".
func ParseRoleDefinitionID(s string) (string, error) {
	const op = "access.ParseRoleDefinitionID"
	guid, ok := splitARMID(s, roleDefinitionsPath)
	if !ok {
		return "", errs.E(op, errs.Invalid, errs.Code("InvalidRoleDefinitionId"),
			"The role definition id must be a GUID or /providers/Microsoft.Authorization/roleDefinitions/{guid}, optionally under a scope.")
	}
	return guid, nil
}

// ParseRoleAssignmentID splits an assignment's ARM id into its scope and lower-case GUID.
// It fails with kind errs.Invalid and code "InvalidRoleAssignmentId".
func ParseRoleAssignmentID(s string) (Scope, string, error) {
	const op = "access.ParseRoleAssignmentID"
	i := lastIndexFold(s, roleAssignmentsPath)
	bad := errs.E(op, errs.Invalid, errs.Code("InvalidRoleAssignmentId"),
		"The role assignment id must be {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}.")
	if i < 0 || !isGUID(s[i+len(roleAssignmentsPath):]) {
		return Scope{}, "", bad
	}
	scopeText := s[:i]
	if scopeText == "" {
		scopeText = "/"
	}
	sc, err := ParseScope(scopeText)
	if err != nil {
		return Scope{}, "", bad
	}
	return sc, strings.ToLower(s[i+len(roleAssignmentsPath):]), nil
}

// splitARMID returns the lower-case GUID of s when s is a bare GUID or {scope}{path}{guid}.
func splitARMID(s, path string) (string, bool) {
	if isGUID(s) {
		return strings.ToLower(s), true
	}
	i := lastIndexFold(s, path)
	if i < 0 || !isGUID(s[i+len(path):]) {
		return "", false
	}
	if i > 0 {
		if _, err := ParseScope(s[:i]); err != nil {
			return "", false
		}
	}
	return strings.ToLower(s[i+len(path):]), true
}

// lastIndexFold is strings.LastIndex ignoring ASCII case only, so that no non-ASCII
// look-alike (the Kelvin sign folds to 'k') can stand in for a fixed word of an id.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(rune(a[i])) != lowerASCII(rune(b[i])) {
			return false
		}
	}
	return true
}
