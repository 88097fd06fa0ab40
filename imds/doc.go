// Package imds serves Azure's Instance Metadata Service on a machine: the paths, JSON shapes,
// error bodies and status codes that Azure's clients (azidentity's ManagedIdentityCredential,
// MSAL, az login --identity, cloud-init, the login extension) already speak, so they work
// unchanged against a Latch machine.
//
// It is an adapter. The agent implements [Source] (what the machine is, which managed
// identities it has, and a way to get a token minted by the control plane for one of them)
// and wires [New]'s handler to listeners; this package decides everything about HTTP and
// nothing about identities: it never mints, signs or verifies a token, and it keeps nothing
// on disk.
//
// What it must not do:
//   - link the server's store or any database driver (deps_test.go at the module root
//     enforces it): the machine side talks to the control plane only through the agent;
//   - answer a caller outside the machine, a request relayed by a proxy (X-Forwarded-For), a
//     request without "Metadata: true", or a Host it does not serve (DNS rebinding);
//   - redirect: a client that follows a redirect would carry its Metadata header elsewhere;
//   - answer 404 for an identity that is missing or not assigned: Azure's clients retry 404
//     for about 70 seconds, so those are 400 "Bad Request" with Azure's bodies;
//   - call the control plane more than once at a time for one (identity, resource) pair.
//
// How a caller is known to be local: a connection whose remote address is a loopback address
// is local. A connection that arrived on a listener bound to 169.254.169.254 is local when
// its remote address is one of the machine's own addresses (a program on the machine that
// dials 169.254.169.254 gets one of them as source address; a neighbour routed to that
// address does not). Everything else gets 403. Callers are not told apart by user id: every
// program on the machine may use the machine's identities, as on Azure.
package imds
