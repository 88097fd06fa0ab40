package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

// hostile holds what the table's cases are built from: the real keys of three tenants, a
// key that was rotated out, and a key nobody published.
type hostile struct {
	*fixture
	a, b, r  *key // current keys of tenants A, B and R (RS256)
	retired  *key // tenant A's first key, deleted after its VerifyUntil
	stranger *key // a P-256 key of the attacker's
	now      time.Time
}

func newHostile(t testing.TB) *hostile {
	f := newFixture(t)
	h := &hostile{fixture: f}
	h.retired = f.current(tenantA)
	f.clock.Add(DefaultKeyRotation + 2*time.Hour) // past the first key's VerifyUntil
	if err := f.svc.Rotate(f.ctx, tenantA); err != nil {
		t.Fatal(err)
	}
	if f.store.count(tenantA) != 1 {
		t.Fatalf("tenant A has %d keys after the first one retired, want 1", f.store.count(tenantA))
	}
	h.a, h.b, h.r = f.current(tenantA), f.current(tenantB), f.current(tenantR)
	h.stranger = strangerKey(t)
	h.now = f.clock.Now()
	return h
}

func strangerKey(t testing.TB) *key {
	p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(p)
	kid, _ := thumbprint(p.Public())
	k, err := loadKey(SigningKey{ID: kid, TenantID: tenantA, Alg: AlgES256, PrivateKey: der})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// with returns tenant A's valid payload with changes applied; a nil value deletes the claim.
func (h *hostile) with(changes map[string]any) string {
	m := h.claimsMap()
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return mustJSON(m)
}

func (h *hostile) good() string { return forge(h.a, hdrJSON("ES256", h.a.id, "at+jwt"), h.with(nil)) }

// hs256 signs with HMAC keyed by bytes an attacker can read: the classic RS/HS confusion.
func hs256(hdr, payload string, secret []byte) string {
	in := b64(hdr) + "." + b64(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func replaceSegment(tok string, i int, seg string) string {
	p := strings.Split(tok, ".")
	p[i] = seg
	return strings.Join(p, ".")
}

type verifyCase struct {
	name string
	tok  func(h *hostile) string
	opt  func(o *VerifyOptions)
}

func hostileCases() []verifyCase {
	skew := DefaultSkew
	sec := func(t time.Time, d time.Duration) int64 { return t.Add(d).Unix() }
	es := func(h *hostile, hdr, payload string) string { return forge(h.a, hdr, payload) }
	at := func(h *hostile) string { return hdrJSON("ES256", h.a.id, "at+jwt") }
	return []verifyCase{
		// Shape and size, refused before decoding.
		{name: "fail/empty", tok: func(h *hostile) string { return "" }},
		{name: "fail/whitespace", tok: func(h *hostile) string { return "   " }},
		{name: "fail/leading-space", tok: func(h *hostile) string { return " " + h.good() }},
		{name: "fail/trailing-newline", tok: func(h *hostile) string { return h.good() + "\n" }},
		{name: "fail/newline-inside-payload", tok: func(h *hostile) string {
			t := h.good()
			i := strings.IndexByte(t, '.') + 5
			return t[:i] + "\n" + t[i:]
		}},
		{name: "fail/10000-dots", tok: func(h *hostile) string { return strings.Repeat(".", 10000) }},
		{name: "fail/1MiB-token", tok: func(h *hostile) string { return h.good() + strings.Repeat("A", 1<<20) }},
		{name: "fail/just-over-cap", tok: func(h *hostile) string {
			return "a." + strings.Repeat("A", MaxTokenSize-3) + ".a"
		}},
		{name: "fail/one-dot", tok: func(h *hostile) string { return strings.Join(strings.Split(h.good(), ".")[:2], ".") }},
		{name: "fail/four-segments", tok: func(h *hostile) string { return h.good() + ".AAAA" }},
		{name: "fail/empty-signature", tok: func(h *hostile) string { return replaceSegment(h.good(), 2, "") }},
		{name: "fail/empty-header", tok: func(h *hostile) string { return replaceSegment(h.good(), 0, "") }},
		{name: "fail/base64-padding", tok: func(h *hostile) string { return h.good() + "==" }},
		{name: "fail/std-base64-alphabet", tok: func(h *hostile) string {
			p := strings.Split(h.good(), ".")
			return p[0] + "." + p[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(p[2]) + "+/"
		}},
		{name: "fail/non-canonical-base64-trailing-bits", tok: func(h *hostile) string {
			// 64 signature bytes encode to 86 characters; the last carries 2 unused bits.
			t := h.good()
			last := t[len(t)-1]
			i := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
			return t[:len(t)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i^1])
		}},
		// Signatures.
		{name: "fail/truncated-signature", tok: func(h *hostile) string { t := h.good(); return t[:len(t)-4] }},
		{name: "fail/signature-bit-flip", tok: func(h *hostile) string {
			p := strings.Split(h.good(), ".")
			s, _ := base64.RawURLEncoding.DecodeString(p[2])
			s[10] ^= 1
			return replaceSegment(h.good(), 2, base64.RawURLEncoding.EncodeToString(s))
		}},
		{name: "fail/signature-65-bytes", tok: func(h *hostile) string {
			p := strings.Split(h.good(), ".")
			s, _ := base64.RawURLEncoding.DecodeString(p[2])
			return replaceSegment(h.good(), 2, base64.RawURLEncoding.EncodeToString(append([]byte{0}, s...)))
		}},
		{name: "fail/tampered-payload", tok: func(h *hostile) string {
			return replaceSegment(h.good(), 1, b64(h.with(map[string]any{"oid": "ffffffff-0000-4000-8000-000000000000"})))
		}},
		{name: "fail/signature-from-other-token", tok: func(h *hostile) string {
			other := forge(h.a, at(h), h.with(map[string]any{"uti": "BBBBBBBBBBBBBBBBBBBBBB"}))
			return replaceSegment(h.good(), 2, strings.Split(other, ".")[2])
		}},
		{name: "fail/signature-from-rotated-out-key", tok: func(h *hostile) string {
			return forge(h.retired, hdrJSON("ES256", h.retired.id, "at+jwt"), h.with(nil))
		}},
		{name: "fail/signature-from-unpublished-key", tok: func(h *hostile) string {
			return forge(h.stranger, hdrJSON("ES256", h.a.id, "at+jwt"), h.with(nil))
		}},
		// Algorithms: the key decides, the header only names.
		{name: "fail/alg-none", tok: func(h *hostile) string {
			return b64(hdrJSON("none", h.a.id, "at+jwt")) + "." + b64(h.with(nil)) + ".AA"
		}},
		{name: "fail/alg-None-capitalised", tok: func(h *hostile) string { return es(h, hdrJSON("None", h.a.id, "at+jwt"), h.with(nil)) }},
		{name: "fail/alg-missing", tok: func(h *hostile) string {
			return es(h, mustJSON(map[string]string{"kid": h.a.id, "typ": "at+jwt"}), h.with(nil))
		}},
		{name: "fail/hs256-keyed-with-public-jwk", tok: func(h *hostile) string {
			return hs256(hdrJSON("HS256", h.a.id, "at+jwt"), h.with(nil), []byte(mustJSON(h.a.jwk)))
		}},
		{name: "fail/hs256-keyed-with-rsa-public-der", tok: func(h *hostile) string {
			der, _ := x509.MarshalPKIXPublicKey(h.r.pub)
			return hs256(hdrJSON("HS256", h.r.id, "at+jwt"), h.with(map[string]any{"tid": tenantR, "iss": issuerR}), der)
		}},
		{name: "fail/rs256-header-on-es256-key", tok: func(h *hostile) string { return es(h, hdrJSON("RS256", h.a.id, "at+jwt"), h.with(nil)) }},
		{name: "fail/es256-header-on-rs256-key", tok: func(h *hostile) string {
			return forge(h.r, hdrJSON("ES256", h.r.id, "at+jwt"), h.with(map[string]any{"tid": tenantR, "iss": issuerR}))
		}},
		{name: "fail/ps256", tok: func(h *hostile) string { return es(h, hdrJSON("PS256", h.a.id, "at+jwt"), h.with(nil)) }},
		{name: "fail/es384", tok: func(h *hostile) string { return es(h, hdrJSON("ES384", h.a.id, "at+jwt"), h.with(nil)) }},
		// Keys named by the token.
		{name: "fail/unknown-kid", tok: func(h *hostile) string { return es(h, hdrJSON("ES256", "no-such-kid", "at+jwt"), h.with(nil)) }},
		{name: "fail/missing-kid", tok: func(h *hostile) string {
			return es(h, mustJSON(map[string]string{"alg": "ES256", "typ": "at+jwt"}), h.with(nil))
		}},
		{name: "fail/kid-from-another-tenant", tok: func(h *hostile) string {
			return forge(h.b, hdrJSON("ES256", h.b.id, "at+jwt"), h.with(nil)) // tid A, key of B
		}},
		{name: "fail/jku", tok: func(h *hostile) string {
			return es(h, mustJSON(map[string]string{"alg": "ES256", "kid": h.a.id, "typ": "at+jwt", "jku": "https://evil.example/keys"}), h.with(nil))
		}},
		{name: "fail/x5u", tok: func(h *hostile) string {
			return es(h, mustJSON(map[string]string{"alg": "ES256", "kid": h.a.id, "typ": "at+jwt", "x5u": "https://evil.example/cert"}), h.with(nil))
		}},
		{name: "fail/jwk-embedded", tok: func(h *hostile) string {
			hdr := `{"alg":"ES256","kid":"` + h.stranger.id + `","typ":"at+jwt","jwk":` + mustJSON(h.stranger.jwk) + `}`
			return forge(h.stranger, hdr, h.with(nil))
		}},
		{name: "fail/x5c", tok: func(h *hostile) string {
			return es(h, `{"alg":"ES256","kid":"`+h.a.id+`","typ":"at+jwt","x5c":["MIIB"]}`, h.with(nil))
		}},
		{name: "fail/crit", tok: func(h *hostile) string {
			return es(h, `{"alg":"ES256","kid":"`+h.a.id+`","typ":"at+jwt","crit":["exp"],"exp":1}`, h.with(nil))
		}},
		{name: "fail/zip", tok: func(h *hostile) string {
			return es(h, `{"alg":"ES256","kid":"`+h.a.id+`","typ":"at+jwt","zip":"DEF"}`, h.with(nil))
		}},
		{name: "fail/header-kid-number", tok: func(h *hostile) string { return es(h, `{"alg":"ES256","kid":7,"typ":"at+jwt"}`, h.with(nil)) }},
		// JSON shape.
		{name: "fail/duplicate-payload-key", tok: func(h *hostile) string {
			p := h.with(nil)
			return es(h, at(h), p[:len(p)-1]+`,"aud":"https://evil.example"}`)
		}},
		{name: "fail/duplicate-payload-key-other-case", tok: func(h *hostile) string {
			p := h.with(nil)
			return es(h, at(h), p[:len(p)-1]+`,"AUD":"https://evil.example"}`)
		}},
		{name: "fail/duplicate-header-key", tok: func(h *hostile) string {
			return es(h, `{"alg":"ES256","kid":"`+h.a.id+`","typ":"at+jwt","alg":"none"}`, h.with(nil))
		}},
		{name: "fail/header-key-other-case", tok: func(h *hostile) string {
			return es(h, `{"alg":"ES256","kid":"`+h.a.id+`","typ":"at+jwt","ALG":"none"}`, h.with(nil))
		}},
		{name: "fail/header-array", tok: func(h *hostile) string { return es(h, `["ES256"]`, h.with(nil)) }},
		{name: "fail/payload-trailing-data", tok: func(h *hostile) string { return es(h, at(h), h.with(nil)+`{}`) }},
		{name: "fail/payload-not-json", tok: func(h *hostile) string { return es(h, at(h), "not json") }},
		{name: "fail/payload-nested-too-deep", tok: func(h *hostile) string {
			p := h.with(nil)
			return es(h, at(h), p[:len(p)-1]+`,"x":`+strings.Repeat("[", 50)+strings.Repeat("]", 50)+`}`)
		}},
		{name: "fail/aud-array", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"aud": []string{armAud}})) }},
		// Time, at the edges of skew.
		{name: "fail/exp-at-now-minus-skew-minus-1s", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"exp": sec(h.now, -skew-time.Second), "iat": sec(h.now, -time.Hour), "nbf": sec(h.now, -time.Hour)}))
		}},
		{name: "fail/nbf-at-now-plus-skew-plus-1s", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"nbf": sec(h.now, skew+time.Second)}))
		}},
		{name: "fail/iat-at-now-plus-skew-plus-1s", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"iat": sec(h.now, skew+time.Second)}))
		}},
		{name: "fail/exp-missing", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"exp": nil})) }},
		{name: "fail/exp-as-string", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"exp": "9999999999"}))
		}},
		{name: "fail/exp-as-exponent", tok: func(h *hostile) string {
			p := h.with(map[string]any{"exp": nil})
			return es(h, at(h), p[:len(p)-1]+`,"exp":1e10}`)
		}},
		{name: "fail/exp-negative", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"exp": -1})) }},
		// Who it is for and from.
		{name: "fail/foreign-aud", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"aud": "https://graph.evil.example"}))
		}},
		{name: "fail/aud-with-path-case-changed", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"aud": "https://management.azure.com/ARM"}))
		}, opt: func(o *VerifyOptions) { o.Audiences = []string{"https://management.azure.com/arm"} }},
		{name: "fail/no-audiences-accepted", tok: func(h *hostile) string { return h.good() }, opt: func(o *VerifyOptions) { o.Audiences = nil }},
		{name: "fail/foreign-iss", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"iss": "https://evil.example/v2.0"}))
		}},
		{name: "fail/iss-of-other-tenant", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"iss": issuerB})) }},
		{name: "fail/tid-missing", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"tid": nil})) }},
		{name: "fail/tid-unknown-tenant", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"tid": "99999999-9999-4999-8999-999999999999"}))
		}},
		{name: "fail/tid-path-traversal", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"tid": "../" + tenantA})) }},
		{name: "fail/ver-1.0", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"ver": "1.0"})) }},
		{name: "fail/sub-missing", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"sub": nil})) }},
		// One kind used as the other.
		{name: "fail/id-token-as-access-token", tok: func(h *hostile) string { return h.sign(idToken(tenantA, issuerA)) },
			opt: func(o *VerifyOptions) { o.Audiences = []string{clientA} }},
		{name: "fail/access-token-as-id-token", tok: func(h *hostile) string { return h.good() },
			opt: func(o *VerifyOptions) { o.Kind = KindID; o.Audiences = append(o.Audiences, armAud) }},
		{name: "fail/access-claims-with-JWT-typ", tok: func(h *hostile) string { return es(h, hdrJSON("ES256", h.a.id, "JWT"), h.with(nil)) }},
		{name: "fail/id-claims-with-at+jwt-typ", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"idtyp": nil, "appid": nil, "azp": nil, "scp": nil, "nonce": "n", "aud": armAud}))
		}, opt: func(o *VerifyOptions) { o.Kind = KindID }},
		{name: "fail/access-token-with-nonce", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"nonce": "n"})) }},
		{name: "fail/access-token-without-idtyp", tok: func(h *hostile) string { return es(h, at(h), h.with(map[string]any{"idtyp": nil})) }},
		{name: "fail/access-token-azp-differs-from-appid", tok: func(h *hostile) string {
			return es(h, at(h), h.with(map[string]any{"azp": "ffffffff-0000-4000-8000-000000000000"}))
		}},
		{name: "fail/typ-missing", tok: func(h *hostile) string {
			return es(h, mustJSON(map[string]string{"alg": "ES256", "kid": h.a.id}), h.with(nil))
		}},
	}
}

