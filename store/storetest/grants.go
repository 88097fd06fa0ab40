package storetest

import (
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

func newCode(familyID string) token.AuthCode {
	return token.AuthCode{Hash: newID(), TenantID: newID(), ClientID: newID(), RedirectURI: "http://localhost:8400",
		Scope: "openid offline_access", UserID: newID(), CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		AMR: []string{"pwd", "mfa"}, AuthTime: t0, FamilyID: familyID, Expires: t0.Add(5 * time.Minute)}
}

func newRefresh(familyID string) token.RefreshToken {
	return token.RefreshToken{Hash: newID(), FamilyID: familyID, TenantID: newID(), ClientID: newID(),
		UserID: newID(), Scope: "openid", AMR: []string{"fido"}, AuthTime: t0, Created: t0,
		Expires: t0.Add(24 * time.Hour)}
}

func newDevice(status string) token.DeviceCode {
	return token.DeviceCode{Hash: newID(), UserCode: newID()[:9], TenantID: newID(), ClientID: newID(),
		Scope: "openid", Status: status, Interval: 5, Expires: t0.Add(15 * time.Minute)}
}

// wantRefreshStatus fails unless the refresh token hash has the status.
func wantRefreshStatus(t *testing.T, s store.Store, hash, status string) {
	t.Helper()
	got, err := s.GetRefreshToken(ctx(t), hash)
	must(t, err)
	if got.Status != status {
		t.Fatalf("refresh token status: got %q, want %q", got.Status, status)
	}
}

var grantFailures = []Case{
	{"fail/authcode-unknown", func(t *testing.T, s store.Store) {
		_, err := s.RedeemAuthCode(ctx(t), newID(), t0)
		wantGrantError(t, err, errs.NotFound)
	}},
	{"fail/authcode-expired", func(t *testing.T, s store.Store) {
		c := newCode(newID())
		must(t, s.CreateAuthCode(ctx(t), c))
		_, err := s.RedeemAuthCode(ctx(t), c.Hash, c.Expires)
		wantGrantError(t, err, errs.Expired)
		_, err = s.RedeemAuthCode(ctx(t), c.Hash, c.Expires.Add(time.Hour))
		wantGrantError(t, err, errs.Expired)
	}},
	{"fail/authcode-duplicate", func(t *testing.T, s store.Store) {
		c := newCode(newID())
		must(t, s.CreateAuthCode(ctx(t), c))
		wantKind(t, s.CreateAuthCode(ctx(t), c), errs.Exists)
	}},
	{"fail/authcode-replay-revokes-family", func(t *testing.T, s store.Store) {
		c := newCode(newID())
		must(t, s.CreateAuthCode(ctx(t), c))
		_, err := s.RedeemAuthCode(ctx(t), c.Hash, t0)
		must(t, err)
		r := newRefresh(c.FamilyID)
		must(t, s.CreateRefreshToken(ctx(t), r))
		_, err = s.RedeemAuthCode(ctx(t), c.Hash, t0.Add(time.Second))
		wantGrantError(t, err, errs.Conflict)
		wantRefreshStatus(t, s, r.Hash, token.RefreshRevoked)
		// A token the first redemption was still about to store is refused too.
		wantGrantError(t, s.CreateRefreshToken(ctx(t), newRefresh(c.FamilyID)), errs.Conflict)
		_, err = s.RedeemAuthCode(ctx(t), c.Hash, t0.Add(time.Second)) // and stays refused
		wantGrantError(t, err, errs.Conflict)
	}},
	{"fail/refresh-unknown", func(t *testing.T, s store.Store) {
		_, err := s.RotateRefreshToken(ctx(t), newID(), newRefresh(""), t0)
		wantGrantError(t, err, errs.NotFound)
		_, err = s.GetRefreshToken(ctx(t), newID())
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/refresh-duplicate", func(t *testing.T, s store.Store) {
		r := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r))
		wantKind(t, s.CreateRefreshToken(ctx(t), r), errs.Exists)
	}},
	{"fail/refresh-expired", func(t *testing.T, s store.Store) {
		r := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r))
		_, err := s.RotateRefreshToken(ctx(t), r.Hash, newRefresh(r.FamilyID), r.Expires)
		wantGrantError(t, err, errs.Expired)
		wantRefreshStatus(t, s, r.Hash, token.RefreshActive)
	}},
	{"fail/refresh-revoked", func(t *testing.T, s store.Store) {
		r := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r))
		must(t, s.RevokeRefreshFamily(ctx(t), r.FamilyID))
		wantRefreshStatus(t, s, r.Hash, token.RefreshRevoked)
		_, err := s.RotateRefreshToken(ctx(t), r.Hash, newRefresh(r.FamilyID), t0)
		wantGrantError(t, err, errs.Unauthenticated)
		wantGrantError(t, s.CreateRefreshToken(ctx(t), newRefresh(r.FamilyID)), errs.Conflict)
	}},
	{"fail/refresh-reuse-revokes-family", func(t *testing.T, s store.Store) {
		r1 := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r1))
		r2 := newRefresh(r1.FamilyID)
		_, err := s.RotateRefreshToken(ctx(t), r1.Hash, r2, t0)
		must(t, err)
		r3 := newRefresh(r1.FamilyID)
		_, err = s.RotateRefreshToken(ctx(t), r1.Hash, r3, t0)
		wantGrantError(t, err, errs.Conflict)
		wantRefreshStatus(t, s, r2.Hash, token.RefreshRevoked)
		_, err = s.GetRefreshToken(ctx(t), r3.Hash)
		wantKind(t, err, errs.NotFound)
		_, err = s.RotateRefreshToken(ctx(t), r1.Hash, newRefresh(""), t0) // reuse stays reuse
		wantGrantError(t, err, errs.Conflict)
		_, err = s.RotateRefreshToken(ctx(t), r2.Hash, newRefresh(""), t0)
		wantGrantError(t, err, errs.Unauthenticated)
	}},
	{"fail/refresh-next-in-another-family", func(t *testing.T, s store.Store) {
		r := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r))
		_, err := s.RotateRefreshToken(ctx(t), r.Hash, newRefresh(newID()), t0)
		wantKind(t, err, errs.Invalid)
		wantRefreshStatus(t, s, r.Hash, token.RefreshActive)
	}},
	{"fail/jti-reuse", func(t *testing.T, s store.Store) {
		key := "https://issuer.test|" + newID()
		must(t, s.UseJTI(ctx(t), key, t0.Add(5*time.Minute), t0))
		wantKind(t, s.UseJTI(ctx(t), key, t0.Add(10*time.Minute), t0.Add(time.Minute)), errs.Exists)
		wantKind(t, s.UseJTI(ctx(t), key, t0.Add(10*time.Minute), t0.Add(5*time.Minute-time.Microsecond)), errs.Exists)
	}},
	{"fail/device-code-unknown", func(t *testing.T, s store.Store) {
		_, err := s.GetDeviceCodeByUserCode(ctx(t), "NOPE-NOPE")
		wantKind(t, err, errs.NotFound)
		_, err = s.UpdateDeviceCode(ctx(t), newID(), func(d token.DeviceCode) (token.DeviceCode, error) { return d, nil })
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/device-code-duplicate", func(t *testing.T, s store.Store) {
		d := newDevice(token.DevicePending)
		must(t, s.CreateDeviceCode(ctx(t), d))
		wantKind(t, s.CreateDeviceCode(ctx(t), d), errs.Exists)
		other := newDevice(token.DevicePending)
		other.UserCode = d.UserCode
		wantKind(t, s.CreateDeviceCode(ctx(t), other), errs.Exists)
	}},
	{"fail/device-code-fn-error", func(t *testing.T, s store.Store) {
		d := newDevice(token.DevicePending)
		must(t, s.CreateDeviceCode(ctx(t), d))
		_, err := s.UpdateDeviceCode(ctx(t), d.Hash, func(d token.DeviceCode) (token.DeviceCode, error) {
			d.Status = token.DeviceDenied
			return d, errFromFn
		})
		if err != errFromFn {
			t.Fatalf("got %v, want the function's own error", err)
		}
		got, err := s.GetDeviceCodeByUserCode(ctx(t), d.UserCode)
		must(t, err)
		if got.Status != token.DevicePending || got.Version != 1 {
			t.Fatalf("aborted update changed the code: %+v", got)
		}
	}},
}

