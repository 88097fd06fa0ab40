package store

// ResourceStore keeps the resource manager's state: management groups, resource groups,
// resources, role definitions and assignments, and the activity log. Same error rules as Store.
type ResourceStore interface {
}