func okCases() []verifyCase {
	skew := DefaultSkew
	sec := func(t time.Time, d time.Duration) int64 { return t.Add(d).Unix() }
	at := func(h *hostile) string { return hdrJSON("ES256", h.a.id, "at+jwt") }
	return []verifyCase{
		{name: "ok/forged-with-our-key", tok: func(h *hostile) string { return h.good() }},
		{name: "ok/user-access-token", tok: func(h *hostile) string { return h.sign(userAccess(tenantA, issuerA)) }},
		{name: "ok/app-access-token", tok: func(h *hostile) string { return h.sign(appAccess(tenantA, issuerA)) }},
		{name: "ok/rs256-tenant", tok: func(h *hostile) string { return h.sign(userAccess(tenantR, issuerR)) }},
		{name: "ok/id-token", tok: func(h *hostile) string { return h.sign(idToken(tenantA, issuerA)) },
			opt: func(o *VerifyOptions) { o.Kind = KindID; o.Audiences = []string{clientA} }},
		{name: "ok/exp-at-now-minus-skew-plus-1s", tok: func(h *hostile) string {
			return forge(h.a, at(h), h.with(map[string]any{"exp": sec(h.now, -skew+time.Second), "iat": sec(h.now, -time.Hour), "nbf": sec(h.now, -time.Hour)}))
		}},
		{name: "ok/nbf-at-now-plus-skew-minus-1s", tok: func(h *hostile) string {
			return forge(h.a, at(h), h.with(map[string]any{"nbf": sec(h.now, skew-time.Second), "iat": sec(h.now, skew-time.Second)}))
		}},
		{name: "ok/aud-differs-in-host-case-and-slash", tok: func(h *hostile) string {
			return forge(h.a, at(h), h.with(map[string]any{"aud": "HTTPS://Management.Azure.COM/"}))
		}},
		{name: "ok/unknown-payload-claim-ignored", tok: func(h *hostile) string {
			return forge(h.a, at(h), h.with(map[string]any{"xms_tcdt": 1}))
		}},
	}
}

