package token

import "time"

// The grant state the token service keeps in the store. Secrets (codes, refresh tokens, device
// codes) are never stored in the clear: their IDs/hashes are base64url SHA-256 of the value
// handed out, so a copy of the database redeems nothing.

// AuthCode is an authorization code between /authorize and /token. It is redeemable once;
// a second redemption revokes every refresh token of its FamilyID (RFC 9700 §4.5).
type AuthCode struct {
	Hash          string    `json:"hash"`
	TenantID      string    `json:"tenantId"`
	ClientID      string    `json:"clientId"`
	RedirectURI   string    `json:"redirectUri"`
	Scope         string    `json:"scope"`
	UserID        string    `json:"userId"`
	CodeChallenge string    `json:"codeChallenge"` // S256 only
	Nonce         string    `json:"nonce,omitempty"`
	AMR           []string  `json:"amr"`
	AuthTime      time.Time `json:"authTime"`
	FamilyID      string    `json:"familyId"`
	Expires       time.Time `json:"expires"`
	Used          bool      `json:"used"`
	// SignInCorrelationID is the correlation id of the page request where the person signed
	// in: the token service generated it, and every entry of the sign-in's chain (redemption,
	// refreshes, SSH certificates, machine logins) carries it. "" in codes stored before it.
	SignInCorrelationID string `json:"signInCorrelationId,omitempty"`
}

// Device-code states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceRedeemed = "redeemed"
)

// DeviceCode is one device authorization (RFC 8628). Hash is of the device_code; UserCode is
// what the person types, unique while pending.
type DeviceCode struct {
	Hash     string    `json:"hash"`
	UserCode string    `json:"userCode"`
	TenantID string    `json:"tenantId"`
	ClientID string    `json:"clientId"`
	Scope    string    `json:"scope"`
	Status   string    `json:"status"`
	UserID   string    `json:"userId,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	AuthTime time.Time `json:"authTime,omitempty"`
	Interval int       `json:"interval"` // seconds between polls
	LastPoll time.Time `json:"lastPoll,omitempty"`
	Expires  time.Time `json:"expires"`
	Version  int64     `json:"version"`
	// SignInCorrelationID is set on approval, as AuthCode's is.
	SignInCorrelationID string `json:"signInCorrelationId,omitempty"`
	// ACRS are the authentication strengths the request's claims parameter asked for; the
	// device page asks the person to meet them before approving.
	ACRS []string `json:"acrs,omitempty"`
}

// Refresh-token states.
const (
	RefreshActive  = "active"
	RefreshRotated = "rotated" // exchanged once; presenting it again is reuse
	RefreshRevoked = "revoked"
)

// RefreshToken is one link of a rotation chain. All links share FamilyID; reusing a rotated
// link revokes the family.
type RefreshToken struct {
	Hash     string    `json:"hash"`
	FamilyID string    `json:"familyId"`
	TenantID string    `json:"tenantId"`
	ClientID string    `json:"clientId"`
	UserID   string    `json:"userId"`
	Scope    string    `json:"scope"`
	AMR      []string  `json:"amr"`
	AuthTime time.Time `json:"authTime"`
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	// SignInCorrelationID is the sign-in's, from the code the family began with; every link
	// of the family keeps it.
	SignInCorrelationID string `json:"signInCorrelationId,omitempty"`
}

// SigningKey is one of a tenant's token-signing keys. Generation orders keys; the store
// refuses a second key of the same (TenantID, Generation), so replicas racing to rotate make
// exactly one. PrivateKey is the key in PKCS#8 DER.
type SigningKey struct {
	ID         string    `json:"kid"`
	TenantID   string    `json:"tenantId"`
	Generation int64     `json:"generation"`
	Alg        string    `json:"alg"` // ES256 or RS256
	PrivateKey []byte    `json:"privateKey"`
	Created    time.Time `json:"created"`
	// SignUntil is when this key stops signing (its successor takes over); VerifyUntil is when
	// it leaves the JWKS: SignUntil plus the longest token lifetime plus clock skew.
	SignUntil   time.Time `json:"signUntil"`
	VerifyUntil time.Time `json:"verifyUntil"`
}
