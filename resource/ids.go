package resource

import (
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
)

// Resource types with ARM's canonical spelling, which responses always use whatever casing a
// request had.
const (
	TypeResourceGroup   = "Microsoft.Resources/resourceGroups"
	TypeManagementGroup = "Microsoft.Management/managementGroups"
	TypeVirtualMachine  = "Microsoft.Compute/virtualMachines"
	TypeVMExtension     = "Microsoft.Compute/virtualMachines/extensions"
)

var canonicalTypes = map[string]string{}

func init() {
	for _, t := range []string{TypeResourceGroup, TypeManagementGroup, TypeVirtualMachine, TypeVMExtension} {
		canonicalTypes[strings.ToLower(t)] = t
	}
}

// CanonicalType returns ARM's spelling of a known resource type, or t unchanged.
func CanonicalType(t string) string {
	if c, ok := canonicalTypes[strings.ToLower(t)]; ok {
		return c
	}
	return t
}

// ManagementGroupID is /providers/Microsoft.Management/managementGroups/{name}.
func ManagementGroupID(name string) string {
	return "/providers/" + TypeManagementGroup + "/" + name
}

// SubscriptionID is /subscriptions/{id}.
func SubscriptionID(id string) string { return "/subscriptions/" + strings.ToLower(id) }

// ResourceGroupID is /subscriptions/{sub}/resourceGroups/{name}, with ARM's canonical
// "resourceGroups" whatever the request spelled.
func ResourceGroupID(subscriptionID, name string) string {
	return SubscriptionID(subscriptionID) + "/resourceGroups/" + name
}

// ResourceID is the id of a top-level resource of type (Namespace/type) in a resource group.
func ResourceID(subscriptionID, group, typ, name string) string {
	return ResourceGroupID(subscriptionID, group) + "/providers/" + CanonicalType(typ) + "/" + name
}

// ChildID is the id of a child resource: parentID/{childType}/{name}, e.g. an extension of a VM.
func ChildID(parentID, childType, name string) string {
	return parentID + "/" + childType + "/" + name
}

// IDKey is how ids are compared and looked up: ARM ids are case-insensitive, so the key is
// the id in lower case (ASCII only, as access.Scope compares).
func IDKey(id string) string { return lowerASCII(id) }

// lowerASCII lower-cases ASCII letters only, copying s once and only when it has any.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ResourceRef is a parsed resource id.
type ResourceRef struct {
	Scope          access.Scope
	SubscriptionID string
	ResourceGroup  string
	Type           string // Namespace/type[/childType…], canonical when known
	Name           string // the last name
}

// Parent is the id of the resource's parent: its resource group, or the parent resource.
func (r ResourceRef) Parent() string {
	p, _ := r.Scope.Parent()
	return p.String()
}

// ParseResourceID parses the id of a resource below a resource group. It fails with
// errs.Invalid and code "InvalidResourceId" for anything else.
func ParseResourceID(id string) (ResourceRef, error) {
	const op = "resource.ParseResourceID"
	sc, err := access.ParseScope(id)
	if err != nil || sc.Kind() != access.Resource {
		return ResourceRef{}, errs.E(op, errs.Invalid, errs.Code("InvalidResourceId"),
			"The resource id '"+truncate(id, 200)+"' is not valid: it must be /subscriptions/{id}/resourceGroups/{group}/providers/{namespace}/{type}/{name}.")
	}
	segs := strings.Split(sc.String()[1:], "/")
	// subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}]…
	types := []string{segs[5]}
	for i := 6; i < len(segs); i += 2 {
		types = append(types, segs[i])
	}
	return ResourceRef{Scope: sc, SubscriptionID: sc.SubscriptionID(), ResourceGroup: sc.ResourceGroupName(),
		Type: CanonicalType(strings.Join(types, "/")), Name: segs[len(segs)-1]}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
