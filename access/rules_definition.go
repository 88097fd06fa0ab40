package access

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchsh/latch/errs"
)

// Codes for role definition writes. RoleDefinitionWithSameNameExists is ARM's; the others are
// Latch's, in ARM's style.
const (
	CodeInvalidRoleDefinition           = errs.Code("InvalidRoleDefinition")
	CodeInvalidActionOrNotAction        = errs.Code("InvalidActionOrNotAction")
	CodeInvalidAssignableScopes         = errs.Code("InvalidAssignableScopes")
	CodeRoleDefinitionWithSameNameExist = errs.Code("RoleDefinitionWithSameNameExists")
)

const (
	maxRoleNameLength    = 512
	maxDescriptionLength = 2048
	maxActionLength      = 512
)

// RoleDefinitionRules are the switches of custom role validation.
type RoleDefinitionRules struct {
	// AllowRootAssignableScope lets a custom role be assignable at "/". Azure refuses that for
	// custom roles because it makes the role visible and assignable in every subscription of
	// the tenant; an operator may want it for a fleet-wide login role.
	AllowRootAssignableScope bool
}

// ValidateRoleDefinition is RoleDefinitionRules{}.Validate: the strict rules.
func ValidateRoleDefinition(d RoleDefinition) error { return RoleDefinitionRules{}.Validate(d) }

// Validate checks a custom role before it is created or updated. It returns nil or an
// *errs.Error of kind errs.Invalid with code:
//
//   - InvalidRoleDefinitionId: the id is not a GUID, or is a built-in role's.
//   - InvalidRoleDefinition: the type is not CustomRole; the name is empty, longer than 512
//     characters or has control characters; the description is longer than 2048; no
//     permission block grants any action or data action.
//   - InvalidActionOrNotAction: an action is not Provider/… or a pattern with '*', or a data
//     action is "*" alone (a custom role may not claim every data action of every provider).
//   - InvalidAssignableScopes: none given, one does not parse, "/" without
//     AllowRootAssignableScope, or more than one management group (ARM's limit).
func (r RoleDefinitionRules) Validate(d RoleDefinition) error {
	const op = "access.ValidateRoleDefinition"
	if err := checkDefinitionIdentity(op, d); err != nil {
		return err
	}
	if err := checkPermissions(op, d.Permissions); err != nil {
		return err
	}
	return r.checkAssignableScopes(op, d.AssignableScopes)
}

func checkDefinitionIdentity(op string, d RoleDefinition) error {
	invalid := func(msg string) error { return errs.E(op, errs.Invalid, CodeInvalidRoleDefinition, msg) }
	switch name := strings.TrimSpace(d.RoleName); {
	case !isGUID(d.ID):
		return errs.E(op, errs.Invalid, CodeInvalidRoleDefinitionID, "The role definition ID must be a GUID.")
	case IsBuiltInRoleID(d.ID):
		return errs.E(op, errs.Invalid, CodeInvalidRoleDefinitionID, "Built-in roles cannot be created, changed or replaced.")
	case d.RoleType != RoleTypeCustom:
		return invalid("The role type must be CustomRole.")
	case name == "":
		return invalid("The role name is required.")
	case utf8.RuneCountInString(d.RoleName) > maxRoleNameLength:
		return invalid("The role name is longer than 512 characters.")
	case !printable(d.RoleName):
		return invalid("The role name contains control characters.")
	case utf8.RuneCountInString(d.Description) > maxDescriptionLength:
		return invalid("The role description is longer than 2048 characters.")
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func checkPermissions(op string, perms []Permission) error {
	grantsSomething := false
	for _, p := range perms {
		lists := [][]string{p.Actions, p.NotActions, p.DataActions, p.NotDataActions}
		for i, list := range lists {
			for _, action := range list {
				if why := checkAction(action, i >= 2); why != "" {
					return errs.E(op, errs.Invalid, CodeInvalidActionOrNotAction,
						fmt.Sprintf("The action %q is not valid: %s.", safeID(action), why))
				}
			}
		}
		grantsSomething = grantsSomething || len(p.Actions) > 0 || len(p.DataActions) > 0
	}
	if !grantsSomething {
		return errs.E(op, errs.Invalid, CodeInvalidRoleDefinition, "The role must allow at least one action or data action.")
	}
	return nil
}

// checkAction returns why action cannot appear in a custom role, or "".
func checkAction(action string, data bool) string {
	switch {
	case action == "":
		return "it is empty"
	case len(action) > maxActionLength:
		return "it is longer than 512 characters"
	case action == "*" && data:
		return "a custom role cannot allow every data action"
	case action == "*":
		return ""
	}
	segs := strings.Split(action, "/")
	for _, seg := range segs {
		if seg == "" {
			return "it has an empty segment"
		}
		if !actionSegment(seg) {
			return "it may contain only letters, digits, '.', '-', '_' and '*'"
		}
	}
	if len(segs) < 2 && !strings.Contains(action, "*") {
		return "it must be Provider/resourceType/operation, or a pattern with '*'"
	}
	return ""
}

func actionSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_*", c) >= 0) {
			return false
		}
	}
	return true
}

func (r RoleDefinitionRules) checkAssignableScopes(op string, scopes []string) error {
	invalid := func(msg string) error { return errs.E(op, errs.Invalid, CodeInvalidAssignableScopes, msg) }
	if len(scopes) == 0 {
		return invalid("At least one assignable scope is required.")
	}
	groups := 0
	for _, s := range scopes {
		sc, err := ParseScope(s)
		if err != nil {
			return invalid(fmt.Sprintf("The assignable scope %q is not valid.", safeID(s)))
		}
		switch sc.Kind() {
		case Root:
			if !r.AllowRootAssignableScope {
				return invalid("A custom role cannot be assignable at the root scope '/'. Use a management group, subscription or resource group.")
			}
		case ManagementGroup:
			groups++
		}
	}
	if groups > 1 {
		return invalid("Only one management group can be defined in the assignable scopes of a custom role.")
	}
	return nil
}

// CheckRoleNameUnique refuses d when another role, built-in or in existing, has the same name
// (ignoring case) under a different id: kind errs.Exists, ARM's code
// RoleDefinitionWithSameNameExists. Names are how az finds a role, so two with one name would
// make "az role assignment create --role NAME" ambiguous.
func CheckRoleNameUnique(d RoleDefinition, existing []RoleDefinition) error {
	for _, e := range append(builtIns(), existing...) {
		if strings.EqualFold(strings.TrimSpace(e.RoleName), strings.TrimSpace(d.RoleName)) && !strings.EqualFold(e.ID, d.ID) {
			return errs.E("access.CheckRoleNameUnique", errs.Exists, CodeRoleDefinitionWithSameNameExist,
				"A custom role with the same name already exists in this directory. Use a different name.")
		}
	}
	return nil
}
