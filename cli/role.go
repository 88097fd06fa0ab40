package cli

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Role definitions ("latch role definition …"), over ARM's Microsoft.Authorization.

// definitionRenames prints a role definition's properties.type as az does: "roleType".
var definitionRenames = map[string]string{"type": "roleType"}

func newRoleCommand(a *app) *cobra.Command {
	definition := newGroup("definition", "Manage role definitions.",
		newRoleDefinitionList(a), newRoleDefinitionCreate(a), newRoleDefinitionDelete(a))
	return newGroup("role", "Manage user roles for access control with Latch role-based access control (RBAC).",
		definition, newRoleAssignmentCommand(a))
}

// roleScope is az's scope for role commands: --scope, else the resource group, else the
// subscription. Both at once is refused.
func (c *arm) roleScope(rg, scope string) (string, error) {
	switch {
	case scope != "" && rg != "":
		return "", failf("Resource group \"%s\" is redundant because scope is supplied", rg)
	case scope != "":
		return scopePath(scope)
	case rg != "":
		return c.groupPath(rg), nil
	}
	return c.subscriptionPath(), nil
}

func definitionsPath(scope string) string {
	return scope + "/providers/Microsoft.Authorization/roleDefinitions"
}

// definitions lists the role definitions visible at scope, flattened, optionally filtered by
// role name on the server.
func (c *arm) definitions(ctx context.Context, scope, roleName string) ([]any, error) {
	var q url.Values
	if roleName != "" {
		q = url.Values{"$filter": {"roleName eq " + odataString(roleName)}}
	}
	defs, err := c.list(ctx, definitionsPath(scope), apiAuthorization, q)
	if err != nil {
		return nil, err
	}
	out := flattenAll(defs, definitionRenames)
	if roleName != "" {
		// The filter again here, in case a server answers with more than it was asked for.
		out = slices.DeleteFunc(out, func(d any) bool {
			n, _ := d.(map[string]any)["roleName"].(string)
			return !strings.EqualFold(n, roleName)
		})
	}
	return out, nil
}

