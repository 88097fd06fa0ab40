// Package bootstrap performs a server's first start: when the store holds no tenant it creates
// one with everything needed to begin (a subscription, the well-known sign-in applications and
// the CLI's public client, an owner service principal with a client secret, a passwordless
// administrator with a one-time Temporary Access Pass, Global Administrator for both, the first
// token-signing key) and writes the new credentials to DATA/bootstrap.json, mode 0600.
//
// It is idempotent and safe when several replicas start at once on one database: exactly one
// creates the tenant and writes credentials; the others, and every later start, only find the
// home tenant. It must not change an existing tenant (re-creating deleted applications, say,
// is the operator's decision) and it must not print or log secrets; they go to the file only.
package bootstrap
