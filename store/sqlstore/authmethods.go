package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// Passkeys and device keys: the credential id, base64url, is the unique lookup, so one
// credential can belong to one account per tenant; the user id is the ref, for listing.
var passkeys = docKind[authn.Passkey]{
	name: "passkey", what: "passkey",
	ids: func(p *authn.Passkey) (*string, *string) { return &p.TenantID, &p.ID },
	key: func(p authn.Passkey) string { return credentialKey(p.CredentialID) },
	ref: func(p authn.Passkey) string { return p.UserID },
	stamp: func(p *authn.Passkey, v int64, c time.Time) {
		p.Version, p.Created = v, c
	},
	exists: func(authn.Passkey) string {
		return "This passkey is registered already."
	},
}

func credentialKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

var totps = docKind[authn.TOTPMethod]{
	name: "softwareOath", what: "authenticator app",
	ids: func(m *authn.TOTPMethod) (*string, *string) { return &m.TenantID, &m.ID },
	key: func(authn.TOTPMethod) string { return "" },
	ref: func(m authn.TOTPMethod) string { return m.UserID },
	stamp: func(m *authn.TOTPMethod, v int64, c time.Time) {
		m.Version, m.Created = v, c
	},
	exists: func(m authn.TOTPMethod) string {
		return "An authenticator app with id " + m.ID + " already exists."
	},
}

// CreatePasskey stores p with Version 1 and Created now. Exists when the credential id (or
// the id) is taken in the tenant, whoever holds it.
func (s *Store) CreatePasskey(ctx context.Context, p authn.Passkey) error {
	if len(p.CredentialID) == 0 {
		return errs.E("store.CreatePasskey", errs.Invalid, "A passkey needs a credential id.")
	}
	return passkeys.create(ctx, s, "store.CreatePasskey", p)
}

// GetPasskeyByCredentialID finds a credential by its exact id; NotFound when the tenant has none.
func (s *Store) GetPasskeyByCredentialID(ctx context.Context, tenantID string, credentialID []byte) (authn.Passkey, error) {
	const op = "store.GetPasskeyByCredentialID"
	if len(credentialID) == 0 {
		return authn.Passkey{}, notFound(op, "passkey", "")
	}
	return passkeys.getByKey(ctx, s, op, tenantID, credentialKey(credentialID))
}

// ListPasskeys returns the user's passkeys and device keys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, tenantID, userID string) ([]authn.Passkey, error) {
	if userID == "" {
		return []authn.Passkey{}, nil
	}
	return passkeys.list(ctx, s, "store.ListPasskeys", tenantID, userID)
}

// UpdatePasskey is compare-and-swap, so concurrent sign-ins cannot both advance the counter
// from one value. fn may not change the credential id into one that is taken (Exists).
func (s *Store) UpdatePasskey(ctx context.Context, tenantID, id string, fn func(authn.Passkey) (authn.Passkey, error)) (authn.Passkey, error) {
	return passkeys.update(ctx, s, "store.UpdatePasskey", tenantID, id, fn)
}

// DeletePasskey fails with NotFound when there is no such passkey.
func (s *Store) DeletePasskey(ctx context.Context, tenantID, id string) error {
	return passkeys.remove(ctx, s.c, "store.DeletePasskey", tenantID, id)
}

// CreateTOTP stores m with Version 1 and Created now; Exists when the id is taken.
func (s *Store) CreateTOTP(ctx context.Context, m authn.TOTPMethod) error {
	return totps.create(ctx, s, "store.CreateTOTP", m)
}

// ListTOTP returns the user's authenticator apps, oldest first, unconfirmed ones included.
func (s *Store) ListTOTP(ctx context.Context, tenantID, userID string) ([]authn.TOTPMethod, error) {
	if userID == "" {
		return []authn.TOTPMethod{}, nil
	}
	return totps.list(ctx, s, "store.ListTOTP", tenantID, userID)
}

// UpdateTOTP is compare-and-swap, so of two requests with one code only one records its step.
func (s *Store) UpdateTOTP(ctx context.Context, tenantID, id string, fn func(authn.TOTPMethod) (authn.TOTPMethod, error)) (authn.TOTPMethod, error) {
	return totps.update(ctx, s, "store.UpdateTOTP", tenantID, id, fn)
}

// DeleteTOTP fails with NotFound when there is no such method.
func (s *Store) DeleteTOTP(ctx context.Context, tenantID, id string) error {
	return totps.remove(ctx, s.c, "store.DeleteTOTP", tenantID, id)
}

// Challenges are written once and consumed once; they need neither version nor lookup.
var challenges = docKind[authn.Challenge]{
	name: "webauthnChallenge", what: "challenge",
	ids:   func(c *authn.Challenge) (*string, *string) { return &c.TenantID, &c.ID },
	key:   func(authn.Challenge) string { return "" },
	ref:   func(authn.Challenge) string { return "" },
	stamp: func(*authn.Challenge, int64, time.Time) {},
	exists: func(authn.Challenge) string {
		return "A challenge with this id exists already."
	},
}

// CreateChallenge stores c; Exists when its id is taken in the tenant.
func (s *Store) CreateChallenge(ctx context.Context, c authn.Challenge) error {
	return challenges.create(ctx, s, "store.CreateChallenge", c)
}

// ConsumeChallenge deletes the challenge and returns it. The delete is one statement that
// returns the row, so of any number of concurrent callers exactly one gets it; the others,
// and later callers, get NotFound. A challenge past Expires is deleted too, and gives Expired.
func (s *Store) ConsumeChallenge(ctx context.Context, tenantID, id string, now time.Time) (authn.Challenge, error) {
	const op = "store.ConsumeChallenge"
	var data string
	err := s.c.row(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND id = ? RETURNING data`,
		challenges.name, tenantID, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return authn.Challenge{}, errs.E(op, errs.NotFound, "The challenge was already used or never existed.")
	}
	if err != nil {
		return authn.Challenge{}, s.d.wrap(op, err, "")
	}
	var c authn.Challenge
	if err := unmarshal(op, data, &c); err != nil {
		return c, err
	}
	if !now.Before(c.Expires) {
		return authn.Challenge{}, errs.E(op, errs.Expired, "The challenge has expired.")
	}
	return c, nil
}
