// Package bench measures how fast Latch issues tokens, next to the physical limit of the
// machine it runs on: the rate at which one process can make ES256 (ECDSA P-256) signatures.
//
// issuance_test.go holds the go test -bench functions: the raw signature, token.Service.Sign,
// and the client-credentials grant over keep-alive HTTPS against the real handler with SQLite
// and with PostgreSQL. run.sh runs them all in one go test invocation and cmd/benchtable turns
// that output into a table of rates, per-core rates, latency percentiles and the ratio of
// issuance to signing. RESULTS.md records what was measured, on which machine, and where the
// time goes.
//
// Nothing here asserts a timing: a timing depends on the machine and on what else runs on it,
// so it is reported, never tested. The benchmarks do fail when a request does not succeed,
// because a fast error is not an issuance.
package bench