var grantOK = []Case{
	{"ok/authcode-redeem", func(t *testing.T, s store.Store) {
		c := newCode(newID())
		must(t, s.CreateAuthCode(ctx(t), c))
		got, err := s.RedeemAuthCode(ctx(t), c.Hash, c.Expires.Add(-time.Microsecond))
		must(t, err)
		if !got.Used || got.FamilyID != c.FamilyID || got.CodeChallenge != c.CodeChallenge ||
			len(got.AMR) != 2 || !got.AuthTime.Equal(c.AuthTime) {
			t.Fatalf("got %+v, want %+v used", got, c)
		}
	}},
	{"ok/refresh-rotate", func(t *testing.T, s store.Store) {
		r1 := newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), r1))
		wantRefreshStatus(t, s, r1.Hash, token.RefreshActive)
		r2 := newRefresh("") // joins r1's family
		old, err := s.RotateRefreshToken(ctx(t), r1.Hash, r2, t0)
		must(t, err)
		if old.Hash != r1.Hash || old.Status != token.RefreshRotated || old.UserID != r1.UserID {
			t.Fatalf("rotate returned %+v, want r1 rotated", old)
		}
		got, err := s.GetRefreshToken(ctx(t), r2.Hash)
		must(t, err)
		if got.FamilyID != r1.FamilyID || got.Status != token.RefreshActive || !got.Expires.Equal(r2.Expires) {
			t.Fatalf("next token: %+v", got)
		}
		_, err = s.RotateRefreshToken(ctx(t), r2.Hash, newRefresh(r1.FamilyID), t0.Add(time.Hour))
		must(t, err)
	}},
	{"ok/refresh-revoke-unknown-family", func(t *testing.T, s store.Store) {
		must(t, s.RevokeRefreshFamily(ctx(t), newID()))
	}},
	{"ok/refresh-families-independent", func(t *testing.T, s store.Store) {
		a, b := newRefresh(newID()), newRefresh(newID())
		must(t, s.CreateRefreshToken(ctx(t), a))
		must(t, s.CreateRefreshToken(ctx(t), b))
		must(t, s.RevokeRefreshFamily(ctx(t), a.FamilyID))
		wantRefreshStatus(t, s, b.Hash, token.RefreshActive)
	}},
	{"ok/jti-after-expiry", func(t *testing.T, s store.Store) {
		key := "https://issuer.test|" + newID()
		must(t, s.UseJTI(ctx(t), key, t0.Add(5*time.Minute), t0))
		must(t, s.UseJTI(ctx(t), key, t0.Add(10*time.Minute), t0.Add(5*time.Minute)))
		wantKind(t, s.UseJTI(ctx(t), key, t0.Add(20*time.Minute), t0.Add(9*time.Minute)), errs.Exists)
		must(t, s.UseJTI(ctx(t), "https://issuer.test|"+newID(), t0.Add(5*time.Minute), t0))
	}},
	{"ok/device-code-flow", deviceCodeFlow},
}

