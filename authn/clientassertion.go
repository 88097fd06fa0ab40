package authn

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Client-assertion time rules. MSAL sets exp ten minutes ahead; the skew forgives client
// clocks that are a little off, as Entra does.
const (
	assertionMaxAhead = 10 * time.Minute
	assertionSkew     = 5 * time.Minute
	maxJTI            = 256
)

// assertionHeader lists the header parameters accepted. x5c is accepted because MSAL sends it
// for subject-name/issuer authentication, but it is never used to find or trust a key; jku,
// x5u, jwk and crit are refused.
var assertionHeader = map[string]bool{"alg": true, "typ": true, "kid": true, "x5t": true, "x5t#S256": true, "x5c": true}

type assertionHdr struct {
	Alg     string `json:"alg"`
	Kid     string `json:"kid"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp unixTime        `json:"exp"`
	Nbf unixTime        `json:"nbf"`
	Iat unixTime        `json:"iat"`
	Jti string          `json:"jti"`
}

// VerifyClientAssertion checks a private_key_jwt client assertion (RFC 7523) for sp: the
// signature by one of sp's key credentials valid at now, chosen by the header's x5t,
// x5t#S256 or kid, with the algorithm the key's type allows (RS256 or PS256 for RSA, ES256
// for P-256); iss and sub equal to sp.AppID; aud exactly one of tokenEndpoints; exp present,
// not past and at most ten minutes ahead; nbf and iat not in the future. Its jti is then
// spent through useJTI under the key sp.AppID+"|"+jti until the assertion could no longer be
// valid, so a replay is refused; useJTI must return an error of kind Exists or Conflict for a
// key already used.
//
// Errors: Unauthenticated with code invalid_client for every refusal; Unavailable when
// useJTI fails otherwise.
func VerifyClientAssertion(ctx context.Context, sp directory.ServicePrincipal, assertion string, tokenEndpoints []string, now time.Time, useJTI func(ctx context.Context, key string, expires time.Time) error) error {
	const op = "authn.VerifyClientAssertion"
	parts, err := splitJWS(assertion)
	if err != nil {
		return assertionErr(op, "AADSTS50027: The client assertion is invalid or malformed.", err)
	}
	var h assertionHdr
	if err := decodeSegment(parts[0], &h, assertionHeader); err != nil {
		return assertionErr(op, "AADSTS50027: The client assertion is invalid or malformed.", err)
	}
	var c assertionClaims
	if err := decodeSegment(parts[1], &c, nil); err != nil {
		return assertionErr(op, "AADSTS50027: The client assertion is invalid or malformed.", err)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return assertionErr(op, "AADSTS50027: The client assertion is invalid or malformed.", err)
	}
	if err := checkAssertionSignature(sp, h, []byte(parts[0]+"."+parts[1]), sig, now); err != nil {
		return assertionErr(op, "AADSTS700027: The client assertion failed signature validation: no key credential of app '"+sp.AppID+"' that is valid now verifies it.", err)
	}
	if msg, err := checkAssertionClaims(sp, c, tokenEndpoints, now); err != nil {
		return assertionErr(op, msg, err)
	}
	if err := useJTI(ctx, sp.AppID+"|"+c.Jti, c.Exp.time().Add(assertionSkew)); err != nil {
		if errs.Is(err, errs.Exists) || errs.Is(err, errs.Conflict) {
			return assertionErr(op, "AADSTS700024: The client assertion was already used. Send a new assertion with a fresh jti for every request.", err)
		}
		return errs.E(op, errs.Unavailable, "The client assertion could not be checked for replay; retry shortly.", err)
	}
	return nil
}

func assertionErr(op, msg string, cause error) error {
	return errs.E(op, errs.Unauthenticated, errs.Code("invalid_client"), msg, cause)
}

func (u unixTime) time() time.Time { return time.Unix(int64(u), 0) }

// checkAssertionClaims returns the user-facing sentence with the detail of a refusal.
func checkAssertionClaims(sp directory.ServicePrincipal, c assertionClaims, endpoints []string, now time.Time) (string, error) {
	const timeMsg = "AADSTS700024: The client assertion is not within its valid time range."
	switch {
	case c.Iss != sp.AppID || c.Sub != sp.AppID:
		return "AADSTS700021: The client assertion's iss and sub must both be the application id '" + sp.AppID + "'.", fmt.Errorf("iss %q sub %q", c.Iss, c.Sub)
	case !audienceIn(c.Aud, endpoints):
		return "AADSTS700016: The client assertion's audience must be this token endpoint.", fmt.Errorf("aud %s", c.Aud)
	case c.Exp == 0:
		return timeMsg, errors.New("no exp")
	case !now.Before(c.Exp.time().Add(assertionSkew)):
		return timeMsg, fmt.Errorf("expired at %v", c.Exp.time())
	case c.Exp.time().After(now.Add(assertionMaxAhead + assertionSkew)):
		return timeMsg, fmt.Errorf("exp %v is more than ten minutes ahead", c.Exp.time())
	case c.Nbf != 0 && c.Nbf.time().After(now.Add(assertionSkew)):
		return timeMsg, fmt.Errorf("not before %v", c.Nbf.time())
	case c.Iat != 0 && c.Iat.time().After(now.Add(assertionSkew)):
		return timeMsg, fmt.Errorf("issued in the future at %v", c.Iat.time())
	case c.Nbf != 0 && c.Nbf >= c.Exp:
		return timeMsg, errors.New("nbf is not before exp")
	case c.Jti == "" || len(c.Jti) > maxJTI:
		return "AADSTS50027: The client assertion must carry a jti of at most 256 characters.", errors.New("jti missing or too long")
	}
	return "", nil
}

// audienceIn accepts aud as a string or an array of strings; one value must equal one of
// the endpoints exactly.
func audienceIn(raw json.RawMessage, endpoints []string) bool {
	var list []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		list = []string{one}
	} else if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, a := range list {
		if a != "" && slices.Contains(endpoints, a) {
			return true
		}
	}
	return false
}

// checkAssertionSignature tries every usable key credential the header names.
func checkAssertionSignature(sp directory.ServicePrincipal, h assertionHdr, input, sig []byte, now time.Time) error {
	if h.Kid == "" && h.X5t == "" && h.X5tS256 == "" {
		return errors.New("the header names no key (kid, x5t or x5t#S256)")
	}
	tried := 0
	for _, kc := range sp.KeyCredentials {
		if now.Before(kc.Start) || !now.Before(kc.End) || (kc.Usage != "" && !strings.EqualFold(kc.Usage, "Verify")) {
			continue
		}
		k, err := parseKeyCredential(kc)
		if err != nil || !k.named(h) {
			continue
		}
		tried++
		if slices.Contains(k.algs, h.Alg) && verifyJWS(k.pub, h.Alg, input, sig) {
			return nil
		}
	}
	return fmt.Errorf("alg %q: %d matching keys, none verified", h.Alg, tried)
}

// credKey is a key credential parsed for verification.
type credKey struct {
	pub        crypto.PublicKey
	algs       []string // algorithms this key may verify
	ids        []string // kid values that name it
	sha1, s256 []byte   // certificate thumbprints, when it is a certificate
}

func (k credKey) named(h assertionHdr) bool {
	if h.Kid != "" && slices.Contains(k.ids, h.Kid) {
		return true
	}
	if t := decodeThumbprint(h.X5t); t != nil && k.sha1 != nil && bytes.Equal(t, k.sha1) {
		return true
	}
	t := decodeThumbprint(h.X5tS256)
	return t != nil && k.s256 != nil && bytes.Equal(t, k.s256)
}

// decodeThumbprint reads a thumbprint in base64url as RFC 7515 says, or in padded standard
// base64 as MSAL for Go sends it.
func decodeThumbprint(s string) []byte {
	if s == "" || len(s) > 128 {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// parseKeyCredential reads a certificate (PEM or base64 DER) or a public JWK.
func parseKeyCredential(kc directory.KeyCredential) (credKey, error) {
	if kc.Type == "JsonWebKey" {
		return parseJWKCredential(kc)
	}
	der := []byte(nil)
	if b, _ := pem.Decode([]byte(kc.Key)); b != nil && b.Type == "CERTIFICATE" {
		der = b.Bytes
	} else if d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(kc.Key)); err == nil {
		der = d
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return credKey{}, err
	}
	s1, s2 := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	k := credKey{pub: cert.PublicKey, sha1: s1[:], s256: s2[:], ids: []string{kc.KeyID, kc.Thumbprint,
		base64.RawURLEncoding.EncodeToString(s1[:]), fmt.Sprintf("%X", s1[:])}}
	k.algs, err = algsFor(cert.PublicKey)
	return k, err
}

func parseJWKCredential(kc directory.KeyCredential) (credKey, error) {
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON([]byte(kc.Key)); err != nil {
		return credKey{}, err
	}
	if !j.IsPublic() || !j.Valid() {
		return credKey{}, errors.New("not a valid public JWK")
	}
	tp, err := j.Thumbprint(crypto.SHA256)
	if err != nil {
		return credKey{}, err
	}
	k := credKey{pub: j.Key, ids: []string{kc.KeyID, kc.Thumbprint, base64.RawURLEncoding.EncodeToString(tp)}}
	if j.KeyID != "" {
		k.ids = append(k.ids, j.KeyID)
	}
	if len(j.Certificates) > 0 {
		s1, s2 := sha1.Sum(j.Certificates[0].Raw), sha256.Sum256(j.Certificates[0].Raw)
		k.sha1, k.s256 = s1[:], s2[:]
	}
	if k.algs, err = algsFor(j.Key); err != nil {
		return credKey{}, err
	}
	if j.Algorithm != "" {
		if !slices.Contains(k.algs, j.Algorithm) {
			return credKey{}, fmt.Errorf("JWK alg %q does not fit its key", j.Algorithm)
		}
		k.algs = []string{j.Algorithm}
	}
	return k, nil
}

// algsFor pins the algorithms a key may verify with: its type decides, never the token.
func algsFor(pub crypto.PublicKey) ([]string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return nil, errors.New("RSA key under 2048 bits")
		}
		return []string{"RS256", "PS256"}, nil
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() {
			return []string{"ES256"}, nil
		}
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}

func verifyJWS(pub crypto.PublicKey, alg string, input, sig []byte) bool {
	h := sha256.Sum256(input)
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if len(sig) != p.Size() {
			return false
		}
		if alg == "PS256" {
			return rsa.VerifyPSS(p, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return alg == "RS256" && rsa.VerifyPKCS1v15(p, crypto.SHA256, h[:], sig) == nil
	case *ecdsa.PublicKey:
		if alg != "ES256" || len(sig) != 64 {
			return false
		}
		return ecdsa.Verify(p, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	return false
}
