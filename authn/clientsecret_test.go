package authn

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const appID = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"

func newSP(creds ...directory.PasswordCredential) directory.ServicePrincipal {
	return directory.ServicePrincipal{ID: "sp-object", TenantID: "tenant", AppID: appID, AccountEnabled: true, PasswordCredentials: creds}
}

func mustSecret(t *testing.T, life time.Duration) (string, directory.PasswordCredential) {
	t.Helper()
	s, c, err := NewClientSecret(now0, life, "ci")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestNewClientSecret(t *testing.T) {
	for name, tc := range map[string]struct {
		life time.Duration
		name string
	}{
		"fail/negative-lifetime": {life: -time.Hour},
		"fail/absurd-lifetime":   {life: 101 * 365 * 24 * time.Hour},
		"fail/long-display-name": {life: time.Hour, name: strings.Repeat("n", 300)},
	} {
		if _, _, err := NewClientSecret(now0, tc.life, tc.name); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	s, c := mustSecret(t, 0)
	if len(s) != 40 || s[3:6] != "8Q~" || c.Hint != s[:3] || strings.Trim(s, secretAlphabet) != "" || !strings.ContainsRune(secretAlphabet[:62], rune(s[0])) {
		t.Fatalf("secret %q hint %q", s, c.Hint)
	}
	if !strings.HasPrefix(c.Hash, "$argon2id$") || strings.Contains(c.Hash, s) || c.KeyID == "" || len(c.KeyID) != 36 {
		t.Fatalf("credential %+v", c)
	}
	if !c.Start.Equal(now0) || !c.End.Equal(now0.Add(DefaultSecretLife)) {
		t.Fatalf("validity %v – %v", c.Start, c.End)
	}
}

func TestSecretVerifier(t *testing.T) {
	s1, c1 := mustSecret(t, 24*time.Hour)
	s2, c2 := mustSecret(t, 48*time.Hour)
	sOther, cOther := mustSecret(t, 24*time.Hour)
	notYet := c2
	notYet.Start = now0.Add(time.Hour)
	replaced := c1
	_, fresh := mustSecret(t, 24*time.Hour)
	replaced.Hash, replaced.Hint = fresh.Hash, fresh.Hint // same KeyID, new secret
	disabled := newSP(c1)
	disabled.AccountEnabled = false
	for _, tc := range []struct {
		name   string
		sp     directory.ServicePrincipal
		secret string
		at     time.Duration // after now0
		want   errs.Kind
		ok     bool
	}{
		{name: "fail/wrong-secret", sp: newSP(c1), secret: s1[:39] + "x"},
		{name: "fail/wrong-secret-right-hint", sp: newSP(c1), secret: s1[:6] + strings.Repeat("a", 34)},
		{name: "fail/secret-id-instead-of-value", sp: newSP(c1), secret: c1.KeyID},
		{name: "fail/another-apps-secret", sp: newSP(c1), secret: sOther},
		{name: "fail/empty", sp: newSP(c1), secret: ""},
		{name: "fail/too-long", sp: newSP(c1), secret: s1 + strings.Repeat("a", 300)},
		{name: "fail/expired-credential", sp: newSP(c1), secret: s1, at: 24 * time.Hour},
		{name: "fail/not-yet-valid", sp: newSP(notYet), secret: s2},
		{name: "fail/no-credentials", sp: newSP(), secret: s1},
		{name: "fail/disabled-app", sp: disabled, secret: s1},
		{name: "fail/credential-replaced-under-same-key-id", sp: newSP(replaced), secret: s1},
		{name: "ok/first-credential", sp: newSP(c1, c2), secret: s1, ok: true},
		{name: "ok/second-credential", sp: newSP(c1, c2, cOther), secret: s2, ok: true},
		{name: "ok/one-expired-one-live", sp: newSP(c1, c2), secret: s2, at: 30 * time.Hour, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: now0.Add(tc.at)}
			v := NewSecretVerifier(c.Now)
			err := v.Verify(tc.sp, tc.secret)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errs.Is(err, errs.Unauthenticated) || errs.CodeOf(err) != "invalid_client" {
				t.Fatalf("got %v (code %q), want Unauthenticated invalid_client", err, errs.CodeOf(err))
			}
			if !strings.Contains(errs.Message(err), appID) {
				t.Fatalf("message %q does not name the app", errs.Message(err))
			}
		})
	}
}

// After one slow check a secret is remembered, but the cache never outlives the credential.
func TestSecretVerifierCache(t *testing.T) {
	s1, c1 := mustSecret(t, 24*time.Hour)
	_, c2 := mustSecret(t, 48*time.Hour)
	c := &clock{t: now0}
	v := NewSecretVerifier(c.Now)
	sp := newSP(c1, c2)
	for range 50 {
		if err := v.Verify(sp, s1); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.slowChecks.Load(); n != 1 {
		t.Fatalf("50 verifications ran %d argon2id checks, want 1", n)
	}
	if err := v.Verify(sp, s1[:39]+"x"); err == nil {
		t.Fatal("fail/wrong-secret-after-right-one: accepted")
	}
	if err := v.Verify(newSP(c2), s1); err == nil {
		t.Fatal("fail/cached-secret-of-removed-credential: accepted")
	}
	c.Add(24 * time.Hour)
	if err := v.Verify(sp, s1); err == nil {
		t.Fatal("fail/cached-secret-of-expired-credential: accepted")
	}
}

// With every slow-check slot taken, a check waits only so long and then reports TooMany.
func TestSecretVerifierBoundsSlowChecks(t *testing.T) {
	s1, c1 := mustSecret(t, 24*time.Hour)
	v := NewSecretVerifier(func() time.Time { return now0 })
	v.wait = 20 * time.Millisecond
	for range cap(v.slow) {
		v.slow <- struct{}{}
	}
	if err := v.Verify(newSP(c1), s1); !errs.Is(err, errs.TooMany) {
		t.Fatalf("got %v, want TooMany", err)
	}
	<-v.slow
	if err := v.Verify(newSP(c1), s1); err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
}

func BenchmarkSecretVerifierCached(b *testing.B) {
	s, c, _ := NewClientSecret(now0, time.Hour, "")
	v := NewSecretVerifier(func() time.Time { return now0 })
	sp := newSP(c)
	v.Verify(sp, s)
	for b.Loop() {
		if err := v.Verify(sp, s); err != nil {
			b.Fatal(err)
		}
	}
}
