package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

const (
	testRPID   = "login.contoso.test"
	testOrigin = "https://login.contoso.test"
	testTenant = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
)

// passkeyEnv is one relying party with two users, each with a software authenticator.
type passkeyEnv struct {
	t          *testing.T
	pk         *Passkeys
	st         *memStore
	clock      *fakeClock
	alice, bob directory.User
	aliceKey   *authenticator
	bobKey     *authenticator
	users      map[string]directory.User
}

func newPasskeyEnv(t *testing.T) *passkeyEnv {
	st := newMemStore()
	clock := &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	pk, err := NewPasskeys(PasskeyConfig{RPID: testRPID, RPDisplayName: "Latch", Origins: []string{testOrigin}}, st, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &passkeyEnv{t: t, pk: pk, st: st, clock: clock, aliceKey: newAuthenticator(t), bobKey: newAuthenticator(t),
		alice: directory.User{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", TenantID: testTenant,
			UserPrincipalName: "alice@contoso.test", DisplayName: "Alice", AccountEnabled: true},
		bob: directory.User{ID: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", TenantID: testTenant,
			UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", AccountEnabled: true}}
	e.users = map[string]directory.User{e.alice.ID: e.alice, e.bob.ID: e.bob}
	return e
}

func (e *passkeyEnv) lookup(_ context.Context, handle []byte) (directory.User, error) {
	u, ok := e.users[string(handle)]
	if !ok {
		return u, errs.E("test.lookup", errs.NotFound, "no such user")
	}
	return u, nil
}

// tryRegister runs a whole registration for u with a; muts change the response.
func (e *passkeyEnv) tryRegister(u directory.User, a *authenticator, muts ...mutation) (Passkey, error) {
	opts, id, err := e.pk.BeginRegistration(e.t.Context(), u)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.pk.FinishRegistration(e.t.Context(), u, id, a.register(e.t, opts, muts...), "Test key")
}

func (e *passkeyEnv) mustRegister(u directory.User, a *authenticator, muts ...mutation) Passkey {
	p, err := e.tryRegister(u, a, muts...)
	if err != nil {
		e.t.Fatalf("registration: %v", err)
	}
	return p
}

// tryLogin runs a whole sign-in: by name when byName, else discoverable (sending the user
// handle of a's owner).
func (e *passkeyEnv) tryLogin(u directory.User, a *authenticator, byName bool, muts ...mutation) (directory.User, Passkey, error) {
	var named *directory.User
	if byName {
		named = &u
	}
	opts, id, err := e.pk.BeginLogin(e.t.Context(), testTenant, named)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.pk.FinishLogin(e.t.Context(), testTenant, id, a.login(e.t, opts, []byte(u.ID), muts...), e.lookup)
}

func TestPasskeyConfigRefusals(t *testing.T) {
	st := newMemStore()
	for name, cfg := range map[string]PasskeyConfig{
		"fail/no-origin":       {RPID: testRPID, RPDisplayName: "Latch"},
		"fail/no-display-name": {RPID: testRPID, Origins: []string{testOrigin}},
		"fail/no-rp-id":        {RPDisplayName: "Latch", Origins: []string{testOrigin}},
		"fail/rp-id-is-an-ip":  {RPID: "127.0.0.1", RPDisplayName: "Latch", Origins: []string{"https://127.0.0.1"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPasskeys(cfg, st, nil); !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
		})
	}
}

func TestPasskeyOptions(t *testing.T) {
	e := newPasskeyEnv(t)
	opts, _, err := e.pk.BeginRegistration(t.Context(), e.alice)
	if err != nil {
		t.Fatal(err)
	}
	o := readOptions(t, opts)
	if o.PublicKey.RP.ID != testRPID || o.PublicKey.AuthenticatorSelection.UserVerification != "required" ||
		o.PublicKey.AuthenticatorSelection.ResidentKey != "preferred" || o.PublicKey.User.ID != b64.EncodeToString([]byte(e.alice.ID)) {
		t.Fatalf("creation options: %s", opts)
	}
	e.mustRegister(e.alice, e.aliceKey)
	opts2, _, _ := e.pk.BeginRegistration(t.Context(), e.alice)
	if readOptions(t, opts2).PublicKey.Challenge == o.PublicKey.Challenge {
		t.Fatal("two ceremonies got the same challenge")
	}
	opts, _, err = e.pk.BeginLogin(t.Context(), testTenant, &e.alice)
	if err != nil {
		t.Fatal(err)
	}
	lo := readOptions(t, opts)
	if lo.PublicKey.UserVerification != "required" || len(lo.PublicKey.AllowCredentials) != 1 ||
		lo.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(e.aliceKey.credID) {
		t.Fatalf("request options by name: %s", opts)
	}
	opts, _, _ = e.pk.BeginLogin(t.Context(), testTenant, nil)
	if lo := readOptions(t, opts); len(lo.PublicKey.AllowCredentials) != 0 || lo.PublicKey.UserVerification != "required" {
		t.Fatalf("discoverable request options: %s", opts)
	}
	_, _, err = e.pk.BeginLogin(t.Context(), testTenant, &e.bob)
	if !errs.Is(err, errs.NotFound) || errs.CodeOf(err) != CodeNoPasskey {
		t.Fatalf("fail/by-name-without-passkey: got %v", err)
	}
}

// passkeyCase is one ceremony test: run returns the ceremony's outcome; a fail/ case wants
// an error of kind want (and never Internal, which would be a fault of ours).
type passkeyCase struct {
	name string
	want errs.Kind
	run  func(e *passkeyEnv) error
}

func TestPasskeyCeremonies(t *testing.T) {
	cases := append(append(append([]passkeyCase{}, registrationFailures()...), loginFailures()...), passkeyOK()...)
	fails := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newPasskeyEnv(t)
			err := c.run(e)
			if c.name[:3] == "ok/" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("the ceremony succeeded; it must be refused")
			}
			t.Log(err)
			if errs.KindOf(err) != c.want || errs.Message(err) == "An internal error occurred." {
				t.Fatalf("got kind %v (%v), want %v with a message", errs.KindOf(err), err, c.want)
			}
		})
		if c.name[:5] == "fail/" {
			fails++
		}
	}
	if fails < 50 {
		t.Fatalf("only %d refusal cases; the FIDO negative tests call for at least 50", fails)
	}
}

var errUnexpectedSuccess = errors.New("a step that had to succeed failed")
