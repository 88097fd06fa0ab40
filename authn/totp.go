package authn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/latchsh/latch/errs"
)

// TOTP as every authenticator app implements it (RFC 6238 with RFC 4226's truncation): HMAC-SHA-1,
// six digits, 30-second steps. A code from the step before or after is accepted, so a phone
// clock off by up to half a minute still works.
const (
	totpDigits     = 6
	totpPeriod     = 30 // seconds
	totpSkewSteps  = 1
	totpSecretLen  = 20 // 160 bits, RFC 4226's recommendation for SHA-1
	totpIssuer     = "Latch"
	maxTOTPNameLen = 128
)

// TOTPStore is the part of the store VerifyTOTP needs; store.AuthMethodStore satisfies it.
type TOTPStore interface {
	UpdateTOTP(ctx context.Context, tenantID, id string, fn func(TOTPMethod) (TOTPMethod, error)) (TOTPMethod, error)
}

// NewTOTP makes a new, unconfirmed authenticator-app method for a user, with a random
// 160-bit secret. displayName is the account name the app shows (the UPN, usually). It returns
// the method to store and the otpauth:// URI to show as a QR code (QRCodePNG) or text. The
// method becomes Confirmed when its first code is accepted by VerifyTOTP.
// Errors: Invalid when an id is missing or the name is over 128 characters.
func NewTOTP(tenantID, userID, displayName string, now time.Time) (TOTPMethod, string, error) {
	const op = "authn.NewTOTP"
	if tenantID == "" || userID == "" {
		return TOTPMethod{}, "", errs.E(op, errs.Invalid, "An authenticator app can only be added for an existing user.")
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" || len([]rune(displayName)) > maxTOTPNameLen {
		return TOTPMethod{}, "", errs.E(op, errs.Invalid, "The authenticator app needs an account name of 1 to 128 characters.")
	}
	secret := make([]byte, totpSecretLen)
	rand.Read(secret)
	m := TOTPMethod{ID: newGUID(), TenantID: tenantID, UserID: userID, DisplayName: displayName,
		Secret: secret, Created: now.UTC()}
	return m, otpauthURI(secret, displayName), nil
}

// otpauthURI follows the de-facto Key Uri Format that authenticator apps read.
func otpauthURI(secret []byte, account string) string {
	q := url.Values{}
	q.Set("secret", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret))
	q.Set("issuer", totpIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(totpDigits))
	q.Set("period", fmt.Sprint(totpPeriod))
	label := url.PathEscape(totpIssuer + ":" + account)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// QRCodePNG renders uri as a PNG QR code (256×256, medium error correction) for an
// authenticator app to scan. Errors: Invalid when uri is too long to encode.
func QRCodePNG(uri string) ([]byte, error) {
	png, err := qrcode.Encode(uri, qrcode.Medium, 256)
	if err != nil {
		return nil, errs.E("authn.QRCodePNG", errs.Invalid, "The text is too long for a QR code.", err)
	}
	return png, nil
}

// totpCode computes the six-digit code for one time step.
func totpCode(secret []byte, step int64) string { return hotp(secret, uint64(step), totpDigits) }

// hotp is RFC 4226's HOTP with its dynamic truncation (§5.3), digits at most 9.
func hotp(secret []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// errTOTPReplay is a code whose step was accepted already (or an older one was).
var errTOTPReplay = errors.New("the code's time step was already used")

// VerifyTOTP checks code against m at now and, when it matches, records its time step through
// the store's compare-and-swap, so each code works once even when two requests race with it:
// a step at or before the last accepted one is refused. It also marks the method Confirmed.
// The caller must only offer confirmed methods at sign-in, and should count failures with a
// Lockout (TOTPLockoutConfig), since six digits fall to a few hundred thousand guesses.
//
// Errors: Unauthenticated (code invalid_totp) when the code is wrong or was used already (the
// message does not say which; the cause does, for the log); Internal or Unavailable from the
// store.
func VerifyTOTP(ctx context.Context, st TOTPStore, m TOTPMethod, code string, now time.Time) error {
	const op = "authn.VerifyTOTP"
	step, ok := matchStep(m.Secret, normalizeCode(code), totpStep(now))
	if !ok {
		return errs.E(op, errs.Unauthenticated, errs.Code("invalid_totp"), "The code is not correct. Enter the current code from your authenticator app.")
	}
	_, err := st.UpdateTOTP(ctx, m.TenantID, m.ID, func(cur TOTPMethod) (TOTPMethod, error) {
		if step <= cur.LastStep {
			return cur, errTOTPReplay
		}
		cur.LastStep, cur.Confirmed = step, true
		return cur, nil
	})
	if errors.Is(err, errTOTPReplay) {
		return errs.E(op, errs.Unauthenticated, errs.Code("invalid_totp"), "That code was used already. Wait for the next code from your authenticator app.", err)
	}
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}

// normalizeCode forgives the spaces apps show in the middle of a code.
func normalizeCode(s string) string {
	if len(s) > 16 {
		return ""
	}
	return strings.ReplaceAll(strings.TrimSpace(s), " ", "")
}

// matchStep compares code with every acceptable step's code in constant time, without stopping
// at the first match, and returns the matching step.
func matchStep(secret []byte, code string, now int64) (int64, bool) {
	var found int64
	ok := 0
	for d := int64(-totpSkewSteps); d <= totpSkewSteps; d++ {
		want := totpCode(secret, now+d)
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		if eq == 1 && ok == 0 {
			found = now + d
		}
		ok |= eq
	}
	return found, ok == 1 && len(code) == totpDigits && len(secret) > 0
}