func TestVerifyHostileTokens(t *testing.T) {
	h := newHostile(t)
	fails, oks := hostileCases(), okCases()
	if len(fails) < 40 || len(fails) < 2*len(oks) {
		t.Fatalf("%d fail cases and %d ok cases: want at least 40 and twice as many failures", len(fails), len(oks))
	}
	for _, tc := range append(fails, oks...) {
		t.Run(tc.name, func(t *testing.T) {
			opt := accessOpts()
			if tc.opt != nil {
				tc.opt(&opt)
			}
			c, err := h.svc.Verify(h.ctx, tc.tok(h), opt)
			if strings.HasPrefix(tc.name, "ok/") {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Kind != opt.Kind || c.TenantID == "" || c.ObjectID == "" {
					t.Fatalf("claims %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			t.Log(err)
			if k := errs.KindOf(err); k != errs.Unauthenticated && k != errs.Invalid {
				t.Fatalf("kind %v, want unauthenticated or invalid: %v", k, err)
			}
			if errs.CodeOf(err) != "invalid_token" {
				t.Fatalf("code %q: %v", errs.CodeOf(err), err)
			}
		})
	}
}

// A forged kid must not turn every request into a store query.
func TestVerifyUnknownKidReloadsAtMostOncePer10s(t *testing.T) {
	h := newHostile(t)
	tok := forge(h.a, hdrJSON("ES256", "no-such-kid", "at+jwt"), h.with(nil))
	h.svc.Verify(h.ctx, tok, accessOpts()) // warm the cache
	before := h.store.lists
	for range 100 {
		if _, err := h.svc.Verify(h.ctx, tok, accessOpts()); err == nil {
			t.Fatal("accepted an unknown kid")
		}
	}
	if n := h.store.lists - before; n > 1 {
		t.Fatalf("100 unknown kids within a second made %d store reads, want at most 1", n)
	}
}

// A key another replica just added is found without waiting for the cache to expire.
func TestVerifyFindsKeyAddedByAnotherReplica(t *testing.T) {
	f := newFixture(t)
	// The other replica's configuration moved tenant B to RS256, so it rotates at once while
	// this replica's cache of B is still fresh.
	other := NewService(f.store, Config{Now: f.clock.Now, Alg: func(context.Context, string) (string, error) { return AlgRS256, nil }})
	f.sign(userAccess(tenantB, issuerB))
	if err := other.Rotate(f.ctx, tenantB); err != nil {
		t.Fatal(err)
	}
	tok, _, err := other.Sign(f.ctx, userAccess(tenantB, issuerB))
	if err != nil {
		t.Fatal(err)
	}
	opt := accessOpts()
	opt.Issuers = []string{issuerB}
	if _, err := f.svc.Verify(f.ctx, tok, opt); err != nil {
		t.Fatalf("a token signed by another replica's new key was refused: %v", err)
	}
}
