// Package access is Latch's role-based access control, in Azure's terms: role definitions with
// actions, notActions, dataActions and notDataActions; role assignments of a role to a user,
// group, service principal, managed identity or device at an ARM scope; the built-in roles
// with Azure's ids; and the decision "may this principal do this action at this scope".
//
// Signing in to a machine is the data action ActionVMLogin (ActionVMLoginAsAdmin to sign in as
// administrator). Data actions are only ever granted by dataActions, so Owner and Contributor,
// whose "*" is a control-plane wildcard, do not let anyone sign in; the two Virtual Machine
// Login roles do.
//
// What it decides:
//   - Decide answers one request from the assignments and role definitions the caller hands
//     it. No matching assignment denies. Assignments are inherited downward only: from the
//     root, from the management groups the caller names as the subscription's ancestors, from
//     the subscription, resource group and parent resources of the target.
//   - An assignment whose role definition is unknown, or that carries an ABAC condition, is
//     ignored (conditions are not evaluated yet, so they fail closed).
//   - Azure deny assignments are not modelled; nothing but the absence of a grant denies.
//   - ValidateAssignment and ValidateRoleDefinition apply ARM's rules for writes, with ARM's
//     error codes carried as errs.Code, so an adapter can answer exactly as ARM would.
//
// Everything here is a pure function of its arguments: safe for concurrent use, nothing cached.
//
// What it must not do: speak HTTP or SQL, hold a store, or look anything up. Callers supply the
// assignments, the role definitions and the management-group hierarchy; this package imports
// only the standard library and errs, so the control plane and the machine agent make the same
// decision from the same inputs.
package access
