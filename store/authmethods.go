package store

import (
	"context"
	"time"

	"github.com/latchsh/latch/authn"
)

// AuthMethodStore keeps people's authentication methods (passkeys, TOTP, device-bound CLI
// keys), WebAuthn challenges, sign-in attempt counters and browser sessions. Same error rules
// as Store.
type AuthMethodStore interface {
	// Passkeys. Exists when the credential id is registered in the tenant already.
	CreatePasskey(ctx context.Context, p authn.Passkey) error
	GetPasskeyByCredentialID(ctx context.Context, tenantID string, credentialID []byte) (authn.Passkey, error)
	ListPasskeys(ctx context.Context, tenantID, userID string) ([]authn.Passkey, error)
	UpdatePasskey(ctx context.Context, tenantID, id string, fn func(authn.Passkey) (authn.Passkey, error)) (authn.Passkey, error)
	DeletePasskey(ctx context.Context, tenantID, id string) error

	// TOTP methods. UpdateTOTP is compare-and-swap, so a code's time step is accepted once.
	CreateTOTP(ctx context.Context, m authn.TOTPMethod) error
	ListTOTP(ctx context.Context, tenantID, userID string) ([]authn.TOTPMethod, error)
	UpdateTOTP(ctx context.Context, tenantID, id string, fn func(authn.TOTPMethod) (authn.TOTPMethod, error)) (authn.TOTPMethod, error)
	DeleteTOTP(ctx context.Context, tenantID, id string) error

	// WebAuthn challenges. ConsumeChallenge returns and deletes it, exactly once across
	// callers; Expired after Expires, NotFound when unknown or used.
	CreateChallenge(ctx context.Context, c authn.Challenge) error
	ConsumeChallenge(ctx context.Context, tenantID, id string, now time.Time) (authn.Challenge, error)

	// Attempt counters, compare-and-swap; UpdateAttempts creates the counter when absent
	// (fn gets a zero value with Key and TenantID set).
	UpdateAttempts(ctx context.Context, tenantID, key string, fn func(authn.AttemptCounter) (authn.AttemptCounter, error)) (authn.AttemptCounter, error)

	// Sessions. NotFound for unknown ids; ListSessions lists one user's.
	CreateSession(ctx context.Context, s authn.Session) error
	GetSession(ctx context.Context, id string) (authn.Session, error)
	UpdateSession(ctx context.Context, id string, fn func(authn.Session) (authn.Session, error)) (authn.Session, error)
	DeleteSession(ctx context.Context, id string) error
	ListSessions(ctx context.Context, tenantID, userID string) ([]authn.Session, error)
}
