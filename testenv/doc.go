// Package testenv starts the real outside programs tests need.
//
// It runs what production runs — the whole control plane in one process on loopback, and beside
// it real PostgreSQL, sshd and browsers started by the test itself — so that tests exercise the
// real thing rather than mocks. It is for tests only: nothing outside _test.go files may import
// it, and it must not touch a system-wide installation (a distribution's PostgreSQL cluster, the
// machine's sshd): everything it starts lives in a temporary directory and on a free port.
package testenv
