package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

// memStore is an in-memory KeyStore with the real stores' contract: one key per (tenant,
// generation), Exists on a second, NotFound on deleting what is gone.
type memStore struct {
	mu    sync.Mutex
	keys  map[string][]SigningKey
	lists int
}

func newMemStore() *memStore { return &memStore{keys: map[string][]SigningKey{}} }

func (m *memStore) AddSigningKey(_ context.Context, k SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys[k.TenantID] {
		if x.Generation == k.Generation || x.ID == k.ID {
			return errs.E("mem.AddSigningKey", errs.Exists)
		}
	}
	m.keys[k.TenantID] = append(m.keys[k.TenantID], k)
	return nil
}

func (m *memStore) ListSigningKeys(_ context.Context, tenantID string) ([]SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	return append([]SigningKey(nil), m.keys[tenantID]...), nil
}

func (m *memStore) DeleteSigningKey(_ context.Context, tenantID, kid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := m.keys[tenantID]
	for i, x := range ks {
		if x.ID == kid {
			m.keys[tenantID] = append(ks[:i:i], ks[i+1:]...)
			return nil
		}
	}
	return errs.E("mem.DeleteSigningKey", errs.NotFound)
}

func (m *memStore) count(tenantID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys[tenantID])
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	tenantA = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	tenantB = "11111111-2222-4333-8444-555555555555"
	tenantR = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" // signs RS256
	issuerA = "https://latch.example/" + tenantA + "/v2.0"
	issuerB = "https://latch.example/" + tenantB + "/v2.0"
	issuerR = "https://latch.example/" + tenantR + "/v2.0"
	armAud  = "https://management.azure.com/"
	clientA = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	userOID = "0f0e0d0c-0b0a-4908-8706-050403020100"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *memStore
	clock *fakeClock
	svc   *Service
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, ctx: context.Background(), store: newMemStore(), clock: &fakeClock{t: t0}}
	f.svc = NewService(f.store, Config{Now: f.clock.Now, Alg: func(_ context.Context, tid string) (string, error) {
		if tid == tenantR {
			return AlgRS256, nil
		}
		return "", nil
	}})
	return f
}

func userAccess(tid, iss string) Claims {
	return Claims{Kind: KindAccess, Issuer: iss, TenantID: tid, Subject: userOID, ObjectID: userOID,
		PrincipalType: PrincipalUser, AppID: clientA, Audience: armAud, UPN: "ada@contoso.example",
		Name: "Ada", Scope: "user_impersonation", AMR: []string{"fido", "mfa"}, AuthTime: t0.Add(-time.Minute)}
}

func appAccess(tid, iss string) Claims {
	return Claims{Kind: KindAccess, Issuer: iss, TenantID: tid, Subject: clientA, ObjectID: clientA,
		PrincipalType: PrincipalApp, AppID: clientA, Audience: armAud, Roles: []string{"Reader"}}
}

func idToken(tid, iss string) Claims {
	return Claims{Kind: KindID, Issuer: iss, TenantID: tid, Subject: userOID, ObjectID: userOID,
		Audience: clientA, UPN: "ada@contoso.example", Name: "Ada", Nonce: "n-0S6_WzA2Mj", AMR: []string{"pwd"}}
}

func (f *fixture) sign(c Claims) string {
	f.t.Helper()
	raw, _, err := f.svc.Sign(f.ctx, c)
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return raw
}

// current is the tenant's signing key, for forging tokens with it.
func (f *fixture) current(tid string) *key {
	f.t.Helper()
	k, err := f.svc.signingKey(f.ctx, tid, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// claimsMap is a valid access token payload for tenant A, as a map to tamper with.
func (f *fixture) claimsMap() map[string]any {
	now := f.clock.Now().Unix()
	return map[string]any{"iss": issuerA, "aud": armAud, "sub": userOID, "oid": userOID, "tid": tenantA,
		"idtyp": "user", "appid": clientA, "azp": clientA, "scp": "user_impersonation",
		"iat": now, "nbf": now, "exp": now + 3600, "uti": "AAAAAAAAAAAAAAAAAAAAAA", "ver": "2.0"}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// forge signs arbitrary header and payload JSON with k, as an attacker holding k (or we,
// building a test) would.
func forge(k *key, hdr, payload string) string {
	input := b64(hdr) + "." + b64(payload)
	sig, err := k.signature([]byte(input))
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hdrJSON(alg, kid, typ string) string {
	return mustJSON(map[string]string{"alg": alg, "kid": kid, "typ": typ})
}

func accessOpts() VerifyOptions {
	return VerifyOptions{Kind: KindAccess, Audiences: []string{"https://management.azure.com"}, Issuers: []string{issuerA, issuerR}}
}
