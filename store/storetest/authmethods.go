package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// am is the store's authentication-method side.
func am(t *testing.T, s store.Store) store.AuthMethodStore {
	t.Helper()
	a, ok := any(s).(store.AuthMethodStore)
	if !ok {
		t.Fatalf("%T does not implement store.AuthMethodStore", s)
	}
	return a
}

func newPasskey(tenantID, userID string) authn.Passkey {
	cred := []byte(newID())
	return authn.Passkey{ID: newID(), TenantID: tenantID, UserID: userID, DisplayName: "YubiKey",
		CredentialID: cred, PublicKey: []byte{0xa5, 0x01, 0x02}, AttestationType: "packed:self",
		AAGUID: bytes.Repeat([]byte{7}, 16), SignCount: 3, BackupEligible: true,
		Transports: []string{"usb", "nfc"}, Method: authn.MethodFIDO2}
}

func newTOTPMethod(tenantID, userID string) authn.TOTPMethod {
	return authn.TOTPMethod{ID: newID(), TenantID: tenantID, UserID: userID, DisplayName: "alice@contoso.test",
		Secret: []byte("12345678901234567890")}
}

func newChallenge(tenantID string, expires time.Time) authn.Challenge {
	return authn.Challenge{ID: newID(), TenantID: tenantID, UserID: newID(), Purpose: "login",
		Data: []byte(`{"challenge":"abc"}`), Expires: expires}
}

func newSession(tenantID, userID string) authn.Session {
	return authn.Session{ID: newID(), TenantID: tenantID, UserID: userID, AMR: []string{"fido", "mfa"},
		Methods: []string{authn.MethodFIDO2}, AuthTime: t0, LastSeen: t0, Expires: t0.Add(12 * time.Hour)}
}

