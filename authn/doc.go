// Package authn holds the ways of proving identity, one file each: client secret, client
// assertion (private_key_jwt), Temporary Access Pass, and, as later work lands, passkey,
// password, TOTP and the machine credential. Each verifies a proof and returns the methods it
// satisfied (amr); none of them issues tokens (package token does) or touches HTTP or SQL.
package authn