// searchDefinitions is az's search: every definition at scope whose name (GUID) or role
// name is name, custom roles only when asked.
func (c *arm) searchDefinitions(ctx context.Context, scope, name string, customOnly bool) ([]any, error) {
	defs, err := c.definitions(ctx, scope, "")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, d := range defs {
		m := d.(map[string]any)
		if name != "" && m["name"] != name && m["roleName"] != name {
			continue
		}
		if customOnly && m["roleType"] != "CustomRole" {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func newRoleDefinitionList(a *app) *cobra.Command {
	var name, rg, scope string
	var customOnly bool
	cmd := a.armCommand("list", "List role definitions.", func(ctx context.Context, c *arm) (any, error) {
		s, err := c.roleScope(rg, scope)
		if err != nil {
			return nil, err
		}
		defs, err := c.searchDefinitions(ctx, s, name, customOnly)
		return tabled{defs, definitionTable}, err
	})
	cmd.Example = `  latch role definition list --name "Virtual Machine Administrator Login"`
	cmd.Flags().StringVarP(&name, "name", "n", "", "The role's name or id.")
	cmd.Flags().BoolVar(&customOnly, "custom-role-only", false, "Custom roles only (vs. built-in ones).")
	roleScopeFlags(cmd, &rg, &scope)
	return cmd
}

func roleScopeFlags(cmd *cobra.Command, rg, scope *string) {
	cmd.Flags().StringVarP(rg, "resource-group", "g", "", "Use it only if the role or assignment was added at the level of a resource group.")
	cmd.Flags().StringVar(scope, "scope", "", "Scope at which the role assignment or definition applies to, e.g. /subscriptions/{id}, /subscriptions/{id}/resourceGroups/myGroup, or /subscriptions/{id}/resourceGroups/myGroup/providers/Microsoft.Compute/virtualMachines/myVM.")
}

// definitionTable is az's table for role definitions: Name, Type, Description.
func definitionTable(v any) (any, []string) {
	items, _ := v.([]any)
	rows := make([]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		rows = append(rows, map[string]any{"Name": m["roleName"], "Type": m["type"], "Description": m["description"]})
	}
	return rows, []string{"Name", "Type", "Description"}
}

func newRoleDefinitionCreate(a *app) *cobra.Command {
	var def string
	cmd := a.armCommand("create", "Create a custom role definition.", func(ctx context.Context, c *arm) (any, error) {
		id, scope, body, err := customRoleBody(def)
		if err != nil {
			return nil, err
		}
		res, err := c.write(ctx, http.MethodPut, definitionsPath(scope)+"/"+seg(id), apiAuthorization, body)
		return flatten(res, definitionRenames), err
	})
	cmd.Example = `  latch role definition create --role-definition @custom-login.json
  latch role definition create --role-definition '{"Name": "Contoso Login", "Description": "Sign in to machines.",
    "DataActions": ["Microsoft.Compute/virtualMachines/login/action"], "AssignableScopes": ["/subscriptions/{id}"]}'`
	cmd.Flags().StringVar(&def, "role-definition", "", "JSON formatted content which defines the new role, or @file / a path to a file holding it.")
	required(cmd, "role-definition")
	return cmd
}

// customRoleBody reads az's role definition JSON: keys in either case ("Name" or "name"),
// permissions either in a "permissions" list or as top-level Actions/NotActions/DataActions/
// NotDataActions. The role is created at its first assignable scope under a new GUID.
func customRoleBody(arg string) (id, scope string, body map[string]any, err error) {
	v, err := readJSONArg(arg, "--role-definition")
	if err != nil {
		return "", "", nil, err
	}
	in, ok := v.(map[string]any)
	if !ok {
		return "", "", nil, failf("Invalid role definition. A valid dictionary JSON representation is expected.")
	}
	in = lowerFirstKeys(in)
	name, _ := in["name"].(string)
	if name == "" {
		return "", "", nil, failf("please provide role name")
	}
	scopes, _ := in["assignableScopes"].([]any)
	first, _ := firstOf(scopes).(string)
	if first == "" {
		return "", "", nil, failf("please provide 'assignableScopes'")
	}
	if scope, err = scopePath(first); err != nil {
		return "", "", nil, err
	}
	props := map[string]any{"roleName": name, "description": in["description"], "type": "CustomRole",
		"assignableScopes": scopes, "permissions": permissionsOf(in)}
	return newUUID(), scope, map[string]any{"properties": props}, nil
}

func lowerFirstKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "" {
			k = strings.ToLower(k[:1]) + k[1:]
		}
		out[k] = v
	}
	return out
}

func firstOf(list []any) any {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func permissionsOf(in map[string]any) []any {
	one := func(cfg map[string]any) map[string]any {
		return map[string]any{"actions": cfg["actions"], "notActions": cfg["notActions"],
			"dataActions": cfg["dataActions"], "notDataActions": cfg["notDataActions"]}
	}
	list, ok := in["permissions"].([]any)
	if !ok {
		return []any{one(in)}
	}
	out := make([]any, 0, len(list))
	for _, p := range list {
		m, _ := p.(map[string]any)
		out = append(out, one(m))
	}
	return out
}

func newRoleDefinitionDelete(a *app) *cobra.Command {
	var name, rg, scope string
	var customOnly bool
	cmd := a.armCommand("delete", "Delete a role definition.", func(ctx context.Context, c *arm) (any, error) {
		s, err := c.roleScope(rg, scope)
		if err != nil {
			return nil, err
		}
		defs, err := c.searchDefinitions(ctx, s, name, customOnly)
		for _, d := range defs {
			if err != nil {
				break
			}
			id, _ := d.(map[string]any)["name"].(string)
			_, err = c.write(ctx, http.MethodDelete, definitionsPath(s)+"/"+seg(id), apiAuthorization, nil)
		}
		return nil, err
	})
	cmd.Flags().StringVarP(&name, "name", "n", "", "The role's name or id.")
	cmd.Flags().BoolVar(&customOnly, "custom-role-only", false, "Custom roles only (vs. built-in ones).")
	roleScopeFlags(cmd, &rg, &scope)
	required(cmd, "name")
	return cmd
}

// roleDefinitionIDPattern matches a full role definition id, which --role may be.
var roleDefinitionIDPattern = regexp.MustCompile(`(?i)^/subscriptions/.+/providers/Microsoft\.Authorization/roleDefinitions/`)

// resolveRole turns --role (a definition id, a GUID, or a role name looked up at scope)
// into a role definition id, as az does.
func (c *arm) resolveRole(ctx context.Context, role, scope string) (string, error) {
	if roleDefinitionIDPattern.MatchString(role) {
		return role, nil
	}
	if isGUID(role) {
		sub := subscriptionOfScope(scope)
		if sub == "" {
			sub = c.sub
		}
		return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role, nil
	}
	defs, err := c.definitions(ctx, scope, role)
	switch {
	case err != nil:
		return "", err
	case len(defs) == 0:
		return "", failf("Role '%s' doesn't exist.", role)
	case len(defs) > 1:
		ids := make([]string, 0, len(defs))
		for _, d := range defs {
			ids = append(ids, objectID(d))
		}
		return "", failf("More than one role matches the given name '%s'. Please pick a value from '%s'", role, "['"+strings.Join(ids, "', '")+"']")
	}
	return objectID(defs[0]), nil
}

// lastSegment is the GUID at the end of a role definition or assignment id, compared
// ignoring case: the same role may be named with or without its subscription prefix.
func lastSegment(id string) string { return strings.ToLower(id[strings.LastIndex(id, "/")+1:]) }
