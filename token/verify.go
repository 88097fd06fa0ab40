package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// MaxTokenSize caps what Verify will look at; anything longer is refused before it is split.
const MaxTokenSize = 16 << 10

// maxJSONDepth bounds nesting in header and payload; our tokens nest two deep.
const maxJSONDepth = 8

// allowedHeader lists the protected-header parameters Verify accepts. Anything else — jku,
// x5u, jwk, x5c (keys named or embedded by the token), crit, zip, enc — is refused.
var allowedHeader = map[string]bool{"alg": true, "kid": true, "typ": true, "x5t": true}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
	X5t string `json:"x5t"`
}

var errMalformed = errors.New("malformed token")

// malformed and refused build Verify's two outcomes: input that is not a token at all, and a
// token that does not verify. The detail goes to the log; the user sees one sentence.
func malformed(detail string) error {
	return errs.E("token.Verify", errs.Invalid, "The token is malformed.", errs.Code("invalid_token"), fmt.Errorf("%w: %s", errMalformed, detail))
}

func refused(msg, detail string) error {
	return errs.E("token.Verify", errs.Unauthenticated, msg, errs.Code("invalid_token"), errors.New(detail))
}

const msgInvalid = "The token is invalid."

func (s *Service) verify(ctx context.Context, raw string, opt VerifyOptions) (Claims, error) {
	parts, err := splitCompact(raw)
	if err != nil {
		return Claims{}, err
	}
	hdr, err := parseHeader(parts[0])
	if err != nil {
		return Claims{}, err
	}
	var w wireClaims
	if err := decodeSegment(parts[1], &w, nil); err != nil {
		return Claims{}, err
	}
	sig, err := decodeB64(parts[2])
	if err != nil {
		return Claims{}, err
	}
	kind := kindOf(hdr.Typ, w)
	if kind == "" || kind != opt.Kind {
		return Claims{}, refused(msgInvalid, fmt.Sprintf("a %q token with typ %q is not a %q token", kind, hdr.Typ, opt.Kind))
	}
	now := s.cfg.Now()
	if err := s.checkSignature(ctx, hdr, w.Tid, raw[:len(parts[0])+1+len(parts[1])], sig, now); err != nil {
		return Claims{}, err
	}
	if err := s.checkClaims(w, opt, now); err != nil {
		return Claims{}, err
	}
	return fromWire(w, kind), nil
}

// splitCompact checks size, alphabet and shape before anything is split or decoded, so a
// megabyte of dots costs one bounded scan (CVE-2025-27144's class).
func splitCompact(raw string) ([3]string, error) {
	var parts [3]string
	if raw == "" {
		return parts, malformed("empty")
	}
	if len(raw) > MaxTokenSize {
		return parts, malformed("too large")
	}
	dots := [2]int{}
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '.' {
			if n == 2 {
				return parts, malformed("more than two dots")
			}
			dots[n] = i
			n++
			continue
		}
		if !isB64URL(c) {
			return parts, malformed("a character outside base64url")
		}
	}
	if n != 2 {
		return parts, malformed("not three segments")
	}
	parts = [3]string{raw[:dots[0]], raw[dots[0]+1 : dots[1]], raw[dots[1]+1:]}
	for _, p := range parts {
		if p == "" {
			return parts, malformed("an empty segment")
		}
	}
	return parts, nil
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// decodeB64 is strict: no padding, no line breaks (the alphabet check already refused them),
// and no non-zero trailing bits, so one token has exactly one spelling.
func decodeB64(seg string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, malformed("bad base64url")
	}
	return b, nil
}

// decodeSegment decodes one base64url JSON object into v after refusing duplicate keys (and
// keys that collide once case is folded, since encoding/json matches names case-insensitively),
// and, when allowed is set, keys not in it.
func decodeSegment(seg string, v any, allowed map[string]bool) error {
	b, err := decodeB64(seg)
	if err != nil {
		return err
	}
	if err := checkJSON(b, allowed); err != nil {
		return malformed(err.Error())
	}
	if err := json.Unmarshal(b, v); err != nil {
		return malformed("bad claims: " + err.Error())
	}
	return nil
}

func parseHeader(seg string) (header, error) {
	var h header
	if err := decodeSegment(seg, &h, allowedHeader); err != nil {
		return h, err
	}
	if h.Alg != AlgES256 && h.Alg != AlgRS256 {
		return h, refused(msgInvalid, fmt.Sprintf("algorithm %q is not accepted", h.Alg))
	}
	if h.Kid == "" {
		return h, refused(msgInvalid, "no kid")
	}
	return h, nil
}

