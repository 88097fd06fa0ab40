package token

import (
	"context"
	"time"

	"github.com/latchsh/latch/errs"
)

// Config tunes a Service. Zero fields take the documented defaults.
type Config struct {
	Now                 func() time.Time // default time.Now
	AccessTokenLifetime time.Duration    // default 60m
	IDTokenLifetime     time.Duration    // default 60m
	KeyRotation         time.Duration    // how long one key signs; default 30 days
	Skew                time.Duration    // clock skew tolerated on exp/nbf/iat; default 2m
	// Alg reports a tenant's signing algorithm, "ES256" (default when nil or "") or "RS256".
	Alg func(ctx context.Context, tenantID string) (string, error)
}

// Defaults applied by NewService.
const (
	DefaultAccessTokenLifetime = 60 * time.Minute
	DefaultIDTokenLifetime     = 60 * time.Minute
	DefaultKeyRotation         = 30 * 24 * time.Hour
	DefaultSkew                = 2 * time.Minute
)

// Service signs and verifies tokens and keeps each tenant's signing keys. It holds no state
// that is not in the KeyStore except a short-lived cache, so any number of replicas may share
// one store. It is safe for concurrent use.
type Service struct {
	store KeyStore
	cfg   Config
	cache *keyCache
}

// NewService returns a Service keeping its keys in keys. It never fails: out-of-range
// durations are replaced by the defaults.
func NewService(keys KeyStore, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if cfg.IDTokenLifetime <= 0 {
		cfg.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = DefaultKeyRotation
	}
	if cfg.Skew < 0 {
		cfg.Skew = 0
	} else if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	return &Service{store: keys, cfg: cfg, cache: newKeyCache()}
}

// maxLifetime is the longest token this service signs; a key stays verifiable for this long
// (plus skew) after it stops signing.
func (s *Service) maxLifetime() time.Duration {
	return max(s.cfg.AccessTokenLifetime, s.cfg.IDTokenLifetime)
}

func (s *Service) lifetime(kind string) time.Duration {
	if kind == KindID {
		return s.cfg.IDTokenLifetime
	}
	return s.cfg.AccessTokenLifetime
}

// Sign mints a token of c.Kind (KindAccess or KindID), filling TokenID, IssuedAt and Expires
// when zero, with the tenant's current key (creating/rotating keys as needed). It returns the
// compact JWS and the claims as signed.
//
// Errors: Invalid when the claims are incomplete or contradict the kind (for example an app
// token with delegated scopes, or a lifetime beyond the configured one); Internal or
// Unavailable when the keys cannot be loaded or created.
func (s *Service) Sign(ctx context.Context, c Claims) (string, Claims, error) {
	const op = "token.Sign"
	now := s.cfg.Now()
	c, err := s.complete(c, now)
	if err != nil {
		return "", Claims{}, errs.E(op, errs.Invalid, err)
	}
	k, err := s.signingKey(ctx, c.TenantID, now)
	if err != nil {
		return "", Claims{}, errs.E(op, errs.Internal, err)
	}
	raw, err := k.sign(c)
	if err != nil {
		return "", Claims{}, errs.E(op, errs.Internal, err)
	}
	return raw, c, nil
}

// Verify parses and verifies raw against the keys of the tenant named in its tid claim and the
// options; every refusal is errs.Unauthenticated (or Invalid for malformed input) and never panics.
// A verified token's Claims carry its Kind; for ID tokens AppID is the audience (the client).
// Refusals carry code invalid_token and a sentence safe to show; the cause says why, for the
// log. The one other outcome is Unavailable, when the tenant's keys cannot be read.
func (s *Service) Verify(ctx context.Context, raw string, opt VerifyOptions) (Claims, error) {
	return s.verify(ctx, raw, opt)
}

// JWKS returns the tenant's public keys as JWKS JSON ({"keys":[...]} with kid, kty, use "sig", alg, x5t where sensible).
// Keys appear from their creation until their VerifyUntil, newest first. A tenant without keys
// gets {"keys":[]}; JWKS never creates keys (Sign and Rotate do).
func (s *Service) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	const op = "token.JWKS"
	if !validTenantID(tenantID) {
		return nil, errs.E(op, errs.Invalid, "The tenant identifier is not valid.", errs.Code("invalid_tenant"))
	}
	set, err := s.keySet(ctx, tenantID, s.cfg.Now(), false)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return set.jwks, nil
}

// Rotate makes sure the tenant has a signing key that is current, adds the next generation when
// the current one is due, and deletes keys past VerifyUntil. Safe to call from many replicas at once.
// The newest key is never deleted, so the tenant's JWKS is never empty once it has a key.
func (s *Service) Rotate(ctx context.Context, tenantID string) error {
	const op = "token.Rotate"
	if !validTenantID(tenantID) {
		return errs.E(op, errs.Invalid, "The tenant identifier is not valid.", errs.Code("invalid_tenant"))
	}
	if err := s.rotate(ctx, tenantID, s.cfg.Now()); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}
