package token

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchsh/latch/errs"
)

func jwksKids(t *testing.T, f *fixture, tid string) []string {
	t.Helper()
	b, err := f.svc.JWKS(f.ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// Ten rotations on a fake clock: a token signed in a key's last second verifies until its
// exp plus skew, the key stays in the JWKS until VerifyUntil and leaves at it, and the JWKS
// is never empty.
func TestRotationTenGenerations(t *testing.T) {
	f := newFixture(t)
	opt := accessOpts()
	rotate := func() {
		t.Helper()
		if err := f.svc.Rotate(f.ctx, tenantA); err != nil {
			t.Fatal(err)
		}
		if len(jwksKids(t, f, tenantA)) == 0 {
			t.Fatalf("empty JWKS at %v", f.clock.Now())
		}
	}
	rotate()
	for gen := int64(1); gen <= 10; gen++ {
		old := f.current(tenantA)
		if old.generation != gen {
			t.Fatalf("signing with generation %d, want %d", old.generation, gen)
		}
		f.clock.Add(old.signUntil.Sub(f.clock.Now()) - time.Second)
		tok := f.sign(userAccess(tenantA, issuerA))

		f.clock.Add(time.Second) // old's SignUntil: the successor takes over
		rotate()
		if k := f.current(tenantA); k.generation != gen+1 {
			t.Fatalf("after rotation signing with generation %d, want %d", k.generation, gen+1)
		}
		if kids := jwksKids(t, f, tenantA); len(kids) != 2 || !slices.Contains(kids, old.id) {
			t.Fatalf("generation %d: JWKS %v lacks the previous key %s", gen, kids, old.id)
		}

		f.clock.Add(old.verifyUntil.Sub(f.clock.Now()) - time.Second)
		rotate()
		if _, err := f.svc.Verify(f.ctx, tok, opt); err != nil {
			t.Fatalf("generation %d: a token at exp+skew-1s was refused: %v", gen, err)
		}
		if !slices.Contains(jwksKids(t, f, tenantA), old.id) {
			t.Fatalf("generation %d: key left the JWKS a second before VerifyUntil", gen)
		}

		f.clock.Add(time.Second)
		rotate()
		if _, err := f.svc.Verify(f.ctx, tok, opt); err == nil {
			t.Fatalf("generation %d: a token past exp+skew was accepted", gen)
		}
		if kids := jwksKids(t, f, tenantA); len(kids) != 1 || slices.Contains(kids, old.id) {
			t.Fatalf("generation %d: JWKS %v still holds the retired key %s", gen, kids, old.id)
		}
		if n := f.store.count(tenantA); n != 1 {
			t.Fatalf("generation %d: store holds %d keys, want 1", gen, n)
		}
	}
}

// Replicas racing to rotate make exactly one key per generation and agree on it.
func TestRotateRaceOneKeyPerGeneration(t *testing.T) {
	f := newFixture(t)
	a := NewService(f.store, Config{Now: f.clock.Now})
	b := NewService(f.store, Config{Now: f.clock.Now})
	for round := 1; round <= 10; round++ {
		var wg sync.WaitGroup
		errc := make(chan error, 2)
		for _, s := range []*Service{a, b} {
			wg.Go(func() { errc <- s.Rotate(f.ctx, tenantA) })
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		stored, _ := f.store.ListSigningKeys(f.ctx, tenantA)
		gens := map[int64]int{}
		for _, k := range stored {
			gens[k.Generation]++
		}
		if gens[int64(round)] != 1 {
			t.Fatalf("round %d: generations %v, want exactly one key of generation %d", round, gens, round)
		}
		ka, _ := a.signingKey(f.ctx, tenantA, f.clock.Now())
		kb, _ := b.signingKey(f.ctx, tenantA, f.clock.Now())
		if ka.id != kb.id {
			t.Fatalf("round %d: replicas sign with different keys", round)
		}
		f.clock.Add(DefaultKeyRotation)
	}
}

// Our tokens verify with an independent JOSE implementation and the published JWKS.
func TestTokensVerifyWithGoJose(t *testing.T) {
	for _, tc := range []struct {
		tid, iss string
		alg      jose.SignatureAlgorithm
	}{{tenantA, issuerA, jose.ES256}, {tenantR, issuerR, jose.RS256}} {
		f := newFixture(t)
		tok := f.sign(userAccess(tc.tid, tc.iss))
		b, _ := f.svc.JWKS(f.ctx, tc.tid)
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{tc.alg})
		if err != nil {
			t.Fatal(err)
		}
		h := jws.Signatures[0].Header
		keys := set.Key(h.KeyID)
		if len(keys) != 1 || h.ExtraHeaders["typ"] != "at+jwt" {
			t.Fatalf("kid %q typ %v: %d keys", h.KeyID, h.ExtraHeaders["typ"], len(keys))
		}
		k := keys[0]
		tp, _ := k.Thumbprint(crypto.SHA256)
		if k.KeyID != base64.RawURLEncoding.EncodeToString(tp) || k.Use != "sig" || k.Algorithm != string(tc.alg) || !k.IsPublic() {
			t.Fatalf("JWK %+v: kid must be the thumbprint, use sig, alg %s, public only", k, tc.alg)
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
			t.Fatalf("RSA key of %d bits", rk.N.BitLen())
		}
		payload, err := jws.Verify(k)
		if err != nil {
			t.Fatalf("go-jose refused our %s token: %v", tc.alg, err)
		}
		var claims map[string]any
		json.Unmarshal(payload, &claims)
		for _, name := range []string{"iss", "aud", "sub", "oid", "tid", "idtyp", "appid", "azp", "upn", "preferred_username", "name", "scp", "amr", "auth_time", "iat", "nbf", "exp", "uti", "ver"} {
			if _, ok := claims[name]; !ok {
				t.Errorf("access token lacks %s: %s", name, payload)
			}
		}
	}
}

func TestIDTokenClaims(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(idToken(tenantA, issuerA))
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders["typ"]; typ != "JWT" {
		t.Fatalf("typ %v", typ)
	}
	var claims map[string]any
	json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims)
	for _, name := range []string{"iss", "aud", "sub", "oid", "tid", "preferred_username", "upn", "name", "nonce", "amr", "iat", "nbf", "exp", "uti", "ver"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("ID token lacks %s", name)
		}
	}
	for _, name := range []string{"idtyp", "appid", "azp", "scp", "roles"} {
		if _, ok := claims[name]; ok {
			t.Errorf("ID token carries %s", name)
		}
	}
	c, err := f.svc.Verify(f.ctx, tok, VerifyOptions{Kind: KindID, Audiences: []string{clientA}, Issuers: []string{issuerA}})
	if err != nil || c.Nonce != "n-0S6_WzA2Mj" || c.AppID != clientA || c.PrincipalType != PrincipalUser {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestSignRefusesBadClaims(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		edit func(c *Claims)
	}{
		{"fail/unknown-kind", func(c *Claims) { c.Kind = "refresh" }},
		{"fail/no-tenant", func(c *Claims) { c.TenantID = "" }},
		{"fail/tenant-with-slash", func(c *Claims) { c.TenantID = "a/b" }},
		{"fail/no-audience", func(c *Claims) { c.Audience = "" }},
		{"fail/no-issuer", func(c *Claims) { c.Issuer = "" }},
		{"fail/no-subject", func(c *Claims) { c.Subject = "" }},
		{"fail/unknown-principal-type", func(c *Claims) { c.PrincipalType = "device" }},
		{"fail/no-app-id", func(c *Claims) { c.AppID = "" }},
		{"fail/app-token-with-scp", func(c *Claims) { c.PrincipalType = PrincipalApp }},
		{"fail/access-token-with-nonce", func(c *Claims) { c.Nonce = "n" }},
		{"fail/id-token-with-roles", func(c *Claims) { *c = idToken(tenantA, issuerA); c.Roles = []string{"x"} }},
		{"fail/lifetime-beyond-config", func(c *Claims) { c.IssuedAt = t0; c.Expires = t0.Add(2 * time.Hour) }},
		{"fail/expires-before-issued", func(c *Claims) { c.IssuedAt = t0; c.Expires = t0.Add(-time.Second) }},
		{"fail/issued-in-the-future", func(c *Claims) { c.IssuedAt = t0.Add(time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := userAccess(tenantA, issuerA)
			tc.edit(&c)
			if _, _, err := f.svc.Sign(f.ctx, c); !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
		})
	}
	t.Run("ok/fills-id-and-times", func(t *testing.T) {
		_, c, err := f.svc.Sign(f.ctx, userAccess(tenantA, issuerA))
		if err != nil || len(c.TokenID) != 22 || !c.IssuedAt.Equal(t0) || !c.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("%+v %v", c, err)
		}
	})
}

// Signing reads the store once per cache period, not once per token.
func TestSignUsesCachedKeys(t *testing.T) {
	f := newFixture(t)
	f.sign(userAccess(tenantA, issuerA))
	before := f.store.lists
	for range 200 {
		f.sign(userAccess(tenantA, issuerA))
	}
	if n := f.store.lists - before; n != 0 {
		t.Fatalf("200 signatures within the cache period read the store %d times", n)
	}
	f.clock.Add(cacheTTL)
	f.sign(userAccess(tenantA, issuerA))
	if n := f.store.lists - before; n != 1 {
		t.Fatalf("after the cache period: %d reads, want 1", n)
	}
}

// Moving a tenant to RS256 makes the next generation an RSA key; the ES256 key stays
// verifiable for the tokens it signed.
func TestTenantAlgChangeRotates(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	alg := AlgES256
	f.svc = NewService(f.store, Config{Now: f.clock.Now, Alg: func(context.Context, string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return alg, nil
	}})
	es := f.sign(userAccess(tenantA, issuerA))
	mu.Lock()
	alg = AlgRS256
	mu.Unlock()
	f.clock.Add(cacheTTL)
	rs := f.sign(userAccess(tenantA, issuerA))
	if k := f.current(tenantA); k.alg != AlgRS256 || k.generation != 2 {
		t.Fatalf("current key %s generation %d", k.alg, k.generation)
	}
	for _, tok := range []string{es, rs} {
		if _, err := f.svc.Verify(f.ctx, tok, accessOpts()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJWKSOfUnknownTenantIsEmpty(t *testing.T) {
	f := newFixture(t)
	b, err := f.svc.JWKS(f.ctx, tenantB)
	if err != nil || string(b) != `{"keys":[]}` {
		t.Fatalf("%s %v", b, err)
	}
	if _, err := f.svc.JWKS(f.ctx, "../etc"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("hostile tenant id: %v", err)
	}
	if f.store.count(tenantB) != 0 {
		t.Fatal("JWKS created keys")
	}
}

func TestLoadKeyRefusesMismatches(t *testing.T) {
	f := newFixture(t)
	k := f.current(tenantA)
	stored, _ := f.store.ListSigningKeys(f.ctx, tenantA)
	sk := stored[0]
	for name, edit := range map[string]func(s *SigningKey){
		"fail/alg-rs256-on-ec-key": func(s *SigningKey) { s.Alg = AlgRS256 },
		"fail/kid-not-thumbprint":  func(s *SigningKey) { s.ID = "x" },
		"fail/garbage-der":         func(s *SigningKey) { s.PrivateKey = []byte{1, 2, 3} },
	} {
		s := sk
		edit(&s)
		if _, err := loadKey(s); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if got, err := loadKey(sk); err != nil || got.id != k.id {
		t.Fatalf("ok/stored-key: %v", err)
	}
}
