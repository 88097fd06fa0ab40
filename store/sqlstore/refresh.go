package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// Every change to a refresh family first locks the family's row in refresh_families: creating
// a link, rotating one, revoking them all. Taking that one lock first, always, is what keeps a
// revocation from missing a link that a concurrent rotation or creation is adding, and gives
// every transaction the same lock order.

// lockFamily makes sure the family row exists, locks it and reports whether it is revoked.
func lockFamily(ctx context.Context, c conn, familyID string) (revoked bool, err error) {
	var r int
	err = c.row(ctx, `INSERT INTO refresh_families (family_id, revoked) VALUES (?, 0)
		ON CONFLICT (family_id) DO UPDATE SET revoked = refresh_families.revoked
		RETURNING revoked`, familyID).Scan(&r)
	return r == 1, err
}

// revokeFamily marks the family revoked, so that no link can be added to it later, and revokes
// its active links. Rotated links stay "rotated": presenting one is still reuse, and reuse must
// answer Conflict however often it is tried.
func revokeFamily(ctx context.Context, c conn, familyID string) error {
	if _, err := c.exec(ctx, `INSERT INTO refresh_families (family_id, revoked) VALUES (?, 1)
		ON CONFLICT (family_id) DO UPDATE SET revoked = 1`, familyID); err != nil {
		return err
	}
	_, err := c.exec(ctx, `UPDATE refresh_tokens SET status = ? WHERE family_id = ? AND status = ?`,
		token.RefreshRevoked, familyID, token.RefreshActive)
	return err
}

// RevokeRefreshFamily revokes every refresh token of the family, and any created for it later.
// Revoking an unknown or already revoked family succeeds.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) error {
	err := s.inTx(ctx, func(c conn) error { return revokeFamily(ctx, c, familyID) })
	return s.d.wrap("store.RevokeRefreshFamily", err, "")
}

// CreateRefreshToken stores t (status "active" when empty, Created now when zero). Exists when
// the hash is taken; Conflict ("invalid_grant") when the family was revoked, e.g. because its
// authorization code was replayed while the first redemption was still issuing tokens.
func (s *Store) CreateRefreshToken(ctx context.Context, t token.RefreshToken) error {
	const op = "store.CreateRefreshToken"
	if t.Status == "" {
		t.Status = token.RefreshActive
	}
	if t.Created.IsZero() {
		t.Created = s.now().UTC()
	}
	err := s.inTx(ctx, func(c conn) error {
		revoked, err := lockFamily(ctx, c, t.FamilyID)
		if err != nil {
			return err
		}
		if revoked {
			return errs.E(op, errs.Conflict, invalidGrant, "The grant was revoked; sign in again.")
		}
		return insertRefresh(ctx, c, op, t)
	})
	return s.d.wrap(op, err, "This refresh token exists already.")
}

