// Package directory holds the tenant's identities — users, groups, service principals and the
// managed identities that are service principals bound to a resource — and the rules about
// them: name validation, nested group membership, and Entra's directory roles.
//
// It imports only the standard library and errs: no HTTP, no SQL. Persistence is the store's
// job; presentation (Graph JSON) is httpapi's.
package directory
