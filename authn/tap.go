package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// A Temporary Access Pass is read off a screen and typed, so it avoids look-alike characters
// (0/o, 1/l/i) and is shown in groups of five: 20 characters of a 31-letter alphabet, 99 bits.
const (
	tapAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	tapLen      = 20
	tapGroup    = 5
	MinTAPLife  = 10 * time.Minute    // Entra's minimum lifetime
	MaxTAPLife  = 30 * 24 * time.Hour // Entra's maximum lifetime
	maxTAPInput = 128
)

// NewTemporaryAccessPass makes a pass for a user, valid from now for lifetime, usable once
// or many times. It returns the pass, to be shown once (e.g. "k7mq2-x9rtd-…"), and the record
// to store, which holds only the pass's SHA-256: the pass is random and high-entropy, so a
// fast hash suffices. Errors: Invalid when the lifetime is outside 10 minutes – 30 days or an
// id is missing.
func NewTemporaryAccessPass(tenantID, userID string, lifetime time.Duration, oneTime bool, now time.Time) (pass string, tap TemporaryAccessPass, err error) {
	const op = "authn.NewTemporaryAccessPass"
	if lifetime < MinTAPLife || lifetime > MaxTAPLife {
		return "", tap, errs.E(op, errs.Invalid, "The Temporary Access Pass lifetime must be between 10 minutes and 30 days.")
	}
	if tenantID == "" || userID == "" {
		return "", tap, errs.E(op, errs.Invalid, "A Temporary Access Pass needs a tenant and a user.")
	}
	raw := randomString(tapAlphabet, tapLen)
	var groups []string
	for i := 0; i < len(raw); i += tapGroup {
		groups = append(groups, raw[i:i+tapGroup])
	}
	now = now.UTC()
	tap = TemporaryAccessPass{ID: newGUID(), TenantID: tenantID, UserID: userID, Hash: tapHash(raw),
		OneTime: oneTime, Start: now, End: now.Add(lifetime), Created: now}
	return strings.Join(groups, "-"), tap, nil
}

// canonicalTAP forgives what people do when typing a pass: case, dashes and spaces.
func canonicalTAP(pass string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(pass))
}

func tapHash(canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(h[:])
}

// CheckTemporaryAccessPass checks pass against tap at now, comparing hashes in constant time.
// Whether the pass is right is decided first, so only someone holding it learns its state.
// Errors: Unauthenticated when the pass is wrong; Expired when it is not yet valid or past its
// end; Conflict when it was for one use and has been used. The caller marks a one-time pass
// used (with a compare-and-swap on Version) after a success.
func CheckTemporaryAccessPass(tap TemporaryAccessPass, pass string, now time.Time) error {
	const op = "authn.CheckTemporaryAccessPass"
	if len(pass) > maxTAPInput {
		pass = ""
	}
	got := tapHash(canonicalTAP(pass))
	if subtle.ConstantTimeCompare([]byte(got), []byte(tap.Hash)) != 1 {
		return errs.E(op, errs.Unauthenticated, errs.Code("invalid_grant"), "The Temporary Access Pass is not correct.")
	}
	if now.Before(tap.Start) {
		return errs.E(op, errs.Expired, errs.Code("invalid_grant"), "The Temporary Access Pass is not valid yet. It can be used from "+tap.Start.UTC().Format(time.RFC3339)+".")
	}
	if !now.Before(tap.End) {
		return errs.E(op, errs.Expired, errs.Code("invalid_grant"), "The Temporary Access Pass has expired. Ask your administrator for a new one.")
	}
	if tap.OneTime && tap.Used {
		return errs.E(op, errs.Conflict, errs.Code("invalid_grant"), "The Temporary Access Pass was for one use and has been used. Ask your administrator for a new one.")
	}
	return nil
}
