package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// invalidGrant is the OAuth error the token endpoint shows for every failed code or refresh
// token: unknown, expired, used or revoked (RFC 6749 §5.2).
const invalidGrant = errs.Code("invalid_grant")

// CreateAuthCode stores an unused code; Exists when the hash is taken.
func (s *Store) CreateAuthCode(ctx context.Context, c token.AuthCode) error {
	const op = "store.CreateAuthCode"
	c.Used = false
	data, err := marshal(op, c)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO auth_codes (hash, tenant_id, family_id, used, expires, data)
		VALUES (?, ?, ?, 0, ?, ?)`, c.Hash, c.TenantID, c.FamilyID, micros(c.Expires), data)
	if err != nil {
		return s.d.wrap(op, err, "This authorization code exists already.")
	}
	return nil
}

// RedeemAuthCode marks the code used and returns it, exactly once across all callers. The code
// row stays locked from the read to the write, so concurrent redeemers queue behind the first
// and find it used. A used code is a replay: the code's refresh family is revoked in the same
// transaction and Conflict returned. All failures carry the code "invalid_grant".
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time) (token.AuthCode, error) {
	const op = "store.RedeemAuthCode"
	var code token.AuthCode
	var replay bool
	err := s.inTx(ctx, func(c conn) error {
		var err error
		code, replay, err = redeemCode(ctx, c, op, hash, now)
		return err
	})
	if err != nil {
		return token.AuthCode{}, s.d.wrap(op, err, "")
	}
	if replay {
		return token.AuthCode{}, errs.E(op, errs.Conflict, invalidGrant,
			"The authorization code was already redeemed; the tokens issued for it are revoked.")
	}
	return code, nil
}

func redeemCode(ctx context.Context, c conn, op, hash string, now time.Time) (token.AuthCode, bool, error) {
	var code token.AuthCode
	var used int
	var data string
	err := c.row(ctx, c.forUpdate(`SELECT used, data FROM auth_codes WHERE hash = ?`), hash).Scan(&used, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return code, false, errs.E(op, errs.NotFound, invalidGrant, "The authorization code is not valid.")
	}
	if err != nil {
		return code, false, err
	}
	if err := unmarshal(op, data, &code); err != nil {
		return code, false, err
	}
	if used == 1 {
		return code, true, revokeFamily(ctx, c, code.FamilyID)
	}
	if !now.Before(code.Expires) {
		return code, false, errs.E(op, errs.Expired, invalidGrant, "The authorization code has expired; sign in again.")
	}
	n, err := c.exec(ctx, `UPDATE auth_codes SET used = 1 WHERE hash = ? AND used = 0`, hash)
	if err == nil && n != 1 {
		err = errs.E(op, errs.Conflict, invalidGrant, "The authorization code was already redeemed.")
	}
	code.Used = true
	return code, false, err
}

// CreateDeviceCode stores d with Version 1 (status "pending" when empty); Exists when the hash
// is taken or another pending code has the same user code.
func (s *Store) CreateDeviceCode(ctx context.Context, d token.DeviceCode) error {
	const op = "store.CreateDeviceCode"
	if d.Status == "" {
		d.Status = token.DevicePending
	}
	d.Version = 1
	data, err := marshal(op, d)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO device_codes (hash, user_code, status, version, expires, data)
		VALUES (?, ?, ?, 1, ?, ?)`, d.Hash, d.UserCode, d.Status, micros(d.Expires), data)
	if err != nil {
		return s.d.wrap(op, err, "This device code or user code is in use already.")
	}
	return nil
}

// GetDeviceCodeByUserCode finds the code a person typed (exact match), preferring a pending one
// when an old code had the same user code. Expiry is the caller's to judge. NotFound when none.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCode string) (token.DeviceCode, error) {
	const op = "store.GetDeviceCodeByUserCode"
	d, err := scanDevice(op, s.c.row(ctx, `SELECT data, version FROM device_codes WHERE user_code = ?
		ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, expires DESC LIMIT 1`, userCode))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errs.E(op, errs.NotFound, "The code you entered is not valid; check it and try again.")
	}
	if err != nil {
		return d, s.d.wrap(op, err, "")
	}
	return d, nil
}

func scanDevice(op string, sc interface{ Scan(...any) error }) (token.DeviceCode, error) {
	var d token.DeviceCode
	var data string
	var version int64
	if err := sc.Scan(&data, &version); err != nil {
		return d, err
	}
	if err := unmarshal(op, data, &d); err != nil {
		return d, err
	}
	d.Version = version
	return d, nil
}

// UpdateDeviceCode is compare-and-swap on Version: of many pollers that each move an approved
// code to redeemed, exactly one writes; the others' fn sees "redeemed" on its next run. Hash and
// UserCode cannot change. NotFound when there is no such code.
func (s *Store) UpdateDeviceCode(ctx context.Context, hash string, fn func(token.DeviceCode) (token.DeviceCode, error)) (token.DeviceCode, error) {
	const op = "store.UpdateDeviceCode"
	for range maxCASAttempts {
		old, err := scanDevice(op, s.c.row(ctx, `SELECT data, version FROM device_codes WHERE hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
			return old, errs.E(op, errs.NotFound, invalidGrant, "The device code is not valid.")
		}
		if err != nil {
			return old, s.d.wrap(op, err, "")
		}
		nv, err := fn(old)
		if err != nil {
			return token.DeviceCode{}, err
		}
		if ok, err := s.swapDevice(ctx, op, old, &nv); err != nil || ok {
			return nv, err
		}
	}
	return token.DeviceCode{}, errs.E(op, errs.Conflict, "The device code is being changed too often; try again.")
}

func (s *Store) swapDevice(ctx context.Context, op string, old token.DeviceCode, nv *token.DeviceCode) (bool, error) {
	nv.Hash, nv.UserCode, nv.Version = old.Hash, old.UserCode, old.Version+1
	data, err := marshal(op, *nv)
	if err != nil {
		return false, err
	}
	n, err := s.c.exec(ctx, `UPDATE device_codes SET status = ?, version = ?, expires = ?, data = ?
		WHERE hash = ? AND version = ?`, nv.Status, nv.Version, micros(nv.Expires), data, old.Hash, old.Version)
	if err != nil {
		return false, s.d.wrap(op, err, "Another pending device code has this user code.")
	}
	return n == 1, nil
}
