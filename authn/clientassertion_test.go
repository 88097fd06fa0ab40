package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

const tokenEndpoint = "https://latch.example/tenant/oauth2/v2.0/token"

// assertionKit holds an application's two registered keys (an RSA certificate and an EC
// JWK) and one key nobody registered.
type assertionKit struct {
	rsaKey   *rsa.PrivateKey
	cert     *x509.Certificate
	ecKey    *ecdsa.PrivateKey
	stranger *rsa.PrivateKey
	sp       directory.ServicePrincipal
}

var (
	kitOnce sync.Once
	kit     *assertionKit
)

func selfSigned(t testing.TB, k *rsa.PrivateKey) *x509.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ci"},
		NotBefore: now0.Add(-time.Hour), NotAfter: now0.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func getKit(t testing.TB) *assertionKit {
	kitOnce.Do(func() {
		k := &assertionKit{}
		k.rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		k.stranger, _ = rsa.GenerateKey(rand.Reader, 2048)
		k.ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k.cert = selfSigned(t, k.rsaKey)
		jwk, _ := json.Marshal(jose.JSONWebKey{Key: &k.ecKey.PublicKey, KeyID: "ec-1"})
		k.sp = directory.ServicePrincipal{ID: "sp", TenantID: "tenant", AppID: appID, AccountEnabled: true,
			KeyCredentials: []directory.KeyCredential{
				{KeyID: "cred-rsa", Type: "AsymmetricX509Cert", Usage: "Verify", Start: now0.Add(-time.Hour), End: now0.Add(24 * time.Hour),
					Key: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw}))},
				{KeyID: "cred-ec", Type: "JsonWebKey", Usage: "Verify", Start: now0.Add(-time.Hour), End: now0.Add(24 * time.Hour), Key: string(jwk)},
			}}
		kit = k
	})
	return kit
}

func (k *assertionKit) x5t() string {
	s := sha1.Sum(k.cert.Raw)
	return base64.StdEncoding.EncodeToString(s[:]) // as MSAL for Go sends it
}

func (k *assertionKit) x5tS256() string {
	s := sha256.Sum256(k.cert.Raw)
	return base64.StdEncoding.EncodeToString(s[:])
}

