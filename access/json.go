package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// MaxJSONSize caps one role definition or assignment document. ARM's largest built-in roles
// are a few kilobytes; this leaves room for big custom roles without letting a body be a weapon.
const MaxJSONSize = 256 << 10

// permissionJSON is a permission block as ARM writes it. Newer api-versions allow a condition
// on a block; Latch does not evaluate those, so decoding rejects them as unknown fields rather
// than silently dropping a restriction.
type permissionJSON struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// MarshalJSON writes ARM's form, with empty lists as [] as ARM does.
func (p Permission) MarshalJSON() ([]byte, error) {
	return json.Marshal(permissionJSON{
		Actions: orEmpty(p.Actions), NotActions: orEmpty(p.NotActions),
		DataActions: orEmpty(p.DataActions), NotDataActions: orEmpty(p.NotDataActions),
	})
}

// UnmarshalJSON reads ARM's form; unknown fields are errors and empty lists become nil.
func (p *Permission) UnmarshalJSON(data []byte) error {
	var w permissionJSON
	if err := decodeStrict("access.Permission", data, &w); err != nil {
		return err
	}
	*p = Permission{Actions: orNil(w.Actions), NotActions: orNil(w.NotActions),
		DataActions: orNil(w.DataActions), NotDataActions: orNil(w.NotDataActions)}
	return nil
}

type roleDefinitionJSON struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type"`
	Properties roleDefinitionProperties `json:"properties"`
}

type roleDefinitionProperties struct {
	RoleName         string       `json:"roleName"`
	Type             string       `json:"type"`
	Description      string       `json:"description"`
	AssignableScopes []string     `json:"assignableScopes"`
	Permissions      []Permission `json:"permissions"`
	CreatedOn        time.Time    `json:"createdOn,omitzero"`
	UpdatedOn        time.Time    `json:"updatedOn,omitzero"`
	CreatedBy        *string      `json:"createdBy,omitempty"`
	UpdatedBy        *string      `json:"updatedBy,omitempty"`
}

// MarshalJSON writes ARM's nested form with the tenant-wide id (ARMID); use JSONAt for the
// id ARM shows under a subscription.
func (d RoleDefinition) MarshalJSON() ([]byte, error) { return d.JSONAt(Scope{}) }

// JSONAt writes ARM's nested form with the id as listed at scope (see ARMIDAt).
func (d RoleDefinition) JSONAt(scope Scope) ([]byte, error) {
	perms := d.Permissions
	if perms == nil {
		perms = []Permission{}
	}
	return json.Marshal(roleDefinitionJSON{
		ID: d.ARMIDAt(scope), Name: d.ID, Type: TypeRoleDefinition,
		Properties: roleDefinitionProperties{
			RoleName: d.RoleName, Type: d.RoleType, Description: d.Description,
			AssignableScopes: orEmpty(d.AssignableScopes), Permissions: perms,
			CreatedOn: d.CreatedOn, UpdatedOn: d.UpdatedOn,
			CreatedBy: nonEmpty(d.CreatedBy), UpdatedBy: nonEmpty(d.UpdatedBy),
		},
	})
}

// UnmarshalJSON reads ARM's nested form: the body of a PUT (only properties) or a definition
// as ARM lists it. Unknown fields at any level, a "type" other than roleDefinitions, an id or
// name that is not a role definition GUID, and an id and name that disagree are errors of
// kind errs.Invalid. It checks form only; ValidateRoleDefinition checks the rules.
func (d *RoleDefinition) UnmarshalJSON(data []byte) error {
	const op = "access.RoleDefinition"
	var w roleDefinitionJSON
	if err := decodeStrict(op, data, &w); err != nil {
		return err
	}
	if w.Type != "" && !equalFoldASCII(w.Type, TypeRoleDefinition) {
		return errs.E(op, errs.Invalid, fmt.Sprintf("The type must be %s.", TypeRoleDefinition))
	}
	id, err := definitionGUID(op, w.ID, w.Name)
	if err != nil {
		return err
	}
	p := w.Properties
	created, updated, err := utcTimes(op, p.CreatedOn, p.UpdatedOn)
	if err != nil {
		return err
	}
	*d = RoleDefinition{
		ID: id, RoleName: p.RoleName, Description: p.Description, RoleType: p.Type,
		Permissions: orNil(p.Permissions), AssignableScopes: orNil(p.AssignableScopes),
		CreatedOn: created, UpdatedOn: updated, CreatedBy: deref(p.CreatedBy), UpdatedBy: deref(p.UpdatedBy),
	}
	return nil
}

type roleAssignmentJSON struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type"`
	Properties roleAssignmentProperties `json:"properties"`
}

