package access

import (
	"encoding/json"
	"strings"
	"testing"
)

// The built-ins as Azure documents them, checked field by field against the JSON Azure
// publishes for the two login roles, so that a typo in an id or action is caught.
const vmAdminLoginJSON = `{"assignableScopes":["/"],"description":"View Virtual Machines in the portal and login as administrator",
 "id":"/providers/Microsoft.Authorization/roleDefinitions/1c0163c0-47e6-4577-8991-ea5c82e286e4","name":"1c0163c0-47e6-4577-8991-ea5c82e286e4",
 "permissions":[{"actions":["Microsoft.Network/publicIPAddresses/read","Microsoft.Network/virtualNetworks/read","Microsoft.Network/loadBalancers/read",
   "Microsoft.Network/networkInterfaces/read","Microsoft.Compute/virtualMachines/*/read","Microsoft.HybridCompute/machines/*/read",
   "Microsoft.HybridConnectivity/endpoints/listCredentials/action"],"notActions":[],
   "dataActions":["Microsoft.Compute/virtualMachines/login/action","Microsoft.Compute/virtualMachines/loginAsAdmin/action",
   "Microsoft.HybridCompute/machines/login/action","Microsoft.HybridCompute/machines/loginAsAdmin/action"],"notDataActions":[]}],
 "roleName":"Virtual Machine Administrator Login","roleType":"BuiltInRole","type":"Microsoft.Authorization/roleDefinitions"}`

// flatRole is the flat shape Azure's documentation prints for built-in roles.
type flatRole struct {
	AssignableScopes []string     `json:"assignableScopes"`
	Description      string       `json:"description"`
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	Permissions      []Permission `json:"permissions"`
	RoleName         string       `json:"roleName"`
	RoleType         string       `json:"roleType"`
}

