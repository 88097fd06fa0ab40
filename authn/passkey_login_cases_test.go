package authn

import (
	"bytes"
	"time"

	"github.com/latchsh/latch/errs"
)

// Ceremony binding at registration: the challenge must be this ceremony's, once, in time.
func registrationBindingFailures() []passkeyCase {
	return []passkeyCase{
		{"fail/register/challenge-reused", errs.Unauthenticated, func(e *passkeyEnv) error {
			opts, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			resp := e.aliceKey.register(e.t, opts)
			if _, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, resp, "k"); err != nil {
				return errUnexpectedSuccess
			}
			_, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, e.bobKey.register(e.t, opts), "k")
			return err
		}},
		{"fail/register/challenge-expired", errs.Expired, func(e *passkeyEnv) error {
			opts, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			e.clock.Add(DefaultPasskeyTimeout)
			_, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, e.aliceKey.register(e.t, opts), "k")
			return err
		}},
		{"fail/register/challenge-of-a-login", errs.Unauthenticated, func(e *passkeyEnv) error {
			opts, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			_, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, e.aliceKey.register(e.t, opts), "k")
			return err
		}},
		{"fail/register/challenge-of-another-user", errs.Unauthenticated, func(e *passkeyEnv) error {
			opts, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			_, err := e.pk.FinishRegistration(e.t.Context(), e.bob, id, e.bobKey.register(e.t, opts), "k")
			return err
		}},
		{"fail/register/challenge-of-another-tenant", errs.Unauthenticated, func(e *passkeyEnv) error {
			opts, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			other := e.alice
			other.TenantID = "9e8f2b4d-6c3a-4d0e-8f2b-3c4d5e6f7a81"
			_, err := e.pk.FinishRegistration(e.t.Context(), other, id, e.aliceKey.register(e.t, opts), "k")
			return err
		}},
		{"fail/register/credential-id-of-another-user", errs.Exists, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			_, err := e.tryRegister(e.bob, e.bobKey, withCredID(e.aliceKey.credID))
			return err
		}},
		{"fail/register/same-credential-twice", errs.Exists, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			_, err := e.tryRegister(e.alice, e.aliceKey)
			return err
		}},
		{"fail/register/response-too-large", errs.Invalid, func(e *passkeyEnv) error {
			_, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			_, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, bytes.Repeat([]byte{' '}, MaxWebAuthnResponse+1), "k")
			return err
		}},
		{"fail/register/response-empty", errs.Invalid, func(e *passkeyEnv) error {
			_, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			_, err := e.pk.FinishRegistration(e.t.Context(), e.alice, id, nil, "k")
			return err
		}},
	}
}

// login registers alice's passkey, then signs in (by name or discoverable) with muts applied.
func login(byName bool, muts ...mutation) func(*passkeyEnv) error {
	return func(e *passkeyEnv) error {
		e.mustRegister(e.alice, e.aliceKey)
		_, _, err := e.tryLogin(e.alice, e.aliceKey, byName, muts...)
		return err
	}
}

func loginFail(name string, want errs.Kind, muts ...mutation) passkeyCase {
	return passkeyCase{name: "fail/login/" + name, want: want, run: login(false, muts...)}
}

