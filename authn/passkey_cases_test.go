package authn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"

	"github.com/latchsh/latch/errs"
)

// The refusal cases follow the FIDO2 server conformance tool's negative tests (clientData
// type, challenge and origin; authenticatorData flags, RP ID hash and layout; attestation
// object CBOR and statements) plus the ceremony-binding rules Latch adds.

// Mutations, each changing one thing a real client or authenticator might get wrong or an
// attacker might forge.
func withOrigin(o string) mutation                { return func(c *ceremony) { c.Origin = o } }
func withType(s string) mutation                  { return func(c *ceremony) { c.Type = s } }
func withRPID(s string) mutation                  { return func(c *ceremony) { c.RPID = s } }
func withFormat(f string) mutation                { return func(c *ceremony) { c.Format = f } }
func withCounter(n uint32) mutation               { return func(c *ceremony) { c.Counter = n } }
func clearFlags(f byte) mutation                  { return func(c *ceremony) { c.Flags &^= f } }
func setFlags(f byte) mutation                    { return func(c *ceremony) { c.Flags |= f } }
func withChallenge(s string) mutation             { return func(c *ceremony) { c.Challenge = s } }
func withCredID(id []byte) mutation               { return func(c *ceremony) { c.CredID = id } }
func withUserHandle(h []byte) mutation            { return func(c *ceremony) { c.UserHandle = h } }
func withAuthData(f func([]byte) []byte) mutation { return func(c *ceremony) { c.AuthData = f } }
func withAttObject(f func([]byte) []byte) mutation {
	return func(c *ceremony) { c.AttObject = f }
}
func withStmt(f func(map[string]any)) mutation { return func(c *ceremony) { c.AttStmt = f } }
func withCOSE(f func(map[int]any)) mutation    { return func(c *ceremony) { f(c.COSE) } }
func withClientData(f func(map[string]any)) mutation {
	return func(c *ceremony) { c.ClientData = f }
}
func withResponse(f func(map[string]any)) mutation { return func(c *ceremony) { c.Response = f } }
func withSignature(f func([]byte) []byte) mutation { return func(c *ceremony) { c.Signature = f } }
func withSignedData(f func(ad, cdh []byte) []byte) mutation {
	return func(c *ceremony) { c.SignedData = f }
}

func otherKey() *ecdsa.PrivateKey {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k
}

func appendBytes(b ...byte) func([]byte) []byte {
	return func(ad []byte) []byte { return append(ad, b...) }
}

// cborHead rewrites the attestation object's first byte (a map of three: 0xa3).
func cborHead(head byte, tail ...byte) func([]byte) []byte {
	return func(obj []byte) []byte {
		out := append([]byte{head}, obj[1:]...)
		return append(out, tail...)
	}
}

// nested returns v inside depth arrays.
func nested(depth int, v any) any {
	for range depth {
		v = []any{v}
	}
	return v
}

func register(muts ...mutation) func(*passkeyEnv) error {
	return func(e *passkeyEnv) error {
		_, err := e.tryRegister(e.alice, e.aliceKey, muts...)
		return err
	}
}

func regFail(name string, want errs.Kind, muts ...mutation) passkeyCase {
	return passkeyCase{name: "fail/register/" + name, want: want, run: register(muts...)}
}

const (
	unauth  = errs.Unauthenticated
	invalid = errs.Invalid
)

func registrationFailures() []passkeyCase {
	cs := []passkeyCase{
		// clientDataJSON
		regFail("origin-sibling-subdomain", unauth, withOrigin("https://wiki.contoso.test")),
		regFail("origin-subdomain-of-rp-id", unauth, withOrigin("https://evil.login.contoso.test")),
		regFail("origin-parent-domain", unauth, withOrigin("https://contoso.test")),
		regFail("origin-http-scheme", unauth, withOrigin("http://login.contoso.test")),
		regFail("origin-other-port", unauth, withOrigin("https://login.contoso.test:8443")),
		regFail("origin-other-host", unauth, withOrigin("https://login.contoso.test.evil.test")),
		regFail("origin-missing", unauth, withOrigin("")),
		regFail("origin-opaque-app", unauth, withOrigin("android:apk-key-hash:abc")),
		regFail("type-webauthn-get", unauth, withType("webauthn.get")),
		regFail("type-unknown", unauth, withType("payment.get")),
		regFail("type-missing", unauth, withClientData(func(m map[string]any) { delete(m, "type") })),
		regFail("challenge-other", unauth, withChallenge(b64.EncodeToString(bytes.Repeat([]byte{1}, 32)))),
		regFail("challenge-missing", unauth, withClientData(func(m map[string]any) { delete(m, "challenge") })),
		regFail("challenge-standard-base64", unauth, withClientData(func(m map[string]any) { m["challenge"] = m["challenge"].(string) + "==" })),
		regFail("cross-origin-iframe", unauth, func(c *ceremony) { c.CrossOrigin = true }),
		regFail("client-data-not-json", invalid, withResponse(func(r map[string]any) {
			r["response"].(map[string]any)["clientDataJSON"] = b64.EncodeToString([]byte("not json"))
		})),
		// authenticatorData
		regFail("rp-id-hash-other-site", unauth, withRPID("evil.test")),
		regFail("rp-id-hash-parent-domain", unauth, withRPID("contoso.test")),
		regFail("user-presence-clear", unauth, clearFlags(flagUP)),
		regFail("user-verification-clear", unauth, clearFlags(flagUV)),
		regFail("attested-data-flag-clear", invalid, clearFlags(flagAT)),
		regFail("backup-state-without-eligibility", unauth, setFlags(flagBS)),
		regFail("extension-flag-without-extensions", invalid, setFlags(flagED)),
		regFail("authdata-trailing-bytes", invalid, withAuthData(appendBytes(0x00, 0x01))),
		regFail("authdata-truncated-key", invalid, withAuthData(func(ad []byte) []byte { return ad[:len(ad)-5] })),
		regFail("authdata-shorter-than-header", invalid, withAuthData(func(ad []byte) []byte { return ad[:30] })),
		regFail("credential-id-length-overflows", invalid, withAuthData(func(ad []byte) []byte {
			ad[53], ad[54] = 0xff, 0xff
			return ad
		})),
	}
	return append(append(cs, attestationFailures()...), registrationBindingFailures()...)
}

