package resource

import (
	"encoding/json"
	"time"
)

// Subscription is a billing and access boundary under a tenant. Its ARM id is
// /subscriptions/{ID}. Its parent is the management group that lists it in Subscriptions, or
// the tenant's root group when none does.
type Subscription struct {
	ID          string    `json:"subscriptionId"`
	TenantID    string    `json:"tenantId"`
	DisplayName string    `json:"displayName"`
	State       string    `json:"state"` // "Enabled"
	Created     time.Time `json:"created"`
}

// ARMID is the subscription's resource id.
func (s Subscription) ARMID() string { return "/subscriptions/" + s.ID }

// ManagementGroup groups subscriptions and other management groups under one tenant. Every
// tenant has one root group whose Name is the tenant id (as in Azure) and whose Parent is "";
// every other group has a parent.
type ManagementGroup struct {
	TenantID    string `json:"tenantId"`
	Name        string `json:"name"` // the id in /providers/Microsoft.Management/managementGroups/{Name}
	DisplayName string `json:"displayName"`
	Parent      string `json:"parent,omitempty"` // the parent group's Name; "" only for the root
	// Subscriptions are the ids of the subscriptions placed directly under this group.
	Subscriptions []string  `json:"subscriptions,omitempty"`
	UpdatedBy     string    `json:"updatedBy,omitempty"`
	Updated       time.Time `json:"updated"`
	Created       time.Time `json:"created"`
	Version       int64     `json:"version"`
}

// IsRoot reports whether g is its tenant's root group.
func (g ManagementGroup) IsRoot() bool { return g.Parent == "" }

// ARMID is the group's resource id.
func (g ManagementGroup) ARMID() string { return ManagementGroupID(g.Name) }

// RootGroupDisplayName is what Azure calls a tenant's root management group.
const RootGroupDisplayName = "Tenant Root Group"

// NewRootGroup returns the root management group of a tenant: named after the tenant id, as
// Azure names it, so that every replica creating it lazily creates the same one.
func NewRootGroup(tenantID string, now time.Time) ManagementGroup {
	return ManagementGroup{TenantID: tenantID, Name: tenantID, DisplayName: RootGroupDisplayName, Updated: now, Created: now}
}

// ResourceGroup is a named container of resources in a subscription. Names are unique per
// subscription ignoring case, and keep the case they were created with.
type ResourceGroup struct {
	TenantID       string            `json:"tenantId"`
	ID             string            `json:"id"` // ARMID's; set by the store on create
	SubscriptionID string            `json:"subscriptionId"`
	Name           string            `json:"name"`
	Location       string            `json:"location"`
	Tags           map[string]string `json:"tags,omitempty"`
	ManagedBy      string            `json:"managedBy,omitempty"`
	Created        time.Time         `json:"created"`
	Version        int64             `json:"version"`
}

// ARMID is the group's resource id, with ARM's canonical "resourceGroups".
func (g ResourceGroup) ARMID() string { return ResourceGroupID(g.SubscriptionID, g.Name) }

// Identity is a resource's managed identity, as ARM writes it. For "SystemAssigned" the
// resource manager creates a service principal of type ManagedIdentity whose
// ManagedResourceID is the resource's id; PrincipalID is that service principal's object id.
type Identity struct {
	Type        string `json:"type"` // IdentityNone or IdentitySystemAssigned
	PrincipalID string `json:"principalId,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
}

// Identity types Latch supports. User-assigned identities are not modelled.
const (
	IdentityNone           = "None"
	IdentitySystemAssigned = "SystemAssigned"
)

// Resource is any resource below a resource group: a virtual machine, an extension of one, or
// a resource of a type Latch only stores. ID is the canonical ARM id (see ParseResourceID);
// lookups by id ignore case. Properties is the type's own JSON (see VMProperties and
// ExtensionProperties for the typed ones).
type Resource struct {
	TenantID   string            `json:"tenantId"`
	ID         string            `json:"id"`
	Type       string            `json:"type"` // e.g. Microsoft.Compute/virtualMachines/extensions
	Name       string            `json:"name"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Identity   *Identity         `json:"identity,omitempty"`
	Properties json.RawMessage   `json:"properties,omitempty"`
	CreatedBy  string            `json:"createdBy,omitempty"`
	Created    time.Time         `json:"created"`
	Version    int64             `json:"version"`
}
