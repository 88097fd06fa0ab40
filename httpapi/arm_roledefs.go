package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// authScope is the scope an Authorization route sits under: "/" when the path starts with
// /providers/Microsoft.Authorization. A scope in a subscription must be in one of the
// caller's tenant's subscriptions (SubscriptionNotFound otherwise), so that nobody writes
// assignments about another tenant's resources, even ones that could never take effect.
func (q *armRequest) authScope() (access.Scope, error) {
	sc, err := scopeOf(q.vars["scope"])
	if err != nil || sc.SubscriptionID() == "" {
		return sc, err
	}
	q.vars["sub"] = sc.SubscriptionID()
	_, err = q.subscription()
	return sc, err
}

// roleDefinitionsAt returns the built-in roles and the custom roles that can be assigned at
// scope or below it, which is what ARM lists at a scope.
func (q *armRequest) roleDefinitionsAt(scope access.Scope) ([]access.RoleDefinition, error) {
	custom, err := q.s.Store.ListRoleDefinitions(q.ctx, q.tenantID())
	if err != nil {
		return nil, err
	}
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return nil, err
	}
	out := access.BuiltInRoles()
	for _, d := range resource.Definitions(custom) {
		for _, s := range d.AssignableScopes {
			if as, err := access.ParseScope(s); err == nil && (as.AppliesTo(scope, h.Ancestors(scope)) || scope.Contains(as)) {
				out = append(out, d)
				break
			}
		}
	}
	return out, nil
}

// listRoleDefinitions serves the list az filters by name ($filter=roleName eq '…'), needing
// exactly one match, or by type ($filter=type eq 'CustomRole'). Role definitions are readable
// by every principal of the tenant, as in Azure: knowing what a role grants is not a secret.
func listRoleDefinitions(q *armRequest) (int, any, error) {
	scope, err := q.authScope()
	if err != nil {
		return 0, nil, err
	}
	name, typ, err := parseRoleDefinitionFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return 0, nil, err
	}
	defs, err := q.roleDefinitionsAt(scope)
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, d := range defs {
		if name != "" && !strings.EqualFold(strings.TrimSpace(d.RoleName), strings.TrimSpace(name)) || typ != "" && !strings.EqualFold(d.RoleType, typ) {
			continue
		}
		b, err := d.JSONAt(scope)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, json.RawMessage(b))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func parseRoleDefinitionFilter(raw string) (name, typ string, err error) {
	for _, c := range splitAnd(raw) {
		field, op, val, ok := parseClause(c)
		switch {
		case ok && strings.EqualFold(op, "eq") && strings.EqualFold(field, "roleName"):
			name = val
		case ok && strings.EqualFold(op, "eq") && strings.EqualFold(field, "type"):
			typ = val
		default:
			return "", "", errs.E("httpapi.parseRoleDefinitionFilter", errs.Invalid, errs.Code("InvalidFilterInQueryString"),
				"The filter '"+truncate(c, 100)+"' is not supported. Use roleName eq '{name}' or type eq 'CustomRole'.")
		}
	}
	return name, typ, nil
}

// findRoleDefinition returns a built-in or custom role by GUID, or ARM's RoleDefinitionDoesNotExist.
func (q *armRequest) findRoleDefinition(id string) (access.RoleDefinition, error) {
	guid, err := access.ParseRoleDefinitionID(id)
	if err != nil {
		return access.RoleDefinition{}, access.ErrRoleDefinitionNotFound(id)
	}
	if d, ok := access.BuiltInRole(guid); ok {
		return d, nil
	}
	d, err := q.s.Store.GetRoleDefinition(q.ctx, q.tenantID(), guid)
	if errs.Is(err, errs.NotFound) {
		return access.RoleDefinition{}, access.ErrRoleDefinitionNotFound(guid)
	}
	return d.Definition, err
}

func getRoleDefinition(q *armRequest) (int, any, error) {
	scope, err := q.authScope()
	if err != nil {
		return 0, nil, err
	}
	d, err := q.findRoleDefinition(q.vars["id"])
	if err != nil {
		return 0, nil, err
	}
	b, err := d.JSONAt(scope)
	return http.StatusOK, json.RawMessage(b), err
}

