package access

import (
	"fmt"
	"slices"
	"strings"
)

// Request asks whether a principal may perform one action at one scope.
type Request struct {
	// PrincipalIDs are the principal's own object id and the ids of every group it belongs to,
	// transitively. Compared without case.
	PrincipalIDs []string
	// Action is an ARM operation such as ActionVMRead, or a data action such as ActionVMLogin.
	Action string
	// IsDataAction says Action is a data action, granted only by DataActions.
	IsDataAction bool
	// Scope is where the action happens, e.g. the virtual machine.
	Scope Scope
	// Ancestors are the management groups above Scope's subscription, nearest first, up to the
	// tenant root group. The caller knows the hierarchy; this package does not.
	Ancestors []Scope
}

// Decision is Decide's answer.
type Decision struct {
	Allowed bool
	// Reason says in the user's terms why, naming the role and scope that allowed, or what is
	// missing and how an administrator can grant it.
	Reason string
	// MatchedAssignments are the assignments that grant the request, sorted by id, scope and
	// role so that the same inputs in any order give the same Decision.
	MatchedAssignments []RoleAssignment
}

// Decide reports whether req is allowed by assignments, looking roles up in roles (keyed by
// lower-case GUID, as IndexRoles builds). It is allowed iff some assignment to one of the
// principal ids, at req.Scope or above it (its parent resources, resource group, subscription,
// req.Ancestors or the root), has a role that grants the action. Everything else denies:
// assignments elsewhere, with an unparseable scope, to an unknown role, or with a condition;
// and a request without principals, action or scope. The order of assignments never changes
// the decision.
func Decide(req Request, assignments []RoleAssignment, roles map[string]RoleDefinition) Decision {
	if why := checkRequest(req); why != "" {
		return Decision{Reason: "Denied: " + why}
	}
	principals := make(map[string]bool, len(req.PrincipalIDs))
	for _, id := range req.PrincipalIDs {
		principals[strings.ToLower(id)] = true
	}
	var granted, conditional []RoleAssignment
	for _, a := range assignments {
		if !principals[strings.ToLower(a.PrincipalID)] || !grants(req, a, roles) {
			continue
		}
		if a.Condition != "" {
			conditional = append(conditional, a)
			continue
		}
		granted = append(granted, a)
	}
	if len(granted) == 0 {
		return Decision{Reason: denyReason(req, len(conditional) > 0)}
	}
	slices.SortFunc(granted, compareAssignments)
	return Decision{Allowed: true, Reason: allowReason(granted[0], roles), MatchedAssignments: granted}
}

func checkRequest(req Request) string {
	switch {
	case len(req.PrincipalIDs) == 0:
		return "the request names no principal."
	case req.Action == "":
		return "the request names no action."
	case req.Scope.IsZero():
		return "the request names no scope."
	}
	return ""
}

// grants reports whether a's role, at a's scope, grants req, leaving aside a's principal and condition.
func grants(req Request, a RoleAssignment, roles map[string]RoleDefinition) bool {
	role, ok := lookupRole(a.RoleDefinitionID, roles)
	if !ok {
		return false
	}
	at, err := ParseScope(a.Scope)
	if err != nil || !at.AppliesTo(req.Scope, req.Ancestors) {
		return false
	}
	return role.Grants(req.Action, req.IsDataAction)
}

// lookupRole finds the definition an assignment points at. A map entry whose definition
// carries another GUID than its key is treated as missing, not trusted.
func lookupRole(roleDefinitionID string, roles map[string]RoleDefinition) (RoleDefinition, bool) {
	guid, err := ParseRoleDefinitionID(roleDefinitionID)
	if err != nil {
		return RoleDefinition{}, false
	}
	role, ok := roles[guid]
	if !ok || !strings.EqualFold(role.ID, guid) {
		return RoleDefinition{}, false
	}
	return role, true
}

func compareAssignments(a, b RoleAssignment) int {
	return cmpChain(
		strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID)),
		strings.Compare(strings.ToLower(a.Scope), strings.ToLower(b.Scope)),
		strings.Compare(strings.ToLower(a.RoleDefinitionID), strings.ToLower(b.RoleDefinitionID)),
		strings.Compare(strings.ToLower(a.PrincipalID), strings.ToLower(b.PrincipalID)),
		strings.Compare(a.ID+a.Scope+a.RoleDefinitionID+a.PrincipalID, b.ID+b.Scope+b.RoleDefinitionID+b.PrincipalID),
	)
}

func cmpChain(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

func allowReason(a RoleAssignment, roles map[string]RoleDefinition) string {
	role, _ := lookupRole(a.RoleDefinitionID, roles)
	return fmt.Sprintf("Allowed: the role %q is assigned at %s.", role.RoleName, a.Scope)
}

func denyReason(req Request, onlyConditional bool) string {
	if onlyConditional {
		return fmt.Sprintf("Denied: the only role assignments that would allow %s at %s have conditions, "+
			"and conditions on role assignments are not supported yet, so they were ignored. "+
			"An administrator can assign the role without a condition.", req.Action, req.Scope)
	}
	switch {
	case req.IsDataAction && strings.EqualFold(req.Action, ActionVMLoginAsAdmin):
		return "Denied: you have no role assignment that allows signing in to this machine as administrator. " +
			"An administrator can assign you the Virtual Machine Administrator Login role at the machine, its resource group or its subscription."
	case req.IsDataAction && strings.EqualFold(req.Action, ActionVMLogin):
		return "Denied: you have no role assignment that allows signing in to this machine. " +
			"An administrator can assign you the Virtual Machine User Login role (or Virtual Machine Administrator Login, to sign in as administrator) " +
			"at the machine, its resource group or its subscription."
	}
	return fmt.Sprintf("Denied: no role assignment allows %s at %s for this principal or its groups.", req.Action, req.Scope)
}
