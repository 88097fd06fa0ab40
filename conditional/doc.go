// Package conditional is Latch's Conditional Access: policies in Microsoft Graph's
// conditionalAccessPolicy JSON, named locations (IP ranges and countries), authentication
// strengths (the three built-ins with Azure's ids and method combinations, and custom ones),
// and the decision "may this sign-in have a token, or what must the person do first".
//
// What it decides:
//   - Every enabled policy that applies to a sign-in must be satisfied. A policy applies when
//     the user, application (or user action), sign-in and user risk, client app type, named
//     location and platform conditions all match; exclusions beat inclusions.
//   - A policy in report-only state (enabledForReportingButNotEnforced) is evaluated and
//     reported as reportOnlySuccess, reportOnlyFailure or reportOnlyNotApplied, and never
//     changes the outcome. A disabled policy is reported as notEnabled and is not evaluated.
//   - Grant controls combine with the policy's operator (AND or OR); block can only stand
//     alone and always wins. Sign-in frequency asks for a fresh sign-in when the
//     authentication is older than the policy allows.
//   - Legacy per-user MFA (strongAuthenticationRequirements Enabled or Enforced) acts as one
//     more enabled policy requiring MFA for every sign-in of that user.
//   - When the current sign-in falls short but the person has registered methods that would
//     satisfy every failed policy, the outcome is a step-up (sign in again with a stronger
//     method) rather than a refusal.
//
// Everything here is a pure function of its arguments: the caller supplies the policies, the
// named locations, the strengths, the facts about the user and about the sign-in. Evaluate and
// a compiled Evaluator are safe for concurrent use.
//
// What it must not do: speak HTTP or SQL, hold a store, read a clock, or look anything up.
// Persisting policies, resolving transitive groups and roles, mapping an address to a country
// and writing the sign-in log are the callers' jobs.
package conditional
