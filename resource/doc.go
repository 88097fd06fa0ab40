// Package resource is the resource manager's domain: management groups, subscriptions,
// resource groups and resources, with ARM's ids. It imports no HTTP and no SQL.
package resource
