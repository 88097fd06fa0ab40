package httpapi

import "net/http"

const (
	rgPath     = "/subscriptions/{sub}/resourceGroups/{rg}"
	vmPath     = rgPath + "/providers/Microsoft.Compute/virtualMachines/{vm}"
	extPath    = vmPath + "/extensions/{ext}"
	imagesPath = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/publishers"
	mgPath     = "/providers/Microsoft.Management/managementGroups"
	authzPath  = "{scope...}/providers/Microsoft.Authorization"
	opRAWrite  = "Microsoft.Authorization/roleAssignments/write"
	opRADelete = "Microsoft.Authorization/roleAssignments/delete"
	opRDWrite  = "Microsoft.Authorization/roleDefinitions/write"
	opRDDelete = "Microsoft.Authorization/roleDefinitions/delete"
)

// armTable lists every ARM operation Latch serves. Routes under any scope come first: their
// fixed tail tells them apart from the resource routes. Writes name the operation the
// activity log records.
func armTable() []armRoute {
	get, put, patch, del, post := http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost
	return []armRoute{
		route(post, "/providers/Microsoft.Authorization/checkAccess", "", checkAccess),
		route(get, authzPath+"/roleAssignments", "", listRoleAssignments),
		route(get, authzPath+"/roleAssignments/{id}", "", getRoleAssignment),
		route(put, authzPath+"/roleAssignments/{id}", opRAWrite, putRoleAssignment),
		route(del, authzPath+"/roleAssignments/{id}", opRADelete, deleteRoleAssignment),
		route(get, authzPath+"/roleDefinitions", "", listRoleDefinitions),
		route(get, authzPath+"/roleDefinitions/{id}", "", getRoleDefinition),
		route(put, authzPath+"/roleDefinitions/{id}", opRDWrite, putRoleDefinition),
		route(del, authzPath+"/roleDefinitions/{id}", opRDDelete, deleteRoleDefinition),

		route(get, mgPath, "", listMGs),
		route(get, mgPath+"/{mg}", "", getMG),
		route(put, mgPath+"/{mg}", opMGWrite, putMG),
		route(del, mgPath+"/{mg}", opMGDelete, deleteMG),
		route(put, mgPath+"/{mg}/subscriptions/{sub}", opMGSubWrite, putMGSubscription),
		route(del, mgPath+"/{mg}/subscriptions/{sub}", opMGSubWrite, deleteMGSubscription),

		route(get, "/subscriptions", "", listSubscriptions),
		route(get, "/subscriptions/{sub}", "", getSubscription),
		route(get, "/subscriptions/{sub}/resourceGroups", "", listRGs),
		route(get, rgPath, "", getRG),
		route(http.MethodHead, rgPath, "", getRG),
		route(put, rgPath, opRGWrite, putRG),
		route(patch, rgPath, opRGWrite, patchRG),
		route(del, rgPath, opRGDelete, deleteRG),

		route(get, "/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines", "", listVMs),
		route(get, rgPath+"/providers/Microsoft.Compute/virtualMachines", "", listVMs),
		route(get, vmPath, "", getVM),
		route(put, vmPath, opVMWrite, putVM),
		route(patch, vmPath, opVMWrite, patchVM),
		route(del, vmPath, opVMDelete, deleteVM),
		route(post, vmPath+"/generateOnboardingToken", opOnboard, generateOnboardingToken),
		route(get, vmPath+"/extensions", "", listExtensions),
		route(get, extPath, "", getExtension),
		route(put, extPath, opExtWrite, putExtension),
		route(del, extPath, opExtDelete, deleteExtension),
		route(get, "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{op}", "", getExtensionOperation),
		route(get, imagesPath, "", listExtensionPublishers),
		route(get, imagesPath+"/{pub}/artifacttypes/vmextension/types", "", listExtensionTypes),
		route(get, imagesPath+"/{pub}/artifacttypes/vmextension/types/{type}/versions", "", listExtensionVersions),

		route(get, "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values", "", listActivity),
	}
}
