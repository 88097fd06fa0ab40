package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/internal/compactjws"
)

// MaxTokenSize caps what Verify will look at; anything longer is refused before it is split.
const MaxTokenSize = 16 << 10

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

// splitCompact checks size, alphabet and shape before anything is split or decoded.
func splitCompact(raw string) ([3]string, error) {
	parts, err := compactjws.Split(raw, MaxTokenSize)
	if err != nil {
		return parts, malformed(err.Error())
	}
	return parts, nil
}

// decodeB64 is compactjws.DecodeB64 with the token service's error.
func decodeB64(seg string) ([]byte, error) {
	b, err := compactjws.DecodeB64(seg)
	if err != nil {
		return nil, malformed(err.Error())
	}
	return b, nil
}

// decodeSegment decodes one base64url JSON object into v, refusing duplicate keys, deep
// nesting and, when allowed is set, keys not in it.
func decodeSegment(seg string, v any, allowed map[string]bool) error {
	if err := compactjws.DecodeSegment(seg, v, allowed); err != nil {
		return malformed(err.Error())
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
