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
// Paths: /metadata/versions, /metadata/instance[/route/filter] (format=text for leaves),
// /metadata/identity/info, /metadata/identity/oauth2/token (GET, "Metadata: true"), the App
// Service form at AppServicePath (GET, X-IDENTITY-HEADER, api-version 2019-08-01) and the
// Cloud Shell form at CloudShellPath (POST form, "Metadata: true"). Limits: each identity gets
// 20 requests a second and 5 in flight on the identity paths, each caller address 5 requests a
// second on the instance paths; above them, 429 too_many_requests. Tokens are cached per
// (identity, resource) and replaced 5 minutes before expiry (halfway for tokens shorter than
// 10 minutes); bypass_cache=true fetches anew only for a token older than 5 seconds.
//
// How a caller is known to be local: a connection whose remote address is a loopback address
// is local. A connection that arrived on a listener bound to 169.254.169.254 is local when
// its remote address is one of the machine's own addresses (a program on the machine that
// dials 169.254.169.254 gets one of them as source address; a neighbour routed to that
// address does not). Everything else gets 403. The unit tests set the remote and listener
// addresses of a request; the namespace test routes a neighbouring namespace to a real
// 169.254.169.254 listener and sees the 403.
//
// Callers are not told apart by user id: every program on the machine may use the machine's
// identities, as on Azure. Binding an identity to a local user (SO_PEERCRED on a Unix socket)
// is not done: Azure's clients only speak TCP to fixed addresses, so they could not use it.
package imds