func deviceCodeFlow(t *testing.T, s store.Store) {
	d := newDevice("")
	must(t, s.CreateDeviceCode(ctx(t), d))
	got, err := s.GetDeviceCodeByUserCode(ctx(t), d.UserCode)
	must(t, err)
	if got.Hash != d.Hash || got.Status != token.DevicePending || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	user := newID()
	upd, err := s.UpdateDeviceCode(ctx(t), d.Hash, func(d token.DeviceCode) (token.DeviceCode, error) {
		d.Status, d.UserID, d.AuthTime = token.DeviceApproved, user, t0
		d.Hash, d.UserCode = "changed", "changed" // neither may change
		return d, nil
	})
	must(t, err)
	if upd.Version != 2 || upd.Hash != d.Hash || upd.UserCode != d.UserCode || upd.Status != token.DeviceApproved {
		t.Fatalf("update: %+v", upd)
	}
	got, err = s.GetDeviceCodeByUserCode(ctx(t), d.UserCode)
	must(t, err)
	if got.UserID != user || got.Version != 2 || !got.AuthTime.Equal(t0) {
		t.Fatalf("after approval: %+v", got)
	}
	// Once the first code is no longer pending, its user code may be handed out again.
	again := newDevice(token.DevicePending)
	again.UserCode = d.UserCode
	must(t, s.CreateDeviceCode(ctx(t), again))
	got, err = s.GetDeviceCodeByUserCode(ctx(t), d.UserCode)
	must(t, err)
	if got.Hash != again.Hash {
		t.Fatalf("lookup by user code found %+v, want the pending one", got)
	}
}