func claims(changes map[string]any) map[string]any {
	c := map[string]any{"iss": appID, "sub": appID, "aud": tokenEndpoint, "jti": "8f4d7a5e-1b2c-4d3e-9f80-112233445566",
		"nbf": now0.Unix(), "exp": now0.Add(10 * time.Minute).Unix()}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func enc(v any) string {
	if s, ok := v.(string); ok {
		return base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signWith signs header and payload (maps or raw JSON strings) with key under alg.
func signWith(key crypto.Signer, alg string, hdr, payload any) string {
	in := enc(hdr) + "." + enc(payload)
	h := sha256.Sum256([]byte(in))
	var sig []byte
	switch alg {
	case "RS256":
		sig, _ = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "PS256":
		sig, _ = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256":
		r, s, _ := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jtiStore is the replay cache's contract: a key is accepted once.
type jtiStore struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (s *jtiStore) use(_ context.Context, key string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]time.Time{}
	}
	if _, ok := s.seen[key]; ok {
		return errs.E("jti.use", errs.Exists)
	}
	s.seen[key] = exp
	return nil
}

type assertionCase struct {
	name string
	make func(k *assertionKit) string
	sp   func(sp *directory.ServicePrincipal)
}

func assertionCases() []assertionCase {
	ps := func(k *assertionKit) map[string]any {
		return map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": k.x5tS256()}
	}
	with := func(k *assertionKit, hdr map[string]any) map[string]any {
		h := ps(k)
		for a, b := range hdr {
			h[a] = b
		}
		return h
	}
	good := func(k *assertionKit) string { return signWith(k.rsaKey, "PS256", ps(k), claims(nil)) }
	ahead := now0.Add(10*time.Minute + assertionSkew)
	return []assertionCase{
		{name: "ok/ps256-x5t#S256-like-msal-go", make: good},
		{name: "ok/rs256-x5t-like-adfs", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "RS256", map[string]any{"alg": "RS256", "x5t": k.x5t()}, claims(nil))
		}},
		{name: "ok/rs256-x5t-base64url", make: func(k *assertionKit) string {
			s := sha1.Sum(k.cert.Raw)
			return signWith(k.rsaKey, "RS256", map[string]any{"alg": "RS256", "x5t": base64.RawURLEncoding.EncodeToString(s[:])}, claims(nil))
		}},
		{name: "ok/es256-jwk-kid", make: func(k *assertionKit) string {
			return signWith(k.ecKey, "ES256", map[string]any{"alg": "ES256", "kid": "ec-1"}, claims(nil))
		}},
		{name: "ok/aud-array", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"aud": []string{"https://other.example", tokenEndpoint}}))
		}},
		{name: "ok/exp-10min-plus-skew-ahead", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"exp": ahead.Unix()}))
		}},
		{name: "ok/x5c-sent-and-ignored", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", with(k, map[string]any{"x5c": []string{"bm90IGEgY2VydA=="}}), claims(nil))
		}},
		{name: "ok/signed-by-go-jose", make: func(k *assertionKit) string {
			opts := (&jose.SignerOptions{}).WithHeader("x5t#S256", k.x5tS256()).WithType("JWT")
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: k.rsaKey}, opts)
			b, _ := json.Marshal(claims(nil))
			jws, _ := s.Sign(b)
			out, _ := jws.CompactSerialize()
			return out
		}},

		{name: "fail/empty", make: func(k *assertionKit) string { return "" }},
		{name: "fail/10000-dots", make: func(k *assertionKit) string { return strings.Repeat(".", 10000) }},
		{name: "fail/1MiB", make: func(k *assertionKit) string { return good(k) + strings.Repeat("A", 1<<20) }},
		{name: "fail/whitespace-around", make: func(k *assertionKit) string { return " " + good(k) + "\n" }},
		{name: "fail/padding", make: func(k *assertionKit) string { return good(k) + "=" }},
		{name: "fail/truncated-signature", make: func(k *assertionKit) string { g := good(k); return g[:len(g)-8] }},
		{name: "fail/tampered-payload", make: func(k *assertionKit) string {
			p := strings.Split(good(k), ".")
			p[1] = enc(claims(map[string]any{"jti": "other"}))
			return strings.Join(p, ".")
		}},
		{name: "fail/alg-none", make: func(k *assertionKit) string {
			return enc(map[string]any{"alg": "none", "x5t#S256": k.x5tS256()}) + "." + enc(claims(nil)) + ".AA"
		}},
		{name: "fail/hs256-keyed-with-certificate", make: func(k *assertionKit) string {
			in := enc(with(k, map[string]any{"alg": "HS256"})) + "." + enc(claims(nil))
			m := hmac.New(sha256.New, []byte(k.sp.KeyCredentials[0].Key))
			m.Write([]byte(in))
			return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}},
		{name: "fail/es256-header-on-rsa-key", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", with(k, map[string]any{"alg": "ES256"}), claims(nil))
		}},
		{name: "fail/rs256-on-ec-key", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "RS256", map[string]any{"alg": "RS256", "kid": "ec-1"}, claims(nil))
		}},
		{name: "fail/rs256-signature-under-ps256-header", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "RS256", ps(k), claims(nil))
		}},
		{name: "fail/signed-by-unregistered-key-naming-registered-one", make: func(k *assertionKit) string {
			return signWith(k.stranger, "PS256", ps(k), claims(nil))
		}},
		{name: "fail/unknown-kid", make: func(k *assertionKit) string {
			return signWith(k.ecKey, "ES256", map[string]any{"alg": "ES256", "kid": "ec-2"}, claims(nil))
		}},
		{name: "fail/no-key-hint", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", map[string]any{"alg": "PS256"}, claims(nil))
		}},
		{name: "fail/x5t-of-another-certificate", make: func(k *assertionKit) string {
			s := sha256.Sum256(selfSigned(&testing.T{}, k.stranger).Raw)
			return signWith(k.stranger, "PS256", with(k, map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s[:])}), claims(nil))
		}},
		{name: "fail/jku", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", with(k, map[string]any{"jku": "https://evil.example/keys"}), claims(nil))
		}},
		{name: "fail/x5u", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", with(k, map[string]any{"x5u": "https://evil.example/cert"}), claims(nil))
		}},
		{name: "fail/jwk-embedded", make: func(k *assertionKit) string {
			return signWith(k.stranger, "PS256", map[string]any{"alg": "PS256", "jwk": jose.JSONWebKey{Key: &k.stranger.PublicKey}}, claims(nil))
		}},
		{name: "fail/crit", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", with(k, map[string]any{"crit": []string{"exp"}}), claims(nil))
		}},
		{name: "fail/duplicate-header-key", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", `{"alg":"PS256","x5t#S256":"`+k.x5tS256()+`","alg":"none"}`, claims(nil))
		}},
		{name: "fail/duplicate-payload-key", make: func(k *assertionKit) string {
			b, _ := json.Marshal(claims(nil))
			return signWith(k.rsaKey, "PS256", ps(k), string(b[:len(b)-1])+`,"sub":"someone-else"}`)
		}},
		{name: "fail/iss-other-app", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"iss": "00000000-0000-4000-8000-000000000000"}))
		}},
		{name: "fail/sub-other-app", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"sub": "00000000-0000-4000-8000-000000000000"}))
		}},
		{name: "fail/iss-missing", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"iss": nil}))
		}},
		{name: "fail/aud-foreign", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"aud": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"}))
		}},
		{name: "fail/aud-with-trailing-slash", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"aud": tokenEndpoint + "/"}))
		}},
		{name: "fail/aud-missing", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"aud": nil}))
		}},
		{name: "fail/aud-number", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"aud": 7}))
		}},
		{name: "fail/exp-missing", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"exp": nil}))
		}},
		{name: "fail/exp-past-skew", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"nbf": nil, "exp": now0.Add(-assertionSkew).Unix()}))
		}},
		{name: "fail/exp-too-far-ahead", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"exp": ahead.Add(time.Second).Unix()}))
		}},
		{name: "fail/exp-string", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"exp": "1772367000"}))
		}},
		{name: "fail/exp-float", make: func(k *assertionKit) string {
			b, _ := json.Marshal(claims(map[string]any{"exp": nil}))
			return signWith(k.rsaKey, "PS256", ps(k), string(b[:len(b)-1])+`,"exp":1.7723673e9}`)
		}},
		{name: "fail/nbf-future", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"nbf": now0.Add(assertionSkew + time.Second).Unix()}))
		}},
		{name: "fail/iat-future", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"iat": now0.Add(assertionSkew + time.Second).Unix()}))
		}},
		{name: "fail/jti-missing", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"jti": nil}))
		}},
		{name: "fail/jti-too-long", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", ps(k), claims(map[string]any{"jti": strings.Repeat("j", 257)}))
		}},
		{name: "fail/key-credential-expired", make: good, sp: func(sp *directory.ServicePrincipal) {
			sp.KeyCredentials[0].End = now0
		}},
		{name: "fail/key-credential-not-yet-valid", make: good, sp: func(sp *directory.ServicePrincipal) {
			sp.KeyCredentials[0].Start = now0.Add(time.Second)
		}},
		{name: "fail/key-credential-for-signing-only", make: good, sp: func(sp *directory.ServicePrincipal) {
			sp.KeyCredentials[0].Usage = "Sign"
		}},
		{name: "fail/key-credential-removed", make: good, sp: func(sp *directory.ServicePrincipal) {
			sp.KeyCredentials = sp.KeyCredentials[1:]
		}},
		{name: "fail/jwk-alg-pins-rs256", make: func(k *assertionKit) string {
			return signWith(k.rsaKey, "PS256", map[string]any{"alg": "PS256", "kid": "rsa-jwk"}, claims(nil))
		}, sp: func(sp *directory.ServicePrincipal) {
			b, _ := json.Marshal(jose.JSONWebKey{Key: &getKit(nil).rsaKey.PublicKey, KeyID: "rsa-jwk", Algorithm: "RS256"})
			sp.KeyCredentials = append(sp.KeyCredentials, directory.KeyCredential{Type: "JsonWebKey", Key: string(b), Start: now0.Add(-time.Hour), End: now0.Add(time.Hour)})
		}},
		{name: "fail/jwk-with-private-part", make: func(k *assertionKit) string {
			return signWith(k.ecKey, "ES256", map[string]any{"alg": "ES256", "kid": "ec-1"}, claims(nil))
		}, sp: func(sp *directory.ServicePrincipal) {
			b, _ := json.Marshal(jose.JSONWebKey{Key: getKit(nil).ecKey, KeyID: "ec-1"})
			sp.KeyCredentials[1].Key = string(b)
		}},
	}
}