// attestationFailures break the attestation object's CBOR, its statement or the key in it.
func attestationFailures() []passkeyCase {
	return []passkeyCase{
		// attestation object CBOR
		regFail("cbor-nested-6-deep", invalid, withFormat("packed"), withStmt(func(s map[string]any) { s["x5c"] = nested(6, []byte{1}) })),
		regFail("cbor-duplicate-map-keys", invalid, withAttObject(func(obj []byte) []byte {
			out := append([]byte{0xa4}, obj[1:]...)
			out = append(out, 0x63, 'f', 'm', 't')
			return append(out, 0x64, 'n', 'o', 'n', 'e')
		})),
		regFail("cbor-indefinite-length-map", invalid, withAttObject(cborHead(0xbf, 0xff))),
		regFail("cbor-trailing-bytes", invalid, withAttObject(appendBytes(0x00))),
		regFail("cbor-tagged", invalid, withAttObject(func(obj []byte) []byte { return append([]byte{0xd9, 0xd9, 0xf7}, obj...) })),
		regFail("cbor-truncated", invalid, withAttObject(func(obj []byte) []byte { return obj[:len(obj)/2] })),
		regFail("cbor-not-a-map", invalid, withAttObject(func([]byte) []byte { return []byte{0x83, 0x01, 0x02, 0x03} })),
		// attestation statements
		regFail("fmt-unknown", unauth, withFormat("latch-test")),
		regFail("fmt-none-with-statement", unauth, withStmt(func(s map[string]any) { s["sig"] = []byte{1, 2, 3} })),
		regFail("packed-bad-signature", unauth, withFormat("packed"), withStmt(func(s map[string]any) {
			sig := s["sig"].([]byte)
			sig[len(sig)-1] ^= 0x01
		})),
		regFail("packed-signature-over-other-data", unauth, withFormat("packed"),
			withSignedData(func(ad, cdh []byte) []byte { return append(append([]byte{}, ad...), bytes.Repeat([]byte{9}, 32)...) })),
		regFail("packed-signed-by-other-key", unauth, withFormat("packed"), func(c *ceremony) { c.Signer = otherKey() }),
		regFail("packed-alg-mismatch", unauth, withFormat("packed"), withStmt(func(s map[string]any) { s["alg"] = -257 })),
		regFail("packed-missing-sig", unauth, withFormat("packed"), withStmt(func(s map[string]any) { delete(s, "sig") })),
		regFail("packed-full-bad-signature", unauth, withFormat("packed-full"), withStmt(func(s map[string]any) {
			sig := s["sig"].([]byte)
			sig[len(sig)-1] ^= 0x01
		})),
		// credential public key (COSE)
		regFail("cose-alg-not-requested", unauth, withCOSE(func(k map[int]any) { k[3] = -36 })),
		regFail("cose-alg-unknown", unauth, withCOSE(func(k map[int]any) { k[3] = 999 })),
		regFail("cose-curve-mismatch", invalid, withCOSE(func(k map[int]any) { k[-1] = 2 })),
		regFail("cose-point-not-on-curve", invalid, withCOSE(func(k map[int]any) { k[-3] = bytes.Repeat([]byte{1}, 32) })),
		regFail("cose-missing-y", invalid, withCOSE(func(k map[int]any) { delete(k, -3) })),
		regFail("cose-key-type-unknown", invalid, withCOSE(func(k map[int]any) { k[1] = 9 })),
		// the credential and response envelope
		regFail("id-differs-from-raw-id", invalid, withResponse(func(r map[string]any) { r["id"] = b64.EncodeToString([]byte("other")) })),
		regFail("raw-id-differs-from-authdata", unauth, withResponse(func(r map[string]any) {
			r["id"], r["rawId"] = b64.EncodeToString([]byte("other id")), b64.EncodeToString([]byte("other id"))
		})),
		regFail("type-not-public-key", invalid, withResponse(func(r map[string]any) { r["type"] = "password" })),
		regFail("attestation-object-missing", invalid, withResponse(func(r map[string]any) {
			delete(r["response"].(map[string]any), "attestationObject")
		})),
	}
}
