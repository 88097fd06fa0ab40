package access

import (
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// ARM's error codes for role assignment writes. Where ARM's own code is not public knowledge
// (the assignable-scope and principal-type refusals) the code is Latch's, in ARM's style.
const (
	CodeRoleAssignmentExists             = errs.Code("RoleAssignmentExists")
	CodeRoleAssignmentUpdateNotPermitted = errs.Code("RoleAssignmentUpdateNotPermitted")
	CodeInvalidCreateRoleAssignment      = errs.Code("InvalidCreateRoleAssignmentRequest")
	CodeUnsupportedAPIVersionDataActions = errs.Code("UnsupportedApiVersionForRoleDefinitionHasDataActions")
	CodeInvalidRoleAssignmentScope       = errs.Code("InvalidRoleAssignmentScope")
	CodeInvalidRoleAssignmentID          = errs.Code("InvalidRoleAssignmentId")
	CodeInvalidPrincipalID               = errs.Code("InvalidPrincipalId")
	CodeInvalidPrincipalType             = errs.Code("InvalidPrincipalType")
	CodeInvalidRoleDefinitionID          = errs.Code("InvalidRoleDefinitionId")
	CodeInvalidCondition                 = errs.Code("InvalidCondition")
	CodeMissingAPIVersion                = errs.Code("MissingApiVersionParameter")
	CodeInvalidAPIVersion                = errs.Code("InvalidApiVersionParameter")
	CodeRoleDefinitionDoesNotExist       = errs.Code("RoleDefinitionDoesNotExist")
)

// CurrentAPIVersion is the authorization api-version Latch's own callers (bootstrap, the CLI)
// pass to ValidateAssignment.
const CurrentAPIVersion = "2022-04-01"

// minDataActionsAPIVersion is the first api-version that knows about data actions; older
// clients would not see them and would misread what the role grants.
const minDataActionsAPIVersion = "2018-01-01-preview"

const maxConditionLength = 8192

var principalTypes = []string{PrincipalUser, PrincipalGroup, PrincipalServicePrincipal, PrincipalForeignGroup, PrincipalDevice}

// ErrRoleDefinitionNotFound is the refusal for an assignment naming a role the caller could not
// find: kind errs.NotFound, code RoleDefinitionDoesNotExist, ARM's message.
func ErrRoleDefinitionNotFound(id string) error {
	return errs.E("access.ValidateAssignment", errs.NotFound, CodeRoleDefinitionDoesNotExist,
		fmt.Sprintf("The specified role definition with ID '%s' does not exist.", safeID(id)))
}

// ValidateAssignment checks a new or updated assignment against ARM's rules, given the role it
// names, the assignments that exist (any scope; only same-id and same-triple ones matter) and
// the request's api-version. It returns nil or an *errs.Error carrying ARM's code:
//
//   - errs.Invalid InvalidRoleAssignmentId: the id is not a GUID.
//   - errs.Invalid InvalidScope: the scope does not parse.
//   - errs.Invalid InvalidPrincipalId / InvalidPrincipalType: the principal id is not a GUID,
//     or the type is not one of User, Group, ServicePrincipal, ForeignGroup, Device. Callers
//     fill an absent type from the directory before validating.
//   - errs.Invalid InvalidRoleDefinitionId: RoleDefinitionID does not name role.
//   - errs.Invalid InvalidCondition: a condition without version "2.0", or a version alone.
//   - errs.Invalid MissingApiVersionParameter / InvalidApiVersionParameter.
//   - errs.Invalid UnsupportedApiVersionForRoleDefinitionHasDataActions: a role with data
//     actions through an api-version older than 2018-01-01-preview.
//   - errs.Invalid InvalidCreateRoleAssignmentRequest: a role with data actions at a
//     management group.
//   - errs.Invalid InvalidRoleAssignmentScope: the scope is outside the role's assignableScopes.
//   - errs.Invalid RoleAssignmentUpdateNotPermitted: an existing assignment with this id has
//     another principal, role or scope.
//   - errs.Exists RoleAssignmentExists: another assignment gives the same role to the same
//     principal at the same scope.
//
// Management groups in assignableScopes only cover themselves here; use ValidateAssignmentAt
// to pass the hierarchy.
func ValidateAssignment(a RoleAssignment, role RoleDefinition, existing []RoleAssignment, apiVersion string) error {
	return ValidateAssignmentAt(a, role, existing, apiVersion, nil)
}

// ValidateAssignmentAt is ValidateAssignment with ancestors: the management groups above the
// assignment's subscription (or above its management group), nearest first, so that a custom
// role assignable at a management group can be assigned below it.
func ValidateAssignmentAt(a RoleAssignment, role RoleDefinition, existing []RoleAssignment, apiVersion string, ancestors []Scope) error {
	const op = "access.ValidateAssignment"
	scope, err := checkAssignmentFields(op, a, role)
	if err != nil {
		return err
	}
	if err := checkAPIVersion(op, apiVersion, role); err != nil {
		return err
	}
	if err := checkAssignableAt(op, scope, role, ancestors); err != nil {
		return err
	}
	return checkAgainstExisting(op, a, scope, existing)
}

// checkAssignmentFields checks what the assignment says about itself and returns its scope.
func checkAssignmentFields(op string, a RoleAssignment, role RoleDefinition) (Scope, error) {
	if !isGUID(a.ID) {
		return Scope{}, errs.E(op, errs.Invalid, CodeInvalidRoleAssignmentID,
			fmt.Sprintf("The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", safeID(a.ID)))
	}
	scope, err := ParseScope(a.Scope)
	if err != nil {
		return Scope{}, errs.E(op, errs.Invalid, err)
	}
	if !isGUID(a.PrincipalID) {
		return Scope{}, errs.E(op, errs.Invalid, CodeInvalidPrincipalID, "A valid principal ID must be provided for role assignment.")
	}
	if !isPrincipalType(a.PrincipalType) {
		return Scope{}, errs.E(op, errs.Invalid, CodeInvalidPrincipalType, fmt.Sprintf(
			"The principal type '%s' is not valid. It must be one of %s.", safeID(a.PrincipalType), strings.Join(principalTypes, ", ")))
	}
	if guid, err := ParseRoleDefinitionID(a.RoleDefinitionID); err != nil || !strings.EqualFold(guid, role.ID) {
		return Scope{}, errs.E(op, errs.Invalid, CodeInvalidRoleDefinitionID,
			"The role definition ID of the assignment does not name the role being assigned.")
	}
	return scope, checkCondition(op, a)
}

func isPrincipalType(t string) bool {
	for _, p := range principalTypes {
		if t == p {
			return true
		}
	}
	return false
}

func checkCondition(op string, a RoleAssignment) error {
	switch {
	case a.Condition == "" && a.ConditionVersion != "":
		return errs.E(op, errs.Invalid, CodeInvalidCondition, "A condition version was given without a condition.")
	case a.Condition == "":
		return nil
	case a.ConditionVersion != "2.0":
		return errs.E(op, errs.Invalid, CodeInvalidCondition, "Conditions must use condition version 2.0.")
	case len(a.Condition) > maxConditionLength:
		return errs.E(op, errs.Invalid, CodeInvalidCondition, "The condition is longer than 8192 characters.")
	}
	return nil
}

// checkAPIVersion applies ARM's rule that roles with data actions need an api-version that
// knows about them.
func checkAPIVersion(op, apiVersion string, role RoleDefinition) error {
	if apiVersion == "" {
		return errs.E(op, errs.Invalid, CodeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	date, ok := apiVersionDate(apiVersion)
	if !ok {
		return errs.E(op, errs.Invalid, CodeInvalidAPIVersion, fmt.Sprintf("The api-version '%s' is invalid.", safeID(apiVersion)))
	}
	minDate, _ := apiVersionDate(minDataActionsAPIVersion)
	if role.HasDataActions() && date.Before(minDate) {
		return errs.E(op, errs.Invalid, CodeUnsupportedAPIVersionDataActions, fmt.Sprintf(
			"Assignments to roles with DataActions and NotDataActions are not supported on API version '%s'. "+
				"The minimum required API version for this operations is '%s'.", apiVersion, minDataActionsAPIVersion))
	}
	return nil
}

// apiVersionDate parses ARM's YYYY-MM-DD[-suffix]. Only the date orders versions here: a
// preview of a date is as new as that date for the data-actions rule.
func apiVersionDate(v string) (time.Time, bool) {
	if len(v) < 10 || len(v) > 40 || len(v) > 10 && (v[10] != '-' || !isSuffix(v[11:])) {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", v[:10])
	return t, err == nil
}

func isSuffix(s string) bool {
	return s != "" && isTypeName(s)
}

// checkAssignableAt applies the management-group rule for data actions and the role's
// assignableScopes.
func checkAssignableAt(op string, scope Scope, role RoleDefinition, ancestors []Scope) error {
	if scope.Kind() == ManagementGroup && role.HasDataActions() {
		msg := "Role assignments to Management Groups can not be made to custom role definitions with DataActions"
		if role.RoleType == RoleTypeBuiltIn {
			msg = "The Virtual Machine Administrator Login and Virtual Machine User Login roles use dataActions, " +
				"so they can't be assigned at the management group scope. " +
				"Assign them at the subscription, resource group or resource scope."
		}
		return errs.E(op, errs.Invalid, CodeInvalidCreateRoleAssignment, msg)
	}
	if role.AssignableAt(scope, ancestors) {
		return nil
	}
	return errs.E(op, errs.Invalid, CodeInvalidRoleAssignmentScope, fmt.Sprintf(
		"The role %q cannot be assigned at %s: that scope is outside the role's assignable scopes.", role.RoleName, scope))
}

// AssignableAt reports whether the role may be assigned at scope: some entry of its
// assignableScopes is scope or above it (ancestors as in Request.Ancestors). ARM lists at a
// scope only the roles assignable there. Unparseable entries count for nothing.
func (d RoleDefinition) AssignableAt(scope Scope, ancestors []Scope) bool {
	for _, s := range d.AssignableScopes {
		if as, err := ParseScope(s); err == nil && as.AppliesTo(scope, ancestors) {
			return true
		}
	}
	return false
}

// checkAgainstExisting refuses changing who, what or where of an existing assignment id, and a
// second assignment of the same role to the same principal at the same scope.
func checkAgainstExisting(op string, a RoleAssignment, scope Scope, existing []RoleAssignment) error {
	for _, e := range existing {
		same := strings.EqualFold(e.PrincipalID, a.PrincipalID) && sameRole(e.RoleDefinitionID, a.RoleDefinitionID) && sameScope(e.Scope, scope)
		if strings.EqualFold(e.ID, a.ID) {
			if !same {
				return errs.E(op, errs.Invalid, CodeRoleAssignmentUpdateNotPermitted,
					"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			continue
		}
		if same {
			return errs.E(op, errs.Exists, CodeRoleAssignmentExists, "The role assignment already exists.")
		}
	}
	return nil
}

func sameRole(a, b string) bool {
	ga, errA := ParseRoleDefinitionID(a)
	gb, errB := ParseRoleDefinitionID(b)
	return errA == nil && errB == nil && ga == gb
}

func sameScope(s string, scope Scope) bool {
	sc, err := ParseScope(s)
	return err == nil && sc.Equal(scope)
}

// safeID keeps user-supplied text in a message short and printable.
func safeID(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\'' {
			return -1
		}
		return r
	}, s)
}
