package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

var authMethodOK = []Case{
	{"ok/passkey-round-trip", passkeyRoundTrip},
	{"ok/passkey-same-credential-in-two-tenants", func(t *testing.T, s store.Store) {
		a := am(t, s)
		p := newPasskey(newID(), newID())
		must(t, a.CreatePasskey(ctx(t), p))
		q := newPasskey(newID(), newID())
		q.CredentialID = p.CredentialID
		must(t, a.CreatePasskey(ctx(t), q))
		got, err := a.GetPasskeyByCredentialID(ctx(t), q.TenantID, q.CredentialID)
		must(t, err)
		if got.ID != q.ID {
			t.Fatalf("got passkey %s, want the second tenant's %s", got.ID, q.ID)
		}
	}},
	{"ok/passkey-update-delete", func(t *testing.T, s store.Store) {
		a := am(t, s)
		p := newPasskey(newID(), newID())
		must(t, a.CreatePasskey(ctx(t), p))
		got, err := a.UpdatePasskey(ctx(t), p.TenantID, p.ID, func(p authn.Passkey) (authn.Passkey, error) {
			p.SignCount, p.DisplayName, p.TenantID = 9, "Work key", newID() // the tenant change is ignored
			return p, nil
		})
		must(t, err)
		if got.SignCount != 9 || got.DisplayName != "Work key" || got.TenantID != p.TenantID || got.Version != 2 {
			t.Fatalf("update gave %+v", got)
		}
		must(t, a.DeletePasskey(ctx(t), p.TenantID, p.ID))
		_, err = a.GetPasskeyByCredentialID(ctx(t), p.TenantID, p.CredentialID)
		wantKind(t, err, errs.NotFound)
		must(t, a.CreatePasskey(ctx(t), p)) // the credential id is free again
	}},
	{"ok/totp-round-trip", func(t *testing.T, s store.Store) {
		a := am(t, s)
		m := newTOTPMethod(newID(), newID())
		must(t, a.CreateTOTP(ctx(t), m))
		must(t, a.CreateTOTP(ctx(t), newTOTPMethod(m.TenantID, newID()))) // someone else's
		got, err := a.UpdateTOTP(ctx(t), m.TenantID, m.ID, func(m authn.TOTPMethod) (authn.TOTPMethod, error) {
			m.LastStep, m.Confirmed = 42, true
			return m, nil
		})
		must(t, err)
		list, err := a.ListTOTP(ctx(t), m.TenantID, m.UserID)
		must(t, err)
		if len(list) != 1 || !bytes.Equal(list[0].Secret, m.Secret) || list[0].LastStep != 42 || !list[0].Confirmed || got.Version != 2 {
			t.Fatalf("list gave %+v", list)
		}
		must(t, a.DeleteTOTP(ctx(t), m.TenantID, m.ID))
		if list, _ := a.ListTOTP(ctx(t), m.TenantID, m.UserID); len(list) != 0 {
			t.Fatalf("deleted method still listed: %+v", list)
		}
	}},
	{"ok/challenge-consumed-once-with-its-data", func(t *testing.T, s store.Store) {
		a := am(t, s)
		c := newChallenge(newID(), t0.Add(time.Minute))
		must(t, a.CreateChallenge(ctx(t), c))
		got, err := a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0.Add(time.Minute-time.Microsecond))
		must(t, err)
		if got.UserID != c.UserID || got.Purpose != c.Purpose || !bytes.Equal(got.Data, c.Data) || !got.Expires.Equal(c.Expires) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
	}},
	{"ok/attempts-count-and-expire", attemptsCountAndExpire},
	{"ok/session-round-trip", sessionRoundTrip},
}

func passkeyRoundTrip(t *testing.T, s store.Store) {
	a := am(t, s)
	p := newPasskey(newID(), newID())
	must(t, a.CreatePasskey(ctx(t), p))
	p2 := newPasskey(p.TenantID, p.UserID)
	p2.Method = authn.MethodDeviceKey
	must(t, a.CreatePasskey(ctx(t), p2))
	must(t, a.CreatePasskey(ctx(t), newPasskey(p.TenantID, newID()))) // another user's
	got, err := a.GetPasskeyByCredentialID(ctx(t), p.TenantID, p.CredentialID)
	must(t, err)
	if got.ID != p.ID || !bytes.Equal(got.PublicKey, p.PublicKey) || got.SignCount != 3 || !got.BackupEligible ||
		!slices.Equal(got.Transports, p.Transports) || got.Version != 1 || got.Created.IsZero() {
		t.Fatalf("got %+v, want %+v", got, p)
	}
	list, err := a.ListPasskeys(ctx(t), p.TenantID, p.UserID)
	must(t, err)
	if len(list) != 2 || list[0].ID != p.ID || list[1].Method != authn.MethodDeviceKey {
		t.Fatalf("list gave %d passkeys: %+v", len(list), list)
	}
}

