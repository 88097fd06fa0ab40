// Package token is the token service's core: signing keys and their rotation, the JWKS,
// minting access and ID tokens with Entra's claims, verifying tokens with pinned algorithms,
// and normalising scopes and resources. Grant state (codes, refresh tokens) is described here
// and kept by the store. It speaks neither HTTP nor SQL: httpapi drives it.
package token
