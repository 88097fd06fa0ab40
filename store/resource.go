package store

import (
	"context"

	"github.com/latchsh/latch/resource"
)

// ResourceStore keeps the resource manager's state: management groups, resource groups,
// resources, custom role definitions and role assignments, and the activity log. Same error
// rules as Store. ARM ids and names are compared ignoring ASCII case and kept in the case they
// were created with.
type ResourceStore interface {
	// Management groups, by name (the last segment of their id). Exists when the name is
	// taken in the tenant. DeleteManagementGroup fails with Conflict while the group has
	// child groups or subscriptions, and with Invalid for the root group; it removes the role
	// assignments at the group in the same transaction.
	CreateManagementGroup(ctx context.Context, g resource.ManagementGroup) error
	GetManagementGroup(ctx context.Context, tenantID, name string) (resource.ManagementGroup, error)
	ListManagementGroups(ctx context.Context, tenantID string) ([]resource.ManagementGroup, error)
	UpdateManagementGroup(ctx context.Context, tenantID, name string, fn func(resource.ManagementGroup) (resource.ManagementGroup, error)) (resource.ManagementGroup, error)
	DeleteManagementGroup(ctx context.Context, tenantID, name string) error

	// Resource groups. Exists when the subscription has a group of that name in any case.
	// ListResourceGroups returns a subscription's groups, oldest first. DeleteResourceGroup
	// removes, in one transaction, the group, every resource in it, and every role assignment
	// at or below it, so that a group created later under the same name inherits nothing.
	CreateResourceGroup(ctx context.Context, g resource.ResourceGroup) error
	GetResourceGroup(ctx context.Context, tenantID, subscriptionID, name string) (resource.ResourceGroup, error)
	ListResourceGroups(ctx context.Context, tenantID, subscriptionID string) ([]resource.ResourceGroup, error)
	UpdateResourceGroup(ctx context.Context, tenantID, subscriptionID, name string, fn func(resource.ResourceGroup) (resource.ResourceGroup, error)) (resource.ResourceGroup, error)
	DeleteResourceGroup(ctx context.Context, tenantID, subscriptionID, name string) error

	// Resources, by ARM id in any case. CreateResource fails with NotFound when the resource
	// group (or, for a child, the parent resource) does not exist, and Exists when the id is
	// taken. ListResources returns the resources at or below an ARM id (a subscription,
	// resource group or resource), of one type when typ is not "", oldest first.
	// DeleteResource removes the resource, its children and the role assignments at or below it.
	CreateResource(ctx context.Context, r resource.Resource) error
	GetResource(ctx context.Context, tenantID, id string) (resource.Resource, error)
	ListResources(ctx context.Context, tenantID, under, typ string) ([]resource.Resource, error)
	UpdateResource(ctx context.Context, tenantID, id string, fn func(resource.Resource) (resource.Resource, error)) (resource.Resource, error)
	DeleteResource(ctx context.Context, tenantID, id string) error

	// Custom role definitions, by GUID. DeleteRoleDefinition fails with Conflict (code
	// RoleDefinitionHasAssignments) while an assignment uses the role.
	CreateRoleDefinition(ctx context.Context, d resource.RoleDefinition) error
	GetRoleDefinition(ctx context.Context, tenantID, id string) (resource.RoleDefinition, error)
	ListRoleDefinitions(ctx context.Context, tenantID string) ([]resource.RoleDefinition, error)
	UpdateRoleDefinition(ctx context.Context, tenantID, id string, fn func(resource.RoleDefinition) (resource.RoleDefinition, error)) (resource.RoleDefinition, error)
	DeleteRoleDefinition(ctx context.Context, tenantID, id string) error

	// Role assignments, by GUID. CreateRoleAssignment fails with Exists (code
	// RoleAssignmentExists) when the id is taken or the same role is assigned to the same
	// principal at the same scope; with NotFound (code RoleDefinitionDoesNotExist) when it
	// names a custom role that does not exist, checked in the same transaction so that a
	// role being deleted cannot gain an assignment. ListRoleAssignments returns them oldest
	// first.
	CreateRoleAssignment(ctx context.Context, a resource.RoleAssignment) error
	GetRoleAssignment(ctx context.Context, tenantID, id string) (resource.RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, tenantID string, q resource.RoleAssignmentQuery) ([]resource.RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, tenantID, id string) error

	// The activity log is append-only. AppendActivity fails with Exists when the entry's id
	// is taken. ListActivity returns the entries q selects, newest first, at most
	// q.EffectiveLimit().
	AppendActivity(ctx context.Context, e resource.ActivityEntry) error
	ListActivity(ctx context.Context, tenantID string, q resource.ActivityQuery) ([]resource.ActivityEntry, error)
}
