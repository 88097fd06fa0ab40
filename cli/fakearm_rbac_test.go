package cli

import (
	"regexp"
	"strings"
	"time"
)

// The fake's access control: Azure's built-in role ids, custom roles, assignments.

const (
	vmAdminLoginID = "1c0163c0-47e6-4577-8991-ea5c82e286e4"
	vmUserLoginID  = "fb879df8-f326-4884-b1cf-06f3ad86be52"
	ownerRoleID    = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)

func builtInRole(id, name, desc string, dataActions []any) map[string]any {
	return map[string]any{
		"id": "/subscriptions/" + subID + "/providers/Microsoft.Authorization/roleDefinitions/" + id, "name": id,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{"roleName": name, "type": "BuiltInRole", "description": desc, "assignableScopes": []any{"/"},
			"permissions": []any{map[string]any{"actions": []any{"*"}, "notActions": []any{}, "dataActions": dataActions, "notDataActions": []any{}}}},
	}
}

func (a *fakeARM) definitions() []any {
	defs := []any{
		builtInRole(ownerRoleID, "Owner", "Grants full access to manage all resources.", []any{}),
		builtInRole(vmAdminLoginID, "Virtual Machine Administrator Login", "View Virtual Machines in the portal and login as administrator",
			[]any{"Microsoft.Compute/virtualMachines/login/action", "Microsoft.Compute/virtualMachines/loginAsAdmin/action"}),
		builtInRole(vmUserLoginID, "Virtual Machine User Login", "View Virtual Machines in the portal and login as a regular user.",
			[]any{"Microsoft.Compute/virtualMachines/login/action"}),
	}
	for k, r := range a.res {
		if strings.Contains(k, "/roledefinitions/") {
			defs = append(defs, r)
		}
	}
	return defs
}

var roleNameFilter = regexp.MustCompile(`^roleName eq '(.*)'$`)

func (a *fakeARM) roleDefinitions(rq *armRequest) (int, any) {
	if strings.HasSuffix(strings.ToLower(rq.path), "/roledefinitions") {
		out := []any{}
		m := roleNameFilter.FindStringSubmatch(rq.q("$filter"))
		for _, d := range a.definitions() {
			props := d.(map[string]any)["properties"].(map[string]any)
			if m == nil || props["roleName"] == strings.ReplaceAll(m[1], "''", "'") {
				out = append(out, d)
			}
		}
		return 200, map[string]any{"value": out}
	}
	id := rq.path[strings.LastIndex(rq.path, "/")+1:]
	switch rq.method {
	case "GET":
		for _, d := range a.definitions() {
			if d.(map[string]any)["name"] == id {
				return 200, d
			}
		}
		return 404, armErr("RoleDefinitionDoesNotExist", "The specified role definition with ID '"+id+"' does not exist.")
	case "PUT":
		def := map[string]any{"id": "/subscriptions/" + subID + "/providers/Microsoft.Authorization/roleDefinitions/" + id, "name": id,
			"type": "Microsoft.Authorization/roleDefinitions", "properties": rq.body["properties"]}
		a.res["/roledefinitions/"+id] = def
		return 201, def
	case "DELETE":
		def := a.res["/roledefinitions/"+id]
		delete(a.res, "/roledefinitions/"+id)
		return 200, def
	}
	return 405, nil
}

func (a *fakeARM) assignments() []map[string]any {
	var out []map[string]any
	for k, r := range a.res {
		if strings.Contains(k, "/providers/microsoft.authorization/roleassignments/") {
			out = append(out, r)
		}
	}
	return out
}

func guidOf(id string) string { return strings.ToLower(id[strings.LastIndex(id, "/")+1:]) }

func (a *fakeARM) roleAssignments(rq *armRequest) (int, any) {
	lower := strings.ToLower(rq.path)
	scope := rq.path[:strings.Index(lower, "/providers/microsoft.authorization/roleassignments")]
	if strings.HasSuffix(lower, "/roleassignments") {
		return 200, map[string]any{"value": a.assignmentsFor(scope, rq.q("$filter"))}
	}
	switch rq.method {
	case "PUT":
		return a.createAssignment(rq, scope)
	case "DELETE":
		cur := a.res[lower]
		if cur == nil {
			return 204, nil
		}
		delete(a.res, lower)
		return 200, cur
	}
	return 405, nil
}

func (a *fakeARM) assignmentsFor(scope, filter string) []any {
	out := []any{}
	principal := regexp.MustCompile(`principalId eq '([^']*)'`).FindStringSubmatch(filter)
	for _, r := range a.assignments() {
		p := r["properties"].(map[string]any)
		s := strings.ToLower(p["scope"].(string))
		ls := strings.ToLower(scope)
		switch {
		case filter == "atScope()" && !(ls == s || strings.HasPrefix(ls, s+"/")):
			continue
		case filter != "atScope()" && !strings.HasPrefix(s, ls):
			continue
		case principal != nil && p["principalId"] != principal[1]:
			continue
		}
		out = append(out, r)
	}
	return out
}

func (a *fakeARM) createAssignment(rq *armRequest, scope string) (int, any) {
	props, _ := rq.body["properties"].(map[string]any)
	for _, r := range a.assignments() {
		p := r["properties"].(map[string]any)
		if strings.EqualFold(p["scope"].(string), scope) && p["principalId"] == props["principalId"] &&
			guidOf(p["roleDefinitionId"].(string)) == guidOf(props["roleDefinitionId"].(string)) {
			return 409, armErr("RoleAssignmentExists", "The role assignment already exists.")
		}
	}
	name := rq.path[strings.LastIndex(rq.path, "/")+1:]
	out := map[string]any{"id": canonicalID(rq.path), "name": name, "type": "Microsoft.Authorization/roleAssignments",
		"properties": map[string]any{"roleDefinitionId": props["roleDefinitionId"], "principalId": props["principalId"],
			"principalType": props["principalType"], "scope": canonicalID(scope), "createdOn": time.Now().UTC().Format(time.RFC3339)}}
	a.res[strings.ToLower(rq.path)] = out
	return 201, out
}
