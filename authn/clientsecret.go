package authn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Client secrets look like Entra's: 40 characters, a three-character hint, a "8Q~" version
// marker, then 34 random characters, about 215 bits in all.
const (
	secretAlphabet      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~"
	secretMarker        = "8Q~"
	secretLen           = 40
	maxSecretLen        = 256
	DefaultSecretLife   = 2 * 365 * 24 * time.Hour // Graph's addPassword default
	maxSecretLife       = 100 * 365 * 24 * time.Hour
	secretCacheEntries  = 10000
	slowCheckWait       = 5 * time.Second
	secretHintLen       = 3
	secretDisplayMaxLen = 256
)

// NewClientSecret makes a client secret valid from now for lifetime (DefaultSecretLife when
// zero). It returns the secret, to be shown once, and the credential to store, which holds
// only its argon2id hash and its first three characters as Hint. Errors: Invalid for a
// negative or absurd lifetime or an over-long display name.
func NewClientSecret(now time.Time, lifetime time.Duration, displayName string) (secret string, cred directory.PasswordCredential, err error) {
	const op = "authn.NewClientSecret"
	if lifetime == 0 {
		lifetime = DefaultSecretLife
	}
	if lifetime < 0 || lifetime > maxSecretLife {
		return "", cred, errs.E(op, errs.Invalid, "The client secret's lifetime must be positive and under 100 years.")
	}
	if len(displayName) > secretDisplayMaxLen {
		return "", cred, errs.E(op, errs.Invalid, "The client secret's display name is too long.")
	}
	// The first character is a letter or digit: a secret starting with '-' is read as an
	// option by command lines (az login -p, latch login -p).
	secret = randomString(secretAlphabet[:62], 1) + randomString(secretAlphabet, secretHintLen-1) + secretMarker +
		randomString(secretAlphabet, secretLen-secretHintLen-len(secretMarker))
	hash, err := hashArgon2id([]byte(secret))
	if err != nil {
		return "", cred, errs.E(op, errs.Internal, err)
	}
	cred = directory.PasswordCredential{KeyID: newGUID(), DisplayName: displayName, Hint: secret[:secretHintLen],
		Hash: hash, Start: now.UTC(), End: now.Add(lifetime).UTC()}
	return secret, cred, nil
}

// SecretVerifier checks client secrets. The argon2id check runs once per (service
// principal, credential, secret); after it succeeds, an HMAC of the secret under a key that
// lives only in this process is remembered, so later requests cost microseconds while a copy
// of memory still reveals no secret. A semaphore bounds concurrent argon2id checks so a flood
// of wrong secrets cannot take every core. It is safe for concurrent use.
type SecretVerifier struct {
	now  func() time.Time
	key  []byte
	slow chan struct{}
	wait time.Duration // how long a check queues for the semaphore before TooMany

	slowChecks atomic.Int64 // argon2id checks run, for tests and metrics

	mu    sync.Mutex
	known map[secretCacheKey][]byte
}

// secretCacheKey names one credential; its stored hash is part of it so that a credential
// replaced under the same key id is checked afresh.
type secretCacheKey struct {
	tenantID, spID, keyID, hash string
}

// NewSecretVerifier returns a verifier reading time from now (time.Now when nil).
func NewSecretVerifier(now func() time.Time) *SecretVerifier {
	if now == nil {
		now = time.Now
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &SecretVerifier{now: now, key: key, known: map[secretCacheKey][]byte{}, wait: slowCheckWait,
		slow: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// Verify checks secret against sp's current password credentials.
//
// Errors: Unauthenticated with code invalid_client when the application is disabled, the
// secret matches no credential that is valid now (an expired or removed credential never
// matches, even if it matched before), or it is malformed; TooMany when too many slow checks
// are already waiting; Internal when a stored hash is unreadable.
func (v *SecretVerifier) Verify(sp directory.ServicePrincipal, secret string) error {
	const op = "authn.SecretVerifier.Verify"
	if !sp.AccountEnabled {
		return errs.E(op, errs.Unauthenticated, errs.Code("invalid_client"), "AADSTS7000112: Application '"+sp.AppID+"' is disabled.")
	}
	now := v.now()
	mac := v.mac(secret)
	live, expired := 0, false
	for _, c := range sp.PasswordCredentials {
		if now.Before(c.Start) || !now.Before(c.End) {
			expired = expired || !now.Before(c.End)
			continue
		}
		live++
		if v.cached(sp, c, mac) {
			return nil
		}
	}
	if live == 0 && expired {
		return errs.E(op, errs.Unauthenticated, errs.Code("invalid_client"), "AADSTS7000222: The provided client secret keys for app '"+sp.AppID+"' are expired. Create new keys for your app, or consider using certificate credentials for added security.")
	}
	if len(secret) < secretHintLen || len(secret) > maxSecretLen {
		return invalidSecret(op, sp, nil)
	}
	return v.slowVerify(op, sp, secret, mac, now)
}

// slowVerify runs argon2id against each live credential whose hint matches the secret.
func (v *SecretVerifier) slowVerify(op string, sp directory.ServicePrincipal, secret string, mac []byte, now time.Time) error {
	for _, c := range sp.PasswordCredentials {
		if now.Before(c.Start) || !now.Before(c.End) || c.Hint != secret[:secretHintLen] {
			continue
		}
		ok, err := v.checkHash(c.Hash, secret)
		if err != nil {
			return errs.E(op, errs.KindOf(err), errs.Code("invalid_client"), err)
		}
		if ok {
			v.remember(sp, c, mac)
			return nil
		}
	}
	return invalidSecret(op, sp, nil)
}

func invalidSecret(op string, sp directory.ServicePrincipal, cause error) error {
	return errs.E(op, errs.Unauthenticated, errs.Code("invalid_client"), cause,
		"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+sp.AppID+"'.")
}

// checkHash runs one argon2id check under the semaphore.
func (v *SecretVerifier) checkHash(hash, secret string) (bool, error) {
	t := time.NewTimer(v.wait)
	defer t.Stop()
	select {
	case v.slow <- struct{}{}:
	case <-t.C:
		return false, errs.E("authn.checkHash", errs.TooMany, "Too many client secrets are being checked at once; retry shortly.")
	}
	defer func() { <-v.slow }()
	v.slowChecks.Add(1)
	return checkArgon2id(hash, []byte(secret))
}

func (v *SecretVerifier) mac(secret string) []byte {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func cacheKeyOf(sp directory.ServicePrincipal, c directory.PasswordCredential) secretCacheKey {
	return secretCacheKey{tenantID: sp.TenantID, spID: sp.ID, keyID: c.KeyID, hash: c.Hash}
}

func (v *SecretVerifier) cached(sp directory.ServicePrincipal, c directory.PasswordCredential, mac []byte) bool {
	v.mu.Lock()
	want, ok := v.known[cacheKeyOf(sp, c)]
	v.mu.Unlock()
	return ok && hmac.Equal(want, mac)
}

// remember records a verified secret, dropping an arbitrary entry when the cache is full:
// a dropped entry costs one more slow check, never a wrong answer.
func (v *SecretVerifier) remember(sp directory.ServicePrincipal, c directory.PasswordCredential, mac []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.known) >= secretCacheEntries {
		for k := range v.known {
			delete(v.known, k)
			break
		}
	}
	v.known[cacheKeyOf(sp, c)] = mac
}
