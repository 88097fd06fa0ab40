package access

import "strings"

// Well-known actions. Data actions (the two logins) are only granted by DataActions.
const (
	ActionVMLogin        = "Microsoft.Compute/virtualMachines/login/action"        // data action: sign in as a regular user
	ActionVMLoginAsAdmin = "Microsoft.Compute/virtualMachines/loginAsAdmin/action" // data action: sign in as administrator or root

	ActionVMRead            = "Microsoft.Compute/virtualMachines/read"
	ActionVMWrite           = "Microsoft.Compute/virtualMachines/write"
	ActionVMDelete          = "Microsoft.Compute/virtualMachines/delete"
	ActionVMExtensionsRead  = "Microsoft.Compute/virtualMachines/extensions/read"
	ActionVMExtensionsWrite = "Microsoft.Compute/virtualMachines/extensions/write"

	ActionResourceGroupsRead  = "Microsoft.Resources/subscriptions/resourceGroups/read"
	ActionResourceGroupsWrite = "Microsoft.Resources/subscriptions/resourceGroups/write"
	ActionSubscriptionsRead   = "Microsoft.Resources/subscriptions/read"

	ActionRoleAssignmentsRead   = "Microsoft.Authorization/roleAssignments/read"
	ActionRoleAssignmentsWrite  = "Microsoft.Authorization/roleAssignments/write"
	ActionRoleAssignmentsDelete = "Microsoft.Authorization/roleAssignments/delete"
	ActionRoleDefinitionsRead   = "Microsoft.Authorization/roleDefinitions/read"
	ActionRoleDefinitionsWrite  = "Microsoft.Authorization/roleDefinitions/write"
	ActionRoleDefinitionsDelete = "Microsoft.Authorization/roleDefinitions/delete"
)

// Azure's ids of the built-in roles Latch ships. They are the same in every Azure tenant, so
// templates and scripts that name roles by id work unchanged.
const (
	OwnerRoleID                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorRoleID             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderRoleID                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministratorRoleID = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	VMAdministratorLoginRoleID    = "1c0163c0-47e6-4577-8991-ea5c82e286e4"
	VMUserLoginRoleID             = "fb879df8-f326-4884-b1cf-06f3ad86be52"
	VMContributorRoleID           = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
)

// vmLoginReadActions are the control-plane reads both login roles carry, so that a person who
// may sign in can also find the machine and its address.
var vmLoginReadActions = []string{
	"Microsoft.Network/publicIPAddresses/read",
	"Microsoft.Network/virtualNetworks/read",
	"Microsoft.Network/loadBalancers/read",
	"Microsoft.Network/networkInterfaces/read",
	"Microsoft.Compute/virtualMachines/*/read",
	"Microsoft.HybridCompute/machines/*/read",
	"Microsoft.HybridConnectivity/endpoints/listCredentials/action",
}

var vmContributorActions = []string{
	"Microsoft.Authorization/*/read",
	"Microsoft.Compute/availabilitySets/*",
	"Microsoft.Compute/locations/*",
	"Microsoft.Compute/virtualMachines/*",
	"Microsoft.Compute/virtualMachineScaleSets/*",
	"Microsoft.Compute/cloudServices/*",
	"Microsoft.Compute/disks/write",
	"Microsoft.Compute/disks/read",
	"Microsoft.Compute/disks/delete",
	"Microsoft.Compute/hostgroups/write",
	"Microsoft.Compute/hostgroups/hosts/write",
	"Microsoft.DevTestLab/schedules/*",
	"Microsoft.Insights/alertRules/*",
	"Microsoft.Network/applicationGateways/backendAddressPools/join/action",
	"Microsoft.Network/loadBalancers/backendAddressPools/join/action",
	"Microsoft.Network/loadBalancers/inboundNatPools/join/action",
	"Microsoft.Network/loadBalancers/inboundNatRules/join/action",
	"Microsoft.Network/loadBalancers/probes/join/action",
	"Microsoft.Network/loadBalancers/read",
	"Microsoft.Network/locations/*",
	"Microsoft.Network/networkInterfaces/*",
	"Microsoft.Network/networkSecurityGroups/join/action",
	"Microsoft.Network/networkSecurityGroups/read",
	"Microsoft.Network/publicIPAddresses/join/action",
	"Microsoft.Network/publicIPAddresses/read",
	"Microsoft.Network/virtualNetworks/read",
	"Microsoft.Network/virtualNetworks/subnets/join/action",
	"Microsoft.RecoveryServices/locations/*",
	"Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write",
	"Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
	"Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
	"Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
	"Microsoft.RecoveryServices/Vaults/backupPolicies/read",
	"Microsoft.RecoveryServices/Vaults/backupPolicies/write",
	"Microsoft.RecoveryServices/Vaults/read",
	"Microsoft.RecoveryServices/Vaults/usages/read",
	"Microsoft.RecoveryServices/Vaults/write",
	"Microsoft.ResourceHealth/availabilityStatuses/read",
	"Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read",
	"Microsoft.SerialConsole/serialPorts/connect/action",
	"Microsoft.SqlVirtualMachine/*",
	"Microsoft.Storage/storageAccounts/listKeys/action",
	"Microsoft.Storage/storageAccounts/read",
	"Microsoft.Support/*",
}