// roleAssignmentProperties uses pointers where ARM writes null for an absent value.
type roleAssignmentProperties struct {
	RoleDefinitionID                   string    `json:"roleDefinitionId"`
	PrincipalID                        string    `json:"principalId"`
	PrincipalType                      string    `json:"principalType,omitempty"`
	Scope                              string    `json:"scope,omitempty"`
	Condition                          *string   `json:"condition"`
	ConditionVersion                   *string   `json:"conditionVersion"`
	Description                        *string   `json:"description"`
	CreatedOn                          time.Time `json:"createdOn,omitzero"`
	UpdatedOn                          time.Time `json:"updatedOn,omitzero"`
	CreatedBy                          *string   `json:"createdBy"`
	UpdatedBy                          *string   `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string   `json:"delegatedManagedIdentityResourceId"`
}

// MarshalJSON writes ARM's nested form. roleDefinitionId is the full id under the
// assignment's subscription, as ARM and az write it.
func (a RoleAssignment) MarshalJSON() ([]byte, error) {
	scope, _ := ParseScope(a.Scope) // an unparseable scope just yields the tenant-wide role id
	roleID, err := ParseRoleDefinitionID(a.RoleDefinitionID)
	if err != nil {
		roleID = a.RoleDefinitionID
	}
	return json.Marshal(roleAssignmentJSON{
		ID: a.ARMID(), Name: a.ID, Type: TypeRoleAssignment,
		Properties: roleAssignmentProperties{
			RoleDefinitionID: roleDefinitionARMID(roleID, scope),
			PrincipalID:      a.PrincipalID, PrincipalType: a.PrincipalType, Scope: a.Scope,
			Condition: nonEmpty(a.Condition), ConditionVersion: nonEmpty(a.ConditionVersion),
			Description: nonEmpty(a.Description), CreatedOn: a.CreatedOn, UpdatedOn: a.UpdatedOn,
			CreatedBy: nonEmpty(a.CreatedBy), UpdatedBy: nonEmpty(a.UpdatedBy),
			DelegatedManagedIdentityResourceID: nonEmpty(a.DelegatedManagedIdentityResourceID),
		},
	})
}

// UnmarshalJSON reads ARM's nested form: a PUT body ({"properties":{roleDefinitionId,
// principalId, principalType…}}) or an assignment as ARM lists it. The scope, when present in
// properties or the id, is canonicalized; roleDefinitionId is reduced to its GUID. Unknown
// fields, malformed ids, and an id that disagrees with name or scope are errors of kind
// errs.Invalid. ValidateAssignment checks the rules.
func (a *RoleAssignment) UnmarshalJSON(data []byte) error {
	const op = "access.RoleAssignment"
	var w roleAssignmentJSON
	if err := decodeStrict(op, data, &w); err != nil {
		return err
	}
	if w.Type != "" && !equalFoldASCII(w.Type, TypeRoleAssignment) {
		return errs.E(op, errs.Invalid, fmt.Sprintf("The type must be %s.", TypeRoleAssignment))
	}
	p := w.Properties
	scope, id, err := assignmentScopeAndID(op, w.ID, w.Name, p.Scope)
	if err != nil {
		return err
	}
	roleID, err := optionalRoleDefinitionID(p.RoleDefinitionID)
	if err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	created, updated, err := utcTimes(op, p.CreatedOn, p.UpdatedOn)
	if err != nil {
		return err
	}
	*a = RoleAssignment{
		ID: id, Scope: scope, RoleDefinitionID: roleID, PrincipalID: p.PrincipalID, PrincipalType: p.PrincipalType,
		Description: deref(p.Description), Condition: deref(p.Condition), ConditionVersion: deref(p.ConditionVersion),
		CreatedOn: created, UpdatedOn: updated, CreatedBy: deref(p.CreatedBy), UpdatedBy: deref(p.UpdatedBy),
		DelegatedManagedIdentityResourceID: deref(p.DelegatedManagedIdentityResourceID),
	}
	return nil
}

func optionalRoleDefinitionID(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return ParseRoleDefinitionID(s)
}

// assignmentScopeAndID reconciles the three places an assignment's identity can appear.
func assignmentScopeAndID(op, armID, name, scopeText string) (string, string, error) {
	var scope string
	if scopeText != "" {
		sc, err := ParseScope(scopeText)
		if err != nil {
			return "", "", errs.E(op, errs.Invalid, err)
		}
		scope = sc.String()
	}
	if name != "" && !isGUID(name) {
		return "", "", errs.E(op, errs.Invalid, errs.Code("InvalidRoleAssignmentId"),
			"The role assignment name must be a GUID.")
	}
	id := strings.ToLower(name)
	if armID == "" {
		return scope, id, nil
	}
	sc, guid, err := ParseRoleAssignmentID(armID)
	if err != nil {
		return "", "", errs.E(op, errs.Invalid, err)
	}
	if id != "" && id != guid || scope != "" && !sc.Equal(MustParseScope(scope)) {
		return "", "", errs.E(op, errs.Invalid, "The role assignment's id disagrees with its name or scope.")
	}
	return sc.String(), guid, nil
}

// definitionGUID returns the GUID named by a role definition's ARM id and/or name, which must agree.
func definitionGUID(op, armID, name string) (string, error) {
	var fromID, fromName string
	var err error
	if armID != "" {
		if fromID, err = ParseRoleDefinitionID(armID); err != nil {
			return "", errs.E(op, errs.Invalid, err)
		}
	}
	if name != "" {
		if !isGUID(name) {
			return "", errs.E(op, errs.Invalid, errs.Code("InvalidRoleDefinitionId"), "The role definition name must be a GUID.")
		}
		fromName = strings.ToLower(name)
	}
	if fromID != "" && fromName != "" && fromID != fromName {
		return "", errs.E(op, errs.Invalid, "The role definition's id and name name different roles.")
	}
	return cmpOr(fromName, fromID), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown fields, oversized
// input and trailing data.
func decodeStrict(op string, data []byte, v any) error {
	if len(data) > MaxJSONSize {
		return errs.E(op, errs.Invalid, "The document is larger than 256 KiB.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var inner *errs.Error
		if errors.As(err, &inner) {
			return err
		}
		return errs.E(op, errs.Invalid, "The JSON is not valid: "+err.Error()+".", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(op, errs.Invalid, "The JSON has data after the document.")
	}
	return nil
}

// utcTimes normalizes timestamps to UTC and refuses ones JSON cannot write back.
func utcTimes(op string, ts ...time.Time) (time.Time, time.Time, error) {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		if t.IsZero() {
			continue
		}
		out[i] = t.UTC()
		if y := out[i].Year(); y < 1 || y > 9999 {
			return time.Time{}, time.Time{}, errs.E(op, errs.Invalid, "A timestamp is out of range.")
		}
	}
	return out[0], out[1], nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
