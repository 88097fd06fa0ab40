package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchsh/latch/errs"
)

// Signing algorithms a tenant may choose.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// rsaBits is the size of new RSA keys; loaded RSA keys must have at least minRSABits.
const (
	rsaBits    = 2048
	minRSABits = 2048
)

// key is a signing key parsed once and kept ready: the private key, the public JWK and the
// two protected headers (one per token type) already encoded, so signing costs one JSON
// encoding of the claims and one signature.
type key struct {
	id          string
	tenantID    string
	generation  int64
	alg         string
	priv        crypto.Signer
	pub         crypto.PublicKey
	created     time.Time
	signUntil   time.Time
	verifyUntil time.Time
	jwk         jose.JSONWebKey
	hdrAccess   string // base64url of {"alg","kid","typ":"at+jwt"}
	hdrID       string // base64url of {"alg","kid","typ":"JWT"}
}

// newSigningKey makes generation gen of a tenant's keys, signing from now for rotation and
// verifiable for verifyFor more.
func newSigningKey(tenantID, alg string, gen int64, now time.Time, rotation, verifyFor time.Duration) (SigningKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return SigningKey{}, err
	}
	signUntil := now.Add(rotation)
	return SigningKey{ID: kid, TenantID: tenantID, Generation: gen, Alg: alg, PrivateKey: der,
		Created: now, SignUntil: signUntil, VerifyUntil: signUntil.Add(verifyFor)}, nil
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// thumbprint is the kid: base64url of the RFC 7638 SHA-256 JWK thumbprint.
func thumbprint(pub crypto.PublicKey) (string, error) {
	j := jose.JSONWebKey{Key: pub}
	t, err := j.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// loadKey parses a stored key and checks that it is what it claims: the algorithm matches the
// key type, RSA keys are large enough, and the kid is the key's thumbprint.
func loadKey(sk SigningKey) (*key, error) {
	p, err := x509.ParsePKCS8PrivateKey(sk.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", sk.ID, err)
	}
	if err := checkKeyAlg(p, sk.Alg); err != nil {
		return nil, fmt.Errorf("key %s: %w", sk.ID, err)
	}
	priv := p.(crypto.Signer)
	kid, err := thumbprint(priv.Public())
	if err != nil || kid != sk.ID {
		return nil, fmt.Errorf("key %s: kid is not the key's thumbprint", sk.ID)
	}
	k := &key{id: kid, tenantID: sk.TenantID, generation: sk.Generation, alg: sk.Alg, priv: priv,
		pub: priv.Public(), created: sk.Created, signUntil: sk.SignUntil, verifyUntil: sk.VerifyUntil}
	k.jwk = jose.JSONWebKey{Key: k.pub, KeyID: kid, Algorithm: sk.Alg, Use: "sig"}
	k.hdrAccess = encodeHeader(sk.Alg, kid, typAccess)
	k.hdrID = encodeHeader(sk.Alg, kid, typID)
	return k, nil
}

func checkKeyAlg(p any, alg string) error {
	switch k := p.(type) {
	case *ecdsa.PrivateKey:
		if alg == AlgES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case *rsa.PrivateKey:
		if alg == AlgRS256 && k.N.BitLen() >= minRSABits {
			return nil
		}
	}
	return fmt.Errorf("a %T does not fit algorithm %q", p, alg)
}

func encodeHeader(alg, kid, typ string) string {
	b, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign returns the compact JWS of c, whose Kind picks the header.
func (k *key) sign(c Claims) (string, error) {
	payload, err := json.Marshal(toWire(c))
	if err != nil {
		return "", err
	}
	hdr := k.hdrAccess
	if c.Kind == KindID {
		hdr = k.hdrID
	}
	enc := base64.RawURLEncoding
	n := len(hdr) + 1 + enc.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+enc.EncodedLen(512))
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := k.signature(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// signature signs input as JWS wants: PKCS#1 v1.5 for RS256, r||s of 32 bytes each for ES256.
func (k *key) signature(input []byte) ([]byte, error) {
	h := sha256.Sum256(input)
	switch p := k.priv.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, h[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(nil, p, crypto.SHA256, h[:])
	}
	return nil, errors.New("unsupported key type")
}

// keySet is one tenant's keys as loaded at one moment: newest generation first.
type keySet struct {
	keys   []*key
	byKID  map[string]*key
	alg    string // the tenant's configured algorithm
	loaded time.Time
	jwks   []byte
}

// current is the key to sign with at now: the newest of the configured algorithm that has not
// reached its SignUntil.
func (ks *keySet) current(now time.Time) *key {
	if len(ks.keys) == 0 {
		return nil
	}
	k := ks.keys[0]
	if k.alg != ks.alg || !now.Before(k.signUntil) {
		return nil
	}
	return k
}

// newKeySet parses stored keys. A key that fails to parse is skipped (and reported) rather
// than taking the tenant's other keys down with it.
func newKeySet(stored []SigningKey, alg string, now time.Time) (*keySet, error) {
	ks := &keySet{byKID: make(map[string]*key, len(stored)), alg: alg, loaded: now}
	var bad error
	for _, sk := range stored {
		k, err := loadKey(sk)
		if err != nil {
			bad = errors.Join(bad, err)
			continue
		}
		ks.keys = append(ks.keys, k)
		ks.byKID[k.id] = k
	}
	slices.SortFunc(ks.keys, func(a, b *key) int { return int(b.generation - a.generation) })
	jwks, err := ks.marshalJWKS(now)
	if err != nil {
		return nil, err
	}
	ks.jwks = jwks
	if len(ks.keys) == 0 && bad != nil {
		return nil, bad
	}
	return ks, nil
}

// marshalJWKS lists the keys still within their VerifyUntil; the newest key is always listed
// so relying parties never see an empty set while a rotation is pending.
func (ks *keySet) marshalJWKS(now time.Time) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i, k := range ks.keys {
		if i == 0 || now.Before(k.verifyUntil) {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	return json.Marshal(set)
}

// tenantAlg asks the configuration which algorithm the tenant signs with.
func (s *Service) tenantAlg(ctx context.Context, tenantID string) (string, error) {
	if s.cfg.Alg == nil {
		return AlgES256, nil
	}
	alg, err := s.cfg.Alg(ctx, tenantID)
	if err != nil {
		return "", err
	}
	switch alg {
	case "":
		return AlgES256, nil
	case AlgES256, AlgRS256:
		return alg, nil
	}
	return "", fmt.Errorf("tenant %s: unsupported signing algorithm %q", tenantID, alg)
}

// signingKey returns the tenant's current key, rotating first when there is none.
func (s *Service) signingKey(ctx context.Context, tenantID string, now time.Time) (*key, error) {
	set, err := s.keySet(ctx, tenantID, now, false)
	if err != nil {
		return nil, err
	}
	if k := set.current(now); k != nil {
		return k, nil
	}
	if err := s.rotate(ctx, tenantID, now); err != nil {
		return nil, err
	}
	set, err = s.keySet(ctx, tenantID, now, false)
	if err != nil {
		return nil, err
	}
	if k := set.current(now); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("tenant %s has no current signing key after rotation", tenantID)
}

// rotate adds the next generation when the newest key is missing, due, or of the wrong
// algorithm, then deletes keys past VerifyUntil (never the newest), then refreshes the cache.
// A replica that loses the race to add a generation gets Exists and takes the winner's key.
func (s *Service) rotate(ctx context.Context, tenantID string, now time.Time) error {
	stored, err := s.store.ListSigningKeys(ctx, tenantID)
	if err != nil {
		return err
	}
	alg, err := s.tenantAlg(ctx, tenantID)
	if err != nil {
		return err
	}
	newest := newestKey(stored)
	if newest == nil || newest.Alg != alg || !now.Before(newest.SignUntil) {
		var gen int64 = 1
		if newest != nil {
			gen = newest.Generation + 1
		}
		sk, err := newSigningKey(tenantID, alg, gen, now, s.cfg.KeyRotation, s.maxLifetime()+s.cfg.Skew)
		if err != nil {
			return err
		}
		if err := s.store.AddSigningKey(ctx, sk); err != nil && !errs.Is(err, errs.Exists) {
			return err
		}
		newest = nil // every stored key now has a successor
	}
	for _, sk := range stored {
		if (newest == nil || sk.Generation != newest.Generation) && !now.Before(sk.VerifyUntil) {
			if err := s.store.DeleteSigningKey(ctx, tenantID, sk.ID); err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
		}
	}
	_, err = s.keySet(ctx, tenantID, now, true)
	return err
}

func newestKey(stored []SigningKey) *SigningKey {
	var n *SigningKey
	for i := range stored {
		if n == nil || stored[i].Generation > n.Generation {
			n = &stored[i]
		}
	}
	return n
}
