package token

import (
	"context"
	"time"
)

// KeyStore is what the token service needs from the store to keep signing keys.
type KeyStore interface {
	AddSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context, tenantID string) ([]SigningKey, error)
	DeleteSigningKey(ctx context.Context, tenantID, kid string) error
}

// Token kinds, carried so one kind can never be used as another.
const (
	KindAccess = "access"
	KindID     = "id"
)

// Principal types, as Entra's idtyp claim names them.
const (
	PrincipalUser = "user"
	PrincipalApp  = "app"
)

// Claims are what Latch puts in and reads out of a token, in Entra's terms.
type Claims struct {
	Kind          string    // KindAccess or KindID
	Issuer        string    // iss
	TenantID      string    // tid
	Subject       string    // sub (pairwise in Entra; Latch uses the object id)
	ObjectID      string    // oid
	PrincipalType string    // idtyp: PrincipalUser or PrincipalApp
	AppID         string    // appid / azp: the client the token was issued to
	Audience      string    // aud: the resource (access) or the client id (id token)
	UPN           string    // upn and preferred_username (users only)
	Name          string    // name
	Scope         string    // scp, space-separated (delegated access tokens)
	Roles         []string  // roles (application permissions)
	AMR           []string  // amr: the methods that proved the sign-in
	AuthTime      time.Time // auth_time
	Nonce         string    // nonce (id tokens)
	TokenID       string    // uti / jti
	IssuedAt      time.Time // iat and nbf
	Expires       time.Time // exp
	CorrelationID string    // xms_cid-like: carried to link the sign-in trail
}

// VerifyOptions say what a verified token must be.
type VerifyOptions struct {
	Kind      string   // required kind
	Audiences []string // accepted aud values (normalised before comparison); empty accepts none
	Issuers   []string // accepted iss values
}