func TestBuiltInVMAdministratorLoginMatchesAzure(t *testing.T) {
	var want flatRole
	if err := json.Unmarshal([]byte(vmAdminLoginJSON), &want); err != nil {
		t.Fatal(err)
	}
	got, ok := BuiltInRole(VMAdministratorLoginRoleID)
	if !ok {
		t.Fatal("missing")
	}
	gotJSON, _ := json.Marshal(flatRole{got.AssignableScopes, got.Description, got.ARMID(), got.ID, got.Permissions, got.RoleName, got.RoleType})
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("got  %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestBuiltInRoles(t *testing.T) {
	want := map[string]string{
		OwnerRoleID:                   "Owner",
		ContributorRoleID:             "Contributor",
		ReaderRoleID:                  "Reader",
		UserAccessAdministratorRoleID: "User Access Administrator",
		VMAdministratorLoginRoleID:    "Virtual Machine Administrator Login",
		VMUserLoginRoleID:             "Virtual Machine User Login",
		VMContributorRoleID:           "Virtual Machine Contributor",
	}
	roles := BuiltInRoles()
	if len(roles) != len(want) {
		t.Fatalf("%d built-ins, want %d", len(roles), len(want))
	}
	for _, r := range roles {
		if want[r.ID] != r.RoleName || r.RoleType != RoleTypeBuiltIn || len(r.AssignableScopes) != 1 || r.AssignableScopes[0] != "/" {
			t.Errorf("%s: %+v", r.ID, r)
		}
		if !isGUID(r.ID) || r.ID != strings.ToLower(r.ID) || r.Description == "" {
			t.Errorf("%s: id or description", r.ID)
		}
	}
	// Callers get copies: changing one must not change the next.
	roles[0].Permissions[0].Actions[0] = "nothing"
	if again, _ := BuiltInRole(roles[0].ID); again.Permissions[0].Actions[0] == "nothing" {
		t.Fatal("BuiltInRoles shares its slices")
	}
	if _, ok := BuiltInRole("00000000-0000-0000-0000-000000000000"); ok {
		t.Fatal("an unknown id is a built-in")
	}
	if _, ok := BuiltInRole(strings.ToUpper(OwnerRoleID)); !ok {
		t.Fatal("ids compare without case")
	}
}

func TestBuiltInGrants(t *testing.T) {
	role := func(id string) RoleDefinition { r, _ := BuiltInRole(id); return r }
	for _, tc := range []struct {
		name, role, action string
		data               bool
	}{
		{name: "fail/owner-no-login", role: OwnerRoleID, action: ActionVMLogin, data: true},
		{name: "fail/owner-no-admin-login", role: OwnerRoleID, action: ActionVMLoginAsAdmin, data: true},
		{name: "fail/contributor-no-login", role: ContributorRoleID, action: ActionVMLogin, data: true},
		{name: "fail/contributor-no-admin-login", role: ContributorRoleID, action: ActionVMLoginAsAdmin, data: true},
		{name: "fail/contributor-no-role-assignment", role: ContributorRoleID, action: ActionRoleAssignmentsWrite},
		{name: "fail/contributor-no-role-assignment-delete", role: ContributorRoleID, action: ActionRoleAssignmentsDelete},
		{name: "fail/contributor-no-elevate", role: ContributorRoleID, action: "Microsoft.Authorization/elevateAccess/Action"},
		{name: "fail/reader-no-login", role: ReaderRoleID, action: ActionVMLogin, data: true},
		{name: "fail/reader-no-write", role: ReaderRoleID, action: ActionVMWrite},
		{name: "fail/user-login-no-admin", role: VMUserLoginRoleID, action: ActionVMLoginAsAdmin, data: true},
		{name: "fail/user-login-no-vm-write", role: VMUserLoginRoleID, action: ActionVMWrite},
		{name: "fail/admin-login-no-vm-write", role: VMAdministratorLoginRoleID, action: ActionVMWrite},
		{name: "fail/vm-contributor-no-login", role: VMContributorRoleID, action: ActionVMLogin, data: true},
		{name: "fail/vm-contributor-no-role-assignment", role: VMContributorRoleID, action: ActionRoleAssignmentsWrite},
		{name: "fail/user-access-admin-no-vm-write", role: UserAccessAdministratorRoleID, action: ActionVMWrite},
		{name: "fail/user-access-admin-no-login", role: UserAccessAdministratorRoleID, action: ActionVMLogin, data: true},
		{name: "ok/owner-role-assignment", role: OwnerRoleID, action: ActionRoleAssignmentsWrite},
		{name: "ok/owner-vm-write", role: OwnerRoleID, action: ActionVMWrite},
		{name: "ok/contributor-vm-write", role: ContributorRoleID, action: ActionVMWrite},
		{name: "ok/contributor-reads-role-assignments", role: ContributorRoleID, action: ActionRoleAssignmentsRead},
		{name: "ok/reader-vm-read", role: ReaderRoleID, action: ActionVMRead},
		{name: "ok/user-login", role: VMUserLoginRoleID, action: ActionVMLogin, data: true},
		{name: "ok/user-login-reads-extensions", role: VMUserLoginRoleID, action: ActionVMExtensionsRead},
		{name: "ok/admin-login-login", role: VMAdministratorLoginRoleID, action: ActionVMLogin, data: true},
		{name: "ok/admin-login-admin", role: VMAdministratorLoginRoleID, action: ActionVMLoginAsAdmin, data: true},
		{name: "ok/vm-contributor-extension-write", role: VMContributorRoleID, action: ActionVMExtensionsWrite},
		{name: "ok/vm-contributor-rg-read", role: VMContributorRoleID, action: ActionResourceGroupsRead},
		{name: "ok/user-access-admin-role-assignment", role: UserAccessAdministratorRoleID, action: ActionRoleAssignmentsWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := role(tc.role).Grants(tc.action, tc.data); got != strings.HasPrefix(tc.name, "ok/") {
				t.Fatalf("grants = %v", got)
			}
		})
	}
}
