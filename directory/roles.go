package directory

import "strings"

// DirectoryRole is one of Entra's built-in directory roles. Directory roles govern the
// directory (users, groups, applications, policies); they are separate from resource roles
// (Owner, Virtual Machine User Login …), which the access package decides.
type DirectoryRole struct {
	TemplateID  string `json:"roleTemplateId"` // Entra's id, the same in every tenant
	DisplayName string `json:"displayName"`
	// Permissions are resource actions "microsoft.directory/<collection>/<verb>", with "*"
	// matching one whole segment.
	Permissions []string `json:"permissions"`
}

// The built-in directory roles Latch knows, with Entra's template ids.
var (
	GlobalAdministrator = DirectoryRole{"62e90394-69f5-4237-9190-012177145e10", "Global Administrator",
		[]string{"microsoft.directory/*/*"}}
	UserAdministrator = DirectoryRole{"fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator",
		[]string{"microsoft.directory/users/*", "microsoft.directory/groups/*", "microsoft.directory/*/read"}}
	ApplicationAdministrator = DirectoryRole{"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator",
		[]string{"microsoft.directory/servicePrincipals/*", "microsoft.directory/applications/*", "microsoft.directory/*/read"}}
	ConditionalAccessAdministrator = DirectoryRole{"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator",
		[]string{"microsoft.directory/conditionalAccessPolicies/*", "microsoft.directory/namedLocations/*", "microsoft.directory/*/read"}}
	GlobalReader = DirectoryRole{"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader",
		[]string{"microsoft.directory/*/read"}}
	// CloudDeviceAdministrator manages devices: it may delete the device of a VM whose
	// machine is gone, without rights over users, groups or applications.
	CloudDeviceAdministrator = DirectoryRole{"7698a772-787b-4ac8-901f-60d6b08affd2", "Cloud Device Administrator",
		[]string{"microsoft.directory/devices/delete", "microsoft.directory/devices/update", "microsoft.directory/devices/read"}}
)

// BuiltInDirectoryRoles lists every directory role, Global Administrator first.
var BuiltInDirectoryRoles = []DirectoryRole{GlobalAdministrator, UserAdministrator,
	ApplicationAdministrator, ConditionalAccessAdministrator, GlobalReader, CloudDeviceAdministrator}

// DirectoryRoleByID finds a built-in role by template id or display name (case-insensitive).
func DirectoryRoleByID(idOrName string) (DirectoryRole, bool) {
	for _, r := range BuiltInDirectoryRoles {
		if strings.EqualFold(r.TemplateID, idOrName) || strings.EqualFold(r.DisplayName, idOrName) {
			return r, true
		}
	}
	return DirectoryRole{}, false
}

// RoleAssignment gives a principal (user, group or service principal object id) a directory
// role across the tenant (DirectoryScopeID "/").
type RoleAssignment struct {
	ID               string `json:"id"`
	TenantID         string `json:"tenantId"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"` // a TemplateID
	DirectoryScopeID string `json:"directoryScopeId"`
}

// Directory actions, as Entra's resource actions name them.
const (
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Action builds "microsoft.directory/<collection>/<verb>".
func Action(collection, verb string) string {
	return "microsoft.directory/" + collection + "/" + verb
}

// Allowed reports whether a principal whose own and transitive-group object ids are ids, given
// the tenant's role assignments, may perform action. No matching assignment denies.
func Allowed(assignments []RoleAssignment, ids []string, action string) bool {
	held := make(map[string]bool, len(ids))
	for _, id := range ids {
		held[id] = true
	}
	for _, a := range assignments {
		if !held[a.PrincipalID] {
			continue
		}
		role, ok := DirectoryRoleByID(a.RoleDefinitionID)
		if !ok {
			continue
		}
		for _, p := range role.Permissions {
			if actionMatches(p, action) {
				return true
			}
		}
	}
	return false
}

// actionMatches compares segment by segment, case-insensitively; "*" matches one segment.
func actionMatches(pattern, action string) bool {
	ps := strings.Split(strings.ToLower(pattern), "/")
	as := strings.Split(strings.ToLower(action), "/")
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != as[i] {
			return false
		}
	}
	return true
}
