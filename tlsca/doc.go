// Package tlsca keeps the local certificate authority that lets `latch serve` speak HTTPS from
// its first start without any setup: a CA ("Latch local CA", ECDSA P-256, ten years) and a
// server certificate it issues (one year, renewed when within 30 days of expiry or when its
// names no longer cover the public URL's host), all under DATA/tls, private keys mode 0600.
// It also builds the server's tls.Config (TLS 1.2 or later, AEAD cipher suites only).
//
// It must not replace an existing CA: machines and browsers may trust it, so a missing or
// broken CA key is an error for the operator, never a silent new CA. It knows nothing about
// HTTP handlers, the store or configuration files; callers pass paths, names and the time.
package tlsca
