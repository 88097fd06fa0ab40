// Package store defines the one interface through which the control plane keeps all of its
// state, so that any number of `latch serve` replicas can share one database.
//
// Implementations live in store/sqlite (the embedded default) and store/postgres; both must pass
// the conformance suite in store/storetest, concurrency cases included. This package imports the
// domain packages for their types and nothing that speaks HTTP.
package store