func loginFailures() []passkeyCase {
	cs := []passkeyCase{
		loginFail("origin-sibling-subdomain", unauth, withOrigin("https://wiki.contoso.test")),
		loginFail("origin-http-scheme", unauth, withOrigin("http://login.contoso.test")),
		loginFail("origin-other-port", unauth, withOrigin("https://login.contoso.test:444")),
		loginFail("origin-other-host", unauth, withOrigin("https://evil.test")),
		loginFail("type-webauthn-create", unauth, withType("webauthn.create")),
		loginFail("challenge-other", unauth, withChallenge(b64.EncodeToString(bytes.Repeat([]byte{2}, 32)))),
		loginFail("cross-origin-iframe", unauth, func(c *ceremony) { c.CrossOrigin = true }),
		loginFail("top-origin-without-cross-origin", unauth, withClientData(func(m map[string]any) { m["topOrigin"] = "https://evil.test" })),
		loginFail("rp-id-hash-other-site", unauth, withRPID("evil.test")),
		loginFail("user-presence-clear", unauth, clearFlags(flagUP)),
		loginFail("user-verification-clear", unauth, clearFlags(flagUV)),
		loginFail("backup-eligibility-appears", unauth, setFlags(flagBE)),
		loginFail("authdata-trailing-bytes", invalid, withAuthData(appendBytes(0xa0))),
		loginFail("authdata-truncated", invalid, withAuthData(func(ad []byte) []byte { return ad[:36] })),
		loginFail("extension-flag-without-extensions", invalid, setFlags(flagED)),
		loginFail("bad-signature", unauth, withSignature(func(s []byte) []byte { s[len(s)-1] ^= 1; return s })),
		loginFail("signature-over-other-data", unauth, withSignedData(func(ad, _ []byte) []byte { return ad })),
		loginFail("signature-by-other-key", unauth, func(c *ceremony) { c.Signer = otherKey() }),
		loginFail("signature-trailing-bytes", unauth, withSignature(func(s []byte) []byte { return append(s, 0) })),
		loginFail("signature-empty", unauth, withSignature(func([]byte) []byte { return nil })),
		loginFail("unknown-credential-id", unauth, withCredID([]byte("never registered here"))),
		loginFail("user-handle-of-another-user", unauth, func(c *ceremony) { c.UserHandle = []byte("1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e") }),
		loginFail("discoverable-without-user-handle", unauth, withUserHandle(nil)),
		loginFail("client-data-not-json", invalid, withResponse(func(r map[string]any) {
			r["response"].(map[string]any)["clientDataJSON"] = b64.EncodeToString([]byte("{"))
		})),
		{"fail/login/counter-below-registration", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey, withCounter(5))
			_, _, err := e.tryLogin(e.alice, e.aliceKey, false, withCounter(3))
			return err
		}},
		{"fail/login/counter-regression-blocks-the-credential", unauth, counterRegression},
		{"fail/login/counter-repeated", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			if _, _, err := e.tryLogin(e.alice, e.aliceKey, true, withCounter(7)); err != nil {
				return errUnexpectedSuccess
			}
			_, _, err := e.tryLogin(e.alice, e.aliceKey, true, withCounter(7))
			return err
		}},
		{"fail/login/by-name-with-another-users-credential", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			e.mustRegister(e.bob, e.bobKey)
			opts, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, &e.alice)
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, e.bobKey.login(e.t, opts, []byte(e.bob.ID)), e.lookup)
			return err
		}},
		{"fail/login/disabled-account", errs.PermissionDenied, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			u := e.users[e.alice.ID]
			u.AccountEnabled = false
			e.users[e.alice.ID] = u
			_, _, err := e.tryLogin(e.alice, e.aliceKey, false)
			return err
		}},
		{"fail/login/deleted-user", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			delete(e.users, e.alice.ID)
			_, _, err := e.tryLogin(e.alice, e.aliceKey, false)
			return err
		}},
		{"fail/login/device-key-used-as-passkey", unauth, func(e *passkeyEnv) error {
			der := e.aliceKey.publicDER(e.t)
			if _, err := e.pk.RegisterDeviceKey(e.t.Context(), e.alice, der, "laptop", false); err != nil {
				return errUnexpectedSuccess
			}
			_, _, err := e.tryLogin(e.alice, e.aliceKey, false, withCredID(DeviceCredentialID(der)))
			return err
		}},
	}
	return append(cs, loginBindingFailures()...)
}

// counterRegression: after a use at 10, a use at 9 is refused and blocks the credential, so
// even a later, correct use at 11 is refused.
func counterRegression(e *passkeyEnv) error {
	e.mustRegister(e.alice, e.aliceKey)
	if _, _, err := e.tryLogin(e.alice, e.aliceKey, false, withCounter(10)); err != nil {
		return errUnexpectedSuccess
	}
	_, _, err := e.tryLogin(e.alice, e.aliceKey, false, withCounter(9))
	if errs.CodeOf(err) != CodePasskeyCloned {
		return errUnexpectedSuccess
	}
	stored, _ := e.st.GetPasskeyByCredentialID(e.t.Context(), testTenant, e.aliceKey.credID)
	if !stored.CloneWarning || stored.SignCount != 10 {
		return errUnexpectedSuccess
	}
	_, _, err = e.tryLogin(e.alice, e.aliceKey, false, withCounter(11))
	return err
}