// attemptsCountAndExpire checks creation, counting, and that counters whose Expires is past
// are deleted when a new counter is created later.
func attemptsCountAndExpire(t *testing.T, s store.Store) {
	a := am(t, s)
	tid := newID()
	bump := func(now time.Time) func(authn.AttemptCounter) (authn.AttemptCounter, error) {
		return func(c authn.AttemptCounter) (authn.AttemptCounter, error) {
			if c.WindowStart.IsZero() {
				c.WindowStart = now
			}
			c.Failures++
			c.Expires = c.WindowStart.Add(time.Hour)
			return c, nil
		}
	}
	old := "password:account:" + newID()
	for range 3 {
		_, err := a.UpdateAttempts(ctx(t), tid, old, bump(t0))
		must(t, err)
	}
	c, err := a.UpdateAttempts(ctx(t), tid, old, bump(t0))
	must(t, err)
	if c.Failures != 4 || c.Version != 4 || c.Key != old || c.TenantID != tid {
		t.Fatalf("counter: %+v", c)
	}
	_, err = a.UpdateAttempts(ctx(t), tid, "password:account:"+newID(), bump(t0.Add(2*time.Hour)))
	must(t, err)
	c, err = a.UpdateAttempts(ctx(t), tid, old, func(c authn.AttemptCounter) (authn.AttemptCounter, error) { return c, errors.New("peek") })
	if err == nil || c.Failures != 0 {
		t.Fatalf("peek: %+v %v", c, err)
	}
	c, err = a.UpdateAttempts(ctx(t), tid, old, bump(t0.Add(2*time.Hour)))
	must(t, err)
	if c.Failures != 1 || c.Version != 1 {
		t.Fatalf("the expired counter survived: %+v", c)
	}
}

func sessionRoundTrip(t *testing.T, s store.Store) {
	a := am(t, s)
	x := newSession(newID(), newID())
	must(t, a.CreateSession(ctx(t), x))
	must(t, a.CreateSession(ctx(t), newSession(x.TenantID, x.UserID)))
	must(t, a.CreateSession(ctx(t), newSession(x.TenantID, newID())))
	got, err := a.GetSession(ctx(t), x.ID)
	must(t, err)
	if got.TenantID != x.TenantID || got.UserID != x.UserID || !slices.Equal(got.AMR, x.AMR) || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	got, err = a.UpdateSession(ctx(t), x.ID, func(x authn.Session) (authn.Session, error) {
		x.Pending, x.LastSeen, x.TenantID, x.UserID = "", t0.Add(time.Minute), newID(), newID()
		return x, nil
	})
	must(t, err)
	if got.TenantID != x.TenantID || got.UserID != x.UserID || !got.LastSeen.Equal(t0.Add(time.Minute)) || got.Version != 2 {
		t.Fatalf("update moved the session or lost the change: %+v", got)
	}
	list, err := a.ListSessions(ctx(t), x.TenantID, x.UserID)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("got %d sessions for the user, want 2", len(list))
	}
}

var authMethodConcurrency = []Case{
	{"concurrency/challenge-consume-50-one-wins", challengeRace},
	{"concurrency/totp-step-50-one-wins", totpStepRace},
	{"concurrency/attempts-create-50-no-lost-update", attemptsRace},
}

func challengeRace(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	a := am(t, s)
	for range rounds {
		c := newChallenge(newID(), t0.Add(time.Minute))
		must(t, a.CreateChallenge(ctx(t), c))
		res := race(n, func(int) error {
			_, err := a.ConsumeChallenge(ctx(t), c.TenantID, c.ID, t0)
			return err
		})
		wantTally(t, res, map[string]int{"ok": 1, "not found": n - 1})
	}
}

var errStepUsed = errors.New("time step used")

func totpStepRace(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	a := am(t, s)
	for range rounds {
		m := newTOTPMethod(newID(), newID())
		must(t, a.CreateTOTP(ctx(t), m))
		res := race(n, func(int) error {
			_, err := a.UpdateTOTP(ctx(t), m.TenantID, m.ID, func(m authn.TOTPMethod) (authn.TOTPMethod, error) {
				if m.LastStep >= 1000 {
					return m, errStepUsed
				}
				m.LastStep = 1000
				return m, nil
			})
			return err
		})
		won := 0
		for _, err := range res {
			if err == nil {
				won++
			} else if !errors.Is(err, errStepUsed) {
				t.Fatalf("an acceptance failed otherwise: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d requests accepted one time step, want exactly 1", won)
		}
	}
}

func attemptsRace(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	a := am(t, s)
	tid, key := newID(), "password:address:192.0.2."+newID()
	res := race(n, func(int) error {
		_, err := a.UpdateAttempts(ctx(t), tid, key, func(c authn.AttemptCounter) (authn.AttemptCounter, error) {
			c.Failures++
			return c, nil
		})
		return err
	})
	wantTally(t, res, map[string]int{"ok": n})
	c, err := a.UpdateAttempts(ctx(t), tid, key, func(c authn.AttemptCounter) (authn.AttemptCounter, error) { return c, nil })
	must(t, err)
	if c.Failures != n {
		t.Fatalf("got %d failures counted, want %d", c.Failures, n)
	}
}
