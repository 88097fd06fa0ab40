// Package errs is Latch's closed set of error kinds.
//
// Every layer wraps failures with E(op, kind, …). Adapters map a Kind once to an HTTP status,
// an OAuth error code or ARM's error JSON; anything left as Internal reaches the user as
// "internal error" with a correlation id while the log keeps the cause. This package imports
// only the standard library and must stay that way: every other package depends on it.
package errs
