package resource

import (
	"fmt"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
)

// MaxManagementGroupDepth is how many levels of groups may sit below the root, as in Azure.
const MaxManagementGroupDepth = 6

// Hierarchy is a snapshot of a tenant's management groups: where each group and each
// subscription sits. It answers the ancestry access.Decide needs.
type Hierarchy struct {
	tenantID  string
	groups    map[string]ManagementGroup // by lower-case name
	subParent map[string]string          // lower-case subscription id → group name
}

// NewHierarchy indexes groups of one tenant. A subscription no group lists sits under the
// root group, whose name is the tenant id.
func NewHierarchy(tenantID string, groups []ManagementGroup) Hierarchy {
	h := Hierarchy{tenantID: tenantID, groups: make(map[string]ManagementGroup, len(groups)), subParent: map[string]string{}}
	for _, g := range groups {
		h.groups[strings.ToLower(g.Name)] = g
		for _, s := range g.Subscriptions {
			h.subParent[strings.ToLower(s)] = g.Name
		}
	}
	return h
}

// Group returns the group named name (any case).
func (h Hierarchy) Group(name string) (ManagementGroup, bool) {
	g, ok := h.groups[strings.ToLower(name)]
	return g, ok
}

// SubscriptionParent is the name of the group a subscription sits in.
func (h Hierarchy) SubscriptionParent(subscriptionID string) string {
	if p, ok := h.subParent[strings.ToLower(subscriptionID)]; ok {
		return p
	}
	return h.tenantID
}

// Ancestors returns the management groups above scope, nearest first, ending with the root
// group: for a subscription or anything in one, the subscription's group and its parents; for
// a management group, its parents. The walk stops at a cycle or an unknown group, so a broken
// hierarchy can only withhold inherited access, never grant it.
func (h Hierarchy) Ancestors(scope access.Scope) []access.Scope {
	var start string
	switch {
	case scope.Kind() >= access.Subscription:
		start = h.SubscriptionParent(scope.SubscriptionID())
	case scope.Kind() == access.ManagementGroup:
		g, ok := h.Group(scope.ManagementGroupName())
		if !ok {
			return nil
		}
		start = g.Parent
	default:
		return nil
	}
	return h.chain(start)
}

// chain lists start and its ancestors as scopes.
func (h Hierarchy) chain(start string) []access.Scope {
	var out []access.Scope
	seen := map[string]bool{}
	for name := start; name != ""; {
		g, ok := h.Group(name)
		if !ok || seen[strings.ToLower(name)] || len(out) > MaxManagementGroupDepth+1 {
			break
		}
		seen[strings.ToLower(name)] = true
		sc, err := access.ParseScope(g.ARMID())
		if err != nil {
			break
		}
		out = append(out, sc)
		name = g.Parent
	}
	return out
}

// Children returns the groups whose parent is name and the subscriptions placed in it.
func (h Hierarchy) Children(name string) ([]ManagementGroup, []string) {
	var groups []ManagementGroup
	for _, g := range h.groups {
		if strings.EqualFold(g.Parent, name) {
			groups = append(groups, g)
		}
	}
	g, _ := h.Group(name)
	subs := append([]string(nil), g.Subscriptions...)
	return groups, subs
}

// CheckParent refuses making parent the parent of group name: the parent must exist, must not
// be name or below it, and the new depth must stay within MaxManagementGroupDepth. Errors are
// errs.Invalid with code "InvalidManagementGroupParent", or errs.NotFound when the parent
// does not exist.
func (h Hierarchy) CheckParent(name, parent string) error {
	const op = "resource.CheckParent"
	if _, ok := h.Group(parent); !ok {
		return errs.E(op, errs.NotFound, errs.Code("ParentNotFound"), fmt.Sprintf("The parent management group '%s' does not exist.", truncate(parent, 100)))
	}
	above := h.chain(parent)
	for _, a := range above {
		if strings.EqualFold(a.ManagementGroupName(), name) {
			return errs.E(op, errs.Invalid, errs.Code("InvalidManagementGroupParent"),
				"A management group cannot be moved below itself.")
		}
	}
	if len(above) > MaxManagementGroupDepth {
		return errs.E(op, errs.Invalid, errs.Code("InvalidManagementGroupParent"), fmt.Sprintf(
			"The management group hierarchy can be at most %d levels deep below the root.", MaxManagementGroupDepth))
	}
	return nil
}