// putRoleDefinition creates (201) or replaces (200) a custom role. The caller needs
// roleDefinitions/write at every scope the role is assignable at.
func putRoleDefinition(q *armRequest) (int, any, error) {
	const op = "httpapi.putRoleDefinition"
	if _, err := q.authScope(); err != nil {
		return 0, nil, err
	}
	d, err := readRoleDefinition(q)
	if err != nil {
		return 0, nil, err
	}
	for _, s := range d.AssignableScopes {
		if err := q.authz.require(access.ActionRoleDefinitionsWrite, scopeOrZero(s)); err != nil {
			return 0, nil, err
		}
	}
	if err := access.ValidateRoleDefinition(d); err != nil {
		return 0, nil, err
	}
	existing, err := q.s.Store.ListRoleDefinitions(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	if err := access.CheckRoleNameUnique(d, resource.Definitions(existing)); err != nil {
		return 0, nil, err
	}
	now := q.s.now().UTC()
	d.UpdatedOn, d.UpdatedBy = now, q.caller.ObjectID
	up, err := q.s.Store.UpdateRoleDefinition(q.ctx, q.tenantID(), d.ID, func(old resource.RoleDefinition) (resource.RoleDefinition, error) {
		d.CreatedOn, d.CreatedBy = old.Definition.CreatedOn, old.Definition.CreatedBy
		old.Definition = d
		return old, nil
	})
	status := http.StatusOK
	if errs.Is(err, errs.NotFound) {
		d.CreatedOn, d.CreatedBy, status = now, q.caller.ObjectID, http.StatusCreated
		up = resource.RoleDefinition{TenantID: q.tenantID(), Definition: d}
		err = q.s.Store.CreateRoleDefinition(q.ctx, up)
	}
	if err != nil {
		return 0, nil, errs.E(op, errs.KindOf(err), err)
	}
	b, err := up.Definition.JSONAt(scopeOrZero(q.vars["scope"]))
	return status, json.RawMessage(b), err
}

// readRoleDefinition decodes a PUT body in ARM's nested form; the id in the path wins over
// any in the body, which must agree with it.
func readRoleDefinition(q *armRequest) (access.RoleDefinition, error) {
	const op = "httpapi.readRoleDefinition"
	guid, err := access.ParseRoleDefinitionID(q.vars["id"])
	if err != nil {
		return access.RoleDefinition{}, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, q.r.Body, access.MaxJSONSize))
	if err != nil {
		return access.RoleDefinition{}, errs.E(op, errs.Invalid, errs.Code("BadRequest"), "The request body is too large or could not be read.")
	}
	var d access.RoleDefinition
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, errs.E(op, errs.Invalid, errs.Code("InvalidRoleDefinition"), err)
	}
	if d.ID != "" && d.ID != guid {
		return d, errs.E(op, errs.Invalid, access.CodeInvalidRoleDefinitionID, "The role definition id in the body does not match the one in the URL.")
	}
	d.ID = guid
	if d.RoleType == "" {
		d.RoleType = access.RoleTypeCustom
	}
	q.resourceID = strings.TrimSuffix(q.vars["scope"], "/") + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	return d, nil
}

// deleteRoleDefinition removes a custom role no assignment uses; 204 when there is none.
func deleteRoleDefinition(q *armRequest) (int, any, error) {
	scope, err := q.authScope()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(access.ActionRoleDefinitionsDelete, scope); err != nil {
		return 0, nil, err
	}
	guid, err := access.ParseRoleDefinitionID(q.vars["id"])
	if err != nil {
		return 0, nil, err
	}
	if access.IsBuiltInRoleID(guid) {
		return 0, nil, errs.E("httpapi.deleteRoleDefinition", errs.Invalid, access.CodeInvalidRoleDefinitionID,
			"Built-in roles cannot be deleted.")
	}
	d, err := q.s.Store.GetRoleDefinition(q.ctx, q.tenantID(), guid)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if err := q.s.Store.DeleteRoleDefinition(q.ctx, q.tenantID(), guid); err != nil {
		return 0, nil, err
	}
	b, err := d.Definition.JSONAt(scope)
	return http.StatusOK, json.RawMessage(b), err
}