var authMethodFailures = []Case{
	{"fail/passkey-credential-id-taken-by-another-user", func(t *testing.T, s store.Store) {
		a := am(t, s)
		p := newPasskey(newID(), newID())
		must(t, a.CreatePasskey(ctx(t), p))
		q := newPasskey(p.TenantID, newID())
		q.CredentialID = p.CredentialID
		wantKind(t, a.CreatePasskey(ctx(t), q), errs.Exists)
		list, err := a.ListPasskeys(ctx(t), q.TenantID, q.UserID)
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("the refused passkey was stored: %v", list)
		}
	}},
	{"fail/passkey-unknown-credential-id", func(t *testing.T, s store.Store) {
		a := am(t, s)
		p := newPasskey(newID(), newID())
		must(t, a.CreatePasskey(ctx(t), p))
		_, err := a.GetPasskeyByCredentialID(ctx(t), p.TenantID, []byte("no such credential"))
		wantKind(t, err, errs.NotFound)
		_, err = a.GetPasskeyByCredentialID(ctx(t), newID(), p.CredentialID) // another tenant's
		wantKind(t, err, errs.NotFound)
		_, err = a.GetPasskeyByCredentialID(ctx(t), p.TenantID, nil)
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/passkey-update-delete-missing", func(t *testing.T, s store.Store) {
		a := am(t, s)
		_, err := a.UpdatePasskey(ctx(t), newID(), newID(), func(p authn.Passkey) (authn.Passkey, error) { return p, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, a.DeletePasskey(ctx(t), newID(), newID()), errs.NotFound)
	}},
	{"fail/totp-update-delete-missing", func(t *testing.T, s store.Store) {
		a := am(t, s)
		_, err := a.UpdateTOTP(ctx(t), newID(), newID(), func(m authn.TOTPMethod) (authn.TOTPMethod, error) { return m, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, a.DeleteTOTP(ctx(t), newID(), newID()), errs.NotFound)
	}},
	{"fail/totp-update-fn-error-writes-nothing", func(t *testing.T, s store.Store) {
		a := am(t, s)
		m := newTOTPMethod(newID(), newID())
		must(t, a.CreateTOTP(ctx(t), m))
		boom := errors.New("replay")
		_, err := a.UpdateTOTP(ctx(t), m.TenantID, m.ID, func(m authn.TOTPMethod) (authn.TOTPMethod, error) {
			m.LastStep = 99
			return m, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want fn's error unchanged", err)
		}
		list, err := a.ListTOTP(ctx(t), m.TenantID, m.UserID)
		must(t, err)
		if len(list) != 1 || list[0].LastStep != 0 || list[0].Version != 1 {
			t.Fatalf("a failed update wrote: %+v", list)
		}
	}},
	{"fail/challenge-unknown", func(t *testing.T, s store.Store) {
		_, err := am(t, s).ConsumeChallenge(ctx(t), newID(), newID(), t0)
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/challenge-used-twice", func(t *testing.T, s store.Store) {
		a := am(t, s)
		c := newChallenge(newID(), t0.Add(time.Minute))
		must(t, a.CreateChallenge(ctx(t), c))
		_, err := a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0)
		must(t, err)
		_, err = a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0)
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/challenge-expired-and-gone", func(t *testing.T, s store.Store) {
		a := am(t, s)
		c := newChallenge(newID(), t0)
		must(t, a.CreateChallenge(ctx(t), c))
		_, err := a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0) // at Expires: over
		wantKind(t, err, errs.Expired)
		_, err = a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0.Add(-time.Hour))
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/challenge-other-tenant", func(t *testing.T, s store.Store) {
		a := am(t, s)
		c := newChallenge(newID(), t0.Add(time.Minute))
		must(t, a.CreateChallenge(ctx(t), c))
		_, err := a.ConsumeChallenge(ctx(t), newID(), c.ID, t0)
		wantKind(t, err, errs.NotFound)
		_, err = a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0) // still there for its own tenant
		must(t, err)
	}},
	{"fail/challenge-duplicate-id", func(t *testing.T, s store.Store) {
		a := am(t, s)
		c := newChallenge(newID(), t0.Add(time.Minute))
		must(t, a.CreateChallenge(ctx(t), c))
		wantKind(t, a.CreateChallenge(ctx(t), c), errs.Exists)
	}},
	{"fail/attempts-fn-error-writes-nothing", func(t *testing.T, s store.Store) {
		a := am(t, s)
		tid, key := newID(), "password:account:"+newID()
		boom := errors.New("locked")
		_, err := a.UpdateAttempts(ctx(t), tid, key, func(c authn.AttemptCounter) (authn.AttemptCounter, error) {
			c.Failures = 5
			return c, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want fn's error unchanged", err)
		}
		c, err := a.UpdateAttempts(ctx(t), tid, key, func(c authn.AttemptCounter) (authn.AttemptCounter, error) { return c, nil })
		must(t, err)
		if c.Failures != 0 || c.Version != 1 {
			t.Fatalf("a refused first update was stored: %+v", c)
		}
	}},
	{"fail/session-unknown", func(t *testing.T, s store.Store) {
		a := am(t, s)
		_, err := a.GetSession(ctx(t), newID())
		wantKind(t, err, errs.NotFound)
		_, err = a.UpdateSession(ctx(t), newID(), func(x authn.Session) (authn.Session, error) { return x, nil })
		wantKind(t, err, errs.NotFound)
		wantKind(t, a.DeleteSession(ctx(t), newID()), errs.NotFound)
	}},
	{"fail/session-deleted-is-gone", func(t *testing.T, s store.Store) {
		a := am(t, s)
		x := newSession(newID(), newID())
		must(t, a.CreateSession(ctx(t), x))
		wantKind(t, a.CreateSession(ctx(t), x), errs.Exists)
		must(t, a.DeleteSession(ctx(t), x.ID))
		_, err := a.GetSession(ctx(t), x.ID)
		wantKind(t, err, errs.NotFound)
	}},
}
