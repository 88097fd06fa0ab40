package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Fixed keys, so the table's inputs read as what they are.
var (
	jwkEdX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	jwkEd  = `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `"}`
)

func rsaJWK(t testing.TB, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return `{"kty":"RSA","n":"` + b64b(k.N.Bytes()) + `","e":"AQAB"}`
}

func TestParseSSHPublicKeyJWKRefusals(t *testing.T) {
	rsa1024 := rsaJWK(t, 1024)
	rsa2048 := rsaJWK(t, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := p256.PublicKey.Bytes()
	x, y := b64b(raw[1:33]), b64b(raw[33:])
	badY := append([]byte(nil), raw[33:]...)
	badY[31] ^= 1
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	raw521, _ := p521.PublicKey.Bytes()
	cases := map[string]string{
		"fail/empty":               ``,
		"fail/not-json":            `kty=OKP`,
		"fail/array":               `[` + jwkEd + `]`,
		"fail/trailing-data":       jwkEd + `{}`,
		"fail/duplicate-member":    `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","x":"` + jwkEdX + `"}`,
		"fail/case-folded-dup":     `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","X":"` + jwkEdX + `"}`,
		"fail/too-large":           `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","kid":"` + strings.Repeat("a", MaxSSHJWKSize) + `"}`,
		"fail/no-kty":              `{"crv":"Ed25519","x":"` + jwkEdX + `"}`,
		"fail/kty-oct":             `{"kty":"oct","k":"AAAA"}`,
		"fail/kty-lowercase":       `{"kty":"okp","crv":"Ed25519","x":"` + jwkEdX + `"}`,
		"fail/private-d":           `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","d":"` + jwkEdX + `"}`,
		"fail/private-rsa-p":       strings.TrimSuffix(rsa2048, "}") + `,"p":"AQAB"}`,
		"fail/unknown-member":      `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","x5u":"https://x"}`,
		"fail/foreign-member":      `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","y":"` + jwkEdX + `"}`,
		"fail/member-not-string":   `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","kid":1}`,
		"fail/member-null":         `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","kid":null}`,
		"fail/use-enc":             `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","use":"enc"}`,
		"fail/alg-mismatch":        `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","alg":"RS256"}`,
		"fail/alg-none":            `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","alg":"none"}`,
		"fail/x25519":              `{"kty":"OKP","crv":"X25519","x":"` + jwkEdX + `"}`,
		"fail/ed25519-short":       `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX[:40] + `"}`,
		"fail/padded-base64":       `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `="}`,
		"fail/std-base64":          `{"kty":"OKP","crv":"Ed25519","x":"` + strings.ReplaceAll(jwkEdX, "_", "/") + `"}`,
		"fail/rsa-1024":            rsa1024,
		"fail/rsa-exponent-1":      strings.Replace(rsa2048, `"AQAB"`, `"AQ"`, 1),
		"fail/rsa-exponent-even":   strings.Replace(rsa2048, `"AQAB"`, `"AQAC"`, 1),
		"fail/rsa-exponent-huge":   strings.Replace(rsa2048, `"AQAB"`, `"AQAAAAE"`, 1),
		"fail/rsa-leading-zero-e":  strings.Replace(rsa2048, `"AQAB"`, `"AAEAAQ"`, 1),
		"fail/rsa-no-n":            `{"kty":"RSA","e":"AQAB"}`,
		"fail/rsa-alg-es256":       strings.TrimSuffix(rsa2048, "}") + `,"alg":"ES256"}`,
		"fail/ec-p521":             `{"kty":"EC","crv":"P-521","x":"` + b64b(raw521[1:67]) + `","y":"` + b64b(raw521[67:]) + `"}`,
		"fail/ec-off-curve":        `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + b64b(badY) + `"}`,
		"fail/ec-no-y":             `{"kty":"EC","crv":"P-256","x":"` + x + `"}`,
		"fail/ec-short-x":          `{"kty":"EC","crv":"P-256","x":"` + x[:20] + `","y":"` + y + `"}`,
		"fail/ec-alg-es384-on-256": `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","alg":"ES384"}`,
		"fail/ec-rsa-member":       `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","n":"AQAB"}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if k, err := ParseSSHPublicKeyJWK([]byte(in)); err == nil {
				t.Fatalf("accepted %s", ssh.FingerprintSHA256(k))
			}
		})
	}
	ok := map[string]string{
		"ok/ed25519":          jwkEd,
		"ok/ed25519-with-kid": `{"kid":"abc","kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","alg":"EdDSA","use":"sig"}`,
		"ok/rsa-2048":         rsa2048,
		"ok/p-256":            `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","alg":"ES256"}`,
	}
	for name, in := range ok {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSSHPublicKeyJWK([]byte(in)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSSHPublicKeyJWKRefusesWeakKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	for name, k := range map[string]any{"fail/rsa-1024": &small.PublicKey, "fail/p-521": &p521.PublicKey,
		"fail/not-a-key": "x", "fail/rsa-even-e": &rsa.PublicKey{N: big.NewInt(0).Set(small.N), E: 4}} {
		if _, err := SSHPublicKeyJWK(k); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

// FuzzSSHCertRequestJWK feeds the req_cnf parser arbitrary bytes. It must not panic; whatever
// it accepts must be within the size cap and one of the accepted key types; and the accepted
// key, written back in canonical form, must parse to the same key.
func FuzzSSHCertRequestJWK(f *testing.F) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, k := range []any{ed.Public(), &p256.PublicKey, &p384.PublicKey, &r.PublicKey} {
		j, err := SSHPublicKeyJWK(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(j)
	}
	for _, s := range []string{jwkEd, `{"kty":"OKP","crv":"Ed25519","x":"` + jwkEdX + `","d":"x"}`, `{}`, `null`, `{"kty":"RSA","n":"AQAB","e":"AQAB"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParseSSHPublicKeyJWK(in)
		if err != nil {
			return
		}
		if len(in) > MaxSSHJWKSize {
			t.Fatalf("accepted %d bytes", len(in))
		}
		switch k.Type() {
		case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384:
		default:
			t.Fatalf("accepted a %s key", k.Type())
		}
		canon, err := SSHPublicKeyJWK(k)
		if err != nil {
			t.Fatalf("accepted key cannot be written back: %v", err)
		}
		k2, err := ParseSSHPublicKeyJWK(canon)
		if err != nil || !bytes.Equal(k.Marshal(), k2.Marshal()) {
			t.Fatalf("canonical form %s does not round-trip: %v", canon, err)
		}
	})
}