// checkJSON walks b as a stream of tokens: it must be one object, nested at most maxJSONDepth,
// with no key repeated within an object, and nothing after it. allowed, when set, limits the
// top-level keys.
func checkJSON(b []byte, allowed map[string]bool) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	t, err := d.Token()
	if err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := walkObject(d, 1, allowed); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// walkObject consumes an object's members after its '{'.
func walkObject(d *json.Decoder, depth int, allowed map[string]bool) error {
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		fold := strings.ToLower(k)
		if seen[fold] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[fold] = true
		if allowed != nil && !allowed[k] {
			return fmt.Errorf("header parameter %q is not accepted", k)
		}
		if err := walkValue(d, depth); err != nil {
			return err
		}
	}
	_, err := d.Token() // '}'
	return err
}

func walkValue(d *json.Decoder, depth int) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errors.New("JSON nested too deep")
	}
	if delim == '{' {
		return walkObject(d, depth+1, nil)
	}
	for d.More() { // '['
		if err := walkValue(d, depth+1); err != nil {
			return err
		}
	}
	_, err = d.Token() // ']'
	return err
}

// checkSignature finds the key by the token's tid and kid and checks the signature with the
// key's own algorithm: the header's alg must name it, never choose it.
func (s *Service) checkSignature(ctx context.Context, h header, tid, input string, sig []byte, now time.Time) error {
	if !validTenantID(tid) {
		return refused(msgInvalid, "tid missing or malformed")
	}
	k, err := s.keyForVerify(ctx, tid, h.Kid, now)
	if err != nil {
		return errs.E("token.Verify", errs.Unavailable, "The token's signing keys could not be loaded.", err)
	}
	switch {
	case k == nil:
		return refused(msgInvalid, fmt.Sprintf("kid %q is not a key of tenant %s", h.Kid, tid))
	case h.Alg != k.alg:
		return refused(msgInvalid, fmt.Sprintf("alg %s does not match key %s (%s)", h.Alg, k.id, k.alg))
	case !now.Before(k.verifyUntil):
		return refused(msgInvalid, fmt.Sprintf("key %s was retired at %v", k.id, k.verifyUntil))
	case !verifySignature(k.pub, []byte(input), sig):
		return refused(msgInvalid, "bad signature")
	}
	return nil
}

func verifySignature(pub crypto.PublicKey, input, sig []byte) bool {
	h := sha256.Sum256(input)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(p, h[:], r, s)
	case *rsa.PublicKey:
		return len(sig) == p.Size() && rsa.VerifyPKCS1v15(p, crypto.SHA256, h[:], sig) == nil
	}
	return false
}

// checkClaims applies time, issuer and audience rules to a token whose signature is good.
func (s *Service) checkClaims(w wireClaims, opt VerifyOptions, now time.Time) error {
	skew := s.cfg.Skew
	switch {
	case w.Exp == 0 || w.Iat == 0 || w.Nbf == 0:
		return refused(msgInvalid, "exp, nbf and iat are required")
	case now.After(w.Exp.time().Add(skew)):
		return refused("The token has expired.", fmt.Sprintf("expired at %v", w.Exp.time()))
	case w.Nbf.time().After(now.Add(skew)):
		return refused("The token is not yet valid.", fmt.Sprintf("not before %v", w.Nbf.time()))
	case w.Iat.time().After(now.Add(skew)):
		return refused("The token is not yet valid.", fmt.Sprintf("issued in the future at %v", w.Iat.time()))
	case w.Exp <= w.Iat:
		return refused(msgInvalid, "exp is not after iat")
	case w.Ver != version:
		return refused(msgInvalid, fmt.Sprintf("ver %q", w.Ver))
	case w.Sub == "" || w.Oid == "":
		return refused(msgInvalid, "sub and oid are required")
	case !slices.Contains(opt.Issuers, w.Iss):
		return refused("The token's issuer is not accepted here.", fmt.Sprintf("iss %q", w.Iss))
	case !audienceAccepted(w.Aud, opt.Audiences):
		return refused("The token's audience is not accepted here.", fmt.Sprintf("aud %q", w.Aud))
	}
	return nil
}

func audienceAccepted(aud string, accepted []string) bool {
	if aud == "" {
		return false
	}
	a := NormalizeAudience(aud)
	for _, x := range accepted {
		if NormalizeAudience(x) == a {
			return true
		}
	}
	return false
}