func loginBindingFailures() []passkeyCase {
	return []passkeyCase{
		{"fail/login/challenge-reused", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			opts, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			resp := e.aliceKey.login(e.t, opts, []byte(e.alice.ID))
			if _, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, resp, e.lookup); err != nil {
				return errUnexpectedSuccess
			}
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, e.aliceKey.login(e.t, opts, []byte(e.alice.ID)), e.lookup)
			return err
		}},
		{"fail/login/challenge-expired", errs.Expired, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			opts, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			e.clock.Add(DefaultPasskeyTimeout + time.Second)
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, e.aliceKey.login(e.t, opts, []byte(e.alice.ID)), e.lookup)
			return err
		}},
		{"fail/login/challenge-of-a-registration", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			opts, id, _ := e.pk.BeginRegistration(e.t.Context(), e.alice)
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, e.aliceKey.login(e.t, opts, []byte(e.alice.ID)), e.lookup)
			return err
		}},
		{"fail/login/challenge-of-another-tenant", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			opts, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			_, _, err := e.pk.FinishLogin(e.t.Context(), "9e8f2b4d-6c3a-4d0e-8f2b-3c4d5e6f7a81", id, e.aliceKey.login(e.t, opts, []byte(e.alice.ID)), e.lookup)
			return err
		}},
		{"fail/login/challenge-unknown", unauth, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			opts, _, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, "made-up", e.aliceKey.login(e.t, opts, []byte(e.alice.ID)), e.lookup)
			return err
		}},
		{"fail/login/response-too-large", errs.Invalid, func(e *passkeyEnv) error {
			_, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			_, _, err := e.pk.FinishLogin(e.t.Context(), testTenant, id, bytes.Repeat([]byte{'['}, MaxWebAuthnResponse+1), e.lookup)
			return err
		}},
	}
}

func passkeyOK() []passkeyCase {
	return []passkeyCase{
		{"ok/register-none-attestation", nil0, func(e *passkeyEnv) error {
			p := e.mustRegister(e.alice, e.aliceKey)
			return expect(p.AttestationType == "none" && p.Method == MethodFIDO2 && p.UserID == e.alice.ID &&
				bytes.Equal(p.CredentialID, e.aliceKey.credID) && p.DisplayName == "Test key")
		}},
		{"ok/register-packed-self-attestation", nil0, func(e *passkeyEnv) error {
			p := e.mustRegister(e.alice, e.aliceKey, withFormat("packed"))
			return expect(p.AttestationType == "packed:self")
		}},
		{"ok/register-packed-full-attestation-recorded", nil0, func(e *passkeyEnv) error {
			p := e.mustRegister(e.alice, e.aliceKey, withFormat("packed-full"))
			return expect(p.AttestationType == "packed:basic_full")
		}},
		{"ok/register-origin-with-default-port", nil0, func(e *passkeyEnv) error {
			_, err := e.tryRegister(e.alice, e.aliceKey, withOrigin("https://login.contoso.test:443"))
			return err
		}},
		{"ok/login-discoverable", nil0, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			u, p, err := e.tryLogin(e.alice, e.aliceKey, false)
			if err != nil {
				return err
			}
			return expect(u.ID == e.alice.ID && p.SignCount == 1 && p.LastUsed.Equal(e.clock.Now()))
		}},
		{"ok/login-by-name-without-user-handle", nil0, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			u, _, err := e.tryLogin(e.alice, e.aliceKey, true, withUserHandle(nil))
			if err != nil {
				return err
			}
			return expect(u.ID == e.alice.ID)
		}},
		{"ok/login-counter-zero-twice", nil0, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			for range 2 {
				if _, p, err := e.tryLogin(e.alice, e.aliceKey, false, withCounter(0)); err != nil || p.CloneWarning {
					return errUnexpectedSuccess
				}
			}
			return nil
		}},
		{"ok/login-synced-passkey-backup-flags", nil0, func(e *passkeyEnv) error {
			e.aliceKey.flags = flagBE | flagBS
			p := e.mustRegister(e.alice, e.aliceKey)
			_, q, err := e.tryLogin(e.alice, e.aliceKey, false, withCounter(0))
			if err != nil {
				return err
			}
			return expect(p.BackupEligible && q.BackupState)
		}},
		{"ok/two-users-each-their-own", nil0, func(e *passkeyEnv) error {
			e.mustRegister(e.alice, e.aliceKey)
			e.mustRegister(e.bob, e.bobKey)
			u, _, err := e.tryLogin(e.bob, e.bobKey, false)
			if err != nil {
				return err
			}
			return expect(u.ID == e.bob.ID)
		}},
	}
}

const nil0 = errs.Internal // ok/ cases want no error; the kind is unused

func expect(ok bool) error {
	if !ok {
		return errUnexpectedSuccess
	}
	return nil
}