func TestVerifyClientAssertion(t *testing.T) {
	k := getKit(t)
	cases := assertionCases()
	oks := 0
	for _, tc := range cases {
		if strings.HasPrefix(tc.name, "ok/") {
			oks++
		}
	}
	if len(cases)-oks < 2*oks {
		t.Fatalf("%d refusals for %d accepted cases: want at least two per accepted case", len(cases)-oks, oks)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := k.sp
			sp.KeyCredentials = append([]directory.KeyCredential(nil), k.sp.KeyCredentials...)
			if tc.sp != nil {
				tc.sp(&sp)
			}
			var jti jtiStore
			err := VerifyClientAssertion(context.Background(), sp, tc.make(k), []string{tokenEndpoint}, now0, jti.use)
			if strings.HasPrefix(tc.name, "ok/") {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := jti.seen[appID+"|8f4d7a5e-1b2c-4d3e-9f80-112233445566"]; !ok {
					t.Fatalf("jti not spent: %v", jti.seen)
				}
				return
			}
			t.Log(err)
			if !errs.Is(err, errs.Unauthenticated) || errs.CodeOf(err) != "invalid_client" {
				t.Fatalf("got %v, want Unauthenticated invalid_client", err)
			}
			if len(jti.seen) != 0 {
				t.Fatal("a refused assertion spent its jti")
			}
		})
	}
}