func insertRefresh(ctx context.Context, c conn, op string, t token.RefreshToken) error {
	data, err := marshal(op, t)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, status, expires, data)
		VALUES (?, ?, ?, ?, ?)`, t.Hash, t.FamilyID, t.Status, micros(t.Expires), data)
	return err
}

// GetRefreshToken returns the token in whatever state it is; NotFound ("invalid_grant") when
// unknown.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (token.RefreshToken, error) {
	const op = "store.GetRefreshToken"
	t, err := readRefresh(ctx, s.c, op, hash, false)
	return t, s.d.wrap(op, err, "")
}

func readRefresh(ctx context.Context, c conn, op, hash string, lock bool) (token.RefreshToken, error) {
	var t token.RefreshToken
	var status, data string
	q := `SELECT status, data FROM refresh_tokens WHERE hash = ?`
	if lock {
		q = c.forUpdate(q)
	}
	err := c.row(ctx, q, hash).Scan(&status, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return t, errs.E(op, errs.NotFound, invalidGrant, "The refresh token is not valid; sign in again.")
	}
	if err != nil {
		return t, err
	}
	if err := unmarshal(op, data, &t); err != nil {
		return t, err
	}
	t.Status = status
	return t, nil
}

// RotateRefreshToken retires the active token oldHash and stores next in its family, returning
// the old token (now "rotated"). Of many concurrent rotations of one token exactly one wins;
// every later presentation of it is reuse, which revokes the family and fails with Conflict.
// A revoked token gives Unauthenticated, an expired one Expired; all carry "invalid_grant".
// next.FamilyID may be empty (it joins the old token's family) but not another family.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next token.RefreshToken, now time.Time) (token.RefreshToken, error) {
	const op = "store.RotateRefreshToken"
	if next.Created.IsZero() {
		next.Created = s.now().UTC()
	}
	var old token.RefreshToken
	var reused bool
	err := s.inTx(ctx, func(c conn) error {
		var err error
		old, reused, err = rotate(ctx, c, op, oldHash, next, now)
		return err
	})
	if err != nil {
		return token.RefreshToken{}, s.d.wrap(op, err, "The new refresh token exists already.")
	}
	if reused {
		return token.RefreshToken{}, errs.E(op, errs.Conflict, invalidGrant,
			"The refresh token was already used; every token of this sign-in is revoked. Sign in again.")
	}
	return old, nil
}

func rotate(ctx context.Context, c conn, op, oldHash string, next token.RefreshToken, now time.Time) (token.RefreshToken, bool, error) {
	// The family id never changes, so reading it unlocked only to learn which lock to take is safe.
	var familyID string
	err := c.row(ctx, `SELECT family_id FROM refresh_tokens WHERE hash = ?`, oldHash).Scan(&familyID)
	if errors.Is(err, sql.ErrNoRows) {
		return token.RefreshToken{}, false, errs.E(op, errs.NotFound, invalidGrant, "The refresh token is not valid; sign in again.")
	}
	if err != nil {
		return token.RefreshToken{}, false, err
	}
	revoked, err := lockFamily(ctx, c, familyID)
	if err != nil {
		return token.RefreshToken{}, false, err
	}
	old, err := readRefresh(ctx, c, op, oldHash, true)
	if err != nil {
		return old, false, err
	}
	if old.Status == token.RefreshRotated {
		// Reuse, whatever else is true of the family: revoke it (again) and say so.
		return old, true, revokeFamily(ctx, c, familyID)
	}
	if err := checkRotatable(op, old, revoked, now); err != nil {
		return old, false, err
	}
	return old, false, replaceRefresh(ctx, c, op, &old, next)
}

func checkRotatable(op string, old token.RefreshToken, familyRevoked bool, now time.Time) error {
	switch {
	case familyRevoked || old.Status == token.RefreshRevoked:
		return errs.E(op, errs.Unauthenticated, invalidGrant, "The refresh token was revoked; sign in again.")
	case old.Status != token.RefreshActive:
		return errs.Errorf(op, errs.Internal, "refresh token in unknown state %q", old.Status)
	case !now.Before(old.Expires):
		return errs.E(op, errs.Expired, invalidGrant, "The refresh token has expired; sign in again.")
	}
	return nil
}

// replaceRefresh retires old and inserts next in its family, under the family lock.
func replaceRefresh(ctx context.Context, c conn, op string, old *token.RefreshToken, next token.RefreshToken) error {
	if next.FamilyID != "" && next.FamilyID != old.FamilyID {
		return errs.E(op, errs.Invalid, "The new refresh token must belong to the old one's family.")
	}
	next.FamilyID, next.Status = old.FamilyID, token.RefreshActive
	n, err := c.exec(ctx, `UPDATE refresh_tokens SET status = ? WHERE hash = ? AND status = ?`,
		token.RefreshRotated, old.Hash, token.RefreshActive)
	if err != nil {
		return err
	}
	if n != 1 {
		return errs.E(op, errs.Conflict, invalidGrant, "The refresh token was already used.")
	}
	old.Status = token.RefreshRotated
	return insertRefresh(ctx, c, op, next)
}

// UseJTI records key until expires, in one statement: the insert succeeds, or replaces an entry
// that has expired by now, or does nothing — and then the key is in use (Exists). Expired keys
// are purged now and then rather than on every call, to keep the common path to one write.
func (s *Store) UseJTI(ctx context.Context, key string, expires, now time.Time) error {
	const op = "store.UseJTI"
	n, err := s.c.exec(ctx, `INSERT INTO jtis (jti_key, expires) VALUES (?, ?)
		ON CONFLICT (jti_key) DO UPDATE SET expires = excluded.expires WHERE jtis.expires <= ?`,
		key, micros(expires), micros(now))
	if err != nil {
		return s.d.wrap(op, err, "")
	}
	if n == 0 {
		return errs.E(op, errs.Exists, "This client assertion was used already; make a new one for each request.")
	}
	if rand.IntN(64) == 0 {
		_, _ = s.c.exec(ctx, `DELETE FROM jtis WHERE expires <= ?`, micros(now))
	}
	return nil
}