// builtIns returns fresh definitions every call, so no caller can change another's roles.
func builtIns() []RoleDefinition {
	return []RoleDefinition{
		builtIn(OwnerRoleID, "Owner",
			"Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
			Permission{Actions: []string{"*"}}),
		builtIn(ContributorRoleID, "Contributor",
			"Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
			Permission{Actions: []string{"*"}, NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
				"Microsoft.Subscription/cancel/action",
				"Microsoft.Subscription/enable/action",
			}}),
		builtIn(ReaderRoleID, "Reader", "View all resources, but does not allow you to make any changes.",
			Permission{Actions: []string{"*/read"}}),
		builtIn(UserAccessAdministratorRoleID, "User Access Administrator", "Lets you manage user access to Azure resources.",
			Permission{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}),
		builtIn(VMAdministratorLoginRoleID, "Virtual Machine Administrator Login",
			"View Virtual Machines in the portal and login as administrator",
			Permission{Actions: clone(vmLoginReadActions), DataActions: []string{
				ActionVMLogin,
				ActionVMLoginAsAdmin,
				"Microsoft.HybridCompute/machines/login/action",
				"Microsoft.HybridCompute/machines/loginAsAdmin/action",
			}}),
		builtIn(VMUserLoginRoleID, "Virtual Machine User Login",
			"View Virtual Machines in the portal and login as a regular user.",
			Permission{Actions: clone(vmLoginReadActions), DataActions: []string{
				ActionVMLogin,
				"Microsoft.HybridCompute/machines/login/action",
			}}),
		builtIn(VMContributorRoleID, "Virtual Machine Contributor",
			"Lets you manage virtual machines, but not access to them, and not the virtual network or storage account they're connected to.",
			Permission{Actions: clone(vmContributorActions)}),
	}
}

func builtIn(id, name, description string, p Permission) RoleDefinition {
	return RoleDefinition{
		ID: id, RoleName: name, Description: description, RoleType: RoleTypeBuiltIn,
		Permissions: []Permission{p}, AssignableScopes: []string{"/"},
	}
}

func clone(s []string) []string { return append([]string(nil), s...) }

// BuiltInRoles returns Latch's built-in roles with Azure's ids, names, descriptions and
// permissions, assignable at "/". Each call returns new slices the caller may change.
func BuiltInRoles() []RoleDefinition { return builtIns() }

// BuiltInRole returns the built-in role with the given GUID (any case), or false.
func BuiltInRole(id string) (RoleDefinition, bool) {
	for _, d := range builtIns() {
		if strings.EqualFold(d.ID, id) {
			return d, true
		}
	}
	return RoleDefinition{}, false
}

// IsBuiltInRoleID reports whether id is the GUID of a built-in role.
func IsBuiltInRoleID(id string) bool {
	_, ok := BuiltInRole(id)
	return ok
}

// IndexRoles keys definitions by lower-case GUID, the form Decide looks roles up by. A later
// definition with the same GUID replaces an earlier one.
func IndexRoles(defs ...RoleDefinition) map[string]RoleDefinition {
	m := make(map[string]RoleDefinition, len(defs))
	for _, d := range defs {
		m[strings.ToLower(d.ID)] = d
	}
	return m
}