func TestClientAssertionReplay(t *testing.T) {
	k := getKit(t)
	a := signWith(k.rsaKey, "PS256", map[string]any{"alg": "PS256", "x5t#S256": k.x5tS256()}, claims(nil))
	var jti jtiStore
	if err := VerifyClientAssertion(context.Background(), k.sp, a, []string{tokenEndpoint}, now0, jti.use); err != nil {
		t.Fatal(err)
	}
	if exp := jti.seen[appID+"|8f4d7a5e-1b2c-4d3e-9f80-112233445566"]; !exp.Equal(now0.Add(10*time.Minute + assertionSkew)) {
		t.Fatalf("jti remembered until %v", exp)
	}
	err := VerifyClientAssertion(context.Background(), k.sp, a, []string{tokenEndpoint}, now0.Add(time.Minute), jti.use)
	if !errs.Is(err, errs.Unauthenticated) || !strings.Contains(errs.Message(err), "already used") {
		t.Fatalf("replay: %v", err)
	}
	down := func(context.Context, string, time.Time) error { return errs.E("jti", errs.Unavailable) }
	b := signWith(k.rsaKey, "PS256", map[string]any{"alg": "PS256", "x5t#S256": k.x5tS256()}, claims(map[string]any{"jti": "fresh"}))
	if err := VerifyClientAssertion(context.Background(), k.sp, b, []string{tokenEndpoint}, now0, down); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("replay cache down: %v", err)
	}
}

func FuzzVerifyClientAssertion(f *testing.F) {
	k := getKit(f)
	for _, tc := range assertionCases() {
		if a := tc.make(k); len(a) < 8192 {
			f.Add(a)
		}
	}
	f.Fuzz(func(t *testing.T, a string) {
		var jti jtiStore
		err := VerifyClientAssertion(context.Background(), k.sp, a, []string{tokenEndpoint}, now0, jti.use)
		if err == nil && (len(a) > maxAssertion || strings.Count(a, ".") != 2 || len(jti.seen) != 1) {
			t.Fatalf("accepted %q", a)
		}
	})
}
