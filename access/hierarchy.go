package access

// MaxManagementGroupDepth bounds the walk up the management-group tree. Azure allows six levels
// below the tenant root group; the extra room is for the root group itself and for safety.
const MaxManagementGroupDepth = 10

// ManagementGroupAncestors builds Request.Ancestors for target from the caller's hierarchy:
// parentOf returns the management group directly above a subscription or management group
// (false at the top). The walk starts at target's subscription, or at target itself when it
// is a management group, and returns the groups above it, nearest first. It stops at a repeat
// (a cycle in bad data), at a parent that is not a management group, and after
// MaxManagementGroupDepth groups, so bad hierarchy data can only withhold access.
func ManagementGroupAncestors(target Scope, parentOf func(Scope) (Scope, bool)) []Scope {
	start, ok := hierarchyStart(target)
	if !ok || parentOf == nil {
		return nil
	}
	var out []Scope
	for cur := start; len(out) < MaxManagementGroupDepth; {
		p, ok := parentOf(cur)
		if !ok || p.Kind() != ManagementGroup || seen(out, p) {
			break
		}
		out = append(out, p)
		cur = p
	}
	return out
}

// hierarchyStart is the scope whose management-group parent the caller knows.
func hierarchyStart(target Scope) (Scope, bool) {
	switch target.Kind() {
	case ManagementGroup:
		return target, true
	case Subscription, ResourceGroup, Resource:
		return Scope{kind: Subscription, path: "/" + segSubscriptions + "/" + target.SubscriptionID()}, true
	}
	return Scope{}, false
}

func seen(list []Scope, s Scope) bool {
	for _, x := range list {
		if x.Equal(s) {
			return true
		}
	}
	return false
}
