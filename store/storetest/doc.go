// Package storetest is the conformance suite every store.Store implementation runs: the same
// cases, concurrency included, for SQLite and PostgreSQL, so that the rest of the control plane
// can rely on the interface's promises rather than on a backend.
//
// Cases lead with failures (fail/…), then round trips (ok/…), then races (concurrency/…). A case
// must hold for any correct backend: it may not depend on timing, on ordering the interface does
// not promise, or on a backend's internals. It imports only the store interface, the domain types
// and the standard library.
package storetest
