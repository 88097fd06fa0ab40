package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// clientsPerCore is the b.SetParallelism factor for the HTTPS benchmarks: enough requests in
// flight that both cores stay busy while some requests wait on the database or the network.
const clientsPerCore = 8

// tokenSizedInput is a JWS signing input as long as the app-only access tokens Latch issues
// (header and claims, base64url), so the raw signature hashes what a real token makes it hash.
var tokenSizedInput = func() []byte {
	claims := `{"aud":"https://127.0.0.1:8443/arm/","iss":"https://127.0.0.1:8443/8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70/v2.0",` +
		`"iat":1767225600,"nbf":1767225600,"exp":1767229200,"appid":"4f1c2b3a-9d8e-4a7b-8c6d-5e4f3a2b1c0d",` +
		`"azp":"4f1c2b3a-9d8e-4a7b-8c6d-5e4f3a2b1c0d","idtyp":"app","name":"bench client",` +
		`"oid":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","sub":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",` +
		`"tid":"8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70","uti":"mM3cL0V7bUqj3XgYl2kD8w","ver":"2.0",` +
		`"xms_cid":"6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"}`
	hdr := `{"alg":"ES256","kid":"n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg","typ":"at+jwt"}`
	enc := base64.RawURLEncoding
	return []byte(enc.EncodeToString([]byte(hdr)) + "." + enc.EncodeToString([]byte(claims)))
}()

// BenchmarkSignES256 is the physical limit: SHA-256 of a token-sized signing input and one
// ECDSA P-256 signature in JWS form (r||s), on every core. No issuance can be faster than this.
func BenchmarkSignES256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		sig := make([]byte, 64)
		for pb.Next() {
			h := sha256.Sum256(tokenSizedInput)
			r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
			if err != nil {
				b.Error(err)
				return
			}
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	})
	reportRate(b, "signs/s", time.Since(start))
	reportCPU(b, cpu, "signs")
}

// BenchmarkTokenServiceSign is token.Service.Sign on every core, keys held in memory: claims
// completion, JSON, base64 and the signature, without HTTP or a database.
func BenchmarkTokenServiceSign(b *testing.B) {
	svc := token.NewService(newMemKeys(), token.Config{})
	claims := token.Claims{Kind: token.KindAccess, Issuer: "https://127.0.0.1:8443/" + benchTenant + "/v2.0",
		TenantID: benchTenant, Subject: benchObject, ObjectID: benchObject, PrincipalType: token.PrincipalApp,
		AppID: benchApp, Audience: "https://127.0.0.1:8443/arm/", Name: "bench client",
		CorrelationID: "6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"}
	ctx := context.Background()
	if _, _, err := svc.Sign(ctx, claims); err != nil { // creates the tenant's first key
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := svc.Sign(ctx, claims); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, "tokens/s", time.Since(start))
	reportCPU(b, cpu, "tokens")
}

// BenchmarkClientCredentials is the whole client-credentials grant as a client sees it: POST to
// the token endpoint over keep-alive HTTPS on 127.0.0.1, the real handler, secret check and
// store, with clientsPerCore requests in flight per core. Client and server share the cores,
// as they do when a load generator runs on the server's machine. Every response must be a 200
// carrying an access token, or the benchmark fails.
func BenchmarkClientCredentials(b *testing.B) {
	if wanted(b, "sqlite") {
		f := newFixture(b, openSQLite(b))
		b.Run("sqlite", func(b *testing.B) { measureIssuance(b, f) })
	}
	if wanted(b, "postgres") {
		if why := postgresMissing(); why != "" {
			b.Run("postgres", func(b *testing.B) { b.Skip(why) })
			return
		}
		f := newFixture(b, openPostgres(b))
		b.Run("postgres", func(b *testing.B) { measureIssuance(b, f) })
	}
}

func measureIssuance(b *testing.B, f *fixture) {
	f.check(b)
	b.SetParallelism(clientsPerCore)
	conns := f.conns.Load()
	runLoad(b, "issuances", "token requests", f.issue)
	// A connection made inside the timed loop is a TLS handshake the rate includes; with
	// keep-alive there are at most as many as client goroutines, and none after the first round.
	b.ReportMetric(float64(f.conns.Load()-conns), "new-conns")
}

// runLoad runs call from b.RunParallel's goroutines b.N times in all, fails the benchmark if
// any call failed, and reports the CPU used, the rate in units per second and the latency
// percentiles. what names the calls in the failure message.
func runLoad(b *testing.B, units, what string, call func() error) {
	var (
		mu       sync.Mutex
		all      = make([]time.Duration, 0, b.N)
		failures failures
	)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			err := call()
			lat = append(lat, time.Since(t0))
			failures.note(err)
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	reportCPU(b, cpu, units)
	if n, first := failures.result(); n > 0 {
		b.Fatalf("%d of %d %s failed; the first: %v", n, b.N, what, first)
	}
	reportRate(b, units+"/s", elapsed)
	reportLatency(b, all)
}

// memKeys is an in-memory token.KeyStore, so that BenchmarkTokenServiceSign measures the token
// service alone. It keeps the stores' contract: Exists for a taken (tenant, generation).
type memKeys struct {
	mu   sync.Mutex
	keys map[string][]token.SigningKey
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string][]token.SigningKey{}} }

func (m *memKeys) AddSigningKey(_ context.Context, k token.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys[k.TenantID] {
		if x.Generation == k.Generation {
			return errs.E("bench.AddSigningKey", errs.Exists)
		}
	}
	m.keys[k.TenantID] = append(m.keys[k.TenantID], k)
	return nil
}

func (m *memKeys) ListSigningKeys(_ context.Context, tenantID string) ([]token.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]token.SigningKey(nil), m.keys[tenantID]...), nil
}

func (m *memKeys) DeleteSigningKey(_ context.Context, tenantID, kid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := m.keys[tenantID]
	for i, x := range ks {
		if x.ID == kid {
			m.keys[tenantID] = append(ks[:i:i], ks[i+1:]...)
			return nil
		}
	}
	return errs.E("bench.DeleteSigningKey", errs.NotFound)
}
